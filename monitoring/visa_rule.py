"""The EU visa suspension mechanism (Regulation (EU) 2018/1806, Art. 8) as a detection channel.

A "substantial increase" is more than 50% (legacy rule) or more than 30% (2025 revision) over a
two-month period, compared with the same two months of the previous year or with the last two
months before the exemption (November-December 2023 for Kosovo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.channels import check_direction, empty_result, periods_per_year, regular

EXTRA = ("reference", "change_yoy", "change_ref", "level_code")


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


def _window_sums(values: pd.Series, n: int) -> pd.Series:
    return values.rolling(n, min_periods=n).sum()


def _reference_sum(values: pd.Series, reference: tuple[str, ...]) -> tuple[float, pd.Period]:
    freq = values.index.freq
    months = pd.PeriodIndex([pd.Period(m, freq="M") for m in reference])
    periods = months.asfreq(freq).unique()
    total = values.reindex(periods).sum(min_count=len(periods)) if len(periods) else np.nan
    return float(total), periods.max()


def visa_rule(series: pd.Series, settings: VisaRuleSettings = VisaRuleSettings(), *,
              direction: str = "up") -> pd.DataFrame:
    """Relative change of two-month sums against a year earlier and against the reference months.

    Parameters
    ----------
    series : Series
        Counts with a monthly, quarterly or annual PeriodIndex.
    settings : VisaRuleSettings
        Thresholds, reference months, low-count guard.
    direction : {'up', 'down', 'both'}
        The bad direction (``settings.direction`` wins when set).

    Returns
    -------
    DataFrame indexed by period with ``observed`` (sum of the window ending at t), ``expected``
    (the same window a year earlier), ``reference`` (the reference window), ``change_yoy``,
    ``change_ref``, ``level_code`` (0 normal, 1 watch, 2 alert), ``alarm`` (level_code >= 1),
    ``p_value`` (NaN: the rule is not a test), ``score`` (the change in the bad direction over
    the watch threshold; 1 at the threshold), ``upper``/``lower`` (the window sum at the watch
    threshold against a year earlier).

    Notes
    -----
    Monthly: ``O_t = y_{t-1} + y_t``, ``E_t = O_{t-12}``, ``R = y_{Nov 2023} + y_{Dec 2023}``;
    quarterly and annual: one period, ``E_t = y_{t-ppy}``, R the period containing the reference
    months. ``change_yoy = O_t / E_t - 1``, ``change_ref = O_t / R - 1`` (only for windows that
    start after the reference). A window with a missing period is missing. A comparison counts
    when ``O_t + E_t >= min_count`` (resp. ``O_t + R``); level from :func:`change_levels`, the
    higher of the two comparisons.
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
    with np.errstate(divide="ignore", invalid="ignore"):
        change_yoy = (observed / expected - 1).to_numpy()
        change_ref = (observed / reference - 1).to_numpy()
    guard_yoy = (observed + expected >= settings.min_count).to_numpy()
    guard_ref = (observed + reference >= settings.min_count).to_numpy()
    code = np.maximum(change_levels(change_yoy, guard_yoy, settings.watch, settings.alert, direction),
                      change_levels(change_ref, guard_ref, settings.watch, settings.alert, direction))
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
    out["lower"] = expected.to_numpy() * (1 - settings.watch) if direction != "up" else np.nan
    out["upper"] = expected.to_numpy() * (1 + settings.watch) if direction != "down" else np.nan
    out["change_yoy"] = change_yoy
    out["change_ref"] = change_ref
    out["level_code"] = code
    out["alarm"] = code >= 1
    out["score"] = best / settings.watch
    return out.iloc[n - 1:]
