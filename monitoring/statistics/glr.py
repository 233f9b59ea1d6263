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
   of the last 1, 2 and 3 periods, all predicted by the fit made for t, and
3. the statistic ``max_k LR_k``, with the windows restricted after an alarm so that one spike does
   not alarm three periods running, turned into a calibrated in-control tail probability: both in
   :mod:`monitoring.statistics.likelihood_ratio` (:func:`~monitoring.statistics.likelihood_ratio.window_lr`,
   :func:`~monitoring.statistics.likelihood_ratio.glr_codes`,
   :func:`~monitoring.statistics.likelihood_ratio.glr_p_value`).

Pure numpy/pandas/scipy: no store, no Streamlit. The levels' own rules (alert/watch alphas, the
count guard, "no rise alarm at or below expected") are the one alarm rule's
(``monitoring.statistics.alarm``); ``benchmarks.detection.glr_levels`` still applies its own copy of
the rise guard for the benchmark.
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


def _fit_all(values, phases, positions, exclude, ppy, harmonics, settings, fitter):
    """(mu of the windows' periods (positions, windows), phi, n, trend kept) of each scored period's fit."""
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
    return mus, phi, n_base, trend


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
    mus, phi, n_base, trend = _fit_all(values, phases, positions, exclude, ppy, harmonics, settings, fitter)
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
