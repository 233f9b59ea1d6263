"""Alert episodes (schema v6): the episodes table, its review history, and the conversion of the
per-period alert log kept before v6.

The monitoring layer computes episodes and reconciles them with the stored ones
(``monitoring/statistics/episodes.py``); the store publishes the result in the same atomic write as the levels
(``results._write_levels`` calls :func:`_write_episodes` with that reconciliation, run inside the
write, so a review made while a scan ran is never overwritten). People review an episode with
:func:`set_episode_status` (history and audit). The tables ``alerts`` and ``alert_actions`` of
before v6 are kept as read-only history.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import pandas as pd

from indicators.periods import to_period, to_text
from indicators.store import Store, audit

STATUSES = ("open", "acknowledged", "dismissed")
_RANK = {"no_data": 0, "normal": 0, "watch": 1, "alert": 2}
# The migration groups the old alert log with the shipped default of ``[episodes] resolve_after``;
# the first scan after it regroups at the saved settings (matching keeps ids and reviews).
MIGRATION_RESOLVE_AFTER = 2


def _columns(con, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "
        "AND table_catalog = current_database() ORDER BY ordinal_position", {"t": table}).fetchall()]


def read_episodes(store: Store, *, status: str | None = None, indicator: str | None = None) -> pd.DataFrame:
    """Every episode ever raised (open, resolved and withdrawn), latest start first."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * FROM episodes WHERE ($s IS NULL OR status = $s) AND ($i IS NULL OR indicator = $i) "
            "ORDER BY start_date DESC, indicator, geo, id", {"s": status, "i": indicator}).df()


def episode_actions(store: Store, episode_id: int | None = None) -> pd.DataFrame:
    """Acknowledgements, dismissals and reopenings (by people and, on worsening, by the system)."""
    with store.read() as cur:
        return cur.execute("SELECT * FROM episode_actions WHERE $e IS NULL OR episode_id = $e ORDER BY id",
                           {"e": episode_id}).df()


def _write_episodes(con, reconcile: Callable, now: datetime, run_id: int | None) -> tuple[int, int]:
    """Inside a write: reconcile the stored episodes (``reconcile(stored, now, run_id)`` returns a
    ``monitoring.statistics.reconciliation.Reconciled``), update and insert them, record reopenings; returns the
    open episodes (alert, watch)."""
    stored = con.execute("SELECT * FROM episodes ORDER BY id").df()
    out = reconcile(stored, now, run_id)
    frame = out.episodes
    if len(frame):
        types = dict(_columns(con, "episodes"))
        cols = [c for c in types if c in frame.columns and c != "id"]
        frame = frame.assign(id=pd.array(frame["id"], dtype="Int64"))
        # Column names come from the schema; values are cast to the table's types.
        cast = ", ".join(f'CAST(incoming."{c}" AS {types[c]}) AS "{c}"' for c in cols)
        names = ", ".join(f'"{c}"' for c in cols)
        known = frame[frame["id"].notna()][["id", *cols]]
        if len(known):
            con.register("incoming", known)
            try:
                sets = ", ".join(f'"{c}" = src."{c}"' for c in cols)
                con.execute(f"UPDATE episodes SET {sets} FROM (SELECT incoming.id, {cast} FROM incoming) src "  # noqa: S608
                            "WHERE episodes.id = src.id")
            finally:
                con.unregister("incoming")
        new = frame[frame["id"].isna()].sort_values(["start_date", "indicator", "geo"], kind="stable")[cols]
        if len(new):
            con.register("incoming", new)
            try:
                con.execute(f"INSERT INTO episodes (id, {names}) SELECT nextval('episode_ids'), * FROM "  # noqa: S608
                            f"(SELECT {cast} FROM incoming)")
            finally:
                con.unregister("incoming")
    for episode_id, reason in out.reopened:
        row = con.execute("SELECT indicator, geo, start_period FROM episodes WHERE id = $id",
                          {"id": episode_id}).fetchall()[0]
        con.execute("INSERT INTO episode_actions VALUES (nextval('episode_action_ids'), $id, 'reopened', 'system', "
                    "$now, NULL, NULL, NULL)", {"id": episode_id, "now": now})
        audit.append(con, now, "system", "episode_status", _target(episode_id, *row), "acknowledged", "open",
                     reason)
    counts = con.execute("SELECT count(*) FILTER (peak_level = 'alert'), count(*) FILTER (peak_level = 'watch') "
                         "FROM episodes WHERE state = 'open'").fetchall()[0]
    return int(counts[0]), int(counts[1])


def _target(episode_id: int, indicator: str, geo: str, start: str) -> str:
    return f"episode {episode_id}: {indicator}/{geo} from {start}"


