"""Opening the database: snapshot readers and copy-on-write writers.

DuckDB 2.0 lets one process write a file and, while it does, locks every other process out,
readers included; a reader in turn blocks a writer. The monitor has many readers (dashboard
sessions are threads of one process) and occasional writers in other processes (``load``,
``scan``). So nothing ever writes the live file in place:

* A writer takes an exclusive ``flock`` on ``<db>.lock`` (bounded wait), copies the live file to a
  private temporary file, writes there, checkpoints (and, when most of the file is free blocks,
  rewrites it compacted), fsyncs and atomically ``os.replace``-s it over the live file. A writer killed at any moment leaves the live file untouched (all or
  nothing, for free); its temporary file is removed by the next writer. Writers take turns: first
  come, first served within a process, with a short gap between two writes of one process so that
  a writer in another process is not starved (``benchmarks/stress.py``).
* A reader attaches the live file read-only, once per file version (inode, mtime, size), to one
  in-memory DuckDB instance kept per process (starting an instance costs ~20 ms), and hands out a
  cursor per use. A replaced file gets a new snapshot under a new name; the old one is detached when
  its last reader finishes. Readers never wait.

``duckdb.connect(path, read_only=True)`` is not used for readers: DuckDB caches instances by
path, so a process would keep reading the replaced file for as long as any connection is open.

The database is two files (schema v11): ``monitor.duckdb`` holds the data (indicators, observations,
revisions, the load log, the audit of loads) and ``monitor.duckdb.results.duckdb`` what scans derive
from it (stored parameters, levels, impact, series state, runs, episodes). A load copies only the
first, a scan or a re-levelling only the second, so neither pays for copying the other. Readers
attach both in one snapshot, under one search path, so a query names tables without their file; a
writer copies the parts it writes and attaches the others read-only. A write of both (a deletion, a
migration, a restore) publishes the results file first and then the data file; killed between the two
``os.replace``, the next writer finishes what its fsynced intent file (``<db>.publish``) lists.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DB = ROOT / "data" / "monitor.duckdb"
SNAPSHOT = "snap"  # readers' catalogs are named snap_<hex>
RESULTS = "_results"  # a results file is attached under the name of its data file's catalog + this


def results_path(path: Path) -> Path:
    """The results file of a database: ``monitor.duckdb`` -> ``monitor.duckdb.results.duckdb``."""
    return path.with_name(path.name + ".results.duckdb")


def _parts(path: Path) -> dict[str, Path]:
    return {"data": path, "results": results_path(path)}


class StoreError(RuntimeError):
    """A problem with the database that the user can act on."""


class StoreBusy(StoreError):
    """Another writer held the database for longer than the wait allows."""


def default_db_path() -> Path:
    """``MONITOR_DB`` if set, else ``data/monitor.duckdb`` in the project folder."""
    return Path(os.environ.get("MONITOR_DB") or DEFAULT_DB)


@dataclass
class _Snapshot:
    key: tuple
    con: duckdb.DuckDBPyConnection
    alias: str  # the data file's catalog in ``con`` (its results file: alias + RESULTS)
    users: int = 0
    retired: bool = False


@dataclass
class _Pool:
    lock: threading.Lock = field(default_factory=threading.Lock)
    snapshots: dict[str, _Snapshot] = field(default_factory=dict)


_POOL = _Pool()


def _file_key(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def version_key(path: Path) -> tuple:
    """An identity of the current version of the database's files (the data file must exist)."""
    results = results_path(path)
    try:
        return (*_file_key(path), *_file_key(results))
    except FileNotFoundError:
        if not path.exists():
            raise
        return (*_file_key(path), None)


_READER: duckdb.DuckDBPyConnection | None = None  # the readers' instance (under _POOL.lock)


def _open_snapshot(path: Path, key: tuple) -> _Snapshot:
    global _READER
    if _READER is None:
        _READER = duckdb.connect(":memory:")
    alias = f"{SNAPSHOT}_{uuid.uuid4().hex[:12]}"
    try:
        _READER.execute(f"ATTACH $path AS {alias} (READ_ONLY)", {"path": str(path)})
        if key[-1] is not None:
            _READER.execute(f"ATTACH $path AS {alias}{RESULTS} (READ_ONLY)", {"path": str(results_path(path))})
    except duckdb.Error:
        _close(_Snapshot(key, _READER, alias))
        raise
    return _Snapshot(key=key, con=_READER, alias=alias)


