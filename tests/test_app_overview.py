"""Overview page (AppTest): tiles, current alerts, banner, click-through; empty and small databases."""

from __future__ import annotations

import pytest

from indicators.store import episodes, open_store, results
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.statistics.episodes import open_episodes
from tests.apptest_support import PAGES, app, texts

pytest_plugins = ("tests.app_fixtures",)


def _episodes_table(at):
    """The open-episodes table (the criterion's list, in its expander, is another table)."""
    return next(d.value for d in at.dataframe if "level" in d.value.columns)


def test_demo_overview_tiles_table_banner(demo_db):
    at = app()
    assert not at.exception
    assert at.title[0].value == t("overview.title")
    assert any("SYNTHETIC" in w for w in texts(at, "warning"))
    labels = [m.label for m in at.metric]
    assert labels.count(t("overview.alerts")) == 3 and labels.count(t("overview.watches")) == 3
    table = _episodes_table(at)
    assert list(table.columns)[:5] == ["level", "indicator", "geo", "start", "period"]
    # Most severe first: every alert before any watch; names, not codes.
    levels = list(table["level"])
    assert levels == sorted(levels, key=lambda lv: lv != "alert")
    assert not {"asylum_applications", "refused_entry", "irregular_stay"} & set(table["indicator"])
    # One row per open episode, and the tiles, the caption and the table give the one count.
    store = open_store(demo_db)
    stored = episodes.read_episodes(store)
    count = open_episodes(stored)
    assert len(table) == count.total == len(set(zip(table["indicator"], table["geo"], strict=True)))
    tiles = [m for m in at.metric if m.label in (t("overview.alerts"), t("overview.watches"))]
    assert sum(int(m.value) for m in tiles) == count.total
    assert any(episodes_text(count) in c for c in texts(at, "caption"))  # worded as on every other surface
    # What changed at the latest data comes first, one sentence each.
    assert at.subheader[0].value == t("overview.changes_title")
    # The criterion stands apart, as a status: its own block, never an anomaly level.
    assert any(t("criterion.title") in m for m in texts(at, "markdown"))
    res = results.read_results(store)
    latest = res.sort_values("period_start").groupby(["indicator", "geo"]).tail(1)
    above = latest["criterion"].fillna("").str.startswith("above_").sum()
    assert sum(int(m.value) for m in at.metric if m.label.startswith(t("overview.criterion_above", pct="")[:10])) \
        == above


def test_choosing_an_episode_opens_it_in_the_explorer(demo_db, catalogue):
    at = app()
    first = _episodes_table(at).iloc[0]
    at.selectbox(key="open_series").select_index(0).run()
    assert not at.exception
    assert at.title[0].value == t("explorer.title")
    chosen = at.selectbox(key="ex_indicator").value
    assert catalogue[chosen].name_in("en") == first["indicator"]
    assert at.get("plotly_chart")


def test_language_switch_translates_the_page(demo_db):
    at = app()
    at.sidebar.selectbox(key="lang").set_value("sq").run()
    assert not at.exception
    assert at.title[0].value == t("overview.title", "sq")
    assert at.subheader[0].value == t("overview.changes_title", "sq")
    assert set(_episodes_table(at)["level"]) <= {t("level.alert", "sq"), t("level.watch", "sq")}


def test_first_start_loads_the_demo_and_scans(tmp_path, app_env):
    path = tmp_path / "fresh.duckdb"
    app_env.setenv("MONITOR_DB", str(path))
    at = app()  # waits while the background build shows its progress, re-polling until it is done
    assert not at.exception
    assert at.dataframe and len(_episodes_table(at)) > 0
    assert len(results.runs(open_store(path))) == 1
    other = app("data")  # a second session, another page: the same prepared database, no second build
    assert not other.exception and not texts(other, "error")
    assert len(results.runs(open_store(path))) == 1


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
