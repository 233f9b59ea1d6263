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
    from monitoring.pipeline import actions
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
        # The metrics are drawn beside the table; on a loaded machine they may arrive a moment later.
        page.locator("[data-testid='stMetricValue']").nth(5).wait_for(timeout=30_000)
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


def _server_tracebacks(db: Path) -> list[str]:
    """Tracebacks the streamlit servers of this database wrote to their logs."""
    logs = sorted(db.parent.glob(db.name + ".streamlit-*.log"))
    return [line for log in logs for line in log.read_text(errors="replace").splitlines() if "Traceback" in line]


def _switch_language(page, name: str) -> None:
    box = page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").first
    box.locator("input").click()
    page.get_by_role("option", name=name, exact=True).click()
    settle(page)


def _button(page, label: str):
    return page.get_by_role("button", name=label, exact=True).first


@pytest.mark.browser
def test_every_page_survives_language_changes_and_an_analyst_works_through_it(demo_db, tmp_path):
    from monitoring.i18n import LANGUAGES, t

    with streamlit_server(demo_db, env={"MONITOR_TODAY": TODAY}) as url, browser_page(height=1800) as page:
        # Every page, English -> Shqip -> Srpski -> English, and each page's content drawn in that language.
        for name in PAGES:
            open_page(page, url, name)
            no_exception(page)
            for code in ("sq", "sr", "en"):
                _switch_language(page, LANGUAGES[code])
                no_exception(page)
                assert page.get_by_text(t(f"nav.{name}", code), exact=True).count() >= 1, (name, code)

        # Data: a good file loads and says so; a bad one is refused with its problems, as text.
        open_page(page, url, "data")
        page.locator("input[type='file']").first.set_input_files(str(ROOT / "tests" / "data" / "good.csv"))
        settle(page)
        _button(page, t("data.load")).click()
        settle(page)
        no_exception(page)
        assert page.get_by_text("good.csv:", exact=False).count() >= 1
        page.locator("input[type='file']").first.set_input_files(str(ROOT / "tests" / "data" / "bad.csv"))
        settle(page)
        _button(page, t("data.load")).click()
        settle(page)
        no_exception(page)
        assert page.get_by_text(t("data.load_failed").split(":")[0], exact=False).count() >= 1

        # Thresholds: a stricter alert threshold, saved with a reason.
        open_page(page, url, "thresholds")
        slider = page.get_by_role("slider", name=t("th.alert_alpha")).first
        slider.focus()
        slider.press("ArrowLeft")
        settle(page)
        page.get_by_label(t("th.reason"), exact=True).first.fill("browser test: stricter alerts")
        _button(page, t("th.save")).click()
        settle(page)
        no_exception(page)
        assert page.get_by_text(t("th.saved", episodes="").split(";")[0], exact=False).count() >= 1

        # Alerts: acknowledge the first episode with a comment.
        open_page(page, url, "alerts")
        page.get_by_label(t("alerts.comment"), exact=True).first.fill("browser test: seen, following up")
        _button(page, t("alerts.apply")).click()
        settle(page)
        no_exception(page)
        done = t("alerts.done", action=t("alerts.status_acknowledged"))
        assert page.get_by_text(done, exact=False).count() >= 1
    assert _server_tracebacks(demo_db) == []
