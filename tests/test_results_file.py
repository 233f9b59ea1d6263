"""Schema v11: what scans derive lives in a file of its own beside the data (issue 14, 1-row loads).

A load copies only the data file, a scan or a re-levelling only the results file; a write of both (a
deletion, a migration, a restore) is all or nothing even when killed between its two replaces; a v10
database migrates with every row kept; a missing or foreign results file is refused with a message."""

from __future__ import annotations

import datetime as dt

import pytest

from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, StoreError, db, deletion, open_store, schema
from indicators.store.backup import backup, restore
from indicators.store.observations import dump
from monitoring.pipeline.scan import scan
from monitoring.settings import MonitorSettings
from tests.old_schema import as_single_file
from tests.populated import TODAY, master_copy, series_csv


@pytest.fixture
def store(tmp_path_factory, tmp_path):
    return master_copy(tmp_path_factory, tmp_path / "m.duckdb")


def _tables(store: Store, *, results: bool = False) -> set[str]:
    with store.read() as cur:
        return {r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                          "current_database() || $s", {"s": db.RESULTS if results else ""}).fetchall()}


def test_the_scan_tables_are_in_the_results_file_and_the_data_in_the_data_file(store):
    assert store.results_path.name == "m.duckdb.results.duckdb" and store.results_path.exists()
    assert _tables(store) == {"meta", "indicators", "loads", "observations", "revisions", "audit"}
    assert _tables(store, results=True) == {*schema.RESULT_TABLES, "results_meta"}


def test_a_load_copies_only_the_data_file_and_a_scan_only_the_results_file(store, tmp_path):
    catalogue = load_catalogue()
    data_key, results_bytes = db._file_key(store.path), store.results_path.read_bytes()
    results_key = db._file_key(store.results_path)
    report = load_files(store, [series_csv(tmp_path / "s.csv", shift=11)], catalogue=catalogue, today=TODAY.date())
    assert sum(r.revised for r in report) > 0  # the load did write
    assert db._file_key(store.path) != data_key
    assert db._file_key(store.results_path) == results_key and store.results_path.read_bytes() == results_bytes
    data_key, data_bytes = db._file_key(store.path), store.path.read_bytes()
    scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1)
    assert db._file_key(store.results_path) != results_key  # the scan wrote its results
    assert db._file_key(store.path) == data_key and store.path.read_bytes() == data_bytes


def test_a_version_10_database_migrates_with_every_row_kept(store):
    before = dump(store)
    as_single_file(store)
    assert not store.results_path.exists() and store.schema_version() == 10
    assert _tables(store) >= set(schema.RESULT_TABLES)
    upgraded = open_store(store.path)
    assert upgraded.schema_version() == schema.CURRENT_VERSION and upgraded.results_path.exists()
    after = dump(upgraded)
    ids = {k: [r for r in after[k] if r[0] == schema.RESULTS_ID] for k in ("meta", "results_meta")}
    assert ids["meta"] and [r[1] for r in ids["meta"]] == [r[1] for r in ids["results_meta"]]  # one bond, both files
    def without(dumped):
        return {k: [r for r in v if r[0] != schema.RESULTS_ID] if k in ids else v for k, v in dumped.items()}

    assert without(after) == without(before)
    assert _tables(upgraded) == {"meta", "indicators", "loads", "observations", "revisions", "audit"}
    with upgraded.read() as cur:  # the sequences go on from where they were
        run_id = cur.execute("SELECT max(id) FROM runs").fetchall()[0][0]
    report = scan(upgraded, load_catalogue(), MonitorSettings(), today=TODAY, workers=1)
    assert report.run_id == run_id + 1


