"""Tidy CSV, the canonical exchange format: header, fields and the messages particular to it.

::

    # source: Kosovo Police
    # synthetic: true
    indicator,geo,period,value,flag
    border_exits,XK,2024-01,41250,p

Fields are read by DuckDB's CSV reader with RFC 4180 quoting (``"Germany, Federal Republic"`` is
one field, ``""`` inside quotes is a quote); the header by Python's csv module. A number written
with its commas unquoted (``41,250``) splits into fields and is named as such.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from indicators.store.csvfiles import MultilineRecord, TextAfterQuote, read_records
from indicators.validation import COMMA_NUMBERS, FIELDS, MAX_PROBLEMS, Problem, problem, quoted

TIDY_HEADERS = ("indicator,geo,period,value", "indicator,geo,period,value,flag")
_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}
_EXTRA = 3  # fields read beyond the header's, to recognise a number split by its commas


def header_names(header: str, delim: str = ",") -> list[str]:
    """A header line's column names, lower case, as the csv module reads them."""
    return [c.strip().lower() for c in next(csv.reader([header], delimiter=delim), [])]


def _header_problem(file: str, line: int, header: str) -> Problem:
    for delim, name in _DELIMITERS.items():
        if delim in header and ",".join(header_names(header, delim)) in TIDY_HEADERS:
            return problem(
                file,
                line,
                f"fields separated by {name} (header {quoted(header.strip())})",
                f"fields separated by commas: {TIDY_HEADERS[0]}[,flag]",
            )
    return problem(
        file, line, f"header {quoted(header.strip())}", f"the header {TIDY_HEADERS[0]} or {TIDY_HEADERS[1]}"
    )


def number_with_commas(number: str, v: int, file: str, line: int) -> Problem | None:
    """A value written with a thousands separator or a decimal comma (column ``v``), named as such."""
    for pattern, found, expected in COMMA_NUMBERS:
        if re.fullmatch(pattern, number):
            return problem(file, line, f"{quoted(number)} ({found})", expected, v, "value")
    return None


def _field_count_problem(file: str, row, width: int, names: list[str]) -> Problem:
    """Too many or too few fields; a number written with an unquoted comma is named as such."""
    n, v = int(row.n_fields), names.index("value") + 1
    if width < n <= width + _EXTRA:
        number = ",".join(getattr(row, f"c{i}") for i in range(v, v + n - width + 1))
        named = number_with_commas(number, v, file, int(row.line))
        if named:
            return named
    return problem(file, int(row.line), f"{n} field{'s' if n != 1 else ''}", f"{width} ({','.join(names)})")


def read_tidy(
    path: Path, file: str, header_line: int, header: str, quote: bool
) -> tuple[pd.DataFrame | None, list[Problem], int]:
    """The data rows of a tidy CSV (string columns ``line`` and ``FIELDS``), the problems found in
    its header and field counts, and how many field-count problems there are beyond those listed.
    ``quote``: the file holds a double quote (else quoting is not looked for)."""
    names = header_names(header)
    if ",".join(names) not in TIDY_HEADERS:
        return None, [_header_problem(file, header_line, header)], 0
    width = len(names)
    try:
        frame, _ = read_records(path, first_line=header_line + 1, width=width + _EXTRA, quote=quote)
    except (MultilineRecord, TextAfterQuote) as exc:
        return None, [quoting_problem(file, exc)], 0
    if frame.empty:
        return None, [
            problem(file, header_line, "a header and no data rows", "at least one data row after the header")
        ], 0
    bad = frame["n_fields"] != width
    problems = [_field_count_problem(file, r, width, names) for r in frame[bad].head(MAX_PROBLEMS).itertuples()]
    frame = frame[~bad]
    rows = pd.DataFrame({"line": frame["line"]})
    for i, name in enumerate(FIELDS, 1):
        rows[name] = frame[f"c{i}"] if i <= width else ""
    return rows, problems, max(0, int(bad.sum()) - MAX_PROBLEMS)


def quoting_problem(file: str, exc: MultilineRecord | TextAfterQuote) -> Problem:
    """A quoted field running onto the next line, or followed by text (tidy CSV and SDMX-CSV say it alike)."""
    if isinstance(exc, TextAfterQuote):
        return problem(
            file,
            exc.line,
            'a quoted field with text after its closing quote (such as "12"34)',
            'each field wholly in double quotes or not quoted at all (such as "1234" or 1234)',
        )
    line = exc.line
    return problem(
        file,
        line,
        "a quoted field that continues onto the next line (an odd number of double quotes)",
        "each row on one line, with no line breaks inside quoted fields",
    )
