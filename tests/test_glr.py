"""The GLR detector (monitoring/statistics/glr.py) against its definitions, statsmodels and hand-worked numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from monitoring.statistics.glm_fit import anscombe_weights
from monitoring.statistics.glr import GLRSettings, glr_baseline
from monitoring.statistics.likelihood_ratio import (
    CALIBRATION,
    glr_codes,
    glr_p_value,
    glr_threshold,
    window_bound,
    window_lr,
)

MONTHS = pd.period_range("2012-01", periods=120, freq="M")


def _poisson(mu, seed=0, index=MONTHS) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(rng.poisson(np.broadcast_to(mu, len(index))).astype(float), index=index)


# ----------------------------------------------------------------------------------- window_lr


def test_window_lr_hand_worked():
    assert window_lr(20, 10, 2, "up") == pytest.approx((20 * math.log(2) - 10) / 2)
    assert window_lr(5, 10, 1, "down") == pytest.approx(5 * math.log(0.5) + 5)
    assert window_lr(0, 4, 2, "down") == pytest.approx(4 / 2)  # 0 log 0 = 0: LR = M / phi
    assert window_lr(5, 10, 1, "both") == pytest.approx(window_lr(5, 10, 1, "down"))
    assert window_lr(20, 10, 2, "both") == pytest.approx(window_lr(20, 10, 2, "up"))


def test_window_lr_wrong_side_is_zero_and_missing_is_nan():
    assert window_lr(5, 10, 1, "up") == 0
    assert window_lr(20, 10, 1, "down") == 0
    assert window_lr(10, 10, 1, "both") == 0
    assert np.isnan(window_lr(np.nan, 10, 1, "up"))
    assert np.isnan(window_lr(20, np.nan, 1, "up"))
    assert np.isnan(window_lr(20, 10, np.nan, "up"))
    with pytest.raises(ValueError):
        window_lr(1, 1, 1, "sideways")


def test_window_lr_windows_in_columns_with_one_dispersion_per_row():
    Y = np.array([[20.0, 30.0, 45.0], [8.0, 15.0, 20.0]])
    M = np.array([[10.0, 20.0, 30.0], [10.0, 20.0, 30.0]])
    phi = np.array([2.0, 1.0])
    out = window_lr(Y, M, phi, "up")
    expected = np.where(Y > M, (Y * np.log(Y / M) - (Y - M)) / phi[:, None], 0.0)
    np.testing.assert_allclose(out, expected)
    assert out.shape == (2, 3)


@pytest.mark.parametrize("direction", ["up", "down"])
def test_window_bound_inverts_window_lr(direction):
    M = np.array([0.5, 3.0, 10.0, 100.0, 2500.0])
    phi = np.array([1.0, 1.5, 2.0, 3.0, 5.0])
    for c in (0.5, 2.0, glr_threshold(0.01)):
        bound = window_bound(M, phi, c, direction)
        ok = ~np.isnan(bound)
        np.testing.assert_allclose(window_lr(bound[ok], M[ok], phi[ok], direction), c, rtol=1e-9)
        assert np.all(bound[ok] > M[ok]) if direction == "up" else np.all(bound[ok] < M[ok])
        if direction == "down":
            # a fall can alarm only where even Y = 0 reaches c: M / phi >= c
            np.testing.assert_array_equal(ok, M / phi >= c)


def test_window_bound_rejects_both():
    with pytest.raises(ValueError):
        window_bound(10.0, 1.0, 3.0, "both")


# --------------------------------------------------------------------------------- the baseline


def test_constant_mean_is_recovered():
    out = glr_baseline(_poisson(1000.0, seed=1))
    assert len(out) == len(MONTHS) - 36  # every period with 3 years of history before it
    assert out.index[0] == MONTHS[36]
    error = (out["expected"] / 1000.0 - 1).abs()
    # the trend is always fitted and extrapolated 7 months ahead: the relative standard error of
    # the prediction is about 0.3 / sqrt(mean), 1% here
    assert error.median() < 0.02 and error.max() < 0.04
    assert out["dispersion"].between(1.0, 1.6).all()
    exact = glr_baseline(pd.Series(100.0, index=MONTHS))
    np.testing.assert_allclose(exact["expected"], 100.0, rtol=1e-9)
    np.testing.assert_allclose(exact["dispersion"], 1.0)


def test_seasonal_mean_is_tracked():
    t = np.arange(len(MONTHS))
    mu = 80 * np.exp(0.5 * np.cos(2 * np.pi * t / 12) + 0.2 * np.sin(2 * np.pi * t / 12))
    out = glr_baseline(_poisson(mu, seed=2))
    truth = pd.Series(mu, index=MONTHS).loc[out.index]
    np.testing.assert_allclose(out["expected"], truth, rtol=0.12)
    assert np.corrcoef(out["expected"], truth)[0, 1] > 0.97
    # without a season the fit cannot follow it
    flat = glr_baseline(_poisson(mu, seed=2), GLRSettings(harmonics=0))
    assert np.abs(flat["expected"] / truth - 1).max() > 0.3


def _statsmodels_fit_for(series: pd.Series, t: pd.Period, years: int, exclude: int, rounds: int):
    """The documented model for period t, built by hand and fitted by statsmodels."""
    pos = series.index.get_loc(t)
    lags = np.arange(exclude + 1, 12 * years + 1)
    y = series.to_numpy()[pos - lags]
    keep = ~np.isnan(y)
    y, lags = y[keep], lags[keep]
    month = np.array([(t - int(lag)).month - 1 for lag in lags], dtype=float)

    def design(lag, m):
        return np.column_stack([np.ones(len(lag)), -lag / 12, np.cos(2 * np.pi * m / 12),
                                np.sin(2 * np.pi * m / 12)])

    X = design(lags.astype(float), month)
    fit = sm.GLM(y, X, family=sm.families.Poisson()).fit(scale="X2", tol=1e-12)
    for _ in range(rounds):  # Anscombe weights from the previous fit, weighted refit
        w = anscombe_weights(y, fit.mu, X, max(fit.scale, 1.0), 2.58, smooth=True)
        fit = sm.GLM(y, X, family=sm.families.Poisson(), var_weights=w).fit(scale="X2", tol=1e-12)
    second = fit
    pred_lags = np.arange(3, dtype=float)
    pred_month = np.array([(t - k).month - 1 for k in range(3)], dtype=float)
    mu = np.exp(design(pred_lags, pred_month) @ second.params)
    return mu, max(second.scale, 1.0), len(y), y.max()


@pytest.mark.parametrize("rounds", [1, 3])
def test_golden_against_statsmodels_quasi_poisson(rounds):
    t = np.arange(len(MONTHS))
    rng = np.random.default_rng(3)
    mu = 40 * np.exp(0.004 * t + 0.4 * np.cos(2 * np.pi * t / 12))
    y = rng.negative_binomial(mu / 1.5, 1 / 2.5).astype(float)  # phi = 2.5
    y[[30, 31, 70]] += [60, 45, 80]  # past outbreaks, down-weighted
    y[50] = np.nan
    series = pd.Series(y, index=MONTHS)
    period = MONTHS[110]
    ref_mu, ref_phi, n, ymax = _statsmodels_fit_for(series, period, years=7, exclude=6, rounds=rounds)
    assert ref_mu[0] <= ymax  # the trend is kept even with the guard on
    settings = GLRSettings(reweight_rounds=rounds, trend_guard=True)
    out = glr_baseline(series, settings, score_from=period).loc[period]
    assert out["trend"]
    assert out["n_baseline"] == n
    np.testing.assert_allclose(out["expected"], ref_mu[0], rtol=1e-6)
    np.testing.assert_allclose(out["dispersion"], ref_phi, rtol=1e-6)
    np.testing.assert_allclose(out["expected_2"], ref_mu[:2].sum(), rtol=1e-6)
    np.testing.assert_allclose(out["expected_3"], ref_mu.sum(), rtol=1e-6)
    # the statsmodels engine is the same fit
    other = glr_baseline(series, settings, score_from=period, engine="statsmodels").loc[period]
    np.testing.assert_allclose(other["expected"], out["expected"], rtol=1e-6)
    np.testing.assert_allclose(other["dispersion"], out["dispersion"], rtol=1e-6)


def test_trend_guard_drops_an_overshooting_trend():
    # a steady rise with almost no noise: the trend's prediction 7 months past the baseline
    # exceeds every baseline count, so the guard falls back to the flat model
    series = pd.Series(np.round(200 * np.exp(0.01 * np.arange(len(MONTHS)))), index=MONTHS)
    period = MONTHS[100]
    guarded = glr_baseline(series, GLRSettings(trend_guard=True), score_from=period).loc[period]
    free = glr_baseline(series, GLRSettings(trend_guard=False), score_from=period).loc[period]
    assert not guarded["trend"] and free["trend"]
    baseline_max = series.iloc[100 - 84: 100 - 6].max()
    assert guarded["expected"] <= baseline_max < free["expected"]
    np.testing.assert_allclose(free["expected"], series.iloc[100], rtol=0.01)


def test_window_sums_are_the_definitions():
    series = _poisson(30.0, seed=4)
    series.iloc[80] = np.nan
    out = glr_baseline(series)
    values = series.to_numpy()
    for period, row in out.iterrows():
        p = MONTHS.get_loc(period)
        for k in (2, 3):
            window = values[p - k + 1: p + 1]
            if np.isnan(window).any():
                assert np.isnan(row[f"observed_{k}"])
            else:
                assert row[f"observed_{k}"] == window.sum()
        assert row["expected"] < row["expected_2"] < row["expected_3"]
    assert np.isnan(out.loc[MONTHS[81], "observed_2"]) and np.isnan(out.loc[MONTHS[82], "observed_3"])
    assert not np.isnan(out.loc[MONTHS[83], "observed_3"])


def test_past_only():
    series = _poisson(50.0, seed=5)
    base = glr_baseline(series)
    t = MONTHS[90]
    changed = series.copy()
    changed.loc[t:] = changed.loc[t:] * 3 + 7
    again = glr_baseline(changed)
    cols = ["expected", "dispersion", "expected_2", "expected_3"]
    pd.testing.assert_frame_equal(base.loc[:t, cols], again.loc[:t, cols])
    assert again.loc[t, "observed"] != base.loc[t, "observed"]
    assert not np.allclose(again.loc[MONTHS[100]:, "expected"], base.loc[MONTHS[100]:, "expected"])


def test_score_from_gives_the_same_rows():
    series = _poisson(20.0, seed=6)
    full = glr_baseline(series)
    part = glr_baseline(series, score_from=MONTHS[100])
    assert part.index[0] == MONTHS[100]
    pd.testing.assert_frame_equal(part, full.loc[MONTHS[100]:])


@pytest.mark.parametrize("series", [
    pd.Series(0.0, index=MONTHS),
    pd.Series(np.nan, index=MONTHS),
    pd.Series([3.0, 4.0, 2.0], index=MONTHS[:3]),
    pd.Series(dtype=float, index=pd.PeriodIndex([], freq="M")),
    pd.Series(np.where(np.arange(120) % 3 == 0, 5.0, np.nan), index=MONTHS),
    pd.Series(np.r_[np.zeros(100), [1000.0] * 20], index=MONTHS),
])
def test_degenerate_series_never_raise(series):
    out = glr_baseline(series)
    assert list(out.columns[:4]) == ["observed", "expected", "dispersion", "n_baseline"]
    assert len(out) == max(0, len(series) - 36)
    fitted = out["expected"].dropna()
    assert (fitted >= 0).all() and np.isfinite(fitted).all()
    lr = window_lr(out[["observed", "observed_2", "observed_3"]].to_numpy(),
                   out[["expected", "expected_2", "expected_3"]].to_numpy(), out["dispersion"].to_numpy(), "up")
    new = np.arange(len(out)) == 0
    code, window, _ = glr_codes(lr.reshape(-1, 3), new, (2.0, 4.0))
    assert len(code) == len(out) and set(np.unique(code)) <= {0, 1, 2}


def test_all_missing_has_no_expected():
    out = glr_baseline(pd.Series(np.nan, index=MONTHS))
    assert out["expected"].isna().all()


def test_quarterly_and_annual_series():
    quarters = pd.period_range("2010Q1", periods=48, freq="Q")
    t = np.arange(48)
    q = glr_baseline(_poisson(60 * np.exp(0.3 * np.cos(np.pi * t / 2)), seed=7, index=quarters))
    assert len(q) == 48 - 12 and q["expected"].notna().all()
    years = pd.period_range("2000", periods=20, freq="Y")
    a = glr_baseline(_poisson(200.0, seed=8, index=years))
    assert len(a) == 20 - 3 and a["expected"].notna().all()
    np.testing.assert_allclose(a["expected"].iloc[-5:], 200, rtol=0.15)


def test_settings_are_validated():
    for bad in (dict(years=2, min_years=3), dict(min_years=0), dict(exclude_recent_months=-1),
                dict(harmonics=-1), dict(windows=0), dict(reweight_threshold=0.0), dict(years=7.5),
                dict(reweight_rounds=0)):
        with pytest.raises(ValueError):
            GLRSettings(**bad)
    with pytest.raises(ValueError):
        glr_baseline(_poisson(5.0), engine="R")


# ------------------------------------------------------------------------------ p-values


def test_p_value_is_a_calibrated_decreasing_tail():
    s = np.linspace(0, 30, 601)
    p = glr_p_value(s)
    assert p[0] == 1.0 and np.all(np.diff(p) < 0) and np.all(p > 0)
    assert np.isnan(glr_p_value(np.nan))
    for stat, prob in CALIBRATION:
        assert glr_p_value(stat) == pytest.approx(prob)
    for alpha in (0.2, 0.05, 0.01, 0.001, 1e-6):
        assert glr_p_value(glr_threshold(alpha)) == pytest.approx(alpha, rel=1e-9)
    assert glr_threshold(0.001) > glr_threshold(0.01) > glr_threshold(0.05) > 0
    assert glr_threshold(1.0) == 0.0


# --------------------------------------------------------------------------- codes and reset


def _reference_codes(lr, new, c):
    """glr_codes' documented rule, one row and one window at a time."""
    n, W = lr.shape
    code, window, stat = np.zeros(n, int), np.zeros(n, int), np.full(n, np.nan)
    last, start = [-(10**9)] * len(c), 0
    for i in range(n):
        if new[i]:
            start, last = i, [-(10**9)] * len(c)
        best = []
        for j in range(len(c)):
            ks = [k for k in range(1, W + 1)
                  if i - k + 1 > last[j] and i - k + 1 >= start and not np.isnan(lr[i, k - 1])]
            k = max(ks, key=lambda k: (lr[i, k - 1], -k)) if ks else 0
            best.append((lr[i, k - 1], k) if ks else (np.nan, 0))
        reached = max([j + 1 for j in range(len(c)) if best[j][0] >= c[j]], default=0)
        for j in range(reached):
            last[j] = i
        code[i] = reached
        stat[i], window[i] = best[min(reached, len(c) - 1)]
    return code, window, stat


