"""The likelihood-ratio test of the last 1..3 periods against the GLR channel's baseline.

The test's half of the default anomaly channel (the baseline is :mod:`monitoring.statistics.glr`):
the quasi-Poisson log-likelihood ratio of a multiplicative change of a window's mean
(:func:`window_lr`) and the window total at which it reaches a threshold (:func:`window_bound`);
the calibrated in-control tail probability of ``max_k LR_k`` (:func:`glr_p_value`, a table
estimated by simulation in ``benchmarks/calibration.py``, results in
``benchmarks/results/calibration.md``); the threshold codes of consecutive periods with the
windows reset after an alarm (:func:`glr_codes`). The level it raises is the one alarm rule's
(:mod:`monitoring.statistics.alarm`).
"""

from __future__ import annotations

import math

import numpy as np

LR_DIRECTIONS = ("up", "down", "both")


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
    best, arg = _prefix_maxima(lr, since)
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


def _prefix_maxima(lr: np.ndarray, since: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(best, arg), shape (windows, n): the largest LR over the windows 1..k (row k - 1) and the window
    where it is attained; a window reaching before the series' first row is not available."""
    n, W = lr.shape
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
    return best, arg


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