def test_a_deletion_killed_between_its_two_replaces_is_finished_by_the_next_opening(store, monkeypatch):
    real_replace, calls = db.os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the results file is published, the data file not yet
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(db.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        deletion.delete(store, "asylum_applications", "FR", who="ana", reason="test")
    monkeypatch.setattr(db.os, "replace", real_replace)
    assert [str(c) for c in calls] == [str(store.results_path), str(store.path)]
    assert (store.path.parent / "m.duckdb.publish").exists()  # what is left to do, durable
    with store.read() as cur:  # until then: the results without the series, the data still with it
        assert cur.execute("SELECT count(*) FROM results WHERE geo = 'FR'").fetchall()[0][0] == 0
        assert cur.execute("SELECT count(*) FROM observations WHERE geo = 'FR'").fetchall()[0][0] > 0
    open_store(store.path)
    assert not (store.path.parent / "m.duckdb.publish").exists()
    assert not list(store.path.parent.glob("m.duckdb*.tmp-*"))
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM observations WHERE geo = 'FR'").fetchall()[0][0] == 0
        assert cur.execute("SELECT count(*) FROM loads WHERE format = 'deletion'").fetchall()[0][0] == 1


def test_a_write_of_both_files_failing_before_its_replaces_changes_neither(store, monkeypatch):
    before = dump(store)
    keys = (db._file_key(store.path), db._file_key(store.results_path))

    def fsync(path):
        raise OSError("disk full")

    monkeypatch.setattr(db, "_fsync", fsync)
    with pytest.raises(OSError, match="disk full"):
        deletion.delete(store, "asylum_applications", "FR", who="ana", reason="test")
    monkeypatch.undo()
    assert (db._file_key(store.path), db._file_key(store.results_path)) == keys and dump(store) == before
    assert not list(store.path.parent.glob("m.duckdb*.tmp-*"))


def test_a_missing_or_foreign_results_file_is_refused_with_what_to_do(store, tmp_path):
    other = open_store(tmp_path / "other.duckdb")  # another database, empty
    store.results_path.rename(tmp_path / "aside")
    db.forget_snapshots()
    with pytest.raises(StoreError, match=r"the results file of this database is missing: .*m\.duckdb\.results\.duckdb"
                                         r".*restore a backup"):
        open_store(store.path)
    other.results_path.replace(store.results_path)  # another database's results, under this name
    db.forget_snapshots()
    with pytest.raises(StoreError, match=r"belongs to another database"):
        open_store(store.path)


def test_a_backup_holds_the_results_file_and_a_changed_results_export_is_refused(store, tmp_path):
    manifest = backup(store, tmp_path / "bk")
    assert any(name.startswith("results/") for name in manifest["files"])
    assert manifest["results_tables"]["results"] > 0
    parquet = next((tmp_path / "bk" / "results").glob("results.parquet"))
    parquet.write_bytes(parquet.read_bytes() + b"\0")
    target = Store(tmp_path / "r.duckdb")
    with pytest.raises(StoreError, match=r"results/results\.parquet does not match its checksum"):
        restore(target, tmp_path / "bk")
    assert not target.path.exists() and not target.results_path.exists()


def test_a_results_file_deleted_by_hand_is_not_recreated_empty_by_a_load(store, tmp_path):
    store.results_path.unlink()
    db.forget_snapshots()
    with pytest.raises(StoreError, match="results file of this database is missing"):
        load_files(store, [series_csv(tmp_path / "s.csv", shift=3)], catalogue=load_catalogue(),
                   today=dt.date(2026, 11, 26))
    assert not store.results_path.exists()


def test_observations_have_no_key_index_and_their_writer_refuses_a_repeated_key(store):
    import pandas as pd

    from indicators.store import observations

    with store.read() as cur:
        assert not cur.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'observations' "
                               "AND constraint_type = 'PRIMARY KEY'").fetchall()[0][0]
        rows, keys = cur.execute("SELECT count(*), count(DISTINCT (indicator, geo, period)) FROM observations"
                                 ).fetchall()[0]
    assert rows == keys > 0  # two loads with a revision between them: still one row per period
    before = dump(store)
    twice = pd.DataFrame({"indicator": ["asylum_applications"] * 2, "geo": ["NL", "NL"], "period": ["2026-01"] * 2,
                          "period_start": [dt.date(2026, 1, 1)] * 2, "value": [5.0, 6.0], "flag": [None, None]})
    item = observations.Incoming("twice.csv", "0" * 64, "tidy", False, twice)  # past the loader's own check
    with pytest.raises(StoreError, match=r"cannot load twice\.csv: 1 of its keys would be stored twice"):
        observations.apply_load(store, [item], who="ana")
    assert dump(store) == before


def test_a_store_trusts_its_own_writes_but_rechecks_after_another_writer(store, tmp_path):
    catalogue = load_catalogue()
    store.ensure_schema()
    load_files(store, [series_csv(tmp_path / "a.csv", shift=1)], catalogue=catalogue, today=TODAY.date())
    assert store._checked == db.version_key(store.path)  # written from a checked version: no re-check needed
    other = Store(store.path)
    load_files(other, [series_csv(tmp_path / "b.csv", shift=2)], catalogue=catalogue, today=TODAY.date())
    with store.write() as con:  # from a version this Store did not check
        con.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")
    assert store._checked != db.version_key(store.path)
    store.results_path.rename(tmp_path / "aside")  # so its next opening checks, and finds the file gone
    with pytest.raises(StoreError, match="results file of this database is missing"):
        store.ensure_schema()
