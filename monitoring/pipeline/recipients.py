"""The Recipients page's content: who receives the digest, per language and indicator category, where the
lists come from, the mail server as configured (never the password itself), what was sent lately; and
saving edited lists with a reason (audited)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from indicators.store import Store, digests
from monitoring.i18n import LANGUAGES, period_label, t
from monitoring.pipeline.mail import (
    CATEGORIES,
    LANGS,
    MailSettings,
    MailSettingsError,
    bad_addresses,
    load_mail_settings,
    parse_recipients,
    password,
    recipients_to_json,
    with_saved_recipients,
)


@dataclass(frozen=True)
class RecipientsView:
    mail: MailSettings | None
    error: str = ""  # the mail settings file cannot be used
    source: str = ""  # where the lists come from, in words
    server: str = ""
    sent: pd.DataFrame = field(default_factory=pd.DataFrame)

    def addresses(self, lang: str, category: str) -> str:
        """One address per line, as the page's text box shows them."""
        if self.mail is None:
            return ""
        return "\n".join(self.mail.recipients.get(lang, {}).get(category, ()))


def _sent_table(store: Store, lang: str, catalogue) -> pd.DataFrame:
    from monitoring.narrative import geo_name
    from monitoring.statistics.derived import indicator_of

    sent = digests.read_sent(store, limit=50)
    rows = []
    for r in sent.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"]) if r["indicator"] else None
        series = f"{ind.name_in(lang)} – {geo_name(r['geo'], lang, catalogue)}" if ind else ""
        rows.append({t("recipients.col_sent_at", lang): pd.Timestamp(r["sent_at"]).strftime("%Y-%m-%d %H:%M"),
                     t("recipients.col_lang", lang): LANGUAGES.get(r["lang"], r["lang"]),
                     t("recipients.col_recipient", lang): r["recipient"],
                     t("recipients.col_kind", lang): t(f"recipients.kind_{r['kind']}", lang),
                     t("recipients.col_series", lang): series,
                     t("recipients.col_period", lang): period_label(r["period"], lang) if r["period"] else ""})
    return pd.DataFrame(rows)


def recipients_view(store: Store, catalogue, lang: str) -> RecipientsView:
    """Everything the Recipients page shows."""
    sent = _sent_table(store, lang, catalogue)
    try:
        mail = load_mail_settings()
    except MailSettingsError as exc:
        return RecipientsView(None, error=t("recipients.settings_error", lang, error=str(exc)), sent=sent)
    log = digests.recipients_log(store, limit=1)
    if len(log):
        row = log.iloc[0]
        mail = with_saved_recipients(mail, row["recipients"])
        source = t("recipients.from_saved", lang, who=row["who"],
                   when=pd.Timestamp(row["saved_at"]).strftime("%Y-%m-%d %H:%M"))
    else:
        source = t("recipients.from_file", lang, path=mail.path)
    smtp = mail.smtp
    server = t("recipients.server", lang, host=smtp.host, port=smtp.port, security=smtp.security,
               sender=smtp.sender, user=smtp.user or t("recipients.no_login", lang),
               password=t("recipients.password_set" if password(smtp) else "recipients.password_missing", lang)
               if smtp.user else "–")
    return RecipientsView(mail, source=source, server=server, sent=sent)


def save_recipients(store: Store, view: RecipientsView, texts: dict[tuple[str, str], str], *, who: str,
                    reason: str, lang: str) -> str:
    """Save the lists typed on the page (``(language, category) -> one address per line``); returns the
    message to show. Raises ``ValueError`` with the message for a bad address or a missing reason."""
    lists = {lg: {cat: [a.strip() for a in texts.get((lg, cat), "").replace(",", "\n").splitlines() if a.strip()]
                  for cat in CATEGORIES} for lg in LANGS}
    bad = sorted({a for cats in lists.values() for addresses in cats.values() for a in bad_addresses(addresses)})
    if bad:
        raise ValueError(t("recipients.bad", lang, addresses=", ".join(bad)))
    new = parse_recipients(lists, "recipients")
    if view.mail is not None and recipients_to_json(new) == view.mail.recipients_json():
        return t("recipients.unchanged", lang)
    if not reason.strip():
        raise ValueError(t("recipients.need_reason", lang))
    digests.save_recipients(store, recipients_to_json(new), who=who, reason=reason.strip())
    return t("recipients.saved", lang)
