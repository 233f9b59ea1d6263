"""Alerts are episodes: how an episode opens, escalates and resolves; what changed at the latest period;
reconciling with the stored episodes (ids, reviews and history kept; a worsening reopens an
acknowledgement); the v5 -> v6 migration of the per-period alert log; one count on every surface."""

from __future__ import annotations

import datetime as dt

import duckdb
import numpy as np
import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.store import Store, open_store, results, schema
from indicators.store import episodes as stored_episodes
from indicators.store.audit import read_audit
from monitoring.narrative import episodes_text
from monitoring.pipeline import records, tuning
from monitoring.settings import load_settings, parse_settings
from monitoring.statistics import episodes
from monitoring.statistics.episodes import (
    compute_episodes,
    latest_changes,
    open_episodes,
)
from monitoring.statistics.reconciliation import reconcile, reconciler

NOW = dt.datetime(2026, 11, 26, 9, 0)


def frame(levels: str, *, start: str = "2026-01", indicator: str = "asylum_applications", geo: str = "DE",
          scores=None, shift=None, crossed=None, channels=None) -> pd.DataFrame:
    """A results frame of one monthly series: ``levels`` one letter a month (n normal, w watch, a alert,
    - no data); scores default to 0.5 at watch, 1.5 at alert, 0 otherwise."""
    code = {"n": "normal", "w": "watch", "a": "alert", "-": "no_data"}
    lv = [code[c] for c in levels]
    months = pd.period_range(start, periods=len(lv), freq="M")
    default = {"normal": 0.0, "watch": 0.5, "alert": 1.5, "no_data": np.nan}
    return pd.DataFrame({
        "indicator": indicator, "geo": geo, "period": [str(m) for m in months],
        "period_start": [m.start_time for m in months], "level": lv,
        "score": scores if scores is not None else [default[x] for x in lv],
        "observed": [100.0 + 10 * n for n in range(len(lv))], "expected": 100.0, "upper": 120.0, "lower": 80.0,
        "channels": channels or ["glr" if x in ("watch", "alert") else "" for x in lv], "provisional": False,
        "last_year": 90.0, "reason": [f"reason {m}" for m in months],
        "shift_start": shift if shift is not None else [None] * len(lv),
        "criterion_crossed": crossed if crossed is not None else [False] * len(lv),
    })


def spans(levels: str, resolve_after: int = 2) -> list[tuple]:
    got = compute_episodes(frame(levels), resolve_after)
    resolved = [None if pd.isna(v) else v for v in got["resolved_period"]]
    return list(zip(got["start_period"], got["last_period"], resolved, got["peak_level"], got["state"],
                    strict=True))


# --- the rule ---------------------------------------------------------------------------------------


def test_an_episode_opens_at_the_first_alarm_escalates_and_resolves_after_two_normal_periods():
    got = compute_episodes(frame("nnwwanwnnn"))
    assert len(got) == 1
    e = got.iloc[0]
    assert (e.start_period, e.last_period, e.resolved_period, e.state) == ("2026-03", "2026-07", "2026-09",
                                                                           "resolved")
    assert (e.peak_level, e.peak_period, e.peak_score) == ("alert", "2026-05", 1.5)
    assert (e.peak_observed, e.peak_expected) == (140.0, 100.0)
    assert e.alert_since == "2026-05"  # watch -> alert in May
    assert e.periods == 5 and e.current_level == "normal"
    # how it was first seen: the figures of its first period
    assert (e.first_level, e.first_observed, e.first_reason, e.first_channels) == ("watch", 120.0,
                                                                                 "reason 2026-03", "glr")


def test_fewer_normal_periods_than_resolve_after_do_not_end_it():
    assert spans("wnwnwnn") == [("2026-01", "2026-05", "2026-07", "watch", "resolved")]
    assert spans("wnnw") == [("2026-01", "2026-01", "2026-03", "watch", "resolved"),
                             ("2026-04", "2026-04", None, "watch", "open")]
    # resolve_after is a setting: one normal month resolves at 1, three are needed at 3
    assert spans("wnw", 1) == [("2026-01", "2026-01", "2026-02", "watch", "resolved"),
                               ("2026-03", "2026-03", None, "watch", "open")]
    assert spans("wnnwnnn", 3) == [("2026-01", "2026-04", "2026-07", "watch", "resolved")]


