"""Reading delimited text files with DuckDB's CSV reader (no database involved).

Every physical line is read as one string (so line numbers are exact, blank lines included),
then split into fields in SQL. Tidy, Eurostat TSV and SDMX-CSV files never quote a field that
contains the delimiter, so splitting on the delimiter is exact for them; with ``unquote`` a field
wrapped in double quotes (as spreadsheets write) loses the quotes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd

from indicators.store.db import StoreError

# One column per line: a delimiter and quote that never occur in a text file we accept (the
# loaders refuse files containing the unit-separator control character, chr(31)).
_LINES = (
    "SELECT row_number() OVER () AS line, rtrim(t, chr(13)) AS t FROM read_csv($path, "
    "columns = {'t': 'VARCHAR'}, header = false, auto_detect = false, delim = chr(31), "
    "quote = '', escape = '', all_varchar = true)"
)


def _field(i: int, unquote: bool) -> str:
    raw = f"trim(f[{i}], ' \t')"
    if not unquote:
        return f"{raw} AS c{i}"
    return (
        f"CASE WHEN length({raw}) >= 2 AND starts_with({raw}, '\"') AND ends_with({raw}, '\"') "
        f"THEN substr({raw}, 2, length({raw}) - 2) ELSE {raw} END AS c{i}"
    )


def read_fields(
    path: str | Path,
    *,
    first_line: int,
    width: int,
    delim: str = ",",
    split_pattern: str | None = None,
    unquote: bool = False,
    filters: Mapping[int, Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The non-blank lines from ``first_line`` on, split into fields.

    Returns a DataFrame with ``line`` (1-based), ``n_fields`` and string columns ``c1`` ..
    ``c<width>`` (absent fields are missing), ordered by line, and the number of non-blank lines
    before ``filters`` (field number -> accepted values, all must hold) were applied.
    ``split_pattern`` (a regular expression) replaces ``delim`` when given.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    params: dict[str, object] = {"path": str(path), "first": int(first_line)}
    if split_pattern is None:
        params["delim"] = delim
        split = "string_split(t, $delim)"
    else:
        params["pattern"] = split_pattern
        split = "regexp_split_to_array(t, $pattern)"
    where = []
    for n, (index, values) in enumerate(sorted((filters or {}).items())):
        params[f"v{n}"] = [str(v) for v in values]
        where.append(f"list_contains($v{n}, c{int(index)})")
    columns = ", ".join(_field(i, unquote) for i in range(1, width + 1))
    lines = (
        f"SELECT line, {split} AS f FROM ({_LINES}) "  # noqa: S608
        "WHERE line >= $first AND t IS NOT NULL AND trim(t, ' \t') <> ''"
    )
    fields = f"SELECT line, len(f) AS n_fields, {columns} FROM ({lines})"  # noqa: S608
    # Identifiers and positions come from code, never from data: values are parameters.
    if where:
        query = (
            f"WITH rows AS MATERIALIZED ({fields}) SELECT *, "  # noqa: S608
            f"(SELECT count(*) FROM rows) AS total FROM rows WHERE {' AND '.join(where)} ORDER BY line"
        )
    else:
        query = fields + " ORDER BY line"
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET python_enable_replacements = false")
        frame = con.sql(query, params=params).to_arrow_table().to_pandas()
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"DuckDB could not read {path}: {first}") from None
    finally:
        con.close()
    total = len(frame)
    if where:
        total = int(frame["total"].iloc[0]) if len(frame) else _count(path, first_line)
        frame = frame.drop(columns="total")
    frame["line"] = frame["line"].astype("int64")
    frame["n_fields"] = frame["n_fields"].astype("int64")
    for i in range(1, width + 1):
        frame[f"c{i}"] = frame[f"c{i}"].astype("str")
    return frame, total


def _count(path: str | Path, first_line: int) -> int:
    con = duckdb.connect(":memory:")
    try:
        query = (
            f"SELECT count(*) FROM ({_LINES}) "  # noqa: S608
            "WHERE line >= $first AND t IS NOT NULL AND trim(t, ' \t') <> ''"
        )
        return int(con.execute(query, {"path": str(path), "first": int(first_line)}).fetchall()[0][0])
    except duckdb.Error as exc:
        raise StoreError(f"DuckDB could not read {path}: {exc}") from None
    finally:
        con.close()
