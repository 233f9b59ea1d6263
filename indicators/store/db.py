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
* A reader attaches the live file read-only in an in-memory DuckDB instance kept per file
  version (inode, mtime, size) and hands out a cursor per use. A replaced file gets a new
  snapshot; the old one is closed when its last reader finishes. Readers never wait.

``duckdb.connect(path, read_only=True)`` is not used for readers: DuckDB caches instances by
path, so a process would keep reading the replaced file for as long as any connection is open.
"""

from __future__ import annotations

import fcntl
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
SNAPSHOT = "snap"


class StoreError(RuntimeError):
    """A problem with the database that the user can act on."""


class StoreBusy(StoreError):
    """Another writer held the database for longer than the wait allows."""


def default_db_path() -> Path:
    """``MONITOR_DB`` if set, else ``data/monitor.duckdb`` in the project folder."""
    return Path(os.environ.get("MONITOR_DB") or DEFAULT_DB)


@dataclass
class _Snapshot:
    key: tuple[int, int, int]
    con: duckdb.DuckDBPyConnection
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


def _open_snapshot(path: Path, key: tuple[int, int, int]) -> _Snapshot:
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH $path AS {SNAPSHOT} (READ_ONLY)", {"path": str(path)})
    return _Snapshot(key=key, con=con)


def _release(snap: _Snapshot) -> None:
    with _POOL.lock:
        snap.users -= 1
        if snap.retired and snap.users == 0:
            snap.con.close()


def _cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    cur = con.cursor()
    # A name that is not a table must never silently scan a Python variable of the same name.
    cur.execute("SET python_enable_replacements = false")
    return cur


@contextmanager
def read_snapshot(path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on the current version of the file; it sees one consistent version throughout."""
    if not path.exists():
        raise StoreError(f"database {path} does not exist; run `python -m indicators load` first")
    name = str(path)
    with _POOL.lock:
        key = _file_key(path)
        snap = _POOL.snapshots.get(name)
        if snap is None or snap.key != key:
            if snap is not None:
                snap.retired = True
                if snap.users == 0:
                    snap.con.close()
            snap = _open_snapshot(path, key)
            _POOL.snapshots[name] = snap
        snap.users += 1
    try:
        cur = _cursor(snap.con)
        try:
            cur.execute(f"USE {SNAPSHOT}")
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
                snap.con.close()
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
    for stale in path.parent.glob(path.name + ".tmp-*"):
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


# DuckDB never gives a file's free blocks back: a file whose free blocks pass this share of it is
# rewritten into a fresh file (``COPY FROM DATABASE``: tables, constraints and sequences) before it is
# published, so the file stays about the size of what it holds.
COMPACT_ABOVE = 0.25


def _compact(cur, name: str, tmp: Path) -> Path | None:
    """Inside a write, after its checkpoint: a compacted copy of the private file when it is mostly free
    blocks (its path, to publish instead), else None."""
    total, free = cur.execute("SELECT total_blocks, free_blocks FROM pragma_database_size() "
                              "WHERE database_name = $n", {"n": name}).fetchall()[0]
    if not total or free / total <= COMPACT_ABOVE:
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


@contextmanager
def _attached(tmp: Path, publish: list[Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    name = f"w_{uuid.uuid4().hex[:12]}"
    owner = _writer()
    cur = owner.cursor()
    attached = failed = False
    try:
        cur.execute("SET python_enable_replacements = false")
        cur.execute(f"ATTACH $path AS {name}", {"path": str(tmp)})
        attached = True
        cur.execute(f"USE {name}")
        yield cur
        cur.execute(f"CHECKPOINT {name}")
        cur.execute("USE memory")
        compacted = _compact(cur, name, tmp)
        if compacted is not None:
            publish.append(compacted)
    except BaseException:
        failed = True
        _drop_writer(owner)
        raise
    finally:
        try:
            if attached:
                cur.execute("USE memory")
                cur.execute(f"DETACH {name}")
        except duckdb.Error:
            _drop_writer(owner)
            if not failed:  # not published: write_copy removes the copy
                raise
        finally:
            cur.close()


@contextmanager
def _own_instance(tmp: Path, publish: list[Path]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET python_enable_replacements = false")
        yield con
        con.execute("CHECKPOINT")
    finally:
        con.close()


@contextmanager
def write_copy(path: Path, timeout: float, *, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection on a private copy, published atomically if the block succeeds.

    ``fresh`` starts from an empty database instead of a copy (a restore replaces everything).
    """
    with exclusive_lock(path, timeout):
        _remove_stale(path)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        if path.exists() and not fresh:
            shutil.copyfile(path, tmp)
        publish: list[Path] = []
        try:
            with (_own_instance if fresh else _attached)(tmp, publish) as con:
                yield con
            final = publish[0] if publish else tmp
            _fsync(final)
            os.replace(final, path)
            _fsync(path.parent)
        except BaseException:
            for leftover in (tmp, *publish):
                leftover.unlink(missing_ok=True)
            raise
        finally:
            for leftover in (tmp, *publish):
                Path(str(leftover) + ".wal").unlink(missing_ok=True)
            if publish:
                tmp.unlink(missing_ok=True)
