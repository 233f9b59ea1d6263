"""Backups with DuckDB's EXPORT DATABASE / IMPORT DATABASE (Parquet files, a schema and a manifest).

A backup reads one consistent snapshot (writers are not held up) and writes ``schema.sql``,
``load.sql``, one Parquet file per table of the data file, the same for the results file in
``results/`` (schema v11 on), ``journal.sqlite`` (a copy of the journal: reviews, events,
digest records, made with SQLite's backup API) and, last, ``backup.json`` (the manifest: schema
version, time, row count per table, a SHA-256 checksum per file). A folder without the manifest is
not a backup (or an unfinished one); a restore refuses a folder whose files do not match their
checksums.

A restore is a writer like any other: under the writers' lock (and holding the journal's) it
imports the backup into a new temporary database, checks every table's row count against the
manifest, migrates an older schema, keeps the audit rows logged since the backup, moves every
sequence past the ids the current database and journal have used (so no id is ever handed out
twice), logs itself, replaces the journal's contents in one transaction and atomically replaces the
live file. Killed or refused before that, it leaves both as they were; the one step between the
two commits is covered by the backup of the replaced database it makes first.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from indicators.store import Store, StoreError, db, journal, schema

MANIFEST = "backup.json"
JOURNAL = "journal.sqlite"
RESULTS = "results"  # the folder of the results file's export
KIND = "ew-monitor backup"
_SCRIPTS = {
    "schema.sql": re.compile(r"CREATE (SEQUENCE [a-z_]+ [A-Z0-9 ]+|TABLE [a-z_]+\((?!.*\bAS\b)[^;]*\));"),
    "load.sql": re.compile(r"COPY [a-z_]+ FROM '(?:[^']|'')*/[a-z_]+\.parquet' \(FORMAT 'parquet'\);"),
}


@dataclass(frozen=True)
class RestoreReport:
    folder: Path
    created_at: str
    rows: int
    audit_rows_kept: int
    note: str = ""
    undone: tuple[str, ...] = ()  # what people did since the backup, which the restore undid
    saved_to: Path | None = None  # the backup of the database the restore replaced


def _backed_up_audit(folder: Path) -> set[int]:
    """The audit ids the backup holds (both logs)."""
    with duckdb.connect(":memory:") as con:
        con.execute("SET python_enable_replacements = false")
        ids = {int(r[0]) for r in con.execute("SELECT id FROM read_parquet($p)",
                                              {"p": str(folder / "audit.parquet")}).fetchall()}
    if (folder / JOURNAL).is_file():
        j = sqlite3.connect(f"file:{folder / JOURNAL}?mode=ro", uri=True)
        try:
            ids |= {int(r[0]) for r in j.execute("SELECT id FROM audit")}
        finally:
            j.close()
    return ids


def _audit_rows(cur, j) -> list[tuple]:
    """Every audit row of both logs, by id, each ending with where it is kept (``database`` or ``journal``)."""
    own = [(*r, "database") for r in cur.execute("SELECT * FROM audit ORDER BY id").fetchall()]
    kept = [(*r[:1], pd.Timestamp(r[1]).to_pydatetime(), *r[2:], "journal")
            for r in j.execute("SELECT * FROM audit ORDER BY id").fetchall()]
    return sorted(own + kept, key=lambda r: r[0])


def _describe(row: tuple) -> str:
    """An audit row as one line: ``2026-12-02 05:16 local: load x.csv``."""
    _, logged_at, who, action, target = row[:5]
    when = f"{logged_at:%Y-%m-%d %H:%M}" if hasattr(logged_at, "strftime") else str(logged_at)
    return f"{when} {who}: {action}" + (f" {target}" if target else "")


def _free(path: Path) -> Path:
    """``path``, or ``path-2``, ``path-3``… when taken (an earlier restore, or one killed midway)."""
    n, candidate = 1, path
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def changes_since(store: Store, folder: str | Path) -> list[str]:
    """What people did since the backup in ``folder`` (loads, events, settings, acknowledgements,
    from the live audit log): what restoring it would undo, one line each, oldest first."""
    folder = Path(folder).resolve()
    read_manifest(folder)
    if not store.path.exists():
        return []
    backed_up = _backed_up_audit(folder)
    with store.read() as cur, store.journal.read() as j:
        rows = _audit_rows(cur, j)
    return [_describe(r) for r in rows if r[0] not in backed_up]


def _literal(path: Path) -> str:
    # EXPORT/IMPORT take no parameters: the folder is a quoted SQL string literal.
    return "'" + str(path).replace("'", "''") + "'"


def _catalog(con, results: bool) -> str | None:
    return db.results_catalog(con) if results else con.execute("SELECT current_database()").fetchall()[0][0]


def _counts(con, *, results: bool = False) -> dict[str, int]:
    """Rows per table of the data file (``results``: of the results file; empty when it has none)."""
    catalog = _catalog(con, results)
    if catalog is None:
        return {}
    tables = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = $c "
            "AND table_schema = 'main' ORDER BY table_name", {"c": catalog}
        ).fetchall()
    ]
    # Table and catalog names come from the catalog, never from input.
    return {t: int(con.execute(f'SELECT count(*) FROM {catalog}."{t}"').fetchall()[0][0]) for t in tables}  # noqa: S608


def _next_values(con) -> dict[str, tuple[str, int]]:
    """Per sequence (of both files), its catalog and the next value it would hand out."""
    rows = con.execute(
        "SELECT sequence_name, database_name, start_value, last_value, increment_by FROM duckdb_sequences() "  # noqa: S608
        f"WHERE database_name IN {db.CATALOGS}"
    ).fetchall()
    return {
        name: (catalog, max(start, (last + step) if last is not None else start))
        for name, catalog, start, last, step in rows
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    """The files of a backup (those of its results folder too), by name relative to the folder."""
    return sorted(f for f in folder.rglob("*") if f.is_file() and f.relative_to(folder).as_posix() != MANIFEST)


def _check_files(folder: Path, files, not_backup: str) -> None:
    """Every file the manifest lists has its checksum, and nothing was added beside them."""
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise StoreError(f"{not_backup} ({MANIFEST} has no valid file checksums)")
    present = {f.relative_to(folder).as_posix() for f in _files(folder)}
    for name in sorted(set(files) | present):
        if name not in files:
            raise StoreError(f"cannot restore from {folder}: {name} is not part of the backup; refusing a changed backup")
        if name not in present:
            raise StoreError(f"cannot restore from {folder}: {name} is missing; the backup is incomplete")
        if _sha256(folder / name) != files[name]:
            raise StoreError(f"cannot restore from {folder}: {name} does not match its checksum in {MANIFEST}; "
                             "the backup was changed after it was made")


def backup(store: Store, folder: str | Path, *, now=None) -> dict:
    """Export the current database into ``folder`` (new or empty); returns the manifest."""
    folder = Path(folder).resolve()
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StoreError(f"cannot back up into {folder}: it is not an empty folder; choose a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    with store.read() as cur:
        version = schema.version_of(cur)
        counts, results_counts = _counts(cur), _counts(cur, results=True)
        cur.execute(f"EXPORT DATABASE {_catalog(cur, False)} TO {_literal(folder)} (FORMAT parquet)")
        if results_counts:
            cur.execute(f"EXPORT DATABASE {db.results_catalog(cur)} TO {_literal(folder / RESULTS)} (FORMAT parquet)")
    journal_counts = _copy_journal(store, folder / JOURNAL) if version >= 8 else None
    manifest = {
        "kind": KIND,
        "schema_version": version,
        "created_at": str(now or store.clock()),
        "source": str(store.path),
        "tables": counts,
        **({"results_tables": results_counts} if results_counts else {}),
        **({"journal_tables": journal_counts} if journal_counts is not None else {}),
        "files": {f.relative_to(folder).as_posix(): _sha256(f) for f in _files(folder)},
    }
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)  # written last: a folder with the manifest is a complete backup
    return manifest


def _journal_counts(j) -> dict[str, int]:
    return {t: int(j.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in journal.TABLES}  # noqa: S608


def _copy_journal(store: Store, target: Path) -> dict[str, int]:
    """Copy the journal into one self-contained SQLite file (no write-ahead log beside it); its row counts."""
    with store.journal.read() as src:
        counts = _journal_counts(src)
        journal.copy_file(src, target)
    return counts


def read_manifest(folder: str | Path) -> dict:
    """The manifest of a backup folder, or a ``StoreError`` saying why the folder is not a backup."""
    folder = Path(folder)
    if not folder.is_dir():
        raise StoreError(f"cannot restore from {folder}: no such folder")
    not_backup = f"cannot restore from {folder}: it is not a backup made by `python -m indicators backup`"
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StoreError(f"{not_backup} (no {MANIFEST})") from None
    except (ValueError, UnicodeDecodeError):
        raise StoreError(f"{not_backup} ({MANIFEST} is not valid JSON)") from None
    if (
        not isinstance(manifest, dict)
        or manifest.get("kind") != KIND
        or not isinstance(manifest.get("tables"), dict)
    ):
        raise StoreError(f"{not_backup} ({MANIFEST} is not a backup manifest)")
    if "results_tables" in manifest and not isinstance(manifest["results_tables"], dict):
        raise StoreError(f"{not_backup} ({MANIFEST} is not a backup manifest)")
    scripts = ["schema.sql", "load.sql"] + ([f"{RESULTS}/schema.sql", f"{RESULTS}/load.sql"]
                                            if "results_tables" in manifest else [])
    missing = [name for name in scripts if not (folder / name).is_file()]
    if missing:
        raise StoreError(f"{not_backup} (no {missing[0]})")
    # IMPORT DATABASE runs these scripts: allow only what EXPORT DATABASE writes.
    for name in scripts:
        allowed = _SCRIPTS[name.rsplit("/", 1)[-1]]
        for n, line in enumerate((folder / name).read_text(encoding="utf-8").splitlines(), 1):
            if line.strip() and not allowed.fullmatch(line.strip()):
                raise StoreError(f"{not_backup} ({name}, line {n}: a statement EXPORT DATABASE does not write)")
    version = manifest.get("schema_version")
    if not isinstance(version, int) or version > schema.CURRENT_VERSION:
        raise StoreError(
            f"cannot restore from {folder}: the backup has schema version {version}, newer than "
            f"this program's {schema.CURRENT_VERSION}; upgrade the program"
        )
    if "files" in manifest:  # backups made before checksums were kept have none to check
        _check_files(folder, manifest["files"], not_backup)
    return manifest


def _current(store: Store, j) -> tuple[dict[str, int], dict[str, int], list[tuple], str]:
    """Row counts, next sequence values and audit rows (both logs) of the live database (empty when
    unreadable); ``j``: the live journal, in the restore's transaction."""
    if not store.path.exists():
        return {}, {}, [], "there was no current database"
    try:
        with store.read() as cur:
            return ({**_counts(cur), **_counts(cur, results=True)}, _next_values(cur), _audit_rows(cur, j), "")
    except (duckdb.Error, StoreError, sqlite3.Error) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return (
            {},
            {},
            [],
            f"the current database could not be read ({first}); no audit rows were carried over",
        )


