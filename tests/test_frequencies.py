"""Frequencies as the sources publish them, and aggregates as totals (never destinations)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from indicators.loaders import load_files
from monitoring.pipeline.scan import collect_series, scan
from monitoring.pipeline.scoring import score_series
from monitoring.settings import MonitorSettings
from monitoring.statistics.baselines import GLMSettings, excluded_periods, glm_baseline
from monitoring.statistics.episodes import compute_episodes
from monitoring.statistics.visa_rule import criterion_applies

HEADER = "indicator,geo,period,value,flag\n"


def annual(values, start=2012) -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float),
                     index=pd.period_range(str(start), periods=len(values), freq="Y-DEC"))


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(HEADER + text, encoding="utf-8")
    return path


def test_the_catalogue_holds_each_collection_at_its_published_frequency(catalogue):
    freq = {i.id: (i.frequency, i.dataset) for i in catalogue.indicators}
    assert freq["refused_entry"] == ("A", "migr_eirfs") and freq["irregular_stay"] == ("A", "migr_eipre")
    assert freq["return_decisions"] == ("Q", "migr_eiord1") and freq["effective_returns"] == ("Q", "migr_eirtn1")
    assert freq["return_decisions_annual"] == ("A", "migr_eiord")
    assert freq["effective_returns_annual"] == ("A", "migr_eirtn")


def test_an_annual_period_is_never_lagged_by_months():
    assert excluded_periods(6, 12) == 6 and excluded_periods(6, 4) == 2 and excluded_periods(6, 1) == 0


@pytest.mark.parametrize("past, trend_kept", [
    ([250, 240, 235, 228, 220], True),   # a falling trend predicts below the largest count: kept
    ([220, 228, 230, 240, 250], False),  # a rising one would predict above every count: dropped
])
def test_the_annual_baseline_is_a_quasi_poisson_trend_over_the_previous_years(past, trend_kept):
    # Smooth counts (no Anscombe residual near 2.58): no reweighting, so the expected value is the
    # plain GLM's prediction for the scored year from the five years before it (none left out), with
    # farringtonFlexible's guard: the trend goes when its prediction exceeds the largest count.
    y = annual([200, 210, 205, *past, 600])
    got = glm_baseline(y, GLMSettings(years=5, min_years=3)).loc[pd.Period("2020", "Y-DEC")]
    lag = np.arange(-5, 0, dtype=float)  # the years 2015..2019 before 2020
    X = sm.add_constant(lag) if trend_kept else np.ones((5, 1))
    fit = sm.GLM(np.asarray(past, dtype=float), X, family=sm.families.Poisson()).fit(scale="X2")
    assert got["expected"] == pytest.approx(float(np.exp(fit.params[0])), rel=1e-6)
    assert bool(got["trend"]) is trend_kept
    assert got["observed"] == 600 and got["p_value"] < 1e-6


def test_an_annual_series_is_scored_by_the_annual_baseline_and_has_no_two_month_criterion(catalogue):
    ind = catalogue["refused_entry"]
    y = annual([200, 210, 205, 220, 230, 228, 240, 250, 600])
    flags = pd.Series(None, index=y.index, dtype=object)
    out = score_series(y, flags, ind, MonitorSettings().for_indicator(ind.id))
    scored = out.dropna(subset=["glm_expected"])
    assert scored["period"].iloc[0] == "2015" and scored["period"].iloc[-1] == "2020"
    assert out[[c for c in out if c.startswith(("glr_", "stl_", "cusum_"))]].isna().all().all()  # no CUSUM
    assert "visa_change_yoy" not in out or out["visa_change_yoy"].isna().all()
    assert not criterion_applies(ind) and criterion_applies(catalogue["return_decisions"])


def test_an_annual_episode_ends_at_its_first_normal_year():
    levels = pd.DataFrame({
        "indicator": "refused_entry", "geo": "AT", "period": ["2022", "2023", "2024", "2025"],
        "period_start": pd.to_datetime(["2022-01-01", "2023-01-01", "2024-01-01", "2025-01-01"]),
        "level": ["normal", "normal", "alert", "normal"], "score": [0, 0, 2.0, 0],
        "observed": 1.0, "expected": 1.0, "upper": 1.0, "lower": 1.0, "channels": "", "provisional": False,
        "last_year": 1.0, "reason": "", "shift_start": None, "criterion_crossed": False})
    [episode] = compute_episodes(levels, 2).to_dict("records")
    assert (episode["start_period"], episode["resolved_period"], episode["state"]) == ("2024", "2025", "resolved")


def _counts(indicator, geo, periods, values):
    return "".join(f"{indicator},{geo},{p},{v},\n" for p, v in zip(periods, values, strict=True))


MONTHS = [str(p) for p in pd.period_range("2024-01", periods=6, freq="M")]


def test_aggregates_are_totals_and_the_eu_plus_total_is_eurostats_where_published(tmp_path, store, catalogue, today):
    text = (_counts("asylum_applications", "DE", MONTHS, [10] * 6) + _counts("asylum_applications", "FR", MONTHS, [5] * 6)
            + _counts("asylum_applications", "EU27_2020_EFTA", MONTHS, [40] * 6)
            + _counts("asylum_applications", "EU27_2020", MONTHS, [38] * 6)
            + _counts("asylum_applications", "EU28", MONTHS, [45] * 6))
    load_files(store, [write(tmp_path, "a.csv", text)], catalogue=catalogue, today=today)
    series = {s.key: s for s in collect_series(store, catalogue)}
    assert set(series) == {("asylum_applications", g) for g in ("DE", "FR", "EU_PLUS")}
    eu = series[("asylum_applications", "EU_PLUS")]
    assert eu.values.tolist() == [40.0] * 6  # as published, never 10 + 5 + 40 + 38 + 45
    assert eu.note == "EU+ total as published by Eurostat (EU27_2020_EFTA)"


def test_without_a_published_eu_plus_total_the_countries_are_summed_and_said_so(tmp_path, store, catalogue, today):
    text = (_counts("asylum_applications", "DE", MONTHS, [10] * 6) + _counts("asylum_applications", "FR", MONTHS, [5] * 6)
            + _counts("asylum_applications", "EU27_2020", MONTHS, [38] * 6))
    load_files(store, [write(tmp_path, "a.csv", text)], catalogue=catalogue, today=today)
    eu = {s.key: s for s in collect_series(store, catalogue)}[("asylum_applications", "EU_PLUS")]
    assert eu.values.tolist() == [15.0] * 6 and eu.note == "EU+ total computed from country rows"


def test_a_scan_stores_no_result_for_an_aggregate(tmp_path, store, catalogue, today):
    text = (_counts("asylum_applications", "DE", MONTHS, [10, 12, 9, 11, 10, 30])
            + _counts("asylum_applications", "FR", MONTHS, [5] * 6)
            + _counts("asylum_applications", "EU27_2020", MONTHS, [38] * 6))
    load_files(store, [write(tmp_path, "a.csv", text)], catalogue=catalogue, today=today)
    scan(store, catalogue, MonitorSettings(), today=pd.Timestamp(today), workers=1)
    from indicators.store import results

    geos = set(results.read_results(store)["geo"])
    assert geos == {"DE", "FR", "EU_PLUS"}


def test_iso_codes_are_folded_onto_eurostats_with_a_note(tmp_path, store, catalogue, today):
    text = _counts("asylum_applications", "GR", MONTHS[:2], [3, 4]) + _counts("asylum_applications", "GB", MONTHS[:1], [7])
    [report] = load_files(store, [write(tmp_path, "iso.csv", text)], catalogue=catalogue, today=today)
    assert report.summary() == (f"{tmp_path / 'iso.csv'}: 3 new, 0 revised, 0 unchanged rows; ISO geo codes read as "
                                "Eurostat's: GB as UK (1 row), GR as EL (2 rows)")
    from indicators.store.observations import observations

    assert sorted(set(observations(store)["geo"])) == ["EL", "UK"]


def test_an_annual_alarm_names_the_annual_baseline(catalogue):
    from monitoring.narrative import channel_names

    assert channel_names("glm,cusum", "en", "A") == "annual baseline (trend over the previous years), sustained shift"
    assert channel_names("glm", "en", "M") == "seasonal baseline (farringtonFlexible)"
