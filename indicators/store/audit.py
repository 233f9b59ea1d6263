"""The audit log: one row per change a person made (who, when, what, before and after).

Append-only by construction: the write paths (``observations.apply_load``, ``results.save_settings``,
``episodes.set_episode_status``, ``events.*``, ``deletion.delete``, ``backup.restore``,
``digests.record_sent``, ``digests.save_recipients``) insert a row in the same atomic
write as the change itself, and no function anywhere updates or deletes one (a test reads the
source to keep it so). A restore carries over the rows logged after the backup was taken. Scans
and re-levelling are not in it: the ``runs`` table is their log, and their results derive from
audited inputs; but an acknowledged episode they reopen (it worsened) is logged, by ``system``.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pandas as pd

from indicators.store import Store

COLUMNS = ("id", "logged_at", "who", "action", "target", "before", "after", "reason")
# A spreadsheet runs a cell starting with one of these as a formula: the export quotes such cells
# with a leading apostrophe (OWASP "CSV injection"); the database keeps the text verbatim.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def append(
    con,
    now: datetime,
    who: str,
    action: str,
    target: str | None = None,
    before: str | None = None,
    after: str | None = None,
    reason: str | None = None,
) -> None:
    """Add one row inside a write (``con`` is the writer's connection)."""
    con.execute(
        "INSERT INTO audit VALUES (nextval('audit_ids'), $now, $who, $action, $target, $before, $after, $reason)",
        {
            "now": now,
            "who": who,
            "action": action,
            "target": target,
            "before": before,
            "after": after,
            "reason": reason,
        },
    )


def read_audit(
    store: Store, *, action: str | None = None, who: str | None = None, limit: int | None = None
) -> pd.DataFrame:
    """The log, oldest first (the last ``limit`` rows when given), optionally one action or person."""
    with store.read() as cur:
        frame = cur.execute(
            "SELECT * FROM (SELECT id, logged_at, who, action, target, before, after, reason FROM audit "
            "WHERE ($action IS NULL OR action = $action) AND ($who IS NULL OR who = $who) "
            "ORDER BY id DESC LIMIT coalesce($limit, 9223372036854775807)) ORDER BY id",
            {"action": action, "who": who, "limit": limit},
        ).df()
    return frame


def _cell(value) -> object:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_audit(store: Store, path: str | Path) -> int:
    """Write the whole log to a UTF-8 CSV (with BOM, for Excel); returns the number of rows."""
    frame = read_audit(store)
    with open(path, "w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for row in frame.itertuples(index=False):
            writer.writerow([_cell(v) for v in row])
    return len(frame)