@pytest.mark.parametrize("windows", [1, 2, 3, 4])
def test_codes_match_the_rule_row_by_row(windows):
    rng = np.random.default_rng(windows)
    lr = rng.exponential(1.3, (3000, windows))
    lr[rng.random(lr.shape) < 0.02] = np.nan
    new = rng.random(3000) < 0.04
    new[0] = True
    thresholds = (glr_threshold(0.05), glr_threshold(0.01))
    got = glr_codes(lr, new, thresholds)
    want = _reference_codes(lr, new, thresholds)
    assert np.bincount(got[0], minlength=3)[2] > 20  # alarms happened, the reset was exercised
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(np.nan_to_num(g, nan=-1), np.nan_to_num(w, nan=-1))
    # the reported statistic gives back the code
    code, _, stat = got
    p = glr_p_value(stat)
    np.testing.assert_array_equal(code, (p <= 0.05).astype(int) + (p <= 0.01))


def _lr_of(series: pd.Series) -> np.ndarray:
    out = glr_baseline(series)
    return window_lr(out[["observed", "observed_2", "observed_3"]].to_numpy(),
                     out[["expected", "expected_2", "expected_3"]].to_numpy(), out["dispersion"].to_numpy(), "up")


def test_a_single_spike_alarms_once():
    series = pd.Series(50.0, index=MONTHS)
    series.iloc[100] += 70  # about 10 SDs, one month
    lr = _lr_of(series)
    new = np.r_[True, np.zeros(len(lr) - 1, bool)]
    c = glr_threshold(0.01)
    code, window, _ = glr_codes(lr, new, (c,))
    at = 100 - 36
    assert code[at] == 1 and window[at] == 1
    assert np.all(lr[at + 1: at + 3].max(axis=1) >= c)  # without the reset it would alarm 3 months running
    assert code[at + 1] == 0 and code[at + 2] == 0
    assert code.sum() == 1