def test_no_data_neither_counts_as_normal_nor_ends_an_episode():
    assert spans("w---a") == [("2026-01", "2026-05", None, "alert", "open")]
    assert spans("wn-w") == [("2026-01", "2026-04", None, "watch", "open")]  # n - : one normal, not two
    assert spans("wn-n") == [("2026-01", "2026-01", "2026-04", "watch", "resolved")]
    assert spans("--nn") == []


def test_current_level_shift_start_and_resolve_after_per_indicator():
    levels = pd.concat([
        frame("nwawn", shift=[None, "2025-11", "2025-09", "2025-06", None], channels=["", "cusum", "glr,cusum", "glr", ""]),
        frame("nnwn", indicator="refused_entry", geo="AT"),
    ], ignore_index=True)
    got = compute_episodes(levels, {"refused_entry": 1}).set_index("indicator")
    de, at = got.loc["asylum_applications"], got.loc["refused_entry"]
    # the earliest shift the CUSUM gave in a period it raised (not June: the GLR raised April)
    assert (de.state, de.current_level, de.shift_start) == ("open", "normal", "2025-09")
    assert (at.state, at.resolved_period, at.current_level) == ("resolved", "2026-04", "normal")
    assert compute_episodes(frame("nnnn")).empty and compute_episodes(frame("")).empty


def test_episodes_of_every_series_apart_and_the_one_count():
    levels = pd.concat([frame("wa"), frame("nw", geo="FR"), frame("wnn", geo="IT"), frame("nn", geo="SE")],
                       ignore_index=True)
    got = compute_episodes(levels)
    assert sorted(got["geo"]) == ["DE", "FR", "IT"]
    count = open_episodes(got)
    assert (count.total, count.alert, count.watch) == (2, 1, 1)  # IT resolved
    assert episodes_text(count) == "Open episodes: 2 (1 alert, 1 watch)"
    assert episodes_text(count, "sq") == "Episode të hapura: 2 (alarm: 1, vëzhgim: 1)"
    assert episodes_text(count, "sr") == "Otvorene epizode: 2 (uzbuna: 1, praćenje: 1)"
    assert open_episodes(got, "refused_entry").total == 0
    table = episodes.open_by_indicator(got)
    assert table.to_dict("records") == [{"indicator": "asylum_applications", "alert": 1, "watch": 1}]


# --- what changed at the latest period ---------------------------------------------------------------


def test_changes_at_the_latest_period_are_new_escalated_resolved_and_criterion_crossings():
    levels = pd.concat([
        frame("nnnw", geo="FR"),                       # new episode at watch
        frame("nnwa", geo="DE"),                       # escalation watch -> alert
        frame("wwnn", geo="IT"),                       # resolution
        frame("nnnn", geo="SE", crossed=[False, False, False, True]),  # criterion crossing, no anomaly
        frame("naaa", geo="AT"),                       # a standing alert: nothing new
        frame("nnnw", geo="BE", scores=[0, 0, 0, 0.9]),  # new watch, higher score than FR
    ], ignore_index=True)
    changes = latest_changes(levels, compute_episodes(levels), {"asylum_applications": "outflow"})
    assert list(zip(changes["kind"], changes["geo"], strict=True)) == [
        ("escalation", "DE"), ("new", "BE"), ("new", "FR"), ("resolution", "IT"), ("criterion", "SE")]
    assert set(changes["period"]) == {"2026-04"}
    assert changes.iloc[0][["level", "score", "peak_level", "start_period"]].tolist() == ["alert", 1.5, "alert",
                                                                                          "2026-03"]
    # an alert episode whose first period is already at alert opens, it does not escalate
    assert latest_changes(frame("nnna"), compute_episodes(frame("nnna")))["kind"].tolist() == ["new"]


