"""Thresholds page (AppTest): a moved value re-counts at once; save needs a reason; audit, revert."""

from __future__ import annotations

from indicators.store import open_store, results
from monitoring.i18n import t
from monitoring.pipeline import levelling
from monitoring.settings import saved_settings
from tests.apptest_support import app, metric, texts

pytest_plugins = ("tests.app_fixtures",)
NEW, SAVED = t("th.alerts_new"), t("th.alerts_saved")


def button(at, label: str):
    return next(b for b in at.button if b.label == label)


def test_a_stricter_alert_alpha_lowers_the_open_alert_episodes(demo_db):
    at = app("thresholds")
    assert not at.exception
    before = metric(at, NEW)
    assert before == metric(at, SAVED) > 0
    at.select_slider(key="th___all___alert_alpha").set_value(0.0005).run()
    at.select_slider(key="th___all___watch_alpha").set_value(0.0005).run()
    at.number_input(key="th___all___persistence").set_value(0).run()
    assert not at.exception
    assert metric(at, NEW) < before
    assert metric(at, SAVED) == before  # nothing saved yet
    # The EU suspension criterion is a status apart, not an anomaly: its thresholds leave the count alone.
    strict = metric(at, NEW)
    at.slider(key="th___all___visa_watch").set_value(150).run()
    at.slider(key="th___all___visa_alert").set_value(200).run()
    assert metric(at, NEW) == strict


def test_alert_alpha_above_watch_alpha_is_refused_with_a_message(demo_db):
    at = app("thresholds")
    at.select_slider(key="th___all___watch_alpha").set_value(0.01).run()
    at.select_slider(key="th___all___alert_alpha").set_value(0.05).run()
    assert not at.exception
    assert any("alert_alpha" in e for e in texts(at, "error"))


def test_save_needs_a_reason_then_is_audited_and_revertible(demo_db):
    store = open_store(demo_db)
    at = app("thresholds")
    at.select_slider(key="th___all___alert_alpha").set_value(0.001).run()
    button(at, t("th.save")).click().run()  # the form's save button, no reason
    assert t("th.reason_required") in texts(at, "error")
    assert results.settings_log(store).empty
    at.text_input(key="th_reason").input("fewer alerts on small series")
    button(at, t("th.save")).click().run()
    assert not at.exception
    log = results.settings_log(store)
    assert list(log["reason"]) == ["fewer alerts on small series"]
    assert saved_settings(store).levels.alert_alpha == 0.001
    audit = at.dataframe[-1].value
    assert f"{t('th.alert_alpha')}: 0.01 → 0.001" in audit["changes"].iloc[0]  # the page's label, not a key
    assert at.text_input(key="th_reason").value == ""  # the reason is not kept for the next save
    # Revert to the first version after a second change: a new entry pointing at the first.
    second = app("thresholds")
    second.select_slider(key="th___all___alert_alpha").set_value(0.005).run()
    second.text_input(key="th_reason").input("try 0.005")
    button(second, t("th.save")).click().run()
    assert saved_settings(store).levels.alert_alpha == 0.005
    # newest first: the version before the one in force (a form's choice is sent with its button)
    assert second.selectbox(key="th_revert_id").value == int(log["id"].iloc[0])
    second.selectbox(key="th_revert_id").set_value(int(log["id"].iloc[0]))
    second.text_input(key="th_revert_reason").input("back to the agreed value")
    button(second, t("th.revert")).click().run()
    assert not second.exception
    assert saved_settings(store).levels.alert_alpha == 0.001
    assert results.settings_log(store)["reverts"].iloc[0] == log["id"].iloc[0]


def test_per_indicator_override(demo_db):
    store = open_store(demo_db)
    at = app("thresholds")
    at.selectbox(key="th_scope").set_value("asylum_applications").run()
    at.selectbox(key="th_asylum_applications_method").set_value("ears").run()
    assert t("th.refit_note") in texts(at, "info")
    at.text_input(key="th_reason").input("short series since the break")
    button(at, t("th.save")).click().run()
    settings = saved_settings(store)
    assert settings.for_indicator("asylum_applications").method == "ears"
    assert settings.method == "auto"


def test_a_viewer_cannot_save(demo_db, app_env):
    app_env.setenv("MONITOR_ROLE", "viewer")
    at = app("thresholds")
    at.select_slider(key="th___all___alert_alpha").set_value(0.001).run()
    at.text_input(key="th_reason").input("should not be saved")
    button(at, t("th.save")).click().run()
    assert t("ui.analysts_only") in texts(at, "error")
    assert results.settings_log(open_store(demo_db)).empty


