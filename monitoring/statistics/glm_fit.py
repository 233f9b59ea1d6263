"""The quasi-Poisson GLM fit every baseline shares: IRLS, Farrington's down-weighting, the trend choice.

A fit is split, as statsmodels splits a model from its results, into the fitting functions here
and the results objects they return: :class:`ReweightedFit` (coefficients, unscaled covariance,
dispersion) and :class:`TrendFit` (that fit, whether the trend was kept, and the prediction the
trend guard looked at). :func:`fit_trend_or_flat` is the one "try with the trend, else drop it"
loop of the seasonal GLM (:mod:`monitoring.statistics.baselines`), the likelihood-ratio test's
baseline (:mod:`monitoring.statistics.glr`) and the visa-free impact
(:mod:`monitoring.statistics.impact`). tests/test_glm_statsmodels.py holds the IRLS, the
quasi-Poisson dispersion and the weighted refit equal to statsmodels'
``GLM(family=Poisson()).fit(scale="X2")``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np


class ReweightedFit(NamedTuple):
    """Results of :func:`fit_reweighted`: ``beta``, the unscaled covariance ``(X'WX)^-1`` and phi >= 1."""

    beta: np.ndarray
    cov: np.ndarray | None
    phi: float


@dataclass(frozen=True)
class TrendFit:
    """Results of :func:`fit_trend_or_flat`: the fit, whether its design has the trend, and its prediction."""

    fit: ReweightedFit
    trend: bool
    prediction: np.ndarray  # what ``predict`` returned; its first value is the one the trend guard tests

    @property
    def beta(self) -> np.ndarray:
        return self.fit.beta

    @property
    def cov(self) -> np.ndarray | None:
        return self.fit.cov

    @property
    def phi(self) -> float:
        return self.fit.phi


def _irls(X: np.ndarray, y: np.ndarray, w: np.ndarray, maxit: int = 25, eps: float = 1e-8):
    """Poisson log-link IRLS as R's glm.fit (start mu = y + 0.1; deviance criterion)."""
    mu = y + 0.1
    eta = np.log(mu)
    ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)), 0.0)
    dev_old = 2 * np.sum(w * (ylogy - y * eta - (y - mu)))
    converged = False
    for _ in range(maxit):
        z = eta + (y - mu) / mu
        wx = X * (w * mu)[:, None]
        beta = np.linalg.solve(wx.T @ X, wx.T @ z)
        eta = X @ beta
        mu = np.exp(eta)
        dev = 2 * np.sum(w * (ylogy - y * eta - (y - mu)))
        if not np.isfinite(dev):
            break
        if abs(dev - dev_old) / (abs(dev) + 0.1) < eps:
            converged = True
            break
        dev_old = dev
    return beta, mu, converged


def fit_reweighted(X: np.ndarray, y: np.ndarray, threshold: float, *, smooth: bool = False):
    """Quasi-Poisson fit, Anscombe down-weighting of outliers, refit (algo.farrington.fitGLM.flexible;
    ``smooth``: the continuous weights of :func:`anscombe_weights`).

    Returns a :class:`ReweightedFit` (beta, unscaled covariance, phi), or None when the first fit
    does not converge.
    """
    n, k = X.shape
    ones = np.ones(n)
    beta, mu, converged = _irls(X, y, ones)
    if not converged:
        return None
    phi = max(np.sum((y - mu) ** 2 / mu) / (n - k), 1.0)
    weights = anscombe_weights(y, mu, X, phi, threshold, smooth=smooth)
    beta, mu, _ = _irls(X, y, weights)
    wx = X * (weights * mu)[:, None]
    cov = np.linalg.inv(wx.T @ X)
    phi = max(np.sum(weights * (y - mu) ** 2 / mu) / (n - k), 1.0)
    return ReweightedFit(beta, cov, phi)


