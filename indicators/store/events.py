"""Event annotations (policy changes, border closures): list, add, update, soft delete.

Labels are stored verbatim (no trimming or escaping: the UI escapes on display). Events live in the
journal (``journal.py``, schema v8): every change is one journal write with its audit row (who did
it, the row before and after).
"""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from indicators.catalogue import valid_geo
from indicators.store import Store, StoreError, journal

UNCHANGED = object()  # update_event: leave this field as it is
_COLUMNS = "id, date, label, indicator, geo, created_by, created_at, updated_at, deleted"


def _date(value) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise StoreError(f"event date: found {str(value)!r}; expected a date YYYY-MM-DD") from None


def _check(label: str | None, geo: str | None) -> None:
    if label is not None and not str(label).strip():
        raise StoreError("event label: found an empty label; expected some text")
    if geo is not None and not valid_geo(geo):
        raise StoreError(f"event geo: found {geo!r}; expected a geo code such as DE or EU27_2020")


def _row(j, event_id: int) -> dict | None:
    rows = j.execute(f"SELECT {_COLUMNS} FROM events WHERE id = ?", (int(event_id),)).fetchall()  # noqa: S608
    if not rows:
        return None
    row = dict(zip([c.strip() for c in _COLUMNS.split(",")], rows[0], strict=True))
    row["deleted"] = bool(row["deleted"])
    return row


def _json(row: dict | None) -> str | None:
    return None if row is None else json.dumps(row, default=str, ensure_ascii=False, sort_keys=True)


def _audit(j, now, who: str, action: str, event_id: int, before: dict | None, after: dict | None) -> None:
    journal.append_audit(j, now, who, action, f"event {event_id}", _json(before), _json(after))


def list_events(
    store: Store, *, include_deleted: bool = False, indicator: str | None = None, geo: str | None = None
) -> pd.DataFrame:
    """Events by date; those tied to an indicator or geo are included only for that indicator or geo."""
    return store.journal.frame(
        f"SELECT {_COLUMNS} FROM events WHERE (:all OR NOT deleted) "  # noqa: S608
        "AND (:i IS NULL OR indicator IS NULL OR indicator = :i) AND (:g IS NULL OR geo IS NULL OR geo = :g) "
        "ORDER BY date, id",
        {"all": int(include_deleted), "i": indicator, "g": geo},
    )


def add_event(
    store: Store, date, label: str, who: str, indicator: str | None = None, geo: str | None = None
) -> int:
    """Add an event; returns its id."""
    day = _date(date)
    _check(label, geo)
    store.ensure_schema()
    now = store.clock()
    with store.journal.write() as j:
        event_id = j.execute(
            "INSERT INTO events (date, label, indicator, geo, created_by, created_at, updated_at, deleted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 0) RETURNING id",
            (day.isoformat(), label, indicator, geo, who, journal.sql_value(now), journal.sql_value(now)),
        ).fetchone()[0]
        _audit(j, now, who, "event.add", event_id, None, _row(j, event_id))
    return int(event_id)


def update_event(
    store: Store,
    event_id: int,
    who: str,
    *,
    date=UNCHANGED,
    label=UNCHANGED,
    indicator=UNCHANGED,
    geo=UNCHANGED,
) -> None:
    """Change some fields of an event (None clears indicator or geo)."""
    changes: dict[str, object] = {}
    if date is not UNCHANGED:
        changes["date"] = _date(date).isoformat()
    if label is not UNCHANGED:
        _check(label, None)
        changes["label"] = label
    if indicator is not UNCHANGED:
        changes["indicator"] = indicator
    if geo is not UNCHANGED:
        _check(None, geo)
        changes["geo"] = geo
    now = store.clock()
    with store.journal.write() as j:
        before = _row(j, event_id)
        if before is None or before["deleted"]:
            raise StoreError(f"no event with id {event_id}")
        for column, value in changes.items():  # column names come from the fixed set above
            j.execute(f"UPDATE events SET {column} = ?, updated_at = ? WHERE id = ?",  # noqa: S608
                      (value, journal.sql_value(now), int(event_id)))
        _audit(j, now, who, "event.update", event_id, before, _row(j, event_id))


def delete_event(store: Store, event_id: int, who: str) -> None:
    """Mark an event deleted (it stays in the table and the audit trail)."""
    now = store.clock()
    with store.journal.write() as j:
        before = _row(j, event_id)
        if before is None or before["deleted"]:
            raise StoreError(f"no event with id {event_id}")
        j.execute("UPDATE events SET deleted = 1, updated_at = ? WHERE id = ?", (journal.sql_value(now), int(event_id)))
        _audit(j, now, who, "event.delete", event_id, before, _row(j, event_id))