def test_a_noisy_spike_alarms_once():
    series = _poisson(50.0, seed=12)
    series.iloc[100] += 80
    lr = _lr_of(series)
    code, _, _ = glr_codes(lr, np.arange(len(lr)) == 0, (glr_threshold(0.01),))
    at = 100 - 36
    assert code[at] == 1 and np.all(lr[at + 1: at + 3].max(axis=1) >= glr_threshold(0.01))
    assert code[at + 1: at + 3].sum() == 0


def test_a_sustained_shift_keeps_alarming():
    series = _poisson(np.r_[np.full(100, 50.0), np.full(20, 85.0)], seed=10)
    lr = _lr_of(series)
    code, window, _ = glr_codes(lr, np.r_[True, np.zeros(len(lr) - 1, bool)], (glr_threshold(0.01),))
    shifted = code[100 - 36: 100 - 36 + 6]
    assert shifted[0] == 1 and shifted.sum() >= 4


def test_thresholds_must_increase():
    with pytest.raises(ValueError):
        glr_codes(np.zeros((3, 3)), np.array([True, False, False]), (4.0, 2.0))


def test_false_alarms_on_fresh_in_control_series_fall_with_the_threshold():
    rng = np.random.default_rng(11)
    rows, new = [], []
    for i in range(40):
        mean, phi = float(np.exp(rng.uniform(np.log(3), np.log(500)))), float(rng.uniform(1, 3))
        y = rng.negative_binomial(mean / (phi - 1), 1 / phi, len(MONTHS)).astype(float)
        lr = _lr_of(pd.Series(y, index=MONTHS))
        rows.append(lr)
        new.append(np.r_[True, np.zeros(len(lr) - 1, bool)])
        assert i >= 0
    lr, new = np.vstack(rows), np.concatenate(new)
    rates = [np.mean(glr_codes(lr, new, (c,))[0] >= 1) for c in (0.5, 1, 2, 3, 4, 5, 6, 8)]
    assert rates[0] > 0.05
    assert all(a >= b for a, b in zip(rates, rates[1:], strict=False))


