"""The layers and rooms of the design, read from the imports of every module (lazy ones included).

indicators/ (catalogue, loaders, the store: the only SQL) -> monitoring/statistics (pure) -> the
shared words and settings (monitoring/{i18n,narrative,tables,settings}.py) -> monitoring/pipeline
(statistics joined with the store) -> monitoring/briefing (figures and files) -> the entry points
(monitoring/__main__.py, monitoring/cycle.py) -> the UI (dashboard.py, app_pages/). Nothing imports
upward.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ("monitoring.i18n", "monitoring.narrative", "monitoring.tables", "monitoring.settings")
# Each room, and the modules it must never import (a prefix matches the module and its children).
FORBIDDEN = {
    "indicators": ("monitoring", "app_pages", "dashboard", "streamlit"),
    "monitoring.statistics": ("monitoring.pipeline", "monitoring.briefing", *SHARED, "monitoring.cycle",
                              "indicators.store", "indicators.loaders", "app_pages", "streamlit", "duckdb"),
    "shared": ("monitoring.pipeline", "monitoring.briefing", "monitoring.cycle", "app_pages", "streamlit"),
    "monitoring.pipeline": ("monitoring.briefing", "monitoring.cycle", "app_pages", "streamlit"),
    "monitoring.briefing": ("monitoring.cycle", "app_pages", "streamlit"),
    "entry": ("app_pages", "streamlit"),
}
ENTRY = ("monitoring", "monitoring.__main__", "monitoring.cycle")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room_of(name: str) -> str | None:
    if name in SHARED:
        return "shared"
    if name in ENTRY:
        return "entry"
    for room in sorted(FORBIDDEN, key=len, reverse=True):
        if name == room or name.startswith(room + "."):
            return room
    return None


def imports_of(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from monitoring import pipeline`
    return found


def product_modules() -> list[Path]:
    return [p for d in ("indicators", "monitoring") for p in sorted((ROOT / d).rglob("*.py"))]


def _hits(name: str, banned: tuple[str, ...]) -> bool:
    return any(name == b or name.startswith(b + ".") for b in banned)


@pytest.mark.parametrize("path", product_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_nothing_imports_upward(path):
    room = room_of(module_name(path))
    if room is None:
        pytest.fail(f"{path.relative_to(ROOT)} is in no room: add it to a room of the design")
    wrong = sorted(i for i in imports_of(path) if _hits(i, FORBIDDEN[room]))
    assert not wrong, f"{path.relative_to(ROOT)} ({room}) imports {wrong}"


def test_sql_lives_only_in_the_store():
    users = sorted(str(p.relative_to(ROOT)) for p in [*product_modules(), *ROOT.glob("app_pages/*.py"),
                                                     ROOT / "dashboard.py"]
                   if "duckdb" in imports_of(p) and "indicators/store" not in str(p.relative_to(ROOT)))
    assert users == [], users


def test_the_checker_sees_a_violation(tmp_path):
    # The checker itself can fail: a statistics module that reads the store is caught.
    bad = tmp_path / "bad.py"
    bad.write_text("from indicators.store import open_store\n\ndef f():\n    import monitoring.pipeline.scan\n")
    found = imports_of(bad)
    assert _hits("indicators.store.open_store", FORBIDDEN["monitoring.statistics"])
    assert {"indicators.store", "monitoring.pipeline.scan"} <= found
    assert room_of("monitoring.statistics.glr") == "monitoring.statistics"
    assert room_of("monitoring.narrative") == "shared"
    assert room_of("monitoring.pipeline.scan") == "monitoring.pipeline"


def test_pages_never_open_the_store():
    # The UI reads the pipeline's views (monitoring.pipeline.session through app_pages/cache.py), never the store.
    ui = [*sorted(ROOT.glob("app_pages/*.py")), ROOT / "dashboard.py"]
    users = sorted(str(p.relative_to(ROOT)) for p in ui if any(_hits(i, ("indicators.store",)) for i in imports_of(p)))
    assert users == [], users
    assert _hits("indicators.store.observations", ("indicators.store",))  # the check itself can fail