def test_changes_rank_by_level_score_size_then_category():
    levels = pd.concat([
        frame("nw", geo="FR"), frame("nw", geo="DE").assign(observed=1000.0),
        frame("nw", indicator="border_exits", geo="XK"),
        frame("nw", indicator="effective_returns", geo="IT"),
    ], ignore_index=True)
    categories = {"asylum_applications": "outflow", "border_exits": "leading", "effective_returns": "return"}
    changes = latest_changes(levels, compute_episodes(levels), categories)
    # same level and score: the bigger series first, then outflow > return > leading at equal size
    assert list(changes["geo"]) == ["DE", "FR", "IT", "XK"]


# --- reconciling with the stored episodes ------------------------------------------------------------


def stored_from(computed: pd.DataFrame, **review) -> pd.DataFrame:
    """Computed episodes as the store would hold them after a first write (ids 1.., reviews given)."""
    out = reconcile(computed, None, first_periods={}, now=NOW, run_id=1).episodes
    out = out.assign(id=range(1, len(out) + 1))
    for key, value in review.items():
        out[key] = value
    return out


def test_an_acknowledged_episode_reopens_when_its_level_rises_above_the_acknowledged_one():
    first = compute_episodes(frame("nwwn"))
    stored = stored_from(first, status="acknowledged", ack_level="watch", ack_score=0.5, comment="known")
    same = reconcile(compute_episodes(frame("nwwnw")), stored, first_periods={}, now=NOW, run_id=2)
    assert same.reopened == () and same.episodes.iloc[0]["status"] == "acknowledged"
    worse = reconcile(compute_episodes(frame("nwwna")), stored, first_periods={}, now=NOW, run_id=2)
    assert [i for i, _ in worse.reopened] == [1]
    row = worse.episodes.iloc[0]
    assert (row["status"], row["status_by"], row["comment"], row["id"]) == ("open", "system", "known", 1)
    assert "alert" in worse.reopened[0][1]


def test_an_acknowledged_episode_reopens_on_a_higher_peak_score_and_not_on_a_lower_one():
    stored = stored_from(compute_episodes(frame("nan", scores=[0, 2.0, 0])), status="acknowledged",
                         ack_level="alert", ack_score=2.0)
    lower = reconcile(compute_episodes(frame("nana", scores=[0, 2.0, 0, 1.8])), stored, first_periods={}, now=NOW,
                      run_id=2)
    assert lower.reopened == ()
    higher = reconcile(compute_episodes(frame("nana", scores=[0, 2.0, 0, 2.6])), stored, first_periods={},
                       now=NOW, run_id=2)
    assert [i for i, _ in higher.reopened] == [1] and "2.60" in higher.reopened[0][1]
    # a dismissed episode stays dismissed, however it goes on
    dismissed = stored.assign(status="dismissed")
    assert reconcile(compute_episodes(frame("nana", scores=[0, 2.0, 0, 2.6])), dismissed, first_periods={},
                     now=NOW, run_id=2).reopened == ()


def test_an_acknowledgement_kept_from_before_v6_takes_the_current_peak_as_its_reference():
    stored = stored_from(compute_episodes(frame("nw")), status="acknowledged", ack_level=None, ack_score=np.nan)
    out = reconcile(compute_episodes(frame("nwa")), stored, first_periods={}, now=NOW, run_id=2)
    assert out.reopened == ()
    row = out.episodes.iloc[0]
    assert (row["status"], row["ack_level"], row["ack_score"]) == ("acknowledged", "alert", 1.5)


