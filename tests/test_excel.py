"""Excel workbooks (.xlsx): tidy sheets, the agencies' wide sheets through a mapping, exact refusals."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from indicators import excel
from indicators.__main__ import main
from indicators.excel import SheetMapping
from indicators.loaders import load_files, parse_file
from indicators.store.observations import dump, loads, series
from indicators.validation import LoadError

REAL = Path(__file__).with_name("data") / "real"
POLICE = SheetMapping("Exits 2024", "border_exits", "rows")
READMISSIONS = SheetMapping("2024", "repatriated_persons", "columns")
PASSPORTS = SheetMapping("Passports", "passport_issuance", "columns")


def copy(tmp_path: Path, name: str, as_name: str | None = None) -> Path:
    return Path(shutil.copy(REAL / name, tmp_path / (as_name or name)))


def values(store, indicator, geo):
    frame = series(store, indicator, geo)
    return [(r.period, None if r.value != r.value else r.value, r.flag if isinstance(r.flag, str) else None)
            for r in frame.itertuples()]


def refused(store, paths, catalogue, today, mappings=None) -> list[str]:
    """The problems of a refused load, checking that it changed nothing."""
    before, before_bytes = dump(store), store.path.read_bytes()
    with pytest.raises(LoadError) as caught:
        load_files(store, paths, catalogue=catalogue, today=today, sheet_mappings=mappings)
    assert dump(store) == before and store.path.read_bytes() == before_bytes
    return [str(p) for p in caught.value.problems]


def test_tidy_workbook_with_title_rows_loads_every_tidy_sheet(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_tidy.xlsx")
    [report] = load_files(store, [path], catalogue=catalogue, today=today)
    assert (report.format, report.new, report.revised, report.unchanged) == ("xlsx", 11, 0, 0)
    assert values(store, "border_exits", "XK") == [
        ("2024-01", 41250.0, None), ("2024-02", 39810.0, None), ("2024-03", 43020.0, None),
        ("2024-04", 45120.0, None), ("2024-05", 47900.0, None), ("2024-06", 52310.0, None),
        ("2024-07", None, None), ("2024-08", 64020.0, "p"),
    ]
    assert [p for p, *_ in values(store, "passport_issuance", "XK")] == ["2024-01", "2024-02", "2024-03"]
    assert loads(store)[["file", "format", "rows_new"]].values.tolist() == [[str(path), "xlsx", 11]]
    # The same workbook again changes nothing.
    before = dump(store)
    [again] = load_files(store, [path], catalogue=catalogue, today=today)
    assert again.already_loaded and dump(store)["observations"] == before["observations"]


def test_police_rows_layout_dates_in_column_a_total_row_skipped(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_police_rows.xlsx")
    [report] = load_files(store, [path], catalogue=catalogue, today=today, sheet_mappings={path.name: POLICE})
    assert (report.new, report.skipped_other_rows) == (12, 1)
    assert report.summary() == f"{path}: 12 new, 0 revised, 0 unchanged rows; skipped 1 total row or column"
    rows = values(store, "border_exits", "XK")  # XK: the indicator's geo is home
    assert len(rows) == 12 and rows[0] == ("2024-01", 41250.0, None) and rows[-1] == ("2024-12", 48870.0, None)
    before = dump(store)
    [again] = load_files(store, [path], catalogue=catalogue, today=today, sheet_mappings=[POLICE])
    assert again.already_loaded and dump(store)["observations"] == before["observations"]


def test_readmissions_columns_layout_country_names_and_codes(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_readmissions_columns.xlsx")
    [report] = load_files(store, [path], catalogue=catalogue, today=today, sheet_mappings=[READMISSIONS])
    assert (report.new, report.skipped_other_rows) == (30, 2)  # the Total column and the Total row
    for geo in ("DE", "FR", "CH", "AT", "SE"):
        assert len(series(store, "repatriated_persons", geo)) == 6
    assert values(store, "repatriated_persons", "DE")[:2] == [("2024-01", 212.0, None), ("2024-02", 198.0, None)]
    assert values(store, "repatriated_persons", "AT")[4] == ("2024-05", None, None)  # empty cell: missing


def test_passports_one_row_with_dates_in_the_header(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_passports_columns.xlsx")
    [report] = load_files(store, [path], catalogue=catalogue, today=today, sheet_mappings=[PASSPORTS])
    assert report.new == 4
    assert values(store, "passport_issuance", "XK")[-1] == ("2024-04", 15020.0, None)


def test_bad_cells_are_named_by_sheet_and_cell_and_nothing_loads(store, catalogue, today, tmp_path):
    load_files(store, [copy(tmp_path, "xlsx_tidy.xlsx")], catalogue=catalogue, today=today)
    path = copy(tmp_path, "xlsx_bad_readmissions.xlsx", "readmissions.xlsx")
    assert refused(store, [path], catalogue, today, [READMISSIONS]) == [
        f'{path}, sheet "2024", cell C5 (value): found "n/a"; expected a number, or an empty cell for a '
        "missing value",
        f'{path}, sheet "2024", cell D7 (value): found "-3"; expected a count of 0 or more',
    ]


def test_wide_sheet_without_a_mapping_is_refused(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_police_rows.xlsx")
    assert refused(store, [path], catalogue, today) == [
        f'{path}: found no tidy sheet (no header indicator,geo,period,value in "Exits 2024"); expected a sheet '
        "mapping for a wide sheet: choose the layout on the Data page (or --sheet and --layout on the command "
        "line), or save a tidy sheet indicator,geo,period,value"
    ]


def test_formula_without_saved_result_merged_header_missing_sheet(store, catalogue, today, tmp_path):
    formula = copy(tmp_path, "xlsx_formula.xlsx")
    merged = copy(tmp_path, "xlsx_merged_header.xlsx")
    assert refused(store, [formula], catalogue, today, [POLICE]) == [
        f'{formula}, sheet "Exits 2024", cell B6 (value): found a formula with no saved result; expected a '
        "value: open the workbook in Excel or LibreOffice and save it again"
    ]
    assert refused(store, [merged], catalogue, today, [READMISSIONS]) == [
        f'{merged}, sheet "2024", cell C3 (header): found an empty header cell above data (a blank or merged '
        "cell); expected a period in every header cell above values (unmerge merged header cells)"
    ]
    assert refused(store, [merged], catalogue, today, [SheetMapping("2025", "repatriated_persons", "columns")]) == [
        f'{merged}: found no sheet "2025"; expected one of the sheets "2024"'
    ]


def test_files_that_are_not_workbooks_we_can_open(store, catalogue, today, tmp_path):
    old = tmp_path / "old.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))
    locked = tmp_path / "locked.xlsx"
    locked.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + "EncryptionInfo".encode("utf-16-le") + bytes(500))
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes((REAL / "xlsx_tidy.xlsx").read_bytes()[:1500])
    text = tmp_path / "text.xlsx"
    text.write_text("indicator,geo,period,value\n")
    assert refused(store, [old, locked, damaged, text], catalogue, today) == [
        f'{old}: found an old Excel workbook (.xls); expected an .xlsx workbook: save it as .xlsx (in Excel: '
        'Save As "Excel Workbook")',
        f"{locked}: found a password-protected workbook; expected a workbook saved without a password to open it",
        f"{damaged}: found a damaged workbook that cannot be opened; expected an .xlsx workbook saved by Excel "
        "or LibreOffice",
        f"{text}: found a damaged workbook that cannot be opened; expected an .xlsx workbook saved by Excel or "
        "LibreOffice",
    ]


def test_empty_sheet_and_a_header_with_no_rows(store, catalogue, today, tmp_path):
    wb = Workbook()
    wb.active.title = "Empty"
    wb.create_sheet("Header").append(["indicator", "geo", "period", "value"])
    path = tmp_path / "book.xlsx"
    wb.save(path)
    assert refused(store, [path], catalogue, today, [SheetMapping("Empty", "border_exits", "rows")]) == [
        f'{path}, sheet "Empty": found an empty sheet; expected a header row and data rows'
    ]
    assert refused(store, [path], catalogue, today) == [
        f'{path}, sheet "Header", row 1: found a header and no data rows; expected at least one data row after '
        "the header"
    ]


def test_tidy_sheet_rules_apply_unchanged(store, catalogue, today, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["Readmissions"])
    ws.append(["indicator", "geo", "period", "value", "flag"])
    ws.append(["repatriated_persons", "DE", dt.datetime(2024, 1, 1), 12, None])
    ws.append(["repatriated_persons", "DE", "2024-01", 12.5, None])  # duplicate, and half a person
    ws.append(["no_such", "DE", "2024-02", 3, None])
    ws.append(["repatriated_persons", "DE", "2024-Q1", 3, "x"])
    ws.append(["repatriated_persons", "DE", dt.datetime(2027, 1, 1), 3, None, "note"])
    path = tmp_path / "tidy.xlsx"
    wb.save(path)
    problems = refused(store, [path], catalogue, today)
    assert problems[0] == (
        f'{path}, sheet "Data", row 4: found a second row for repatriated_persons, DE, 2024-01; expected one row '
        "per indicator, geo and period (first in row 3)"
    )
    assert problems[1] == f'{path}, sheet "Data", cell D4 (value): found "12.5"; expected a whole number of persons'
    assert problems[2].startswith(f'{path}, sheet "Data", cell A5 (indicator): found "no_such"; expected an ')
    assert problems[3:] == [
        f'{path}, sheet "Data", cell C6 (period): found "2024-Q1"; expected a monthly period YYYY-MM for '
        "repatriated_persons",
        f'{path}, sheet "Data", cell E6 (flag): found "x"; expected one of p, e, b, c, u or an empty cell',
        f'{path}, sheet "Data", cell C7 (period): found "2027-01"; expected a period that has started by '
        "2026-11-26",
        f'{path}, sheet "Data", cell F7: found "note"; expected an empty cell (no column of the tidy header '
        "above it)",
    ]


def test_wide_header_cells_that_are_not_geo_codes_are_named_once(store, catalogue, today, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["Month", "DE", "Mars", "Total"])
    ws.append(["Jan 2024", 1, 2, 3])
    ws.append(["2024M02", 4, 5, 9])
    path = tmp_path / "wide.xlsx"
    wb.save(path)
    mapping = SheetMapping("Sheet", "repatriated_persons", "rows")
    assert refused(store, [path], catalogue, today, [mapping]) == [
        f'{path}, sheet "Sheet", cell C1 (geo): found "Mars"; expected a geo code: a capital letter, then 1 to '
        "15 capital letters, digits or _ (e.g. DE, EU27_2020)"
    ]
    ws["C1"] = "France"
    wb.save(path)
    [report] = load_files(store, [path], catalogue=catalogue, today=today, sheet_mappings=[mapping])
    assert (report.new, report.skipped_other_rows) == (4, 1)
    assert values(store, "repatriated_persons", "FR") == [("2024-01", 2.0, None), ("2024-02", 5.0, None)]


def test_mapping_mistakes_are_named(store, catalogue, today, tmp_path):
    path = copy(tmp_path, "xlsx_police_rows.xlsx")
    bad = SheetMapping("Exits 2024", "exits", "diagonal", geo="kosovo", period_column="1")
    assert refused(store, [path], catalogue, today, [bad]) == [
        f'{path}, sheet "Exits 2024": found indicator "exits"; expected an indicator id from the catalogue '
        f"({', '.join(catalogue.ids)})",
        f'{path}, sheet "Exits 2024": found layout "diagonal"; expected rows or columns',
        f'{path}, sheet "Exits 2024": found geo "kosovo"; expected a geo code such as XK or DE',
        f'{path}, sheet "Exits 2024": found period column "1"; expected a column letter such as A',
    ]


def test_upload_limit_applies_to_workbooks(store, catalogue, today, tmp_path, monkeypatch):
    monkeypatch.setenv("MONITOR_MAX_UPLOAD_MB", "0.001")
    path = copy(tmp_path, "xlsx_tidy.xlsx")
    [problem] = refused(store, [path], catalogue, today)
    assert problem.startswith(f"{path}: found a file of 0.0 MB; expected at most 0.001 MB (the upload limit")


@pytest.mark.parametrize(
    "text, frequency, period",
    [("2024-01", "M", "2024-01"), ("2024M01", "M", "2024-01"), ("Jan 2024", "M", "2024-01"),
     ("January 2024", "M", "2024-01"), ("Shkurt 2024", "M", "2024-02"), ("Avgust 2024", "M", "2024-08"),
     ("01/2024", "M", "2024-01"), ("2024Q3", "Q", "2024-Q3"), ("Q3 2024", "Q", "2024-Q3"),
     (dt.datetime(2024, 8, 1), "Q", "2024-Q3"), (dt.date(2024, 8, 1), "A", "2024"), (2024, "A", "2024"),
     ("Foo 2024", "M", "Foo 2024"), ("2024-13", "M", "2024-13")],
)
def test_period_cells(text, frequency, period):
    assert excel.period_text(text, frequency) == period


def test_preview_and_sheet_names():
    data = (REAL / "xlsx_readmissions_columns.xlsx").read_bytes()
    assert excel.sheet_names(data) == ["2024"] and not excel.has_tidy_sheet(data)
    assert excel.has_tidy_sheet((REAL / "xlsx_tidy.xlsx").read_bytes())
    frame = excel.preview(data, "2024", rows=4)
    assert list(frame.columns) == list("ABCDEFGH") and list(frame.index) == [1, 2, 3, 4]
    assert frame.loc[3].tolist() == ["Country", "Jan 2024", "Feb 2024", "Mar 2024", "Apr 2024", "May 2024",
                                     "Jun 2024", "Total"]


def test_cli_loads_a_tidy_workbook_and_one_wide_sheet(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    tidy = copy(tmp_path, "xlsx_tidy.xlsx")
    police = copy(tmp_path, "xlsx_police_rows.xlsx")
    assert main(["load", str(tidy), "--db", str(db), "--today", "2026-11-26"]) == 0
    assert f"{tidy}: 11 new" in capsys.readouterr().out
    args = ["load", str(police), "--db", str(db), "--today", "2026-11-26"]
    assert main(args) == 1
    assert "found no tidy sheet" in capsys.readouterr().err
    assert main([*args, "--sheet", "Exits 2024", "--indicator", "border_exits", "--layout", "rows"]) == 0
    assert f"{police}: 4 new, 2 revised, 6 unchanged rows; skipped 1 total row or column" in capsys.readouterr().out


def test_parse_file_reports_format_xlsx(catalogue, today):
    parsed = parse_file(REAL / "xlsx_tidy.xlsx", catalogue=catalogue, today=today)
    assert parsed.format == "xlsx" and not parsed.problems and len(parsed.rows) == 11
    assert parsed.rows["line"].tolist()[:2] == [5, 6]
