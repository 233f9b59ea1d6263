"""The store's concurrency and atomicity: snapshot readers, copy-on-write writers, the writers' lock."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from indicators.store import Store, StoreBusy, StoreError, events, open_store, schema
from indicators.store.db import forget_snapshots


def _count(store: Store) -> int:
    with store.read() as cur:
        return cur.execute("SELECT count(*) FROM audit").fetchall()[0][0]


def _append(con, who: str = "t") -> None:
    con.execute("INSERT INTO audit (id, logged_at, who, action) SELECT coalesce(max(id), 0) + 1, now(), $w, 'x' "
                "FROM audit", {"w": who})


def test_new_database_has_current_schema_and_seed_event(store):
    assert store.schema_version() == schema.CURRENT_VERSION
    labels = events.list_events(store)["label"].tolist()
    assert "Visa-free travel to the Schengen area begins" in labels


def test_reopening_does_not_migrate_again(tmp_path):
    first = open_store(tmp_path / "m.duckdb")
    version = first.version()
    open_store(tmp_path / "m.duckdb")
    assert first.version() == version  # no write happened


def test_a_reader_sees_each_published_write(store):
    assert _count(store) == 0
    for n in range(1, 4):
        with store.write() as con:
            _append(con)
        assert _count(store) == n


def test_a_failed_write_changes_nothing_and_leaves_no_temporary_file(store):
    before = store.path.read_bytes()
    with pytest.raises(ValueError, match="boom"), store.write() as con:
        _append(con)
        raise ValueError("boom")
    assert store.path.read_bytes() == before
    assert _count(store) == 0
    assert not list(store.path.parent.glob(store.path.name + ".tmp-*"))


def test_after_a_failed_write_the_next_one_works_on_a_new_writer_instance(store):
    from indicators.store import db

    with store.write() as con:
        _append(con)
    kept = db._WRITER
    with store.write() as con:  # the instance is kept between writes
        _append(con)
    assert db._WRITER is kept
    with pytest.raises(ValueError, match="boom"), store.write() as con:
        _append(con)
        raise ValueError("boom")
    with store.write() as con:
        _append(con, "after")
    assert db._WRITER is not kept
    assert _count(store) == 3
    with kept.cursor() as cur:  # the failed write's copy is detached from the dropped instance
        names = [r[0] for r in cur.execute("SELECT database_name FROM duckdb_databases()").fetchall()]
    assert not [n for n in names if n.startswith("w_")]


def test_a_reader_keeps_its_snapshot_while_a_write_is_published(store):
    with store.read() as cur:
        with store.write() as con:
            _append(con)
        # the open cursor still reads the version it started with
        assert cur.execute("SELECT count(*) FROM audit").fetchall()[0][0] == 0
    assert _count(store) == 1


def test_reads_are_not_blocked_while_a_writer_holds_the_lock(store):
    entered, release, seen = threading.Event(), threading.Event(), []

    def writer():
        with store.write() as con:
            _append(con)
            entered.set()
            release.wait(10)

    t = threading.Thread(target=writer)
    t.start()
    assert entered.wait(10)
    seen.append(_count(store))  # during the write: the old version, at once
    release.set()
    t.join()
    assert seen == [0] and _count(store) == 1


def test_concurrent_writers_in_threads_lose_nothing(store):
    def work(i):
        for _ in range(5):
            with store.write() as con:
                _append(con, f"w{i}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _count(store) == 20


def test_a_writer_in_another_process_makes_this_one_wait_then_fail_clearly(store):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(store.path.parents[0])!r})
        from indicators.store import Store
        s = Store({str(store.path)!r})
        with s.write() as con:
            print("holding", flush=True)
            time.sleep(30)
        """)], stdout=subprocess.PIPE, text=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))
    try:
        assert holder.stdout.readline().strip() == "holding"
        impatient = Store(store.path, lock_timeout=0.3)
        with pytest.raises(StoreBusy, match=r"is busy: another load, scan or save has been writing for more "
                                            r"than 0 s; try again in a minute"):
            with impatient.write():
                pass
        assert _count(store) == 0  # reading is unaffected
    finally:
        holder.kill()
        holder.wait()
    with Store(store.path).write() as con:  # the killed writer left no lock and no damage
        _append(con)
    assert _count(store) == 1


def test_stale_temporary_files_from_a_crash_are_removed_by_the_next_writer(store):
    stale = store.path.with_name(store.path.name + ".tmp-99999-deadbeef")
    stale.write_bytes(b"half-written")
    with store.write() as con:
        _append(con)
    assert not stale.exists()


def test_reading_a_missing_database_says_what_to_do(tmp_path):
    with pytest.raises(StoreError, match=r"does not exist; run `python -m indicators load` first"):
        with Store(tmp_path / "none.duckdb").read():
            pass


def test_python_variables_are_never_scanned_as_tables(store):
    not_a_table = [1, 2, 3]  # noqa: F841 - the name the query below must not pick up
    with store.read() as cur, pytest.raises(Exception, match="not_a_table"):
        cur.execute("SELECT * FROM not_a_table").fetchall()


def test_a_newer_schema_is_refused(store):
    with store.write() as con:
        con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    forget_snapshots()
    with pytest.raises(StoreError, match="newer than this program's"):
        open_store(store.path)


def test_a_file_mostly_free_blocks_is_compacted_when_next_written(store):
    from indicators.store import db

    compacted = []
    original = db._compact

    def spy(cur, name, tmp):
        out = original(cur, name, tmp)
        compacted.append(out is not None)
        return out

    db._compact = spy
    try:
        with store.write() as con:  # some MB of rows, then a table behind them, then the rows gone:
            con.execute("CREATE TABLE filler AS SELECT range AS n, md5(range::VARCHAR) AS text FROM range(1000000)")
        with store.write() as con:  # DuckDB keeps their blocks, inside the file, as free space
            con.execute("CREATE TABLE kept AS SELECT md5(range::VARCHAR) AS text FROM range(20000)")
        grown = store.path.stat().st_size
        with store.write() as con:
            con.execute("DROP TABLE filler")
        for who in ("a", "b"):
            with store.write() as con:
                _append(con, who)
    finally:
        db._compact = original
    assert compacted[:2] == [False, False] and any(compacted[2:])  # compacted once mostly free
    assert grown > 10 * 2**20 and store.path.stat().st_size < grown / 4
    assert _count(store) == 2  # what it holds is all there
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM kept").fetchall()[0][0] == 20000
    assert events.list_events(store)["label"].tolist()  # and the journal beside it is untouched
    assert not list(store.path.parent.glob(store.path.name + ".tmp-*"))