def test_matching_keeps_ids_across_a_split_and_withdraws_what_no_longer_exists():
    stored = stored_from(compute_episodes(pd.concat([frame("wwwnnw"), frame("wnn", geo="FR")])),
                         comment="seen")
    assert list(zip(stored["geo"], stored["start_period"], stored["id"], strict=True)) == [
        ("DE", "2026-01", 1), ("DE", "2026-06", 2), ("FR", "2026-01", 3)]
    # stricter settings: DE's first episode becomes January and March (February normal), the one of June
    # is gone, FR's is gone; FR was not scored from January this time (left as it was)
    now = compute_episodes(frame("wnwnnn"))
    firsts = {("asylum_applications", "DE"): "2026-01", ("asylum_applications", "FR"): "2026-02"}
    out = reconcile(now, stored, first_periods=firsts, now=NOW, run_id=2).episodes
    by = {(r["geo"], r["start_period"]): r for r in out.to_dict("records")}
    assert by[("DE", "2026-01")]["id"] == 1 and by[("DE", "2026-01")]["comment"] == "seen"
    assert (by[("DE", "2026-01")]["last_period"], by[("DE", "2026-01")]["resolved_period"]) == ("2026-03",
                                                                                                "2026-05")
    assert len(out) == 3 and not out["id"].isna().any()
    june = by[("DE", "2026-06")]
    assert (june["id"], june["state"], june["current_level"], june["comment"]) == (2, "withdrawn", "normal", "seen")
    fr = by[("FR", "2026-01")]
    assert (fr["id"], fr["state"], fr["last_run"]) == (3, "resolved", 1)
    # a split: both parts overlap the stored episode; the earlier keeps it, the later is new
    split = reconcile(compute_episodes(frame("wnnnw")), stored_from(compute_episodes(frame("wwwww"))),
                      first_periods=firsts, now=NOW, run_id=2).episodes
    assert [(r["start_period"], None if pd.isna(r["id"]) else r["id"]) for r in split.to_dict("records")] == [
        ("2026-01", 1), ("2026-05", None)]
    # back to the first settings: the withdrawn episode is matched again, with its id
    back = reconcile(compute_episodes(frame("wwwnnw")), out.assign(id=out["id"].astype(int)),
                     first_periods=firsts, now=NOW, run_id=3).episodes
    assert sorted(zip(back["start_period"], back["id"], back["state"], strict=True)) == [
        ("2026-01", 1, "resolved"), ("2026-01", 3, "resolved"), ("2026-06", 2, "open")]


# --- in the store ------------------------------------------------------------------------------------


@pytest.fixture
def db(tmp_path) -> Store:
    store = open_store(tmp_path / "e.duckdb")
    store.clock = lambda: NOW
    return store


def publish(store: Store, levels: pd.DataFrame, run_id: int | None = None) -> None:
    results.write_levels(store, levels, levelled="{}", run_id=run_id, episodes=reconciler(levels))


def test_a_threshold_change_keeps_ids_comments_and_history_in_the_store(db):
    publish(db, pd.concat([frame("nwwannw"), frame("nwnnnn", geo="FR")]))
    first = stored_episodes.read_episodes(db)
    assert len(first) == 3
    de = int(first[(first["geo"] == "DE") & (first["start_period"] == "2026-02")]["id"].iloc[0])
    stored_episodes.set_episode_status(db, de, status="acknowledged", who="ana", comment="charter flight",
                                       expires=dt.date(2027, 1, 31))
    stored_episodes.set_episode_status(db, de, status="dismissed", who="bo", comment="explained")
    history = stored_episodes.episode_actions(db, de)
    # stricter: DE's April alert becomes a watch, FR's watch goes away
    publish(db, pd.concat([frame("nwwwnnw"), frame("nnnnnn", geo="FR")]))
    after = stored_episodes.read_episodes(db).set_index("id")
    assert set(after.index) == set(first["id"])  # nothing deleted, no new ids for the same episodes
    assert (after.loc[de, "status"], after.loc[de, "comment"], after.loc[de, "peak_level"]) == (
        "dismissed", "explained", "watch")
    pd.testing.assert_frame_equal(stored_episodes.episode_actions(db, de), history)
    fr = after[after["geo"] == "FR"].iloc[0]
    assert (fr["state"], fr["current_level"]) == ("withdrawn", "normal")
    assert open_episodes(after.reset_index()).total == 1  # DE's July watch