def _close(snap: _Snapshot) -> None:
    """Detach a snapshot nobody reads any more (under _POOL.lock)."""
    global _READER
    try:
        for name in (snap.alias + RESULTS, snap.alias):
            snap.con.execute(f"DETACH DATABASE IF EXISTS {name}")
    except duckdb.Error:  # an instance a fatal error invalidated: the next snapshot starts a new one
        if _READER is snap.con:
            _READER = None


def _search_path(cur, catalog: str, with_results: bool, *, first: str = "") -> None:
    # Catalog names are this module's own (``snap_<hex>``, ``w_<hex>``), never a file's name. One execute:
    # each costs about 1 ms, and every read sets up its cursor.
    both = f"; SET search_path = '{catalog}.main,{catalog}{RESULTS}.main'" if with_results else ""
    cur.execute(f"{first}USE {catalog}{both}")


def search_both(cur, catalog: str) -> None:
    """Use the data file ``catalog`` again, with its results file on the search path (after a ``USE``)."""
    _search_path(cur, catalog, results_catalog(cur, catalog) is not None)


# In a query of information_schema: the catalogs of a connection's data file and its results file.
CATALOGS = f"(current_database(), current_database() || '{RESULTS}')"


def results_catalog(con, catalog: str | None = None) -> str | None:
    """The name the results file of the data file ``catalog`` (default: the current one) is attached under in
    this connection (None when it has none)."""
    rows = con.execute("SELECT database_name FROM duckdb_databases() "
                       "WHERE database_name = coalesce($c, current_database()) || $s",
                       {"c": catalog, "s": RESULTS}).fetchall()
    return rows[0][0] if rows else None


def _release(snap: _Snapshot) -> None:
    with _POOL.lock:
        snap.users -= 1
        if snap.retired and snap.users == 0:
            _close(snap)


# A name that is not a table must never silently scan a Python variable of the same name.
NO_REPLACEMENTS = "SET python_enable_replacements = false; "


