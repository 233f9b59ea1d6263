"""Loads, observations, revisions and coverage: the SQL behind loading and reading series.

A load compares incoming rows with the current observations in set-based SQL: new rows are
inserted, changed values or flags move the old row (value, flag, load, load time) to
``revisions`` and replace it, identical rows are left alone. A file whose exact bytes were loaded
before, or whose every row is already current, changes nothing and causes no write at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from indicators.store import Store, StoreError, audit, journal
from indicators.store.db import CATALOGS

_KEY = "indicator, geo, period"
_CHANGED = "(o.value IS DISTINCT FROM i.value OR o.flag IS DISTINCT FROM i.flag)"
_ROW_COLUMNS = ["indicator", "geo", "period", "period_start", "value", "flag"]


@dataclass(frozen=True)
class Incoming:
    """One validated file: ``rows`` has indicator, geo, period, period_start, value (NaN = missing), flag."""

    file: str
    sha256: str
    format: str
    synthetic: bool
    rows: pd.DataFrame


@dataclass(frozen=True)
class Applied:
    """What a load did to one file; ``previous_load_at`` is set when it changed nothing."""

    new: int
    revised: int
    unchanged: int
    load_id: int | None = None
    already_loaded: bool = False
    previous_load_at: datetime | None = None


def _register(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame) -> None:
    # Registered as is (Arrow-backed strings are read without copying); types are set in SQL.
    con.register("incoming_frame", rows[_ROW_COLUMNS])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE incoming AS SELECT indicator::VARCHAR AS indicator, "
        "geo::VARCHAR AS geo, period::VARCHAR AS period, period_start::DATE AS period_start, "
        "value::DOUBLE AS value, flag::VARCHAR AS flag FROM incoming_frame"
    )
    con.unregister("incoming_frame")


def _diff(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int, datetime | None]:
    row = con.execute(
        "SELECT count(*) FILTER (WHERE o.indicator IS NULL), "  # noqa: S608 (constant fragments)
        f"count(*) FILTER (WHERE o.indicator IS NOT NULL AND {_CHANGED}), "
        f"count(*) FILTER (WHERE o.indicator IS NOT NULL AND NOT {_CHANGED}), max(o.loaded_at) "
        f"FROM incoming i LEFT JOIN observations o USING ({_KEY})"
    ).fetchall()[0]
    return int(row[0]), int(row[1]), int(row[2]), row[3]


def _loaded_before(con: duckdb.DuckDBPyConnection, sha256: str) -> datetime | None:
    # Only since the last deletion: a file loaded before one is compared row by row (its deleted rows are new).
    rows = con.execute(
        "SELECT loaded_at FROM loads WHERE sha256 = $s AND id > (SELECT coalesce(max(id), 0) FROM loads "
        "WHERE format = 'deletion') ORDER BY id LIMIT 1", {"s": sha256}
    ).fetchall()
    return rows[0][0] if rows else None


def _plan(con: duckdb.DuckDBPyConnection, item: Incoming) -> Applied:
    """What loading ``item`` would do, against the database ``con`` sees."""
    when = _loaded_before(con, item.sha256)
    if when is not None:
        return Applied(0, 0, len(item.rows), already_loaded=True, previous_load_at=when)
    if item.rows.empty:
        return Applied(0, 0, 0)
    _register(con, item.rows)
    new, revised, unchanged, latest = _diff(con)
    if new == 0 and revised == 0:
        return Applied(0, 0, unchanged, already_loaded=True, previous_load_at=latest)
    return Applied(new, revised, unchanged)


def _apply(
    con: duckdb.DuckDBPyConnection, store: Store, item: Incoming, planned: Applied, who: str, now: datetime
) -> Applied:
    """Write one planned file (its rows are in ``incoming``): revisions, updates, inserts, load log."""
    load_id = con.execute("SELECT nextval('load_ids')").fetchall()[0][0]
    params = {"load": load_id, "now": now, "file": item.file}
    if planned.revised:
        con.execute(
            "INSERT INTO revisions SELECT o.indicator, o.geo, o.period, o.value, o.flag, o.load_id, "  # noqa: S608
            "o.loaded_at, "
            f"o.source_file, $load, $now FROM observations o JOIN incoming i USING ({_KEY}) WHERE {_CHANGED}",
            {"load": load_id, "now": now},
        )
        con.execute(
            "UPDATE observations o SET value = i.value, flag = i.flag, load_id = $load, loaded_at = $now, "  # noqa: S608
            "source_file = $file FROM incoming i "
            f"WHERE o.indicator = i.indicator AND o.geo = i.geo AND o.period = i.period AND {_CHANGED}",
            params,
        )
    if planned.new:
        # A plain insert of the rows not yet present (faster than an upsert: no conflict handling).
        con.execute(
            "INSERT INTO observations SELECT i.indicator, i.geo, i.period, i.period_start, i.value, i.flag, "  # noqa: S608
            f"$load, $now, $file FROM incoming i ANTI JOIN observations o USING ({_KEY})",
            params,
        )
    repeated = con.execute(  # no primary key on observations (schema v11): the writer keeps them unique
        f"SELECT count(*) FROM (SELECT 1 FROM observations o JOIN incoming i USING ({_KEY}) "  # noqa: S608
        f"GROUP BY {_KEY} HAVING count(*) > 1)").fetchall()[0][0]
    if repeated:
        raise StoreError(f"cannot load {item.file}: {repeated} of its keys would be stored twice; nothing was loaded")
    con.execute(
        "INSERT INTO loads (id, file, sha256, format, loaded_at, loaded_by, synthetic, rows_new, "
        "rows_revised, "
        "rows_unchanged) VALUES ($load, $file, $sha, $format, $now, $who, $synthetic, $new, $revised, "
        "$unchanged)",
        {
            **params,
            "sha": item.sha256,
            "format": item.format,
            "who": who,
            "synthetic": item.synthetic,
            "new": planned.new,
            "revised": planned.revised,
            "unchanged": planned.unchanged,
        },
    )
    audit.append(con, store, now, who, "load", item.file,
                 after=f"load {load_id}: {planned.new} new, {planned.revised} revised, {planned.unchanged} unchanged")
    return dataclasses.replace(planned, load_id=load_id)


class _NothingChanged(Exception):
    """Raised inside a write to discard it (the live file is left exactly as it was)."""


def _indicator_rows(catalogue) -> list[tuple]:
    return sorted(
        (i.id, i.name, i.unit, i.frequency, i.category, i.bad_direction, i.source, i.dataset, i.description)
        for i in catalogue.indicators
    )


def _catalogue_differs(con: duckdb.DuckDBPyConnection, catalogue) -> bool:
    current = con.execute(
        "SELECT id, name, unit, frequency, category, bad_direction, source, dataset, "
        "description FROM indicators"
    ).fetchall()
    return not set(_indicator_rows(catalogue)) <= set(current)


def _upsert_catalogue(con: duckdb.DuckDBPyConnection, catalogue) -> None:
    for row in _indicator_rows(catalogue):
        con.execute(
            "INSERT OR REPLACE INTO indicators VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)", list(row)
        )


def apply_load(store: Store, incoming: Sequence[Incoming], *, who: str, catalogue=None) -> list[Applied]:
    """Apply validated files in one atomic write; per-file outcome. Nothing is written when nothing changes.

    Files must not share keys (the loader checks). ``catalogue``, when given, is synced into the
    ``indicators`` table in the same write. A file whose sha256 was loaded before is skipped
    without reading its rows; otherwise rows are compared inside the write, which is discarded
    (the live file untouched) when no file changes anything.
    """
    known: dict[int, Applied] = {}
    stale = catalogue is not None
    if store.path.exists():
        store.ensure_schema()
        with store.read() as cur:
            for n, item in enumerate(incoming):
                when = _loaded_before(cur, item.sha256)
                if when is not None:
                    known[n] = Applied(0, 0, len(item.rows), already_loaded=True, previous_load_at=when)
            stale = catalogue is not None and _catalogue_differs(cur, catalogue)
        if not stale and len(known) == len(incoming):
            return [known[n] for n in range(len(incoming))]
    else:
        store.ensure_schema()
    now = store.clock()
    results: list[Applied] = []
    try:
        with store.write() as con:
            if stale:
                _upsert_catalogue(con, catalogue)
            for n, item in enumerate(incoming):
                if n in known:
                    results.append(known[n])
                    continue
                planned = _plan(con, item)
                changes = planned.new + planned.revised > 0
                results.append(_apply(con, store, item, planned, who, now) if changes else planned)
            if not stale and all(r.new + r.revised == 0 for r in results):
                raise _NothingChanged
    except _NothingChanged:
        pass
    return results


def sync_catalogue(store: Store, catalogue) -> bool:
    """Upsert the catalogue's indicators into the ``indicators`` table; True when it wrote."""
    store.ensure_schema()
    with store.read() as cur:
        if not _catalogue_differs(cur, catalogue):
            return False
    with store.write() as con:
        _upsert_catalogue(con, catalogue)
    return True


