"""Loading files into the store: formats, all or nothing, idempotent reloads, revisions."""

from __future__ import annotations

import datetime as dt
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from indicators import loaders
from indicators.loaders import LoadReport, load_demo_if_empty, load_files
from indicators.store import Store
from indicators.store import observations as stored_observations
from indicators.store.observations import dump, loads, observations, revisions, series, synthetic_in_use
from indicators.validation import LoadError

DATA = Path(__file__).with_name("data")
HEADER = "indicator,geo,period,value,flag\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def rows_of(store, indicator, geo):
    frame = series(store, indicator, geo)
    return [
        (r.period, None if math.isnan(r.value) else r.value, None if pd.isna(r.flag) else r.flag)
        for r in frame.itertuples()
    ]


def test_tidy_csv_loads_with_missing_values_as_null_and_synthetic_mark(store, catalogue, today):
    [report] = load_files(store, [DATA / "good.csv"], catalogue=catalogue, today=today)
    assert report == LoadReport(str(DATA / "good.csv"), "csv", 7, 0, 0, 0, True, False, None, 1)
    assert rows_of(store, "border_exits", "XK") == [
        ("2024-01", 41250.0, None),
        ("2024-02", 39810.0, None),
        ("2024-03", None, None),
        ("2024-04", 45120.0, "p"),
    ]
    assert report.metadata == {"source": "Kosovo Police (test extract)", "synthetic": "true"}
    assert loads(store)[["file", "format", "synthetic", "rows_new"]].values.tolist() == [
        [str(DATA / "good.csv"), "csv", True, 7]
    ]
    assert synthetic_in_use(store)


def test_eurostat_tsv_with_flags_missing_cells_and_other_rows_skipped(store, catalogue, today):
    [report] = load_files(store, [DATA / "migr_asyappctzm.tsv"], catalogue=catalogue, today=today)
    # AL citizens, women only, subsequent applicants and one age group are skipped
    assert (report.format, report.new, report.skipped_other_rows) == ("eurostat-tsv", 9, 4)
    assert rows_of(store, "asylum_applications", "DE") == [
        ("2024-01", 315.0, None),
        ("2024-02", None, None),
        ("2024-03", 5.0, "p"),
    ]
    assert rows_of(store, "asylum_applications", "FR") == [
        ("2024-01", None, "c"),
        ("2024-02", 12.0, "e"),
        ("2024-03", 40.0, None),
    ]
    assert not synthetic_in_use(store)
    assert "skipped 4 rows for other citizenships or breakdowns" in report.summary()


def test_older_tsv_with_asyl_app_nasy_app_and_geo_time(store, catalogue, today):
    [report] = load_files(store, [DATA / "estat_migr_asyappctzm.tsv"], catalogue=catalogue, today=today)
    assert (report.new, report.skipped_other_rows) == (4, 2)  # ASY_APP (all applicants) and RS citizens
    assert rows_of(store, "asylum_applications", "DE") == [
        ("2015-01", 4800.0, None),
        ("2015-02", 5900.0, None),
    ]
    assert rows_of(store, "asylum_applications", "HU") == [("2015-01", 2100.0, "e"), ("2015-02", None, None)]


def test_tsv_dataset_from_option_when_the_name_does_not_say(tmp_path, store, catalogue, today):
    path = tmp_path / "download.tsv"
    shutil.copy(DATA / "migr_asyappctzm.tsv", path)
    with pytest.raises(
        LoadError,
        match=r"download\.tsv: found no known dataset code in the file name; expected a "
        r"name like migr_asyappctzm\.tsv, or the --dataset option$",
    ):
        load_files(store, [path], catalogue=catalogue, today=today)
    [report] = load_files(store, [path], catalogue=catalogue, today=today, dataset="migr_asyappctzm")
    assert report.new == 9


def test_sdmx_csv_uses_the_dataflow_column(store, catalogue, today):
    [report] = load_files(store, [DATA / "sdmx_asylum.csv"], catalogue=catalogue, today=today)
    assert (report.format, report.new, report.skipped_other_rows) == ("sdmx-csv", 4, 2)
    assert rows_of(store, "asylum_applications", "DE") == [
        ("2024-01", 315.0, None),
        ("2024-02", None, None),
        ("2024-03", 5.0, "p"),
    ]
    assert rows_of(store, "asylum_applications", "FR") == [("2024-01", None, "c")]


