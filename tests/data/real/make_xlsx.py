"""Write the Excel test workbooks in the shapes the agencies send (run once; the outputs are committed).

    python tests/data/real/make_xlsx.py

Figures are invented but shaped like the real sheets: titles above the header, dates in column A,
a total row or column at the end, country names or codes down the side.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
MONTHS = [dt.datetime(2024, m, 1) for m in range(1, 13)]
EXITS = [41250, 39810, 43020, 45120, 47900, 52310, 61840, 64020, 50110, 46230, 42980, 48870]


def book() -> Workbook:
    wb = Workbook()
    wb.properties.creator = "tests/data/real/make_xlsx.py"
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
    return wb


def tidy() -> Workbook:
    """A tidy workbook: two title rows, a blank row, then indicator,geo,period,value,flag; two data sheets."""
    wb = book()
    ws = wb.active
    ws.title = "Border exits"
    ws.append(["Kosovo Police - exits of Kosovo citizens"])
    ws.append(["Extract for GAM, monthly"])
    ws.append([])
    ws.append(["indicator", "geo", "period", "value", "flag"])
    for month, value in zip(MONTHS[:6], EXITS[:6], strict=True):
        ws.append(["border_exits", "XK", month, value, None])
    ws.append(["border_exits", "XK", "2024-07", None, None])  # missing, written as text period
    ws.append(["border_exits", "XK", "2024-08", 64020.0, "p"])  # a whole float
    ws["C5"].number_format = "mmm yyyy"
    passports = wb.create_sheet("Passports")
    passports.append(["indicator", "geo", "period", "value"])
    for month, value in zip(MONTHS[:3], (12040, 11890, 13570), strict=True):
        passports.append(["passport_issuance", "XK", month, value])
    notes = wb.create_sheet("Notes")
    notes.append(["Figures for the last month are provisional."])
    return wb


def police_rows() -> Workbook:
    """Kosovo Police: Month | Exits, first-of-month dates in column A, a Total row with a formula."""
    wb = book()
    ws = wb.active
    ws.title = "Exits 2024"
    ws.append(["Kosovo Police - exits of Kosovo citizens at border crossing points, 2024"])
    ws.append([])
    ws.append(["Month", "Exits"])
    for month, value in zip(MONTHS, EXITS, strict=True):
        ws.append([month, value])
        ws.cell(ws.max_row, 1).number_format = "mmm yyyy"
    ws.append(["Total", "=SUM(B4:B15)"])  # no saved result (openpyxl computes nothing): skipped anyway
    return wb


READMISSIONS = {
    "Germany": [212, 198, 240, 251, 230, 219],
    "FR": [35, 41, 29, 38, 44, 40],
    "Switzerland": [61, 58, 70, 66, 59, 63],
    "Austria": [18, 22, 25, 19, None, 21],  # May 2024 not reported
    "SE": [9, 7, 12, 8, 10, 11],
}


def readmissions(bad: bool = False) -> Workbook:
    """Ministry of Internal Affairs: Country | Jan 2024 | ... | Jun 2024 | Total, a Total row at the bottom."""
    wb = book()
    ws = wb.active
    ws.title = "2024"
    ws.append(["Ministry of Internal Affairs - persons readmitted to Kosovo, by sending country"])
    ws.append([])
    ws.append(["Country", *[f"{m:%b %Y}" for m in MONTHS[:6]], "Total"])
    for country, values in READMISSIONS.items():
        ws.append([country, *values, sum(v or 0 for v in values)])
    ws.append(["Total", *[sum(v[i] or 0 for v in READMISSIONS.values()) for i in range(6)]])
    if bad:
        ws["C5"] = "n/a"  # FR, Feb 2024
        ws["D7"] = -3  # Austria, Mar 2024
    return wb


def passports_columns() -> Workbook:
    """Civil Registration Agency: one row, one column per month (dates in the header), geo fixed (XK)."""
    wb = book()
    ws = wb.active
    ws.title = "Passports"
    ws.append(["Civil Registration Agency - ordinary passports issued"])
    ws.append(["", *MONTHS[:4]])
    ws.append(["Passports issued", 12040, 11890, 13570, 15020])
    return wb


def formula() -> Workbook:
    """A value computed by a formula never saved by a spreadsheet (no saved result)."""
    wb = police_rows()
    wb.active["B6"] = "=B4+B5"
    return wb


def merged_header() -> Workbook:
    """Readmissions with the header's month cells merged over two columns."""
    wb = readmissions()
    ws = wb.active
    ws.merge_cells("B3:C3")
    return wb


def main() -> None:
    outputs = {
        "xlsx_tidy.xlsx": tidy(),
        "xlsx_police_rows.xlsx": police_rows(),
        "xlsx_readmissions_columns.xlsx": readmissions(),
        "xlsx_passports_columns.xlsx": passports_columns(),
        "xlsx_bad_readmissions.xlsx": readmissions(bad=True),
        "xlsx_formula.xlsx": formula(),
        "xlsx_merged_header.xlsx": merged_header(),
    }
    for name, wb in outputs.items():
        wb.save(HERE / name)
        print(HERE / name)


if __name__ == "__main__":
    main()
