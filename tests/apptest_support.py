"""Helpers for the AppTest page tests: databases (empty, demo, one series) and an app runner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import open_store
from monitoring.pipeline import actions
from monitoring.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
TODAY = "2026-11-26"
PAGES = ("overview", "explorer", "thresholds", "alerts", "data")


def build_demo(path: Path) -> Path:
    """The demo database as the dashboard's first start makes it."""
    actions.first_start(open_store(path), load_catalogue(), load_settings(), today=pd.Timestamp(TODAY))
    return path


def build_one_series(path: Path, folder: Path) -> Path:
    """A database with one loaded series (asylum applications, Germany), scanned."""
    demo = pd.read_csv(
        ROOT / "data" / "demo" / "asylum_applications.csv", comment="#", dtype=str, keep_default_na=False
    )
    rows = demo[demo["geo"] == "DE"]
    csv = folder / "de_only.csv"
    rows.to_csv(csv, index=False)
    store = open_store(path)
    load_files(store, [csv], catalogue=load_catalogue(), today=pd.Timestamp(TODAY).date(), who="test")
    actions.first_start(store, load_catalogue(), load_settings(), today=pd.Timestamp(TODAY))
    return path


def app(page: str = "overview", *, query: dict | None = None) -> AppTest:
    """The dashboard after its first run, switched to ``page``."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.run()
    assert not at.exception, at.exception
    if page != "overview":
        if query:
            at.query_params.update(query)
        at.switch_page(f"app_pages/{page}.py").run()
    return at


def texts(at: AppTest, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]


def metric(at: AppTest, label: str) -> int:
    return int(next(m.value for m in at.metric if m.label == label))
