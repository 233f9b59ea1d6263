"""Our GLM baseline and EARS against R's surveillance package (golden files, no R needed).

The goldens were produced by R 4.2.2 / surveillance 1.20.3 (see tests/golden/README.md, which also
describes exactly how farringtonFlexible builds its model).

Tolerances, for an exact re-implementation. Our IRLS and R's glm both stop at a relative change of
the deviance below 1e-8, so the fitted floats agree to a few 1e-6 (measured: expected 2.5e-6,
dispersion 7e-5, p-value 3e-5 relative), not to machine precision:
- expected: 1e-5 relative;  dispersion: 1e-4 relative;  p-value: 1e-4 relative + 1e-9 absolute;
  the score (y - mu) / (upper - mu), whose denominator can be a few counts, 1e-3 relative.
- counts are exact on every month: upper and lower (integer negative-binomial quantiles), the
  counts fitted, whether the trend was kept, and the alarm.
- EARS C1/C2 are closed-form (mean + z * sd): 1e-9 relative; their alarms exact.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitoring.statistics.baselines import GLMSettings, glm_baseline
from monitoring.statistics.levels import channel_levels

GOLDEN = Path(__file__).parent / "golden"
SERIES = pd.read_csv(GOLDEN / "series.csv", index_col="period")
FARRINGTON = pd.read_csv(GOLDEN / "farrington_noufaily.csv")
EARS = pd.read_csv(GOLDEN / "ears.csv")
CASES = sorted({(s, a) for s, a in zip(FARRINGTON.series, FARRINGTON.alpha, strict=True)})

EXPECTED_RTOL = 1e-5
DISPERSION_RTOL = 1e-4
P_VALUE_RTOL = 1e-4


def _series(values: pd.Series) -> pd.Series:
    return pd.Series(values.to_numpy(dtype=float), index=pd.PeriodIndex(values.index, freq="M"))


def _settings(alpha: float) -> GLMSettings:
    """The R call's settings: b = 5, w = 1, noPeriods = 10, pastWeeksNotIncluded = 6, limit54 = (5, 4)."""
    return GLMSettings(years=5, min_years=3, exclude_recent_months=6, seasonal_blocks=10, window=1,
                       reweight_threshold=2.58, alpha=alpha)


def _compare(name: str, alpha: float) -> pd.DataFrame:
    golden = FARRINGTON[(FARRINGTON.series == name) & (FARRINGTON.alpha == alpha)].set_index("period")
    golden.index = pd.PeriodIndex(golden.index, freq="M")
    series = _series(SERIES[name])
    ours = glm_baseline(series, _settings(alpha), direction="up", score_from=golden.index[0])
    # R's alarm (limit54 = c(5, 4)) is the product's one alarm rule with this channel alone at alpha
    ours["alarm"] = channel_levels(ours, "glm", direction="up", alpha=alpha, min_count=5, series=series) == "alert"
    ours = ours.reindex(golden.index)
    return golden.join(ours.add_suffix("_py"))


def _assert_bounds(merged: pd.DataFrame, column: str) -> None:
    """Integer quantiles: equal to R's on every month."""
    assert merged[column].notna().all()
    np.testing.assert_array_equal(merged[f"{column}_py"], merged[column])


@pytest.mark.parametrize(("name", "alpha"), CASES)
def test_glm_baseline_matches_farrington_flexible(name, alpha):
    merged = _compare(name, alpha)
    np.testing.assert_array_equal(merged.trend_py.astype(int), merged.trend.astype(int))
    kept = merged[merged.trend == 1]  # months where R kept the trend (the others: next test)
    np.testing.assert_allclose(kept.expected_py, kept.expected, rtol=EXPECTED_RTOL)
    np.testing.assert_allclose(kept.dispersion_py, kept.dispersion, rtol=DISPERSION_RTOL)
    np.testing.assert_array_equal(kept.n_baseline_py, kept.n_baseline)
    _assert_bounds(kept, "upper")
    _assert_bounds(kept, "lower")
    np.testing.assert_allclose(kept.p_value_py, kept.p_value, rtol=P_VALUE_RTOL, atol=1e-9)


@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_glm_baseline_drops_the_trend_where_r_does(alpha):
    """R keeps the trend only if the trend model's prediction is <= the largest baseline count."""
    merged = _compare("medium_trend_missing", alpha)
    dropped = merged[merged.trend == 0]
    assert len(dropped) == 2
    np.testing.assert_allclose(dropped.expected_py, dropped.expected, rtol=EXPECTED_RTOL)
    np.testing.assert_allclose(dropped.dispersion_py, dropped.dispersion, rtol=DISPERSION_RTOL)
    _assert_bounds(dropped, "upper")
    _assert_bounds(dropped, "lower")


@pytest.mark.parametrize(("name", "alpha"), CASES)
def test_glm_alarm_and_score_match_r(name, alpha):
    """Alarm: observed > upper, observed > 0, last 4 months sum >= 5, by the product's one rule, on
    every month. Our score uses expected, not eta0."""
    merged = _compare(name, alpha)
    np.testing.assert_array_equal(merged.alarm_py.astype(bool), merged.alarm.astype(bool))
    score = (merged.observed - merged.expected) / (merged.upper - merged.expected)
    np.testing.assert_allclose(merged.score_py, score, rtol=1e-3, atol=1e-9)


def test_golden_alarms_cover_both_outcomes():
    """The goldens must exercise alarms and quiet months, or the alarm test proves little."""
    counts = FARRINGTON.groupby("alpha").alarm.sum()
    assert (counts > 0).all() and (counts < FARRINGTON.groupby("alpha").size()).all()


def _ears(method: str) -> pd.DataFrame:
    from monitoring.statistics.detectors import ears  # imported here so the GLM tests stand on their own

    golden = EARS[EARS.method == method].set_index("period")
    golden.index = pd.PeriodIndex(golden.index, freq="M")
    series = _series(pd.read_csv(GOLDEN / "ears_series.csv", index_col="period").short_rise)
    ours = ears(series, method=method, alpha=0.05, baseline=7, guard=2, direction="up")
    # earsC has no count guard: the one rule with min_count 0
    ours["alarm"] = channel_levels(ours, "ears", direction="up", alpha=0.05, min_count=0, series=series) == "alert"
    return golden.join(ours.reindex(golden.index).add_suffix("_py"))


@pytest.mark.parametrize("method", ["C1", "C2"])
def test_ears_matches_earsc(method):
    merged = _ears(method)
    np.testing.assert_allclose(merged.upper_py, merged.upper, rtol=1e-9)
    np.testing.assert_array_equal(merged.alarm_py.astype(bool), merged.alarm.astype(bool))


def test_ears_c3_alarms_include_every_r_alarm():
    """R's C3 ignores the current month (README, EARS); every R alarm is a CDC C3 alarm too."""
    merged = _ears("C3")
    assert merged.alarm.sum() > 0
    # C3's alarm by its definition (statistic above z); the product uses C2 and its rule adds that a
    # figure at or below its expected value is never an anomaly (C3 carries the two months before)
    assert (merged.loc[merged.alarm == 1, "p_value_py"] < 0.05).all()


def test_golden_series_are_reproducible():
    """series.csv and ears_series.csv are what make_series.py writes (the documented recipe)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_series", GOLDEN / "make_series.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    pd.testing.assert_frame_equal(module.make_series(), SERIES, check_dtype=False)
    ears_series = pd.read_csv(GOLDEN / "ears_series.csv", index_col="period")
    pd.testing.assert_frame_equal(module.make_ears_series(), ears_series, check_dtype=False)
