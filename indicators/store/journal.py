"""The journal: the small writes people make between scans, written in place.

Acknowledging an alert, annotating an event, saving thresholds, saving digest recipients or recording
a digest sent changes a few rows; copying the whole database file for each (``db.write_copy``) cost 0.5 s at
5,000 series and queued saves for seconds under 20 sessions. These records live in a SQLite file
beside the database (``<db>.journal.sqlite``) in write-ahead-log mode:

* a write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, fsynced): all or nothing, killed
  or not; writers wait for each other up to the store's lock timeout (then ``StoreBusy``), readers
  never wait and never block a writer;
* its tables: ``reviews`` (the current review of each alert episode, by episode id: status, who,
  when, comment, expiry and the peak it was acknowledged at), ``episode_actions`` (every review
  and reopening), ``events``, ``digest_sent``, ``digest_recipients``, ``settings_log`` (every saved
  version of the thresholds; the levels they produce are written to the database file behind the
  save, :mod:`monitoring.pipeline.levelling`) and ``audit`` (the audit rows of these writes, in the
  same transaction as the change);
* audit ids are handed out here for both logs (:func:`reserve_audit_id` for a write of the
  database file), so the two logs read as one, in order, with ids never handed out twice.

Nothing else lives here: observations, loads, scores, results and episodes (their detection) stay
in the DuckDB file, written copy-on-write.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.store.db import StoreBusy, StoreError

VERSION = 1
_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
    # status: open, acknowledged or dismissed; version: bumped by every change (a scan's reopening
    # applies only to the review it saw, so a review made while the scan ran is never overwritten).
    """CREATE TABLE IF NOT EXISTS reviews (
        episode_id INTEGER PRIMARY KEY, status TEXT NOT NULL, status_by TEXT, status_at TEXT, comment TEXT,
        expires TEXT, ack_level TEXT, ack_score REAL, version INTEGER NOT NULL DEFAULT 1)""",
    """CREATE TABLE IF NOT EXISTS episode_actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT, episode_id INTEGER NOT NULL, action TEXT NOT NULL, who TEXT NOT NULL,
        acted_at TEXT NOT NULL, comment TEXT, expires TEXT, period TEXT)""",
    """CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY AUTOINCREMENT, date TEXT NOT NULL, label TEXT NOT NULL, indicator TEXT, geo TEXT,
        created_by TEXT, created_at TEXT, updated_at TEXT, deleted INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS digest_sent (
        change_key TEXT NOT NULL, lang TEXT NOT NULL, recipient TEXT NOT NULL, kind TEXT NOT NULL, indicator TEXT,
        geo TEXT, period TEXT, sent_at TEXT NOT NULL, subject TEXT, PRIMARY KEY (change_key, lang, recipient))""",
    """CREATE TABLE IF NOT EXISTS digest_recipients (
        id INTEGER PRIMARY KEY AUTOINCREMENT, saved_at TEXT NOT NULL, who TEXT NOT NULL, recipients TEXT NOT NULL,
        reason TEXT NOT NULL)""",
    # Every saved version of the settings (thresholds), newest last; reverts: the id of the version saved again.
    """CREATE TABLE IF NOT EXISTS settings_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT, saved_at TEXT NOT NULL, who TEXT NOT NULL, settings TEXT NOT NULL,
        reason TEXT NOT NULL, reverts INTEGER)""",
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY, logged_at TEXT NOT NULL, who TEXT NOT NULL, action TEXT NOT NULL, target TEXT,
        before TEXT, after TEXT, reason TEXT)""",
)
TABLES = ("reviews", "episode_actions", "events", "digest_sent", "digest_recipients", "settings_log", "audit")
# Columns read back as pandas datetimes (as the DuckDB tables give them), and as whole numbers.
DATES = {"status_at", "expires", "acted_at", "date", "created_at", "updated_at", "sent_at", "saved_at", "logged_at"}
_BOOLEANS = {"deleted"}
_NEXT_AUDIT = "next_audit_id"


def journal_path(db_path: Path) -> Path:
    """The journal of a database file: ``monitor.duckdb`` -> ``monitor.duckdb.journal.sqlite``."""
    return db_path.with_name(db_path.name + ".journal.sqlite")


