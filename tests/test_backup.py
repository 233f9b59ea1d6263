"""Backup and restore (DuckDB EXPORT / IMPORT DATABASE): a round trip, ids never reused, audit kept,
and folders that are not backups refused with a clear message."""

from __future__ import annotations

import io
import json
import re
import shutil
import threading
from pathlib import Path

import pytest

from indicators.__main__ import main
from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, StoreError, events, results, schema
from indicators.store.audit import read_audit
from indicators.store.backup import backup, restore
from indicators.store.observations import dump
from indicators.store.schema import CURRENT_VERSION
from tests.populated import TODAY, master_copy, series_csv


@pytest.fixture
def db(tmp_path_factory, tmp_path) -> Store:
    return master_copy(tmp_path_factory, tmp_path / "m.duckdb")


def _without_audit(tables: dict) -> dict:
    # A restore's own traces: its audit row and the token that ties the restored database to its journal.
    kept = {k: v for k, v in tables.items() if k not in ("audit", "journal.audit")}
    for name in ("meta", "journal.meta"):
        kept[name] = [r for r in kept.get(name, []) if r[0] not in ("restore_token", "changes")]
    return kept


def test_round_trip_restores_every_table_exactly(db, tmp_path):
    before = dump(db)
    assert all(before[t] for t in ("observations", "revisions", "scores", "results", "episodes",
                                   "journal.episode_actions", "journal.reviews", "journal.settings_log", "runs",
                                   "journal.events", "loads", "audit", "journal.audit"))  # something to compare
    manifest = backup(db, tmp_path / "bk")
    assert {**manifest["tables"], **manifest["results_tables"]} == {
        t: len(rows) for t, rows in before.items() if not t.startswith("journal.")}
    assert set(manifest["results_tables"]) == {*schema.RESULT_TABLES, "results_meta"}  # the results file's own export
    assert manifest["journal_tables"] == {t[8:]: len(rows) for t, rows in before.items() if t.startswith("journal.")}
    target = Store(tmp_path / "restored.duckdb")
    report = restore(target, tmp_path / "bk", who="admin")
    after = dump(target)
    assert _without_audit(after) == _without_audit(before)
    assert after["audit"][:-1] == before["audit"]
    last = read_audit(target).iloc[-1]
    assert (last["who"], last["action"], last["target"]) == ("admin", "restore", str(tmp_path / "bk"))
    assert report.rows == sum(len(rows) for rows in before.values())


def test_restore_rolls_back_data_but_keeps_later_audit_rows_and_never_reuses_ids(db, tmp_path):
    catalogue = load_catalogue()
    backup(db, tmp_path / "bk")
    at_backup = dump(db)
    # Changes after the backup: a load with revisions, an event, a settings save.
    load_files(db, [series_csv(tmp_path / "later.csv", shift=50)], catalogue=catalogue, today=TODAY.date())
    later_event = events.add_event(db, "2026-06-01", "later", "bo")
    later_settings = results.save_settings(db, "{}", who="bo", reason="later")
    later_audit = read_audit(db)
    report = restore(db, tmp_path / "bk", who="admin")
    now = dump(db)
    assert _without_audit(now) == _without_audit(at_backup)
    # The audit log lost nothing: every row logged before the restore, then the restore itself.
    assert read_audit(db).iloc[:-1].equals(later_audit)
    assert report.audit_rows_kept == len(later_audit) - len(at_backup["audit"]) - len(at_backup["journal.audit"]) == 3
    # Sequences continue past every id handed out, before or after the backup.
    assert events.add_event(db, "2026-07-01", "after restore", "bo") == later_event + 1
    assert results.save_settings(db, "{}", who="bo", reason="again") == later_settings + 1
    [report_load] = load_files(db, [series_csv(tmp_path / "again.csv", shift=9)], catalogue=catalogue,
                               today=TODAY.date())
    assert report_load.load_id == 4  # loads 1, 2 (backup), 3 (later, rolled back) -> 4
    ids = read_audit(db)["id"].tolist()
    assert ids == sorted(set(ids))


