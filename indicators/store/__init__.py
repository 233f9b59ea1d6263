"""The DuckDB store: the only place in the project with SQL.

``Store`` opens one database file. ``store.read()`` gives a cursor on a consistent snapshot
(never blocked); ``store.write()`` gives a connection whose changes are published atomically
when the block ends without error (and discarded otherwise). Domain functions live in the
submodules (``observations``, ``events``, ``audit``, ...) and take a ``Store``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from indicators.store import db, schema
from indicators.store.db import StoreBusy, StoreError, default_db_path

__all__ = ["Store", "StoreBusy", "StoreError", "default_db_path", "open_store"]


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

    def version(self) -> tuple[int, int, int]:
        """An identity of the current file version (changes with every published write)."""
        return db._file_key(self.path)

    def schema_version(self) -> int:
        with self.read() as cur:
            return schema.version_of(cur)

    def ensure_schema(self) -> None:
        """Create or migrate the schema (a write only when needed)."""
        if self.path.exists() and self.schema_version() == schema.CURRENT_VERSION:
            return
        with self.write() as con:
            schema.migrate(con, self.clock())


def open_store(path: str | Path | None = None, **kwargs) -> Store:
    """A ``Store`` on ``path`` (default: ``MONITOR_DB`` or ``data/monitor.duckdb``), schema ensured."""
    store = Store(path, **kwargs)
    store.ensure_schema()
    return store
