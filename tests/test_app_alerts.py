"""Alerts page (AppTest): the log over time; acknowledge with a comment and expiry, dismiss, reopen."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from indicators.catalogue import load_catalogue
from indicators.store import open_store, results
from monitoring import records
from monitoring.i18n import t
from monitoring.records import effective_status
from tests.apptest_support import TODAY, app, texts

pytest_plugins = ("tests.app_fixtures",)


def status_of(db, indicator, geo, period) -> str:
    alerts = results.alerts(open_store(db))
    row = alerts[(alerts["indicator"] == indicator) & (alerts["geo"] == geo) & (alerts["period"] == period)]
    return row["status"].iloc[0]


def test_log_chart_and_filters(demo_db):
    at = app("alerts")
    assert not at.exception
    assert at.get("plotly_chart")
    table = at.dataframe[0].value
    n_default = len(table)
    assert n_default > 0 and set(table["status"]) <= {"open", "acknowledged"}
    at.selectbox(key="al_indicator").set_value("asylum_applications").run()
    only = at.dataframe[0].value
    assert 0 < len(only) < n_default and set(only["indicator"]) == {"First-time asylum applications"}
    at.selectbox(key="al_since").set_value("12").run()
    assert len(at.dataframe[0].value) <= len(only)


def test_acknowledge_needs_a_comment_then_dismiss_and_reopen(demo_db):
    at = app("alerts")
    at.selectbox(key="al_indicator").set_value("asylum_applications").run()
    at.selectbox(key="al_choice").set_value(0).run()
    key = first_key(demo_db, "asylum_applications")
    at.button[0].click().run()  # acknowledge without a comment
    assert any("comment" in e for e in texts(at, "error"))
    assert status_of(demo_db, *key) == "open"
    at.text_area(key="al_comment").input("known: a charter of returns; ministry informed")
    at.date_input(key="al_expires").set_value(dt.date.today() + dt.timedelta(days=30))
    at.button[0].click().run()
    assert not at.exception
    assert status_of(demo_db, *key) == "acknowledged"
    assert t("alerts.status_acknowledged") in set(at.dataframe[0].value["status"])
    history = at.dataframe[-1].value
    assert list(history["action"]) == [t("alerts.status_acknowledged")]
    # Dismiss as explained, then reopen (no comment needed to reopen).
    at.radio(key="al_action").set_value("dismissed")
    at.text_area(key="al_comment").input("explained by the planted test spike")
    at.button[0].click().run()
    assert status_of(demo_db, *key) == "dismissed"
    at.multiselect(key="al_status").set_value(["dismissed"]).run()
    assert first_key(demo_db, "asylum_applications", ("dismissed",)) == key
    at.selectbox(key="al_choice").set_value(0).run()
    at.radio(key="al_action").set_value("open")
    at.button[0].click().run()
    assert status_of(demo_db, *key) == "open"
    actions = results.alert_actions(open_store(demo_db), *key)
    assert list(actions["action"]) == ["acknowledged", "dismissed", "open"]


def first_key(db, indicator: str, statuses=("open", "acknowledged")) -> tuple[str, str, str]:
    """The alert the page lists first (and preselects) for these filters."""
    log = records.alert_log(open_store(db), load_catalogue(), pd.Timestamp(TODAY), since_months=24,
                            statuses=statuses, indicator=indicator)
    row = log.table.iloc[0]
    return row["indicator_id"], row["geo_code"], row["period_code"]


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
    assert results.alert_actions(open_store(demo_db)).empty
