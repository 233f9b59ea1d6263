"""Scan results: runs, per-period stored parameters (scores), current levels (results), alerts,
alert actions and the threshold settings log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd

from indicators.store import Store

RESULT_COLUMNS = ("indicator", "geo", "period", "period_start", "observed", "expected", "lower", "upper",
                  "score", "p_value", "level", "channels", "provisional", "change_yoy", "change_ref",
                  "last_year", "reason")
ALARM_LEVELS = ("watch", "alert")
ALERT_STATUSES = ("open", "acknowledged", "dismissed")


def _table_columns(con, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = $t "
        "AND table_catalog = current_database() ORDER BY ordinal_position", {"t": table}).fetchall()
    return [r[0] for r in rows]


def series_state(store: Store) -> dict[tuple[str, str], tuple[str, str]]:
    """(indicator, geo) -> (data fingerprint, fit-settings hash) of the last scoring of each series."""
    with store.read() as cur:
        rows = cur.execute("SELECT indicator, geo, fingerprint, fit_hash FROM series_state").fetchall()
    return {(i, g): (f, h) for i, g, f, h in rows}


def read_scores(store: Store, since: date | None = None) -> pd.DataFrame:
    """The stored frame of every series (rows of a series contiguous, in period order)."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * EXCLUDE (run_id) FROM scores WHERE period_start >= coalesce($since, DATE '0001-01-01') "
            "ORDER BY indicator, geo, period_start", {"since": since}).df()


def _insert_frame(con, table: str, frame: pd.DataFrame) -> None:
    columns = [c for c in _table_columns(con, table) if c in frame.columns]
    con.register("incoming", frame[columns])
    try:
        names = ", ".join(f'"{c}"' for c in columns)  # column names from the schema, not from input
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming")  # noqa: S608
    finally:
        con.unregister("incoming")


def write_scan(store: Store, *, scores: pd.DataFrame | None, refitted: Iterable[tuple[str, str]],
               states: list[tuple[str, str, str, str, str]], levels: pd.DataFrame, settings_json: str,
               who: str, started: datetime, series_total: int, impact: pd.DataFrame | None = None) -> int:
    """Publish one scan atomically: the run, new scores and impact of refitted series, series state,
    levels, alerts."""
    refitted = list(refitted)
    with store.write() as con:
        run_id = con.execute("SELECT nextval('run_ids')").fetchall()[0][0]
        vintage = con.execute("SELECT max(id) FROM loads").fetchall()[0][0]
        if refitted:
            keys = pd.DataFrame(refitted, columns=["indicator", "geo"])
            con.register("refitted", keys)
            con.execute("DELETE FROM scores WHERE (indicator, geo) IN (SELECT indicator, geo FROM refitted)")
            con.execute("DELETE FROM impact WHERE (indicator, geo) IN (SELECT indicator, geo FROM refitted)")
            con.unregister("refitted")
        if scores is not None and len(scores):
            _insert_frame(con, "scores", scores.assign(run_id=run_id))
        if impact is not None and len(impact):
            _insert_frame(con, "impact", impact.assign(run_id=run_id))
        state = pd.DataFrame(states, columns=["indicator", "geo", "fingerprint", "fit_hash", "note"])
        state["run_id"] = run_id
        con.execute("DELETE FROM series_state")
        _insert_frame(con, "series_state", state)
        _write_levels(con, levels, run_id, store.clock())
        alarms = levels["level"].value_counts() if len(levels) else pd.Series(dtype=int)
        con.execute(
            "INSERT INTO runs VALUES ($id, $started, $finished, $who, $settings, $vintage, $total, $refitted, "
            "$periods, $alerts, $watches)",
            {"id": run_id, "started": started, "finished": store.clock(), "who": who, "settings": settings_json,
             "vintage": vintage, "total": series_total, "refitted": len(refitted),
             "periods": 0 if scores is None else len(scores), "alerts": int(alarms.get("alert", 0)),
             "watches": int(alarms.get("watch", 0))})
    return run_id


