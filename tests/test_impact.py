"""Visa-free impact: the counterfactual projection and its cumulative excess."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.statistics.impact import visa_free_impact

START = pd.Period("2024-01", "M")


def _log_linear(index: pd.PeriodIndex) -> np.ndarray:
    """mu = 100 exp(0.1 years since 2024-01 + 0.3 cos(2 pi month / 12)): exactly the model's form."""
    years = np.array([(p - START).n for p in index]) / 12
    return 100 * np.exp(0.1 * years + 0.3 * np.cos(2 * np.pi * index.month / 12))


def _series(excess=1.2) -> pd.Series:
    index = pd.period_range("2018-01", "2025-06", freq="M")
    mu = _log_linear(index)
    values = np.where(index >= START, mu * excess, mu)
    return pd.Series(values, index=index)


def test_projection_continues_trend_and_season():
    result = visa_free_impact(_series())
    assert result.index[0] == START and result.index[-1] == pd.Period("2025-06", "M")
    np.testing.assert_allclose(result.expected, _log_linear(result.index), rtol=1e-6)
    np.testing.assert_allclose(result.excess, 0.2 * _log_linear(result.index), rtol=1e-5)


def test_cumulative_is_the_sum_of_monthly_excess():
    series = _series()
    series[pd.Period("2024-04", "M")] = np.nan
    result = visa_free_impact(series)
    assert np.isnan(result.loc["2024-04"].excess)
    np.testing.assert_allclose(result.cumulative_excess, result.excess.fillna(0).cumsum())
    assert result.cumulative_excess.iloc[-1] == pytest.approx(result.excess.sum())


def test_intervals_bracket_the_projection_and_are_reproducible():
    result = visa_free_impact(_series(), alpha=0.05)
    assert (result.lower <= result.expected).all() and (result.expected <= result.upper).all()
    assert (result.cumulative_lower <= result.cumulative_excess).all()
    assert (result.cumulative_excess <= result.cumulative_upper).all()
    # the cumulative interval widens as months accumulate
    width = result.cumulative_upper - result.cumulative_lower
    assert width.iloc[-1] > width.iloc[0]
    pd.testing.assert_frame_equal(result, visa_free_impact(_series(), alpha=0.05))
    narrower = visa_free_impact(_series(), alpha=0.5)
    assert ((narrower.upper - narrower.lower) <= (result.upper - result.lower)).all()


def test_no_excess_without_a_change():
    result = visa_free_impact(_series(excess=1.0))
    np.testing.assert_allclose(result.excess, 0, atol=1e-4)
    assert (result.cumulative_lower < 0).all() and (result.cumulative_upper > 0).all()


def test_quarterly_series_and_too_little_history():
    index = pd.period_range("2019Q1", "2025Q2", freq="Q")
    series = pd.Series(100.0, index=index)
    result = visa_free_impact(series)
    assert result.index[0] == pd.Period("2024Q1", "Q")
    np.testing.assert_allclose(result.expected, 100.0, rtol=1e-6)
    short = pd.Series(5.0, index=pd.period_range("2022-01", "2024-06", freq="M"))
    assert visa_free_impact(short).empty


def test_a_month_that_was_always_zero_before_the_start_does_not_break_the_projection():
    # low counts, and every August before 2024 a zero: the fitted August mean underflows to 0
    index = pd.period_range("2018-01", "2026-10", freq="M")
    rng = np.random.default_rng(3)
    values = rng.poisson(2.0, len(index)).astype(float)
    values[(index.month == 8) & (index.year < 2024)] = 0
    result = visa_free_impact(pd.Series(values, index=index))
    assert len(result) == len(index[index >= pd.Period("2024-01", "M")])
    august = result[result.index.month == 8]
    assert (august["expected"] < 1e-3).all() and (august["upper"] >= 0).all()
    assert np.isfinite(result["cumulative_upper"]).all()
