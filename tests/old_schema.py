"""Databases as older schema versions left them, made from current ones (for tests of migrations)."""

from __future__ import annotations

import duckdb

from indicators.store import Store, db, schema


def as_single_file(store: Store) -> None:
    """Turn a database of schema v11 into the single file of v10: the results file's tables, sequences and
    levelled-at marker back in the data file, the results file removed (nothing may be using the database)."""
    db.forget_snapshots()
    results = db.results_path(store.path)
    con = duckdb.connect(str(store.path))
    try:
        con.execute("ATTACH $p AS r", {"p": str(results)})
        for name, sql in con.execute("SELECT table_name, sql FROM duckdb_tables() WHERE database_name = 'r'").fetchall():
            if name != "results_meta":
                con.execute(sql)  # the same definition, in the data file
                con.execute(f"INSERT INTO {name} SELECT * FROM r.{name}")  # noqa: S608
        for name, start, last in con.execute("SELECT sequence_name, start_value, last_value FROM duckdb_sequences() "
                                             "WHERE database_name = 'r'").fetchall():
            con.execute(f"CREATE SEQUENCE {name} START {start if last is None else last + 1}")
        con.execute("INSERT OR REPLACE INTO meta SELECT * FROM r.results_meta WHERE key = $k", {"k": schema.LEVELLED})
        con.execute("DELETE FROM meta WHERE key = $k", {"k": schema.RESULTS_ID})
        con.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
        con.execute("DETACH r")
    finally:
        con.close()
    results.unlink()