@contextmanager
def read_snapshot(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current version of the file; it sees one consistent version throughout."""
    if not path.exists():
        raise StoreError(f"database {path} does not exist; run `python -m indicators load` first")
    name = str(path)
    with _POOL.lock:
        key = version_key(path)
        snap = _POOL.snapshots.get(name)
        if snap is None or snap.key != key:
            if snap is not None:
                snap.retired = True
                if snap.users == 0:
                    _close(snap)
            snap = _open_snapshot(path, key)
            _POOL.snapshots[name] = snap
        snap.users += 1
    try:
        cur = snap.con.cursor()
        try:
            _search_path(cur, snap.alias, key[-1] is not None, first=NO_REPLACEMENTS)
            yield cur
        finally:
            cur.close()
    finally:
        _release(snap)


def forget_snapshots() -> None:
    """Close every idle snapshot (tests, restore)."""
    with _POOL.lock:
        for name, snap in list(_POOL.snapshots.items()):
            snap.retired = True
            if snap.users == 0:
                _close(snap)
            del _POOL.snapshots[name]


# Writers take turns. Inside a process, threads queue first-come first-served; only the thread at
# the head of the queue polls the file lock, every POLL s. Handing the lock to the next thread of the
# same process waits HANDOFF s first, so that a writer in another process (polling too) gets its turn
# instead of being starved by a busy dashboard.
POLL = 0.01
HANDOFF = 0.03


@dataclass
class _Turns:
    cond: threading.Condition = field(default_factory=threading.Condition)
    queue: deque = field(default_factory=deque)
    released_at: float = 0.0


_TURNS: dict[str, _Turns] = {}
_TURNS_LOCK = threading.Lock()


def _busy(path: Path, timeout: float) -> StoreBusy:
    return StoreBusy(
        f"the database {path.name} is busy: another load, scan or save has been writing "
        f"for more than {timeout:.0f} s; try again in a minute"
    )


@contextmanager
def _my_turn(lock_path: Path, path: Path, deadline: float, timeout: float) -> Iterator[_Turns]:
    with _TURNS_LOCK:
        turns = _TURNS.setdefault(str(lock_path), _Turns())
    me = object()
    with turns.cond:
        turns.queue.append(me)
        while turns.queue[0] is not me:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                turns.queue.remove(me)
                turns.cond.notify_all()
                raise _busy(path, timeout)
            turns.cond.wait(remaining)
    try:
        yield turns
    finally:
        with turns.cond:
            turns.queue.popleft()
            turns.cond.notify_all()


@contextmanager
def exclusive_lock(path: Path, timeout: float) -> Iterator[None]:
    """The writers' lock: an exclusive flock on ``<db>.lock``, waited for at most ``timeout`` s."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with _my_turn(lock_path, path, deadline, timeout) as turns:
        time.sleep(max(0.0, min(turns.released_at + HANDOFF - time.monotonic(), HANDOFF)))
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise _busy(path, timeout) from None
                    time.sleep(POLL)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock
            turns.released_at = time.monotonic()


def _remove_stale(path: Path) -> None:
    # Under the writers' lock no other writer is active: every temporary file is left from a crash.
    for part in _parts(path).values():
        for stale in part.parent.glob(part.name + ".tmp-*"):
            stale.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# Writers attach their private copy to one in-memory DuckDB instance kept per process: starting a
# database instance per write (``duckdb.connect(file)``) cost more than copying an 8 MB file
# (benchmarks/writes.py). A restore (``fresh``) still gets an instance of its own (IMPORT DATABASE).
_WRITER: duckdb.DuckDBPyConnection | None = None
_WRITER_LOCK = threading.Lock()


def _writer() -> duckdb.DuckDBPyConnection:
    global _WRITER
    with _WRITER_LOCK:
        if _WRITER is None:
            _WRITER = duckdb.connect(":memory:")
        return _WRITER


def _drop_writer(owner: duckdb.DuckDBPyConnection) -> None:
    # After a failed write the next one starts a new instance: a fatal DuckDB error invalidates the
    # whole instance, and one bad write must not fail every later write of the process. The old
    # instance closes when its last cursor does.
    global _WRITER
    with _WRITER_LOCK:
        if _WRITER is owner:
            _WRITER = None


# DuckDB never gives a file's free blocks back: a file whose free blocks pass this share of it, and at least
# COMPACT_FREE bytes, is rewritten into a fresh file (``COPY FROM DATABASE``: tables, constraints and sequences)
# before it is published, so the file stays about the size of what it holds. (The floor: a small file, such as
# the data file of a few MB that a 1-row load rewrites a block or two of, would otherwise be rewritten by
# almost every write, 150 ms each at 5,000 series, to save a few MB.)
COMPACT_ABOVE = 0.25
COMPACT_FREE = 8 * 2**20


def _compact(cur, name: str, tmp: Path) -> Path | None:
    """Inside a write, after its checkpoint: a compacted copy of the private file when it is mostly free
    blocks (its path, to publish instead), else None."""
    total, free, block = cur.execute("SELECT total_blocks, free_blocks, block_size FROM pragma_database_size() "
                                     "WHERE database_name = $n", {"n": name}).fetchall()[0]
    if not total or free / total <= COMPACT_ABOVE or free * block < COMPACT_FREE:
        return None
    compact = tmp.with_name(tmp.name + "-compact")
    other = name + "_c"
    cur.execute(f"ATTACH $path AS {other}", {"path": str(compact)})
    try:
        cur.execute(f"COPY FROM DATABASE {name} TO {other}")
        cur.execute(f"CHECKPOINT {other}")
    finally:
        cur.execute(f"DETACH {other}")
    return compact


def _intent_path(path: Path) -> Path:
    return path.with_name(path.name + ".publish")


def _finish_publish(path: Path) -> None:
    """Under the writers' lock: finish a write of both files that was killed between its replaces."""
    intent = _intent_path(path)
    try:
        pairs = json.loads(intent.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except ValueError:  # killed while writing its intent: nothing was replaced yet
        pairs = []
    for final, target in pairs:
        if Path(final).exists():
            os.replace(final, target)
    _fsync(path.parent)
    intent.unlink(missing_ok=True)


def finish_interrupted(path: Path, timeout: float) -> None:
    """Finish a write of both files killed between its replaces (readers until then see the new results
    with the old data)."""
    if _intent_path(path).exists():
        with exclusive_lock(path, timeout):
            _finish_publish(path)


def _publish(path: Path, pairs: list[tuple[Path, Path]]) -> None:
    """Replace each target by its fsynced copy; more than one: their intent is made durable first."""
    intent = _intent_path(path) if len(pairs) > 1 else None
    if intent is not None:
        with intent.open("w", encoding="utf-8") as fh:
            json.dump([[str(final), str(target)] for final, target in pairs], fh)
            fh.flush()
            os.fsync(fh.fileno())
        _fsync(path.parent)
    for final, target in pairs:
        os.replace(final, target)
    _fsync(path.parent)
    if intent is not None:
        intent.unlink()


@dataclass
class _Part:
    target: Path
    alias: str
    tmp: Path | None  # None: the live file, attached read-only
    final: Path | None = None  # what is published: the private copy, or its compacted rewrite


@contextmanager
def _attached(parts: list[_Part], fresh: bool) -> Iterator[duckdb.DuckDBPyConnection]:
    # A restore (``fresh``) gets an instance of its own (IMPORT DATABASE); other writes share one per process.
    owner = duckdb.connect(":memory:") if fresh else _writer()
    cur = owner.cursor()
    attached: list[str] = []
    failed = False
    try:
        cur.execute("SET python_enable_replacements = false")
        for part in parts:
            mode = "" if part.tmp is not None else " (READ_ONLY)"
            cur.execute(f"ATTACH $path AS {part.alias}{mode}", {"path": str(part.tmp or part.target)})
            attached.append(part.alias)
        _search_path(cur, parts[0].alias, len(parts) > 1)
        yield cur
        cur.execute("USE memory")
        for part in parts:
            if part.tmp is not None:
                cur.execute(f"CHECKPOINT {part.alias}")
                part.final = _compact(cur, part.alias, part.tmp) or part.tmp
    except BaseException:
        failed = True
        _drop_writer(owner)
        raise
    finally:
        try:
            if attached:
                cur.execute("USE memory")
                for alias in reversed(attached):
                    cur.execute(f"DETACH {alias}")
        except duckdb.Error:
            _drop_writer(owner)
            if not failed:  # not published: write_copy removes the copies
                raise
        finally:
            cur.close()
            if fresh:
                owner.close()


@contextmanager
def write_copy(path: Path, timeout: float, *, parts: tuple[str, ...] = ("data",), fresh: bool = False,
               versions: list | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on private copies of the ``parts`` written ("data", "results"; the other
    attached read-only), published atomically if the block succeeds.

    ``fresh`` starts the parts written from empty databases instead of copies (a restore replaces everything).
    ``versions``, given, receives the files' ``version_key`` as the write found them and as it published
    them, both taken under the writers' lock (None for files that did not exist).
    """
    with exclusive_lock(path, timeout):
        _finish_publish(path)
        _remove_stale(path)
        if versions is not None:
            versions.append(version_key(path) if path.exists() else None)
        token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        alias = f"w_{uuid.uuid4().hex[:12]}"
        plan: list[_Part] = []
        for kind, target in _parts(path).items():
            name = alias if kind == "data" else alias + RESULTS
            if kind in parts:
                tmp = target.with_name(f"{target.name}.tmp-{token}")
                if target.exists() and not fresh:
                    shutil.copyfile(target, tmp)
                plan.append(_Part(target, name, tmp))
            elif target.exists():
                plan.append(_Part(target, name, None))
        written = [part for part in plan if part.tmp is not None]
        try:
            with _attached(plan, fresh) as con:
                yield con
            for part in written:
                _fsync(part.final)
            _publish(path, [(part.final, part.target) for part in reversed(written)])  # results, then data
            if versions is not None:
                versions.append(version_key(path))
        except BaseException:
            if not _intent_path(path).exists():  # else the next writer finishes publishing them
                for part in written:
                    for leftover in (part.tmp, part.final):
                        if leftover is not None:
                            leftover.unlink(missing_ok=True)
            raise
        finally:
            for part in written:
                for leftover in (part.tmp, part.final):
                    if leftover is not None:
                        Path(str(leftover) + ".wal").unlink(missing_ok=True)
                if part.final is not None and part.final != part.tmp:
                    part.tmp.unlink(missing_ok=True)
