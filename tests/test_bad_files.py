"""Hostile and broken input files: each is refused with its exact message and changes nothing.

The corpus is ``tests/data/bad/`` (see its README); files too large to commit (a 10 MB line, a
100 MB file, a gzip bomb) are generated here. Accepted on purpose: a UTF-8 byte-order mark and
CRLF line endings (what Excel's "CSV UTF-8" writes).
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path

import pytest

from indicators.loaders import load_files
from indicators.store import Store
from indicators.store.observations import dump, observations
from indicators.validation import LoadError

DATA = Path(__file__).with_name("data")
BAD = DATA / "bad"
HEADER = "indicator,geo,period,value,flag\n"
IDS = (
    "asylum_applications, refused_entry, irregular_stay, border_exits, passport_issuance, return_decisions, "
    "effective_returns, return_decisions_annual, effective_returns_annual, repatriated_persons, recognition_rate"
)
GEO = "a geo code: a capital letter, then 1 to 15 capital letters, digits or _ (e.g. DE, EU27_2020)"

# file -> the exact report (``{path}`` is the file's path); one case per rule.
EXPECTED = {
    "empty.csv": "{path}: found an empty file; expected a header line indicator,geo,period,value[,flag]",
    "header_only.csv": "{path}, line 1: found a header and no data rows; expected at least one data row after "
    "the header",
    "semicolon.csv": '{path}, line 1: found fields separated by semicolons (header "indicator;geo;period;value;'
    'flag"); expected fields separated by commas: indicator,geo,period,value[,flag]',
    "tab.csv": '{path}, line 1: found fields separated by tabs (header "indicator\tgeo\tperiod\tvalue\tflag"); '
    "expected fields separated by commas: indicator,geo,period,value[,flag]",
    "decimal_comma.csv": '{path}, line 2, column 4 (value): found "4,5" (a decimal comma); expected a number '
    "with a decimal point, such as 5.5",
    "thousands_separator.csv": '{path}, line 2, column 4 (value): found "41,250" (a thousands separator); '
    "expected a plain number such as 41250, with no separators",
    "utf16.csv": '{path}, line 1: found UTF-16 text; expected a UTF-8 text file (in Excel: Save As "CSV UTF-8")',
    "utf16_no_bom.csv": '{path}, line 1: found UTF-16 text without a byte-order mark; expected a UTF-8 text file '
                        '(in Excel: Save As "CSV UTF-8")',
    "workbook.csv": "{path}, line 1: found a ZIP archive, such as an Excel workbook (.xlsx); expected a UTF-8 "
    'text file (in Excel: Save As "CSV UTF-8")',
    "garbage.csv": "{path}, line 1: found bytes that are not UTF-8 text (b'\\x89\\xfeU\\x18'); expected a "
    "UTF-8 text file",
    "nul.csv": "{path}, line 2: found a NUL character; expected plain text",
    "wide_header.csv": '{path}, line 1: found header "col0,col1,col2,col3,col4,col5,col6,col7,col8,col9,col10,'
    'col1..."; expected the header indicator,geo,period,value or indicator,geo,period,value,flag',
    "wide_row.csv": "{path}, line 2: found 3000 fields; expected 5 (indicator,geo,period,value,flag)",
    "formula.csv": "\n".join([
        f"{{path}}, line 2, column 1 (indicator): found \"=cmd|' /C calc'!A0\"; expected an indicator id from "
        f"the catalogue ({IDS}); see python -m indicators list",
        f'{{path}}, line 3, column 2 (geo): found "+1"; expected {GEO}',
        '{path}, line 4, column 3 (period): found "@SUM(A1:A9)"; expected a period YYYY-MM, YYYY-Qn or YYYY',
        '{path}, line 5, column 4 (value): found "=1+1"; expected a number, or an empty cell for a missing value',
        '{path}, line 6, column 5 (flag): found "-2+3"; expected one of p, e, b, c, u or an empty cell',
    ]),
    "sql_injection.csv": "\n".join([
        f"{{path}}, line 2, column 2 (geo): found \"'; DROP TABLE observations; --\"; expected {GEO}",
        f"{{path}}, line 3, column 1 (indicator): found \"'; DROP TABLE observations; --\"; expected an "
        f"indicator id from the catalogue ({IDS}); see python -m indicators list",
        '{path}, line 4, column 4 (value): found "1; DELETE FROM audit"; expected a number, or an empty cell '
        "for a missing value",
    ]),
    "markdown.csv": "\n".join([
        '{path}, line 2, column 4 (value): found "![px](http://127.0.0.1:8669/pixel.png)"; expected a number, or an '
        "empty cell for a missing value",
        f'{{path}}, line 3, column 2 (geo): found "[click](http://x)"; expected {GEO}',
        '{path}, line 4, column 1 (indicator): found "<img src=http://127.0.0.1:8669/pixel.png>"; expected an '
        f"indicator id from the catalogue ({IDS}); see python -m indicators list",
    ]),
    "overflow.csv": '{path}, line 2, column 4 (value): found "9e999"; expected a count below 1e+12',
    "future.csv": '{path}, line 3, column 3 (period): found "2027-01"; expected a period that has started by '
    "2026-11-26",
    "fraction.csv": "\n".join([
        '{path}, line 3, column 4 (value): found "12.5"; expected a whole number of persons',
        '{path}, line 4, column 4 (value): found "0.5"; expected a whole number of persons',
        '{path}, line 5, column 4 (value): found "1e-320"; expected a whole number of passports',
    ]),
    "too_early.csv": "\n".join(
        f'{{path}}, line {n}, column 3 (period): found "{p}"; expected a period from 1990 on (the earliest '
        "accepted year; MONITOR_EARLIEST_YEAR changes it)"
        for n, p in ((2, "1200-01"), (3, "1899-01"), (4, "0000-01"))
    ),
}
ACCEPTED = ("bom.csv", "crlf.csv", "bom_crlf.csv")


@pytest.fixture
def loaded(store, catalogue, today):
    """A database holding one good load (so "nothing changed" is checked against real content)."""
    load_files(store, [DATA / "good.csv"], catalogue=catalogue, today=today)
    return store


def _refused(store: Store, paths, catalogue, today, **kwargs) -> str:
    before, before_bytes = dump(store), store.path.read_bytes()
    with pytest.raises(LoadError) as info:
        load_files(store, paths, catalogue=catalogue, today=today, **kwargs)
    assert dump(store) == before
    assert store.path.read_bytes() == before_bytes
    return str(info.value)


def test_the_corpus_is_complete():
    on_disk = {p.name for p in BAD.glob("*.csv")}
    assert on_disk == set(EXPECTED) | set(ACCEPTED) | {"duplicate_a.csv", "duplicate_b.csv"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_bad_file_is_refused_with_its_message_and_changes_nothing(loaded, catalogue, today, name):
    path = BAD / name
    assert _refused(loaded, [path], catalogue, today) == EXPECTED[name].format(path=path)


@pytest.mark.parametrize("name", ACCEPTED)
def test_a_byte_order_mark_and_crlf_line_endings_are_accepted(store, catalogue, today, name):
    [report] = load_files(store, [BAD / name], catalogue=catalogue, today=today)
    assert (report.new, report.revised) == (1, 0)
    rows = observations(store)[["indicator", "geo", "period", "value", "flag"]].values.tolist()
    assert rows == [["border_exits", "XK", "2024-01", 41250.0, None]]


def test_minus_zero_is_stored_as_zero(store, catalogue, today, tmp_path):
    path = tmp_path / "minus_zero.csv"
    path.write_text(HEADER + "border_exits,XK,2024-01,-0,\nrecognition_rate,DE,2024-Q1,-0.0,\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=today)
    values = observations(store)["value"].tolist()
    assert values == [0.0, 0.0]
    assert [math.copysign(1, v) for v in values] == [1.0, 1.0]  # 0, never -0.0


def test_duplicate_keys_across_two_files_loaded_together(loaded, catalogue, today):
    a, b = BAD / "duplicate_a.csv", BAD / "duplicate_b.csv"
    assert _refused(loaded, [a, b], catalogue, today) == (
        f"{b}, line 3: found a second row for border_exits, XK, 2024-02; expected one row per indicator, geo "
        f"and period in one load (first in {a}, line 3)"
    )


def test_a_bad_file_among_good_ones_loads_none_of_them(loaded, catalogue, today):
    bad = BAD / "future.csv"
    message = _refused(loaded, [DATA / "migr_asyappctzm.tsv", bad], catalogue, today)
    assert message == EXPECTED["future.csv"].format(path=bad)


def test_a_10_mb_line_is_refused_before_parsing(loaded, catalogue, today, tmp_path):
    path = tmp_path / "huge_line.csv"
    path.write_text(HEADER + "border_exits,XK,2024-01," + "9" * 10_000_000 + ",\n", encoding="utf-8")
    assert _refused(loaded, [path], catalogue, today) == (
        f"{path}, line 2: found a line of 10,000,025 bytes; expected lines of at most 1,000,000 bytes"
    )


def _block(megabytes: float) -> bytes:
    """Valid-looking tidy CSV of about this size (many distinct rows)."""
    rows = [f"border_exits,G{g:05d},{y}-{m:02d},{(g * m) % 997},\n" for g in range(2000) for y in (2020, 2021)
            for m in range(1, 13)]
    chunk = "".join(rows).encode()
    return (HEADER.encode() + chunk * (int(megabytes * 2**20) // len(chunk) + 1))[: int(megabytes * 2**20)]


def test_a_100_mb_file_is_refused_by_the_upload_limit_without_being_read(loaded, catalogue, today, tmp_path):
    path = tmp_path / "hundred.csv"
    path.write_bytes(_block(100))
    assert _refused(loaded, [path], catalogue, today) == (
        f"{path}: found a file of 100.0 MB; expected at most 50 MB (the upload limit; MONITOR_MAX_UPLOAD_MB "
        "changes it)"
    )


def test_a_gzip_bomb_is_refused_by_the_upload_limit(loaded, catalogue, today, tmp_path):
    path = tmp_path / "bomb.csv.gz"
    path.write_bytes(gzip.compress(HEADER.encode() + b"0" * (51 * 2**20), compresslevel=1))
    assert path.stat().st_size < 2**20
    assert _refused(loaded, [path], catalogue, today) == (
        f"{path}: found a .gz file that unpacks to more than 50 MB; expected at most 50 MB of text (the upload "
        "limit; MONITOR_MAX_UPLOAD_MB changes it)"
    )


def test_the_upload_limit_is_a_setting(loaded, catalogue, today, tmp_path, monkeypatch):
    path = tmp_path / "padded.csv"
    comments = ("# " + "x" * 98 + "\n") * 15_729  # 1.5 MB of comment lines: a valid file
    path.write_text(comments + HEADER + "border_exits,XK,2024-05,1,\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_MAX_UPLOAD_MB", "1")
    assert _refused(loaded, [path], catalogue, today) == (
        f"{path}: found a file of 1.5 MB; expected at most 1 MB (the upload limit; MONITOR_MAX_UPLOAD_MB "
        "changes it)"
    )
    monkeypatch.setenv("MONITOR_MAX_UPLOAD_MB", "2")
    [report] = load_files(loaded, [path], catalogue=catalogue, today=today)
    assert report.new == 1


@pytest.mark.parametrize("value", ["fifty", "0", "-5", "inf"])
def test_an_unusable_upload_limit_setting_is_named(loaded, catalogue, today, monkeypatch, value):
    monkeypatch.setenv("MONITOR_MAX_UPLOAD_MB", value)
    assert _refused(loaded, [DATA / "good.csv"], catalogue, today) == (
        f'MONITOR_MAX_UPLOAD_MB: found "{value}"; expected a number of megabytes above 0, such as 50'
    )


def test_sql_in_a_file_name_is_stored_as_text(store, catalogue, today, tmp_path):
    path = tmp_path / "x'); DROP TABLE observations; --.csv"
    path.write_bytes((DATA / "good.csv").read_bytes())
    [report] = load_files(store, [path], catalogue=catalogue, today=today, who="o'brien\"; --")
    assert report.new == 7
    tables = dump(store)
    assert {"observations", "audit", "loads"} <= set(tables)
    assert [r[1] for r in tables["loads"]] == [str(path)]
    assert [r[5] for r in tables["loads"]] == ["o'brien\"; --"]