def anscombe_weights(y: np.ndarray, mu: np.ndarray, X: np.ndarray, phi: float, threshold: float, *,
                     smooth: bool = False) -> np.ndarray:
    """Farrington's weights from scaled Anscombe residuals of a Poisson-log fit.

    Parameters
    ----------
    y, mu : ndarray
        Counts and fitted means.
    X : ndarray
        Design matrix (for the hat values).
    phi : float
        Dispersion (>= 1).
    threshold : float
        Residuals above it are down-weighted.
    smooth : bool
        False: Farrington's step, ``s^-2`` above the threshold and 1 below (a residual crossing the
        threshold loses 85% of its weight at once, so a baseline fitted month after month notches
        when one past count crosses it). True: ``(threshold / s)^2`` above it, continuous at the
        threshold (Huber's form), as the GLR baseline uses.

    Returns
    -------
    ndarray of weights omega.

    Notes
    -----
    ``s_i = 3/2 (y_i^(2/3) mu_i^(-1/6) - mu_i^(1/2)) / sqrt(phi (1 - h_ii))`` with ``h_ii`` the
    diagonal of ``W^(1/2) X (X'WX)^(-1) X' W^(1/2)``, ``W = diag(mu)``;
    ``omega_i = gamma s_i^(-2)`` when ``s_i > threshold``, else ``gamma``, where
    ``gamma = n / sum_i (s_i^(-2) if s_i > threshold else 1)`` makes the weights sum to n
    (surveillance's ``anscombe.residuals`` and ``algo.farrington.assign.weights``).
    """
    wx = X * mu[:, None]
    hat = np.einsum("ij,jk,ik->i", wx, np.linalg.inv(wx.T @ X), X)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = 1.5 * (y ** (2 / 3) * mu ** (-1 / 6) - np.sqrt(mu)) / np.sqrt(phi * np.maximum(1 - hat, 1e-12))
    s = np.nan_to_num(s, nan=0.0)
    high = s > threshold
    inv2 = np.where(high, (threshold if smooth else 1.0) ** 2 / np.where(high, s, 1.0) ** 2, 1.0)
    return len(s) / inv2.sum() * inv2


def reweighted(threshold: float, *, smooth: bool = False) -> Callable[[np.ndarray, np.ndarray], ReweightedFit | None]:
    """``fit(X, y)`` for :func:`fit_trend_or_flat`: :func:`fit_reweighted` at this threshold (looked up
    here at each call, so that every fit goes through this module's :func:`fit_reweighted`)."""
    return lambda X, y: fit_reweighted(X, y, threshold, smooth=smooth)


def fit_trend_or_flat(design: Callable[[bool], np.ndarray], y: np.ndarray,
                      fit: Callable[[np.ndarray, np.ndarray], ReweightedFit | None],
                      predict: Callable[[ReweightedFit, bool], np.ndarray | None], *, trend_guard: bool,
                      errors: tuple[type[Exception], ...] = (np.linalg.LinAlgError,)) -> TrendFit | None:
    """The model with its trend if it can be used, else without it (farringtonFlexible's choice).

    Parameters
    ----------
    design : callable
        ``design(trend)``: the design matrix of the counts ``y`` with or without the trend column.
    y : ndarray
        The counts fitted.
    fit : callable
        ``fit(X, y)``: a :class:`ReweightedFit`, or None when it does not converge.
    predict : callable
        ``predict(fit, trend)``: the predicted means the caller needs (its first value at the
        reference period), or None when they are unusable (then the flat model is tried).
    trend_guard : bool
        Drop the trend when its prediction at the reference period exceeds the largest count of ``y``,
        so a trend never extrapolates beyond the data.
    errors : tuple of exception types
        Failures of ``fit`` that mean "this model cannot be fitted" (then the next is tried).

    Returns
    -------
    :class:`TrendFit` of the first usable model, trend first; None when neither is (too few counts
    for the design, no convergence, a listed error, an unusable prediction).
    """
    for trend in (True, False):
        X = design(trend)
        if len(y) <= X.shape[1]:
            continue
        try:
            result = fit(X, y)
        except errors:
            continue
        if result is None:
            continue
        prediction = predict(result, trend)
        if prediction is None:
            continue
        prediction = np.atleast_1d(np.asarray(prediction, dtype=float))
        if trend and trend_guard and prediction[0] > y.max():
            continue
        return TrendFit(result, trend, prediction)
    return None
