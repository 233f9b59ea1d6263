"""Docs that cannot drift: every command, option, environment variable and settings section is in
the README, and CI runs exactly the README's test command."""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _parsers():
    from indicators.__main__ import build_parser as indicators_parser
    from monitoring.__main__ import build_parser as monitoring_parser

    return {"indicators": indicators_parser(), "monitoring": monitoring_parser()}


def test_every_command_is_in_the_readme():
    missing = [f"python -m {module} {name}" for module, parser in _parsers().items()
               for name in _subcommands(parser) if f"python -m {module} {name}" not in README]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_option_is_in_the_readme():
    missing = []
    for module, parser in _parsers().items():
        for name, sub in _subcommands(parser).items():
            for action in sub._actions:
                for flag in action.option_strings:
                    if flag.startswith("--") and flag != "--help" and flag not in README:
                        missing.append(f"{module} {name} {flag}")
    assert not missing, f"options missing from README.md: {missing}"


def test_every_environment_variable_the_code_reads_is_in_the_readme():
    names = set()
    for path in [*ROOT.glob("indicators/**/*.py"), *ROOT.glob("monitoring/**/*.py"),
                 *ROOT.glob("app_pages/*.py"), ROOT / "dashboard.py"]:
        if path.exists():
            text = path.read_text(encoding="utf-8")
            names |= set(re.findall(r"environ(?:\.get)?\(\s*[\"']([A-Z_]+)[\"']", text))
            names |= set(re.findall(r"environ\[[\"']([A-Z_]+)[\"']\]", text))
            names |= set(re.findall(r"[\"'](MONITOR_[A-Z_]+)[\"']", text))  # however it is read
    names -= {"OMP_NUM_THREADS"}  # set for worker processes, not a user setting
    assert "MONITOR_DB" in names
    missing = sorted(n for n in names if n not in README)
    assert not missing, f"environment variables missing from README.md: {missing}"


def test_every_settings_section_is_in_the_readme():
    data = tomllib.loads((ROOT / "monitoring" / "settings.toml").read_text(encoding="utf-8"))
    missing = [f"[{section}]" for section in data if f"[{section}]" not in README]
    assert not missing and "[indicator.<id>]" in README


def _readme_command(number: int) -> str:
    blocks = re.findall(r"```bash\n(.*?)```", README, flags=re.S)
    lines = [ln for ln in blocks[0].splitlines() if ln and not ln.startswith("#")]
    return lines[number - 1].strip()


@pytest.mark.parametrize("number, must", [(1, "streamlit run dashboard.py"), (2, "python -m pytest")])
def test_the_readme_has_the_two_commands(number, must):
    command = _readme_command(number)
    assert must in command and "pip install -r" in command.replace("-q ", "")


def test_ci_runs_exactly_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert _readme_command(2) in ci.splitlines()
