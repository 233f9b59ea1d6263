"""Reading delimited text files with DuckDB's CSV reader (no database involved).

``read_records`` parses every format with DuckDB's reader, all columns as text, no type sniffing:

* tidy CSV and SDMX-CSV as RFC 4180 CSV (``quote``): a quoted field may hold the delimiter
  (``"Germany, Federal Republic"``) and doubled quotes (``""`` inside quotes is one quote);
* Eurostat TSV with no quoting, tab-separated, whose first field holds the dimension codes
  separated by commas (Eurostat's own convention; ``first_codes`` cuts it in SQL).

Records are matched to physical lines by order, so every message names the exact line (blank and
comment lines counted): DuckDB skips exactly the empty lines, and a record never spans lines,
because a record with a line break inside a quoted field is refused (``MultilineRecord``) at the
line it starts on, and a file whose record count differs from its line count is refused. A quoted
field followed by text (``"12"34``, which DuckDB's lenient reader cuts to 12) is refused too
(``TextAfterQuote``). Labelled
cells (``XK:Kosovo*``) can be cut to their code in SQL, so the filters (e.g. citizen = XK) hold
before anything reaches Python.

The path is read as a plain path: callers pass a private copy whose name has no glob characters
(DuckDB's reader would expand ``*``, ``?``, ``[...]``, ``{...}``), see ``loaders.exact_copy``.
"""

from __future__ import annotations

import csv
import threading
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


class TextAfterQuote(StoreError):
    """A quoted field followed by more text before the delimiter (``"12"34``) on ``line``."""

    def __init__(self, path, line: int):
        self.line = line
        super().__init__(f"{path}, line {line}: text after a closing quote")


# One column per line: a delimiter and quote that never occur in a text file we accept (the
# loaders refuse files containing the unit-separator control character, chr(31)).
_LINES = (
    "SELECT row_number() OVER () AS line, rtrim(t, chr(13)) AS t FROM read_csv($path, "
    "columns = {'t': 'VARCHAR'}, header = false, auto_detect = false, delim = chr(31), "
    "quote = '', escape = '', all_varchar = true)"
)


_READER: duckdb.DuckDBPyConnection | None = None
_READER_LOCK = threading.Lock()


def _reader() -> duckdb.DuckDBPyConnection:
    """A cursor on the process's in-memory DuckDB for reading files (a new instance costs about 20 ms,
    twice per file read; a cursor well under 1 ms, and each is its own connection, so threads may read
    at once)."""
    global _READER
    with _READER_LOCK:
        if _READER is None:
            _READER = duckdb.connect(":memory:")
        return _READER.cursor()


def _run(query: str, params: dict, path) -> pd.DataFrame:
    global _READER
    con = _reader()
    try:
        con.execute("SET python_enable_replacements = false")
        return con.sql(query, params=params).to_arrow_table().to_pandas()
    except duckdb.Error as exc:
        with _READER_LOCK:  # a fatal error invalidates the instance: the next read starts a new one
            _READER = None
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"DuckDB could not read {path}: {first}") from None
    finally:
        con.close()


def _records(width: int, quote: bool) -> str:
    """DuckDB's CSV reader over the records after the header, numbered in file order; ``width``
    columns, shorter records padded with NULL (an empty field is '', never NULL: see nullstr)."""
    columns = ", ".join(f"'r{i}': 'VARCHAR'" for i in range(1, width + 1))
    # DuckDB's parallel scanner refuses quoted line breaks with null_padding: with quoting on, one
    # thread reads, so that such a record is read and refused with its line (MultilineRecord).
    quoting = "quote = '\"', escape = '\"', parallel = false" if quote else "quote = '', escape = ''"
    return (
        "SELECT row_number() OVER () AS rn, * FROM read_csv($path, header = false, skip = $skip, "  # noqa: S608
        f"delim = $delim, {quoting}, auto_detect = false, all_varchar = true, "
        f"null_padding = true, strict_mode = false, nullstr = $null, columns = {{{columns}}})"
    )


def _cell(raw: str, i: int, code_only: bool) -> str:
    if code_only:  # "XK:Kosovo*", "M: Monthly" -> the code
        raw = f"split_part({raw}, ':', 1)"
    return f"trim({raw}, ' \t') AS c{i}"