def set_episode_status(store: Store, episode_id: int, *, status: str, who: str, comment: str = "",
                       expires: date | None = None) -> None:
    """Acknowledge, dismiss or reopen an episode; kept in its history and in the audit log. An
    acknowledgement remembers the episode's peak then (a worse one later reopens it)."""
    if status not in STATUSES:
        raise ValueError(f"unknown episode status {status!r}; expected one of {', '.join(STATUSES)}")
    now = store.clock()
    with store.write() as con:
        before = con.execute("SELECT status, indicator, geo, start_period FROM episodes WHERE id = $id",
                             {"id": int(episode_id)}).fetchall()
        if not before:
            raise KeyError(f"no episode {episode_id}")
        con.execute(
            "UPDATE episodes SET status = $s, status_by = $who, status_at = $now, comment = $c, expires = $e, "
            "ack_level = CASE WHEN $s = 'acknowledged' THEN peak_level ELSE ack_level END, "
            "ack_score = CASE WHEN $s = 'acknowledged' THEN peak_score ELSE ack_score END WHERE id = $id",
            {"s": status, "who": who, "now": now, "c": comment, "e": expires, "id": int(episode_id)})
        con.execute("INSERT INTO episode_actions VALUES (nextval('episode_action_ids'), $id, $a, $who, $now, $c, "
                    "$e, NULL)", {"id": int(episode_id), "a": status, "who": who, "now": now, "c": comment,
                                  "e": expires})
        audit.append(con, now, who, "episode_status", _target(int(episode_id), *before[0][1:]), before[0][0],
                     status, comment)


# --- the v6 migration: the per-period alert log into episodes --------------------------------------


def _missing(value) -> bool:
    return value is None or value is pd.NaT or (isinstance(value, float) and np.isnan(value))


def _plain(value):
    if _missing(value):
        return None
    return value.item() if isinstance(value, np.generic) else value


def _score(alert: dict, result: dict | None) -> float | None:
    if result is not None and not _missing(result.get("score")):
        return float(result["score"])
    obs, exp, up = alert.get("first_observed"), alert.get("first_expected"), alert.get("first_upper")
    if any(_missing(v) for v in (obs, exp, up)) or up == exp:
        return None
    return (obs - exp) / (up - exp)


def convert_alert_log(con) -> int:
    """Group each series' stored alerts into episodes by the episode rule, keeping every alert's
    comment and every action (attached to its episode, with the period it was taken on); an
    episode's status is its latest action's (the log's own times are kept). Returns the number
    of episodes made.

    The rule, in plain Python because the store cannot import the monitoring layer: an alert
    period (at the higher of its first and current level) opens or carries an episode;
    ``MIGRATION_RESOLVE_AFTER`` normal periods after its last alarming one resolve it. Periods
    between come from the current results (``no_data`` neither counts nor ends); periods the
    results do not have count as normal.
    """
    alerts = con.execute("SELECT * FROM alerts ORDER BY indicator, geo, period_start, period").df()
    if alerts.empty:
        return 0
    actions = con.execute("SELECT * FROM alert_actions ORDER BY acted_at, id").df()
    results = con.execute("SELECT * FROM results").df()
    res_by_series: dict[tuple[str, str], dict[str, dict]] = {}
    for r in results.to_dict("records"):
        res_by_series.setdefault((r["indicator"], r["geo"]), {})[r["period"]] = r
    acts_by_key: dict[tuple[str, str, str], list[dict]] = {}
    for a in actions.to_dict("records"):
        acts_by_key.setdefault((a["indicator"], a["geo"], a["period"]), []).append(a)
    made = 0
    for (indicator, geo), rows in alerts.groupby(["indicator", "geo"], sort=True):
        for group in _group(rows.to_dict("records"), res_by_series.get((indicator, geo), {})):
            _insert_converted(con, indicator, geo, group, acts_by_key)
            made += 1
    return made


def _group(alerts: list[dict], results: dict[str, dict]) -> list[dict]:
    """The episodes of one series: dicts with the alerts, period range, resolution and current level."""
    by_period = {a["period"]: a for a in alerts}
    level_of = {a["period"]: max(a["first_level"], a["level"], key=lambda v: _RANK.get(v, 0)) for a in alerts}
    known = {p: r["level"] for p, r in results.items()}
    known.update(level_of)
    freq = to_period(next(iter(known))).freq
    ordinals = [to_period(p).ordinal for p in known]
    sequence = [to_text(pd.Period(ordinal=o, freq=freq)) for o in range(min(ordinals), max(ordinals) + 1)]
    episodes: list[dict] = []
    current: dict | None = None
    normal_run = 0
    for n, p in enumerate(sequence):
        level = known.get(p, "normal")  # a period the results do not have counts as normal
        if p in level_of:
            if current is None:
                current = {"alerts": [], "start": p, "start_at": n, "resolved": None}
            current["alerts"].append(by_period[p])
            current["last"], current["last_at"] = p, n
            normal_run = 0
        elif level == "normal" and current is not None:
            normal_run += 1
            if normal_run >= MIGRATION_RESOLVE_AFTER:
                current["resolved"] = p
                episodes.append(current)
                current, normal_run = None, 0
    if current is not None:
        episodes.append(current)
    latest = known.get(sequence[-1], "normal")
    for e in episodes:
        e["levels"], e["results"] = level_of, results
        e["periods"] = e["last_at"] - e["start_at"] + 1
        e["current_level"] = "normal" if e["resolved"] else latest
    return episodes


