"""Fuzzing every parser: tidy CSV, Eurostat TSV, SDMX-CSV, the catalogue and the settings. Whatever the
input, the only failures are the documented ones (problems in a LoadError, CatalogueError,
SettingsError), each naming where; never a crash."""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from indicators.catalogue import CatalogueError, load_catalogue, parse_catalogue
from indicators.loaders import load_files, parse_file
from indicators.store import Store
from indicators.validation import LoadError
from monitoring.settings import SettingsError, load_settings, parse_settings

TODAY = dt.date(2026, 11, 26)
CATALOGUE = load_catalogue()
FOLDER = Path(tempfile.mkdtemp(prefix="fuzz-"))
PERCENT = {i.id for i in CATALOGUE.indicators if i.unit == "percent"}
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NASTY = ["", " ", "\t", '"', '""', "'", ",", ";", "\\", "#", "\x00", "\r", "\u00a0", "\ufeff", "ë", "😀", "=1+1",
         "@SUM(A1)", "'; DROP TABLE observations; --", "NaN", "inf", "-inf", "9e999", "1e-999", "-0", "0x10",
         "１２", "1_000", "1,5", "٣", "None", "null", ":", ": c", "5 p", "5 pe", "p", "e", "b", "c", "u", "x"]
CELL = st.one_of(st.sampled_from(NASTY), st.text(max_size=8), st.integers(-10, 10**6).map(str))
IDS = ["asylum_applications", "border_exits", "recognition_rate", "refused_entry", "nope"]
GEOS = ["DE", "FR", "XK", "EU27_2020", "de", "D", "DE-1"]
PERIODS = ["2024-01", "2024-13", "2024-Q1", "2024-Q5", "2024", "2024M01", "2024Q1", "2030-01", "1899-12", "24-01"]


def _write(name: str, data: bytes | str) -> Path:
    path = FOLDER / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return path


def _parsed_or_named(path: Path) -> None:
    parsed = parse_file(path, catalogue=CATALOGUE, today=TODAY)
    for p in parsed.problems:
        assert p.file == str(path)
        assert "found " in p.message and "; expected " in p.message
    if not parsed.problems:
        rows = parsed.rows
        assert rows is not None
        assert not rows.duplicated(["indicator", "geo", "period"]).any()
        assert ((rows["value"] >= 0) & (rows["value"] < float("inf")) | rows["value"].isna()).all()
        counts = rows[~rows["indicator"].isin(PERCENT)]["value"].dropna()
        assert (counts == counts.round()).all()  # a count of persons is whole
        assert not (rows["value"].dropna().map(lambda v: math.copysign(1, v)) < 0).any()  # never -0.0
        assert (rows["period"].str.slice(0, 4).astype(int) >= 1990).all()


VALUE = st.one_of(st.sampled_from(NASTY), st.builds("{}e{}".format, st.integers(0, 99), st.integers(-400, 400)),
                  st.floats().map(repr), st.floats().map(str), st.integers().map(str),
                  st.from_regex(r"[+-]?\d{0,4}\.?\d{0,3}([eE][+-]?\d{1,4})?", fullmatch=True))


@FAST
@given(value=VALUE, indicator=st.sampled_from(IDS[:3]))
@example(value="9e999", indicator="asylum_applications")  # read as infinity: found by this test
@example(value="12.5", indicator="asylum_applications")  # a fraction of a person
@example(value="1e-320", indicator="border_exits")
@example(value="-0", indicator="recognition_rate")
def test_tidy_values(value, indicator):
    form = "{}-Q1" if indicator == "recognition_rate" else "{}-01"
    rows = [f"{indicator},DE,{form.format(2000 + n)},{v}," for n, v in enumerate([value, "5"])]
    _parsed_or_named(_write("values.csv", "indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n"))


TIDY_ROW = st.one_of(
    st.tuples(st.sampled_from(IDS), st.sampled_from(GEOS), st.sampled_from(PERIODS), CELL, CELL).map(",".join),
    st.lists(CELL, max_size=8).map(",".join),
)


@FAST
@given(rows=st.lists(TIDY_ROW, max_size=10), header=st.sampled_from(
    ["indicator,geo,period,value,flag", "indicator,geo,period,value", "INDICATOR, geo ,period,value", ""]),
    newline=st.sampled_from(["\n", "\r\n"]), bom=st.booleans())
def test_tidy_csv(rows, header, newline, bom):
    text = newline.join([header, *rows]) + newline
    _parsed_or_named(_write("fuzz.csv", ("\ufeff" if bom else "") + text))


@FAST
@given(data=st.binary(max_size=300), gz=st.booleans())
def test_any_bytes(data, gz):
    import gzip

    _parsed_or_named(_write("bytes.csv.gz" if gz else "bytes.csv", gzip.compress(data) if gz and data else data))


TSV_DIMS = ["freq,unit,citizen,sex,age,applicant,geo", "freq,citizen,geo", "geo", "freq,unit,citizen,sex,age,"
            "asyl_app,geo", "x,y"]


@FAST
@given(dims=st.sampled_from(TSV_DIMS), labels=st.lists(st.sampled_from(PERIODS + ["2024-01 ", "x"]), min_size=0,
                                                        max_size=4),
       rows=st.lists(st.tuples(st.lists(st.sampled_from(["M", "PER", "XK", "T", "TOTAL", "FRST", "DE", "AL", ""]),
                                        max_size=8), st.lists(CELL, max_size=5)), max_size=8))
def test_eurostat_tsv(dims, labels, rows):
    lines = ["\t".join([dims + "\\TIME_PERIOD", *labels])]
    lines += ["\t".join([",".join(codes), *cells]) for codes, cells in rows]
    _parsed_or_named(_write("migr_asyappctzm.tsv", "\n".join(lines) + "\n"))


