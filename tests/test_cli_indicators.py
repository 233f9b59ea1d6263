"""The ``python -m indicators`` command line: load, list, add-indicator, help and exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from indicators.__main__ import main
from indicators.store import Store
from indicators.store.observations import dump

DATA = Path(__file__).with_name("data")
ROOT = Path(__file__).resolve().parents[1]


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_load_prints_counts_per_file(tmp_path):
    db = tmp_path / "m.duckdb"
    code, out, err = run(
        "load", DATA / "good.csv", DATA / "migr_asyappctzm.tsv", "--db", db, "--today", "2026-11-26"
    )
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"{DATA / 'good.csv'}: 7 new, 0 revised, 0 unchanged rows [synthetic]",
        f"{DATA / 'migr_asyappctzm.tsv'}: 9 new, 0 revised, 0 unchanged rows; skipped 4 rows for other "
        "citizenships or breakdowns",
        f"database: {db}",
    ]
    code, out, _ = run("load", DATA / "good.csv", "--db", db, "--today", "2026-11-26")
    assert code == 0 and out.startswith(f"unchanged: {DATA / 'good.csv'} already loaded on ")


def test_invalid_input_lists_every_problem_and_leaves_the_database(tmp_path):
    db = tmp_path / "m.duckdb"
    run("load", DATA / "good.csv", "--db", db, "--today", "2026-11-26")
    before = dump(Store(db))
    code, out, err = run("load", DATA / "bad.csv", "--db", db, "--today", "2026-11-26")
    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "Nothing was loaded: 11 problems found."
    assert len(lines) == 12 and all(line.startswith(f"{DATA / 'bad.csv'}, line ") for line in lines[1:])
    assert dump(Store(db)) == before


def test_list_shows_coverage_per_series(tmp_path):
    db = tmp_path / "m.duckdb"
    code, out, _ = run("list", "--db", db)
    assert code == 0 and f"(database {db} does not exist yet" in out and not db.exists()
    run("load", DATA / "good.csv", "--db", db, "--today", "2026-11-26")
    code, out, _ = run("list", "--db", db)
    assert code == 0
    assert (
        "border_exits  Exits of Kosovo citizens at border crossing points [monthly, persons; bad direction "
        "up; Kosovo Police]" in out
    )
    assert "    XK         2024-01 .. 2024-04  3 values, 1 missing, 1 provisional" in out.splitlines()


def test_add_indicator_appends_to_the_catalogue(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text((ROOT / "indicators" / "catalogue.toml").read_text(encoding="utf-8"), encoding="utf-8")
    args = [
        "add-indicator",
        "--id",
        "visa_refusals",
        "--name",
        "Visa refusals",
        "--frequency",
        "M",
        "--category",
        "outflow",
        "--bad-direction",
        "up",
        "--unit",
        "persons",
        "--source",
        "MFA",
        "--catalogue",
        path,
    ]
    code, out, _ = run(*args)
    assert (code, out) == (0, f"added visa_refusals to {path} (12 indicators)\n")
    code, _, err = run(*args)
    assert (code, err) == (1, f"error: {path}: indicator 'visa_refusals' already exists\n")


@pytest.mark.parametrize("command", [[], ["load"], ["list"], ["add-indicator"], ["delete"]])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: python -m indicators")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["load"], "the following arguments are required: FILE"),
        (["add-indicator", "--id", "x"], "the following arguments are required: --name"),
        (["delete", "--geo", "DE"], "the following arguments are required: --indicator"),
        (["load", "x.csv", "--today", "soon"], "argument --today: found 'soon'; expected a date YYYY-MM-DD"),
    ],
)
def test_usage_errors_exit_2(argv, fragment, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert fragment in capsys.readouterr().err


def test_subprocess_missing_file_is_a_clear_message_without_traceback(tmp_path):
    missing = tmp_path / "nope.csv"
    result = subprocess.run(
        [sys.executable, "-m", "indicators", "load", str(missing), "--db", str(tmp_path / "d")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "Nothing was loaded: 1 problem found.\n"
        f"{missing}: found a file that cannot be read (No such file or directory); "
        "expected a readable file\n"
    )
