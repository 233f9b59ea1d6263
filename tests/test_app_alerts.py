"""Alerts page (AppTest): one row per alert episode; acknowledge an episode with a comment and expiry,
dismiss, reopen; its history; a viewer cannot act."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.store import episodes, open_store
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions, records
from monitoring.pipeline.records import effective_status
from tests.apptest_support import TODAY, app, texts

pytest_plugins = ("tests.app_fixtures",)


def status_of(db, episode_id: int) -> str:
    stored = episodes.read_episodes(open_store(db))
    return stored.loc[stored["id"] == episode_id, "status"].iloc[0]


def test_log_chart_and_filters(demo_db):
    at = app("alerts")
    assert not at.exception
    assert at.get("plotly_chart")
    table = at.dataframe[0].value
    n_default = len(table)
    assert n_default > 0 and set(table["status"]) <= {t("alerts.status_open"), t("alerts.status_acknowledged")}
    # one row per episode: never two rows of one series starting in the same period
    assert not table.duplicated(["indicator", "geo", "start"]).any()
    stored = episodes.read_episodes(open_store(demo_db))
    assert len(table) < len(stored)  # the default filters: alarming in the last 2 years
    assert (table["state"] == t("alerts.state_open")).sum() == (stored["state"] == "open").sum()
    # the one count, above the table, whatever the filters
    count = records.episode_count(open_store(demo_db))
    assert f"**{episodes_text(count)}**" in texts(at, "markdown")
    at.selectbox(key="al_indicator").set_value("asylum_applications").run()
    only = at.dataframe[0].value
    assert 0 < len(only) < n_default and set(only["indicator"]) == {"First-time asylum applications"}
    at.selectbox(key="al_since").set_value("12").run()
    assert len(at.dataframe[0].value) <= len(only)


def test_acknowledge_needs_a_comment_then_dismiss_and_reopen(demo_db):
    at = app("alerts")
    at.selectbox(key="al_indicator").set_value("asylum_applications").run()
    key = first_key(demo_db, "asylum_applications")
    at.selectbox(key="al_choice").set_value(key).run()
    at.button[0].click().run()  # acknowledge without a comment
    assert any("comment" in e for e in texts(at, "error"))
    assert status_of(demo_db, key) == "open"
    at.text_area(key="al_comment").input("known: a charter of returns; ministry informed")
    at.date_input(key="al_expires").set_value(dt.date.today() + dt.timedelta(days=30))
    at.button[0].click().run()
    assert not at.exception
    assert status_of(demo_db, key) == "acknowledged"
    assert t("alerts.status_acknowledged") in set(at.dataframe[0].value["status"])
    history = at.dataframe[-1].value
    assert list(history["action"]) == [t("alerts.action_acknowledged")]
    stored = episodes.read_episodes(open_store(demo_db)).set_index("id").loc[key]
    assert stored["ack_level"] == stored["peak_level"]  # what a later worsening is measured against
    # Dismiss as explained, then reopen (no comment needed to reopen).
    at.radio(key="al_action").set_value("dismissed")
    at.text_area(key="al_comment").input("explained by the planted test spike")
    at.button[0].click().run()
    assert status_of(demo_db, key) == "dismissed"
    at.multiselect(key="al_status").set_value(["dismissed"]).run()
    assert first_key(demo_db, "asylum_applications", ("dismissed",)) == key
    at.selectbox(key="al_choice").set_value(key).run()
    at.radio(key="al_action").set_value("open")
    at.button[0].click().run()
    assert status_of(demo_db, key) == "open"
    actions = episodes.episode_actions(open_store(demo_db), key)
    assert list(actions["action"]) == ["acknowledged", "dismissed", "open"]
    assert list(actions["comment"])[:2] == ["known: a charter of returns; ministry informed",
                                            "explained by the planted test spike"]
    # The page shows that history, oldest first, in the language.
    at.multiselect(key="al_status").set_value(["open"]).run()
    at.selectbox(key="al_choice").set_value(key).run()
    assert list(at.dataframe[-1].value["action"]) == [t(f"alerts.action_{a}") for a in actions["action"]]


def first_key(db, indicator: str, statuses=("open", "acknowledged")) -> int:
    """The episode the page lists first (and preselects) for these filters."""
    log = records.episode_log(open_store(db), load_catalogue(), pd.Timestamp(TODAY), since_months=24,
                              statuses=statuses, indicator=indicator)
    return int(log.table.iloc[0]["episode_id"])


def test_an_expired_acknowledgement_counts_as_open():
    today = pd.Timestamp("2026-11-26")
    assert effective_status("acknowledged", pd.Timestamp("2026-11-25"), today) == "open"
    assert effective_status("acknowledged", pd.Timestamp("2026-11-26"), today) == "acknowledged"
    assert effective_status("acknowledged", None, today) == "acknowledged"
    assert effective_status("dismissed", pd.Timestamp("2020-01-01"), today) == "dismissed"


def test_a_viewer_cannot_acknowledge(demo_db, app_env):
    app_env.setenv("MONITOR_ROLE", "viewer")
    at = app("alerts")
    at.text_area(key="al_comment").input("not allowed")
    at.button[0].click().run()
    assert t("ui.analysts_only") in texts(at, "error")
    assert episodes.episode_actions(open_store(demo_db)).empty
    assert set(episodes.read_episodes(open_store(demo_db))["status"]) == {"open"}


def test_after_acknowledging_the_choice_stays_on_the_episode_and_the_form_is_empty(demo_db):
    at = app("alerts")
    at.selectbox(key="al_indicator").set_value("asylum_applications").run()
    key = first_key(demo_db, "asylum_applications")
    assert at.selectbox(key="al_choice").value == key
    at.text_area(key="al_comment").input("known: a charter of returns")
    at.button[0].click().run()
    assert not at.exception and status_of(demo_db, key) == "acknowledged"
    choice = at.selectbox(key="al_choice")
    assert choice.value == key  # the acknowledged episode, not the one now listed first
    assert f"; {t('alerts.status_acknowledged')})" in choice.format_func(choice.value)
    assert at.text_area(key="al_comment").value == ""  # the comment is not kept for the next action
    assert t("alerts.done", action=t("alerts.status_acknowledged")) in texts(at, "success")


def test_the_action_errors_are_in_the_language(demo_db):
    at = app("alerts")
    at.selectbox(key="lang").set_value("sq").run()
    at.button[0].click().run()  # acknowledge without a comment
    assert texts(at, "error") == [t("alerts.comment_required", "sq")]
    store = open_store(demo_db)
    for lang in ("sq", "sr"):
        with pytest.raises(ValueError) as caught:
            actions.set_episode_status(store, first_key(demo_db, "asylum_applications"), "dismissed", who="x",
                                       comment=" ", lang=lang)
        assert str(caught.value) == t("alerts.comment_required", lang) != t("alerts.comment_required")
        with pytest.raises(ValueError, match=t("alerts.no_episode", lang, id=999999)):
            actions.set_episode_status(store, 999999, "open", who="x", lang=lang)