def sql_value(value):
    """A Python, numpy or pandas value as SQLite stores it (dates and times as ISO text)."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.bool_ | bool):
        return int(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _busy(path: Path, timeout: float) -> StoreBusy:
    return StoreBusy(f"the journal {path.name} is busy: another save has been writing for more than "
                     f"{timeout:.0f} s; try again in a minute")


_READY: set[str] = set()
_READY_LOCK = threading.Lock()


class Journal:
    """The journal file of one database (see the module docstring)."""

    def __init__(self, path: Path, timeout: float = 30.0):
        self.path = Path(path)
        self.timeout = timeout

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA synchronous = FULL")
        return con

    def ensure(self) -> None:
        """Create the file and its tables when missing (WAL mode is kept in the file)."""
        key = str(self.path.resolve())
        with _READY_LOCK:
            if key in _READY and self.path.exists():
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            con = self._connect()
            try:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                for statement in _TABLES:
                    con.execute(statement)
                con.execute("INSERT OR IGNORE INTO meta VALUES ('version', ?)", (str(VERSION),))
                con.execute("INSERT OR IGNORE INTO meta VALUES (?, '1')", (_NEXT_AUDIT,))
                con.execute("INSERT OR IGNORE INTO meta VALUES ('changes', '0')")
                con.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                _raise(exc, self)
            finally:
                con.close()
            _READY.add(key)

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A connection on one consistent state of the journal (a read transaction)."""
        self.ensure()
        con = self._connect()
        try:
            con.execute("BEGIN")
            yield con
        finally:
            con.close()

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A connection in a write transaction, committed when the block succeeds, rolled back otherwise."""
        self.ensure()
        con = self._connect()
        try:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                _raise(exc, self)
            try:
                yield con
                con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes'")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    def changes(self) -> int:
        """How many writes the journal has committed (a version for caches)."""
        with self.read() as con:
            row = con.execute("SELECT value FROM meta WHERE key = 'changes'").fetchone()
        return int(row[0]) if row else 0

    def frame(self, sql: str, params: dict | tuple = ()) -> pd.DataFrame:
        """A query's rows as a frame, dates and times as pandas datetimes."""
        with self.read() as con:
            return to_frame(con.execute(sql, params))


def copy_file(source: sqlite3.Connection | Path, target: Path, *, live: bool = False) -> None:
    """Copy a journal (an open connection, or a file nothing is writing) with SQLite's backup API
    (consistent while others write): a self-contained file for a backup, or (``live``) a journal to be
    used beside a copied database, in write-ahead-log mode."""
    src = source if isinstance(source, sqlite3.Connection) else sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
        dst.execute(f"PRAGMA journal_mode = {'WAL' if live else 'DELETE'}")
    finally:
        dst.close()
        if src is not source:
            src.close()


def _raise(exc: sqlite3.OperationalError, journal: Journal):
    if "locked" in str(exc) or "busy" in str(exc):
        raise _busy(journal.path, journal.timeout) from None
    raise StoreError(f"the journal {journal.path} could not be written ({exc})") from None


def to_frame(cursor: sqlite3.Cursor) -> pd.DataFrame:
    """The rows of an executed query as a frame (dates and times as datetime64[us], flags as booleans)."""
    names = [d[0] for d in cursor.description]
    frame = pd.DataFrame(cursor.fetchall(), columns=names)
    for name in names:
        if name in DATES:
            frame[name] = pd.to_datetime(frame[name], format="ISO8601").astype("datetime64[us]")
        elif name in _BOOLEANS:
            frame[name] = frame[name].astype(bool)
    return frame


def next_audit_id(con: sqlite3.Connection) -> int:
    """Inside a journal write: hand out the next audit id (shared by both logs)."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (_NEXT_AUDIT,)).fetchone()
    value = int(row[0]) if row else 1
    con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_NEXT_AUDIT, str(value + 1)))
    return value


def reserve_audit_id(journal: Journal) -> int:
    """An audit id for a row of the database file's own log (its own small committed write; a write
    that then fails leaves a gap, never a repeat)."""
    with journal.write() as con:
        return next_audit_id(con)


def move_audit_ids_past(con: sqlite3.Connection, last: int) -> None:
    """Inside a journal write: make sure no id up to ``last`` is handed out again."""
    row = con.execute("SELECT value FROM meta WHERE key = ?", (_NEXT_AUDIT,)).fetchone()
    if row is None or int(row[0]) <= last:
        con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_NEXT_AUDIT, str(last + 1)))


def move_ids_past(con: sqlite3.Connection, table: str, last: int) -> None:
    """Inside a journal write: make sure the table hands out no id up to ``last`` (AUTOINCREMENT's counter)."""
    row = con.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    if row is None:
        con.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table, int(last)))
    elif int(row[0]) < last:
        con.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (int(last), table))


def append_audit(con: sqlite3.Connection, now, who: str, action: str, target: str | None = None,
                 before: str | None = None, after: str | None = None, reason: str | None = None) -> int:
    """Inside a journal write: one audit row, in the same transaction as the change it records."""
    audit_id = next_audit_id(con)
    con.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (audit_id, sql_value(now), who, action, target, before, after, reason))
    return audit_id


def insert_rows(con: sqlite3.Connection, table: str, frame: pd.DataFrame, *, replace: bool = False) -> None:
    """Inside a journal write: insert a frame's rows (its columns named as the table's)."""
    if frame.empty:
        return
    names = ", ".join(f'"{c}"' for c in frame.columns)  # column names from the schema, never from input
    marks = ", ".join("?" for _ in frame.columns)
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    rows = [tuple(sql_value(v) for v in row) for row in frame.itertuples(index=False, name=None)]
    con.executemany(f"{verb} INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608
