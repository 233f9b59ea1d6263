"""Scan results: runs, per-period stored parameters (scores), current levels (results) with the alert
episodes they make (``episodes``) and the settings they were levelled at, the threshold settings log
(in the journal), and the per-period alert log of before
schema v6 (``alerts``, ``alert_actions``: read-only history)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime

import pandas as pd

from indicators.store import Store, StoreError, journal
from indicators.store.episodes import _columns, _reviews, _write_episodes, apply_review_changes
from indicators.store.schema import DERIVED, LEVELLED

RESULT_COLUMNS = ("indicator", "geo", "period", "period_start", "observed", "expected", "lower", "upper",
                  "score", "p_value", "level", "channels", "provisional", "change_yoy", "change_ref",
                  "last_year", "reason", "tested_periods", "tested_observed", "tested_expected", "tested_bound",
                  "shift_start", "change_adjusted", "criterion", "criterion_since", "criterion_crossed")
ALARM_LEVELS = ("watch", "alert")
# The episodes of new levels: ``monitoring.statistics.reconciliation.reconciler(levels, ...)``, called inside the write.
Episodes = Callable | None


def _table_columns(con, table: str) -> list[str]:
    return [name for name, _ in _columns(con, table)]


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


_KEY = ["indicator", "geo", "period"]


def _insert_frame(con, table: str, frame: pd.DataFrame) -> None:
    if table in DERIVED:  # no primary key on these (schema v9): the writer keeps them unique
        repeated = frame[frame.duplicated(_KEY, keep=False)]
        if len(repeated):
            first = repeated.iloc[0]
            raise StoreError(f"cannot write {table}: {len(repeated)} rows repeat a key, such as "
                             f"{first['indicator']}/{first['geo']}/{first['period']}; nothing was written")
    columns = [c for c in _table_columns(con, table) if c in frame.columns]
    con.register("incoming", frame[columns])
    try:
        names = ", ".join(f'"{c}"' for c in columns)  # column names from the schema, not from input
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM incoming")  # noqa: S608
    finally:
        con.unregister("incoming")


def write_scan(store: Store, *, scores: pd.DataFrame | None, refitted: Iterable[tuple[str, str]],
               states: list[tuple[str, str, str, str, str]], levels: pd.DataFrame, settings_json: str,
               who: str, started: datetime, series_total: int, impact: pd.DataFrame | None = None,
               episodes: Episodes = None) -> int:
    """Publish one scan atomically: the run, new scores and impact of refitted series, series state,
    levels and their episodes (the run records its open episodes, and its alarming series-periods)."""
    refitted = list(refitted)
    with store.write(data=False, results=True) as con:
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
        for table in ("scores", "impact"):  # the new rows next to those kept: still one per key
            extra = con.execute(f"SELECT count(*) - count(DISTINCT (indicator, geo, period)) FROM {table}"  # noqa: S608
                                ).fetchall()[0][0]
            if extra:
                raise StoreError(f"cannot write {table}: {extra} rows would repeat a key already stored; "
                                 "nothing was written")
        state = pd.DataFrame(states, columns=["indicator", "geo", "fingerprint", "fit_hash", "note"])
        state["run_id"] = run_id
        con.execute("DELETE FROM series_state")
        _insert_frame(con, "series_state", state)
        opened, changes = _write_levels(con, store, levels, run_id, store.clock(), episodes, settings_json)
        alarms = levels["level"].value_counts() if len(levels) else pd.Series(dtype=int)
        con.execute(
            "INSERT INTO runs (id, started_at, finished_at, who, settings, data_vintage, series_total, "
            "series_refitted, periods_scored, alerts, watches, open_alert_episodes, open_watch_episodes) "
            "VALUES ($id, $started, $finished, $who, $settings, $vintage, $total, $refitted, $periods, $alerts, "
            "$watches, $open_alert, $open_watch)",
            {"id": run_id, "started": started, "finished": store.clock(), "who": who, "settings": settings_json,
             "vintage": vintage, "total": series_total, "refitted": len(refitted),
             "periods": 0 if scores is None else len(scores), "alerts": int(alarms.get("alert", 0)),
             "watches": int(alarms.get("watch", 0)), "open_alert": None if opened is None else opened[0],
             "open_watch": None if opened is None else opened[1]})
    apply_review_changes(store, changes, store.clock())
    return run_id


def read_impact(store: Store, indicator: str, geo: str) -> pd.DataFrame:
    """The stored visa-free impact of one series (empty when it has none)."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * EXCLUDE (run_id) FROM impact WHERE indicator = $i AND geo = $g ORDER BY period_start",
            {"i": indicator, "g": geo}).df()


_SCORES_TOKEN = "SELECT (SELECT coalesce(max(id), 0) FROM runs) || ':' || (SELECT count(*) FROM scores)"


def scores_token(store: Store) -> str:
    """What the stored parameters are at: changed by every scan and every deletion."""
    with store.read() as cur:
        return cur.execute(_SCORES_TOKEN).fetchall()[0][0]


