"""Mail settings and delivery for the digest: the SMTP server, the sender, the dashboard's address and the
recipients per language and indicator category, read from a TOML file (``mail.toml`` beside dashboard.py,
or ``MONITOR_MAIL``; ``mail.example.toml`` shows it). The password is never in that file: it comes from
the environment variable the file names (default ``MONITOR_SMTP_PASSWORD``) or from ``[smtp] password``
in ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import json
import os
import re
import smtplib
import ssl
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from pathlib import Path

from indicators.catalogue import FrozenMap

ROOT = Path(__file__).resolve().parents[1]
SECURITY = ("none", "starttls", "ssl")
ALL_QUIET = ("never", "weekly")
LANGS = ("en", "sq", "sr")
CATEGORIES = ("all", "outflow", "return", "leading", "context")  # "all": every indicator category
_ADDRESS = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>.][^@\s,;<>]*$")


class MailError(RuntimeError):
    """A mail that could not be handed over; the message says why and what happens next."""


class MailSettingsError(ValueError):
    """A mail settings file or value that cannot be used; the message names the file and key."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"  # none, starttls or ssl
    user: str = ""  # empty: no login
    password_env: str = "MONITOR_SMTP_PASSWORD"
    sender: str = "early-warning@localhost"
    timeout: float = 30.0


@dataclass(frozen=True)
class DigestSettings:
    dashboard_url: str = "http://localhost:8501"
    all_quiet: str = "never"  # never, or weekly: an "all quiet" mail when a week passed without one
    recent_months: int = 3  # a change counts when its period ends this close to the newest data


@dataclass(frozen=True)
class MailSettings:
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    # language -> category -> addresses (category "all": every indicator)
    recipients: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=lambda: FrozenMap({}))
    path: str = ""

    def recipients_json(self) -> str:
        return recipients_to_json(self.recipients)


def mail_path() -> Path:
    """``MONITOR_MAIL`` if set, else ``mail.toml`` in the project folder."""
    return Path(os.environ.get("MONITOR_MAIL") or ROOT / "mail.toml")


def bad_addresses(addresses) -> list[str]:
    return [a for a in addresses if not _ADDRESS.match(a)]


def parse_recipients(data, where: str) -> FrozenMap:
    """``{lang: {category: [addresses]}}`` checked: known languages and categories, valid addresses."""
    if not isinstance(data, Mapping):
        raise MailSettingsError(f"{where}: expected tables [recipients.<language>]")
    out = {}
    for lang, cats in data.items():
        if lang not in LANGS:
            raise MailSettingsError(f"{where}: unknown language {lang!r}; known: {', '.join(LANGS)}")
        if not isinstance(cats, Mapping):
            raise MailSettingsError(f"{where}.{lang}: expected category = [addresses]")
        lists = {}
        for cat, addresses in cats.items():
            if cat not in CATEGORIES:
                raise MailSettingsError(f"{where}.{lang}: unknown category {cat!r}; known: {', '.join(CATEGORIES)}")
            if not isinstance(addresses, list | tuple) or not all(isinstance(a, str) for a in addresses):
                raise MailSettingsError(f"{where}.{lang}.{cat}: expected a list of e-mail addresses")
            clean = tuple(dict.fromkeys(a.strip() for a in addresses if a.strip()))
            if bad := bad_addresses(clean):
                raise MailSettingsError(f"{where}.{lang}.{cat}: not an e-mail address: {', '.join(bad)}")
            if clean:
                lists[cat] = clean
        if lists:
            out[lang] = FrozenMap(lists)
    return FrozenMap(out)


def recipients_to_json(recipients: Mapping) -> str:
    return json.dumps({lang: {cat: list(a) for cat, a in cats.items()} for lang, cats in recipients.items()},
                      sort_keys=True, ensure_ascii=False)


def _section(cls, raw, where: str):
    if not isinstance(raw, Mapping):
        raise MailSettingsError(f"{where}: expected a table of settings")
    known = {f: type(getattr(cls(), f)) for f in cls.__dataclass_fields__}
    values = {}
    for key, value in raw.items():
        if key == "password":
            raise MailSettingsError(f"{where}.password: the password is never kept in this file; set the "
                                    "environment variable named by password_env, or [smtp] password in "
                                    ".streamlit/secrets.toml")
        if key not in known:
            raise MailSettingsError(f"{where}: unknown key {key!r}; known keys: {', '.join(sorted(known))}")
        kind = known[key]
        ok = isinstance(value, kind) and not isinstance(value, bool) or (kind is float and isinstance(value, int)
                                                                         and not isinstance(value, bool))
        if not ok:
            raise MailSettingsError(f"{where}.{key}: {value!r} is not a valid {kind.__name__}")
        values[key] = kind(value)
    return cls(**values)