def _journal_sequences(j, schema_name: str = "main") -> dict[str, int]:
    rows = j.execute(f"SELECT name, seq FROM {schema_name}.sqlite_sequence").fetchall()  # noqa: S608
    return {name: int(seq) for name, seq in rows}


def _refill_journal(j, folder: Path, manifest: dict) -> dict[str, int]:
    """Inside the live journal's transaction: replace its rows with the backup's (none for a backup made
    before the journal: the migration then moves its reviews and events in); the backup's row counts."""
    for table in journal.TABLES:
        j.execute(f"DELETE FROM main.{table}")  # noqa: S608 (constant names)
    j.execute("DELETE FROM main.meta WHERE key NOT IN ('version', 'changes')")
    if "journal_tables" not in manifest:
        j.execute("INSERT OR REPLACE INTO main.meta VALUES ('next_audit_id', '1')")
        return {}
    present = {r[0] for r in j.execute("SELECT name FROM bk.sqlite_master WHERE type = 'table'").fetchall()}
    for table in journal.TABLES:  # a backup from before schema v10 has no settings_log: its database has them
        if table in present:
            j.execute(f"INSERT INTO main.{table} SELECT * FROM bk.{table}")  # noqa: S608 (constant names)
    j.execute("INSERT OR REPLACE INTO main.meta SELECT * FROM bk.meta WHERE key NOT IN ('version', 'changes')")
    for name, seq in _journal_sequences(j, "bk").items():
        journal.move_ids_past(j, name, seq)
    counts = _journal_counts(j)
    for table, rows in manifest["journal_tables"].items():
        if counts.get(table) != rows:
            raise StoreError(f"cannot restore from {folder}: the backup is damaged (journal table {table} has "
                             f"{counts.get(table, 'no')} rows; the manifest says {rows})")
    return counts


