"""Generalised likelihood-ratio test over the last 1..3 periods against a Fourier quasi-Poisson GLM.

The default anomaly channel (DESIGN.md section 4, issue 9): for each scored period t,

1. a baseline after Noufaily et al. (2013), with a Fourier season instead of 10 month-blocks: a
   quasi-Poisson GLM ``log mu_s = b0 + b1 (s - t)/ppy + sum_h [a_h cos(2 pi h s/ppy) + c_h sin(...)]``
   fitted on the non-missing counts of the ``years`` years before t, less the most recent
   ``exclude`` periods, with Anscombe down-weighting of past outbreaks and a refit
   (:func:`monitoring.statistics.glm_fit.fit_reweighted`, repeated ``reweight_rounds`` times; the weights are
   ``(threshold / s)^2`` above the threshold, continuous where Farrington's ``s^-2`` steps, so that
   the expected value does not notch from one month to the next when a past count crosses it),
   ``phi = max(1, X2 / (n - k))``, and optionally the trend dropped when its prediction at t
   exceeds the largest baseline count (``trend_guard``, as farringtonFlexible) (:func:`glr_baseline`);
2. the quasi-Poisson log-likelihood ratio of a multiplicative change of the mean over the windows
   of the last 1, 2 and 3 periods, all predicted by the fit made for t (:func:`window_lr`);
3. the statistic ``max_k LR_k``, with the windows restricted after an alarm so that one spike does
   not alarm three periods running (:func:`glr_codes`), turned into a calibrated in-control tail
   probability (:func:`glr_p_value`, a table estimated by simulation in
   ``benchmarks/calibration.py``, results in ``benchmarks/results/calibration.md``).

Pure numpy/pandas/scipy: no store, no Streamlit. The levels' own rules (alert/watch alphas, the
count guard, "no rise alarm at or below expected") are applied by the caller
(``monitoring.statistics.levels``; ``benchmarks.detection.glr_levels`` for the benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.statistics import glm_fit
from monitoring.statistics.channels import periods_per_year, regular
from monitoring.statistics.glm_fit import (
    ReweightedFit,
    _irls,
    anscombe_weights,
    fit_trend_or_flat,
)

LR_DIRECTIONS = ("up", "down", "both")


@dataclass(frozen=True)
class GLRSettings:
    """Settings of the GLR channel's baseline and test.

    Parameters
    ----------
    years : int
        Years of history in the baseline (fewer when the series is shorter).
    min_years : int
        Periods with fewer years of history before them are not scored (EARS takes over in the
        product).
    exclude_recent_months : int
        Months before the scored one left out of the baseline, converted to periods as
        ``ceil(months * periods_per_year / 12)``. With fewer excluded periods than ``windows - 1``
        the older periods of a window are also in its baseline.
    harmonics : int
        Fourier pairs of the seasonal term (0 = no season). Capped at ``(ppy - 1) // 2`` (5 for
        months, 1 for quarters, 0 for annual series: no season).
    windows : int
        The test looks at the windows of the last 1..windows periods.
    reweight_threshold : float
        Anscombe residuals above it are down-weighted (past outbreaks).
    reweight_rounds : int
        Rounds of down-weighting and refitting. 1 is farringtonFlexible's single round; in it the
        first fit's dispersion, inflated by the outbreaks themselves, shrinks their Anscombe
        residuals so that moderate ones are not down-weighted (masking). Each further round
        recomputes the weights from the previous round's mean and dispersion (default 3: on the
        detection benchmark's outbreak-laden series the dispersion is then overestimated by about
        10% instead of 30%; BENCHMARKS.md).
    trend_guard : bool
        Drop the trend when its prediction at t exceeds the baseline's largest count (as
        farringtonFlexible). Off by default: on a series with a steady rise the prediction at t
        exceeds every past count by construction once the noise is small (large counts), and the
        flat model that replaces it is biased low by the growth of half the baseline; on the
        calibration series that made in-control alerts 3 times as frequent on trending series
        with more than 100 a month (1.6% against 0.5%), and on the detection benchmark the guard
        cost 2 points of detection at a lower false-alarm rate (BENCHMARKS.md).
    """

    years: int = 7
    min_years: int = 3
    exclude_recent_months: int = 6
    harmonics: int = 1
    windows: int = 3
    reweight_threshold: float = 2.58
    reweight_rounds: int = 3
    trend_guard: bool = False

    def __post_init__(self):
        for name in ("years", "min_years", "exclude_recent_months", "harmonics", "windows", "reweight_rounds"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"GLRSettings.{name} must be an integer, not {value!r}")
        if not 1 <= self.min_years <= self.years:
            raise ValueError(f"GLRSettings: min_years must be between 1 and years ({self.years}), "
                             f"not {self.min_years}")
        if self.exclude_recent_months < 0:
            raise ValueError("GLRSettings.exclude_recent_months must be >= 0")
        if self.harmonics < 0:
            raise ValueError("GLRSettings.harmonics must be >= 0 (0 = no season)")
        if not 1 <= self.windows <= 12:
            raise ValueError("GLRSettings.windows must be between 1 and 12")
        if not 1 <= self.reweight_rounds <= 10:
            raise ValueError("GLRSettings.reweight_rounds must be between 1 and 10")
        if not (math.isfinite(self.reweight_threshold) and self.reweight_threshold > 0):
            raise ValueError("GLRSettings.reweight_threshold must be a positive number")


# ----------------------------------------------------------------------------------- baseline


def _columns(windows: int) -> list[str]:
    cols = ["observed", "expected", "dispersion", "n_baseline"]
    cols += [f"observed_{k}" for k in range(2, windows + 1)]
    cols += [f"expected_{k}" for k in range(2, windows + 1)]
    return [*cols, "trend"]


def _design(lag: np.ndarray, phase: np.ndarray, ppy: int, harmonics: int, trend: bool) -> np.ndarray:
    """Columns: 1, (s - t)/ppy (if trend), cos/sin pairs of the calendar phase of s."""
    cols = [np.ones(len(lag))]
    if trend:
        cols.append(-lag / ppy)
    for h in range(1, harmonics + 1):
        angle = 2 * np.pi * h * phase / ppy
        cols += [np.cos(angle), np.sin(angle)]
    return np.column_stack(cols)


def _fit_numpy(X: np.ndarray, y: np.ndarray, threshold: float, rounds: int) -> ReweightedFit | None:
    """The reweighted quasi-Poisson fit (no covariance), or None when the first IRLS does not converge.

    One round is :func:`monitoring.statistics.glm_fit.fit_reweighted` (R-golden-tested); each further round
    recomputes the Anscombe weights with the previous round's mean and dispersion and refits.
    """
    fit = glm_fit.fit_reweighted(X, y, threshold, smooth=True)
    if fit is None:
        return None
    beta, _cov, phi = fit
    n, k = X.shape
    for _ in range(rounds - 1):
        mu = np.exp(X @ beta)
        weights = anscombe_weights(y, mu, X, phi, threshold, smooth=True)
        beta, mu, _ = _irls(X, y, weights)
        phi = max(float(np.sum(weights * (y - mu) ** 2 / mu)) / (n - k), 1.0)
    return ReweightedFit(beta, None, phi)


def _fit_statsmodels(X: np.ndarray, y: np.ndarray, threshold: float, rounds: int) -> ReweightedFit | None:
    """The same fits with statsmodels ``GLM(family=Poisson()).fit(scale="X2")`` (the benchmark's reference)."""
    import statsmodels.api as sm

    family = sm.families.Poisson()
    fit = sm.GLM(y, X, family=family).fit(scale="X2")
    if not fit.converged:
        return None
    for _ in range(rounds):
        weights = anscombe_weights(y, fit.mu, X, max(fit.scale, 1.0), threshold, smooth=True)
        fit = sm.GLM(y, X, family=family, var_weights=weights).fit(scale="X2")
    return ReweightedFit(fit.params, None, max(fit.scale, 1.0))


_FITTERS = {"numpy": _fit_numpy, "statsmodels": _fit_statsmodels}


def _fit_period(values, phases, pos, lags, pred_lags, ppy, harmonics, settings, fitter):
    """(mu predicted at lags 0..windows-1, phi, n, trend kept) for the period at position pos."""
    y = values[pos - lags]
    keep = ~np.isnan(y)
    y, lag = y[keep], lags[keep]
    n = len(y)
    phase = phases[pos - lag]
    pred_phase = phases[pos - pred_lags]

    def fit(X, counts):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return fitter(X, counts, settings.reweight_threshold, settings.reweight_rounds)

    def predict(result: ReweightedFit, trend: bool):
        eta = _design(pred_lags.astype(float), pred_phase, ppy, harmonics, trend) @ result.beta
        if not np.all(np.isfinite(eta)) or not math.isfinite(result.phi) or eta[0] > 700:
            return None
        return np.exp(eta)

    chosen = fit_trend_or_flat(lambda trend: _design(lag, phase, ppy, harmonics, trend), y, fit, predict,
                               trend_guard=settings.trend_guard,
                               errors=(np.linalg.LinAlgError, ValueError, FloatingPointError))
    if chosen is None:
        return None, math.nan, n, False
    return chosen.prediction, chosen.phi, n, chosen.trend


def glr_baseline(series: pd.Series, settings: GLRSettings = GLRSettings(), *,
                 score_from: pd.Period | None = None, engine: str = "numpy") -> pd.DataFrame:
    """Expected values of the last 1..windows periods for every scored period, from a past-only fit.

    Parameters
    ----------
    series : Series
        Counts with a monthly, quarterly or annual PeriodIndex; NaN = missing (gaps allowed).
    settings : GLRSettings
        Baseline years, exclusion, harmonics, windows, reweighting, trend guard.
    score_from : Period, optional
        Score only periods from this one on (incremental scans).
    engine : {'numpy', 'statsmodels'}
        The GLM fitter: the project's numpy IRLS (default), or statsmodels'
        ``GLM(family=Poisson()).fit(scale="X2")`` (same fit, slower; the benchmark's reference).

    Returns
    -------
    DataFrame indexed by period: every regular period with at least ``min_years`` years of
    history before it (and ``>= score_from``), with columns

    - ``observed``: the value at t;
    - ``expected``: mu_t of the fit made for t (NaN when unfittable);
    - ``dispersion``: phi >= 1; ``n_baseline``: counts fitted;
    - ``observed_k`` (k = 2..windows): the sum of the observed values of the k periods ending at t
      (NaN if any is missing);
    - ``expected_k``: the sum of the fitted means of the same periods, predicted by the same fit
      made for t;
    - ``trend``: whether the trend was kept.

    Notes
    -----
    For t at position p the baseline holds positions ``p - lag`` for
    ``lag = exclude + 1 .. min(ppy * years, p)`` (every earlier period up to ``years`` years: the
    window of a young series grows period by period, so its fits change gradually rather than by a
    whole year each January) and ``exclude = ceil(exclude_recent_months * ppy / 12)``. The model is
    ``log mu_s = b0 + b1 (s - t)/ppy + sum_h a_h cos(2 pi h phase_s/ppy) + c_h sin(...)``, with
    ``phase_s`` the calendar position of s in its year; ``Var Y_s = phi mu_s``. The first fit is
    Poisson IRLS; residuals with Anscombe values above ``reweight_threshold`` are down-weighted
    and the model refitted (:func:`monitoring.statistics.glm_fit.fit_reweighted`), ``reweight_rounds``
    times, each round's weights from the previous round's mean and dispersion. When the fit with
    trend fails, or (with ``trend_guard``) its prediction at t exceeds the largest baseline count,
    the model is refitted without trend; when that fails too, expected is NaN. The value at t
    (and after it) never enters t's fit.
    """
    fitter = _FITTERS.get(engine)
    if fitter is None:
        raise ValueError(f"engine must be 'numpy' or 'statsmodels', not {engine!r}")
    values_s = regular(series)
    columns = _columns(settings.windows)
    if values_s.empty:
        return pd.DataFrame(columns=columns, index=values_s.index, dtype=float)
    ppy = periods_per_year(values_s.index)
    harmonics = min(settings.harmonics, (ppy - 1) // 2)
    exclude = math.ceil(settings.exclude_recent_months * ppy / 12)
    values = values_s.to_numpy()
    phases = (values_s.index.asi8 % ppy).astype(float)  # ordinal: months/quarters since 1970
    positions = np.arange(ppy * settings.min_years, len(values))
    if score_from is not None and len(positions):
        positions = positions[values_s.index[positions] >= score_from]
    index = values_s.index[positions]
    W = settings.windows
    pred_lags = np.arange(W)
    mus = np.full((len(positions), W), np.nan)
    phi = np.full(len(positions), np.nan)
    n_base = np.zeros(len(positions))
    trend = np.zeros(len(positions), dtype=bool)
    for i, pos in enumerate(positions):
        # all the history up to `years` years: a window growing by one period a period (not by a
        # year every January, which made the expected value jump there)
        lags = np.arange(exclude + 1, min(ppy * settings.years, pos) + 1)
        mu, phi[i], n_base[i], trend[i] = _fit_period(values, phases, pos, lags, pred_lags, ppy,
                                                      harmonics, settings, fitter)
        if mu is not None:
            mus[i] = mu
    out = pd.DataFrame(index=index)
    out["observed"] = values[positions]
    out["expected"] = mus[:, 0]
    out["dispersion"] = phi
    out["n_baseline"] = n_base
    # observed window sums: a rolling sum over the regular series, NaN if any value is missing
    rolled = {k: pd.Series(values).rolling(k, min_periods=k).sum().to_numpy() for k in range(2, W + 1)}
    for k in range(2, W + 1):
        out[f"observed_{k}"] = rolled[k][positions] if len(positions) else []
    cum = np.cumsum(mus, axis=1)
    for k in range(2, W + 1):
        out[f"expected_{k}"] = cum[:, k - 1]
    out["trend"] = trend
    return out[columns]


# ------------------------------------------------------------------------------------ the test


def _check_lr_direction(direction: str) -> None:
    if direction not in LR_DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(LR_DIRECTIONS)}, not {direction!r}")


def _align(observed, expected, dispersion) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Broadcast, appending axes to the right of lower-dimensional inputs (phi per row, windows in columns)."""
    arrays = [np.asarray(v, dtype=float) for v in (observed, expected, dispersion)]
    ndim = max(a.ndim for a in arrays)
    arrays = [a.reshape(a.shape + (1,) * (ndim - a.ndim)) for a in arrays]
    return tuple(np.broadcast_arrays(*arrays))


def window_lr(observed: np.ndarray, expected: np.ndarray, dispersion: np.ndarray, direction: str) -> np.ndarray:
    """Quasi-Poisson log-likelihood ratio of a multiplicative change of a window's mean.

    Parameters
    ----------
    observed : array-like
        Y, the observed sums of the windows (any shape; e.g. (n, windows)).
    expected : array-like
        M, the expected sums of the same windows.
    dispersion : array-like
        phi (>= 1); an input with fewer dimensions is aligned on the leading axes (one phi per
        row for windows in columns).
    direction : {'up', 'down', 'both'}
        The bad direction.

    Returns
    -------
    ndarray of ``(Y log(Y/M) - (Y - M)) / phi`` where the change is in the bad direction
    (``Y > M`` for 'up', ``Y < M`` for 'down', either for 'both'), 0 otherwise; NaN where an input
    is missing. ``0 log 0 = 0``; ``M = 0 < Y`` gives ``inf``.

    Notes
    -----
    With ``Y ~ quasi-Poisson(lambda M, phi)``, the maximum over lambda of the log-likelihood ratio
    against lambda = 1 is attained at ``lambda = Y/M``; it is ``[Y log(Y/M) - (Y - M)] / phi``.
    """
    _check_lr_direction(direction)
    y, m, phi = _align(observed, expected, dispersion)
    with np.errstate(divide="ignore", invalid="ignore"):
        ylog = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / m), 0.0)
        lr = (ylog - (y - m)) / phi
    lr = np.where((m == 0) & (y > 0), np.inf, lr)
    lr = np.where((m == 0) & (y == 0), 0.0, lr)
    if direction == "up":
        lr = np.where(y > m, lr, 0.0)
    elif direction == "down":
        lr = np.where(y < m, lr, 0.0)
    else:
        lr = np.where(y != m, lr, 0.0)
    lr = np.maximum(lr, 0.0)  # rounding near Y = M
    missing = np.isnan(y) | np.isnan(m) | np.isnan(phi) | (m < 0)
    return np.where(missing, np.nan, lr)


def window_bound(expected: np.ndarray, dispersion: np.ndarray, threshold: float, direction: str) -> np.ndarray:
    """The window sum at which :func:`window_lr` equals ``threshold``: the band an alarm is tested against.

    Parameters
    ----------
    expected, dispersion : array-like
        M and phi (aligned as in :func:`window_lr`).
    threshold : float
        The statistic threshold c (e.g. ``glr_threshold(alert_alpha)``).
    direction : {'up', 'down'}
        'up': the sum above M; 'down': the sum below M (call both for a two-sided band).

    Returns
    -------
    ndarray of Y with ``window_lr(Y, M, phi) = c``. For 'down', NaN where even ``Y = 0`` does not
    reach c (``M / phi < c``: no fall can alarm); for 'up' with ``M = 0``, 0. NaN where an input is
    missing.

    Notes
    -----
    With ``u = Y / M`` the equation is ``g(u) = u log u - u + 1 = r = c phi / M``; g is convex,
    with ``g'(u) = log u``, and monotone on each side of u = 1. Newton's method from a start on
    the far side of the root converges monotonically: for 'up' from ``u = 1 + sqrt(2r) + r``
    (``g(1 + d) < d^2 / 2``, so the root is nearer to 1), for 'down' from ``u = 1 - sqrt(2r)``
    (``g(1 - d) > d^2 / 2``), floored at a tiny positive u; it stops once no step moves u (at most 30).
    """
    if direction not in ("up", "down"):
        raise ValueError("window_bound: direction must be 'up' or 'down' (call both for 'both')")
    _, m, phi = _align(np.nan, expected, dispersion)
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = float(threshold) * phi / m
    ok = np.isfinite(r) & (r > 0)
    rr = np.where(ok, r, 1.0)
    if direction == "up":
        u = 1 + np.sqrt(2 * rr) + rr
    else:
        u = np.maximum(1 - np.sqrt(2 * np.minimum(rr, 0.5)), 1e-12)
    for _ in range(30):
        log_u = np.log(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.nan_to_num((u * log_u - u + 1 - rr) / log_u)
        u = u - step
        if direction == "down":
            u = np.clip(u, 1e-300, 1.0)
        if not np.any(np.abs(step) > 1e-13 * u):  # converged everywhere (quadratically: a few steps)
            break
    u = np.where(ok, u, 1.0)
    lo = hi = u
    out = m * 0.5 * (lo + hi)
    if direction == "up":
        out = np.where(m == 0, 0.0, out)
    else:
        out = np.where((r > 1) | (m == 0), np.nan, out)
    bad = np.isnan(m) | np.isnan(phi) | (m < 0) | (phi <= 0)
    return np.where(bad, np.nan, out)


# ------------------------------------------------------------------------------- calibration

# In-control tail probabilities of the statistic max_k LR_k (k = 1..3, 'up') as the product's rule
# tests it (count guard, observed above expected, the reset of glr_codes), estimated by
# ``python -m benchmarks.calibration --series 8000 --seed 7919`` on 192,000 in-control simulated
# months (mean 1..1000, phi 1..5, with and without trend, season and past outbreaks; a seed the
# detection benchmark does not use) for the DEFAULT GLRSettings and the smooth Anscombe weights
# (other settings change the law: recalibrate), multiplied by a margin of 1.25 so that alpha = 0.01 gives 0.80% on the calibration
# set (benchmarks/results/calibration.md). Pairs (statistic, probability); interpolated
# log-linearly, extrapolated beyond the last pair with the last slope.
CALIBRATION = (
    (0, 1),
    (0.5, 0.173984),
    (1, 0.0976432),
    (1.5, 0.0598112),
    (2, 0.0382943),
    (2.5, 0.0251497),
    (3, 0.0170638),
    (3.5, 0.0116276),
    (4, 0.00823568),
    (4.5, 0.0058724),
    (5, 0.00422526),
    (5.5, 0.00305339),
    (6, 0.00220052),
    (7, 0.00121094),
    (8, 0.000742188),
    (9, 0.000429687),
    (10, 0.000273438),
)
_STAT = np.array([s for s, _ in CALIBRATION])
_LOGP = np.log(np.array([p for _, p in CALIBRATION]))
_TAIL_SLOPE = (_LOGP[-1] - _LOGP[-2]) / (_STAT[-1] - _STAT[-2])


def glr_p_value(statistic) -> np.ndarray:
    """Calibrated in-control probability that the statistic ``max_k LR_k`` reaches this value.

    Parameters
    ----------
    statistic : array-like
        Values of the statistic (>= 0).

    Returns
    -------
    ndarray of tail probabilities: 1 at 0, strictly decreasing, log-linear between the pairs of
    :data:`CALIBRATION` and beyond them; NaN where the statistic is missing.
    """
    s = np.asarray(statistic, dtype=float)
    logp = np.interp(s, _STAT, _LOGP)
    logp = np.where(s > _STAT[-1], _LOGP[-1] + _TAIL_SLOPE * (s - _STAT[-1]), logp)
    with np.errstate(over="ignore"):
        p = np.exp(logp)
    p = np.where(s <= 0, 1.0, p)
    return np.where(np.isnan(s), np.nan, p)


def glr_threshold(alpha: float) -> float:
    """The statistic whose :func:`glr_p_value` is ``alpha`` (smaller alpha -> larger threshold).

    Parameters
    ----------
    alpha : float
        A tail probability in (0, 1].

    Returns
    -------
    float, 0 for ``alpha = 1``.
    """
    alpha = float(alpha)
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], not {alpha!r}")
    la = math.log(alpha)
    if la < _LOGP[-1]:
        return float(_STAT[-1] + (la - _LOGP[-1]) / _TAIL_SLOPE)
    return float(np.interp(-la, -_LOGP, _STAT))


# ----------------------------------------------------------------------------- codes and reset


def glr_codes(lr: np.ndarray, new_series: np.ndarray, thresholds: tuple[float, ...]
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Threshold codes of consecutive periods, with the windows reset after an alarm.

    Parameters
    ----------
    lr : ndarray, shape (n, windows)
        :func:`window_lr` of the windows of 1..windows periods ending at each of n consecutive
        periods (rows of several series stacked; NaN = window not available).
    new_series : ndarray of bool, shape (n,)
        True at each series' first row (windows never reach before it).
    thresholds : tuple of float
        Increasing statistic thresholds, e.g. ``(glr_threshold(watch_alpha),
        glr_threshold(alert_alpha))``.

    Returns
    -------
    (code, window, statistic)
        ``code[i]``: the number of thresholds reached (0..len(thresholds)); ``window[i]``: the
        window length (1..windows) whose LR is the statistic (0 when none is available);
        ``statistic[i]``: the largest LR among the windows allowed at i (NaN when none is).

    Notes
    -----
    Reset, per threshold: for threshold j a window at i may not include a period at which code
    was ``>= j`` earlier (threshold j or a higher one reached), so one spike alarms once, while a
    sustained change keeps alarming on the shorter windows after it. Threshold j is reached at i
    when the largest LR among the windows allowed for j is at least ``c_j``. Windows allowed for a
    higher threshold include those allowed for a lower one, so the codes are nested. The reported
    statistic is the maximum over the windows allowed for the first threshold *not* reached (the
    highest one when all are): then ``c_code <= statistic < c_(code+1)``, so
    ``glr_p_value(statistic)`` gives back the code.

    Vectorised: the reset can only change the rows that reach the lowest threshold without it and
    the ``windows - 1`` rows after them. On those rows the causal recursion is solved by fixed-point
    iteration (each pass recomputes every such row from the previous pass's codes); a pass that
    changes nothing is the recursion's unique solution, reached after at most as many passes as the
    longest run of alarms spaced less than ``windows`` apart.
    """
    lr = np.asarray(lr, dtype=float)
    if lr.ndim == 1:
        lr = lr[:, None]
    n, W = lr.shape
    c = np.asarray(thresholds, dtype=float)
    if c.ndim != 1 or len(c) == 0 or np.any(np.diff(c) <= 0):
        raise ValueError("thresholds must be a non-empty increasing sequence")
    J = len(c)
    new = np.asarray(new_series, dtype=bool).copy()
    if new.shape != (n,):
        raise ValueError("new_series must have one entry per row of lr")
    if n:
        new[0] = True
    starts = np.flatnonzero(new)
    since = np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))  # rows since the series' first
    # prefix maxima over the windows 1..k (rows of best) and the window where each is attained
    best = lr.T.copy()  # contiguous windows
    best[np.isnan(best)] = -np.inf
    arg = np.zeros((W, n), dtype=np.int8)
    for k in range(1, W):
        col = best[k]
        col[since < k] = -np.inf  # the window would reach before the series' first row
        up = col > best[k - 1]
        np.maximum(col, best[k - 1], out=col)
        arg[k] = arg[k - 1]
        arg[k][up] = k
    top = best[W - 1]
    code = np.zeros(n, dtype=np.int64)
    for cj in c:
        code += top >= cj
    statistic, window = top.copy(), arg[W - 1].astype(np.int64)
    hit = np.flatnonzero(code)
    if W > 1 and len(hit):
        mark = np.zeros(n + W, dtype=bool)
        for d in range(W):
            mark[hit + d] = True
        rows = np.flatnonzero(mark[:n])
        kmax = _reset(best, since, rows, c, code, W, J)
        pick = kmax[np.minimum(code[rows], J - 1), np.arange(len(rows))] - 1
        statistic[rows] = best[pick, rows]
        window[rows] = arg[pick, rows]
    window = np.where(statistic > -np.inf, window + 1, 0)
    statistic[statistic == -np.inf] = np.nan
    return code.astype(int), window.astype(int), statistic


def _reset(best, since, rows, c, code, W, J) -> np.ndarray:
    """Solve the reset recursion at ``rows`` in place in ``code``; return the allowed windows (J, rows)."""
    gaps = [(d, rows - d, since[rows] >= d) for d in range(W - 1, 0, -1)]
    kmax = np.full((J, len(rows)), W)
    for _ in range(len(rows) + 1):
        kmax[:] = W
        for d, prev, ok in gaps:  # the nearest alarmed row wins (smallest d last)
            prev_code = np.where(ok, code[np.maximum(prev, 0)], 0)
            for j in range(J):
                kmax[j] = np.where(prev_code >= j + 1, d, kmax[j])
        stats_j = best[kmax - 1, rows[None, :]]  # (J, rows)
        reached = np.zeros(len(rows), dtype=int)
        for j in range(J):
            reached = np.where(stats_j[j] >= c[j], j + 1, reached)
        if np.array_equal(reached, code[rows]):
            break
        code[rows] = reached
    return kmax
