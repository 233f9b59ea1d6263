"""Every chart offers PNG, SVG and PDF, every table CSV and XLSX, and the overview the briefing files.

AppTest does not expose download bytes; the files themselves are checked in test_exports, test_deck
and test_note, through the same functions the buttons call.
"""

from __future__ import annotations

import datetime as dt

import pytest

from monitoring.i18n import t
from tests.apptest_support import app

pytest_plugins = ("tests.app_fixtures",)


def labels(at) -> list[str]:
    return [b.proto.label for b in at.get("download_button")]


@pytest.mark.parametrize("page, charts, tables", [
    ("overview", 1, 1),    # small charts of the series in alert; the table of alerts and watches
    ("explorer", 4, 1),    # series, visa rule, impact, EU+ breakdown; recent values
    ("alerts", 1, 1),      # alert log chart and table
    ("data", 1, 1),        # coverage heat map and table
])
def test_each_chart_and_table_downloads(demo_db, page, charts, tables):
    at = app(page)
    assert not at.exception
    found = labels(at)
    for fmt, n in (("PNG", charts), ("SVG", charts), ("PDF", charts), ("CSV", tables), ("XLSX", tables)):
        assert found.count(fmt) == n, (fmt, found)


def test_the_overview_offers_the_briefing_deck_and_note(demo_db):
    at = app()
    found = labels(at)
    assert "Briefing deck (PPTX)" in found and "Briefing note (PDF)" in found
    b = briefing_of(demo_db)
    chooser = at.multiselect(key=f"dl_brief_which_en_{b.file_period()}")
    # the choices are exactly the signals the deck can cover: the reporting month's open episodes
    assert chooser.options == [f"{t('level.' + s.level, 'en')} · {s.title}, {s.period_label}" for s in b.signals]
    # preselected: the few that matter (the alerts, at most five, ranked as the overview ranks them)
    assert chooser.value == ["|".join(s.key) for s in b.top()] and 0 < len(chooser.value) <= 5
    assert all(s.level == "alert" for s in b.top())


def briefing_of(db):
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.briefing.contents import build_briefing
    from monitoring.settings import saved_settings
    from tests.apptest_support import TODAY

    store = open_store(db)
    return build_briefing(store, load_catalogue(), saved_settings(store), today=dt.date.fromisoformat(TODAY))


def test_in_albanian_the_buttons_speak_albanian(demo_db):
    at = app()
    at.sidebar.selectbox[0].set_value("sq").run()
    assert "Prezantimi (PPTX)" in labels(at)