def _frame(store: Store, sql: str, params: dict | None = None) -> pd.DataFrame:
    with store.read() as cur:
        return cur.execute(sql, params or {}).df()


def _list(values: Iterable[str] | str | None) -> list[str] | None:
    if values is None:
        return None
    return [values] if isinstance(values, str) else [str(v) for v in values]


def series(store: Store, indicator: str, geo: str) -> pd.DataFrame:
    """One series in period order: period, value (NaN = missing), flag, period_start."""
    return _frame(
        store,
        "SELECT period, value, flag, period_start FROM observations "
        "WHERE indicator = $i AND geo = $g ORDER BY period_start",
        {"i": indicator, "g": geo},
    )


def observations(
    store: Store, indicators: Iterable[str] | str | None = None, geos: Iterable[str] | str | None = None
) -> pd.DataFrame:
    """Current observations (long), optionally only some indicators and geos."""
    return _frame(
        store,
        "SELECT indicator, geo, period, period_start, value, flag, load_id, loaded_at, source_file "
        "FROM observations WHERE ($inds IS NULL OR list_contains($inds, indicator)) "
        "AND ($geos IS NULL OR list_contains($geos, geo)) ORDER BY indicator, geo, period_start",
        {"inds": _list(indicators), "geos": _list(geos)},
    )


