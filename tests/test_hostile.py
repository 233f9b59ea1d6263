"""Holes a hostile corpus found: a file can never change data it should not, and is refused by line and column."""

from __future__ import annotations

import pytest

from indicators.loaders import load_files
from indicators.store.observations import observations
from indicators.validation import LoadError

HEADER = "indicator,geo,period,value,flag\n"
NUMBER = "a number, or an empty cell for a missing value"


def table(store) -> list[tuple]:
    obs = observations(store)
    return sorted((r.indicator, r.geo, r.period, None if r.value != r.value else r.value) for r in obs.itertuples())


def refused(store, catalogue, today, path) -> str:
    before = table(store)
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert table(store) == before  # nothing changed
    return str(info.value)


@pytest.mark.parametrize("digits", ["١٢٦", "१२६", "１２６"], ids=["arabic-indic", "devanagari", "fullwidth"])
def test_only_ascii_digits_are_numbers_in_a_tidy_csv(tmp_path, store, catalogue, today, digits):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "asylum_applications,DE,2024-01,126,\n", encoding="utf-8")
    load_files(store, [good], catalogue=catalogue, today=today)
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + f"asylum_applications,DE,2024-01,{digits},\n", encoding="utf-8")
    assert refused(store, catalogue, today, bad) == (
        f'{bad}, line 2, column 4 (value): found "{digits}"; expected {NUMBER}')
    assert table(store) == [("asylum_applications", "DE", "2024-01", 126.0)]  # never replaced by a missing value


def test_only_ascii_digits_are_numbers_in_a_eurostat_tsv_cell(tmp_path, store, catalogue, today):
    path = tmp_path / "migr_asyappctzm.tsv"
    path.write_text("freq,unit,citizen,sex,age,applicant,geo\\TIME_PERIOD\t2024-01 \t2024-02 \n"
                    "M,PER,XK,T,TOTAL,FRST,DE\t126 \t١٢٦ \n", encoding="utf-8")
    assert refused(store, catalogue, today, path) == (
        f'{path}, line 2, column 3 (2024-02): found "١٢٦"; expected {NUMBER}')


def test_only_ascii_digits_are_numbers_in_an_sdmx_obs_value(tmp_path, store, catalogue, today):
    path = tmp_path / "asylum.csv"
    path.write_text("DATAFLOW,LAST UPDATE,freq,unit,citizen,sex,age,applicant,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
                    "ESTAT:MIGR_ASYAPPCTZM(1.0),24/10/25 23:00:00,M,PER,XK,T,TOTAL,FRST,DE,2024-01,१२६,\n",
                    encoding="utf-8")
    assert refused(store, catalogue, today, path) == (
        f'{path}, line 2, column 11 (OBS_VALUE): found "१२६"; expected {NUMBER}')


@pytest.mark.parametrize("period", ["２０２４-01", "٢٠٢٤-01"], ids=["fullwidth", "arabic-indic"])
def test_a_year_in_other_digits_is_refused_with_its_column_not_a_traceback(tmp_path, store, catalogue, today, period):
    path = tmp_path / "y.csv"
    path.write_text(HEADER + f"asylum_applications,DE,{period},5,\n", encoding="utf-8")
    assert refused(store, catalogue, today, path) == (
        f'{path}, line 2, column 3 (period): found "{period}"; expected a period YYYY-MM, YYYY-Qn or YYYY')


def test_a_file_name_is_a_path_never_a_pattern(tmp_path, store, catalogue, today):
    # DuckDB's reader expands * ? [ ] { }: 'a_*.csv' read its sibling's rows under its own name.
    named = tmp_path / "a_*.csv"
    named.write_text(HEADER + "asylum_applications,DE,2024-01,5,\n", encoding="utf-8")
    (tmp_path / "a_b.csv").write_text(HEADER + "asylum_applications,FR,2024-01,99,\n"
                                      "asylum_applications,FR,2024-02,98,\n", encoding="utf-8")
    [report] = load_files(store, [named], catalogue=catalogue, today=today)
    assert (report.file, report.new) == (str(named), 1)
    assert table(store) == [("asylum_applications", "DE", "2024-01", 5.0)]
    bad = tmp_path / "b_[x].csv"
    bad.write_text(HEADER + "asylum_applications,DE,2024-02,-1,\n", encoding="utf-8")
    assert refused(store, catalogue, today, bad) == (
        f'{bad}, line 2, column 4 (value): found "-1"; expected a count of 0 or more')


