"""Recipients page (AppTest): analysts edit the digest's recipients with a reason (audited); viewers cannot."""

from __future__ import annotations

import json

import pytest

from indicators.store import audit, digests, open_store
from monitoring.i18n import t
from tests.apptest_support import app, texts

pytest_plugins = ("tests.app_fixtures",)


@pytest.fixture
def mail_file(tmp_path, app_env):
    path = tmp_path / "mail.toml"
    path.write_text('[smtp]\nhost = "mail.gam.example.org"\nport = 587\nsecurity = "starttls"\nuser = "gam"\n'
                    '[recipients.en]\nall = ["duty@gam.example.org"]\n', encoding="utf-8")
    app_env.setenv("MONITOR_MAIL", str(path))
    app_env.delenv("MONITOR_SMTP_PASSWORD", raising=False)
    return path


def _save(at):
    next(b for b in at.button if b.label == t("recipients.save")).click().run()


def test_an_analyst_saves_recipients_with_a_reason_and_it_is_audited(one_series_db, mail_file):
    at = app("recipients")
    assert not at.exception
    assert at.text_area(key="rc_en_all").value == "duty@gam.example.org"
    assert "mail.gam.example.org:587" in " ".join(texts(at, "caption"))
    at.text_area(key="rc_sq_outflow").input("zyra@gam.example.org\nnot-an-address")
    _save(at)
    assert t("recipients.bad", addresses="not-an-address") in texts(at, "error")
    at.text_area(key="rc_sq_outflow").input("zyra@gam.example.org")
    _save(at)
    assert t("recipients.need_reason") in texts(at, "error")
    at.text_input(key="rc_reason").input("Albanian desk for outflows")
    _save(at)
    assert not at.exception
    store = open_store(one_series_db)
    saved = json.loads(digests.latest_recipients(store)[1])
    assert saved == {"en": {"all": ["duty@gam.example.org"]}, "sq": {"outflow": ["zyra@gam.example.org"]}}
    row = audit.read_audit(store, action="digest_recipients").iloc[-1]
    assert row["reason"] == "Albanian desk for outflows" and row["before"] is None
    assert t("recipients.saved") in texts(at, "success")


def test_a_viewer_sees_the_recipients_but_cannot_change_them(one_series_db, mail_file, app_env):
    app_env.setenv("MONITOR_ROLE", "viewer")
    at = app("recipients")
    assert not at.exception
    assert t("recipients.viewer") in texts(at, "info")
    assert at.text_area(key="rc_en_all").disabled and at.text_input(key="rc_reason").disabled
    assert digests.latest_recipients(open_store(one_series_db)) is None