def coverage(store: Store) -> pd.DataFrame:
    """Per series: first/last period, count of values, missing periods within first..last, provisional."""
    return _frame(
        store,
        """
        WITH s AS (
            SELECT indicator, geo, min(period_start) AS first_start, max(period_start) AS last_start,
                   arg_min(period, period_start) AS first_period,
                   arg_max(period, period_start) AS last_period,
                   count(value) AS count, count(*) FILTER (WHERE flag = 'p') AS provisional,
                   max(loaded_at) AS last_loaded_at,
                   CASE WHEN length(any_value(period)) = 4 THEN 12
                        WHEN any_value(period) LIKE '%Q%' THEN 3 ELSE 1 END AS step
            FROM observations GROUP BY indicator, geo)
        SELECT indicator, geo, first_period, last_period, count,
               (date_diff('month', first_start, last_start) // step + 1 - count)::BIGINT AS missing,
               provisional, last_loaded_at
        FROM s ORDER BY indicator, geo""",
    )


def loads(store: Store) -> pd.DataFrame:
    """The load log, oldest first."""
    return _frame(store, "SELECT * FROM loads ORDER BY id")


def revisions(store: Store, indicator: str | None = None, geo: str | None = None) -> pd.DataFrame:
    """Replaced values (vintages) with the load that replaced them, oldest first."""
    return _frame(
        store,
        "SELECT r.*, p.period_start FROM revisions r LEFT JOIN observations p USING (indicator, geo, period) "
        "WHERE ($i IS NULL OR r.indicator = $i) AND ($g IS NULL OR r.geo = $g) "
        "ORDER BY r.indicator, r.geo, p.period_start, r.replaced_at, r.replaced_by_load",
        {"i": indicator, "g": geo},
    )


def series_fingerprints(store: Store) -> pd.DataFrame:
    """Per series a fingerprint that changes iff any period, value or flag changes, and its latest load."""
    return _frame(
        store,
        """
        SELECT indicator, geo,
               md5(string_agg(period || '=' || coalesce(value::VARCHAR, '') || '/' || coalesce(flag, ''),
                              ';' ORDER BY period)) AS fingerprint,
               max(load_id) AS last_load_id
        FROM observations GROUP BY indicator, geo ORDER BY indicator, geo""",
    )


def synthetic_in_use(store: Store) -> bool:
    """Whether any current observation comes from a load marked synthetic."""
    if not store.path.exists():
        return False
    with store.read() as cur:
        return bool(
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM observations o JOIN loads l ON o.load_id = l.id "
                "WHERE l.synthetic)"
            ).fetchall()[0][0]
        )


def observation_count(store: Store) -> int:
    """Number of current observations (0 when the database does not exist yet)."""
    if not store.path.exists():
        return 0
    with store.read() as cur:
        return int(cur.execute("SELECT count(*) FROM observations").fetchall()[0][0])


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of every table, sorted (for comparing database contents before and after); the journal's
    tables as ``journal.<name>``."""
    with store.journal.read() as j:
        kept = {f"journal.{t}": sorted(j.execute(f"SELECT * FROM {t}").fetchall(), key=repr)  # noqa: S608
                for t in journal.TABLES}
    with store.read() as cur:
        tables = [
            r[0]
            for r in cur.execute(
                f"SELECT table_name FROM information_schema.tables WHERE table_catalog IN {CATALOGS} "  # noqa: S608
                "AND table_schema = 'main' ORDER BY table_name"
            ).fetchall()
        ]
        # Table names come from the catalog itself, never from input.
        return {**{t: cur.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall() for t in tables},  # noqa: S608
                **kept}