def _demo_eu_plus_asylum() -> pd.Series:
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "demo" / "asylum_applications.csv"
    demo = pd.read_csv(path, comment="#")
    rows = demo[demo["geo"] == "EU27_2020_EFTA"]
    return pd.Series(rows["value"].to_numpy(float), index=pd.PeriodIndex(rows["period"], freq="M"))


@pytest.mark.parametrize("scored", [
    slice("2018-02", "2023-12"),  # before the visa-free break of January 2024
    slice("2024-07", "2026-12"),  # the break's months in the baseline (6 months are left out)
])
def test_the_demo_eu_plus_expected_value_has_no_notches(scored):
    """Issue 11 defect 3: the expected value drawn month after month (each month its own past-only
    fit) moves no more from one month to the next than one fit's own season and trend do, and the
    fit for a month barely changes when one more month enters its baseline (the revision). The
    window of a young series grew by a whole year each January, and the expected value jumped there
    (EU+ January 2021: 21% in a month, against at most 9% within any one fit); Farrington's step
    weights flipped when a past count's residual crossed 2.58 (EU+ February 2025: a revision of 26%)."""
    g = glr_baseline(_demo_eu_plus_asylum())
    mu = g["expected"]
    own_previous = g["expected_2"] - mu  # the fit made for t, at t - 1
    drawn = np.log(mu / mu.shift(1))[scored].abs()
    within = np.log(mu / own_previous)[scored].abs()  # the season's and trend's own monthly steps
    revision = np.log(own_previous / mu.shift(1))[scored].abs()
    assert drawn.max() <= 1.25 * within.max()
    assert revision.max() < 0.08


def test_a_young_series_baseline_grows_period_by_period():
    s = _poisson(100.0, seed=3, index=pd.period_range("2015-01", periods=12 * 9, freq="M"))
    g = glr_baseline(s, GLRSettings())
    assert g["n_baseline"].iloc[0] == 36 - 6 and g["n_baseline"].iloc[1] == 37 - 6
    grow = g["n_baseline"].diff().dropna()
    assert grow.iloc[:48].eq(1).all() and grow.iloc[48:].eq(0).all()  # one more a period up to 7 years
