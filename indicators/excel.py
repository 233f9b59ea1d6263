"""Excel workbooks (.xlsx) from national agencies: tidy sheets, and wide sheets through a mapping.

A **tidy sheet** has the header ``indicator, geo, period, value[, flag]`` (title rows above it are
skipped) and loads exactly like tidy CSV. Without a mapping every tidy sheet of a workbook loads.

A **wide sheet**, as agencies keep them, loads through a ``SheetMapping`` the analyst chooses:

* layout ``rows`` - one row per period (the period in ``period_column``, default A) and either one
  value column with a fixed ``geo`` (``value_column``, default the only other header cell), or one
  column per geo, the header cells being geo codes (DE, FR) or catalogue names (Germany);
* layout ``columns`` - one row per geo (codes or names in ``geo_column``, default A; with a fixed
  ``geo`` that column only labels the row) and one column per period, the header cells being dates
  or period texts (2024-01, Jan 2024, 2024M01, 2024-Q1, 2024).

The header row is ``header_row`` or else the first row with two filled cells. Rows and columns
labelled as a total (Total, Gjithsej, Ukupno, ...) are skipped and counted; any other label that is
not a period or a geo is a problem. Dates become periods in the indicator's frequency; numbers
become number text; empty cells are missing values; a formula's saved result is used (a formula
with no saved result is a problem). Rows go through ``validation.check_rows`` like any file, and
every problem names the sheet and the cell:
``readmissions.xlsx, sheet "2024", cell C14 (value): found "n/a"; expected a number, ...``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import pandas as pd
from openpyxl.utils import column_index_from_string, get_column_letter

from indicators.catalogue import GEO_PATTERN, Catalogue
from indicators.validation import FIELDS, Problem, problem, quoted
from indicators.workbook import (
    SPAN,
    Grid,
    Rows,
    cell_text,
    open_workbook,
    period_text,
    preview,
    read_grid,
    sheet_names,
)

__all__ = ["LAYOUTS", "SPAN", "SheetMapping", "Extract", "read", "sheet_names", "has_tidy_sheet", "preview",
           "period_text", "cell_text", "check_mapping"]

LAYOUTS = ("rows", "columns")
TIDY = (FIELDS[:4], FIELDS)
NO_TIDY_SHEET = ("a sheet mapping for a wide sheet: choose the layout on the Data page (or --sheet and --layout "
                 "on the command line), or save a tidy sheet indicator,geo,period,value")
_TOTAL = re.compile(r"(total|totali|totale|gjithsej|ukupno|sum|shuma|suma)\b.*", re.IGNORECASE)
@dataclass(frozen=True)
class SheetMapping:
    """How to read one wide sheet: which indicator, which layout, where geo and period are.

    ``sheet`` names the sheet; ``layout`` is ``rows`` (a row per period) or ``columns`` (a column
    per period). ``geo`` fixes one geo for every value (an indicator whose geo is home gets XK
    when neither ``geo`` nor ``geo_column`` is given). Columns are letters (``"A"``); rows count
    from 1 as Excel shows them.
    """

    sheet: str
    indicator: str
    layout: str = "rows"
    geo: str | None = None
    geo_column: str | None = None
    period_column: str | None = None
    header_row: int | None = None
    value_column: str | None = None


@dataclass
class Extract:
    """A workbook's rows as strings for ``check_rows``, their cells, and the problems found reading it."""

    rows: pd.DataFrame
    where: dict
    problems: list[Problem]
    sheets: list[str] = field(default_factory=list)
    header_rows: list[dict] = field(default_factory=list)  # per sheet: field -> row its value came from
    skipped: int = 0

    def cells(self, problems: Sequence[Problem]) -> list[Problem]:
        """``check_rows``' problems (line = encoded sheet row) as sheet and cell, in sheet order."""
        out, seen = [], set()
        for p in problems:
            if p.sheet is not None or p.line is None:
                out.append(((p.line or 0) // SPAN, p.line or 0, p.column or 0, p))
                continue
            number, row = divmod(p.line, SPAN)
            row = self.header_rows[number].get(p.column_name, row)
            message = re.sub(r"first on line (\d+)", lambda m, n=number: self._first(int(m[1]), n), p.message)
            cell = f"{get_column_letter(p.column)}{row}" if p.column else None
            q = replace(p, line=row, sheet=self.sheets[number], cell=cell, message=message)
            if str(q) not in seen:
                seen.add(str(q))
                out.append((number, row, p.column or 0, q))
        return [q for *_, q in sorted(out, key=lambda t: t[:3])]

    def _first(self, line: int, number: int) -> str:
        other, row = divmod(line, SPAN)
        return f"first in row {row}" if other == number else f'first in sheet "{self.sheets[other]}", row {row}'


def find_tidy(grid: Grid, file: str) -> tuple[int, int, int] | Problem | None:
    """(header row, first column, width) of a tidy header in the first 30 rows; a near miss is a problem."""
    for r in range(1, min(len(grid.rows), 30) + 1):
        cols = grid.filled(r)
        if not cols:
            continue
        names = tuple(cell_text(grid.get(r, c)).lower() for c in range(cols[0], cols[-1] + 1))
        if names and names[0] == "indicator":
            if names in TIDY:
                return r, cols[0], len(names)
            found = "header " + quoted(",".join(names))
            return replace(problem(file, r, found, "the header indicator,geo,period,value[,flag]",
                                   cols[0], "header"), sheet=grid.name, cell=f"{get_column_letter(cols[0])}{r}")
    return None


def tidy_rows(grid: Grid, file: str, head: tuple[int, int, int], catalogue: Catalogue) -> Rows:
    header, first, width = head
    got = Rows(grid, file)
    freq = {i.id: i.frequency for i in catalogue.indicators}
    for r in range(header + 1, len(grid.rows) + 1):
        cols = grid.filled(r)
        if not cols:
            continue
        for c in (c for c in cols if c < first or c >= first + width):
            got.problem(r, c, None, quoted(cell_text(grid.get(r, c))),
                        "an empty cell (no column of the tidy header above it)")
        values = [got.value(r, c, FIELDS[c - first]) for c in range(first, first + width)]
        cells = [cell_text(v) for v in values]
        cells[2] = period_text(values[2], freq.get(cells[0], "M"))
        got.add(r, cells, range(first, first + width))
    if not got.data and not got.problems:
        got.problem(header, None, None, "a header and no data rows", "at least one data row after the header")
    return got


def _header(grid: Grid, got: Rows, mapping: SheetMapping) -> int | None:
    if mapping.header_row:
        return mapping.header_row
    row = next((r for r in range(1, len(grid.rows) + 1) if len(grid.filled(r)) >= 2), None)
    if row is None:
        got.problem(1, None, None, "no header row (a row with two or more filled cells)",
                    "a header row above the data, or the header row chosen in the mapping")
    return row


def _labels(got: Rows, hr: int, skip: int, what: str) -> list[int]:
    """The header's columns holding data (totals skipped); blank header cells above data are problems."""
    grid, cols = got.grid, set()
    for r in range(hr + 1, len(grid.rows) + 1):
        cols.update(grid.filled(r))
    cols.update(grid.filled(hr))
    out = []
    for c in sorted(cols - {skip}):
        label = got.value(hr, c, "header")
        if label is None:
            got.problem(hr, c, "header", "an empty header cell above data (a blank or merged cell)",
                        f"{what} in every header cell above values (unmerge merged header cells)")
        elif isinstance(label, str) and _TOTAL.fullmatch(label.strip()):
            got.skipped += 1
        else:
            out.append(c)
    return out


def wide_rows(grid: Grid, file: str, mapping: SheetMapping, catalogue: Catalogue) -> tuple[Rows, dict]:
    """A wide sheet's rows and the fields whose value comes from the header row (field -> row)."""
    got = Rows(grid, file)
    ind, names = catalogue[mapping.indicator], {v.casefold(): k for k, v in catalogue.geo_names.items()}
    hr = _header(grid, got, mapping)
    if hr is None:
        return got, {}
    key = column_index_from_string((mapping.period_column if mapping.layout == "rows" else mapping.geo_column)
                                   or "A")
    if mapping.layout == "rows" and mapping.geo and mapping.value_column:
        cols = [column_index_from_string(mapping.value_column)]
    else:
        cols = _labels(got, hr, key, "a geo code" if mapping.layout == "rows" else "a period")
    if mapping.layout == "rows" and mapping.geo and len(cols) != 1:
        found = ", ".join(f"{get_column_letter(c)} {quoted(cell_text(grid.get(hr, c)))}" for c in cols)
        got.problem(hr, None, None, f"{len(cols)} value columns ({found or 'none'})",
                    f"one value column for the fixed geo {mapping.geo}, or geo codes as column headers")
        return got, {}
    for r in range(hr + 1, len(grid.rows) + 1):
        if not grid.filled(r):
            continue
        label = got.value(r, key, "period" if mapping.layout == "rows" else "geo")
        if isinstance(label, str) and _TOTAL.fullmatch(label.strip()):
            got.skipped += 1
            continue
        for c in cols:
            value = cell_text(got.value(r, c, "value"))
            if mapping.layout == "rows":
                geo = mapping.geo or _geo(grid.get(hr, c), names)
                got.add(r, [ind.id, geo, period_text(label, ind.frequency), value], [key, c, key, c])
            else:
                geo = mapping.geo or _geo(label, names)
                got.add(r, [ind.id, geo, period_text(grid.get(hr, c), ind.frequency), value], [key, key, c, c])
    if mapping.layout == "columns":
        return got, {"period": hr}
    return got, {} if mapping.geo else {"geo": hr}


def _geo(value, names: dict[str, str]) -> str:
    text = cell_text(value)
    return text if GEO_PATTERN.match(text) else names.get(text.casefold(), text)


def check_mapping(mapping: SheetMapping, file: str, catalogue: Catalogue) -> tuple[SheetMapping, list[Problem]]:
    """The mapping with its defaults filled in (XK for a home indicator), or what is wrong with it."""
    bad = []
    ind = catalogue.get(mapping.indicator)
    if ind is None:
        bad.append(problem(file, None, f"indicator {quoted(mapping.indicator)}",
                           f"an indicator id from the catalogue ({', '.join(catalogue.ids)})"))
    elif ind.geo_role == "home" and not mapping.geo and not mapping.geo_column:
        mapping = replace(mapping, geo="XK")
    if mapping.layout not in LAYOUTS:
        bad.append(problem(file, None, f"layout {quoted(mapping.layout)}", "rows or columns"))
    if mapping.geo and not GEO_PATTERN.match(mapping.geo):
        bad.append(problem(file, None, f"geo {quoted(mapping.geo)}", "a geo code such as XK or DE"))
    for name in ("geo_column", "period_column", "value_column"):
        letters = getattr(mapping, name)
        if letters and not re.fullmatch(r"[A-Z]{1,3}", letters):
            bad.append(problem(file, None, f"{name.replace('_', ' ')} {quoted(letters)}",
                               "a column letter such as A"))
    if mapping.header_row is not None and mapping.header_row < 1:
        bad.append(problem(file, None, f"header row {mapping.header_row}", "a row number from 1"))
    return mapping, [replace(p, sheet=mapping.sheet) for p in bad]


def _sheet_list(names: Sequence[str]) -> str:
    return ", ".join(f'"{n}"' for n in names)


def _parts(books, file: str, mappings: Sequence[SheetMapping], catalogue: Catalogue):
    """(sheet name, rows, header rows) per sheet to load, and the problems that stop the workbook."""
    names = books[0].sheetnames
    parts, bad = [], []
    for m in mappings:
        m, wrong = check_mapping(m, file, catalogue)
        if m.sheet not in names:
            wrong.insert(0, problem(file, None, f"no sheet {quoted(m.sheet)}", f"one of the sheets {_sheet_list(names)}"))
        if not wrong:
            grid = read_grid(books, m.sheet)
            if not any(grid.filled(r) for r in range(1, len(grid.rows) + 1)):
                wrong.append(replace(problem(file, None, "an empty sheet", "a header row and data rows"), sheet=m.sheet))
            else:
                parts.append((m.sheet, *wide_rows(grid, file, m, catalogue)))
        bad += wrong
    if mappings:
        return parts, bad
    empty = []
    for name in names:
        grid = read_grid(books, name)
        head = find_tidy(grid, file)
        if isinstance(head, Problem):
            bad.append(head)
        elif head is not None:
            parts.append((name, tidy_rows(grid, file, head, catalogue), {}))
        elif not any(grid.filled(r) for r in range(1, len(grid.rows) + 1)):
            empty.append(name)
    if not parts and not bad:
        wide = [n for n in names if n not in empty]
        found = f"no tidy sheet (no header indicator,geo,period,value in {_sheet_list(wide)})" if wide else f"only empty sheets ({_sheet_list(empty)})"
        bad.append(problem(file, None, found, NO_TIDY_SHEET if wide else "a sheet with a header row and data rows"))
    return parts, bad


def read(data: bytes, file: str, catalogue: Catalogue, mappings: Sequence[SheetMapping] = ()) -> Extract:
    """A workbook's rows for ``check_rows`` (its tidy sheets, or the mapped wide sheets)."""
    books, bad = open_workbook(data, file)
    empty = pd.DataFrame(columns=["line", *FIELDS], dtype="str")
    if bad:
        return Extract(empty, {}, [bad])
    try:
        parts, problems = _parts(books, file, list(mappings), catalogue)
    finally:
        for book in books:
            book.close()
    frames, cols = [], {f: [] for f in FIELDS}
    for number, (_, got, _) in enumerate(parts):
        problems += got.problems
        frame = got.frame()
        frame["line"] += number * SPAN
        frames.append(frame)
        for f in FIELDS:
            cols[f] += got.cols[f]
    rows = pd.concat(frames, ignore_index=True) if frames else empty
    where = {f: (pd.Series(cols[f], index=rows.index, dtype="int64"), f) for f in FIELDS}
    return Extract(rows, where, problems, [name for name, _, _ in parts], [h for *_, h in parts],
                   sum(got.skipped for _, got, _ in parts))


def has_tidy_sheet(data: bytes) -> bool:
    """Whether a workbook has a sheet that loads without a mapping."""
    books, bad = open_workbook(data, "")
    if bad:
        return False
    try:
        return any(find_tidy(read_grid(books, n), "") is not None for n in books[0].sheetnames)
    finally:
        for book in books:
            book.close()

