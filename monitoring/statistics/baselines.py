"""Seasonal GLM baseline after Farrington et al. (1996) as improved by Noufaily et al. (2013).

This is R ``surveillance::farringtonFlexible`` with the Noufaily settings::

    farringtonFlexible(sts, control = list(b = 5, w = 1, noPeriods = 10, reweight = TRUE,
        weightsThreshold = 2.58, pastWeeksNotIncluded = 6, trend = TRUE, pThresholdTrend = 1,
        thresholdMethod = "nbPlugin", limit54 = c(5, 4), alpha = 0.05))

rewritten with numpy (one small IRLS per scored period, no formula parsing), so that a fit and its
prediction take well under a millisecond; a statsmodels GLM costs about 2 ms per fit and would put
the scan over its speed targets. The fit itself (IRLS, down-weighting, the trend choice) is
:mod:`monitoring.statistics.glm_fit`, shared with the other baselines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from monitoring.statistics.channels import (
    check_direction,
    empty_result,
    nb_distribution,
    periods_per_year,
    regular,
)
from monitoring.statistics.glm_fit import ReweightedFit, fit_trend_or_flat, reweighted

# Half-width of the seasonal window per periods-per-year when GLMSettings.window is None.
DEFAULT_WINDOW = {12: 1, 4: 0, 1: 0}
LOW_COUNT_PERIODS = 4  # the "4" of farringtonFlexible's limit54 = c(5, 4)
EXTRA = ("dispersion", "se_log", "n_baseline", "recent_sum", "trend")


@dataclass(frozen=True)
class GLMSettings:
    """Settings of the seasonal GLM baseline.

    Parameters
    ----------
    years : int
        b, the number of past years in the baseline (fewer are used when the series is shorter).
    min_years : int
        Periods with fewer years of history are not scored.
    exclude_recent_months : int
        Months left out of the baseline before the scored period (``pastWeeksNotIncluded``),
        converted to periods as ``ceil(months * periods_per_year / 12)`` (6 months = 2 quarters;
        none for annual series, see :func:`excluded_periods`).
    seasonal_blocks : int
        Levels of the seasonal factor (``noPeriods``): the window around the scored calendar period
        plus ``seasonal_blocks - 1`` blocks splitting the rest of each year. Capped at
        ``periods_per_year - 2 * window`` (for months with ``window = 1``: 10, i.e. the 3-month
        window and one level for each of the other 9 calendar months; for quarters with
        ``window = 0``: 4, a quarter-of-year factor; annual series: 1, no season).
    window : int or None
        w, the half-width of the window around the same period in past years. None: 1 for
        monthly, 0 for quarterly and annual series.
    reweight_threshold : float
        Anscombe residuals above it are down-weighted (``weightsThreshold``).
    alpha : float
        The stored bounds are the ``alpha`` and ``1 - alpha`` quantiles (re-thresholding recomputes
        them at any other alpha). The alarm itself is the one rule (``monitoring.statistics.alarm``):
        p-value at most the alert alpha and the count guard of farringtonFlexible's ``limit54``.
    trend_guard : bool
        As farringtonFlexible, drop the (always fitted) trend when the prediction with the trend
        exceeds the largest count of the baseline, so a trend never extrapolates beyond the data.
    """

    years: int = 5
    min_years: int = 3
    exclude_recent_months: int = 6
    seasonal_blocks: int = 10
    window: int | None = None
    reweight_threshold: float = 2.58
    alpha: float = 0.05
    trend_guard: bool = True

    def __post_init__(self):
        if not 1 <= self.min_years <= self.years:
            raise ValueError("min_years must be between 1 and years")
        if self.exclude_recent_months < 0 or self.seasonal_blocks < 1 or (self.window or 0) < 0:
            raise ValueError("exclude_recent_months, window must be >= 0 and seasonal_blocks >= 1")
        if not 0 < self.alpha < 0.5:
            raise ValueError("alpha must be in (0, 0.5)")


# ---------------------------------------------------------------- negative-binomial thresholds


def _as_output(values: np.ndarray, like) -> np.ndarray | pd.Series:
    return pd.Series(values, index=like.index) if isinstance(like, pd.Series) else values


def _arrays(*values) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values)))


def glm_bounds(expected, dispersion, alpha: float, direction: str = "up"):
    """Lower and upper bounds of the baseline at level alpha, without refitting.

    Parameters
    ----------
    expected, dispersion : array-like or Series
        mu and phi of stored fits (broadcast together).
    alpha : float
        Significance level.
    direction : {'up', 'down', 'both'}
        'both' puts alpha/2 in each tail.

    Returns
    -------
    (lower, upper)
        Arrays (Series when ``expected`` is one) of the quantiles ``q(a)`` and ``q(1 - a)`` with
        ``a = alpha`` (``alpha / 2`` for 'both').

    Notes
    -----
    ``Y ~ NB(size = mu / (phi - 1), prob = 1 / phi)``, so ``E[Y] = mu`` and ``Var[Y] = phi * mu``;
    Poisson(mu) when ``phi <= 1`` (farringtonFlexible's ``thresholdMethod = "nbPlugin"``: the
    plug-in mean, no parameter uncertainty). ``q(p)`` is the smallest count with ``F(q) >= p``, so
    ``observed > upper`` exactly when ``P(Y >= observed) <= a``.
    """
    check_direction(direction)
    mu, phi = _arrays(expected, dispersion)
    a = alpha / 2 if direction == "both" else alpha
    return (_as_output(nb_distribution("ppf", a, mu, phi), expected),
            _as_output(nb_distribution("ppf", 1 - a, mu, phi), expected))


def glm_p_value(observed, expected, dispersion, direction: str = "up"):
    """Probability of a count at least as extreme as observed in the bad direction.

    Parameters
    ----------
    observed, expected, dispersion : array-like or Series
        y, mu and phi (broadcast together).
    direction : {'up', 'down', 'both'}
        The bad direction.

    Returns
    -------
    Array (Series when ``observed`` is one) of p-values; NaN where any input is missing.

    Notes
    -----
    'up': ``P(Y >= y) = 1 - F(ceil(y) - 1)`` (farringtonFlexible's ``pvalue``); 'down':
    ``P(Y <= y) = F(floor(y))``; 'both': ``min(1, 2 * min(up, down))``. Y as in :func:`glm_bounds`.
    The alarm is ``p_value <= alpha``, which for 'up' is exactly ``observed > upper``.
    """
    check_direction(direction)
    y, mu, phi = _arrays(observed, expected, dispersion)
    up = 1 - nb_distribution("cdf", np.ceil(y) - 1, mu, phi)
    down = nb_distribution("cdf", np.floor(y), mu, phi)
    p = {"up": up, "down": down}.get(direction)
    if p is None:
        p = np.minimum(1.0, 2 * np.minimum(up, down))
    return _as_output(np.clip(p, 0, 1), observed)


def glm_score(observed, expected, lower, upper, direction: str = "up") -> np.ndarray:
    """Exceedance score (y - mu) / (upper - mu), or (mu - y) / (mu - lower) for falls.

    For 'both' the side is the one the observed value lies on. The denominator is floored at half a
    count so that tiny expected values give finite scores (the alarm is decided by the p-value).
    """
    y, mu, lo, up = _arrays(observed, expected, lower, upper)
    rise = (y - mu) / np.maximum(up - mu, 0.5)
    fall = (mu - y) / np.maximum(mu - lo, 0.5)
    if direction == "up":
        return rise
    if direction == "down":
        return fall
    return np.where(y >= mu, rise, fall)


# ------------------------------------------------------------------------------- the GLM fit


@lru_cache(maxsize=64)
def _design(ppy: int, years: int, window: int, blocks: int, exclude: int) -> tuple[np.ndarray, np.ndarray]:
    """Lags (periods before the scored one) in the baseline and their seasonal level (0 = window).

    Same levels as surveillance's ``blocks()``: the window of +-w around each reference period
    t - ppy*i (i = 1..b) is level 0 (R's level ``noPeriods``); the stretch between two windows is
    split in time order into ``p - 1`` blocks, the first ``rest`` one period longer (levels 1..p-1).
    """
    gap = ppy - 2 * window - 1
    p = 1 if gap < 1 else min(blocks, gap + 1)
    lags = np.arange(exclude + 1, ppy * years + window + 1)
    level = np.zeros(lags.shape, dtype=int)
    if p > 1:
        lengths = np.full(p - 1, gap // (p - 1))
        lengths[: gap % (p - 1)] += 1
        edges = np.cumsum(lengths)
        r = lags % ppy
        in_gap = (r > window) & (r < ppy - window)
        offset = ppy - window - 1 - r  # position within the gap, in time order
        level[in_gap] = 1 + np.searchsorted(edges, offset[in_gap], side="right")
    return lags, level


def _fit_period(values: np.ndarray, pos: int, lags: np.ndarray, level: np.ndarray, ppy: int,
                settings: GLMSettings):
    """(expected, phi, se_log, n_baseline, trend) for the period at position pos; NaNs when unfittable."""
    y = values[pos - lags]
    keep = ~np.isnan(y)
    y, lev, lag = y[keep], level[keep], lags[keep]
    n = len(y)
    nothing = (np.nan, np.nan, np.nan, n, False)
    if n == 0 or not np.any(lev == 0):
        return nothing
    dummies = [(lev == j).astype(float) for j in np.unique(lev) if j != 0]
    X = np.column_stack([np.ones(n), -lag / ppy, *dummies])
    chosen = fit_trend_or_flat(lambda trend: X if trend else np.delete(X, 1, axis=1), y,
                               reweighted(settings.reweight_threshold),
                               _at_reference, trend_guard=settings.trend_guard)
    if chosen is None or not math.isfinite(chosen.prediction[0]):
        return nothing
    return chosen.prediction[0], chosen.phi, math.sqrt(chosen.phi * chosen.cov[0, 0]), n, chosen.trend


def _at_reference(fit: ReweightedFit, trend: bool) -> np.ndarray:
    """exp(beta_0): the expected value at the scored period (time 0, the window's level)."""
    return np.array([math.exp(fit.beta[0]) if fit.beta[0] < 700 else math.inf])


def excluded_periods(months: int, ppy: int) -> int:
    """Periods left out before the scored one: ``ceil(months * ppy / 12)`` (6 months = 2 quarters);
    none for an annual series, where a year already spans a short outbreak and leaving out the
    latest year would compare a year with data two or more years old."""
    return 0 if ppy == 1 else math.ceil(months * ppy / 12)


def glm_baseline(series: pd.Series, settings: GLMSettings = GLMSettings(), *, direction: str = "up",
                 score_from: pd.Period | None = None) -> pd.DataFrame:
    """Score every period with enough history against a seasonal quasi-Poisson GLM of its past.

    Parameters
    ----------
    series : Series
        Counts with a monthly, quarterly or annual PeriodIndex; NaN = missing (gaps allowed).
    settings : GLMSettings
        b, w, seasonal levels, exclusion, reweighting, alpha of the stored bounds.
    direction : {'up', 'down', 'both'}
        The bad direction: 'up' tests the upper tail, 'down' the lower, 'both' either.
    score_from : Period, optional
        Score only periods from this one on (incremental scans).

    Returns
    -------
    DataFrame indexed by period (every regular period with at least ``min_years`` years of history
    before it, and ``>= score_from``) with ``observed, expected, lower, upper, score, p_value``
    and the parameters to re-threshold without refitting: ``dispersion`` (phi), ``se_log``
    (standard error of log expected), ``n_baseline`` (counts fitted), ``recent_sum`` (observed
    sum of the last 4 periods) and ``trend`` (whether the trend was kept).

    Notes
    -----
    For period t the baseline holds the periods ``t - ppy*i + j`` for ``i = 1..b`` and
    ``|j| <= w`` plus the stretches between them (with ``b = min(years, available years)``),
    less the ``exclude`` periods before t. The model is

    ``log mu_s = beta_0 + beta_1 (s - t)/ppy + gamma_level(s)``,   ``Var Y_s = phi mu_s``,

    fitted by IRLS; Anscombe residuals ``s_i > reweight_threshold`` get weights ``gamma s_i^-2``
    and the model is refitted (see :func:`anscombe_weights`); ``phi = max(1, X2 / (n - k))``.
    The trend is always fitted but dropped when ``exp(beta_0)`` exceeds the largest baseline
    count (``trend_guard``, as farringtonFlexible). ``expected = exp(beta_0)`` (t is in the
    window, the reference level, at time 0), ``se_log = sqrt(phi [(X'WX)^-1]_00)``.
    Bounds and p-values: :func:`glm_bounds`, :func:`glm_p_value` (``nbPlugin``). Score:
    :func:`glm_score`. farringtonFlexible's alarm (``p_value <= alpha`` with ``limit54``) is the
    levels' rule at that alpha (``monitoring.statistics.levels.channel_levels``; tests/test_golden.py).
    """
    check_direction(direction)
    values_s = regular(series)
    if values_s.empty:
        return empty_result(values_s.index, EXTRA)
    ppy = periods_per_year(values_s.index)
    w = DEFAULT_WINDOW[ppy] if settings.window is None else settings.window
    exclude = excluded_periods(settings.exclude_recent_months, ppy)
    values = values_s.to_numpy()
    positions = np.arange(ppy * settings.min_years + w, len(values))
    if score_from is not None:
        positions = positions[values_s.index[positions] >= score_from]
    index = values_s.index[positions]
    rows = []
    for pos in positions:
        years = min(settings.years, (pos - w) // ppy)
        lags, level = _design(ppy, years, w, settings.seasonal_blocks, exclude)
        rows.append(_fit_period(values, pos, lags, level, ppy, settings))
    out = empty_result(index, EXTRA)
    if not rows:
        return out
    expected, phi, se_log, n_baseline, trend = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    observed = values[positions]
    recent = pd.Series(values).rolling(LOW_COUNT_PERIODS, min_periods=1).sum().to_numpy()[positions]
    lower, upper = glm_bounds(expected, phi, settings.alpha, direction)
    p_value = glm_p_value(observed, expected, phi, direction)
    out["observed"] = observed
    out["expected"] = expected
    out["lower"] = lower
    out["upper"] = upper
    out["score"] = glm_score(observed, expected, lower, upper, direction)
    out["p_value"] = p_value
    out["dispersion"] = phi
    out["se_log"] = se_log
    out["n_baseline"] = n_baseline
    out["recent_sum"] = recent
    out["trend"] = trend.astype(bool)
    return out