def test_recognition_rate_is_computed_from_decisions(store, catalogue, today):
    [report] = load_files(store, [DATA / "sdmx_recognition.csv"], catalogue=catalogue, today=today)
    assert report.new == 3
    assert rows_of(store, "recognition_rate", "DE") == [("2024-Q1", 5.0, None), ("2024-Q2", 7.5, "p")]
    assert rows_of(store, "recognition_rate", "FR") == [("2024-Q1", None, None)]  # no decisions: no rate


def test_eurostat_monthly_file_for_an_annual_indicator_is_refused(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "migr_eipre.tsv",
        "freq,unit,citizen,sex,age,geo\\TIME_PERIOD\t2024-01 \nM,PER,XK,T,TOTAL,DE\t5 \n",
    )
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (
        f'{path}, line 2, column 2 (2024-01): found "2024-01"; expected an annual '
        "period YYYY for irregular_stay"
    )


def test_unmapped_dataset_names_the_mapping(tmp_path, store, catalogue, today):
    path = write(tmp_path, "x.tsv", "freq,geo\\TIME_PERIOD\t2024 \nA,DE\t5 \n")
    with pytest.raises(
        LoadError,
        match=r'x\.tsv, line 1: found dataset "tps00001"; expected one of the mapped '
        r"datasets \(migr_asyappctzm, migr_asydcfstq, migr_eiord, migr_eiord1, "
        r"migr_eipre, migr_eirfs, migr_eirtn, migr_eirtn1\); see indicators/eurostat_map\.toml "
        r"or use --dataset$",
    ):
        load_files(store, [path], catalogue=catalogue, today=today, dataset="tps00001")