def test_a_worsening_reopens_in_the_store_with_a_history_row_and_an_audit_row(db):
    publish(db, frame("nwwn"))
    [episode_id] = stored_episodes.read_episodes(db)["id"].tolist()
    stored_episodes.set_episode_status(db, episode_id, status="acknowledged", who="ana", comment="seen it")
    audit_before = len(read_audit(db))
    publish(db, frame("nwwnw"))  # goes on, no worse
    assert stored_episodes.read_episodes(db)["status"].tolist() == ["acknowledged"]
    publish(db, frame("nwwnwa"), run_id=7)  # worse: alert
    row = stored_episodes.read_episodes(db).iloc[0]
    assert (row["status"], row["status_by"], row["comment"], row["last_run"]) == ("open", "system", "seen it", 7)
    actions = stored_episodes.episode_actions(db, episode_id)
    assert actions[["action", "who"]].values.tolist() == [["acknowledged", "ana"], ["reopened", "system"]]
    logged = read_audit(db).iloc[audit_before:]
    assert logged[["who", "action", "before", "after"]].values.tolist() == [
        ["system", "episode_status", "acknowledged", "open"]]
    assert logged["target"].iloc[0] == f"episode {episode_id}: asylum_applications/DE from 2026-02"
    publish(db, frame("nwwnwa"))  # the same again: no second reopening
    assert len(stored_episodes.episode_actions(db, episode_id)) == 2


def test_set_episode_status_refuses_unknown_statuses_and_episodes(db):
    publish(db, frame("nw"))
    with pytest.raises(ValueError, match="unknown episode status"):
        stored_episodes.set_episode_status(db, 1, status="closed", who="x")
    with pytest.raises(KeyError):
        stored_episodes.set_episode_status(db, 99, status="open", who="x")


# --- the v5 -> v6 migration ---------------------------------------------------------------------------


ALERT_COLUMNS = ("indicator, geo, period, period_start, first_run, first_seen, first_level, first_observed, "
                 "first_expected, first_upper, first_lower, first_reason, level, last_run, status, status_by, "
                 "status_at, comment, expires, first_channels, first_last_year, first_provisional")


