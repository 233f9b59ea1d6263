"""The scan pipeline: stored results, incremental refits, re-levelling, atomicity, the CLI."""

from __future__ import annotations

import csv
import os

import numpy as np
import pandas as pd
import pytest

import monitoring.pipeline.scan as scan_module
from indicators.loaders import load_files
from indicators.store import episodes, observations, results
from monitoring.__main__ import OUT_COLUMNS, main
from monitoring.pipeline.scan import relevel, scan
from monitoring.settings import MonitorSettings, parse_settings
from monitoring.statistics.reconciliation import reconciler

TODAY = pd.Timestamp("2026-11-26")
SPIKE = ("asylum_applications", "FR", "2026-05")


def _series_rows(indicator, geo, mean, seed, spike=None):
    rng = np.random.default_rng(seed)
    months = pd.period_range("2017-01", "2026-09", freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    values = rng.poisson(mean * season)
    rows = []
    for p, v in zip(months, values, strict=True):
        text = str(p)
        if spike and text == spike[0]:
            v = int(v * spike[1])
        flag = "p" if text in ("2026-08", "2026-09") else ""
        rows.append(f"{indicator},{geo},{text},{v},{flag}")
    return rows


@pytest.fixture
def csv_file(tmp_path):
    rows = (_series_rows("asylum_applications", "FR", 120, 1, spike=("2026-05", 2.5))
            + _series_rows("asylum_applications", "DE", 300, 2)
            + _series_rows("border_exits", "XK", 2000, 3))
    path = tmp_path / "series.csv"
    path.write_text("indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def loaded(store, catalogue, csv_file, today):
    load_files(store, [csv_file], catalogue=catalogue, today=today)
    return store


def _scan(store, catalogue, settings=None, **kw):
    return scan(store, catalogue, settings or MonitorSettings(), today=TODAY, workers=1, **kw)


def test_scan_stores_levels_for_every_series_and_explains_the_planted_spike(loaded, catalogue):
    report = _scan(loaded, catalogue)
    # three loaded series and the EU+ total derived from the two countries
    assert report.series_total == 4 and report.series_refitted == 4
    stored = results.read_results(loaded)
    assert set(zip(stored.indicator, stored.geo, strict=True)) == {
        ("asylum_applications", "FR"), ("asylum_applications", "DE"), ("asylum_applications", "EU_PLUS"),
        ("border_exits", "XK")}
    spike = stored.set_index(["indicator", "geo", "period"]).loc[SPIKE]
    assert spike.level == "alert" and "glr" in spike.channels  # the default anomaly test
    assert spike.observed > spike.upper > spike.expected
    assert spike.reason.startswith("First-time asylum applications in France, May 2026: ")
    episode = spike_episode(loaded)
    assert (episode.start_period, episode.peak_level, episode.peak_period, episode.status) == (
        SPIKE[2], "alert", SPIKE[2], "open")
    assert episode.first_level == "alert" and episode.first_reason == spike.reason


def spike_episode(store):
    """The alert episode carrying the planted spike."""
    stored = episodes.read_episodes(store)
    rows = stored[(stored["indicator"] == SPIKE[0]) & (stored["geo"] == SPIKE[1])
                  & (stored["start_period"] <= SPIKE[2]) & (stored["last_period"] >= SPIKE[2])]
    assert len(rows) == 1
    return rows.iloc[0]


def test_second_scan_with_same_data_and_settings_refits_nothing(loaded, catalogue):
    _scan(loaded, catalogue)
    before = results.read_results(loaded)
    again = _scan(loaded, catalogue)
    assert again.series_refitted == 0 and again.periods_scored == 0
    pd.testing.assert_frame_equal(results.read_results(loaded), before)


def test_a_revision_refits_only_the_series_it_touches(loaded, catalogue, tmp_path, today):
    _scan(loaded, catalogue)
    revised = tmp_path / "revision.csv"
    revised.write_text("indicator,geo,period,value,flag\nasylum_applications,DE,2025-03,999,\n", encoding="utf-8")
    load_files(loaded, [revised], catalogue=catalogue, today=today)
    report = _scan(loaded, catalogue)
    assert report.series_refitted == 2  # DE and the EU+ total derived from it; FR and XK untouched
    runs = results.runs(loaded)
    assert runs.iloc[0].series_refitted == 2
    assert len(results.series_state(loaded)) == 4


def test_threshold_change_refits_nothing_but_a_fit_setting_refits_all(loaded, catalogue):
    _scan(loaded, catalogue)
    stricter = parse_settings({"levels": {"alert_alpha": 0.001, "watch_alpha": 0.005}})
    assert _scan(loaded, catalogue, stricter).series_refitted == 0
    assert _scan(loaded, catalogue, parse_settings({"glm": {"years": 4}})).series_refitted == 4


def test_stricter_alpha_never_adds_alarms_and_first_seen_episodes_are_kept(loaded, catalogue):
    _scan(loaded, catalogue)
    first = episodes.read_episodes(loaded).set_index("id")
    loose = relevel(loaded, catalogue, MonitorSettings(), today=TODAY)
    stricter = parse_settings({"levels": {"alert_alpha": 0.001, "watch_alpha": 0.005, "persistence": 0}})
    strict = relevel(loaded, catalogue, stricter, today=TODAY)
    rank = {"no_data": 0, "normal": 0, "watch": 1, "alert": 2}
    assert (strict["level"].map(rank) <= loose["level"].map(rank)).all()
    assert (strict["level"].map(rank) < loose["level"].map(rank)).any()
    results.write_levels(loaded, strict, levelled=stricter.to_json(), episodes=reconciler(strict))
    after = episodes.read_episodes(loaded).set_index("id")
    assert set(after.index) == set(first.index)  # nothing forgotten, no new episode at a stricter alpha
    columns = ["first_seen", "first_level", "first_observed", "first_reason"]
    pd.testing.assert_frame_equal(after.loc[first.index, columns], first[columns])  # how each was first seen
    rank = {"watch": 1, "alert": 2}
    assert (after.loc[first.index, "peak_level"].map(rank) <= first["peak_level"].map(rank)).all()


def test_a_scan_whose_every_fit_fails_names_them_and_keeps_the_stored_results(loaded, catalogue, monkeypatch):
    first = _scan(loaded, catalogue)
    dump = observations.dump(loaded)
    before = results.read_results(loaded)

    def broken(*args, **kwargs):
        raise RuntimeError("fit failed")

    monkeypatch.setattr(scan_module, "score_series", broken)
    report = _scan(loaded, catalogue, parse_settings({"glm": {"years": 4}}))
    assert len(report.skipped) == first.series_total and report.series_refitted == 0
    assert all(why.endswith(": RuntimeError: fit failed") for why in report.skipped)
    after = results.read_results(loaded)
    pd.testing.assert_frame_equal(after.drop(columns="run_id", errors="ignore"),
                                  before.drop(columns="run_id", errors="ignore"))
    now = observations.dump(loaded)
    assert all(now[t] == dump[t] for t in ("observations", "revisions", "loads", "scores"))


def test_parallel_scan_gives_the_same_results_as_serial(loaded, catalogue, monkeypatch, tmp_path):
    _scan(loaded, catalogue)
    serial = results.read_results(loaded)
    monkeypatch.setattr(scan_module, "PARALLEL_MIN_SERIES", 1)
    scan(loaded, catalogue, parse_settings({"glm": {"years": 5}, "method": "auto"}), today=TODAY, workers=2,
         only=None)
    # same settings: nothing to refit; force a refit through a different but equivalent run
    report = scan(loaded, catalogue, parse_settings({"glm": {"reweight_threshold": 2.5800001}}), today=TODAY,
                  workers=2)
    assert report.series_refitted == 4
    parallel = results.read_results(loaded)
    pd.testing.assert_frame_equal(parallel[["indicator", "geo", "period", "level"]],
                                  serial[["indicator", "geo", "period", "level"]])


def test_cli_scan_writes_exactly_the_documented_columns(loaded, tmp_path, capsys):
    out = tmp_path / "alerts.csv"
    assert main(["scan", "--db", str(loaded.path), "--out", str(out), "--workers", "1"], today=TODAY) == 0
    printed = capsys.readouterr().out
    assert "4 series, 4 refitted" in printed and "Open episodes: " in printed
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == OUT_COLUMNS == ["indicator", "geo", "period", "observed", "expected", "lower", "upper",
                                      "score", "p_value", "level", "channels", "provisional", "reason",
                                      "criterion", "change_yoy", "change_ref", "change_adjusted", "criterion_since"]
    # level is the anomaly level and channels name statistical channels only; a row that is not an
    # anomaly is there for a new crossing of the EU suspension criterion
    statistical = {"glr", "glm", "ears", "stl", "cusum"}
    for r in rows[1:]:
        assert set(filter(None, r[10].split(","))) <= statistical
        assert r[9] in ("watch", "alert") or (r[9] == "normal" and r[13].startswith("above_"))
    assert any(r[9] in ("watch", "alert") for r in rows[1:])
    every = tmp_path / "all.csv"
    assert main(["scan", "--db", str(loaded.path), "--out", str(every), "--all"], today=TODAY) == 0
    assert len(every.read_text().splitlines()) > len(rows)


def test_cli_scan_reports_a_bad_settings_file_without_a_traceback(loaded, tmp_path, capsys):
    bad = tmp_path / "s.toml"
    bad.write_text("[levels]\nwatch_alpha = 'x'\n", encoding="utf-8")
    assert main(["scan", "--db", str(loaded.path), "--settings", str(bad)], today=TODAY) == 1
    assert capsys.readouterr().err.strip() == f"error: {bad} [levels].watch_alpha: 'x' is not a valid float"


def test_the_scan_stores_the_visa_free_impact_of_count_series(loaded, catalogue):
    from monitoring.statistics.impact import visa_free_impact

    _scan(loaded, catalogue)
    stored = results.read_impact(loaded, "asylum_applications", "FR")
    values = collect_series_values(loaded, catalogue, ("asylum_applications", "FR"))
    direct = visa_free_impact(values)
    assert list(stored["period"]) == [str(p) for p in direct.index]
    np.testing.assert_allclose(stored["cumulative_excess"], direct["cumulative_excess"])
    np.testing.assert_allclose(stored["expected"], direct["expected"])
    assert stored["period"].iloc[0] == "2024-01"


def collect_series_values(store, catalogue, key):
    from monitoring.pipeline.scan import collect_series

    return next(s.values for s in collect_series(store, catalogue) if s.key == key)


def test_upgrading_a_version_2_database_refits_so_the_impact_is_filled(loaded, catalogue):
    from indicators.store import open_store, schema
    from indicators.store.db import forget_snapshots
    from monitoring.pipeline.actions import needs_first_start
    from tests.old_schema import as_single_file

    _scan(loaded, catalogue)
    as_single_file(loaded)
    with loaded.write() as con:  # the database as version 2 left it: no impact table, no v4 columns
        # a per-period alert log (the scan's episodes, one alert each) instead of episodes
        con.execute("""INSERT INTO alerts (indicator, geo, period, period_start, first_run, first_seen, first_level,
                           first_observed, first_expected, first_upper, first_lower, first_reason, level, last_run)
                       SELECT indicator, geo, start_period, start_date, first_run, first_seen, first_level,
                           first_observed, first_expected, first_upper, first_lower, first_reason, peak_level,
                           last_run FROM episodes""")
        # the tables of versions 1 and 2 that versions 8 and 10 moved to the journal
        for statement in schema.MIGRATIONS[1] + schema.MIGRATIONS[2]:
            if any(name in statement for name in ("TABLE events", "event_ids", "audit_ids", "TABLE settings_log",
                                                  "settings_ids")):
                con.execute(statement.replace("audit_ids START 1", "audit_ids START 100"))
        con.execute("DROP TABLE episodes")
        con.execute("DROP SEQUENCE episode_ids")
        for column in ("open_alert_episodes", "open_watch_episodes"):
            con.execute(f"ALTER TABLE runs DROP COLUMN {column}")
        con.execute("DROP TABLE impact")
        for column in ("first_channels", "first_last_year", "first_provisional"):
            con.execute(f"ALTER TABLE alerts DROP COLUMN {column}")
        for table, columns in (("scores", ("glr_expected", "glr_dispersion", "glr_n_baseline", "glr_observed_2",
                                           "glr_observed_3", "glr_expected_2", "glr_expected_3",
                                           "visa_reference_adjusted")),
                               ("results", ("tested_periods", "tested_observed", "tested_expected", "tested_bound",
                                            "shift_start", "change_adjusted", "criterion", "criterion_since",
                                            "criterion_crossed"))):
            for column in columns:  # the columns of version 5
                con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    forget_snapshots()
    upgraded = open_store(loaded.path)
    assert upgraded.schema_version() == schema.CURRENT_VERSION
    assert results.read_impact(upgraded, "asylum_applications", "FR").empty
    assert needs_first_start(upgraded)  # the dashboard re-runs the scan on its next visit
    from monitoring.pipeline.records import episode_log

    old = episode_log(upgraded, catalogue, TODAY, "sr", since_months=None).table
    kept = results.alerts(upgraded)
    assert len(kept) and len(old) == len(kept)  # each alert (apart) made an episode
    assert set(old["first_reason"]) == set(kept["first_reason"])  # alerts from before v4: as stored
    assert _scan(upgraded, catalogue).series_refitted == 4
    assert not results.read_impact(upgraded, "asylum_applications", "FR").empty
    assert not needs_first_start(upgraded)


def test_an_episode_keeps_how_it_was_first_seen_and_can_say_it_in_every_language(loaded, catalogue):
    from monitoring.pipeline.records import episode_log

    _scan(loaded, catalogue)
    en = episode_log(loaded, catalogue, TODAY, "en", since_months=None).table.set_index("episode_id")
    sr = episode_log(loaded, catalogue, TODAY, "sr", since_months=None).table.set_index("episode_id")
    episode = spike_episode(loaded)
    first_en, first_sr = en.loc[episode.id, "first_reason"], sr.loc[episode.id, "first_reason"]
    assert first_en == episode.first_reason  # the sentence the scan stored, rebuilt from the first-seen figures
    assert first_sr.startswith("Prvi zahtevi za azil u Francuskoj, maj 2026: ")


def test_readmissions_rising_is_never_an_alarm_and_falling_is(store, catalogue, tmp_path, today):
    """Returns keeping pace is what GAM watches: a readmission charter (×3) is good news, a collapse an alarm."""
    rows = (_series_rows("repatriated_persons", "FR", 30, 4, spike=("2026-05", 3.0))
            + _series_rows("repatriated_persons", "DE", 120, 5, spike=("2026-05", 0.4)))
    path = tmp_path / "readmissions.csv"
    path.write_text("indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=today)
    _scan(store, catalogue)
    stored = results.read_results(store).set_index(["indicator", "geo", "period"])
    rise, fall = stored.loc[("repatriated_persons", "FR", "2026-05")], stored.loc[("repatriated_persons", "DE", "2026-05")]
    assert rise.observed > 2 * rise.expected and rise.level == "normal"
    assert fall.observed < fall.lower and fall.level == "alert"
    assert fall.reason.startswith("Persons readmitted to Kosovo (Germany), May 2026: ")
    assert "(lower bound " in fall.reason
    flagged = episodes.read_episodes(store)
    at_may = flagged[(flagged["start_period"] <= "2026-05") & (flagged["last_period"] >= "2026-05")]
    assert list(at_may["geo"]) == ["DE"]  # the fall is an episode; the rise is none


def test_a_corrected_bad_direction_refits_the_indicator(loaded, catalogue):
    _scan(loaded, catalogue)
    assert _scan(loaded, catalogue).series_refitted == 0
    ind = catalogue["border_exits"]
    object.__setattr__(ind, "bad_direction", "both")  # as the catalogue had for readmissions
    try:
        assert _scan(loaded, catalogue).series_refitted == 1
    finally:
        object.__setattr__(ind, "bad_direction", "up")



def test_a_series_that_cannot_be_scored_is_named_and_the_others_are_scored(tmp_path, monkeypatch):
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.pipeline.scan import scan
    from monitoring.settings import MonitorSettings

    catalogue = load_catalogue()
    store = open_store(tmp_path / "m.duckdb")
    months = pd.period_range("2019-01", "2026-10", freq="M")
    rows = [f"asylum_applications,{g},{m},{base + (i % 12)},"
            for g, base in (("DE", 20), ("FR", 300)) for i, m in enumerate(months)]
    path = tmp_path / "s.csv"
    path.write_text("indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=TODAY.date())
    real = scan_module.score_series

    def breaks_on_fr(values, *args, **kwargs):  # FR's counts start at 300: its fit fails
        if values.iloc[0] == 300:
            raise ValueError("year 0 is out of range")
        return real(values, *args, **kwargs)

    monkeypatch.setattr(scan_module, "score_series", breaks_on_fr)
    report = scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1)
    assert report.skipped == ("asylum_applications FR: ValueError: year 0 is out of range",)
    assert set(results.read_results(store)["geo"]) == {"DE", "EU_PLUS"}  # the others scored
    monkeypatch.undo()
    again = scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1)  # tried again, now scored
    assert again.skipped == () and again.series_refitted == 1
    assert "FR" in set(results.read_results(store)["geo"])


def _blas_threads_seen() -> dict:
    import numpy  # noqa: F401 - what a scan worker imports first

    return {name: os.environ.get(name) for name in scan_module.BLAS_THREADS}


def test_scan_workers_start_with_one_blas_thread_and_the_environment_is_restored(monkeypatch):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")  # a setting of the user's is kept, not overridden
    with scan_module._single_threaded_blas(), ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        seen = pool.submit(_blas_threads_seen).result(timeout=120)
    assert seen["OPENBLAS_NUM_THREADS"] == "1" and seen["MKL_NUM_THREADS"] == "3"
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["MKL_NUM_THREADS"] == "3"


def test_the_derived_tables_have_no_key_index_and_their_writer_keeps_them_unique(loaded, catalogue):
    from indicators.store import StoreError, schema

    _scan(loaded, catalogue)
    _scan(loaded, catalogue)  # nothing refitted the second time: the rows stay once each
    with loaded.read() as cur:
        assert not cur.execute("SELECT count(*) FROM duckdb_constraints() WHERE constraint_type = 'PRIMARY KEY' "
                               "AND table_name IN ('scores', 'results', 'impact')").fetchall()[0][0]
        for table in schema.DERIVED:
            rows, keys = cur.execute(f"SELECT count(*), count(DISTINCT (indicator, geo, period)) FROM {table}"  # noqa: S608
                                     ).fetchall()[0]
            assert rows == keys > 0
    levels = results.read_results(loaded)
    before = results.read_results(loaded)
    with pytest.raises(StoreError, match=r"cannot write results: 2 rows repeat a key, such as .*nothing was written"):
        results.write_levels(loaded, pd.concat([levels, levels.iloc[:1]]), levelled="{}")
    pd.testing.assert_frame_equal(results.read_results(loaded), before)