def _big_file(tmp_path, rows: int, bad_at: int | None = None) -> Path:
    geos = [f"G{i:04d}" for i in range(rows // 120 + 1)]
    lines = []
    for geo in geos:
        for year in range(2010, 2020):
            for month in range(1, 13):
                lines.append(f"border_exits,{geo},{year}-{month:02d},{(year * month) % 97},\n")
    lines = lines[:rows]
    if bad_at is not None:
        lines[bad_at] = lines[bad_at].replace(",\n", ",q\n")
    return write(tmp_path, "big.csv", HEADER + "".join(lines))


def test_a_bad_row_in_the_middle_of_a_large_file_changes_nothing(tmp_path, store, catalogue, today):
    load_files(store, [DATA / "good.csv"], catalogue=catalogue, today=today)
    before, before_bytes = dump(store), store.path.read_bytes()
    path = _big_file(tmp_path, 50_000, bad_at=25_000)
    with pytest.raises(LoadError) as info:
        load_files(store, [DATA / "migr_asyappctzm.tsv", path], catalogue=catalogue, today=today)
    assert (
        str(info.value)
        == f'{path}, line 25002, column 5 (flag): found "q"; expected one of p, e, b, c, u or '
        "an empty cell"
    )
    assert dump(store) == before
    assert store.path.read_bytes() == before_bytes


def test_an_invalid_file_never_creates_the_database(tmp_path, catalogue, today):
    store = Store(tmp_path / "new.duckdb")
    with pytest.raises(LoadError):
        load_files(store, [DATA / "bad.csv"], catalogue=catalogue, today=today)
    assert not store.path.exists()


def test_reloading_the_same_file_changes_nothing(tmp_path, store, catalogue, today):
    path = _big_file(tmp_path, 2_000)
    [first] = load_files(store, [path], catalogue=catalogue, today=today)
    assert (first.new, first.already_loaded) == (2_000, False)
    before, before_bytes = dump(store), store.path.read_bytes()
    [again] = load_files(store, [path], catalogue=catalogue, today=today)
    assert (again.new, again.revised, again.unchanged, again.already_loaded) == (0, 0, 2_000, True)
    assert again.summary().startswith(f"unchanged: {path} already loaded on ")
    assert dump(store) == before
    assert store.path.read_bytes() == before_bytes


def test_same_rows_in_other_bytes_are_unchanged_too(tmp_path, store, catalogue, today):
    load_files(store, [DATA / "good.csv"], catalogue=catalogue, today=today)
    before_bytes = store.path.read_bytes()
    text = (
        (DATA / "good.csv").read_text(encoding="utf-8").replace("# source", "# note: reformatted\n# source")
    )
    [report] = load_files(store, [write(tmp_path, "copy.csv", text)], catalogue=catalogue, today=today)
    assert (report.already_loaded, report.unchanged) == (True, 7)
    assert store.path.read_bytes() == before_bytes


def test_a_changed_value_is_a_revision_that_keeps_the_old_value(tmp_path, catalogue, today):
    times = iter([dt.datetime(2026, 11, 1, 9), dt.datetime(2026, 11, 1, 9), dt.datetime(2026, 11, 20, 9)])
    store = Store(tmp_path / "r.duckdb", clock=lambda: next(times))
    first = write(tmp_path, "a.csv", HEADER + "border_exits,XK,2024-01,100,p\nborder_exits,XK,2024-02,90,\n")
    load_files(store, [first], catalogue=catalogue, today=today)
    second = write(
        tmp_path,
        "b.csv",
        HEADER + "border_exits,XK,2024-01,120,\nborder_exits,XK,2024-02,90,\nborder_exits,XK,2024-03,80,\n",
    )
    [report] = load_files(store, [second], catalogue=catalogue, today=today)
    assert (report.new, report.revised, report.unchanged) == (1, 1, 1)
    assert rows_of(store, "border_exits", "XK") == [
        ("2024-01", 120.0, None),
        ("2024-02", 90.0, None),
        ("2024-03", 80.0, None),
    ]
    old = revisions(store, "border_exits", "XK")
    assert old[
        ["period", "value", "flag", "load_id", "loaded_at", "source_file", "replaced_by_load", "replaced_at"]
    ].values.tolist() == [
        ["2024-01", 100.0, "p", 1, dt.datetime(2026, 11, 1, 9), str(first), 2, dt.datetime(2026, 11, 20, 9)]
    ]


def test_duplicate_keys_across_files_are_an_error(tmp_path, store, catalogue, today):
    a = write(tmp_path, "a.csv", HEADER + "border_exits,XK,2024-01,1,\n")
    b = write(tmp_path, "b.csv", HEADER + "border_exits,XK,2024-02,1,\nborder_exits,XK,2024-01,2,\n")
    with pytest.raises(LoadError) as info:
        load_files(store, [a, b], catalogue=catalogue, today=today)
    assert str(info.value) == (
        f"{b}, line 3: found a second row for border_exits, XK, 2024-01; expected one row "
        f"per indicator, geo and period in one load (first in {a}, line 2)"
    )
    assert observations(store).empty


def test_problems_of_all_files_are_reported_together(tmp_path, store, catalogue, today):
    a = write(tmp_path, "a.csv", HEADER + "border_exits,XK,2024-01,-1,\n")
    b = write(tmp_path, "b.csv", "")
    with pytest.raises(LoadError) as info:
        load_files(store, [a, b], catalogue=catalogue, today=today)
    assert str(info.value).splitlines() == [
        f'{a}, line 2, column 4 (value): found "-1"; expected a count of 0 or more',
        f"{b}: found an empty file; expected a header line indicator,geo,period,value[,flag]",
    ]


def test_several_files_load_in_one_write(store, catalogue, today):
    reports = load_files(
        store,
        [DATA / "good.csv", DATA / "migr_asyappctzm.tsv", DATA / "sdmx_asylum.csv"][:2],
        catalogue=catalogue,
        today=today,
        who="analyst",
    )
    assert [r.load_id for r in reports] == [1, 2]
    assert loads(store)["loaded_by"].tolist() == ["analyst", "analyst"]
    assert len(observations(store)) == 16


def test_demo_is_loaded_only_into_an_empty_database(tmp_path, store, catalogue, today, monkeypatch):
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy(DATA / "good.csv", demo / "a.csv")
    monkeypatch.setattr(loaders, "demo_files", lambda: sorted(demo.glob("*.csv")))
    [report] = load_demo_if_empty(store, catalogue, today)
    assert (report.new, report.synthetic) == (7, True)
    assert load_demo_if_empty(store, catalogue, today) == []


@pytest.mark.parametrize("cells, flags", [
    (["ep", "bep", "b d", "s", "f", "c", "u", "d", "r", "z", ""], ["p", "p", "b", "e", "e", "c", "u", "", "", "", ""]),
    (["x", "p!", "9"], ["x", "p!", "9"]),  # not Eurostat flags: left for the validator to refuse
])
def test_eurostat_flag_combinations_become_one_catalogue_flag(cells, flags):
    from indicators.eurostat import normalise_flags

    assert normalise_flags(pd.Series(cells, dtype="str")).tolist() == flags


def test_a_real_eurostat_file_with_combined_flags_loads(tmp_path, store, catalogue, today):
    path = tmp_path / "migr_asyappctzm.tsv"
    path.write_text("freq,unit,citizen,sex,age,applicant,geo\\TIME_PERIOD\t2024-01 \t2024-02 \t2024-03 \n"
                    "M,PER,XK,T,TOTAL,FRST,DE\t315 ep\t: d\t12 bd\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=today)
    rows = stored_observations.series(store, "asylum_applications", "DE")
    assert [None if pd.isna(f) else f for f in rows["flag"]] == ["p", None, "b"]
    assert rows["value"].iloc[0] == 315 and pd.isna(rows["value"].iloc[1])


# --- quoting: tidy CSV fields are read as RFC 4180 CSV (DuckDB's reader), never split by hand ---

GEO_RULE = "a geo code: a capital letter, then 1 to 15 capital letters, digits or _ (e.g. DE, EU27_2020)"


def test_a_quoted_field_holding_a_comma_is_one_field(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "comma.csv",
        HEADER + 'asylum_applications,DE,2024-01,5,\nasylum_applications,"Germany, Federal Republic",2024-02,6,\n',
    )
    with pytest.raises(LoadError) as info:  # once "found 6 fields; expected 5"
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == f'{path}, line 3, column 2 (geo): found "Germany, Federal Republic"; expected {GEO_RULE}'
    assert observations(store).empty


def test_a_doubled_quote_inside_quotes_is_one_quote(tmp_path, store, catalogue, today):
    path = write(tmp_path, "doubled.csv", HEADER + '"asylum_applications","D""E","2024-01","5",\n')
    with pytest.raises(LoadError) as info:  # once found "D""E" (quotes kept, doubled)
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == f'{path}, line 2, column 2 (geo): found "D\\"E"; expected {GEO_RULE}'


def test_quoted_fields_with_commas_and_quotes_load_and_keep_their_lines(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "quoted.csv",
        "# source: \"GAM\", monthly\n"
        '"indicator","geo","period","value","flag"\n\n'
        '"asylum_applications","DE","2024-01","1","p"\n'
        'asylum_applications,FR,2024-01,"",\n'
        'asylum_applications,SE,2024-01,"2,5",\n',  # line 6: a decimal comma inside quotes
    )
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (
        f'{path}, line 6, column 4 (value): found "2,5" (a decimal comma); expected a number with a decimal '
        "point, such as 5.5"
    )
    path.write_text(path.read_text(encoding="utf-8").replace('"2,5"', '"41"'), encoding="utf-8")
    [report] = load_files(store, [path], catalogue=catalogue, today=today)
    assert report.new == 3
    assert rows_of(store, "asylum_applications", "DE") == [("2024-01", 1.0, "p")]
    assert rows_of(store, "asylum_applications", "FR") == [("2024-01", None, None)]
    assert rows_of(store, "asylum_applications", "SE") == [("2024-01", 41.0, None)]


def test_a_quoted_line_break_in_a_tidy_csv_is_refused_with_its_line(tmp_path, store, catalogue, today):
    path = write(tmp_path, "multi.csv", HEADER + "asylum_applications,DE,2024-01,5,\n" + 'asylum_applications,"D\nE",2024-02,5,\n')
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (
        f"{path}, line 3: found a quoted field that continues onto the next line (an odd number of double "
        "quotes); expected each row on one line, with no line breaks inside quoted fields"
    )


@pytest.mark.parametrize("cell", ['"12"34', '"12" 34', '"1"2"3"'], ids=["digits", "space", "quotes"])
def test_text_after_a_closing_quote_is_refused_not_cut(tmp_path, store, catalogue, today, cell):
    # DuckDB's lenient reader would read "12"34 as 12: the line is refused instead.
    path = write(tmp_path, "after.csv", HEADER + 'asylum_applications,DE,2024-01,"5",\n' + f"asylum_applications,DE,2024-02,{cell},\n")
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (
        f'{path}, line 3: found a quoted field with text after its closing quote (such as "12"34); expected each '
        'field wholly in double quotes or not quoted at all (such as "1234" or 1234)'
    )
    assert observations(store).empty