def test_rerun_scan_after_a_method_change_refits_that_indicator(demo_db):
    store = open_store(demo_db)
    at = app("thresholds")
    at.selectbox(key="th_scope").set_value("passport_issuance").run()
    at.selectbox(key="th_passport_issuance_method").set_value("ears").run()
    at.text_input(key="th_reason").input("EARS for the passport series")
    button(at, t("th.save")).click().run()
    runs = len(results.runs(store))
    at.button(key="th_rescan").click().run()
    assert not at.exception
    assert not texts(at, "error"), texts(at, "error")
    latest = results.runs(store, limit=1)
    assert len(results.runs(store)) == runs + 1
    assert int(latest["series_refitted"].iloc[0]) == 1  # only the passport series (XK)


def test_with_an_identity_provider_a_visitor_not_logged_in_is_a_viewer(demo_db):
    from streamlit.testing.v1 import AppTest

    from tests.apptest_support import ROOT

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.secrets["auth"] = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                          "client_id": "id", "client_secret": "secret",
                          "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
    at.run()
    assert not at.exception
    assert t("ui.local_mode") not in [c.value for c in at.sidebar.caption]
    assert t("ui.viewer_note") in [c.value for c in at.sidebar.caption]
    at.switch_page("app_pages/thresholds.py").run()
    at.select_slider(key="th___all___alert_alpha").set_value(0.001).run()
    at.text_input(key="th_reason").input("not logged in")
    button(at, t("th.save")).click().run()
    assert t("ui.analysts_only") in texts(at, "error")
    assert results.settings_log(open_store(demo_db)).empty


def test_saved_settings_relevel_what_the_overview_shows(demo_db):
    overview = app()
    before = sum(int(m.value) for m in overview.metric if m.label == t("overview.alerts"))
    at = app("thresholds")
    expected = metric(at, NEW)
    at.select_slider(key="th___all___alert_alpha").set_value(0.0005).run()
    at.select_slider(key="th___all___watch_alpha").set_value(0.0005).run()
    at.number_input(key="th___all___persistence").set_value(0).run()
    preview = metric(at, NEW)
    at.text_input(key="th_reason").input("only very unusual periods")
    button(at, t("th.save")).click().run()
    assert not at.exception
    assert levelling.wait(open_store(demo_db), 120)  # the levels are written behind the save
    at.switch_page("app_pages/overview.py").run()
    after = sum(int(m.value) for m in at.metric if m.label == t("overview.alerts"))
    assert before == expected and after == preview < before  # one count: the preview, then the overview
    assert not [i for i in texts(at, "info") if t("ui.relevelling", what="")[:12] in i]  # no note once done


def test_a_save_whose_levels_are_not_written_is_said_and_an_analyst_visit_writes_them(demo_db, app_env):
    from monitoring.settings import parse_settings

    store = open_store(demo_db)
    strict = parse_settings({"levels": {"alert_alpha": 0.0005, "watch_alpha": 0.0005}}).to_json()
    before = results.read_results(store)["level"].tolist()
    results.save_settings(store, strict, who="Ana *B*", reason="stricter")  # its server stopped before the levels
    app_env.setenv("MONITOR_ROLE", "viewer")
    viewer = app()
    waiting = t("ui.relevel_waiting", what="").split(":")[0].strip()
    notes = [i for i in texts(viewer, "info") if waiting in i]
    assert len(notes) == 1 and "Ana \\*B\\*" in notes[0], texts(viewer, "info")  # the name as written
    assert results.read_results(store)["level"].tolist() == before  # a viewer writes nothing
    assert levelling.pending(store) is not None and not levelling.pending(store).running
    app_env.delenv("MONITOR_ROLE")
    analyst = app()
    assert not analyst.exception
    assert levelling.wait(store, 120) and levelling.pending(store) is None
    assert results.levelled_settings(store) == strict
    assert results.read_results(store)["level"].tolist() != before


def test_a_click_is_not_lost_when_the_re_levelling_ends_while_the_page_is_drawn(demo_db, monkeypatch):
    store = open_store(demo_db)
    at = app("thresholds")
    runs = len(results.runs(store))
    # running when the page starts, done by the time its note is drawn
    answers = iter([levelling.Pending(None, None, None, running=True, error=None)])
    monkeypatch.setattr(levelling, "pending", lambda s: next(answers, None))
    at.button(key="th_rescan").click().run()
    assert not at.exception
    assert len(results.runs(store)) == runs + 1  # the rescan the click asked for ran