def restore(store: Store, folder: str | Path, *, who: str = "local", keep: str | Path | None = None) -> RestoreReport:
    """Replace the database and its journal with the backup in ``folder`` (see the module docstring).

    The database it replaces is first backed up into ``keep`` (default: a new folder beside the
    database, ``<name>.before-restore-<time>``), and the restore's audit row lists what it undid.
    """
    folder = Path(folder).resolve()
    manifest = read_manifest(folder)
    now = store.clock()
    store.journal.ensure()
    live = sqlite3.connect(store.journal.path, timeout=store.lock_timeout, isolation_level=None, uri=True)
    try:
        if "journal_tables" in manifest:
            live.execute("ATTACH ? AS bk", (f"file:{folder / JOURNAL}?mode=ro",))
        try:
            with store.write(results=True, fresh=True) as con:
                live.execute("BEGIN IMMEDIATE")  # no review or event lands between reading and replacing the journal
                report = _restore(store, con, live, folder, manifest, now, who, keep)
            # The database is published; its journal follows. Killed between the two, the database names a
            # restore token the journal does not have: opening it then says to run the restore again.
            live.execute("COMMIT")
        except BaseException:
            if live.in_transaction:
                live.execute("ROLLBACK")
            raise
    finally:
        live.close()
    return report


