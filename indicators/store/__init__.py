"""The DuckDB store: the only place in the project with SQL.

``Store`` opens one database: its data file and, beside it, the file of what scans derive from it
(``db.results_path``). ``store.read()`` gives a cursor on a consistent snapshot of both (never
blocked); ``store.write()`` gives a connection whose changes are published atomically when the block
ends without error (and discarded otherwise); it writes the data file, ``results=True`` the results
file too, ``data=False`` only that. ``store.journal`` is the file beside
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
        self._checked: tuple | None = None  # the files' version ensure_schema last found whole

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the current version of the database (see ``db.read_snapshot``)."""
        with db.read_snapshot(self.path) as cur:
            yield cur

    @contextmanager
    def write(self, *, data: bool = True, results: bool = False,
              fresh: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection whose changes are published atomically when the block succeeds. It writes the data
        file (``data``) and/or the results file (``results``); a file not written is attached read-only.
        ``fresh``: on empty files that replace the current ones, for a restore."""
        parts = (("data",) if data else ()) + (("results",) if results else ())
        versions: list = []
        with db.write_copy(self.path, self.lock_timeout, parts=parts, fresh=fresh, versions=versions) as con:
            yield con
        if not fresh and versions[0] is not None and versions[0] == self._checked:
            self._checked = versions[1]  # written from a version ensure_schema found whole: so is this one

    @property
    def results_path(self) -> Path:
        return db.results_path(self.path)

    def version(self) -> tuple:
        """An identity of the current version of the database's files and its journal (changes with every
        published write of any)."""
        return (*db.version_key(self.path), self.journal.changes())

    def schema_version(self) -> int:
        with self.read() as cur:
            return schema.version_of(cur)

    def ensure_schema(self) -> None:
        """Create or migrate the schema of the database and its journal (a write only when needed), and finish
        a write of both its files that was killed midway."""
        db.finish_interrupted(self.path, self.lock_timeout)
        if self.path.exists() and self._checked == db.version_key(self.path):
            return  # checked at this version of the files already (a load or save calls this each time)
        if not (self.path.exists() and self.schema_version() == schema.CURRENT_VERSION):
            with self.write(results=True) as con:
                schema.migrate(con, self.clock(), self.journal)
        key = db.version_key(self.path)
        with self.read() as cur:
            schema.check_journal(cur, self.journal)
            schema.check_results(cur, self.results_path)
        self._checked = key


def copy_database(source: str | Path, target: str | Path) -> Path:
    """Copy a database (its data file, results file and journal) to ``target`` (nothing may be writing
    ``source``); returns ``target``. A database moved without its journal loses its reviews and events, without
    its results file its levels and episodes: ``ensure_schema`` then refuses it."""
    import shutil

    from indicators.store.journal import copy_file

    source, target = Path(source), Path(target)
    shutil.copyfile(source, target)
    if db.results_path(source).exists():
        shutil.copyfile(db.results_path(source), db.results_path(target))
    else:
        db.results_path(target).unlink(missing_ok=True)
    if journal_path(source).exists():
        copy_file(journal_path(source), journal_path(target), live=True)
    return target


def open_store(path: str | Path | None = None, **kwargs) -> Store:
    """A ``Store`` on ``path`` (default: ``MONITOR_DB`` or ``data/monitor.duckdb``), schema ensured."""
    store = Store(path, **kwargs)
    store.ensure_schema()
    return store
