"""An .xlsx workbook's cells: opened safely, cell values as the text a CSV would hold, periods read.

Used by ``indicators.excel`` (what the sheets mean) and the Data page's preview. A workbook is
opened twice with openpyxl in read-only mode: once for the saved results of formulas
(``data_only``), once for the formulas themselves, so that a formula with no saved result is told
apart from an empty cell.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import replace

import pandas as pd
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from indicators import textfile
from indicators.validation import FIELDS, Problem, problem

SPAN = 10_000_000  # line = sheet number * SPAN + row while several sheets are checked together
_OLE = b"\xd0\xcf\x11\xe0"
_UNPACKED = 10  # a workbook may unpack to at most this many times the upload limit

_MONTHS = {name: n for n, names in enumerate((
    "january jan janar januar", "february feb shkurt februar", "march mar mars mart",
    "april apr prill", "may maj", "june jun qershor", "july jul korrik",
    "august aug gusht avgust avg", "september sep sept shtator septembar", "october oct tetor oktobar okt",
    "november nov nëntor nentor novembar", "december dec dhjetor decembar"), 1) for name in names.split()}
_PERIODS = (  # (pattern, builder) for period texts, tried in order
    (re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])|([0-9]{4})-Q[1-4]|[0-9]{4}"), lambda m: m.group(0)),
    (re.compile(r"([0-9]{4})\s*[-/.]?\s*M([0-9]{1,2})", re.I), lambda m: _month(m[1], m[2])),
    (re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})"), lambda m: _month(m[1], m[2])),
    (re.compile(r"([0-9]{1,2})[-/.]([0-9]{4})"), lambda m: _month(m[2], m[1])),
    (re.compile(r"([0-9]{4})\s*[-/ ]?\s*Q([1-4])", re.I), lambda m: f"{m[1]}-Q{m[2]}"),
    (re.compile(r"Q([1-4])\s*[-/ ]?\s*([0-9]{4})", re.I), lambda m: f"{m[2]}-Q{m[1]}"),
    (re.compile(r"([^\W\d_]+)\.?[\s\-/]*(\d{4})"), lambda m: _month(m[2], _MONTHS.get(m[1].casefold()))),
)


def _month(year: str, month) -> str | None:
    return f"{year}-{int(month):02d}" if month and 1 <= int(month) <= 12 else None


def period_text(value, frequency: str) -> str:
    """A period cell as period text: a date in the frequency (M, Q, A), a text read as a period."""
    if isinstance(value, dt.date):
        if frequency == "A":
            return str(value.year)
        return f"{value.year}-Q{(value.month - 1) // 3 + 1}" if frequency == "Q" else f"{value:%Y-%m}"
    text = cell_text(value)
    for pattern, build in _PERIODS:
        m = pattern.fullmatch(text)
        if m and build(m):
            return build(m)
    return text


def cell_text(value) -> str:
    """A cell as the text a CSV would hold: whole numbers without ``.0``, empty for an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ") if value.time() != dt.time() else value.date().isoformat()
    return str(value).strip()


class Grid:
    """One sheet's values (row r, column c from 1) and the formula cells with no saved result."""

    def __init__(self, name: str, rows: list[tuple], formulas: list[tuple]):
        self.name, self.rows = name, rows
        self.uncached = {(r, c) for r, row in enumerate(formulas, 1) for c, v in enumerate(row, 1)
                         if _is_formula(v) and self.get(r, c) is None}

    def get(self, r: int, c: int):
        row = self.rows[r - 1] if 0 < r <= len(self.rows) else ()
        value = row[c - 1] if 0 < c <= len(row) else None
        return None if isinstance(value, str) and not value.strip() else value

    def filled(self, r: int) -> list[int]:
        return [c for c in range(1, len(self.rows[r - 1]) + 1) if self.get(r, c) is not None]


def _is_formula(value) -> bool:
    return (isinstance(value, str) and value.startswith("=")) or type(value).__name__ == "ArrayFormula"


