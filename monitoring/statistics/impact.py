"""Impact of the visa-free regime: observed counts against a counterfactual projected from before it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.statistics.baselines import GLMSettings
from monitoring.statistics.channels import nb_sizes, periods_per_year, regular
from monitoring.statistics.glm_fit import ReweightedFit, fit_trend_or_flat, reweighted

COLUMNS = ("observed", "expected", "lower", "upper", "excess", "cumulative_excess", "cumulative_lower",
           "cumulative_upper")
EXEMPTION_START = pd.Period("2024-01", "M")  # visa-free travel to Schengen for Kosovo citizens
DEFAULT_SETTINGS = GLMSettings()


def _design(index: pd.PeriodIndex, start: pd.Period, ppy: int, trend: bool) -> np.ndarray:
    """Intercept, trend in years since ``start``, one dummy per period of the year but the first."""
    time = (index - start).map(lambda offset: offset.n).to_numpy(dtype=float) / ppy
    season = (index.month - 1 if ppy == 12 else index.quarter - 1) if ppy > 1 else np.zeros(len(index), int)
    dummies = [(np.asarray(season) == j).astype(float) for j in range(1, ppy)]
    columns = [np.ones(len(index)), time] if trend else [np.ones(len(index))]
    return np.column_stack([*columns, *dummies])


MIN_MEAN = 1e-9
MAX_FACTOR = 1000.0


def _simulate(beta, cov, phi: float, X_post: np.ndarray, largest: float, n_sim: int, seed: int) -> np.ndarray:
    """Counterfactual counts (n_sim, periods): ``beta* ~ N(beta, phi cov)``, then NB (Poisson) draws."""
    rng = np.random.default_rng(seed)
    betas = rng.multivariate_normal(beta, phi * cov, size=n_sim, method="cholesky")
    # A season that was always zero before the start drives its coefficient towards -inf with a huge
    # variance: simulated means underflow to 0 (the NB draw refuses size 0) or overflow. Bound them:
    # from MIN_MEAN (such a month's counterfactual is 0 anyway) to MAX_FACTOR times the largest count
    # before the start (a counterfactual beyond that says nothing).
    ceiling = np.log(MAX_FACTOR * (largest + 1.0))
    mu = np.exp(np.clip(betas @ X_post.T, np.log(MIN_MEAN), ceiling))
    if phi > 1 + 1e-8:
        return rng.negative_binomial(nb_sizes(mu, phi), 1 / phi).astype(float)
    return rng.poisson(mu).astype(float)


def visa_free_impact(series: pd.Series, *, start: pd.Period = EXEMPTION_START,
                     settings: GLMSettings = DEFAULT_SETTINGS, alpha: float = 0.05, n_sim: int = 4000,
                     seed: int = 20240101) -> pd.DataFrame:
    """Excess counts since ``start`` over a seasonal GLM fitted only on the years before it.

    Parameters
    ----------
    series : Series
        Counts with a monthly or quarterly PeriodIndex.
    start : Period
        First period of the regime (converted to the series' frequency: 2024-01 -> 2024-Q1).
    settings : GLMSettings
        ``years`` (b) of pre-period data, ``min_years``, ``reweight_threshold``, ``trend_guard``.
    alpha : float
        The intervals are central ``1 - alpha`` intervals.
    n_sim, seed : int
        Number of simulations and the seed of the (reproducible) interval simulation.

    Returns
    -------
    DataFrame indexed by period from ``start`` to the series' end with ``observed, expected,
    lower, upper, excess, cumulative_excess, cumulative_lower, cumulative_upper``; empty when
    there are fewer than ``min_years`` years of data before ``start``.

    Notes
    -----
    Model on the last ``years`` years before start:
    ``log mu_t = beta_0 + beta_1 (t - start)/ppy + gamma_{period of year(t)}``, quasi-Poisson with
    Farrington's Anscombe down-weighting (as :func:`monitoring.statistics.baselines.glm_baseline`; the trend
    is dropped when its projection at start exceeds the largest pre-period count).
    ``expected_t = exp(x_t' beta)``, ``excess_t = observed_t - expected_t``,
    ``cumulative_excess_t = sum_{s <= t} excess_s`` over observed periods.
    Intervals by simulation (seeded): ``beta* ~ N(beta, phi (X'WX)^-1)``, then
    ``Y*_t ~ NB(mean exp(x_t' beta*), variance phi times the mean)`` (Poisson when phi <= 1), so
    they include parameter uncertainty and count noise. ``lower, upper``: the ``alpha/2`` and
    ``1 - alpha/2`` quantiles of ``Y*_t`` (where the counterfactual count may lie);
    ``cumulative_lower, cumulative_upper``: those of ``sum_{s <= t} (observed_s - Y*_s)``.
    """
    values = regular(series)
    ppy = periods_per_year(values.index)
    start = start.asfreq(values.index.freq, how="start") if len(values) else start
    pre = values[values.index < start].iloc[-settings.years * ppy:].dropna()
    post = values[values.index >= start]
    empty = pd.DataFrame(np.nan, index=post.index, columns=list(COLUMNS))
    if len(pre) < settings.min_years * ppy or post.empty:
        return empty.iloc[:0]
    y = pre.to_numpy()

    def at_start(fit: ReweightedFit, trend: bool) -> np.ndarray:
        return np.exp(_design(pd.PeriodIndex([start]), start, ppy, trend) @ fit.beta)

    chosen = fit_trend_or_flat(lambda trend: _design(pre.index, start, ppy, trend), y,
                               reweighted(settings.reweight_threshold),
                               at_start, trend_guard=settings.trend_guard)
    if chosen is None:
        return empty
    beta, cov, phi = chosen.fit
    trend = chosen.trend
    X_post = _design(post.index, start, ppy, trend)
    expected = np.exp(X_post @ beta)
    draws = _simulate(beta, cov, phi, X_post, float(np.max(y)), n_sim, seed)
    observed = post.to_numpy()
    seen = ~np.isnan(observed)
    excess = observed - expected
    cumulative = np.cumsum(np.where(seen, excess, 0.0))
    cum_draws = np.cumsum(np.where(seen, observed - draws, 0.0), axis=1)
    q = [alpha / 2, 1 - alpha / 2]
    out = empty
    out["observed"] = observed
    out["expected"] = expected
    out["lower"], out["upper"] = np.quantile(draws, q, axis=0)
    out["excess"] = excess
    out["cumulative_excess"] = cumulative
    out["cumulative_lower"], out["cumulative_upper"] = np.quantile(cum_draws, q, axis=0)
    return out
