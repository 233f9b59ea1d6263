"""Crash safety: a load, a scan or a restore killed with SIGKILL at any moment leaves a database that
opens, with the file either fully loaded or not at all and the previous scan results readable.

Each case runs the operation in a child process on a copy of a populated database and kills it:
deterministically at two moments while it holds the writers' lock (``in_write``: rows written to the
private copy, not yet checkpointed; ``before_publish``: the copy complete and synced, just before the
atomic replace), through hooks the child installs on itself, and after random delays. The state
found afterwards must equal the state before or the state after the same operation run to the end.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, StoreError, copy_database, open_store
from indicators.store.backup import backup, restore
from indicators.store.db import forget_snapshots
from monitoring.pipeline.scan import scan
from monitoring.settings import MonitorSettings
from tests.populated import TODAY, master_copy, series_csv

ROOT = Path(__file__).resolve().parents[1]
WAIT = 120  # bounded waits for the child (seconds); never a timed assertion

CHILD = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
mode, action, db, arg, marker = sys.argv[2:]
import pandas as pd
from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, db as store_db, observations, results
from indicators.store.backup import restore
from monitoring.pipeline.scan import scan
from monitoring.settings import MonitorSettings

def pause(where):
    Path(marker).write_text(where)
    time.sleep(600)

def after(module, name):
    original = getattr(module, name)
    def hooked(*args, **kwargs):
        out = original(*args, **kwargs)
        pause(mode)
        return out
    setattr(module, name, hooked)

if mode == "in_write":
    after(observations, "_apply") if action == "load" else after(results, "_write_levels")
elif mode == "before_publish":
    original_fsync = store_db._fsync
    def fsync(path):
        original_fsync(path)
        if ".tmp-" in Path(path).name:
            pause(mode)
    store_db._fsync = fsync
elif mode == "after_publish":  # a restore: the database published, its journal not yet committed
    original_replace = store_db.os.replace
    class _Os:
        def __getattr__(self, name):
            return getattr(os, name)
        def replace(self, src, dst):
            original_replace(src, dst)
            pause(mode)
    import os
    store_db.os = _Os()
store = Store(db)
print("ready", flush=True)
if action == "load":
    load_files(store, [arg], catalogue=load_catalogue(), today=pd.Timestamp("2026-11-26").date())
elif action == "scan":
    scan(store, load_catalogue(), MonitorSettings(), today=pd.Timestamp("2026-11-26"), workers=1)
else:
    restore(store, arg)
print("done", flush=True)
"""


def state(store: Store) -> dict:
    """What must be all-or-nothing, without load times (they differ between runs)."""
    forget_snapshots()
    with store.read() as cur:
        q = {
            "observations": "SELECT indicator, geo, period, value, flag FROM observations ORDER BY ALL",
            "revisions": "SELECT indicator, geo, period, value, flag, replaced_by_load FROM revisions ORDER BY ALL",
            "loads": "SELECT id, file, rows_new, rows_revised FROM loads ORDER BY id",
            "runs": "SELECT id, series_refitted, periods_scored FROM runs ORDER BY id",
            "results": "SELECT indicator, geo, period, level, expected, upper FROM results ORDER BY ALL",
        }
        found = {k: cur.execute(sql).fetchall() for k, sql in q.items()}
    with store.journal.read() as j:  # the journal's side of a restore
        found["events"] = j.execute("SELECT id, label FROM events ORDER BY id").fetchall()
        found["reviews"] = j.execute("SELECT episode_id, status FROM reviews ORDER BY episode_id").fetchall()
        found["audit"] = j.execute("SELECT id, action FROM audit ORDER BY id").fetchall()
    return found


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    """Per action: the database before, the argument, and the state after running it to the end."""
    folder = tmp_path_factory.mktemp("crash")
    catalogue = load_catalogue()
    out = {}
    base = master_copy(tmp_path_factory, folder / "load-before.duckdb")
    revised = series_csv(folder / "revised.csv", shift=40)
    out["load"] = (base.path, str(revised))
    # A scan with work to do: data loaded since the last scan.
    scan_base = master_copy(tmp_path_factory, folder / "scan-before.duckdb")
    load_files(scan_base, [series_csv(folder / "for-scan.csv", shift=25)], catalogue=catalogue, today=TODAY.date())
    out["scan"] = (scan_base.path, "")
    restore_base = master_copy(tmp_path_factory, folder / "restore-before.duckdb")
    backup(restore_base, folder / "bk")
    load_files(restore_base, [series_csv(folder / "after-bk.csv", shift=60)], catalogue=catalogue,
               today=TODAY.date())
    out["restore"] = (restore_base.path, str(folder / "bk"))
    expected = {}
    for action, (db, arg) in out.items():
        ref = Store(folder / f"{action}-after.duckdb")
        copy_database(db, ref.path)
        started = time.perf_counter()
        if action == "load":
            load_files(ref, [arg], catalogue=catalogue, today=TODAY.date())
        elif action == "scan":
            scan(ref, catalogue, MonitorSettings(), today=TODAY, workers=1)
        else:
            restore(ref, arg)
        expected[action] = (state(Store(db)), state(ref), time.perf_counter() - started)
    return out, expected