def parse_mail_settings(data: Mapping, where: str = "mail settings") -> MailSettings:
    unknown = set(data) - {"smtp", "digest", "recipients"}
    if unknown:
        raise MailSettingsError(f"{where}: unknown section {sorted(unknown)[0]!r}; known: smtp, digest, recipients")
    smtp = _section(SmtpSettings, data.get("smtp", {}), f"{where} [smtp]")
    digest = _section(DigestSettings, data.get("digest", {}), f"{where} [digest]")
    if smtp.security not in SECURITY:
        raise MailSettingsError(f"{where} [smtp].security: {smtp.security!r} is not one of {', '.join(SECURITY)}")
    if not 0 < smtp.port < 65536:
        raise MailSettingsError(f"{where} [smtp].port: {smtp.port} is not a port number (1-65535)")
    if bad_addresses([smtp.sender]):
        raise MailSettingsError(f"{where} [smtp].sender: not an e-mail address: {smtp.sender}")
    if digest.all_quiet not in ALL_QUIET:
        raise MailSettingsError(f"{where} [digest].all_quiet: {digest.all_quiet!r} is not one of "
                                f"{', '.join(ALL_QUIET)}")
    if digest.recent_months < 1:
        raise MailSettingsError(f"{where} [digest].recent_months: must be at least 1")
    if not re.match(r"^https?://", digest.dashboard_url):
        raise MailSettingsError(f"{where} [digest].dashboard_url: expected an http:// or https:// address")
    recipients = parse_recipients(data.get("recipients", {}), f"{where} [recipients]")
    return MailSettings(smtp=smtp, digest=digest, recipients=recipients, path=where)


def load_mail_settings(path: str | Path | None = None) -> MailSettings:
    """The mail settings file (defaults, and no recipients, when there is none)."""
    path = Path(path) if path else mail_path()
    if not path.exists():
        return MailSettings(path=str(path))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MailSettingsError(f"{path}: not valid TOML: {exc}") from None
    return parse_mail_settings(data, str(path))


def with_saved_recipients(settings: MailSettings, saved_json: str | None) -> MailSettings:
    """The settings with the recipients analysts saved (the Recipients page), when there are any."""
    if not saved_json:
        return settings
    return replace(settings, recipients=parse_recipients(json.loads(saved_json), "saved recipients"))


def password(smtp: SmtpSettings, secrets_path: Path | None = None) -> str | None:
    """The SMTP password: the environment variable ``password_env``, else ``[smtp] password`` in
    ``.streamlit/secrets.toml``; None when neither has one."""
    value = os.environ.get(smtp.password_env) if smtp.password_env else None
    if value:
        return value
    path = secrets_path or ROOT / ".streamlit" / "secrets.toml"
    try:
        secrets = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return None
    found = secrets.get("smtp", {}).get("password") if isinstance(secrets.get("smtp"), Mapping) else None
    return found if isinstance(found, str) and found else None


def send(message: EmailMessage, recipients: list[str], smtp: SmtpSettings, secret: str | None = None
         ) -> dict[str, str]:
    """Hand one message to the SMTP server for ``recipients``; returns the refused ones (address -> reply).

    Raises :class:`MailError` when the server cannot be reached or refuses the whole message.
    """
    where = f"{smtp.host}:{smtp.port}"
    try:
        if smtp.security == "ssl":
            client = smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                      context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
        with client:
            if smtp.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if smtp.user:
                if not secret:
                    raise MailError(f"no SMTP password for {smtp.user}: set the environment variable "
                                    f"{smtp.password_env} or [smtp] password in .streamlit/secrets.toml")
                client.login(smtp.user, secret)
            refused = client.send_message(message, from_addr=smtp.sender, to_addrs=recipients)
    except MailError:
        raise
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"the mail server {where} refused every recipient: "
                        + "; ".join(f"{a} ({_reply(r)})" for a, r in exc.recipients.items())) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"the mail server {where} refused the login of {smtp.user}: {_reply(exc)}") from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the mail server {where} refused the message: {_reply(exc)}") from None
    except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, TLS failed, connection dropped
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc) or type(exc).__name__
        raise MailError(f"could not reach the mail server {where}: {why}") from None
    return {addr: _reply(reply) for addr, reply in refused.items()}


def _reply(reply) -> str:
    if isinstance(reply, smtplib.SMTPResponseException):
        code, text = reply.smtp_code, reply.smtp_error
    else:
        code, text = reply
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()