def _restore(store: Store, con, j, folder: Path, manifest: dict, now, who: str, keep) -> RestoreReport:
    # Read under the writers' lock: no write can land between this and the replace.
    before, live_next, live_audit, note = _current(store, j)
    live_sequences = _journal_sequences(j)
    live_rows = _journal_counts(j)
    live_next_audit = journal.next_audit_id(j)
    saved_to = None
    if before:  # a readable database with tables: kept before it is replaced
        saved_to = Path(keep) if keep else _free(store.path.parent / f"{store.path.name}.before-restore-"
                                                                   f"{now:%Y%m%d-%H%M%S}")
        backup(store, saved_to, now=now)
    data, results = _catalog(con, False), _catalog(con, True)
    try:
        con.execute(f"IMPORT DATABASE {_literal(folder)}")
        if "results_tables" in manifest:  # a backup of schema v11 on; older ones are split by the migration
            con.execute(f"USE {results}")
            con.execute(f"IMPORT DATABASE {_literal(folder / RESULTS)}")
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(
            f"cannot restore from {folder}: the backup could not be imported ({first})"
        ) from None
    finally:
        with contextlib.suppress(duckdb.Error):  # after a fatal error the write is discarded anyway
            db.search_both(con, data)
    for counted, expected in ((_counts(con), manifest["tables"]),
                              (_counts(con, results=True), manifest.get("results_tables", {}))):
        for table, rows in expected.items():
            if counted.get(table) != rows:
                raise StoreError(
                    f"cannot restore from {folder}: the backup is damaged (table {table} has "
                    f"{counted.get(table, 'no')} rows; the manifest says {rows})"
                )
    imported = {**_counts(con), **_counts(con, results=True)}
    journal_rows = _refill_journal(j, folder, manifest)
    schema.migrate(con, now, lambda: contextlib.nullcontext(j))
    backed_up = {int(r[0]) for r in con.execute("SELECT id FROM audit").fetchall()}
    backed_up |= {int(r[0]) for r in j.execute("SELECT id FROM main.audit").fetchall()}
    kept = [r for r in live_audit if r[0] not in backed_up]
    for row in kept:
        if row[-1] == "database":
            con.execute("INSERT INTO audit VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", list(row[:8]))
        else:
            j.execute("INSERT INTO main.audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      [journal.sql_value(v) for v in row[:8]])
    for name, (catalog, value) in _next_values(con).items():
        start = max(value, live_next.get(name, (catalog, 0))[1])
        if start != value:  # names come from the catalog; a sequence cannot be moved, only recreated
            con.execute(f"DROP SEQUENCE {catalog}.{name}")
            con.execute(f"CREATE SEQUENCE {catalog}.{name} START {int(start)}")
    for name, seq in live_sequences.items():
        journal.move_ids_past(j, name, seq)
    journal.move_audit_ids_past(j, max([live_next_audit, *(r[0] for r in kept)]))
    token = uuid.uuid4().hex
    con.execute("INSERT OR REPLACE INTO meta VALUES ('restore_token', $t)", {"t": token})
    j.execute("INSERT OR REPLACE INTO main.meta VALUES ('restore_token', ?)", (token,))
    j.execute("UPDATE main.meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'changes'")
    undone = tuple(_describe(r) for r in kept if r[3] != "restore")
    after = {"backup": str(folder), "created_at": manifest["created_at"], "tables": imported,
             "journal_tables": journal_rows, "undone": list(undone),
             "replaced_database_saved_to": str(saved_to) if saved_to else None}
    con.execute("INSERT INTO audit VALUES ($id, $now, $who, 'restore', $target, $before, $after, $reason)",
                {"id": journal.next_audit_id(j), "now": now, "who": who, "target": str(folder),
                 "before": json.dumps({"tables": before, "journal_tables": live_rows}, sort_keys=True),
                 "after": json.dumps(after, sort_keys=True), "reason": note or None})
    return RestoreReport(folder, str(manifest["created_at"]), sum(imported.values()) + sum(journal_rows.values()),
                         len(kept), note, undone, saved_to)
