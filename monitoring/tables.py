"""Tables as files: the sheet model (numbers stay numbers, dates stay dates, an Excel format per
column or cell) and its CSV and XLSX writers, with the formula guard on text.

Shared by the pipeline (page tables, records) and the briefing files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# --- tables --------------------------------------------------------------------------------------

# Excel number formats of exported cells (the value itself stays a number or a date).
COUNT = "#,##0"
DECIMAL = "#,##0.00"
CHANGE = "+0%;-0%;0%"  # a signed change: 1.22 shows as +122%
SHARE = "0.0%"  # a rate: 0.453 shows as 45.3%
MONTH = "mmm yyyy"
YEAR = "0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm"
_CSV_DATES = {MONTH: "%Y-%m", DATE: "%Y-%m-%d", DATETIME: "%Y-%m-%d %H:%M"}


@dataclass(frozen=True)
class Sheet:
    """A table to export: numbers as numbers, dates as datetimes, text as text, and an Excel number
    format per column (a string) or per cell (a list, one per row; None: the default)."""

    frame: pd.DataFrame
    formats: dict = field(default_factory=dict)

    def renamed(self, names) -> Sheet:
        """The sheet with columns renamed (``names``: old -> new, e.g. headers in the language)."""
        return Sheet(self.frame.rename(columns=dict(names)),
                     {names.get(c, c): f for c, f in self.formats.items()})

    def format_of(self, column, row: int):
        fmt = self.formats.get(column)
        return fmt[row] if isinstance(fmt, (list, tuple)) else fmt


def _as_sheet(table) -> Sheet:
    return table if isinstance(table, Sheet) else Sheet(table)


def period_cell(code) -> tuple:
    """A period code as an exported cell: a month as its first day (shown ``Oct 2026``), a year as
    the number, a quarter as its code (``2026-Q3``, which no date format can show)."""
    if not isinstance(code, str) or not code:
        return None, None
    from indicators.periods import to_period

    period = to_period(code)
    if period.freqstr.startswith("M"):
        return period.start_time.to_pydatetime(), MONTH
    if period.freqstr.startswith("A") or period.freqstr.startswith("Y"):
        return int(period.year), YEAR
    return code, None


def value_cell(value, unit: str) -> tuple:
    """An observed, expected or bound value as an exported cell: a rate (unit ``percent``, stored as
    45.3) as the fraction 0.453 with a percent format; a count as a number with thousands."""
    if value is None or _missing(value):
        return None, None
    value = float(value)
    if unit == "percent":
        return round(value / 100, 6), SHARE
    return (int(value) if value.is_integer() else round(value, 2)), COUNT


def change_cell(change) -> tuple:
    """A relative change (1.22 for +122%) as an exported cell with a signed percent format."""
    if change is None or _missing(change) or not np.isfinite(float(change)):
        return None, None
    return round(float(change), 6), CHANGE


def when_cell(value, fmt: str = DATETIME) -> tuple:
    """A timestamp (or a date, with ``fmt=DATE``) as an exported date cell."""
    if value is None or _missing(value):
        return None, None
    stamp = pd.Timestamp(value)
    return (stamp.to_pydatetime() if fmt == DATETIME else stamp.normalize().to_pydatetime()), fmt


def sheet(columns: dict) -> Sheet:
    """A :class:`Sheet` from ``{column: [cell, ...]}``, each cell a value or a ``(value, format)`` pair."""
    data, formats = {}, {}
    for name, cells in columns.items():
        cells = list(cells)
        pairs = [c if isinstance(c, tuple) else (c, None) for c in cells]
        data[name] = pd.Series([v for v, _ in pairs], dtype=object)
        fmts = [f for _, f in pairs]
        if any(fmts):
            formats[name] = fmts[0] if len(set(fmts)) == 1 else fmts
    return Sheet(pd.DataFrame(data, columns=list(columns)), formats)


def neutralise(value):
    """A cell a spreadsheet could run as a formula (starting with = + - @, tab or CR) as plain text.

    Only text is touched: numbers, including negative ones, stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell and column name neutralised."""
    out = frame.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].astype(object).map(neutralise)
    return out


def _csv_value(value, fmt):
    """A cell as CSV writes it: numbers plain (``1234``, ``1.22``), dates ISO, text as is."""
    if value is None or _missing(value):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        default = "%Y-%m-%d %H:%M" if isinstance(value, dt.datetime) and value != _midnight(value) else "%Y-%m-%d"
        return value.strftime(_CSV_DATES.get(fmt, default))
    value = _plain(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def table_csv(table) -> bytes:
    """A table (a :class:`Sheet` or a frame) as UTF-8 CSV with a byte-order mark (so Excel reads ë
    and č): numbers plain, whatever the UI language (no thousands separator, a dot for decimals),
    dates ISO, text with formulas neutralised."""
    table = _as_sheet(table)
    safe = safe_frame(table.frame)
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(list(safe.columns))
    columns = list(table.frame.columns)
    for n, row in enumerate(safe.itertuples(index=False)):
        writer.writerow([_csv_value(v, table.format_of(c, n)) for c, v in zip(columns, row, strict=True)])
    return buf.getvalue().encode("utf-8-sig")


def table_xlsx(table, sheet: str = "data", *, title: str = "", note: str = "") -> bytes:
    """A table (a :class:`Sheet` or a frame) as an XLSX workbook (one sheet): numbers and dates as
    such with their number formats, text with formulas neutralised; title and note above when given."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    table = _as_sheet(table)
    wb = Workbook()
    ws = wb.active
    ws.title = "".join(c for c in sheet if c not in "[]:*?/\\")[:31] or "data"
    for text, bold in ((title, True), (note, False)):
        if text:
            ws.append([neutralise(text)])
            ws.cell(ws.max_row, 1).font = Font(bold=bold)
    if title or note:
        ws.append([])
    safe = safe_frame(table.frame)
    columns = list(table.frame.columns)
    header_row = ws.max_row + 1 if (title or note) else 1
    ws.append(list(safe.columns))
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for n, row in enumerate(safe.itertuples(index=False)):
        ws.append([None if _missing(v) else _plain(v) for v in row])
        for c, cell in enumerate(ws[ws.max_row]):
            fmt = table.format_of(columns[c], n)
            if fmt and not isinstance(cell.value, str) and cell.value is not None:
                cell.number_format = fmt
            elif isinstance(cell.value, (dt.datetime, dt.date)):
                cell.number_format = DATE if cell.value == _midnight(cell.value) else DATETIME
    for n, col in enumerate(safe.columns, 1):
        shown = [_shown(v) for v in safe.iloc[:, n - 1].head(200)]
        longest = max([len(str(col)), *(len(v) for v in shown)])
        ws.column_dimensions[get_column_letter(n)].width = min(60, max(8, longest + 2))
    for row in ws.iter_rows(min_row=header_row + 1):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever the text
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _midnight(value):
    if isinstance(value, dt.datetime):
        return value.replace(hour=0, minute=0, second=0, microsecond=0)
    return value


def _shown(value) -> str:
    if value is None or _missing(value):
        return ""
    if isinstance(value, (dt.datetime, dt.date)):
        return "2026-10-26 00:00"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _plain(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, pd.Period):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value
