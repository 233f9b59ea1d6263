"""Alert episodes (schema v6): the episodes table, its review history, and the conversion of the
per-period alert log kept before v6.

The monitoring layer computes episodes and reconciles them with the stored ones
(``monitoring/statistics/episodes.py``); the store publishes the result in the same atomic write as the levels
(``results._write_levels`` calls :func:`_write_episodes` with that reconciliation, run inside the
write). Reviews live in the journal (schema v8; ``journal.py``): people review an episode with
:func:`set_episode_status` (review, history and audit in one journal write, no copy of the database);
what a scan changes in a review (a reopening when an acknowledged episode worsened) is applied after
the scan is published, by :func:`apply_review_changes`, and only to the review the scan saw, so a
review made while a scan ran is never overwritten. The tables ``alerts`` and ``alert_actions`` of
before v6 are kept as read-only history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

from indicators.periods import to_period, to_text
from indicators.store import Store, journal
from indicators.store.db import CATALOGS
from indicators.store.schema import REVIEW_COLUMNS

STATUSES = ("open", "acknowledged", "dismissed")
_RANK = {"no_data": 0, "normal": 0, "watch": 1, "alert": 2}
# The migration groups the old alert log with the shipped default of ``[episodes] resolve_after``;
# the first scan after it regroups at the saved settings (matching keeps ids and reviews).
MIGRATION_RESOLVE_AFTER = 2


def _columns(con, table: str) -> list[tuple[str, str]]:
    return [tuple(r) for r in con.execute(
        "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = $t "  # noqa: S608
        f"AND table_catalog IN {CATALOGS} ORDER BY ordinal_position", {"t": table}).fetchall()]


def _reviews(store: Store) -> pd.DataFrame:
    return store.journal.frame("SELECT * FROM reviews ORDER BY episode_id")


def with_reviews(episodes: pd.DataFrame, reviews: pd.DataFrame, *, version: bool = False) -> pd.DataFrame:
    """Episodes (rows of the database's table) with their review from the journal: status ``open`` and no
    acknowledgement for an episode never reviewed."""
    reviews = reviews.rename(columns={"episode_id": "id"})
    keep = ["id", *REVIEW_COLUMNS, *(["version"] if version else [])]
    out = episodes.merge(reviews[keep], on="id", how="left", sort=False)
    out["status"] = out["status"].fillna("open").astype(object)
    out["ack_score"] = out["ack_score"].astype("float64")
    for column in ("status_at", "expires"):
        out[column] = out[column].astype("datetime64[us]")
    return out


def read_episodes(store: Store, *, status: str | None = None, indicator: str | None = None) -> pd.DataFrame:
    """Every episode ever raised (open, resolved and withdrawn), latest start first, with its review."""
    with store.read() as cur:
        frame = cur.execute(
            "SELECT * FROM episodes WHERE ($i IS NULL OR indicator = $i) "
            "ORDER BY start_date DESC, indicator, geo, id", {"i": indicator}).df()
    frame = with_reviews(frame, _reviews(store))
    if status is not None:
        frame = frame[frame["status"] == status].reset_index(drop=True)
    return frame


def episode_actions(store: Store, episode_id: int | None = None) -> pd.DataFrame:
    """Acknowledgements, dismissals and reopenings (by people and, on worsening, by the system)."""
    return store.journal.frame(
        "SELECT * FROM episode_actions WHERE :e IS NULL OR episode_id = :e ORDER BY id",
        {"e": None if episode_id is None else int(episode_id)})


@dataclass(frozen=True)
class ReviewChange:
    """A review a scan changed (reopened as worsened, or given its reference peak), applied to the
    journal after the scan is published, only if nobody reviewed the episode meanwhile."""
    episode_id: int
    target: str
    seen: int | None  # the review's version the scan saw (None: none)
    values: dict
    reopened: str | None = None  # the reason, when the scan reopened it


def _write_episodes(con, reconcile: Callable, now: datetime, run_id: int | None,
                    reviews: pd.DataFrame) -> tuple[tuple[int, int], list[ReviewChange]]:
    """Inside a write: reconcile the stored episodes with their ``reviews`` (``reconcile(stored, now,
    run_id)`` returns a ``monitoring.statistics.reconciliation.Reconciled``), update and insert them;
    returns the open episodes (alert, watch) and the review changes for :func:`apply_review_changes`."""
    stored = with_reviews(con.execute("SELECT * FROM episodes ORDER BY id").df(), reviews, version=True)
    out = reconcile(stored.drop(columns="version"), now, run_id)
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
    changes = _review_changes(stored, frame, dict(out.reopened))
    counts = con.execute("SELECT count(*) FILTER (peak_level = 'alert'), count(*) FILTER (peak_level = 'watch') "
                         "FROM episodes WHERE state = 'open'").fetchall()[0]
    return (int(counts[0]), int(counts[1])), changes


def _same(a, b) -> bool:
    if _missing(a) and _missing(b):
        return True
    if _missing(a) or _missing(b):
        return False
    if isinstance(a, float | np.floating) or isinstance(b, float | np.floating):
        return float(a) == float(b)
    return pd.Timestamp(a) == pd.Timestamp(b) if isinstance(a, date | pd.Timestamp) else a == b


def _review_changes(stored: pd.DataFrame, frame: pd.DataFrame, reopened: dict[int, str]) -> list[ReviewChange]:
    if frame.empty or stored.empty:
        return []
    # only the columns compared and named (a dict of every column of every episode cost seconds at 5,000 series)
    review = [c for c in REVIEW_COLUMNS if c in frame.columns]
    keep = [c for c in ("id", "indicator", "geo", "start_period", "version", *REVIEW_COLUMNS) if c in stored.columns]
    before = {int(r["id"]): r for r in stored[keep].to_dict("records")}
    changes = []
    for row in frame.loc[frame["id"].notna(), ["id", *review]].to_dict("records"):
        old = before.get(int(row["id"]))
        if old is None:
            continue
        values = {c: _plain(row.get(c)) for c in REVIEW_COLUMNS}
        if all(_same(values[c], old.get(c)) for c in REVIEW_COLUMNS):
            continue
        seen = None if _missing(old.get("version")) else int(old["version"])
        changes.append(ReviewChange(int(row["id"]), _target(int(row["id"]), old["indicator"], old["geo"],
                                                             old["start_period"]),
                                    seen, values, reopened.get(int(row["id"]))))
    return changes


def _upsert_review(j, episode_id: int, values: dict, version: int) -> None:
    cols = ", ".join(REVIEW_COLUMNS)
    marks = ", ".join("?" for _ in REVIEW_COLUMNS)
    j.execute(f"INSERT OR REPLACE INTO reviews (episode_id, {cols}, version) VALUES (?, {marks}, ?)",  # noqa: S608
              (episode_id, *(journal.sql_value(values.get(c)) for c in REVIEW_COLUMNS), version))


def apply_review_changes(store: Store, changes: list[ReviewChange], now: datetime) -> int:
    """After a scan or a re-levelling is published: write its review changes to the journal (a reopening
    with its history and audit row), skipping an episode reviewed since the scan read it; returns how
    many were applied. A change lost to a crash before this is made again by the next scan."""
    if not changes:
        return 0
    applied = 0
    with store.journal.write() as j:
        for change in changes:
            row = j.execute("SELECT version FROM reviews WHERE episode_id = ?", (change.episode_id,)).fetchone()
            if (None if row is None else int(row[0])) != change.seen:
                continue
            _upsert_review(j, change.episode_id, change.values, (change.seen or 0) + 1)
            if change.reopened:
                j.execute("INSERT INTO episode_actions (episode_id, action, who, acted_at) VALUES (?, 'reopened', "
                          "'system', ?)", (change.episode_id, journal.sql_value(now)))
                journal.append_audit(j, now, "system", "episode_status", change.target, "acknowledged", "open",
                                     change.reopened)
            applied += 1
    return applied


def record_actions(store: Store, episode_ids: list[int], action: str, who: str, now: datetime,
                   comment: str | None = None) -> None:
    """Add the same action (e.g. ``data_deleted``) to the history of some episodes, in one journal write."""
    if not episode_ids:
        return
    with store.journal.write() as j:
        j.executemany("INSERT INTO episode_actions (episode_id, action, who, acted_at, comment) VALUES (?, ?, ?, ?, ?)",
                      [(int(e), action, who, journal.sql_value(now), comment) for e in episode_ids])


def _target(episode_id: int, indicator: str, geo: str, start: str) -> str:
    return f"episode {episode_id}: {indicator}/{geo} from {start}"


def set_episode_status(store: Store, episode_id: int, *, status: str, who: str, comment: str = "",
                       expires: date | None = None) -> None:
    """Acknowledge, dismiss or reopen an episode; kept in its history and in the audit log, in one journal
    write. An acknowledgement remembers the episode's peak then (a worse one later reopens it)."""
    if status not in STATUSES:
        raise ValueError(f"unknown episode status {status!r}; expected one of {', '.join(STATUSES)}")
    now = store.clock()
    with store.read() as cur:
        found = cur.execute("SELECT indicator, geo, start_period, peak_level, peak_score FROM episodes "
                            "WHERE id = $id", {"id": int(episode_id)}).fetchall()
    if not found:
        raise KeyError(f"no episode {episode_id}")
    indicator, geo, start, peak_level, peak_score = found[0]
    with store.journal.write() as j:
        row = j.execute("SELECT status, ack_level, ack_score, version FROM reviews WHERE episode_id = ?",
                        (int(episode_id),)).fetchone()
        before, ack_level, ack_score, version = row if row else ("open", None, None, 0)
        if status == "acknowledged":
            ack_level, ack_score = peak_level, peak_score
        values = {"status": status, "status_by": who, "status_at": now, "comment": comment, "expires": expires,
                  "ack_level": ack_level, "ack_score": ack_score}
        _upsert_review(j, int(episode_id), values, int(version) + 1)
        j.execute("INSERT INTO episode_actions (episode_id, action, who, acted_at, comment, expires) "
                  "VALUES (?, ?, ?, ?, ?, ?)",
                  (int(episode_id), status, who, journal.sql_value(now), comment, journal.sql_value(expires)))
        journal.append_audit(j, now, who, "episode_status", _target(int(episode_id), indicator, geo, start),
                             before, status, comment)


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