def _record_rows(
    path, first_line: int, width: int, delim: str, codes: Iterable[int], quote: bool, first_codes: int
) -> tuple[str, dict]:
    """SQL for the records from ``first_line`` on: rn (record number), n_fields, c1..c<width> and
    ``broken`` (a read field holds a line break: a quoted field ran onto the next line).

    One field more than ``width`` is read, so a record with too many fields shows as
    ``n_fields = width + 1`` (its exact count is taken from its line, see ``read_records``).
    ``first_codes`` > 0: the first field is that many comma-separated codes (c1..c<first_codes>)."""
    if first_line < 2:
        raise ValueError("first_line must follow a header line")
    params: dict[str, object] = {
        "path": str(path),
        "skip": int(first_line) - 1,
        "delim": delim,
        "null": chr(31),  # never in a file we accept (textfile.decode refuses it)
    }
    codes = set(codes)
    fields = width + 1 - max(first_codes - 1, 0)  # fields read by DuckDB
    raw = [f"coalesce(r{i}, '')" for i in range(1, fields + 1)]
    counted = [f"(r{i} IS NOT NULL)::INTEGER" for i in range(1, fields + 1)]
    if first_codes:
        raw = [f"coalesce(string_split(r1, ',')[{i}], '')" for i in range(1, first_codes + 1)] + raw[1:]
        counted[0] = "len(string_split(coalesce(r1, ''), ','))"
    cells = ", ".join(_cell(r, i, i in codes) for i, r in enumerate(raw[:width], 1))
    broken = " OR ".join(f"contains(coalesce(r{i}, ''), chr(10))" for i in range(1, fields + 1)) if quote else "false"
    sql = (
        f"SELECT rn, {' + '.join(counted)} AS n_fields, {cells}, {broken} AS broken "  # noqa: S608
        f"FROM ({_records(fields, quote)})"
    )
    return sql, params


def _where(filters: Mapping[int, Sequence[str]] | None, params: dict) -> list[str]:
    where = []
    for n, (index, values) in enumerate(sorted((filters or {}).items())):
        params[f"v{n}"] = [str(v) for v in values]
        where.append(f"list_contains($v{n}, c{int(index)})")
    return where


def _well_quoted(delim: str) -> str:
    """A line whose every field is plain or wholly quoted: a quoted field ends at its closing quote
    (DuckDB's lenient reader would read ``"12"34`` as 12, silently)."""
    d = "\\t" if delim == "\t" else "\\" + delim
    field = f'(?:[ \\t]*"(?:[^"]|"")*"[ \\t]*|[ \\t]*(?:[^{d}" \\t][^{d}]*)?)'
    return f"^{field}(?:{d}{field})*$"


def _line_layout(path, first_line: int, delim: str, quote: bool) -> tuple[int, np.ndarray, np.ndarray, int | None]:
    """(lines from ``first_line`` on, empty lines, blank lines holding only spaces or tabs, the first
    line with text after a closing quote) in one pass over the physical lines."""
    params = {"path": str(path), "first": int(first_line), "quoted": _well_quoted(delim)}
    junk = "min(line) FILTER (contains(t, '\"') AND NOT regexp_full_match(t, $quoted))" if quote else "NULL"
    query = (
        "SELECT count(*) AS n, list(line ORDER BY line) FILTER (t IS NULL OR t = '') AS empty, "  # noqa: S608
        f"list(line ORDER BY line) FILTER (t <> '' AND trim(t, ' \t') = '') AS blank, {junk} AS junk "
        f"FROM ({_LINES}) WHERE line >= $first"
    )
    if not quote:
        del params["quoted"]
    row = _run(query, params, path).iloc[0]

    def lines(value) -> np.ndarray:
        return np.asarray([] if value is None else list(value), dtype="int64")

    junk_line = None if pd.isna(row["junk"]) else int(row["junk"])
    return int(row["n"]), lines(row["empty"]), lines(row["blank"]), junk_line


def _record_lines(rn: np.ndarray, first_line: int, empty: np.ndarray) -> np.ndarray:
    """The physical line of each record number: record k is the k-th non-empty line from
    ``first_line`` on, i.e. k plus the empty lines before it (searchsorted on the empty lines'
    positions among the non-empty ones)."""
    position = empty - first_line + 1 - np.arange(len(empty))
    return first_line - 1 + rn + np.searchsorted(position, rn, side="right")