def write_levels(store: Store, levels: pd.DataFrame, *, levelled: str, run_id: int | None = None,
                 episodes: Episodes = None, unless_current: str | None = None,
                 scores_token: str | None = None) -> bool:
    """Replace the current levels (after a threshold change), levelled at the settings JSON ``levelled``,
    and, given, reconcile their episodes; returns whether it wrote. Nothing is written when the stored
    levels are already at the settings ``unless_current`` (another process re-levelled first), or when
    the stored parameters are no longer at ``scores_token`` (a scan or deletion replaced them after the
    levels were computed from them)."""
    try:
        with store.write(data=False, results=True) as con:
            if unless_current is not None:
                rows = con.execute("SELECT value FROM results_meta WHERE key = $k", {"k": LEVELLED}).fetchall()
                if rows and rows[0][0] == unless_current:
                    raise _Unchanged
            if scores_token is not None and con.execute(_SCORES_TOKEN).fetchall()[0][0] != scores_token:
                raise _Unchanged
            _, changes = _write_levels(con, store, levels, run_id, store.clock(), episodes, levelled)
    except _Unchanged:  # the private copy is discarded: the database file stays as it was
        return False
    apply_review_changes(store, changes, store.clock())
    return True


class _Unchanged(Exception):
    """Raised inside a write to leave the database as it was."""


def _write_levels(con, store: Store, levels: pd.DataFrame, run_id: int | None, now: datetime,
                  episodes: Episodes, levelled: str) -> tuple[tuple[int, int] | None, list]:
    """Replace the results, levelled at the settings JSON ``levelled``; with ``episodes`` (a reconciler),
    reconcile and write the episodes in the same write and return the open ones (alert, watch) and the
    review changes to apply once published. Without, the episodes stay as they were."""
    con.execute("INSERT OR REPLACE INTO results_meta VALUES ($k, $v)", {"k": LEVELLED, "v": levelled})
    con.execute("DELETE FROM results")
    if len(levels):
        _insert_frame(con, "results", levels)
    if episodes is None:
        return None, []
    return _write_episodes(con, episodes, now, run_id, _reviews(store))


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
    """The per-period alert log kept before schema v6 (read-only history; episodes replace it)."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * FROM alerts WHERE $status IS NULL OR status = $status "
            "ORDER BY period_start DESC, indicator, geo", {"status": status}).df()


def alert_actions(store: Store, indicator: str | None = None, geo: str | None = None,
                  period: str | None = None) -> pd.DataFrame:
    """The per-period review history kept before schema v6 (read-only; see ``episodes.episode_actions``)."""
    with store.read() as cur:
        return cur.execute(
            "SELECT * FROM alert_actions WHERE ($i IS NULL OR indicator = $i) AND ($g IS NULL OR geo = $g) "
            "AND ($p IS NULL OR period = $p) ORDER BY id", {"i": indicator, "g": geo, "p": period}).df()


def latest_settings(store: Store) -> tuple[int, str] | None:
    """(id, settings JSON) of the last saved settings, or None."""
    with store.journal.read() as j:
        row = j.execute("SELECT id, settings FROM settings_log ORDER BY id DESC LIMIT 1").fetchone()
    return (int(row[0]), row[1]) if row else None


def save_settings(store: Store, settings_json: str, *, who: str, reason: str, reverts: int | None = None) -> int:
    """Append settings to the log, with their audit entry, in one journal write; returns the id.

    The levels they produce are not written here: :func:`write_levels` does, with ``levelled`` set to
    these settings (``monitoring.pipeline.levelling`` runs it behind the save)."""
    if not reason.strip():
        raise ValueError("a reason is required to save settings")
    store.ensure_schema()
    now = store.clock()
    with store.journal.write() as j:
        before = j.execute("SELECT settings FROM settings_log ORDER BY id DESC LIMIT 1").fetchone()
        new_id = j.execute("INSERT INTO settings_log (saved_at, who, settings, reason, reverts) VALUES (?, ?, ?, ?, ?) "
                           "RETURNING id", (journal.sql_value(now), who, settings_json, reason, reverts)).fetchone()[0]
        journal.append_audit(j, now, who, "settings", "thresholds", before[0] if before else None, settings_json,
                             reason)
    return int(new_id)


def settings_log(store: Store) -> pd.DataFrame:
    """Every saved settings version, newest first."""
    frame = store.journal.frame("SELECT id, saved_at, who, settings, reason, reverts FROM settings_log ORDER BY id DESC")
    return frame.astype({"id": "int64", "reverts": "Int64"})


def levelled_settings(store: Store) -> str | None:
    """The settings JSON the stored results were levelled at (by the last scan or re-levelling), or None
    before the first scan."""
    with store.read() as cur:
        rows = cur.execute("SELECT value FROM results_meta WHERE key = $k", {"k": LEVELLED}).fetchall()
    return rows[0][0] if rows else None