def test_restore_into_a_damaged_database_file_says_nothing_could_be_kept(db, tmp_path):
    backup(db, tmp_path / "bk")
    expected = _without_audit(dump(db))
    db.path.write_bytes(b"not a database" * 100)
    report = restore(db, tmp_path / "bk")
    assert report.note.startswith("the current database could not be read (")
    assert report.note.endswith("); no audit rows were carried over")
    assert _without_audit(dump(db)) == expected


def _folder(tmp_path, db, change) -> Path:
    folder = tmp_path / "bk"
    backup(db, folder)
    change(folder)
    return folder


def _edit_manifest(**values):
    def change(folder):
        data = json.loads((folder / "backup.json").read_text())
        data.update(values)
        (folder / "backup.json").write_text(json.dumps(data))
    return change


def _damaged(folder):
    data = json.loads((folder / "backup.json").read_text())
    data["tables"]["observations"] += 1
    (folder / "backup.json").write_text(json.dumps(data))


REFUSED = {
    "missing folder": (lambda f: shutil.rmtree(f), "cannot restore from {f}: no such folder"),
    "no manifest": (lambda f: (f / "backup.json").unlink(),
                    "cannot restore from {f}: it is not a backup made by `python -m indicators backup` "
                    "(no backup.json)"),
    "manifest not JSON": (lambda f: (f / "backup.json").write_text("{"),
                          "cannot restore from {f}: it is not a backup made by `python -m indicators backup` "
                          "(backup.json is not valid JSON)"),
    "other JSON": (_edit_manifest(kind="something else"),
                   "cannot restore from {f}: it is not a backup made by `python -m indicators backup` "
                   "(backup.json is not a backup manifest)"),
    "no schema": (lambda f: (f / "schema.sql").unlink(),
                  "cannot restore from {f}: it is not a backup made by `python -m indicators backup` "
                  "(no schema.sql)"),
    "a script that is not an export": (
        lambda f: (f / "load.sql").write_text("\nCOPY audit TO '/tmp/x.csv';\n"),
        "cannot restore from {f}: it is not a backup made by `python -m indicators backup` (load.sql, line 2: a "
        "statement EXPORT DATABASE does not write)"),
    "newer schema": (_edit_manifest(schema_version=99),
                     "cannot restore from {f}: the backup has schema version 99, newer than this program's "
                     f"{CURRENT_VERSION}; upgrade the program"),
    "a table file edited after the backup": (
        lambda f: (f / "audit.parquet").write_bytes((f / "audit.parquet").read_bytes()[:-1] + b"\0"),
        "cannot restore from {f}: audit.parquet does not match its checksum in backup.json; the backup was "
        "changed after it was made"),
    "a file added to the backup": (
        lambda f: (f / "extra.parquet").write_bytes(b"PAR1"),
        "cannot restore from {f}: extra.parquet is not part of the backup; refusing a changed backup"),
    "a file removed from the backup": (
        lambda f: (f / "loads.parquet").unlink(),
        "cannot restore from {f}: loads.parquet is missing; the backup is incomplete"),
    "row count mismatch": (_damaged,
                           "cannot restore from {f}: the backup is damaged (table observations has 351 rows; "
                           "the manifest says 352)"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_folder_that_is_not_a_good_backup_is_refused_and_changes_nothing(db, tmp_path, case):
    change, message = REFUSED[case]
    folder = _folder(tmp_path, db, change)
    before = db.path.read_bytes()
    with pytest.raises(StoreError) as info:
        restore(db, folder)
    assert str(info.value) == message.format(f=folder)
    assert db.path.read_bytes() == before
    assert not list(db.path.parent.glob("m.duckdb.tmp-*"))


def test_a_backup_folder_whose_path_holds_an_apostrophe_round_trips(db, tmp_path):
    folder = tmp_path / "GAM's backups" / "b1"
    backup(db, folder)
    target = Store(tmp_path / "restored.duckdb")
    restore(target, folder, who="admin")
    assert _without_audit(dump(target)) == _without_audit(dump(db))


def test_backup_refuses_a_folder_that_is_not_empty(db, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(StoreError) as info:
        backup(db, tmp_path / "full")
    assert str(info.value) == f"cannot back up into {tmp_path / 'full'}: it is not an empty folder; choose a new folder"


def test_a_backup_is_not_held_up_by_a_writer(db, tmp_path):
    entered, release = threading.Event(), threading.Event()

    def writer():
        with db.write():
            entered.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert entered.wait(30)
        backup(db, tmp_path / "bk")  # reads a snapshot: returns while the writer still holds the lock
        assert thread.is_alive()
    finally:
        release.set()
        thread.join()
    assert (tmp_path / "bk" / "backup.json").exists()


def test_cli_backup_restore_and_audit(db, tmp_path):
    def run(*argv):
        out, err = io.StringIO(), io.StringIO()
        code = main([str(a) for a in argv], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    folder = tmp_path / "cli-bk"
    code, out, err = run("backup", folder, "--db", db.path)
    assert (code, err) == (0, "")
    tables = dump(db)  # every table of the schema, counted, not assumed
    assert out == f"backed up {db.path} into {folder}: {len(tables)} tables, {sum(map(len, tables.values()))} rows\n"
    events.add_event(db, "2026-06-01", "later", "bo")
    live = db.path.read_bytes()
    code, out, err = run("restore", folder, "--db", db.path, "--who", "admin")  # no --yes: only a list
    lines = out.splitlines()
    assert (code, err) == (1, "") and db.path.read_bytes() == live
    assert lines[0] == f"Restoring {folder} would replace {db.path} and undo 1 change made since the backup:"
    assert re.fullmatch(r"  \d{4}-\d\d-\d\d \d\d:\d\d bo: event\.add event \d+", lines[1])
    assert lines[2].startswith("Nothing was changed.")
    code, out, err = run("restore", folder, "--db", db.path, "--who", "admin", "--yes")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith(f"restored {db.path} from {folder} (backup of ")
    assert lines[0].endswith("; 1 audit row logged since the backup kept")
    saved = Path(lines[1].removeprefix("the database it replaced is backed up in "))
    assert saved.parent == db.path.parent and (saved / "backup.json").exists()
    assert re.fullmatch(r"  undone: \d{4}-\d\d-\d\d \d\d:\d\d bo: event\.add event \d+", lines[2])
    # the replaced database is a real backup: restoring it brings the later event back
    code, _, _ = run("restore", saved, "--db", db.path, "--yes")
    assert code == 0 and "later" in set(events.list_events(db)["label"])
    code, out, err = run("restore", tmp_path, "--db", db.path, "--yes")
    assert (code, out) == (1, "")
    assert err == (f"error: cannot restore from {tmp_path}: it is not a backup made by `python -m indicators "
                   "backup` (no backup.json)\n")


def test_a_backup_made_before_schema_v10_restores_with_its_settings_moved_into_the_journal(tmp_path):
    """tests/data/backup-v9: made by the v9 code (80b3614) from tests/data/good.csv, scanned on 20 Nov,
    thresholds saved on 21 Nov: settings in the database file, a journal without them."""
    from monitoring.pipeline import levelling
    from monitoring.settings import parse_settings

    folder = tmp_path / "bk"
    shutil.copytree(Path(__file__).parent / "data" / "backup-v9", folder)
    store = Store(tmp_path / "m.duckdb")
    restore(store, folder, who="bo")
    assert store.schema_version() == CURRENT_VERSION
    log = results.settings_log(store)
    assert log[["id", "who", "reason"]].values.tolist() == [[1, "ana", "stricter, agreed 21 Nov"]]
    assert parse_settings(json.loads(log["settings"].iloc[0])).levels.alert_alpha == 0.002
    # the stored levels were made by that save (after the scan): at its settings, nothing to re-level
    assert results.levelled_settings(store) == log["settings"].iloc[0] and levelling.pending(store) is None
    assert results.save_settings(store, "{}", who="bo", reason="after the restore") == 2
    assert read_audit(store)["id"].is_unique
