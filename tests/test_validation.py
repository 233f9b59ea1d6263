"""Validation rules: one exact message per rule, the problem cap, and property tests of the parser."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indicators.loaders import parse_file
from indicators.validation import MAX_PROBLEMS, LoadError, Problem, with_indicator_hint

HEADER = "indicator,geo,period,value,flag\n"
GOOD = "border_exits,XK,2024-01,41250,\n"
IDS = (
    "asylum_applications, refused_entry, irregular_stay, border_exits, passport_issuance, return_decisions, "
    "effective_returns, return_decisions_annual, effective_returns_annual, repatriated_persons, recognition_rate"
)

# (rule, file text, expected message after "<file>, ")
RULES = [
    (
        "unknown indicator",
        HEADER + GOOD + "asylum_apps,DE,2024-01,5,\n",
        'line 3, column 1 (indicator): found "asylum_apps"; expected an indicator id from the catalogue '
        f"({IDS}); "
        "see python -m indicators list",
    ),
    (
        "bad geo",
        HEADER + "border_exits,Xk,2024-01,5,\n",
        'line 2, column 2 (geo): found "Xk"; expected a geo code: a capital letter, then 1 to 15 capital '
        "letters, "
        "digits or _ (e.g. DE, EU27_2020)",
    ),
    (
        "geo too long",
        HEADER + "border_exits,ABCDEFGHIJKLMNOPQ,2024-01,5,\n",
        'line 2, column 2 (geo): found "ABCDEFGHIJKLMNOPQ"; expected a geo code: a capital letter, then 1 '
        "to 15 "
        "capital letters, digits or _ (e.g. DE, EU27_2020)",
    ),
    (
        "bad period",
        HEADER + "border_exits,XK,2024-13,5,\n",
        'line 2, column 3 (period): found "2024-13"; expected a period YYYY-MM, YYYY-Qn or YYYY',
    ),
    (
        "wrong frequency",
        HEADER + "refused_entry,DE,2024-03,5,\n",
        'line 2, column 3 (period): found "2024-03"; expected an annual period YYYY for refused_entry',
    ),
    (
        "future period",
        HEADER + "border_exits,XK,2026-12,5,\n",
        'line 2, column 3 (period): found "2026-12"; expected a period that has started by 2026-11-26',
    ),
    (
        "negative value",
        HEADER + "border_exits,XK,2024-01,-3,\n",
        'line 2, column 4 (value): found "-3"; expected a count of 0 or more',
    ),
    (
        "fraction of a person",
        HEADER + "border_exits,XK,2024-01,12.5,\n",
        'line 2, column 4 (value): found "12.5"; expected a whole number of persons',
    ),
    (
        "half a person",
        HEADER + "border_exits,XK,2024-01,0.5,\n",
        'line 2, column 4 (value): found "0.5"; expected a whole number of persons',
    ),
    (
        "a tiny fraction of a passport",
        HEADER + "passport_issuance,XK,2024-01,1e-320,\n",
        'line 2, column 4 (value): found "1e-320"; expected a whole number of passports',
    ),
    (
        "a period before 1990",
        HEADER + "border_exits,XK,1899-01,5,\n",
        'line 2, column 3 (period): found "1899-01"; expected a period from 1990 on (the earliest accepted year; '
        "MONITOR_EARLIEST_YEAR changes it)",
    ),
    (
        "year 1200",
        HEADER + "border_exits,XK,1200-01,5,\n",
        'line 2, column 3 (period): found "1200-01"; expected a period from 1990 on (the earliest accepted year; '
        "MONITOR_EARLIEST_YEAR changes it)",
    ),
    (
        "year 0",
        HEADER + "refused_entry,DE,0000,5,\n",
        'line 2, column 3 (period): found "0000"; expected a period from 1990 on (the earliest accepted year; '
        "MONITOR_EARLIEST_YEAR changes it)",
    ),
    (
        "non-numeric value",
        HEADER + "border_exits,XK,2024-01,n/a,\n",
        'line 2, column 4 (value): found "n/a"; expected a number, or an empty cell for a missing value',
    ),
    (
        "percent above 100",
        HEADER + "recognition_rate,DE,2024-Q1,100.5,\n",
        'line 2, column 4 (value): found "100.5"; expected a percentage from 0 to 100',
    ),
    (
        "percent below 0",
        HEADER + "recognition_rate,DE,2024-Q1,-1,\n",
        'line 2, column 4 (value): found "-1"; expected a percentage from 0 to 100',
    ),
    (
        "unknown flag",
        HEADER + "border_exits,XK,2024-01,5,z\n",
        'line 2, column 5 (flag): found "z"; expected one of p, e, b, c, u or an empty cell',
    ),
    (
        "duplicate key",
        HEADER + GOOD + "border_exits,XK,2024-02,1,\n" + GOOD,
        "line 4: found a second row for border_exits, XK, 2024-01; expected one row per indicator, geo "
        "and period "
        "(first on line 2)",
    ),
    (
        "wrong header",
        "indicator,geo,month,value\n" + GOOD,
        'line 1: found header "indicator,geo,month,value"; expected the header indicator,geo,period,value or '
        "indicator,geo,period,value,flag",
    ),
    (
        "missing header",
        GOOD,
        'line 1: found header "border_exits,XK,2024-01,41250,"; expected the header '
        "indicator,geo,period,value or "
        "indicator,geo,period,value,flag",
    ),
    (
        "too few fields",
        HEADER + "border_exits,XK,2024-01\n",
        "line 2: found 3 fields; expected 5 (indicator,geo,period,value,flag)",
    ),
    (
        "too many fields",
        "indicator,geo,period,value\n" + "border_exits,XK,2024-01,5,p\n",
        "line 2: found 5 fields; expected 4 (indicator,geo,period,value)",
    ),
    ("empty file", "", "found an empty file; expected a header line indicator,geo,period,value[,flag]"),
    (
        "only comments",
        "# source: x\n\n",
        "found only comment lines; expected a header line indicator,geo,period,value[,flag]",
    ),
    (
        "bad synthetic",
        "# synthetic: maybe\n" + HEADER + GOOD,
        'line 1: found synthetic: "maybe"; expected # synthetic: true or # synthetic: false',
    ),
    (
        "carriage return inside a line",
        HEADER + "border_exits,XK,2024-01,5\r,\n",
        "line 2: found a carriage return (\\r) inside a line; expected lines ending in \\n or \\r\\n",
    ),
    (
        "mixed line endings",
        HEADER.replace("\n", "\r\n") + GOOD,
        "line 2: found a line ending in \\n in a file whose lines end in \\r\\n; expected one kind of "
        "line ending "
        "throughout",
    ),
    (
        "NUL character",
        HEADER + GOOD + "border_exits,XK,2024-02,\x00,\n",
        "line 3: found a NUL character; expected plain text",
    ),
    (
        "not utf-8",
        None,
        "line 2: found bytes that are not UTF-8 text (b'\\xff,20'); expected a UTF-8 text file",
    ),
]


@pytest.mark.parametrize(("rule", "text", "message"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_has_its_exact_message(tmp_path, catalogue, today, rule, text, message):
    path = tmp_path / "bad.csv"
    if text is None:
        path.write_bytes(HEADER.encode() + b"border_exits,\xff,2024-01,5,\n")
    else:
        path.write_text(text, encoding="utf-8")
    parsed = parse_file(path, catalogue=catalogue, today=today)
    separator = ", " if message.startswith("line") else ": "
    assert [str(p) for p in parsed.problems] == [f"{path}{separator}{message}"]


def test_percentages_take_fractions_and_minus_zero_is_stored_as_zero(tmp_path, catalogue, today):
    path = tmp_path / "ok.csv"
    path.write_text(HEADER + "recognition_rate,DE,2024-Q1,12.5,\nrecognition_rate,DE,2024-Q2,-0,\n"
                    "border_exits,XK,2024-01,-0,\nborder_exits,XK,2024-02,1.0,\nborder_exits,XK,1990-01,3e2,\n",
                    encoding="utf-8")
    parsed = parse_file(path, catalogue=catalogue, today=today)
    assert parsed.problems == []
    values = parsed.rows["value"].tolist()
    assert values == [12.5, 0.0, 0.0, 1.0, 300.0]
    assert [math.copysign(1, v) for v in values] == [1.0] * 5  # never -0.0


def test_the_earliest_year_is_a_setting(tmp_path, catalogue, today, monkeypatch):
    path = tmp_path / "old.csv"
    path.write_text(HEADER + "border_exits,XK,1985-01,5,\n", encoding="utf-8")
    monkeypatch.setenv("MONITOR_EARLIEST_YEAR", "1980")
    assert parse_file(path, catalogue=catalogue, today=today).problems == []
    monkeypatch.setenv("MONITOR_EARLIEST_YEAR", "1986")
    [found] = parse_file(path, catalogue=catalogue, today=today).problems
    assert found.message == ('found "1985-01"; expected a period from 1986 on (the earliest accepted year; '
                             "MONITOR_EARLIEST_YEAR changes it)")
    monkeypatch.setenv("MONITOR_EARLIEST_YEAR", "long ago")
    with pytest.raises(LoadError, match='MONITOR_EARLIEST_YEAR: found "long ago"; expected a year of four digits'):
        parse_file(path, catalogue=catalogue, today=today)


def test_the_dashboard_replaces_the_command_hint(tmp_path, catalogue, today):
    path = tmp_path / "typo.csv"
    path.write_text(HEADER + "asylum_apps,DE,2024-01,5,\nborder_exits,XK,2024-01,-3,\n", encoding="utf-8")
    problems = with_indicator_hint(parse_file(path, catalogue=catalogue, today=today).problems, "see the list")
    assert problems[0].message.endswith("(" + IDS + "); see the list")
    assert problems[1].message == 'found "-3"; expected a count of 0 or more'


def test_every_problem_of_a_file_is_listed_in_line_order(catalogue, today):
    parsed = parse_file("tests/data/bad.csv", catalogue=catalogue, today=today)
    assert [(p.line, p.column) for p in parsed.problems] == [
        (3, 1),
        (4, 2),
        (5, 3),
        (6, 3),
        (7, 4),
        (8, 4),
        (9, 5),
        (10, None),
        (11, 3),
        (12, None),
        (13, 4),
    ]
    assert parsed.rows is None or parsed.rows.empty


def test_problems_are_capped_with_a_count_of_the_rest(tmp_path, catalogue, today):
    path = tmp_path / "many.csv"
    path.write_text(
        HEADER + "".join(f"border_exits,XK,2024-01,-{i},\n" for i in range(1, 121)), encoding="utf-8"
    )
    parsed = parse_file(path, catalogue=catalogue, today=today)
    error = LoadError(parsed.problems, parsed.more)
    lines = str(error).splitlines()
    assert len(lines) == MAX_PROBLEMS + 1
    # 120 negative values, and 119 duplicates of line 2
    assert lines[-1] == f"... and {120 + 119 - MAX_PROBLEMS} more problems"
    assert lines[0] == f'{path}, line 2, column 4 (value): found "-1"; expected a count of 0 or more'
    assert error.count == 239


def test_problem_format_and_immutability():
    p = Problem("bad.csv", 5, 4, "value", 'found "-3"; expected a count of 0 or more')
    assert str(p) == 'bad.csv, line 5, column 4 (value): found "-3"; expected a count of 0 or more'
    assert str(Problem("x.csv", None, None, None, "found an empty file; expected a header")) == (
        "x.csv: found an empty file; expected a header"
    )
    with pytest.raises(AttributeError):
        p.line = 6  # type: ignore[misc]


def test_a_long_found_value_is_shortened_and_quotes_escaped(tmp_path, catalogue, today):
    path = tmp_path / "q.csv"
    path.write_text(
        HEADER + "border_exits,XK,2024-01," + "9" * 70 + "x,\n" + 'border_exits,XK,2024-02,a\\"b,\n',
        encoding="utf-8",
    )
    messages = [p.message for p in parse_file(path, catalogue=catalogue, today=today).problems]
    assert messages == [
        f'found "{"9" * 60}..."; expected a number, or an empty cell for a missing value',
        'found "a\\\\\\"b"; expected a number, or an empty cell for a missing value',
    ]


def test_missing_value_quotes_crlf_blank_lines_and_bom_are_accepted(tmp_path, catalogue, today):
    path = tmp_path / "ok.csv"
    path.write_bytes(
        b'\xef\xbb\xbf# synthetic: true\r\n"indicator","geo","period","value"\r\n'
        b'\r\n"border_exits","XK","2024-01",""\r\n border_exits , XK , 2024-02 , 7 \r\n'
    )
    parsed = parse_file(path, catalogue=catalogue, today=today)
    assert parsed.problems == []
    assert parsed.synthetic
    assert parsed.rows["line"].tolist() == [4, 5]
    assert parsed.rows["value"].isna().tolist() == [True, False]
    assert parsed.rows["value"].iloc[1] == 7.0


# --- property tests: the parser never fails with anything but problems naming a line ---

TOKENS = st.sampled_from(
    [
        "border_exits",
        "refused_entry",
        "recognition_rate",
        "XK",
        "DE",
        "de",
        "2024-01",
        "2024-Q1",
        "2024",
        "2030-01",
        "5",
        "-1",
        "101",
        "",
        "p",
        "x",
        "1e3",
        "12.5",
        "-0",
        "1899-01",
        '"',
        "#",
        " ",
        "\t",
        "nan",
        "inf",
    ]
)
ROW = st.lists(st.one_of(TOKENS, st.text(max_size=6)), min_size=0, max_size=7).map(",".join)


def _check_outcome(path, catalogue, today):
    parsed = parse_file(path, catalogue=catalogue, today=today)
    if parsed.problems:
        for p in parsed.problems:
            assert p.file == str(path)
            assert p.line is not None or p.message.startswith(
                ("found an empty file", "found only comment", "found synthetic", "found text the CSV reader",
                 "found no known dataset code in the file name")  # a first line shaped like a Eurostat TSV header
            )
            assert "; expected " in p.message
    else:
        rows = parsed.rows
        assert rows is not None
        assert not rows.duplicated(["indicator", "geo", "period"]).any()
        assert ((rows["value"] >= 0) | rows["value"].isna()).all()
        counts = rows[rows["indicator"] != "recognition_rate"]["value"].dropna()
        assert (counts == counts.round()).all()  # whole numbers of persons
        assert not any(math.copysign(1, v) < 0 for v in rows["value"].dropna())  # no -0.0
        assert (rows["period"].str.slice(0, 4).astype(int) >= 1990).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, max_size=8), header=st.sampled_from([HEADER, "indicator,geo,period,value\n", ""]))
def test_random_rows_load_or_name_a_line(tmp_path, catalogue, rows, header):
    path = tmp_path / "random.csv"
    path.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    _check_outcome(path, catalogue, dt.date(2026, 11, 26))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_random_text_never_crashes(tmp_path, catalogue, text):
    path = tmp_path / "text.csv"
    path.write_text(text, encoding="utf-8", newline="")
    _check_outcome(path, catalogue, dt.date(2026, 11, 26))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=120))
def test_random_bytes_never_crash(tmp_path, catalogue, data):
    path = tmp_path / "bytes.csv"
    path.write_bytes(data)
    _check_outcome(path, catalogue, dt.date(2026, 11, 26))