def _true_field_counts(path, frame: pd.DataFrame, width: int, delim: str, quote: bool, first_codes: int) -> None:
    """The exact field count of the records wider than read, from their lines (a handful at most)."""
    wide = frame.index[frame["n_fields"] > width]
    if not len(wide):
        return
    text = _lines_text(path, frame.loc[wide, "line"].tolist())

    def count(line: str) -> int:
        if quote:
            return len(next(csv.reader([line], delimiter=delim)))
        first, *rest = line.split(delim)
        return (len(first.split(",")) if first_codes else 1) + len(rest)

    frame.loc[wide, "n_fields"] = [count(text[n]) for n in frame.loc[wide, "line"]]


def read_records(
    path: str | Path,
    *,
    first_line: int,
    width: int,
    delim: str = ",",
    quote: bool = True,
    first_codes: int = 0,
    codes: Iterable[int] = (),
    filters: Mapping[int, Sequence[str]] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The records from ``first_line`` on (the line after the header), parsed by DuckDB.

    Returns a DataFrame with ``line`` (1-based physical line), ``n_fields`` (the record's true
    field count, even beyond ``width``) and string columns ``c1`` .. ``c<width>`` (absent fields
    are ''), ordered by line, with lines holding only spaces or tabs dropped; and the number of
    records before ``filters`` (field number -> accepted values, all must hold) were applied.
    ``codes`` are field numbers whose cells are cut at the first ``:`` (``XK:Kosovo*`` -> ``XK``)
    before ``filters`` apply. ``quote``: RFC 4180 quoting (else none, as in Eurostat TSV).
    Raises ``MultilineRecord`` when a quoted field spans lines, ``TextAfterQuote`` when a quoted
    field is followed by text (``"12"34``, which DuckDB's lenient reader would read as 12).
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    n_lines, empty, blank, junk = _line_layout(path, first_line, delim, quote)
    rows, params = _record_rows(path, first_line, width, delim, codes, quote, first_codes)
    where = _where(filters, params)
    if where:  # the records' count before the filters, from a one-column read
        query = (
            f"SELECT *, count(*) OVER () AS n FROM ({rows}) WHERE ({' AND '.join(where)}) OR broken "  # noqa: S608
            f"UNION ALL SELECT NULL, NULL, {', '.join(['NULL'] * width)}, false, count(*) "
            f"FROM ({_records(1, quote)}) ORDER BY rn"
        )
        frame = _run(query, params, path)
        n_records, frame = int(frame["n"].iloc[-1]), frame.iloc[:-1].drop(columns="n")
    else:
        frame = _run(f"{rows} ORDER BY rn", params, path)  # noqa: S608
        n_records = len(frame)
    lines = _record_lines(frame["rn"].to_numpy(dtype="int64"), first_line, empty)
    broken = frame["broken"].to_numpy(dtype=bool)
    if broken.any():  # the records before it are single lines, so its line is exact
        raise MultilineRecord(path, int(lines[broken.argmax()]))
    if junk is not None:
        raise TextAfterQuote(path, junk)
    if n_records != n_lines - len(empty):  # a record that is not one line: refuse rather than mislabel
        raise StoreError(f"DuckDB could not read {path}: its records do not match its lines")
    frame = frame.assign(line=lines)
    frame = frame[~np.isin(lines, blank)]
    frame = frame[["line", "n_fields", *(f"c{i}" for i in range(1, width + 1))]].reset_index(drop=True)
    frame["line"] = frame["line"].astype("int64")
    frame["n_fields"] = frame["n_fields"].astype("int64")
    _true_field_counts(path, frame, width, delim, quote, first_codes)
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
    quote: bool = True,
    first_codes: int = 0,
    codes: Iterable[int] = (),
    filters: Mapping[int, Sequence[str]] | None = None,
    limit: int = 9,
) -> tuple[list[str], int]:
    """Up to ``limit`` distinct values (sorted) of field ``column`` among the records that pass
    ``filters``, and how many distinct values there are; read as ``read_records`` (for the few
    values a refusal names, never for loading)."""
    rows, params = _record_rows(path, first_line, width, delim, codes, quote, first_codes)
    where = _where(filters, params) + [f"n_fields >= {int(column)}"]
    query = (
        f"SELECT c{int(column)} AS v, count(*) OVER () AS n FROM ({rows}) "  # noqa: S608
        f"WHERE {' AND '.join(where)} GROUP BY v ORDER BY v LIMIT {int(limit)}"
    )
    frame = _run(query, params, path)
    return frame["v"].astype("str").tolist(), int(frame["n"].iloc[0]) if len(frame) else 0
