"""The DuckDB store: the only place in the project with SQL.

``Store`` opens one database file. ``store.read()`` gives a cursor on a consistent snapshot
(never blocked); ``store.write()`` gives a connection whose changes are published atomically
when the block ends without error (and discarded otherwise). ``store.journal`` is the file beside
it that holds the small writes people make between scans (reviews, events, digest records), written
in place (``journal.py``). Domain functions live in the submodules (``observations``, ``events``,
``audit``, ...) and take a ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from indicators.store import db, schema
from indicators.store.db import StoreBusy, StoreError, default_db_path
from indicators.store.journal import Journal, journal_path

__all__ = ["Store", "StoreBusy", "StoreError", "copy_database", "default_db_path", "open_store"]


def _utcnow() -> datetime:
    return datetime.now().replace(microsecond=0)


class Store:
    """One monitor database file."""

    def __init__(self, path: str | Path | None = None, *, lock_timeout: float = 30.0,
                 clock: Callable[[], datetime] = _utcnow):
        self.path = Path(path) if path else default_db_path()
        self.path = self.path.resolve()
        self.lock_timeout = lock_timeout
        self.clock = clock
        self.journal = Journal(journal_path(self.path), lock_timeout)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the current version of the database (see ``db.read_snapshot``)."""
        with db.read_snapshot(self.path) as cur:
            yield cur

    @contextmanager
    def write(self, *, fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose changes are published atomically when the block succeeds (``fresh``: on an
        empty database that replaces the current one, for a restore)."""
        with db.write_copy(self.path, self.lock_timeout, fresh=fresh) as con:
            yield con

    def version(self) -> tuple[int, int, int, int]:
        """An identity of the current version of the database and its journal (changes with every published
        write of either)."""
        return (*db._file_key(self.path), self.journal.changes())

    def schema_version(self) -> int:
        with self.read() as cur:
            return schema.version_of(cur)

    def ensure_schema(self) -> None:
        """Create or migrate the schema of the database and its journal (a write only when needed)."""
        if not (self.path.exists() and self.schema_version() == schema.CURRENT_VERSION):
            with self.write() as con:
                schema.migrate(con, self.clock(), self.journal)
        with self.read() as cur:
            schema.check_journal(cur, self.journal)


def copy_database(source: str | Path, target: str | Path) -> Path:
    """Copy a database file and its journal to ``target`` (nothing may be writing ``source``); returns ``target``.
    A database moved without its journal loses its reviews and events: ``ensure_schema`` then refuses it."""
    import shutil

    from indicators.store.journal import copy_file

    source, target = Path(source), Path(target)
    shutil.copyfile(source, target)
    if journal_path(source).exists():
        copy_file(journal_path(source), journal_path(target), live=True)
    return target


def open_store(path: str | Path | None = None, **kwargs) -> Store:
    """A ``Store`` on ``path`` (default: ``MONITOR_DB`` or ``data/monitor.duckdb``), schema ensured."""
    store = Store(path, **kwargs)
    store.ensure_schema()
    return store