def v5_database(path) -> None:
    """A database as schema v5 left it, with a per-period alert log, its actions and current results."""
    con = duckdb.connect(str(path))
    for version in range(1, 6):
        for statement in schema.MIGRATIONS[version]:
            con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    seen = dt.datetime(2026, 3, 5, 8, 0)

    def alert(ind, geo, period, start, level, now_level, obs, status="open", by=None, at=None, comment=None,
              expires=None, run=1):
        con.execute(f"INSERT INTO alerts ({ALERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 100, 130, 70, ?, ?, ?, "  # noqa: S608
                    "?, ?, ?, ?, ?, 'glm', 90, false)",
                    [ind, geo, period, start, run, seen + dt.timedelta(days=run), level, obs, f"first {period}",
                     now_level, run + 1, status, by, at, comment, expires])

    def action(n, ind, geo, period, act, who, at, comment, expires=None):
        con.execute("INSERT INTO alert_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [n, ind, geo, period, act, who, at, comment, expires])

    def result(ind, geo, period, start, level, score=0.0):
        con.execute("INSERT INTO results (indicator, geo, period, period_start, level, score, observed, expected) "
                    "VALUES (?, ?, ?, ?, ?, ?, 100, 100)", [ind, geo, period, start, level, score])

    a = ("asylum_applications", "DE")
    # DE: Jan watch, Feb alert, (Mar normal), Apr watch -> one episode; May-Jul normal; Aug alert -> another,
    # resolved in October (Sep, Oct normal).
    for m, lv in zip(range(1, 11), ["watch", "alert", "normal", "watch", "normal", "normal", "normal", "alert",
                                    "normal", "normal"], strict=True):
        result(*a, f"2026-{m:02d}", dt.date(2026, m, 1), lv, 1.0 if lv == "alert" else 0.5 if lv == "watch" else 0)
    alert(*a, "2026-01", dt.date(2026, 1, 1), "watch", "watch", 120, run=1)
    alert(*a, "2026-02", dt.date(2026, 2, 1), "alert", "alert", 150, status="acknowledged", by="ana",
          at=dt.datetime(2026, 3, 10), comment="charter flight", expires=dt.date(2026, 12, 31), run=2)
    alert(*a, "2026-04", dt.date(2026, 4, 1), "watch", "watch", 125, status="dismissed", by="bo",
          at=dt.datetime(2026, 5, 2), comment="explained by the charter", run=4)
    alert(*a, "2026-08", dt.date(2026, 8, 1), "alert", "alert", 160, run=8)
    action(1, *a, "2026-02", "acknowledged", "ana", dt.datetime(2026, 3, 10), "charter flight", dt.date(2026, 12, 31))
    action(2, *a, "2026-04", "dismissed", "bo", dt.datetime(2026, 5, 2), "explained by the charter")
    # AT quarterly: Q1 alert, Q2 no data, Q3 normal, Q4 watch (first seen as watch, now normal after a
    # threshold change) -> one episode (no data does not count), open.
    r = ("refused_entry", "AT")
    for q, lv in zip(range(1, 5), ["alert", "no_data", "normal", "normal"], strict=True):
        result(*r, f"2025-Q{q}", dt.date(2025, 3 * q - 2, 1), lv)
    alert(*r, "2025-Q1", dt.date(2025, 1, 1), "alert", "alert", 300)
    alert(*r, "2025-Q4", dt.date(2025, 10, 1), "watch", "normal", 200, status="open", by="cy",
          at=dt.datetime(2026, 1, 20), comment="reopened: still rising")
    action(3, *r, "2025-Q4", "acknowledged", "cy", dt.datetime(2026, 1, 15), "seasonal")
    action(4, *r, "2025-Q4", "open", "cy", dt.datetime(2026, 1, 20), "reopened: still rising")
    # XK: no results at all (missing periods count as normal): May, Jun | (Jul, Aug) | Sep -> two episodes.
    # A comment kept on an alert without an action saying it is kept too.
    x = ("border_exits", "XK")
    alert(*x, "2025-05", dt.date(2025, 5, 1), "watch", "watch", 900)
    alert(*x, "2025-06", dt.date(2025, 6, 1), "watch", "watch", 950, status="acknowledged", by="dea",
          at=dt.datetime(2025, 7, 1), comment="typed before actions were kept")
    alert(*x, "2025-09", dt.date(2025, 9, 1), "alert", "alert", 1200)
    con.close()


def test_the_v6_migration_turns_the_alert_log_into_episodes_and_loses_nothing(tmp_path):
    path = tmp_path / "v5.duckdb"
    v5_database(path)
    with duckdb.connect(str(path), read_only=True) as con:
        alerts_before = con.execute("SELECT * FROM alerts ORDER BY ALL").fetchall()
        actions_before = con.execute("SELECT * FROM alert_actions ORDER BY id").df()
    store = open_store(path)
    assert store.schema_version() == schema.CURRENT_VERSION >= 6
    with store.read() as cur:  # the old log stays, as it was
        assert cur.execute("SELECT * FROM alerts ORDER BY ALL").fetchall() == alerts_before
    got = stored_episodes.read_episodes(store).sort_values(["indicator", "geo", "start_period"])
    summary = [(r.geo, r.start_period, r.last_period, None if pd.isna(r.resolved_period) else r.resolved_period,
                r.state, r.peak_level, r.periods, r.status) for r in got.itertuples()]
    assert summary == [
        ("DE", "2026-01", "2026-04", "2026-06", "resolved", "alert", 4, "dismissed"),
        ("DE", "2026-08", "2026-08", "2026-10", "resolved", "alert", 1, "open"),
        ("XK", "2025-05", "2025-06", "2025-08", "resolved", "watch", 2, "acknowledged"),
        ("XK", "2025-09", "2025-09", None, "open", "alert", 1, "open"),
        ("AT", "2025-Q1", "2025-Q4", None, "open", "alert", 4, "open"),
    ]
    de = got[(got["geo"] == "DE") & (got["start_period"] == "2026-01")].iloc[0]
    # status, comment and reviewer of the latest action; first-seen figures of the first alert
    assert (de["comment"], de["status_by"], de["first_level"], de["first_observed"], de["first_reason"]) == (
        "explained by the charter", "bo", "watch", 120, "first 2026-01")
    assert de["first_seen"] == pd.Timestamp("2026-03-06 08:00") and (de["first_run"], de["last_run"]) == (1, 5)
    assert (de["peak_period"], de["peak_score"]) == ("2026-02", 1.0)
    assert pd.isna(de["ack_level"])  # the first scan takes its peak as the reference (no spurious reopening)
    # every action kept, on its episode, with the period it was taken on; the lone comment kept as a note
    acts = stored_episodes.episode_actions(store)
    key_of = {int(r.id): (r.geo, r.start_period) for r in got.itertuples()}
    kept = {(key_of[int(r.episode_id)], r.period, r.action, r.who, r.acted_at, r.comment) for r in acts.itertuples()}
    assert len(acts) == len(actions_before) + 1
    for r in actions_before.itertuples():
        episode = max((k for k in key_of.values() if k[0] == r.geo and k[1] <= r.period), key=lambda k: k[1])
        assert (episode, r.period, r.action, r.who, r.acted_at, r.comment) in kept
    assert ((("XK", "2025-05"), "2025-06", "comment", "dea", pd.Timestamp("2025-07-01"),
             "typed before actions were kept") in kept)
    expires = acts.loc[acts["comment"] == "charter flight", "expires"].iloc[0]
    assert pd.Timestamp(expires) == pd.Timestamp("2026-12-31")
    # every alert's comment is somewhere in the episodes' history
    with store.read() as cur:
        typed = {r[0] for r in cur.execute("SELECT comment FROM alerts WHERE comment IS NOT NULL").fetchall()}
    assert len(typed) == 4 and typed <= set(acts["comment"].dropna())
    # and the Alerts page reads it, in every language
    log = records.episode_log(store, load_catalogue(), pd.Timestamp("2026-11-26"), "sr", since_months=None)
    assert len(log.table) == 5 and log.count.total == 2
    assert set(records.episode_history(store, int(de["id"]), "sr")["action"]) == {
        "potvrđena", "odbačena kao objašnjena"}


def test_an_empty_alert_log_migrates_to_no_episodes(tmp_path):
    path = tmp_path / "v5.duckdb"
    con = duckdb.connect(str(path))
    for version in range(1, 6):
        for statement in schema.MIGRATIONS[version]:
            con.execute(statement)
    con.execute("INSERT INTO meta VALUES ('schema_version', '5')")
    con.close()
    store = open_store(path)
    assert stored_episodes.read_episodes(store).empty and stored_episodes.episode_actions(store).empty


# --- one count on every surface -----------------------------------------------------------------------


def test_scan_cli_thresholds_and_store_give_the_same_count(tmp_path_factory, tmp_path, capsys):
    from monitoring.__main__ import main
    from tests.populated import TODAY, master_copy

    store = master_copy(tmp_path_factory, tmp_path / "m.duckdb")
    assert main(["scan", "--db", str(store.path), "--workers", "1"], today=TODAY) == 0
    printed = capsys.readouterr().out
    count = records.episode_count(store)
    assert episodes_text(count) in printed.splitlines()[0]
    run = results.runs(store, limit=1).iloc[0]
    assert (run["open_alert_episodes"], run["open_watch_episodes"]) == (count.alert, count.watch)
    preview = tuning.counts(tuning.stored_scores(store, TODAY), load_catalogue(), load_settings(), TODAY)
    assert (preview.alerts, preview.watches) == (count.alert, count.watch)
    # a setting that resolves sooner can only close episodes
    sooner = parse_settings({"episodes": {"resolve_after": 1}})
    assert tuning.counts(tuning.stored_scores(store, TODAY), load_catalogue(), sooner, TODAY).total <= count.total
