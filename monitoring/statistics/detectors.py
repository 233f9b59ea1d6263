"""Second-line detectors: EARS C1-C3 for short series, a negative-binomial CUSUM for sustained
shifts, and a robust-STL residual as a second opinion. All return the common shape of
:mod:`monitoring.statistics.channels` and use past data only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.tsa.seasonal import STL

from monitoring.statistics.channels import check_direction, empty_result, nb_sizes, periods_per_year, regular

# Decision interval of the CUSUM (log-likelihood-ratio units, nats). Simulated with known
# in-control parameters (seed 1, 400 runs each), the pair of CUSUMs (x1.3, x1.5) first crosses 5
# after on average 550-900 months (mean 5-100, phi 1-3; longer at mean 500); a sustained x1.5
# shift is flagged within 3 months in 69% of runs at mean 20 (27% with phi 2) and 87-100% at
# mean 100. h = 4 halves the in-control run length, h = 6 doubles it.
CUSUM_H = 5.0
# The normal-consistency constant of the STL scale, as R's mad(): 1.4826 (scipy's scale="normal" is
# 1 / Phi^-1(3/4) = 1.482602218..., which would move the stored STL bounds in the 6th digit).
MAD_NORMAL = 1.4826


def _two_sided(up: np.ndarray, down: np.ndarray, direction: str) -> np.ndarray:
    if direction == "up":
        return up
    if direction == "down":
        return down
    return np.minimum(1.0, 2 * np.minimum(up, down))


# ------------------------------------------------------------------------------------- EARS


def ears(series: pd.Series, method: str = "C1", *, alpha: float = 0.05, baseline: int = 7, guard: int = 2,
         direction: str = "up", min_sigma: float = 0.0) -> pd.DataFrame:
    """EARS C1, C2 or C3 (R ``surveillance::earsC``) for series too short for the GLM.

    Parameters
    ----------
    series : Series
        Counts with a PeriodIndex; NaN = missing.
    method : {'C1', 'C2', 'C3'}
        C1: the ``baseline`` periods just before t; C2 and C3: the ``baseline`` periods before a
        ``guard`` gap.
    alpha : float
        Threshold ``z = Phi^-1(1 - alpha)`` (``1 - alpha/2`` for 'both').
    baseline, guard : int
        Reference length (>= 3) and gap before t (C2/C3).
    direction : {'up', 'down', 'both'}
        The bad direction.
    min_sigma : float
        Floor of the reference standard deviation (earsC's ``minSigma``).

    Returns
    -------
    DataFrame from the first period with a full reference (C3: two more) with the common columns
    plus ``statistic`` (C1, C2 or C3 in the bad direction; the larger side for 'both').

    Notes
    -----
    ``C_t = (y_t - m_t) / max(s_t, min_sigma)`` with ``m_t, s_t`` the mean and standard deviation
    (ddof 1; at least 3 non-missing values) of the reference; ``C1`` uses ``y_{t-baseline..t-1}``,
    ``C2`` ``y_{t-baseline-guard..t-guard-1}``. ``C3_t = sum_{i=0..2} max(0, C2_{t-i} - 1)``.
    Alarm when the statistic exceeds z. ``expected = m``; C1/C2 bounds ``m -+ z s`` (as earsC);
    the C3 upper bound is the count at which ``C3 = z`` given the two previous periods,
    ``m + s (1 + z - p_1 - p_2)`` with ``p_i = max(0, C2_{t-i} - 1)`` (NaN when ``p_1 + p_2 > z``:
    any count alarms). This follows the C3 definition; earsC's own C3 bound
    ``y + s (z - p_1 - p_2)`` ignores the current period. ``p_value = 1 - Phi(statistic)`` (a
    nominal p-value: alarm exactly when ``p_value < alpha``); ``score = statistic / z``. A zero
    deviation over a zero standard deviation is a statistic of 0.
    """
    check_direction(direction)
    if method not in ("C1", "C2", "C3"):
        raise ValueError(f"method must be C1, C2 or C3, not {method!r}")
    if baseline < 3:
        raise ValueError("baseline must be at least 3")
    values = regular(series)
    y = values.to_numpy()
    lag = 1 if method == "C1" else guard + 1
    ref = values.shift(lag).rolling(baseline, min_periods=3)
    m = ref.mean().to_numpy()
    s = np.maximum(ref.std(ddof=1).to_numpy(), min_sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.where(y == m, 0.0, (y - m) / s)
    z = stats.norm.ppf(1 - (alpha / 2 if direction == "both" else alpha))
    first = baseline + lag - 1
    lower, upper = m - z * s, m + z * s
    if method == "C3":
        first += 2
        part_up = pd.Series(np.maximum(0, c - 1))
        part_down = pd.Series(np.maximum(0, -c - 1))
        lagged_up = (part_up.shift(1) + part_up.shift(2)).to_numpy()
        lagged_down = (part_down.shift(1) + part_down.shift(2)).to_numpy()
        stat_up, stat_down = part_up.to_numpy() + lagged_up, part_down.to_numpy() + lagged_down
        upper = np.where(lagged_up <= z, m + s * (1 + z - lagged_up), np.nan)
        lower = np.where(lagged_down <= z, m - s * (1 + z - lagged_down), np.nan)
    else:
        stat_up, stat_down = c, -c
    p_value = _two_sided(stats.norm.sf(stat_up), stats.norm.sf(stat_down), direction)
    statistic = {"up": stat_up, "down": stat_down}.get(direction, np.fmax(stat_up, stat_down))
    out = empty_result(values.index, ("statistic",))
    out["observed"] = y
    out["expected"] = m
    out["lower"] = np.maximum(lower, 0)
    out["upper"] = upper
    out["statistic"] = statistic
    out["score"] = statistic / z
    out["p_value"] = p_value
    return out.iloc[first:]


# ------------------------------------------------------------------------------- NB CUSUM


def _llr_coefficients(mu: np.ndarray, phi: np.ndarray, k: float) -> tuple[np.ndarray, np.ndarray]:
    """(c, d) with log-likelihood ratio ``c * y + d`` of mean k*mu against mu."""
    r = nb_sizes(mu, phi)
    finite = np.isfinite(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log((r + mu) / (r + k * mu))
        c = np.where(finite, np.log(k) + ratio, np.log(k))
        d = np.where(finite, r * ratio, -(k - 1) * mu)
    return c, np.nan_to_num(d)


def _cusum_path(y, c, d, h: float, clip: float, side: int, bound, best, side_of, start) -> None:
    """One CUSUM's recursion (:func:`nb_cusum`'s notes) with increments ``c y + d``; updates in place the
    bound of its side and, where it is the largest so far, the best statistic, its side and run start."""
    s_prev, run_start = 0.0, -1
    for t in range(len(y)):
        if np.isfinite(y[t]):
            if h - s_prev <= clip:
                b = (h - s_prev - d[t]) / c[t]
                bound[t] = min(bound[t], b) if side == 1 else max(bound[t], b)
            s_new = min(h, max(0.0, s_prev + min(c[t] * y[t] + d[t], clip)))
            if s_new > 0 and s_prev == 0:
                run_start = t
            s_prev = s_new
        if s_prev > best[t]:
            best[t], side_of[t], start[t] = s_prev, side, run_start


def nb_cusum(series: pd.Series, expected: pd.Series, dispersion: float | pd.Series, *,
             shifts: tuple[float, ...] = (1.3, 1.5), h: float = CUSUM_H, direction: str = "up",
             clip: float | None = None) -> pd.DataFrame:
    """Negative-binomial CUSUM for a sustained multiplicative shift against the baseline.

    Parameters
    ----------
    series : Series
        Counts with a PeriodIndex.
    expected : Series
        In-control means (the GLM channel's ``expected``, fitted on past data only).
    dispersion : float or Series
        phi of the GLM channel (``Var Y = phi mu``).
    shifts : tuple of float
        Out-of-control multipliers ``k > 1``; one CUSUM per shift (``1/k`` for falls).
    h : float
        Decision interval (nats); see ``CUSUM_H`` for its run lengths.
    direction : {'up', 'down', 'both'}
        'both' runs the rise and fall CUSUMs.
    clip : float, optional
        Largest increment one period may add (default ``h / 2``: a single spike, the GLM's
        business, cannot raise the alarm alone; at least two periods of evidence are needed).

    Returns
    -------
    DataFrame on ``expected``'s periods with the common columns (``p_value`` NaN) plus
    ``statistic`` (the largest CUSUM in the bad direction), ``side`` (+1 rise, -1 fall) and
    ``shift_start`` (first period of the current run of positive statistic: the period after the
    CUSUM was last at zero, Page's change-point estimate; NaT when the statistic is 0).

    Notes
    -----
    With ``r = mu / (phi - 1)`` (the NB of the GLM channel) and the shifted mean ``k mu`` at the
    same size, the log-likelihood ratio is linear in y:
    ``l_t = y log k + (y + r) log((r + mu) / (r + k mu))``, or ``y log k - (k - 1) mu`` for
    Poisson (phi <= 1). ``S_t = min(h, max(0, S_{t-1} + min(l_t, clip)))``, ``S = 0`` before the
    first period; a missing count or baseline leaves S unchanged. Alarm when ``max_k S_t >= h``.
    Capping S at h (no reset) keeps the alarm on while the evidence of a shift keeps coming and
    ends it at the first period that speaks against it, instead of a long decay after a large
    outbreak. ``upper`` (``lower`` for falls) is the count that would bring the statistic to h:
    ``min_k (h - S_{t-1} - d_k) / c_k`` with ``l = c y + d`` (NaN when the clip makes h
    unreachable this period). ``score = statistic / h``.
    """
    check_direction(direction)
    clip = h / 2 if clip is None else clip
    mu_s = expected.dropna()
    index = mu_s.index
    y = regular(series).reindex(index).to_numpy()
    mu = mu_s.to_numpy(dtype=float)
    phi = (dispersion.reindex(index).to_numpy(dtype=float) if isinstance(dispersion, pd.Series)
           else np.full(len(index), float(dispersion)))
    phi = np.where(np.isnan(phi), 1.0, phi)
    sides = {"up": (1,), "down": (-1,), "both": (1, -1)}[direction]
    best = np.zeros(len(index))
    side_of = np.ones(len(index), dtype=int)
    start = np.full(len(index), -1)
    bound = {1: np.full(len(index), np.inf), -1: np.full(len(index), -np.inf)}
    for side in sides:
        for shift in shifts:
            c, d = _llr_coefficients(mu, phi, shift if side == 1 else 1 / shift)
            _cusum_path(y, c, d, h, clip, side, bound[side], best, side_of, start)
    out = empty_result(index, ("statistic", "side", "shift_start"))
    out["observed"] = y
    out["expected"] = mu
    out["upper"] = np.where(np.isfinite(bound[1]), np.maximum(bound[1], 0), np.nan)
    out["lower"] = np.where(np.isfinite(bound[-1]), np.maximum(bound[-1], 0), np.nan)
    out["statistic"] = best
    out["side"] = side_of
    out["score"] = best / h
    starts = [index[i] if b > 0 else pd.NaT for i, b in zip(start, best, strict=True)]
    out["shift_start"] = pd.PeriodIndex(starts, freq=index.freq)
    return out


# ------------------------------------------------------------------------------------- STL


_TRANSFORMS = {
    "log": (lambda x: np.log1p(x), lambda v: np.expm1(v), lambda mu: np.sqrt(mu) / (mu + 1)),
    "power23": (lambda x: np.power(x, 2 / 3), lambda v: np.power(np.maximum(v, 0), 1.5),
                lambda mu: (2 / 3) * np.power(mu, 1 / 6)),
}


def _stl_forecasts(g: np.ndarray, index: pd.PeriodIndex, starts: range, period: int, fit_years: int,
                   score_from: pd.Period | None) -> tuple[np.ndarray, np.ndarray]:
    """(forecast f, scale) on the transformed scale, one STL fit per block of one seasonal cycle
    (:func:`stl_residual`'s notes); NaN in blocks not scored."""
    f = np.full(len(g), np.nan)
    scale = np.full(len(g), np.nan)
    for start in starts:
        stop = min(start + period, len(g))
        if score_from is not None and index[stop - 1] < score_from:
            continue
        past = pd.Series(g[max(0, start - fit_years * period):start])
        if past.isna().mean() > 0.2:  # too gappy to decompose
            continue
        past = past.interpolate(limit_direction="both")
        fit = STL(past.to_numpy(), period=period, robust=True).fit()
        trend, seasonal = fit.trend, fit.seasonal
        n, steps = len(trend), np.arange(1, stop - start + 1)
        slope = (trend[-1] - trend[-1 - period]) / period
        f[start:stop] = trend[-1] + steps * slope + seasonal[n - period + steps - 1]
        # error of last cycle's seasonal as a forecast: remainder plus the seasonal's yearly drift
        err = fit.resid[period:] + seasonal[period:] - seasonal[:-period]
        scale[start:stop] = MAD_NORMAL * stats.median_abs_deviation(err)
    return f, scale


def stl_residual(series: pd.Series, *, period: int = 12, transform: str = "log", alpha: float = 0.05,
                 direction: str = "up", score_from: pd.Period | None = None, fit_years: int = 6,
                 min_years: int = 3) -> pd.DataFrame:
    """Robust-STL residual of the transformed count against a projection from past data.

    Parameters
    ----------
    series : Series
        Counts with a monthly or quarterly PeriodIndex.
    period : int
        Seasonal period for monthly series; quarterly series use 4.
    transform : {'log', 'power23'}
        ``log(1 + y)`` or ``y^(2/3)``.
    alpha : float
        Bounds at ``z = Phi^-1(1 - alpha)`` (``1 - alpha/2`` for 'both'); alarm when p <= alpha.
    direction : {'up', 'down', 'both'}
        The bad direction.
    score_from : Period, optional
        Score only periods from this one on.
    fit_years, min_years : int
        Years of past data each STL is fitted on; fewer than ``min_years`` years: not scored.

    Returns
    -------
    DataFrame with the common columns plus ``statistic`` (z on the transformed scale).

    Notes
    -----
    Cheap and past-only: the series is scored in blocks of one seasonal cycle (calendar years for
    months). For each block, ``STL(robust=True)`` is fitted once on the ``fit_years`` years
    before it (missing values interpolated) and projected ``j = 1..period`` steps ahead:
    ``f_j = T_n + j (T_n - T_{n-period}) / period + S_{n-period+j}`` (last trend, its average
    slope over the last cycle, last cycle's seasonal). Scale ``s = max(1.4826 MAD(e), s_P(f))``
    with ``e_t = R_t + S_t - S_{t-period}`` the in-sample error of last cycle's seasonal as a
    forecast (remainder plus seasonal drift; trend projection error is not included, so the
    channel is a second opinion) and ``s_P``
    the Poisson standard deviation on the transformed scale (``sqrt(mu)/(1+mu)`` for log,
    ``2/3 mu^(1/6)`` for the 2/3 power) as a floor. ``z = (g(y) - f) / s``, p-value
    ``1 - Phi(z)`` ('down': ``Phi(z)``); bounds ``g^-1(f -+ z_a s)``; ``score = z / z_a``.
    """
    check_direction(direction)
    forward, inverse, poisson_sd = _TRANSFORMS[transform]
    values = regular(series)
    out = empty_result(values.index, ("statistic",))
    if values.empty:
        return out
    ppy = periods_per_year(values.index)
    if ppy != 12:
        period = ppy
    if period < 2:
        raise ValueError("STL needs a seasonal period of at least 2 (not annual series)")
    y = values.to_numpy()
    g = forward(np.maximum(y, 0))
    into_year = values.index[0].month - 1 if ppy == 12 else values.index[0].quarter - 1
    first_block = -into_year % period  # blocks start at the first period of a year
    starts = range(first_block + min_years * period, len(y), period)
    f, scale = _stl_forecasts(g, values.index, starts, period, fit_years, score_from)
    mu = inverse(f)
    s = np.fmax(scale, poisson_sd(np.maximum(mu, 0)))
    z_a = stats.norm.ppf(1 - (alpha / 2 if direction == "both" else alpha))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(g == f, 0.0, (g - f) / s)
    p_value = _two_sided(stats.norm.sf(z), stats.norm.cdf(z), direction)
    out["observed"] = y
    out["expected"] = mu
    out["lower"] = np.maximum(inverse(f - z_a * s), 0)
    out["upper"] = inverse(f + z_a * s)
    out["statistic"] = z
    side = {"up": 1.0, "down": -1.0}.get(direction)
    out["score"] = (np.abs(z) if side is None else side * z) / z_a
    out["p_value"] = p_value
    out = out[np.isfinite(f)]
    return out if score_from is None else out[out.index >= score_from]