def open_workbook(data: bytes, file: str):
    """(openpyxl workbook with saved results, workbook with formulas), or the problem that stops it."""
    if data.startswith(_OLE):
        if "EncryptionInfo".encode("utf-16-le") in data:
            return None, problem(file, None, "a password-protected workbook",
                                 "a workbook saved without a password to open it")
        return None, problem(file, None, "an old Excel workbook (.xls)",
                             'an .xlsx workbook: save it as .xlsx (in Excel: Save As "Excel Workbook")')
    damaged = problem(file, None, "a damaged workbook that cannot be opened",
                      "an .xlsx workbook saved by Excel or LibreOffice")
    if not data.startswith(b"PK\x03\x04"):
        return None, damaged
    limit = textfile.max_upload_mb() * _UNPACKED
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(i.file_size for i in archive.infolist())
        if unpacked > limit * 1024 * 1024:
            return None, problem(file, None, f"a workbook that unpacks to more than {limit:g} MB",
                                 f"at most {limit:g} MB unpacked ({_UNPACKED} times the upload limit)")
        books = [load_workbook(io.BytesIO(data), read_only=True, data_only=only) for only in (True, False)]
    except Exception:  # openpyxl raises many kinds (zip, XML, KeyError) for one cause: a damaged file
        return None, damaged
    return books, None


def read_grid(books, name: str) -> Grid:
    sheets = [book[name] for book in books]
    for ws in sheets:
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # some writers record wrong dimensions
    values, formulas = ([tuple(r) for r in ws.iter_rows(values_only=True)] for ws in sheets)
    return Grid(name, values, formulas)


class Rows:
    """Rows collected from one sheet, with each field's column per row."""

    def __init__(self, grid: Grid, file: str):
        self.grid, self.file = grid, file
        self.data: list[tuple] = []
        self.cols: dict[str, list[int]] = {f: [] for f in FIELDS}
        self.problems: list[Problem] = []
        self.skipped = 0

    def value(self, r: int, c: int, label: str):
        if (r, c) in self.grid.uncached:
            self.problem(r, c, label, "a formula with no saved result",
                         "a value: open the workbook in Excel or LibreOffice and save it again")
        return self.grid.get(r, c)

    def problem(self, r: int, c: int | None, label: str | None, found: str, expected: str) -> None:
        cell = f"{get_column_letter(c)}{r}" if c else None
        self.problems.append(replace(problem(self.file, r, found, expected, c, label),
                                     sheet=self.grid.name, cell=cell))

    def add(self, r: int, cells: Sequence[str], cols: Sequence[int]) -> None:
        self.data.append((r, *cells, *([""] * (len(FIELDS) - len(cells)))))
        for f, c in zip(FIELDS, list(cols) + [cols[-1]] * (len(FIELDS) - len(cols)), strict=True):
            self.cols[f].append(c)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.data, columns=["line", *FIELDS], dtype="str").astype({"line": "int64"})


def sheet_names(data: bytes) -> list[str]:
    """The sheets of a workbook (empty when it cannot be opened)."""
    books, bad = open_workbook(data, "")
    if bad:
        return []
    names = books[0].sheetnames
    for book in books:
        book.close()
    return names


def preview(data: bytes, sheet: str, rows: int = 12) -> pd.DataFrame:
    """The first rows of a sheet as text, columns named by letter and rows by number, as Excel shows them."""
    books, bad = open_workbook(data, "")
    if bad or sheet not in books[0].sheetnames:
        return pd.DataFrame()
    try:
        grid = read_grid(books, sheet)
    finally:
        for book in books:
            book.close()
    width = max((len(r) for r in grid.rows[:rows]), default=0)
    table = [[cell_text(grid.get(r, c)) for c in range(1, width + 1)] for r in range(1, min(rows, len(grid.rows)) + 1)]
    frame = pd.DataFrame(table, columns=[get_column_letter(c) for c in range(1, width + 1)], dtype="str")
    frame.index = range(1, len(frame) + 1)
    return frame

