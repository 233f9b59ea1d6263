"""The e-mail digest against a real SMTP server on 127.0.0.1 (aiosmtpd, started by the test): the mail
arrives in each language with its chart and subject; a second run sends nothing; a refused connection
or a refused recipient keeps what was not accepted for the next run."""

from __future__ import annotations

import datetime as dt
import email
import socket
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from indicators.catalogue import load_catalogue
from indicators.store import audit, digests, open_store
from monitoring import cycle
from monitoring.i18n import t
from monitoring.pipeline import digest as dg
from monitoring.pipeline.mail import MailError, MailSettingsError, parse_mail_settings
from monitoring.statistics.derived import indicator_of
from tests.digest_db import copy_to

NOW = dt.datetime(2026, 11, 26, 7, 0)
ADDRESSES = {"en": "duty@gam.example.org", "sq": "zyra@gam.example.org", "sr": "kancelarija@gam.example.org"}
REFUSED = "nobody@gam.example.org"


class Inbox:
    """An aiosmtpd handler keeping every message; refuses the address REFUSED."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.original_content, policy=policy.default)))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller.port, inbox
    finally:
        controller.stop()


@pytest.fixture
def store(tmp_path):
    store = open_store(copy_to(tmp_path / "d.duckdb"))
    store.clock = lambda: NOW
    return store


def _mail(port: int, recipients=None):
    return parse_mail_settings({
        "smtp": {"host": "127.0.0.1", "port": port, "sender": "early-warning@gam.example.org", "timeout": 5.0},
        "digest": {"dashboard_url": "https://monitor.gam.example.org"},
        "recipients": {lang: {"all": [a]} for lang, a in ADDRESSES.items()} if recipients is None else recipients})


def _digest(store, mail, **kwargs):
    lines = []
    kwargs.setdefault("chart", None)
    code = cycle.digest(store, load_catalogue(), mail, now=NOW, log=lines.append, **kwargs)
    return code, lines


def test_the_digest_arrives_in_each_language_with_its_chart_subject_and_link(store, smtp):
    port, inbox = smtp
    code, _ = _digest(store, _mail(port), chart="default")
    assert code == cycle.OK
    got = {m["Content-Language"]: (to, m) for to, m in inbox.messages}
    assert sorted(got) == ["en", "sq", "sr"]
    ind = indicator_of(load_catalogue(), "asylum_applications")
    for lang, (to, m) in got.items():
        assert to == [ADDRESSES[lang]]
        geo = t("geo.FR", lang)
        headline = f"{t('digest.kind_new_alert', lang)}: {ind.name_in(lang)} – {geo}"
        assert m["Subject"] == t("digest.subject_more", lang, headline=headline, more=1)
        images = [p for p in m.walk() if p.get_content_type() == "image/png"]
        assert len(images) == 2 and all(p.get_content().startswith(b"\x89PNG") for p in images)
        html = m.get_body(("html",)).get_content()
        assert all(f"cid:{p['Content-ID'].strip('<>')}" in html for p in images)
        text = m.get_body(("plain",)).get_content()
        link = f"https://monitor.gam.example.org/explorer?indicator=asylum_applications&geo=FR&lang={lang}"
        assert link in text and link.replace("&", "&amp;") in html
        assert t("digest.heading", lang) in text and t("digest.open_link", lang) in html


def test_a_second_run_sends_nothing_and_the_first_is_audited(store, smtp):
    port, inbox = smtp
    assert _digest(store, _mail(port))[0] == cycle.OK
    assert len(inbox.messages) == 3
    code, lines = _digest(store, _mail(port))
    assert code == cycle.OK and len(inbox.messages) == 3
    assert "nothing changed since the last digest" in lines[-1]
    sent = digests.read_sent(store)
    assert sorted(set(sent["lang"])) == ["en", "sq", "sr"]
    assert set(sent["change_key"]) == {"new:asylum_applications:FR:2026-09", "new:asylum_applications:EU_PLUS:2026-09"}
    rows = audit.read_audit(store, action="digest_sent")
    assert len(rows) == 3 and set(rows["who"]) == {"system"}


def test_a_refused_connection_keeps_the_digest_for_the_next_run(store, smtp):
    closed = _free_port()  # nothing listens there: the connection is refused
    code, lines = _digest(store, _mail(closed))
    assert code == cycle.MAIL
    assert any("not sent, kept for the next run" in ln and f"127.0.0.1:{closed}" in ln for ln in lines)
    assert digests.read_sent(store).empty and audit.read_audit(store, action="digest_sent").empty
    port, inbox = smtp
    assert _digest(store, _mail(port))[0] == cycle.OK
    assert sorted(m["Content-Language"] for _, m in inbox.messages) == ["en", "sq", "sr"]


def test_a_refused_recipient_is_kept_and_the_accepted_ones_are_recorded(store, smtp):
    port, inbox = smtp
    recipients = {"en": {"all": [ADDRESSES["en"], REFUSED]}}
    code, lines = _digest(store, _mail(port, recipients))
    assert code == cycle.MAIL and [to for to, _ in inbox.messages] == [[ADDRESSES["en"]]]
    assert set(digests.read_sent(store)["recipient"]) == {ADDRESSES["en"]}
    assert any(REFUSED in ln and "550" in ln for ln in lines)
    code, _ = _digest(store, _mail(port, recipients))  # tried again for the refused one only
    assert code == cycle.MAIL and len(inbox.messages) == 1


def test_to_and_lang_send_one_language_to_the_given_address(store, smtp):
    port, inbox = smtp
    assert _digest(store, _mail(port, {}), lang="sq", to=["me@example.org"])[0] == cycle.OK
    assert [(to, m["Content-Language"]) for to, m in inbox.messages] == [(["me@example.org"], "sq")]


def test_no_recipients_is_an_error_that_says_where_to_list_them(store, smtp):
    code, lines = _digest(store, _mail(smtp[0], {}))
    assert code == cycle.ERROR and "no recipients" in lines[-1] and "Recipients page" in lines[-1]


def test_categories_choose_the_changes_a_recipient_gets(store, smtp):
    port, inbox = smtp
    recipients = {"en": {"return": ["returns@gam.example.org"], "outflow": ["outflows@gam.example.org"]}}
    assert _digest(store, _mail(port, recipients))[0] == cycle.OK
    assert [to for to, _ in inbox.messages] == [["outflows@gam.example.org"]]


def test_a_weekly_all_quiet_mail_goes_once_a_week(store, smtp):
    port, inbox = smtp
    mail = parse_mail_settings({"smtp": {"host": "127.0.0.1", "port": port}, "digest": {"all_quiet": "weekly"},
                                "recipients": {"en": {"all": [ADDRESSES["en"]]}}})
    assert _digest(store, mail)[0] == cycle.OK  # the changes
    later = dt.datetime(2026, 12, 4, 7, 0)  # eight days on, nothing new
    for _ in range(2):
        assert cycle.digest(store, load_catalogue(), mail, now=later, chart=None, log=lambda s: None) == cycle.OK
    subjects = [m["Subject"] for _, m in inbox.messages]
    assert len(subjects) == 2 and subjects[1] == t("digest.subject_quiet", "en", date="December 4, 2026")


def test_dry_run_sends_and_records_nothing(store, smtp, tmp_path):
    port, inbox = smtp
    code, _ = _digest(store, _mail(port), dry_run=True, out=tmp_path / "out")
    assert code == cycle.OK and not inbox.messages and digests.read_sent(store).empty
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"digest_{lang}.{ext}" for lang in ("en", "sq", "sr") for ext in ("eml", "html", "txt"))


@pytest.mark.parametrize("data, message", [
    ({"smtp": {"password": "x"}}, r"\[smtp\]\.password: the password is never kept in this file"),
    ({"smtp": {"security": "tls"}}, r"\[smtp\]\.security: 'tls' is not one of none, starttls, ssl"),
    ({"smtp": {"port": 0}}, r"\[smtp\]\.port: 0 is not a port number"),
    ({"digest": {"all_quiet": "daily"}}, r"\[digest\]\.all_quiet: 'daily' is not one of never, weekly"),
    ({"recipients": {"de": {"all": ["a@b.org"]}}}, r"unknown language 'de'"),
    ({"recipients": {"en": {"asylum": ["a@b.org"]}}}, r"unknown category 'asylum'"),
    ({"recipients": {"en": {"all": ["not an address"]}}}, r"not an e-mail address: not an address"),
])
def test_bad_mail_settings_are_named(data, message):
    with pytest.raises(MailSettingsError, match=message):
        parse_mail_settings(data, "mail.toml")


def test_merge_says_an_escalation_and_a_crossing_in_the_new_episodes_line():
    base = {"indicator": "asylum_applications", "geo": "FR", "category": "outflow", "start_period": "2026-08"}
    new = dg.Change("new:a", "new", period="2026-08", row_period="2026-09", level="alert", **base)
    up = dg.Change("escalation:a", "escalation", period="2026-09", row_period="2026-09", level="alert", **base)
    cross = dg.Change("criterion:a:08", "criterion", "asylum_applications", "FR", "2026-08", "2026-08", "criterion",
                      "outflow")
    cross2 = dg.Change("criterion:a:09", "criterion", "asylum_applications", "FR", "2026-09", "2026-09", "alert",
                       "outflow")
    [line] = dg.merge([new, up, cross, cross2])
    assert line.key == "new:a" and set(line.keys) == {"new:a", "escalation:a", "criterion:a:08", "criterion:a:09"}


def test_the_cli_run_cycle_logs_each_step_and_exits_4_when_the_mail_server_is_down(store, tmp_path, capsys,
                                                                                  monkeypatch):
    from monitoring.__main__ import main

    mail = tmp_path / "mail.toml"
    mail.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {_free_port()}\ntimeout = 5.0\n'
                    '[recipients.en]\nall = ["duty@gam.example.org"]\n', encoding="utf-8")
    monkeypatch.setattr("monitoring.briefing.digest_message.chart_png", lambda *a: b"\x89PNG fake")
    code = main(["run", "--digest", "--db", str(store.path), "--mail", str(mail), "--workers", "1"],
                today="2026-11-26")
    out = capsys.readouterr().out
    assert code == cycle.MAIL
    steps = [ln.split(" ", 2)[2].split(":", 1)[0] for ln in out.splitlines()]
    assert steps[0] == "run" and "scan" in steps and "digest en" in steps and steps[-1] == "run"
    assert out.splitlines()[-1].endswith("run: done, exit 4")


def test_an_unreachable_server_is_a_message_not_a_traceback():
    from monitoring.pipeline.mail import SmtpSettings, send

    msg = email.message.EmailMessage()
    msg["Subject"] = "x"
    msg.set_content("x")
    port = _free_port()
    with pytest.raises(MailError, match=rf"could not reach the mail server 127\.0\.0\.1:{port}: Connection refused"):
        send(msg, ["a@b.org"], SmtpSettings(host="127.0.0.1", port=port, sender="a@b.org", timeout=5.0))


def test_mail_settings_file_is_read(tmp_path):
    from monitoring.pipeline.mail import load_mail_settings

    path = Path(tmp_path / "mail.toml")
    path.write_text('[smtp]\nhost = "mail.example.org"\nport = 587\nsecurity = "starttls"\nuser = "gam"\n',
                    encoding="utf-8")
    got = load_mail_settings(path)
    assert (got.smtp.host, got.smtp.port, got.smtp.security, got.smtp.user) == ("mail.example.org", 587,
                                                                                "starttls", "gam")


def test_run_with_a_bad_file_exits_3_and_still_scans_and_mails(store, smtp, tmp_path, capsys, monkeypatch):
    from monitoring.__main__ import main

    port, inbox = smtp
    mail = tmp_path / "mail.toml"
    mail.write_text(f'[smtp]\nhost = "127.0.0.1"\nport = {port}\n[recipients.sr]\nall = ["k@gam.example.org"]\n',
                    encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("indicator,geo,period,value\nasylum_applications,FR,2026-13,5\n", encoding="utf-8")
    monkeypatch.setattr("monitoring.briefing.digest_message.chart_png", lambda *a: b"\x89PNG fake")
    code = main(["run", "--load", str(bad), "--digest", "--db", str(store.path), "--mail", str(mail),
                 "--workers", "1"], today="2026-11-26")
    out = capsys.readouterr().out
    assert code == cycle.DATA
    assert "load: failed, nothing loaded" in out and "scan: run" in out
    assert [m["Content-Language"] for _, m in inbox.messages] == ["sr"]


def test_the_password_comes_from_the_environment_or_the_streamlit_secrets(tmp_path, monkeypatch):
    from monitoring.pipeline.mail import SmtpSettings, password

    smtp = SmtpSettings(user="gam", password_env="TEST_SMTP_PASSWORD")
    secrets = tmp_path / "secrets.toml"
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    assert password(smtp, secrets) is None
    secrets.write_text('[smtp]\npassword = "from-secrets"\n', encoding="utf-8")
    assert password(smtp, secrets) == "from-secrets"
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "from-env")
    assert password(smtp, secrets) == "from-env"