def _insert_converted(con, indicator: str, geo: str, e: dict, acts_by_key: dict) -> None:
    alerts, results, level_of = e["alerts"], e["results"], e["levels"]
    first = alerts[0]
    peak = max(alerts, key=lambda a: (_RANK[level_of[a["period"]]],
                                      s if (s := _score(a, results.get(a["period"]))) is not None else -np.inf))
    peak_result = results.get(peak["period"])
    shifts = sorted(str(r["shift_start"]) for p, r in results.items()
                    if e["start"] <= p <= e["last"] and not _missing(r.get("shift_start")) and r.get("shift_start")
                    and "cusum" in str(r.get("channels") or ""))
    acts = sorted((a for al in alerts for a in acts_by_key.get((indicator, geo, al["period"]), [])),
                  key=lambda a: (pd.Timestamp(a["acted_at"]), a["id"]))
    if acts:
        last = acts[-1]
        review = {"status": last["action"], "status_by": last["who"], "status_at": last["acted_at"],
                  "comment": last["comment"], "expires": last["expires"]}
    else:
        reviewed = [a for a in alerts if not _missing(a.get("status_at"))]
        latest = max(reviewed, key=lambda a: pd.Timestamp(a["status_at"])) if reviewed else None
        review = {"status": latest["status"] if latest else "open",
                  "status_by": latest["status_by"] if latest else None,
                  "status_at": latest["status_at"] if latest else None,
                  "comment": latest["comment"] if latest else None,
                  "expires": latest["expires"] if latest else None}
    if review["status"] not in STATUSES:
        review["status"] = "open"
    values = {
        "indicator": indicator, "geo": geo, "start_period": e["start"], "start_date": first["period_start"],
        "last_period": e["last"], "last_date": alerts[-1]["period_start"], "resolved_period": e["resolved"],
        "state": "resolved" if e["resolved"] else "open", "peak_level": level_of[peak["period"]],
        "peak_period": peak["period"], "peak_score": _score(peak, peak_result),
        "peak_observed": peak_result["observed"] if peak_result else peak["first_observed"],
        "peak_expected": peak_result["expected"] if peak_result else peak["first_expected"],
        "current_level": e["current_level"], "shift_start": shifts[0] if shifts else None,
        "periods": e["periods"], "first_seen": min(pd.Timestamp(a["first_seen"]) for a in alerts),
        "first_run": min((a["first_run"] for a in alerts if not _missing(a["first_run"])), default=None),
        "last_run": max((a["last_run"] for a in alerts if not _missing(a["last_run"])), default=None),
        **{k: first.get(k) for k in ("first_level", "first_observed", "first_expected", "first_upper",
                                     "first_lower", "first_channels", "first_last_year", "first_provisional",
                                     "first_reason")},
        **review,
    }
    values = {k: _plain(v) for k, v in values.items()}
    names = ", ".join(values)
    episode_id = con.execute(
        f"INSERT INTO episodes (id, {names}) VALUES (nextval('episode_ids'), "  # noqa: S608 (names are ours)
        + ", ".join(f"${k}" for k in values) + ") RETURNING id", values).fetchall()[0][0]
    for a in acts:
        con.execute("INSERT INTO episode_actions VALUES (nextval('episode_action_ids'), $e, $a, $who, $at, $c, $x, $p)",
                    {"e": episode_id, "a": a["action"], "who": a["who"], "at": a["acted_at"],
                     "c": _plain(a["comment"]), "x": _plain(a["expires"]), "p": a["period"]})
    # A comment kept on an alert without an action saying it (none are made so): kept as a note.
    said = {(_plain(a["comment"]) or "") for a in acts}
    for al in alerts:
        comment = _plain(al.get("comment"))
        if comment and comment not in said:
            con.execute("INSERT INTO episode_actions VALUES (nextval('episode_action_ids'), $e, 'comment', $who, "
                        "$at, $c, $x, $p)", {"e": episode_id, "who": _plain(al.get("status_by")) or "system",
                                             "at": _plain(al.get("status_at")) or _plain(al["first_seen"]),
                                             "c": comment, "x": _plain(al.get("expires")), "p": al["period"]})