def _kill_child(db: Path, action: str, arg: str, mode: str, delay: float | None, marker: Path) -> str:
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(ROOT), mode, action, str(db), arg, str(marker)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([child.stdout], [], [], WAIT)
        assert ready and child.stdout.readline().strip() == "ready", child.stderr.read()
        if delay is not None:
            time.sleep(delay)
        else:
            deadline = time.monotonic() + WAIT
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert marker.exists(), f"the child never reached {mode}: {child.stderr.read()}"
        finished = child.poll() is not None
        if not finished:
            os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(WAIT)
    return "finished before the kill" if finished else "killed"


def _check(db: Path, action: str, before: dict, after: dict) -> str:
    store = open_store(db)  # opens (and needs no repair)
    found = state(store)
    assert found in (before, after), "a state that is neither before nor after the operation"
    for table in ("observations", "revisions", "loads"):  # each file fully loaded or not at all
        assert found[table] == (after if found["loads"] == after["loads"] else before)[table]
    assert found["results"], "the previous scan results are readable"
    with store.write() as con:  # the lock was released and the next writer cleans up
        con.execute("SELECT 1")
    assert not list(db.parent.glob(db.name + ".tmp-*"))
    return "after" if found == after != before else "before"


DETERMINISTIC = [(a, m) for a in ("load", "scan") for m in ("in_write", "before_publish")] + [
    ("restore", "before_publish")]


@pytest.mark.parametrize(("action", "mode"), DETERMINISTIC)
def test_killed_while_holding_the_write_lock_changes_nothing(cases, tmp_path, action, mode):
    paths, expected = cases
    db = tmp_path / "m.duckdb"
    copy_database(paths[action][0], db)
    before, after, _ = expected[action]
    assert before != after  # the operation does change something
    outcome = _kill_child(db, action, paths[action][1], mode, None, tmp_path / "marker")
    assert outcome == "killed"
    assert list(tmp_path.glob("m.duckdb*.tmp-*")), "the kill left the private copy behind"
    assert _check(db, action, before, after) == "before"


@pytest.mark.parametrize("action", ["load", "scan"])
@pytest.mark.parametrize("seed", [1, 2])
def test_killed_after_a_random_delay_is_all_or_nothing(cases, tmp_path, action, seed):
    paths, expected = cases
    db = tmp_path / "m.duckdb"
    copy_database(paths[action][0], db)
    before, after, duration = expected[action]
    delay = random.Random(f"{action}{seed}").uniform(0, duration * 1.2)
    _kill_child(db, action, paths[action][1], "none", delay, tmp_path / "marker")
    _check(db, action, before, after)


def test_a_restore_killed_midway_can_be_run_again(cases, tmp_path):
    paths, expected = cases
    db = tmp_path / "m.duckdb"
    copy_database(paths["restore"][0], db)
    _kill_child(db, "restore", paths["restore"][1], "before_publish", None, tmp_path / "marker")
    restore(Store(db), paths["restore"][1])
    assert state(Store(db)) == expected["restore"][1]
    with pytest.raises(StoreError):
        restore(Store(db), tmp_path)  # and a bad folder still changes nothing


def test_a_restore_killed_between_the_database_and_its_journal_says_so_and_can_be_run_again(cases, tmp_path):
    paths, expected = cases
    db = tmp_path / "m.duckdb"
    copy_database(paths["restore"][0], db)
    before_events = state(Store(db))["events"]
    assert _kill_child(db, "restore", paths["restore"][1], "after_publish", None, tmp_path / "marker") == "killed"
    forget_snapshots()
    assert state(Store(db))["events"] == before_events  # the journal as it was: its transaction never committed
    with pytest.raises(StoreError, match=r"a restore of this database was interrupted .* run the same restore again"):
        open_store(db)
    restore(Store(db), paths["restore"][1])
    forget_snapshots()
    open_store(db)  # whole again
    found, wanted = state(Store(db)), expected["restore"][1]
    assert {k: v for k, v in found.items() if k != "audit"} == {k: v for k, v in wanted.items() if k != "audit"}
