"""Reading delimited text files with DuckDB's CSV reader (no database involved).

Two readers, both giving exact physical line numbers (blank and comment lines counted):

* ``read_fields`` reads every line as one string and splits it on the delimiter in SQL. That is
  exact for Eurostat TSV (no quoting; the first column's codes are comma-separated by Eurostat's
  own convention) and for tidy CSV, whose messages name a number split by its commas (``"41,250"``
  is reported as a thousands separator); with ``unquote`` a field wrapped in double quotes loses
  the quotes.
* ``read_records`` parses with DuckDB's RFC 4180 reader (quoted fields with delimiters, doubled
  quotes), for SDMX-CSV, where a quoted dataset title holds commas. Records are matched to lines
  by order: DuckDB skips exactly the empty lines, and a record never spans lines, because a line
  with an odd number of double quotes (a quoted field running onto the next line) is refused
  first (``MultilineRecord``). Labelled cells (``XK:Kosovo*``) can be cut to their code in SQL, so
  the filters (e.g. citizen = XK) hold before anything reaches Python.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from indicators.store.db import StoreError


class MultilineRecord(StoreError):
    """A quoted field runs onto the next line (``line`` is where it starts)."""

    def __init__(self, path, line: int):
        self.line = line
        super().__init__(f"{path}, line {line}: a quoted field continues onto the next line")


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


_QUOTES = "(length(t) - length(replace(t, '\"', '')))"


def _records(width: int) -> str:
    """DuckDB's CSV reader over the records after the header, numbered in file order; ``width``
    columns, shorter records padded with NULL (an empty field is '', never NULL: see nullstr)."""
    columns = ", ".join(f"'r{i}': 'VARCHAR'" for i in range(1, width + 1))
    return (
        "SELECT row_number() OVER () AS rn, * FROM read_csv($path, header = false, skip = $skip, "  # noqa: S608
        "delim = $delim, quote = '\"', escape = '\"', auto_detect = false, all_varchar = true, "
        f"null_padding = true, strict_mode = false, nullstr = $null, columns = {{{columns}}})"
    )


def _cell(i: int, code_only: bool) -> str:
    raw = f"coalesce(r{i}, '')"
    if code_only:  # "XK:Kosovo*", "M: Monthly" -> the code
        raw = f"split_part({raw}, ':', 1)"
    return f"trim({raw}, ' \t') AS c{i}"


def _run(query: str, params: dict, path) -> pd.DataFrame:
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET python_enable_replacements = false")
        return con.sql(query, params=params).to_arrow_table().to_pandas()
    except duckdb.Error as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"DuckDB could not read {path}: {first}") from None
    finally:
        con.close()


def _record_rows(path, first_line: int, width: int, delim: str, codes: Iterable[int]) -> tuple[str, dict]:
    """SQL for the records from ``first_line`` on: rn (record number), n_fields, c1..c<width>.

    One column more than ``width`` is read, so a record with too many fields shows as
    ``n_fields = width + 1`` (its exact count is taken from its line, see ``read_records``)."""
    if first_line < 2:
        raise ValueError("first_line must follow a header line")
    params: dict[str, object] = {
        "path": str(path),
        "skip": int(first_line) - 1,
        "delim": delim,
        "null": chr(31),  # never in a file we accept (textfile.decode refuses it)
    }
    codes = set(codes)
    cells = ", ".join(_cell(i, i in codes) for i in range(1, width + 1))
    n_fields = " + ".join(f"(r{i} IS NOT NULL)::INTEGER" for i in range(1, width + 2))
    sql = f"SELECT rn, {n_fields} AS n_fields, {cells} FROM ({_records(width + 1)})"  # noqa: S608
    return sql, params


def _where(filters: Mapping[int, Sequence[str]] | None, params: dict) -> list[str]:
    where = []
    for n, (index, values) in enumerate(sorted((filters or {}).items())):
        params[f"v{n}"] = [str(v) for v in values]
        where.append(f"list_contains($v{n}, c{int(index)})")
    return where


def _line_layout(path, first_line: int) -> tuple[int, np.ndarray, np.ndarray, int | None]:
    """(lines from ``first_line`` on, empty lines, blank lines holding only spaces or tabs, first line
    with an odd number of double quotes) in one pass over the physical lines."""
    query = (
        "SELECT count(*) AS n, list(line ORDER BY line) FILTER (t IS NULL OR t = '') AS empty, "  # noqa: S608
        "list(line ORDER BY line) FILTER (t <> '' AND trim(t, ' \t') = '') AS blank, "
        f"min(line) FILTER ({_QUOTES} % 2 = 1) AS odd FROM ({_LINES}) WHERE line >= $first"
    )
    row = _run(query, {"path": str(path), "first": int(first_line)}, path).iloc[0]

    def lines(value) -> np.ndarray:
        return np.asarray([] if value is None else list(value), dtype="int64")

    odd = None if pd.isna(row["odd"]) else int(row["odd"])
    return int(row["n"]), lines(row["empty"]), lines(row["blank"]), odd


def read_records(
    path: str | Path,
    *,
    first_line: int,
    width: int,
    delim: str = ",",
    codes: Iterable[int] = (),
    filters: Mapping[int, Sequence[str]] | None = None,
    quotes: bool = True,
) -> tuple[pd.DataFrame, int]:
    """The records from ``first_line`` on, parsed as RFC 4180 CSV; shaped as ``read_fields``.

    ``codes`` are field numbers whose cells are cut at the first ``:`` (``XK:Kosovo*`` -> ``XK``)
    before ``filters`` apply. ``n_fields`` is the record's true field count, even beyond
    ``width``. Raises ``MultilineRecord`` when a quoted field spans lines (a line with an odd
    number of double quotes; checked when ``quotes``: the file holds a double quote at all).

    Line numbers: DuckDB's reader skips exactly the empty lines, so record k is the k-th non-empty
    line from ``first_line`` on; lines holding only spaces are records, dropped here as blank.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    n_lines, empty, blank, odd = _line_layout(path, first_line)
    if quotes and odd is not None:
        raise MultilineRecord(path, odd)
    rows, params = _record_rows(path, first_line, width, delim, codes)
    where = _where(filters, params) or ["true"]
    query = (
        f"SELECT *, count(*) OVER () AS n FROM ({rows}) WHERE {' AND '.join(where)} "  # noqa: S608
        f"UNION ALL SELECT NULL, NULL, {', '.join(['NULL'] * width)}, count(*) FROM ({_records(1)}) ORDER BY rn"
    )
    frame = _run(query, params, path)
    n_records = int(frame["n"].iloc[-1])
    frame = frame.iloc[:-1]
    if n_records != n_lines - len(empty):  # a record that is not one line: refuse rather than mislabel
        raise StoreError(f"DuckDB could not read {path}: its records do not match its lines")
    # The k-th non-empty line: k plus the empty lines before it (searchsorted on the empty lines'
    # positions among the non-empty ones).
    position = empty - first_line + 1 - np.arange(len(empty))
    k = frame["rn"].to_numpy(dtype="int64")
    lines = first_line - 1 + k + np.searchsorted(position, k, side="right")
    frame = frame.assign(line=lines)
    frame = frame[~np.isin(lines, blank)].drop(columns=["rn", "n"])
    frame = frame[["line", "n_fields", *(f"c{i}" for i in range(1, width + 1))]].reset_index(drop=True)
    frame["line"] = frame["line"].astype("int64")
    frame["n_fields"] = frame["n_fields"].astype("int64")
    wide = frame.index[frame["n_fields"] > width]
    if len(wide):  # the exact count of a record wider than read, from its line (a handful at most)
        text = _lines_text(path, frame.loc[wide, "line"].tolist())
        frame.loc[wide, "n_fields"] = [len(next(csv.reader([text[n]], delimiter=delim))) for n in frame.loc[wide, "line"]]
    for i in range(1, width + 1):
        frame[f"c{i}"] = frame[f"c{i}"].astype("str")
    return frame, n_records - len(blank)


