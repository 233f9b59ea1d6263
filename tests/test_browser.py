"""A real browser against ``streamlit run``: the overview's alert table, then the explorer's chart.

Run by hand to refresh the README's screenshots (every page at 1440x900)::

    python -m tests.test_browser --db /tmp/dash/monitor.duckdb --out docs/screenshots
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

import pytest

from tools.browser import CHROMIUM, browser_page, settle, streamlit_server

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("overview", "explorer", "thresholds", "alerts", "data")
TODAY = "2026-11-26"  # the demo data end in October 2026


def no_exception(page) -> None:
    assert page.locator("[data-testid='stException']").count() == 0, page.locator(
        "[data-testid='stException']").first.inner_text()


def open_page(page, url: str, name: str) -> None:
    page.goto(f"{url}/{'' if name == 'overview' else name}")
    settle(page)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """A demo database prepared by the app's own first start (demo load and scan)."""
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring import actions
    from monitoring.settings import load_settings

    path = tmp_path_factory.mktemp("browser") / "monitor.duckdb"
    import pandas as pd

    actions.first_start(open_store(path), load_catalogue(), load_settings(), today=pd.Timestamp(TODAY))
    return path


@pytest.mark.browser
def test_overview_table_then_explorer_chart(demo_db, tmp_path):
    # Not a skip: a machine without the browser cannot show that the pages draw (README: install chromium).
    assert shutil.which(CHROMIUM) or os.path.exists(CHROMIUM), (
        f"no Chromium at {CHROMIUM}: apt-get install chromium (or set BROWSER_PATH)")
    shots = tmp_path / "shots"
    shots.mkdir()
    with streamlit_server(demo_db, env={"MONITOR_TODAY": TODAY}) as url, browser_page() as page:
        page.goto(url)
        settle(page)
        no_exception(page)
        table = page.locator("[data-testid='stDataFrame'] >> visible=true").first  # the episodes table
        table.wait_for(timeout=30_000)
        assert page.locator("[data-testid='stMetricValue']").count() >= 6
        assert page.get_by_text("SYNTHETIC demo data").count() == 1
        page.screenshot(path=str(shots / "overview.png"))
        # Click through from the alert list to the explorer (the select box under the table).
        box = page.locator("[data-testid='stSelectbox']", has_text="Open in the indicator explorer")
        box.scroll_into_view_if_needed()
        box.locator("input").click()
        page.get_by_role("option").first.click()
        settle(page)
        assert "/explorer" in page.url and "indicator=" in page.url
        chart = page.locator("[data-testid='stPlotlyChart']").first
        chart.wait_for(timeout=30_000)
        chart.locator(".main-svg").first.wait_for(timeout=30_000)
        no_exception(page)
        page.screenshot(path=str(shots / "explorer.png"))
    assert (shots / "overview.png").stat().st_size > 10_000
    assert (shots / "explorer.png").stat().st_size > 10_000


def screenshots(db: Path, out: Path, height: int = 900) -> list[Path]:
    """Every page at 1440 x ``height``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with (streamlit_server(db.resolve(), env={"MONITOR_TODAY": TODAY}) as url,
          browser_page(height=height) as page):
        for name in PAGES:
            open_page(page, url, name)
            no_exception(page)
            path = out / f"{name}.png"
            page.screenshot(path=str(path))
            written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Screenshots of every dashboard page")
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--height", type=int, default=900)
    args = parser.parse_args()
    for p in screenshots(args.db, args.out, args.height):
        print(p)
