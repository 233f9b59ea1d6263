"""The audit log: one row per change a person made (who, when, what, before and after).

Append-only by construction: the write paths insert a row in the same atomic write as the change
itself, and no function anywhere updates or deletes one (a test reads the source to keep it so).
The log is kept in two places and read as one: writes of the database file (``observations.apply_load``,
``deletion.delete``, ``backup.restore``) log in its ``audit`` table; the small writes kept in the
journal (``episodes.set_episode_status``, ``events.*``, ``digests.*``, ``results.save_settings``) log
in the journal's (``indicators/store/journal.py``). Ids come from one counter, in the journal, so
the merged log is ordered by id and no id appears twice. A restore carries over the rows logged
after the backup was taken. Scans and re-levelling are not in it: the ``runs`` table is their log,
and their results derive from audited inputs; but an acknowledged episode they reopen (it worsened)
is logged, by ``system``.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

import pandas as pd

from indicators.store import Store, journal

COLUMNS = ("id", "logged_at", "who", "action", "target", "before", "after", "reason")
_NAMES = ", ".join(COLUMNS)
# A spreadsheet runs a cell starting with one of these as a formula: the export quotes such cells
# with a leading apostrophe (OWASP "CSV injection"); the database keeps the text verbatim.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def append(
    con,
    store: Store,
    now: datetime,
    who: str,
    action: str,
    target: str | None = None,
    before: str | None = None,
    after: str | None = None,
    reason: str | None = None,
) -> None:
    """Add one row inside a write of the database file (``con`` is the writer's connection); its id is
    handed out by the journal."""
    con.execute(
        "INSERT INTO audit VALUES ($id, $now, $who, $action, $target, $before, $after, $reason)",
        {
            "id": journal.reserve_audit_id(store.journal),
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
    """The log, oldest first (the last ``limit`` rows when given), optionally one action or person:
    the database file's rows and the journal's, merged by id."""
    params = {"action": action, "who": who, "limit": limit}
    with store.read() as cur:
        own = cur.execute(
            f"SELECT {_NAMES} FROM audit WHERE ($action IS NULL OR action = $action) "  # noqa: S608
            "AND ($who IS NULL OR who = $who) ORDER BY id DESC LIMIT coalesce($limit, 9223372036854775807)",
            params).df()
    kept = store.journal.frame(
        f"SELECT {_NAMES} FROM audit WHERE (:action IS NULL OR action = :action) "  # noqa: S608
        "AND (:who IS NULL OR who = :who) ORDER BY id DESC LIMIT coalesce(:limit, -1)", params)
    frame = pd.concat([f for f in (own, kept) if len(f)] or [own], ignore_index=True)
    frame = frame.astype({"id": "int64", "logged_at": "datetime64[us]"})
    for column in COLUMNS[2:]:  # text, a missing value as None (whichever log the rows came from)
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    frame = frame.sort_values("id", kind="stable")
    if limit is not None:
        frame = frame.tail(limit)
    return frame.reset_index(drop=True)


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