def _lines_text(path, lines: list[int]) -> dict[int, str]:
    query = f"SELECT line, t FROM ({_LINES}) WHERE list_contains($lines, line)"  # noqa: S608
    frame = _run(query, {"path": str(path), "lines": [int(n) for n in lines]}, path)
    return dict(zip(frame["line"].astype("int64"), frame["t"].fillna(""), strict=True))


def distinct_values(
    path: str | Path,
    *,
    first_line: int,
    width: int,
    column: int,
    delim: str = ",",
    split_pattern: str | None = None,
    records: bool = False,
    codes: Iterable[int] = (),
    filters: Mapping[int, Sequence[str]] | None = None,
    limit: int = 9,
) -> tuple[list[str], int]:
    """Up to ``limit`` distinct values (sorted) of field ``column`` among the rows that pass
    ``filters``, and how many distinct values there are; ``records`` reads as ``read_records``,
    else as ``read_fields`` (for the few lines a refusal names, never for loading)."""
    if records:
        rows, params = _record_rows(path, first_line, width, delim, codes)
    else:
        params = {"path": str(path), "first": int(first_line)}
        if split_pattern is None:
            params["delim"], split = delim, "string_split(t, $delim)"
        else:
            params["pattern"], split = split_pattern, "regexp_split_to_array(t, $pattern)"
        cells = ", ".join(f"trim(coalesce(f[{i}], ''), ' \t') AS c{i}" for i in range(1, width + 1))
        rows = (
            f"SELECT line, len(f) AS n_fields, {cells} FROM (SELECT line, {split} AS f FROM ({_LINES}) "  # noqa: S608
            "WHERE line >= $first AND t IS NOT NULL AND trim(t, ' \t') <> '')"
        )
    where = _where(filters, params) + [f"n_fields >= {int(column)}"]
    query = (
        f"SELECT c{int(column)} AS v, count(*) OVER () AS n FROM ({rows}) "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY v ORDER BY v LIMIT {int(limit)}"
    )
    frame = _run(query, params, path)
    return frame["v"].astype("str").tolist(), int(frame["n"].iloc[0]) if len(frame) else 0
