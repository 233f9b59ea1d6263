"""The journal (schema v8): small writes in place, beside the database file, never a copy of it."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading

import duckdb
import pandas as pd
import pytest

from indicators.store import Store, StoreError, digests, episodes, events, open_store, results, schema
from indicators.store.audit import read_audit
from indicators.store.db import forget_snapshots, version_key
from indicators.store.journal import journal_path
from tests.populated import master_copy


@pytest.fixture
def db(tmp_path_factory, tmp_path) -> Store:
    return master_copy(tmp_path_factory, tmp_path / "m.duckdb")


def _content(store) -> bytes:
    """Both database files, byte for byte."""
    return store.path.read_bytes() + store.results_path.read_bytes()


def _open_episode(store: Store) -> int:
    frame = episodes.read_episodes(store, status="open")
    return int(frame["id"].iloc[0])


def test_an_acknowledgement_writes_the_journal_and_leaves_the_database_file_as_it_was(db):
    episode_id = _open_episode(db)
    version, content, changes = version_key(db.path), _content(db), db.journal.changes()
    episodes.set_episode_status(db, episode_id, status="acknowledged", who="bo", comment="known: a fair",
                                expires=dt.date(2027, 1, 31))
    assert version_key(db.path) == version and _content(db) == content  # no copy, no rewrite
    assert db.journal.changes() == changes + 1 and db.version()[-1] == changes + 1  # caches see the new review
    row = episodes.read_episodes(db).set_index("id").loc[episode_id]
    assert (row["status"], row["status_by"], row["comment"]) == ("acknowledged", "bo", "known: a fair")
    assert row["expires"] == pd.Timestamp("2027-01-31")
    assert (row["ack_level"], row["ack_score"]) == (row["peak_level"], row["peak_score"])
    assert episodes.episode_actions(db, episode_id)["action"].tolist()[-1] == "acknowledged"
    assert read_audit(db).iloc[-1][["who", "action", "after"]].tolist() == ["bo", "episode_status", "acknowledged"]


def test_events_and_digest_records_leave_the_database_file_as_it_was(db):
    version = version_key(db.path)
    event_id = events.add_event(db, "2026-10-01", "Ferry strike", "bo", geo="IT")
    events.update_event(db, event_id, "bo", label="Ferry strike (3 days)")
    digests.save_recipients(db, '{"sq": {"all": ["a@x.org"]}}', who="bo", reason="new desk")
    digests.record_sent(db, [{"change_key": "new:x:IT:2026-10", "kind": "new"}], lang="sq", recipients=["a@x.org"],
                        subject="s")
    assert version_key(db.path) == version
    assert events.list_events(db).set_index("id").loc[event_id, "label"] == "Ferry strike (3 days)"
    assert digests.sent_keys(db) == {("new:x:IT:2026-10", "sq", "a@x.org")}
    assert read_audit(db)["action"].tolist()[-4:] == ["event.add", "event.update", "digest_recipients",
                                                       "digest_sent"]


def test_a_failed_journal_write_changes_nothing(db):
    before = episodes.read_episodes(db)
    with pytest.raises(RuntimeError, match="boom"), db.journal.write() as j:
        j.execute("UPDATE reviews SET status = 'dismissed'")
        j.execute("DELETE FROM events")
        raise RuntimeError("boom")
    pd.testing.assert_frame_equal(episodes.read_episodes(db), before)
    assert len(events.list_events(db))


def test_audit_ids_are_one_sequence_across_the_database_and_the_journal(db):
    from indicators.store import deletion

    episode_id = _open_episode(db)
    deletion.delete(db, "asylum_applications", "FR", who="bo", since=dt.date(2026, 1, 1), reason="one")  # the file's
    episodes.set_episode_status(db, episode_id, status="dismissed", who="bo", comment="a test")  # the journal's
    deletion.delete(db, "asylum_applications", "DE", who="bo", since=dt.date(2026, 1, 1), reason="two")
    log = read_audit(db)
    assert log["id"].is_unique and log["id"].is_monotonic_increasing
    assert log["action"].tolist()[-3:] == ["delete", "episode_status", "delete"]
    assert log["id"].tolist()[-3:] == [log["id"].iloc[-3], log["id"].iloc[-3] + 1, log["id"].iloc[-3] + 2]


def test_a_scan_does_not_overwrite_a_review_made_while_it_ran(db):
    episode_id = _open_episode(db)
    seen = episodes.with_reviews(episodes.read_episodes(db)[["id"]], db.journal.frame("SELECT * FROM reviews"),
                                 version=True).set_index("id").loc[episode_id, "version"]
    seen = None if pd.isna(seen) else int(seen)
    change = episodes.ReviewChange(episode_id, "episode x", seen, {"status": "open", "status_by": "system"},
                                   reopened="worsened")
    episodes.set_episode_status(db, episode_id, status="acknowledged", who="bo", comment="seen it")  # meanwhile
    assert episodes.apply_review_changes(db, [change], dt.datetime(2026, 11, 26)) == 0
    assert episodes.read_episodes(db).set_index("id").loc[episode_id, "status"] == "acknowledged"
    # The same change, on the review it saw, applies (the reopening, its history and its audit row).
    now_seen = int(db.journal.frame("SELECT version FROM reviews WHERE episode_id = :e",
                                    {"e": episode_id})["version"].iloc[0])
    change = episodes.ReviewChange(episode_id, "episode x", now_seen, {"status": "open", "status_by": "system"},
                                   reopened="worsened")
    assert episodes.apply_review_changes(db, [change], dt.datetime(2026, 11, 26)) == 1
    assert episodes.read_episodes(db).set_index("id").loc[episode_id, "status"] == "open"
    assert episodes.episode_actions(db, episode_id)["action"].tolist()[-1] == "reopened"
    assert read_audit(db).iloc[-1][["who", "reason"]].tolist() == ["system", "worsened"]


def test_twenty_threads_acknowledging_at_once_lose_nothing(db):
    ids = episodes.read_episodes(db)["id"].tolist()
    errors: list[Exception] = []

    def review(n: int) -> None:
        try:
            episodes.set_episode_status(db, int(ids[n % len(ids)]), status="dismissed", who=f"t{n}",
                                        comment=f"c{n}")
        except Exception as exc:  # noqa: BLE001 (collected and asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=review, args=(n,)) for n in range(20)]
    before = len(episodes.episode_actions(db))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(episodes.episode_actions(db)) == before + 20
    assert {f"t{n}" for n in range(20)} <= set(read_audit(db)["who"])


def test_a_database_moved_without_its_journal_is_refused(db, tmp_path):
    import shutil

    lonely = tmp_path / "elsewhere" / "m.duckdb"
    lonely.parent.mkdir()
    shutil.copyfile(db.path, lonely)
    with pytest.raises(StoreError, match=r"the journal of this database is missing: .*m\.duckdb\.journal\.sqlite"):
        open_store(lonely)
    other = open_store(tmp_path / "other.duckdb")  # a journal bound to another database
    shutil.copyfile(journal_path(other.path), journal_path(lonely))
    with pytest.raises(StoreError, match="belongs to another database"):
        open_store(lonely)


def _as_version_7(path) -> None:
    """A database made by the schema of version 7, with a review, an action, an event, digest records and audit
    rows, the way that version wrote them."""
    con = duckdb.connect(str(path))
    for version in range(1, 8):
        for statement in schema.MIGRATIONS[version]:
            con.execute(statement)
        if version == 1:
            con.execute("INSERT INTO events (id, date, label, created_by, created_at, updated_at) VALUES "
                        "(nextval('event_ids'), DATE '2024-01-01', 'Visa-free travel begins', 'system', now(), now())")
    con.execute("INSERT INTO meta VALUES ('schema_version', '7')")
    con.execute("""INSERT INTO episodes (id, indicator, geo, start_period, start_date, last_period, last_date, state,
                   peak_level, peak_score, current_level, first_seen, first_level, status, status_by, status_at,
                   comment, expires, ack_level, ack_score)
                   VALUES (nextval('episode_ids'), 'asylum_applications', 'FR', '2026-05', DATE '2026-05-01',
                   '2026-05', DATE '2026-05-01', 'open', 'alert', 2.5, 'alert', TIMESTAMP '2026-06-01 10:00:00',
                   'alert', 'acknowledged', 'ana', TIMESTAMP '2026-06-02 09:00:00', 'a fair', DATE '2026-12-31',
                   'alert', 2.5),
                   (nextval('episode_ids'), 'asylum_applications', 'DE', '2026-05', DATE '2026-05-01',
                   '2026-05', DATE '2026-05-01', 'open', 'watch', 1.2, 'watch', TIMESTAMP '2026-06-01 10:00:00',
                   'watch', 'open', NULL, NULL, NULL, NULL, NULL, NULL)""")
    con.execute("INSERT INTO episode_actions VALUES (nextval('episode_action_ids'), 1, 'acknowledged', 'ana', "
                "TIMESTAMP '2026-06-02 09:00:00', 'a fair', DATE '2026-12-31', NULL)")
    con.execute("INSERT INTO digest_sent VALUES ('new:asylum_applications:FR:2026-05', 'sq', 'a@x.org', 'new', "
                "'asylum_applications', 'FR', '2026-05', TIMESTAMP '2026-06-01 11:00:00', 'Alarm')")
    con.execute("INSERT INTO digest_recipients VALUES (nextval('recipients_ids'), TIMESTAMP '2026-06-01 08:00:00', "
                "'ana', '{}', 'first list')")
    for n in range(3):
        con.execute("INSERT INTO audit VALUES (nextval('audit_ids'), TIMESTAMP '2026-06-02 09:00:00', 'ana', "
                    "'episode_status', $t, 'open', 'acknowledged', NULL)", {"t": f"row {n}"})
    con.execute("SELECT nextval('event_ids')")  # an id handed out by a write that then failed
    for n, alpha in enumerate((0.05, 0.1), start=1):
        con.execute("INSERT INTO settings_log VALUES (nextval('settings_ids'), $at, 'ana', $s, $r, NULL)",
                    {"at": f"2026-06-0{n} 08:00:00", "s": f'{{"levels": {{"watch_alpha": {alpha}}}}}', "r": f"save {n}"})
    con.execute("SELECT nextval('settings_ids')")
    con.execute("INSERT INTO runs (id, started_at, finished_at, who, settings) VALUES "
                "(nextval('run_ids'), TIMESTAMP '2026-06-01 09:00:00', TIMESTAMP '2026-06-01 09:01:00', 'ana', '{}')")
    con.execute("INSERT INTO results (indicator, geo, period, period_start, level) VALUES "
                "('asylum_applications', 'FR', '2026-05', DATE '2026-05-01', 'alert')")
    con.close()


def test_a_version_7_database_moves_its_reviews_events_and_digest_records_into_the_journal(tmp_path):
    path = tmp_path / "old.duckdb"
    _as_version_7(path)
    forget_snapshots()
    store = open_store(path)
    assert store.schema_version() == schema.CURRENT_VERSION
    with store.read() as cur:
        tables = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables "
                                            "WHERE table_catalog = current_database()").fetchall()}
        columns = {r[0] for r in cur.execute("SELECT column_name FROM information_schema.columns "
                                             "WHERE table_name = 'episodes'").fetchall()}
    assert not tables & {"events", "episode_actions", "digest_sent", "digest_recipients", "settings_log"}
    assert not columns & set(schema.REVIEW_COLUMNS)
    frame = episodes.read_episodes(store).set_index("geo")
    assert frame.loc["FR", ["status", "status_by", "comment", "ack_level", "ack_score"]].tolist() == [
        "acknowledged", "ana", "a fair", "alert", 2.5]
    assert frame.loc["FR", "status_at"] == pd.Timestamp("2026-06-02 09:00:00")
    assert frame.loc["FR", "expires"] == pd.Timestamp("2026-12-31")
    assert frame.loc["DE", "status"] == "open" and pd.isna(frame.loc["DE", "status_by"])
    assert episodes.episode_actions(store, 1)[["id", "action", "who"]].values.tolist() == [[1, "acknowledged", "ana"]]
    assert events.list_events(store)[["id", "label"]].values.tolist() == [[1, "Visa-free travel begins"]]
    assert digests.sent_keys(store) == {("new:asylum_applications:FR:2026-05", "sq", "a@x.org")}
    assert digests.latest_recipients(store) == (1, "{}")
    assert read_audit(store)["id"].tolist() == [1, 2, 3]
    log = results.settings_log(store)
    assert log[["id", "who", "reason"]].values.tolist() == [[2, "ana", "save 2"], [1, "ana", "save 1"]]
    assert log["saved_at"].tolist() == [pd.Timestamp("2026-06-02 08:00:00"), pd.Timestamp("2026-06-01 08:00:00")]
    # the stored levels were made by the save of 2 June, later than the scan of 1 June: they are at its settings
    assert results.levelled_settings(store) == '{"levels": {"watch_alpha": 0.1}}'
    # Ids continue past every one handed out before, in both logs and in the moved tables.
    assert results.save_settings(store, "{}", who="bo", reason="later") == 4
    assert events.add_event(store, "2026-07-01", "later", "bo") == 3
    episodes.set_episode_status(store, 2, status="dismissed", who="bo", comment="known")
    assert read_audit(store)["id"].tolist() == [1, 2, 3, 4, 5, 6]
    # Opening it again migrates nothing twice.
    forget_snapshots()
    again = open_store(path)
    assert len(events.list_events(again)) == 2 and len(episodes.episode_actions(again)) == 2
    assert len(results.settings_log(again)) == 3


def test_the_journal_is_in_write_ahead_log_mode_so_readers_never_wait(db):
    con = sqlite3.connect(journal_path(db.path))
    try:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        con.close()
    with db.journal.write() as j:  # a writer holds the journal
        j.execute("UPDATE events SET label = 'changing' WHERE id = 1")
        assert "changing" not in events.list_events(db)["label"].tolist()  # a reader still reads, at once
