"""Roles: analysts from the roles file by e-mail, domain or group; viewers can reach no write action,
through the UI or by crafted session state."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.roles import ANALYST, VIEWER, RoleMap, RolesError, load_role_map, role_for
from indicators.store import episodes, events, observations, open_store, results
from monitoring.i18n import t
from tests.apptest_support import ROOT, texts

pytest_plugins = ("tests.app_fixtures",)

AUTH = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "id", "client_secret": "secret",
        "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}
ROLE_MAP = RoleMap(emails=frozenset({"ana@gam.example"}), domains=frozenset({"analysts.example"}),
                   groups=frozenset({"gam-analysts"}))


@pytest.mark.parametrize("identity, role", [
    ({"is_logged_in": True, "email": "Ana@GAM.example"}, ANALYST),          # e-mail, any case
    ({"is_logged_in": True, "email": "x@analysts.example"}, ANALYST),        # domain
    ({"is_logged_in": True, "email": "x@other.example", "groups": ["gam-analysts"]}, ANALYST),
    ({"is_logged_in": True, "email": "x@other.example", "groups": "staff, GAM-Analysts"}, ANALYST),
    ({"is_logged_in": True, "email": "x@other.example", "groups": ["staff"]}, VIEWER),
    ({"is_logged_in": True, "email": "ana@gam.example", "email_verified": False}, VIEWER),
    ({"is_logged_in": False, "email": "ana@gam.example"}, VIEWER),           # not signed in
    ({"is_logged_in": True, "email": "ana@gam.example.evil.org"}, VIEWER),   # not the domain
])
def test_role_for(identity, role):
    assert role_for(identity, ROLE_MAP) == role


@pytest.mark.parametrize("text, message", [
    ("[analysts\nemails = []", r"r\.toml: not valid TOML"),
    ("analysts = 3", r"r\.toml: \[analysts\] must be a table with emails, domains and groups"),
    ("[analysts]\nemails = 'a@b'", r"r\.toml: analysts\.emails must be a list of strings"),
    ("[analysts]\nteams = []", r"r\.toml: unknown key analysts\.teams; known: emails, domains, groups"),
])
def test_a_bad_roles_file_is_named(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RolesError, match=message):
        load_role_map(path)


def test_no_roles_file_means_no_analysts(tmp_path):
    assert load_role_map(tmp_path / "none.toml") == RoleMap()
    assert role_for({"is_logged_in": True, "email": "a@b.c"}, RoleMap()) == VIEWER


@pytest.fixture
def roles_file(tmp_path, app_env):
    path = tmp_path / "roles.toml"
    path.write_text('[analysts]\nemails = ["ana@gam.example"]\ngroups = ["gam-analysts"]\n', encoding="utf-8")
    app_env.setenv("MONITOR_ROLES", str(path))
    return path


def signed_in(page: str, user: dict) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    at.secrets["auth"] = AUTH
    at.user = user
    at.run()
    assert not at.exception, at.exception
    if page != "overview":
        at.switch_page(f"app_pages/{page}.py").run()
    return at


def _save_thresholds(at: AppTest, reason: str) -> AppTest:
    at.select_slider(key="th___all___alert_alpha").set_value(0.001).run()
    at.text_input(key="th_reason").input(reason)
    next(b for b in at.button if b.label == t("th.save")).click().run()
    return at


@pytest.mark.parametrize("user", [
    {"is_logged_in": True, "email": "ana@gam.example", "name": "Ana"},
    {"is_logged_in": True, "email": "bo@elsewhere.example", "name": "Bo", "groups": ["gam-analysts"]},
])
def test_an_analyst_by_email_or_group_can_save_thresholds(demo_db, roles_file, user):
    at = _save_thresholds(signed_in("thresholds", user), "tighter alert level")
    assert not at.exception and t("ui.analysts_only") not in texts(at, "error")
    log = results.settings_log(open_store(demo_db))
    assert list(log["reason"]) == ["tighter alert level"] and list(log["who"]) == [user["name"]]


VIEWER_USER = {"is_logged_in": True, "email": "vera@gam.example", "name": "Vera", "groups": ["staff"]}


def test_a_signed_in_viewer_reaches_no_write_action(demo_db, roles_file):
    store = open_store(demo_db)
    before = observations.dump(store)
    at = _save_thresholds(signed_in("thresholds", VIEWER_USER), "viewer try")
    assert t("ui.analysts_only") in texts(at, "error")
    at.button(key="th_rescan").click().run()
    at = signed_in("alerts", VIEWER_USER)
    at.text_area(key="al_comment").input("viewer ack")
    at.button[0].click().run()
    at = signed_in("data", VIEWER_USER)
    at.file_uploader(key="da_files_0").set_value(
        [("new.csv", b"indicator,geo,period,value,flag\nasylum_applications,DE,2026-11,400,p\n", "text/csv")]).run()
    at.button(key="da_load").click().run()
    assert t("ui.analysts_only") in texts(at, "error")
    assert observations.dump(store) == before  # nothing written anywhere: no load, no settings, no ack
    assert episodes.episode_actions(store).empty and len(results.runs(store)) == 1


def test_crafted_session_state_does_not_make_a_viewer_an_analyst(demo_db, roles_file):
    store = open_store(demo_db)
    events_before = len(events.list_events(store))
    at = signed_in("data", VIEWER_USER)
    # a hostile client sets every state it can think of, then submits the event form
    for key, value in {"role": ANALYST, "is_analyst": True, "user": {"role": ANALYST},
                       "lang": "en"}.items():
        at.session_state[key] = value
    form_buttons = [b for b in at.button if b.label == t("data.add")]
    assert form_buttons, "the event form is shown to viewers (read-only use of the page)"
    form_buttons[0].click().run()
    assert t("ui.analysts_only") in texts(at, "error")
    assert len(events.list_events(store)) == events_before
    assert results.settings_log(store).empty
