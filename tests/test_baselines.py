"""The seasonal GLM baseline: design, Anscombe down-weighting, NB thresholds, direction, guards."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from monitoring.statistics.baselines import (
    GLMSettings,
    _design,
    glm_baseline,
    glm_bounds,
    glm_p_value,
)
from monitoring.statistics.glm_fit import anscombe_weights, fit_reweighted
from monitoring.statistics.levels import channel_levels

ALPHA = GLMSettings().alpha  # 0.05


def _monthly(values, start="2015-01") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.period_range(start, periods=len(values), freq="M"))


def _alerts(result: pd.DataFrame, series: pd.Series, direction: str, alpha: float = ALPHA,
            min_count: int = 5) -> pd.Series:
    """Where the one alarm rule (monitoring.statistics.levels) raises alert from the GLM channel alone."""
    levels = channel_levels(result, "glm", direction=direction, alpha=alpha, min_count=min_count, series=series)
    return levels == "alert"


def _seasonal_counts(n=96, seed=3, level=40.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    return _monthly(rng.poisson(level * np.exp(0.4 * np.cos(2 * np.pi * month / 12))))


# ------------------------------------------------------------------------------ design


def test_monthly_design_levels_follow_surveillance_blocks():
    """w = 1, 10 levels, b = 5, 6 months excluded: lags 7..61; level 0 = window, 1..9 in time order."""
    lags, level = _design(12, 5, 1, 10, 6)
    assert lags[0] == 7 and lags[-1] == 61
    by_lag = dict(zip(lags.tolist(), level.tolist(), strict=True))
    # windows around t-12, t-24, ..., t-60 (+-1 month)
    for lag in (11, 12, 13, 23, 24, 25, 59, 60, 61):
        assert by_lag[lag] == 0
    # the stretch between the t-12 window and the current one: lags 10 (first in time) .. 2
    assert by_lag[10] == 1 and by_lag[7] == 4
    # between the t-24 and t-12 windows: lags 22 .. 14 -> levels 1 .. 9
    assert by_lag[22] == 1 and by_lag[14] == 9
    assert sorted(set(level.tolist())) == list(range(10))


def test_quarterly_design_is_a_quarter_of_year_factor():
    lags, level = _design(4, 5, 0, 10, 2)  # 6 months = 2 quarters excluded
    by_lag = dict(zip(lags.tolist(), level.tolist(), strict=True))
    assert lags[0] == 3 and lags[-1] == 20
    assert [by_lag[lag] for lag in (4, 3, 7, 6, 5)] == [0, 1, 1, 2, 3]


# --------------------------------------------------------------- Anscombe down-weighting


def test_anscombe_weights_hand_computed():
    """Intercept-only Poisson fit of 1,1,1,1,16: mu = 4, hat = 1/5, phi = 1.

    s = 1.5 (y^(2/3) 4^(-1/6) - 2) / sqrt(0.8): -2.0230 for y = 1 and 5.0977 for y = 16 (> 2.58);
    gamma = 5 / (4 + 5.0977^-2) = 1.23809; weights gamma for the ones, gamma * 5.0977^-2 = 0.047643.
    """
    y = np.array([1, 1, 1, 1, 16.0])
    weights = anscombe_weights(y, np.full(5, 4.0), np.ones((5, 1)), 1.0, 2.58)
    np.testing.assert_allclose(weights, [1.238089, 1.238089, 1.238089, 1.238089, 0.047643], rtol=1e-5)
    # below the threshold nothing is down-weighted: all weights equal 1
    np.testing.assert_allclose(anscombe_weights(y, np.full(5, 4.0), np.ones((5, 1)), 1.0, 6.0), np.ones(5))


def test_smooth_anscombe_weights_hand_computed_and_continuous_at_the_threshold():
    """The GLR baseline's weights: (threshold / s)^2 above the threshold instead of s^-2.

    Same fit as above: (2.58 / 5.0977)^2 = 0.256146; gamma = 5 / (4 + 0.256146) = 1.174772; weights
    gamma for the ones and gamma * 0.256146 = 0.300913 for the 16.
    """
    y = np.array([1, 1, 1, 1, 16.0])
    weights = anscombe_weights(y, np.full(5, 4.0), np.ones((5, 1)), 1.0, 2.58, smooth=True)
    np.testing.assert_allclose(weights, [1.174772, 1.174772, 1.174772, 1.174772, 0.300913], rtol=1e-5)
    # a residual just above the threshold keeps (almost) its whole weight; Farrington's step drops it
    s16 = 1.5 * (16 ** (2 / 3) * 4 ** (-1 / 6) - 2) / math.sqrt(0.8)
    for smooth, ratio in ((True, 1.0), (False, 1 / s16**2)):
        w = anscombe_weights(y, np.full(5, 4.0), np.ones((5, 1)), 1.0, s16 - 1e-9, smooth=smooth)
        assert w[4] / w[0] == pytest.approx(ratio, rel=1e-6)


def test_first_fit_is_the_quasi_poisson_glm_of_statsmodels():
    """With a threshold no residual reaches, the fit is the plain quasi-Poisson GLM."""
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(40), np.linspace(-3, 0, 40), (np.arange(40) % 4 == 0).astype(float)])
    y = rng.poisson(np.exp(X @ [3.0, 0.1, 0.3])).astype(float)
    beta, cov, phi = fit_reweighted(X, y, threshold=1e9)
    ref = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2")
    np.testing.assert_allclose(beta, ref.params, rtol=1e-7)
    np.testing.assert_allclose(phi, max(ref.scale, 1.0), rtol=1e-7)
    np.testing.assert_allclose(np.sqrt(phi * cov[0, 0]), ref.bse[0] * np.sqrt(phi / ref.scale), rtol=1e-6)


def test_past_outbreak_is_down_weighted():
    """An outbreak inside the baseline barely moves the expected value once down-weighted."""
    base = np.full(72, 50.0) + np.tile([3, -3, 2, -2, 0, 1, -1, 0, 2, -2, 1, -1], 6)
    spiked = base.copy()
    spiked[40] = 400.0
    flat_fit = glm_baseline(_monthly(base)).loc["2020-12"]
    spiked_fit = glm_baseline(_monthly(spiked)).loc["2020-12"]
    no_reweight = glm_baseline(_monthly(spiked), GLMSettings(reweight_threshold=1e9)).loc["2020-12"]
    assert abs(spiked_fit.expected - flat_fit.expected) < 0.2 * abs(no_reweight.expected - flat_fit.expected)


# --------------------------------------------------------------------- NB thresholds


@pytest.mark.parametrize(("mu", "phi"), [(10.0, 2.5), (3.2, 1.0), (250.0, 4.0), (0.4, 1.7)])
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_bounds_are_nb_quantiles_by_definition(mu, phi, alpha):
    """q(p) = smallest k with F(k) >= p, F the NB with mean mu and variance phi * mu (Poisson at phi 1)."""
    if phi > 1:
        dist = stats.nbinom(mu / (phi - 1), 1 / phi)
        assert dist.mean() == pytest.approx(mu) and dist.var() == pytest.approx(phi * mu)
    else:
        dist = stats.poisson(mu)
    ks = np.arange(0, 2000)
    cdf = dist.cdf(ks)
    lower, upper = glm_bounds(np.array([mu]), np.array([phi]), alpha, "up")
    assert upper[0] == ks[np.argmax(cdf >= 1 - alpha)]
    assert lower[0] == ks[np.argmax(cdf >= alpha)]
    # p-values: sums of the probability function, and 'up' alarms exactly above the upper bound
    pmf = dist.pmf(ks)
    for y in range(int(upper[0]) - 3, int(upper[0]) + 4):
        if y < 0:
            continue
        p_up = glm_p_value(np.array([y]), mu, phi, "up")[0]
        assert p_up == pytest.approx(pmf[y:].sum(), abs=1e-9)
        assert glm_p_value(np.array([y]), mu, phi, "down")[0] == pytest.approx(pmf[: y + 1].sum(), abs=1e-9)
        assert (p_up <= alpha) == (y > upper[0])


def test_both_directions_split_alpha():
    lower, upper = glm_bounds(pd.Series([20.0]), 2.0, 0.05, "both")
    dist = stats.nbinom(20.0, 0.5)
    assert upper.iloc[0] == dist.ppf(0.975) and lower.iloc[0] == dist.ppf(0.025)
    p_up, p_down = glm_p_value(40.0, 20.0, 2.0, "up"), glm_p_value(40.0, 20.0, 2.0, "down")
    assert glm_p_value(40.0, 20.0, 2.0, "both") == pytest.approx(min(1.0, 2 * min(p_up, p_down)))


# ------------------------------------------------------------ direction and guards


def _flat_then(value: float, n=72, level=100.0) -> pd.Series:
    values = np.full(n, level)
    values[-1] = value
    return _monthly(values)


def test_down_alarms_on_the_lower_bound_only():
    """Flat 100: expected 100, phi 1; Poisson(100) 5% quantile is 84: 60 alarms down, not up."""
    series = _flat_then(60.0)
    down = glm_baseline(series, direction="down")
    up = glm_baseline(series, direction="up")
    last = down.iloc[-1]
    assert last.expected == pytest.approx(100.0, rel=1e-6)
    assert last.lower == stats.poisson(100).ppf(0.05) == 84
    # the GLM's own test (p_value <= alpha) and the one rule (its guards pass: 4 * 100 >= 5, 60 < 100)
    assert last.p_value <= ALPHA and not up.iloc[-1].p_value <= ALPHA
    down_alerts = _alerts(down, series, "down")
    assert down_alerts.iloc[-1] and not _alerts(up, series, "up").iloc[-1]
    assert ((down.p_value <= ALPHA) == (down.observed < down.lower)).all()
    assert (down_alerts == (down.observed < down.lower)).all()
    risen = _flat_then(140.0)
    rise = glm_baseline(risen, direction="down")
    assert not (rise.p_value <= ALPHA).any() and not _alerts(rise, risen, "down").any()
    rise_up = glm_baseline(risen, direction="up")
    assert rise_up.iloc[-1].p_value <= ALPHA and _alerts(rise_up, risen, "up").iloc[-1]
    both = glm_baseline(series, direction="both")
    assert both.iloc[-1].p_value <= ALPHA and _alerts(both, series, "both").iloc[-1]
    assert both.iloc[-1].lower == stats.poisson(100).ppf(0.025)


@pytest.mark.parametrize("direction", ["up", "down", "both"])
@pytest.mark.parametrize("level", [0.0, 7.0, 300.0])
def test_no_alarm_on_flat_or_zero_series(direction, level):
    series = _monthly(np.full(84, level))
    result = glm_baseline(series, direction=direction)
    assert len(result) == 84 - 37 and not _alerts(result, series, direction).any()
    # at level 0 the rule's count guard alone blocks every alarm: the test itself stays quiet too
    assert not (result.p_value <= ALPHA).any()
    np.testing.assert_allclose(result.expected, level, atol=1e-6)


def test_low_count_guard_blocks_a_rise_from_zero():
    """Zeros then 1, 1, 2 (sum of the last 4 = 4 < 5): no alarm although p is tiny; 1, 1, 3: alarm.

    The guard is the one rule's (min_count 5); the GLM channel itself no longer decides an alarm.
    """
    values = np.zeros(72)
    values[-3:] = [1, 1, 2]
    series = _monthly(values)
    fit = glm_baseline(series)
    result = fit.iloc[-1]
    assert result.p_value < 1e-6 and result.recent_sum == 4 and result.observed > result.expected
    assert not _alerts(fit, series, "up", min_count=5).iloc[-1]
    # it is the count guard that blocks: with min_count 4 the same period alarms
    assert _alerts(fit, series, "up", min_count=4).iloc[-1]
    values[-1] = 3
    series = _monthly(values)
    fit = glm_baseline(series)
    assert fit.iloc[-1].recent_sum == 5 and _alerts(fit, series, "up", min_count=5).iloc[-1]


def test_scored_periods_need_min_years_and_score_from():
    series = _seasonal_counts(60)
    result = glm_baseline(series)
    assert result.index[0] == pd.Period("2018-02", "M")  # 3 years + w = 1 month of history
    later = glm_baseline(series, score_from=pd.Period("2019-06", "M"))
    assert later.index[0] == pd.Period("2019-06", "M")
    pd.testing.assert_frame_equal(later, result.loc["2019-06":])


def test_quarterly_series_is_scored():
    rng = np.random.default_rng(5)
    index = pd.period_range("2012Q1", periods=48, freq="Q")
    series = pd.Series(rng.poisson(200 * np.exp(0.3 * np.cos(np.arange(48) * np.pi / 2))).astype(float), index=index)
    series.iloc[-1] = 900.0
    result = glm_baseline(series)
    alerts = _alerts(result, series, "up")
    assert result.index[0] == pd.Period("2015Q1", "Q") and result.iloc[-1].p_value <= ALPHA and alerts.iloc[-1]
    assert not alerts.iloc[:-1].all()


# ------------------------------------------------------------------ past data only


def test_changing_a_future_value_never_changes_an_earlier_row():
    series = _seasonal_counts(108)
    before = glm_baseline(series, direction="both")
    changed = series.copy()
    changed.iloc[90] = 500.0
    after = glm_baseline(changed, direction="both")
    cut = series.index[90]
    pd.testing.assert_frame_equal(before.loc[before.index < cut], after.loc[after.index < cut])
    assert after.loc[cut].p_value <= ALPHA and not before.loc[cut].p_value <= ALPHA
    assert _alerts(after, changed, "both").loc[cut] and not _alerts(before, series, "both").loc[cut]


def test_missing_values_are_skipped_not_zero():
    series = _seasonal_counts(96)
    gappy = series.drop(series.index[50:53])  # a gap in the index
    result = glm_baseline(gappy)
    assert np.isnan(result.loc["2019-03"].observed) and not result.loc["2019-03"].p_value <= ALPHA
    # the rule gives a missing count 'no_data', never an alarm
    assert channel_levels(result, "glm", direction="up", alpha=ALPHA, series=gappy).loc["2019-03"] == "no_data"
    # 2020-01 has the gap at lags 8-10, inside its baseline: three counts fewer, not three zeros
    assert result.loc["2020-01"].n_baseline == glm_baseline(series).loc["2020-01"].n_baseline - 3


# ------------------------------------------------------------------- monotone in alpha


@settings(max_examples=12, deadline=None)
@given(a=st.floats(0.001, 0.2), b=st.floats(0.001, 0.2), seed=st.integers(0, 5))
def test_alarms_are_monotone_in_alpha(a, b, seed):
    small, large = sorted((a, b))
    series = _seasonal_counts(84, seed=seed, level=15.0)
    series.iloc[70:] *= 1.6
    for direction in ("up", "down", "both"):
        strict = glm_baseline(series, GLMSettings(alpha=small), direction=direction)
        loose = glm_baseline(series, GLMSettings(alpha=large), direction=direction)
        strict_alerts = _alerts(strict, series, direction, alpha=small)
        loose_alerts = _alerts(loose, series, direction, alpha=large)
        assert not (strict_alerts & ~loose_alerts).any()
        assert (strict.upper >= loose.upper).all() and (strict.lower <= loose.lower).all()
