"""Overview page (AppTest): tiles, current alerts, banner, click-through; empty and small databases."""

from __future__ import annotations

import pytest

from indicators.store import open_store, results
from monitoring.i18n import t
from tests.apptest_support import PAGES, app, metric, texts

pytest_plugins = ("tests.app_fixtures",)


def test_demo_overview_tiles_table_banner(demo_db):
    at = app()
    assert not at.exception
    assert at.title[0].value == t("overview.title")
    assert any("SYNTHETIC" in w for w in texts(at, "warning"))
    labels = [m.label for m in at.metric]
    assert labels.count("Alerts") == 3 and labels.count("Watches") == 3
    table = at.dataframe[0].value
    assert list(table.columns)[:4] == ["level", "indicator", "geo", "period"]
    # Most severe first: every alert before any watch; names, not codes.
    levels = list(table["level"])
    assert levels == sorted(levels, key=lambda lv: lv != "alert")
    assert "First-time asylum applications" in set(table["indicator"]) and "asylum_applications" not in set(
        table["indicator"])
    assert "France" in set(table["geo"])
    # The plain sentences of the top alerts are shown above the table.
    assert any("expected" in m and "upper bound" in m for m in texts(at, "markdown"))
    # The tiles count the same series as the table (at most one per series).
    stored = results.read_results(open_store(demo_db), levels=("alert",))
    assert metric(at, "Alerts") <= stored[["indicator", "geo"]].drop_duplicates().shape[0]


def test_choosing_an_alert_opens_it_in_the_explorer(demo_db):
    at = app()
    first = at.dataframe[0].value.iloc[0]
    at.selectbox(key="open_series").select_index(0).run()
    assert not at.exception
    assert at.title[0].value == t("explorer.title")
    assert at.selectbox(key="ex_indicator").value == "asylum_applications"
    assert first["geo"] == "France" and at.selectbox(key="ex_geo").value == "FR"
    assert at.get("plotly_chart")


def test_language_switch_translates_the_page(demo_db):
    at = app()
    at.sidebar.selectbox(key="lang").set_value("sq").run()
    assert not at.exception
    assert at.title[0].value == t("overview.title", "sq")
    assert "Aplikime për azil për herë të parë" in set(at.dataframe[0].value["indicator"])


def test_first_start_loads_the_demo_and_scans(tmp_path, app_env):
    path = tmp_path / "fresh.duckdb"
    app_env.setenv("MONITOR_DB", str(path))
    at = app()
    assert not at.exception
    assert at.dataframe and len(at.dataframe[0].value) > 0
    assert not results.runs(open_store(path)).empty


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_an_empty_database(empty_db, page):
    at = app(page)
    assert not at.exception
    assert not texts(at, "error")
    if page in ("overview", "explorer"):
        assert t("ui.no_data") in texts(at, "info")


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_one_series(one_series_db, page):
    at = app(page)
    assert not at.exception
    assert not texts(at, "error")
    assert not any("SYNTHETIC" in w for w in texts(at, "warning"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_with_the_demo(demo_db, page):
    at = app(page)
    assert not at.exception
    assert not texts(at, "error")


def test_back_to_the_overview_after_a_click_through_stays_there(demo_db):
    at = app()
    at.selectbox(key="open_series").select_index(1).run()
    assert at.title[0].value == t("explorer.title")
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    assert at.title[0].value == t("overview.title")
    assert at.selectbox(key="open_series").value is None