SDMX_HEADER = ["DATAFLOW", "LAST UPDATE", "freq", "unit", "citizen", "sex", "age", "applicant", "geo", "TIME_PERIOD",
               "OBS_VALUE", "OBS_FLAG"]


@FAST
@given(header=st.lists(st.sampled_from(SDMX_HEADER + ["decision", "x"]), min_size=1, max_size=13).map(",".join)
       | st.just(",".join(SDMX_HEADER)),
       rows=st.lists(st.lists(st.one_of(st.sampled_from(["ESTAT:MIGR_ASYAPPCTZM(1.0)", "ESTAT:MIGR_ASYDCFSTQ(1.0)",
                                                         "M", "Q", "PER", "XK", "T", "TOTAL", "FRST", "DE"]),
                                        st.sampled_from(PERIODS), CELL), max_size=13).map(",".join), max_size=8))
def test_sdmx_csv(header, rows):
    _parsed_or_named(_write("sdmx.csv", "\n".join([header, *rows]) + "\n"))


_STORE = Store(FOLDER / "fuzz.duckdb")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.tuples(st.sampled_from(IDS[:2]), st.sampled_from(GEOS[:3]),
                               st.sampled_from(PERIODS[:1] + ["2023-05", "2019-12"]),
                               st.one_of(st.integers(0, 10**9).map(str), st.sampled_from(["", "1e308", "9e999", "0.5",
                                                                                           "+3", ".5"])),
                               st.sampled_from(["", "p", "e"])).map(",".join), min_size=1, max_size=6))
def test_load_files_stores_what_it_accepts_or_raises_load_error(rows):
    path = _write("load.csv", "indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n")
    try:
        load_files(_STORE, [path], catalogue=CATALOGUE, today=TODAY)
    except LoadError as exc:
        assert all(p.file == str(path) for p in exc.problems)


TOML_VALUE = st.recursive(
    st.one_of(st.text(max_size=6), st.integers(-5, 10**20), st.floats(allow_nan=True), st.booleans()),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)
INDICATOR = st.fixed_dictionaries(
    {}, optional={"id": st.sampled_from(["ok_id", "Bad", 3, "", "x"]) | st.text(max_size=4),
                  "name": TOML_VALUE, "unit": TOML_VALUE, "source": TOML_VALUE, "description": TOML_VALUE,
                  "frequency": st.sampled_from(["M", "Q", "A", "W", 1]), "category": st.sampled_from(
                      ["outflow", "return", "x", 2]), "bad_direction": st.sampled_from(["up", "down", "both", None]),
                  "dataset": TOML_VALUE, "name_sq": TOML_VALUE})


def _toml(value) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, dict) else "{" + ", ".join(
        f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@FAST
@given(version=TOML_VALUE, indicators=st.lists(INDICATOR, max_size=3) | TOML_VALUE,
       geo=TOML_VALUE | st.dictionaries(st.sampled_from(["DE", "de", "X"]), st.text(max_size=3), max_size=2),
       aggregates=TOML_VALUE)
def test_catalogue_toml(version, indicators, geo, aggregates):
    lines = [f"version = {_toml(version)}", f"geo = {_toml(geo)}", f"aggregates = {_toml(aggregates)}"]
    if isinstance(indicators, list) and all(isinstance(i, dict) for i in indicators):
        lines += ["[[indicator]]\n" + "\n".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in i.items())
                  for i in indicators]
    else:
        lines.insert(0, f"indicator = {_toml(indicators)}")
    text = "\n".join(lines)
    try:
        parse_catalogue(text)
    except CatalogueError as exc:
        assert str(exc).startswith("catalogue")


@FAST
@given(text=st.text(max_size=200))
def test_catalogue_any_text(text):
    try:
        parse_catalogue(text)
    except CatalogueError as exc:
        assert str(exc).startswith("catalogue")


SECTION_KEYS = {"glm": ["years", "min_years", "exclude_recent_months", "reweight_threshold", "low_count", "x"],
                "glr": ["years", "min_years", "exclude_recent_months", "harmonics", "windows", "trend_guard", "x"],
                "levels": ["watch_alpha", "alert_alpha", "persistence", "min_count", "channels", "reporting_lag"],
                "visa_rule": ["watch", "alert", "reference", "min_count"]}
NUMBERS = st.one_of(st.integers(-3, 100), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                    st.text(max_size=4), st.lists(st.text(max_size=8), max_size=3), st.none())
SETTINGS = st.fixed_dictionaries({}, optional={
    "method": st.sampled_from(["auto", "glm", "ears", "x", 1]) | st.lists(st.text(max_size=2), max_size=2),
    **{name: st.dictionaries(st.sampled_from(keys), NUMBERS, max_size=4) | NUMBERS
       for name, keys in SECTION_KEYS.items()},
    "indicator": st.dictionaries(st.sampled_from(IDS), st.dictionaries(
        st.sampled_from(sum(SECTION_KEYS.values(), ["method"])), NUMBERS, max_size=3) | NUMBERS, max_size=2)
    | NUMBERS,
    "other": NUMBERS})


@FAST
@given(data=SETTINGS)
def test_settings_dict(data):
    try:
        parse_settings(data)
    except SettingsError as exc:
        assert str(exc).startswith("settings")


@FAST
@given(text=st.text(max_size=200) | SETTINGS.map(lambda d: "\n".join(
    f"{k} = {_toml(v)}" for k, v in d.items() if v is not None and not isinstance(v, float))))
def test_settings_file(text):
    path = _write("settings.toml", text)
    try:
        load_settings(path)
    except SettingsError as exc:
        assert str(exc).startswith(str(path))
