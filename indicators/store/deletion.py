"""Deleting a series or a range of its periods: the old values kept as revisions, the deletion logged.

A deletion is a change of data like a load, and is recorded as one: a row in the load log (format
``deletion``, its ``file`` says what was deleted) whose id every removed value's revision points to
(``revisions.replaced_by_load``), so the history shows what was there, when it was loaded and when it
was removed, and the data vintage of the next scan moves on. In the same atomic write the scan's
stored frame, results and impact of the removed periods go, the series' fit state is forgotten (the
next scan refits what is left), and its episodes overlapping the range are withdrawn, so nothing keeps
showing an alarm for a value that is gone. A value loaded again later is simply new.

Only SQL on the stored text and dates: a row the monitor cannot parse (a year-0 period) is deletable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from indicators.store import Store, audit, episodes

DELETION = "deletion"  # the load log's format of a deletion
_MATCH = ("indicator = $i AND geo = $g AND ($since IS NULL OR period_start >= $since) "
          "AND ($until IS NULL OR period_start <= $until)")
_LISTED = 200  # values named in the audit row (every one is in revisions)


class _Vanished(Exception):
    """Raised inside the write when its values were deleted meanwhile (the write is discarded)."""


@dataclass(frozen=True)
class Deletion:
    """What a deletion removes (``count`` 0: nothing matched) or removed (``deletion_id`` set)."""

    indicator: str
    geo: str
    count: int
    first_period: str | None = None
    last_period: str | None = None
    whole_series: bool = False  # no value of the series is left
    deletion_id: int | None = None
    episodes_withdrawn: int = 0

    @property
    def what(self) -> str:
        """``asylum_applications DE 2020-01..2020-06`` (one period alone when first is last)."""
        span = self.first_period if self.first_period == self.last_period else \
            f"{self.first_period}..{self.last_period}"
        return f"{self.indicator} {self.geo} {span}"


def _params(indicator: str, geo: str, since: date | None, until: date | None) -> dict:
    return {"i": indicator, "g": geo, "since": since, "until": until}


def _plan(con, params: dict) -> Deletion:
    count, first, last, left = con.execute(
        f"SELECT count(*) FILTER ({_MATCH}), arg_min(period, period_start) FILTER ({_MATCH}), "  # noqa: S608
        f"arg_max(period, period_start) FILTER ({_MATCH}), count(*) FILTER (NOT ({_MATCH})) "
        "FROM observations WHERE indicator = $i AND geo = $g", params).fetchall()[0]
    return Deletion(params["i"], params["g"], int(count), first, last, whole_series=count > 0 and left == 0)


def preview(store: Store, indicator: str, geo: str, *, since: date | None = None,
            until: date | None = None) -> Deletion:
    """What ``delete`` would remove (periods starting from ``since`` to ``until``, inclusive; None: no bound)."""
    if not store.path.exists():
        return Deletion(indicator, geo, 0)
    with store.read() as cur:
        return _plan(cur, _params(indicator, geo, since, until))


def _listing(con, params: dict) -> str:
    rows = con.execute(
        f"SELECT period, value FROM observations WHERE {_MATCH} ORDER BY period_start, period "  # noqa: S608
        f"LIMIT {_LISTED + 1}", params).fetchall()
    text = "; ".join(f"{p}={'' if v is None else f'{v:g}'}" for p, v in rows[:_LISTED])
    return text + ("; …" if len(rows) > _LISTED else "")


def _withdraw_episodes(con, params: dict) -> list[int]:
    """Withdraw the series' episodes overlapping the range (all of them when the series is gone)."""
    ids = [r[0] for r in con.execute(
        "SELECT id FROM episodes WHERE indicator = $i AND geo = $g AND state <> 'withdrawn' "
        "AND ($since IS NULL OR last_date >= $since) AND ($until IS NULL OR start_date <= $until)",
        params).fetchall()]
    for episode_id in ids:
        con.execute("UPDATE episodes SET state = 'withdrawn', current_level = 'normal' WHERE id = $id",
                    {"id": episode_id})
    return ids


def delete(store: Store, indicator: str, geo: str, *, who: str, since: date | None = None,
           until: date | None = None, reason: str | None = None) -> Deletion:
    """Delete the series' values whose period starts from ``since`` to ``until`` (None: no bound), in one
    atomic write; ``count`` 0 and nothing written when none match."""
    params = _params(indicator, geo, since, until)
    if preview(store, indicator, geo, since=since, until=until).count == 0:
        return Deletion(indicator, geo, 0)
    now = store.clock()
    try:
        with store.write(results=True) as con:
            done, withdrawn = _delete(con, store, params, now, who, reason)
    except _Vanished:  # deleted meanwhile: nothing published
        return Deletion(indicator, geo, 0)
    # The withdrawn episodes' history says why (the journal; the audit row above already does).
    episodes.record_actions(store, withdrawn, "data_deleted", who, now, f"deleted {done.what}")
    return done


def _delete(con, store: Store, params: dict, now, who: str, reason: str | None) -> tuple[Deletion, list[int]]:
    """Inside the write: the load-log row, revisions, removals, withdrawn episodes and the audit row."""
    plan = _plan(con, params)
    if plan.count == 0:
        raise _Vanished
    deletion_id = con.execute("SELECT nextval('load_ids')").fetchall()[0][0]
    what = f"deleted {plan.what}"
    con.execute("INSERT INTO loads (id, file, sha256, format, loaded_at, loaded_by, synthetic, rows_new, "
                "rows_revised, rows_unchanged) VALUES ($id, $what, '', $format, $now, $who, false, 0, $n, 0)",
                {"id": deletion_id, "what": what, "format": DELETION, "now": now, "who": who, "n": plan.count})
    listing = _listing(con, params)
    con.execute(
        "INSERT INTO revisions SELECT indicator, geo, period, value, flag, load_id, loaded_at, source_file, "  # noqa: S608
        f"$id, $now FROM observations WHERE {_MATCH}", {**params, "id": deletion_id, "now": now})
    for table in ("observations", "scores", "results", "impact"):
        con.execute(f"DELETE FROM {table} WHERE {_MATCH}", params)  # noqa: S608 (constant names)
    con.execute("DELETE FROM series_state WHERE indicator = $i AND geo = $g", {"i": params["i"], "g": params["g"]})
    ids = _withdraw_episodes(con, params)
    withdrawn = len(ids)
    audit.append(con, store, now, who, "delete", plan.what, before=f"{plan.count} values: {listing}",
                 after=f"deleted (deletion {deletion_id}; old values kept as revisions)"
                 + (f"; {withdrawn} episode{'s' if withdrawn != 1 else ''} withdrawn" if withdrawn else ""),
                 reason=reason or None)
    return Deletion(plan.indicator, plan.geo, plan.count, plan.first_period, plan.last_period, plan.whole_series,
                    deletion_id, withdrawn), ids
