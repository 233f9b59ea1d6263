"""The stored frame: one row per series and period, one column group per channel.

The scan stores it (``scores``) and levels are always recomputed from it
(:func:`monitoring.statistics.levels.rethreshold`), never by refitting. Columns (NaN where a
channel did not score the period):

- keys: ``indicator``, ``geo`` (optional; rows of one series contiguous) and ``period`` (the index
  or a column; Periods or canonical strings ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY``); every period of
  a series from its first scored one, missing ones included (they break persistence runs)
- ``direction`` ('up', 'down', 'both'; or passed to ``rethreshold``)
- ``observed``; ``provisional_flag`` (bool, flagged 'p' in the data); ``recent_sum`` (observed
  sum of the last 4 periods, missing as 0: the low-count guard)
- ``glm_expected, glm_lower, glm_upper, glm_score, glm_p_value, glm_dispersion, glm_se_log,
  glm_n_baseline`` (bounds and score at the scan's alpha; ``rethreshold(bounds=True)`` recomputes
  them from expected and dispersion)
- ``ears_expected, ears_lower, ears_upper, ears_score, ears_p_value``
- ``stl_expected, stl_lower, stl_upper, stl_score, stl_p_value``
- ``cusum_expected, cusum_statistic, cusum_side`` (+1 rise, -1 fall)``, cusum_shift_start``
- ``glr_expected, glr_dispersion, glr_n_baseline, glr_observed_2, glr_observed_3, glr_expected_2,
  glr_expected_3`` (the anomaly test of the last 1-3 periods, :mod:`monitoring.statistics.glr`)
- ``visa_observed, visa_expected, visa_reference, visa_reference_adjusted, visa_change_yoy,
  visa_change_ref`` (the EU suspension criterion's two-month totals, :mod:`monitoring.statistics.visa_rule`)

No channel's own ``alarm`` or status is stored: what alarms is decided from these columns by the one
rule (:mod:`monitoring.statistics.alarm`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.statistics.baselines import LOW_COUNT_PERIODS
from monitoring.statistics.channels import check_direction, periods_per_year, regular

STORED = {
    "glr": ("expected", "dispersion", "n_baseline", "observed_2", "observed_3", "expected_2", "expected_3"),
    "glm": ("expected", "lower", "upper", "score", "p_value", "dispersion", "se_log", "n_baseline"),
    "ears": ("expected", "lower", "upper", "score", "p_value"),
    "stl": ("expected", "lower", "upper", "score", "p_value"),
    "cusum": ("expected", "statistic", "side", "shift_start"),
    "visa": ("observed", "expected", "reference", "reference_adjusted", "change_yoy", "change_ref"),
}
KEYS = ("indicator", "geo")


def _observed(channels: dict[str, pd.DataFrame], series: pd.Series | None) -> pd.Series:
    """The counts on every period: ``series``, else the channels' ``observed`` (glm, ears, stl, cusum)."""
    if series is not None:
        return regular(series)
    observed = None
    for name in ("glm", "ears", "stl", "cusum"):
        if name in channels and len(channels[name]):
            part = channels[name]["observed"]
            observed = part if observed is None else observed.combine_first(part)
    return regular(observed) if observed is not None else pd.Series(dtype=float)


def to_stored(channels: dict[str, pd.DataFrame], *, direction: str, provisional: pd.Series | None = None,
              series: pd.Series | None = None) -> pd.DataFrame:
    """The stored frame (module notes) of one series from its channel results, indexed by period.

    ``series`` (the counts) gives the observed values and the full period range; without it they
    come from the channels' ``observed`` (glm, ears, stl, cusum in that order).
    """
    check_direction(direction)
    unknown = set(channels) - set(STORED)
    if unknown:
        raise ValueError(f"unknown channel result {sorted(unknown)[0]!r}; known: {', '.join(STORED)}")
    observed = _observed(channels, series)
    index = observed.index
    for frame in channels.values():
        if len(frame) and len(index):
            index = pd.period_range(min(index[0], frame.index[0]), max(index[-1], frame.index[-1]),
                                    freq=index.freq)
    out = pd.DataFrame(index=index)
    out.index.name = "period"
    out["direction"] = direction
    out["observed"] = observed.reindex(index)
    flag = provisional.reindex(index) if provisional is not None else pd.Series(False, index=index)
    out["provisional_flag"] = flag.fillna(False).astype(bool).to_numpy()
    out["recent_sum"] = out["observed"].rolling(LOW_COUNT_PERIODS, min_periods=1).sum()
    for name, columns in STORED.items():
        frame = channels.get(name)
        for col in columns:
            values = frame[col].reindex(index) if frame is not None and col in frame else None
            out[f"{name}_{col}"] = values if values is not None else (pd.NaT if col == "shift_start" else np.nan)
    return out


def ordinals(periods) -> tuple[np.ndarray, np.ndarray]:
    """(year * ppy + period of year, ppy) of Periods or canonical period strings."""
    values = periods if isinstance(periods, pd.Series) else pd.Series(periods)
    if isinstance(values.dtype, pd.PeriodDtype):
        index = pd.PeriodIndex(values.array)
        ppy = periods_per_year(index)
        return index.asi8 + 1970 * ppy, np.full(len(index), ppy)
    codes, uniques = pd.factorize(values.astype(str), sort=False)
    text = pd.Series(uniques, dtype=str)
    year = text.str[:4].astype(int).to_numpy()
    rest = text.str[4:].str.lstrip("-")
    annual = rest.str.len().to_numpy() == 0
    sub = np.where(annual, 1, pd.to_numeric(rest.str.lstrip("QM"), errors="coerce").fillna(1).astype(int).to_numpy())
    ppy = np.where(rest.str.startswith("Q").to_numpy(), 4, np.where(annual, 1, 12))
    return (year * ppy + sub - 1)[codes], ppy[codes]


def column(stored: pd.DataFrame, name: str, copy: bool = False) -> np.ndarray:
    """A numeric column as floats (NaN when absent); a copy when it will be written to."""
    if name not in stored:
        return np.full(len(stored), np.nan)
    values = stored[name].to_numpy(dtype=float)
    return values.copy() if copy else values
