"""The EU suspension criterion (Regulation (EU) 2018/1806, Art. 8), computed as the law computes it.

It is a status (below / above +30% / above +50%, and since when), never an anomaly level: a
criterion crossing is an alert only when a statistical channel also alarms (``monitoring.statistics.levels``).

A "substantial increase" is more than 50% (legacy rule) or more than 30% (2025 revision) over a
two-month period, compared with the same two months of the previous year or with the last two
months before the exemption (November-December 2023 for Kosovo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.statistics.channels import check_direction, empty_result, periods_per_year, regular

CRITERION_CATEGORIES = ("outflow", "return")


def criterion_applies(indicator) -> bool:
    """The criterion watches outflows (asylum, refusals, irregular stays) and returns (readmission);
    it says nothing of leading indicators, rates or context series (a catalogue ``Indicator``), nor
    of annual series: the Regulation compares two-month periods, which annual data cannot show."""
    return (indicator.category in CRITERION_CATEGORIES and indicator.unit != "percent"
            and getattr(indicator, "frequency", "M") != "A")


EXTRA = ("reference", "reference_adjusted", "change_yoy", "change_ref", "change_adjusted", "status_code")


@dataclass(frozen=True)
class VisaRuleSettings:
    """Thresholds of the visa suspension rule.

    Parameters
    ----------
    watch, alert : float
        Relative changes raising watch (30%, the 2025 revision) and alert (50%, the legacy rule);
        for falls the same sizes downwards (-30%, -50%).
    reference : tuple of str
        The months before the exemption the rule compares with (for quarterly or annual series:
        the periods containing them, e.g. 2023-Q4).
    min_count : int
        Low-count guard: a comparison counts only when the two windows compared total at least
        this many (so 2 -> 4 is not "+100%"). Default 100 (windows of about 50): at that size a
        series with no change at all crosses +50% by Poisson noise alone in about 2% of periods
        (the standard deviation of the log ratio of two Poisson(50) sums is 0.2); smaller series
        are left to the statistical channels.
    direction : str or None
        Overrides the ``direction`` argument of :func:`visa_rule` when set.
    """

    watch: float = 0.30
    alert: float = 0.50
    reference: tuple[str, ...] = ("2023-11", "2023-12")
    min_count: int = 100
    direction: str | None = None

    def __post_init__(self):
        if not 0 < self.watch <= self.alert:
            raise ValueError("visa rule thresholds need 0 < watch <= alert")
        if self.direction is not None:
            check_direction(self.direction)


def change_levels(change, guard_ok, watch: float, alert: float, direction: str) -> np.ndarray:
    """Level code 0/1/2 of relative changes: beyond ``watch`` is 1, beyond ``alert`` is 2.

    'up' needs ``change > threshold``, 'down' ``change < -threshold``, 'both' either; NaN changes
    and changes failing the guard are 0. A change equal to the threshold up to 1e-9 (78 / 60 - 1
    is 0.30000000000000004 in floating point) is not more than it.
    """
    change = np.asarray(change, dtype=float)
    watch, alert = watch + 1e-9, alert + 1e-9
    ok = np.asarray(guard_ok, dtype=bool) & ~np.isnan(change)
    rise = np.where(change > alert, 2, np.where(change > watch, 1, 0))
    fall = np.where(change < -alert, 2, np.where(change < -watch, 1, 0))
    code = {"up": rise, "down": fall}.get(direction)
    if code is None:
        code = np.maximum(rise, fall)
    return np.where(ok, code, 0)


def adjusted_change(observed, reference_adjusted) -> np.ndarray:
    """The change against the reference rescaled to the season, ``O_t / (R f_m) - 1``, from the window
    total and the adjusted reference (as :func:`visa_rule` stores them); NaN where not finite."""
    with np.errstate(divide="ignore", invalid="ignore"):
        change = np.asarray(observed, dtype=float) / np.asarray(reference_adjusted, dtype=float) - 1
    return np.where(np.isfinite(change), change, np.nan)


def criterion_code(change_yoy, ok_yoy, change_ref, ok_ref, settings: VisaRuleSettings,
                   direction: str) -> np.ndarray:
    """The criterion's status code 0/1/2: the higher of its two legal comparisons (a year earlier, the
    reference months), each counted only where its guard holds (:func:`change_levels`). The one
    rule of the status, for :func:`visa_rule` and for the stored rows
    (:func:`monitoring.statistics.criterion.criterion_status`)."""
    return np.maximum(change_levels(change_yoy, ok_yoy, settings.watch, settings.alert, direction),
                      change_levels(change_ref, ok_ref, settings.watch, settings.alert, direction))


def _window_sums(values: pd.Series, n: int) -> pd.Series:
    return values.rolling(n, min_periods=n).sum()


def _reference_sum(values: pd.Series, reference: tuple[str, ...]) -> tuple[float, pd.Period]:
    freq = values.index.freq
    months = pd.PeriodIndex([pd.Period(m, freq="M") for m in reference])
    periods = months.asfreq(freq).unique()
    total = values.reindex(periods).sum(min_count=len(periods)) if len(periods) else np.nan
    return float(total), periods.max()


def seasonal_factors(values: pd.Series, reference: tuple[str, ...], n: int, ppy: int, years: int = 5) -> pd.Series:
    """Per calendar period: the pre-exemption ratio of that window's total to the reference window's.

    For each window ending in calendar period m (month or quarter of the year), ``f_m = sum_Y O_{Y,m} /
    sum_Y R_Y`` over the ``years`` years Y before the exemption (the reference's year and the ones
    before it) in which both the window and the reference window are complete; ``R_Y`` is the
    reference window of year Y (Nov-Dec Y). NaN where no year is complete. ``R * f_m`` is the
    reference rescaled to the season of m: what Nov-Dec 2023 "would have been" in that season.
    """
    months = pd.PeriodIndex([pd.Period(m, freq="M") for m in reference])
    ref_periods = months.asfreq(values.index.freq).unique()
    if not len(ref_periods):
        return pd.Series(dtype=float)
    windows = _window_sums(values, n)
    last = ref_periods.max()
    num = np.zeros(ppy)
    den = np.zeros(ppy)
    for back in range(years):
        ref_year = [p - back * ppy for p in ref_periods]
        ref_total = values.reindex(ref_year).sum(min_count=len(ref_year))
        if np.isnan(ref_total):
            continue
        # windows ending in the 12 months (4 quarters) up to the reference's end, that year
        ends = pd.period_range(last - back * ppy - ppy + 1, last - back * ppy, freq=values.index.freq)
        sums = windows.reindex(ends).to_numpy()
        for end, total in zip(ends, sums, strict=True):
            if np.isfinite(total):
                pos = (end.month - 1) if ppy == 12 else (end.quarter - 1 if ppy == 4 else 0)
                num[pos] += total
                den[pos] += ref_total
    with np.errstate(divide="ignore", invalid="ignore"):
        return pd.Series(np.where(den > 0, num / den, np.nan), index=np.arange(ppy))


def visa_rule(series: pd.Series, settings: VisaRuleSettings = VisaRuleSettings(), *,
              direction: str = "up") -> pd.DataFrame:
    """The EU suspension criterion: two-month totals against a year earlier and against the reference.

    Parameters
    ----------
    series : Series
        Counts with a monthly, quarterly or annual PeriodIndex.
    settings : VisaRuleSettings
        Thresholds, reference months, low-count guard.
    direction : {'up', 'down', 'both'}
        The direction the criterion watches (``settings.direction`` wins when set).

    Returns
    -------
    DataFrame indexed by period with ``observed`` (sum of the window ending at t), ``expected``
    (the same window a year earlier), ``reference`` (the reference window), ``reference_adjusted``
    (the reference rescaled by the pre-exemption seasonal factor of t's window,
    :func:`seasonal_factors`), ``change_yoy``, ``change_ref``, ``change_adjusted``, ``status_code``
    (0 below, 1 above the lower threshold, 2 above the higher: the higher of the two legal
    comparisons), ``score`` (the change in the watched direction over the lower threshold),
    ``upper``/``lower`` (the window total at the lower threshold against a year earlier) and
    ``p_value`` NaN: the criterion is the law's arithmetic, not a statistical test, and never an
    anomaly level.

    Notes
    -----
    Monthly: ``O_t = y_{t-1} + y_t``, ``E_t = O_{t-12}``, ``R = y_{Nov 2023} + y_{Dec 2023}``;
    quarterly and annual: one period, ``E_t = y_{t-ppy}``, R the period containing the reference
    months. ``change_yoy = O_t / E_t - 1``, ``change_ref = O_t / R - 1`` (only for windows that
    start after the reference), ``change_adjusted = O_t / (R f_m) - 1``. A window with a missing
    period is missing. A comparison counts when ``O_t + E_t >= min_count`` (resp. ``O_t + R``);
    status from :func:`change_levels`.
    """
    direction = check_direction(settings.direction or direction)
    values = regular(series)
    out = empty_result(values.index, EXTRA)
    if values.empty:
        return out
    ppy = periods_per_year(values.index)
    n = 2 if ppy == 12 else 1
    observed = _window_sums(values, n)
    expected = observed.shift(ppy)
    ref_total, ref_end = _reference_sum(values, settings.reference)
    after_ref = values.index - (n - 1) > ref_end
    reference = pd.Series(np.where(after_ref, ref_total, np.nan), index=values.index)
    factors = seasonal_factors(values, settings.reference, n, ppy)
    position = (values.index.month - 1) if ppy == 12 else ((values.index.quarter - 1) if ppy == 4
                                                           else np.zeros(len(values), dtype=int))
    factor = factors.reindex(np.asarray(position)).to_numpy() if len(factors) else np.full(len(values), np.nan)
    adjusted = reference.to_numpy() * factor
    with np.errstate(divide="ignore", invalid="ignore"):
        change_yoy = (observed / expected - 1).to_numpy()
        change_ref = (observed / reference - 1).to_numpy()
        change_adjusted = observed.to_numpy() / adjusted - 1
    guard_yoy = (observed + expected >= settings.min_count).to_numpy()
    guard_ref = (observed + reference >= settings.min_count).to_numpy()
    code = criterion_code(change_yoy, guard_yoy, change_ref, guard_ref, settings, direction)
    yoy = np.where(guard_yoy, change_yoy, np.nan)
    ref = np.where(guard_ref, change_ref, np.nan)
    if direction == "up":
        best = np.fmax(yoy, ref)
    elif direction == "down":
        best = -np.fmin(yoy, ref)
    else:
        best = np.fmax(np.abs(yoy), np.abs(ref))
    out["observed"] = observed.to_numpy()
    out["expected"] = expected.to_numpy()
    out["reference"] = reference.to_numpy()
    out["reference_adjusted"] = adjusted
    out["lower"] = expected.to_numpy() * (1 - settings.watch) if direction != "up" else np.nan
    out["upper"] = expected.to_numpy() * (1 + settings.watch) if direction != "down" else np.nan
    out["change_yoy"] = change_yoy
    out["change_ref"] = change_ref
    out["change_adjusted"] = change_adjusted
    out["status_code"] = code
    out["score"] = best / settings.watch
    return out.iloc[n - 1:]


CRITERION_STATUSES = ("below", "above_watch", "above_alert")


def run_starts(code: np.ndarray, new_series: np.ndarray) -> np.ndarray:
    """For each row, the row where the current run of ``code >= code[i]`` began (-1 where code < 1).

    Rows are consecutive periods of one or more series (``new_series`` True at each series' first
    row or after a gap); a run never crosses into another series. Vectorised.
    """
    n = len(code)
    idx = np.arange(n)
    out = np.full(n, -1)
    for level in (1, 2):
        at = code >= level
        breaks = np.where(~at, idx + 1, np.where(new_series, idx, -1))
        start = np.maximum.accumulate(np.maximum(breaks, 0)) if n else breaks
        out = np.where(code == level, start, out)
    return out


def crossings(code: np.ndarray, new_series: np.ndarray, memory: int | np.ndarray = 1) -> np.ndarray:
    """True where the criterion status rises above every status of the previous ``memory`` periods.

    With ``memory = 1`` any rise is a crossing; with 3 (monthly series) a status that dipped for a
    month or two and came back is the same standing status, not a new crossing each time. A series'
    first rows only look back to its start.
    """
    n = len(code)
    memory = np.broadcast_to(np.asarray(memory, dtype=int), (n,))
    start = np.maximum.accumulate(np.where(new_series, np.arange(n), 0)) if n else np.zeros(0, dtype=int)
    before = np.zeros(n, dtype=int)
    for back in range(1, int(memory.max()) + 1 if n else 1):
        idx = np.arange(n) - back
        ok = (idx >= start) & (back <= memory)
        before = np.where(ok, np.maximum(before, code[np.maximum(idx, 0)]), before)
    return (code > before) & (code >= 1)
