"""The e-mail digest's records: what was sent to whom (so nothing is sent twice) and the saved recipients.

A language's changes are recorded for a recipient only after the mail server accepted that mail
(:func:`record_sent`, one atomic write with its audit row); a refused or failed mail leaves nothing,
so the next digest sends it again. Saved recipient lists are a log, latest first wins, each save audited.
Both live in the journal (``journal.py``, schema v8): small writes, never a copy of the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd

from indicators.store import Store, journal

SENT_COLUMNS = ("change_key", "lang", "recipient", "kind", "indicator", "geo", "period", "sent_at", "subject")


def read_sent(store: Store, *, lang: str | None = None, limit: int | None = None) -> pd.DataFrame:
    """Every change sent (one row per change, language and recipient), newest first."""
    return store.journal.frame(
        "SELECT * FROM digest_sent WHERE :lang IS NULL OR lang = :lang "
        "ORDER BY sent_at DESC, lang, recipient, change_key LIMIT coalesce(:limit, -1)",
        {"lang": lang, "limit": limit})


def sent_keys(store: Store) -> set[tuple[str, str, str]]:
    """(change_key, lang, recipient) of everything sent."""
    with store.journal.read() as j:
        rows = j.execute("SELECT change_key, lang, recipient FROM digest_sent").fetchall()
    return {tuple(r) for r in rows}


def last_sent(store: Store) -> dict[tuple[str, str], datetime]:
    """(lang, recipient) -> when the last mail of any kind went to them."""
    with store.journal.read() as j:
        rows = j.execute("SELECT lang, recipient, max(sent_at) FROM digest_sent GROUP BY lang, recipient").fetchall()
    return {(lang, who): pd.Timestamp(when).to_pydatetime() for lang, who, when in rows}


def record_sent(store: Store, changes: Sequence[dict], *, lang: str, recipients: Iterable[str], subject: str,
                who: str = "system") -> int:
    """Record ``changes`` (dicts with change_key, kind, indicator, geo, period) as sent in ``lang`` to each of
    ``recipients``, with one audit row (one journal write); returns the rows written."""
    recipients = sorted(set(recipients))
    if not recipients or not changes:
        return 0
    now = store.clock()
    rows = [(c["change_key"], lang, r, c["kind"], c.get("indicator"), c.get("geo"), c.get("period"),
             journal.sql_value(now), subject) for r in recipients for c in changes]
    with store.journal.write() as j:
        j.executemany(f"INSERT OR IGNORE INTO digest_sent ({', '.join(SENT_COLUMNS)}) "  # noqa: S608
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        journal.append_audit(j, now, who, "digest_sent", f"digest {lang}: {len(changes)} change(s)",
                             None, ", ".join(recipients), subject)
    return len(rows)


def latest_recipients(store: Store) -> tuple[int, str] | None:
    """(id, JSON) of the recipient lists last saved on the Recipients page, or None."""
    with store.journal.read() as j:
        row = j.execute("SELECT id, recipients FROM digest_recipients ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), row[1]) if row else None


def save_recipients(store: Store, recipients_json: str, *, who: str, reason: str) -> int:
    """Save recipient lists (JSON) with who and why; the list before and after go to the audit log."""
    now = store.clock()
    with store.journal.write() as j:
        before = j.execute("SELECT recipients FROM digest_recipients ORDER BY id DESC LIMIT 1").fetchone()
        new_id = j.execute("INSERT INTO digest_recipients (saved_at, who, recipients, reason) VALUES (?, ?, ?, ?) "
                           "RETURNING id", (journal.sql_value(now), who, recipients_json, reason)).fetchone()[0]
        journal.append_audit(j, now, who, "digest_recipients", f"recipients {new_id}",
                             before[0] if before else None, recipients_json, reason)
    return int(new_id)


def recipients_log(store: Store, limit: int | None = None) -> pd.DataFrame:
    """The saved recipient lists, newest first (id, saved_at, who, recipients, reason)."""
    return store.journal.frame("SELECT * FROM digest_recipients ORDER BY id DESC LIMIT coalesce(:limit, -1)",
                               {"limit": limit})