def test_control_characters_from_a_file_are_shown_escaped_never_raw(tmp_path, store, catalogue, today):
    # An ANSI escape or a line break in a value or a file name must not reach the terminal raw.
    path = tmp_path / "evil\x1b[2Jname.csv"
    path.write_text(HEADER + "asylum_applications,DE,2024-01,\x1b[31m5\u2028,\n", encoding="utf-8")
    message = refused(store, catalogue, today, path)
    assert "\x1b" not in message and "\u2028" not in message
    assert message == (f'{tmp_path}/evil\\x1b[2Jname.csv, line 2, column 4 (value): found "\\x1b[31m5\\u2028"; '
                       f"expected {NUMBER}")
    good = tmp_path / "ok\x07.csv"
    good.write_text(HEADER + "asylum_applications,DE,2024-01,5,\n", encoding="utf-8")
    [report] = load_files(store, [good], catalogue=catalogue, today=today)
    assert report.summary() == f"{tmp_path}/ok\\x07.csv: 1 new, 0 revised, 0 unchanged rows"


@pytest.mark.parametrize(("bounds", "message"), [
    (["--from", "2026-13"], "error: --from: found '2026-13'; expected a period YYYY-MM, YYYY-Qn or YYYY (year 1 or "
                            "later)"),
    (["--to", "0000-01"], "error: --to: found '0000-01'; expected a period YYYY-MM, YYYY-Qn or YYYY (year 1 or "
                          "later)"),
    (["--from", "![px](http://127.0.0.1:8669/pixel.png)"],
     "error: --from: found '![px](http://127.0.0.1:8669/pixel.png)'; expected a period YYYY-MM, YYYY-Qn or YYYY "
     "(year 1 or later)"),
    (["--from", "2024-02", "--to", "2024-01"], "error: --from 2024-02 is after --to 2024-01"),
], ids=["month-13", "year-0", "markdown", "reversed"])
def test_a_deletion_with_a_bad_range_is_refused_and_changes_nothing(tmp_path, store, catalogue, today, bounds,
                                                                     message):
    import io

    from indicators.__main__ import main
    from indicators.store.observations import dump

    good = tmp_path / "good.csv"
    good.write_text(HEADER + "asylum_applications,DE,2024-01,5,\n", encoding="utf-8")
    load_files(store, [good], catalogue=catalogue, today=today)
    before, out, err = dump(store), io.StringIO(), io.StringIO()
    code = main(["delete", "--indicator", "asylum_applications", "--geo", "DE", *bounds, "--db", str(store.path),
                 "--yes"], out=out, err=err)
    assert (code, out.getvalue(), err.getvalue()) == (2, "", message + "\n")
    assert dump(store) == before


def test_a_year_0_row_already_in_a_database_is_deletable(tmp_path, store, catalogue, today):
    """The old bug's row (period 0000-01, which DuckDB holds as 1 BC): every scan failed on it."""
    from indicators.store import deletion
    from indicators.store.observations import revisions

    with store.write() as con:
        con.execute("INSERT INTO loads VALUES (nextval('load_ids'), 'y0.csv', 'x', 'csv', TIMESTAMP '2026-01-01', "
                    "'local', false, 1, 0, 0)")
        con.execute("INSERT INTO observations VALUES ('asylum_applications', 'DE', '0000-01', DATE '0000-01-01', 1, "
                    "NULL, currval('load_ids'), TIMESTAMP '2026-01-01', 'y0.csv')")
    done = deletion.delete(store, "asylum_applications", "DE", who="ana")
    assert (done.count, done.what, done.whole_series) == (1, "asylum_applications DE 0000-01", True)
    assert table(store) == []
    assert list(revisions(store)["period"]) == ["0000-01"]  # what was there, kept


def test_a_scan_meeting_a_series_it_cannot_read_names_it_and_scores_the_others(tmp_path_factory, tmp_path):
    """A year-0 row in one series (as the old bug let it in) used to fail every scan whole."""
    from indicators.catalogue import load_catalogue
    from indicators.store import results
    from monitoring.pipeline.scan import scan
    from monitoring.settings import MonitorSettings
    from tests.populated import TODAY, master_copy

    store = master_copy(tmp_path_factory, tmp_path / "m.duckdb")
    fr_before = results.read_results(store, indicator="asylum_applications", geo="FR")
    with store.write() as con:
        con.execute("INSERT INTO observations VALUES ('asylum_applications', 'FR', '0000-01', DATE '0000-01-01', 1, "
                    "NULL, 1, TIMESTAMP '2026-01-01', 'y0.csv')")
        con.execute("UPDATE observations SET value = value + 50 WHERE geo = 'DE' AND period = '2026-09'")
    report = scan(store, load_catalogue(), MonitorSettings(), today=TODAY, workers=1)
    assert report.skipped == ("asylum_applications FR: ValueError: year 0 is out of range",)
    assert report.series_refitted >= 1  # DE changed: refitted
    assert results.read_results(store, indicator="asylum_applications", geo="FR").equals(fr_before)  # kept as it was