def read_impact(store: Store, indicator: str, geo: str) -> pd.DataFrame:
    """The stored visa-free impact of one series (empty when it has none)."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * EXCLUDE (run_id) FROM impact WHERE indicator = $i AND geo = $g ORDER BY period_start",
            {"i": indicator, "g": geo}).df()


def write_levels(store: Store, levels: pd.DataFrame, *, run_id: int | None) -> None:
    """Replace the current levels (after a threshold change) and record new alerts."""
    with store.write() as con:
        _write_levels(con, levels, run_id, store.clock())


def _write_levels(con, levels: pd.DataFrame, run_id: int | None, now: datetime) -> None:
    con.execute("DELETE FROM results")
    if not len(levels):
        return
    _insert_frame(con, "results", levels)
    alarms = levels[levels["level"].isin(ALARM_LEVELS)]
    con.register("alarms", alarms.assign(run_id=run_id, now=now))
    try:
        # Current level of every known alert (back to normal where no longer alarming).
        con.execute("""
            UPDATE alerts SET level = coalesce(r.level, 'normal'), last_run = $run
            FROM alerts a LEFT JOIN results r USING (indicator, geo, period)
            WHERE alerts.indicator = a.indicator AND alerts.geo = a.geo AND alerts.period = a.period""",
                    {"run": run_id})
        # New alerts keep how they were first seen.
        con.execute("""
            INSERT INTO alerts (indicator, geo, period, period_start, first_run, first_seen, first_level,
                first_observed, first_expected, first_upper, first_lower, first_reason, level, last_run,
                first_channels, first_last_year, first_provisional)
            SELECT indicator, geo, period, period_start, run_id, now, level, observed, expected, upper, lower,
                reason, level, run_id, channels, last_year, provisional
            FROM alarms WHERE (indicator, geo, period) NOT IN (SELECT indicator, geo, period FROM alerts)""")
    finally:
        con.unregister("alarms")


def read_results(store: Store, *, levels: tuple[str, ...] | None = None, since: date | None = None,
                 indicator: str | None = None, geo: str | None = None) -> pd.DataFrame:
    """Current levels per scored period, filtered."""
    with store.read() as cur:
        frame = cur.execute(
            "SELECT * FROM results WHERE period_start >= coalesce($since, DATE '0001-01-01') "
            "AND ($indicator IS NULL OR indicator = $indicator) AND ($geo IS NULL OR geo = $geo) "
            "ORDER BY indicator, geo, period_start",
            {"since": since, "indicator": indicator, "geo": geo}).df()
    if levels is not None:
        frame = frame[frame["level"].isin(levels)].reset_index(drop=True)
    return frame


def runs(store: Store, limit: int = 50) -> pd.DataFrame:
    """The latest scan runs, newest first."""
    with store.read() as cur:
        return cur.execute("SELECT * FROM runs ORDER BY id DESC LIMIT $n", {"n": limit}).df()


def alerts(store: Store, *, status: str | None = None) -> pd.DataFrame:
    """Every alert ever raised, with how it was first seen and its current level and status."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * FROM alerts WHERE $status IS NULL OR status = $status "
            "ORDER BY period_start DESC, indicator, geo", {"status": status}).df()


def alert_actions(store: Store, indicator: str | None = None, geo: str | None = None,
                  period: str | None = None) -> pd.DataFrame:
    """The history of acknowledgements, dismissals and reopenings."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * FROM alert_actions WHERE ($i IS NULL OR indicator = $i) AND ($g IS NULL OR geo = $g) "
            "AND ($p IS NULL OR period = $p) ORDER BY id", {"i": indicator, "g": geo, "p": period}).df()


def set_alert_status(store: Store, key: tuple[str, str, str], *, status: str, who: str, comment: str = "",
                     expires: date | None = None) -> None:
    """Acknowledge, dismiss or reopen an alert; the action is kept in the history and the audit log."""
    if status not in ALERT_STATUSES:
        raise ValueError(f"unknown alert status {status!r}; expected one of {', '.join(ALERT_STATUSES)}")
    indicator, geo, period = key
    now = store.clock()
    with store.write() as con:
        before = con.execute("SELECT status FROM alerts WHERE indicator = $i AND geo = $g AND period = $p",
                             {"i": indicator, "g": geo, "p": period}).fetchall()
        if not before:
            raise KeyError(f"no alert for {indicator} {geo} {period}")
        con.execute("UPDATE alerts SET status = $s, status_by = $who, status_at = $now, comment = $c, "
                    "expires = $e WHERE indicator = $i AND geo = $g AND period = $p",
                    {"s": status, "who": who, "now": now, "c": comment, "e": expires,
                     "i": indicator, "g": geo, "p": period})
        con.execute("INSERT INTO alert_actions VALUES (nextval('alert_action_ids'), $i, $g, $p, $a, $who, $now, "
                    "$c, $e)", {"i": indicator, "g": geo, "p": period, "a": status, "who": who, "now": now,
                                "c": comment, "e": expires})
        con.execute("INSERT INTO audit VALUES (nextval('audit_ids'), $now, $who, 'alert_status', $target, "
                    "$before, $after, $c)", {"now": now, "who": who, "target": f"{indicator}/{geo}/{period}",
                                             "before": before[0][0], "after": status, "c": comment})


def latest_settings(store: Store) -> tuple[int, str] | None:
    """(id, settings JSON) of the last saved settings, or None."""
    with store.read() as cur:
        rows = cur.execute("SELECT id, settings FROM settings_log ORDER BY id DESC LIMIT 1").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def save_settings(store: Store, settings_json: str, *, who: str, reason: str, reverts: int | None = None,
                  levels: pd.DataFrame | None = None) -> int:
    """Append settings to the log (with the audit entry) and, given, the levels they produce; returns the id."""
    if not reason.strip():
        raise ValueError("a reason is required to save settings")
    now = store.clock()
    with store.write() as con:
        before = con.execute("SELECT settings FROM settings_log ORDER BY id DESC LIMIT 1").fetchall()
        new_id = con.execute("SELECT nextval('settings_ids')").fetchall()[0][0]
        con.execute("INSERT INTO settings_log VALUES ($id, $now, $who, $s, $r, $rev)",
                    {"id": new_id, "now": now, "who": who, "s": settings_json, "r": reason, "rev": reverts})
        con.execute("INSERT INTO audit VALUES (nextval('audit_ids'), $now, $who, 'settings', 'thresholds', "
                    "$before, $after, $r)", {"now": now, "who": who, "before": before[0][0] if before else None,
                                             "after": settings_json, "r": reason})
        if levels is not None:
            _write_levels(con, levels, None, now)
    return new_id


def settings_log(store: Store) -> pd.DataFrame:
    """Every saved settings version, newest first."""
    with store.read() as cur:
        return cur.execute("SELECT * FROM settings_log ORDER BY id DESC").df()
