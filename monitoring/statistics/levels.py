"""Levels from the stored frame: ``normal``, ``watch``, ``alert`` and ``no_data``, and the criterion.

The scan stores, per series and period, one row of the *stored frame*
(:mod:`monitoring.statistics.stored`) and levels are always recomputed from it by
:func:`rethreshold`, which is vectorised and never refits. :func:`combine` builds that frame from
channel results (:func:`~monitoring.statistics.stored.to_stored`) and re-thresholds it, so both give
the same levels by construction.

Two questions, answered apart. The **anomaly level** (``level``) comes from the statistical
channels only, by the one alarm rule (:func:`monitoring.statistics.alarm.alarm_levels`; its module
notes state it); 'no_data' where the observed value is missing. What the level shows (expected
value, bounds, score, what was tested) is :mod:`monitoring.statistics.evidence`. The **EU suspension
criterion** (``criterion``, ``criterion_since``, ``criterion_crossed``) is the law's arithmetic
(:mod:`monitoring.statistics.criterion`); it never raises the level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.statistics.alarm import (
    DEFAULT_SETTINGS,
    LEVELS,
    LevelSettings,
    alarm_levels,
    glr_test,
    rows_of,
)
from monitoring.statistics.criterion import criterion_status
from monitoring.statistics.evidence import evidence
from monitoring.statistics.stored import KEYS, ordinals, to_stored
from monitoring.statistics.visa_rule import VisaRuleSettings


def _in_order(stored: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """(row order by series then period, ordinals, periods per year, codes of the key columns)."""
    keys = [k for k in KEYS if k in stored.columns]
    periods = stored["period"] if "period" in stored.columns else stored.index
    ordinal, ppy = ordinals(periods)
    codes = [pd.factorize(stored[k])[0] for k in keys]
    order = np.lexsort((ordinal, *reversed(codes))) if keys else np.arange(len(stored))
    return order, ordinal, ppy, codes


def rethreshold(stored: pd.DataFrame, settings: LevelSettings = DEFAULT_SETTINGS, *, direction: str | None = None,
                visa: VisaRuleSettings | None = None, today: pd.Timestamp | None = None,
                bounds: bool = False, criterion: bool = True) -> pd.DataFrame:
    """Levels from the stored frame at new settings, without refitting (vectorised).

    Parameters
    ----------
    stored : DataFrame
        The stored frame (:mod:`monitoring.statistics.stored`), one or many series.
    settings : LevelSettings
        Thresholds of the anomaly level.
    direction : str, optional
        The bad direction of every row (instead of the ``direction`` column).
    visa : VisaRuleSettings, optional
        The EU suspension criterion's thresholds and low-count guard (default: its defaults).
    today : Timestamp, optional
        Reporting lag counted back from today's period instead of each series' last period.
    bounds : bool
        Recompute the farringtonFlexible GLM's lower, upper and score at ``watch_alpha``.
    criterion : bool
        Whether the criterion applies to these rows (False: its columns are left missing).

    Returns
    -------
    DataFrame in the stored frame's row order (its index and key columns) with ``level``,
    ``channels`` (comma-separated statistical channels at watch or above), ``provisional``,
    ``persistent`` (alert raised by persistence), ``observed, expected, lower, upper, score,
    p_value`` (the anomaly test's: bounds of one period at the alert threshold, score 1 at it),
    ``tested_periods, tested_observed, tested_expected, tested_bound`` (what the test tested: the window of
    1-3 periods whose evidence is strongest, its totals and the alert bound of the total),
    ``shift_start`` (the month a sustained shift began, CUSUM), and the criterion's
    ``change_yoy, change_ref, change_adjusted, criterion, criterion_since, criterion_crossed``.
    """
    order, ordinal, ppy, codes = _in_order(stored)
    if np.any(order != np.arange(len(order))):  # rows of a series must be contiguous and in period order
        result = rethreshold(stored.iloc[order], settings, direction=direction, visa=visa, today=today,
                             bounds=bounds, criterion=criterion)
        return result.iloc[np.argsort(order)]
    rows = rows_of(stored, settings, ordinal, ppy, codes, direction, today)
    glr = glr_test(stored, rows, settings)
    decision = alarm_levels(stored, rows, settings, glr)
    missing = np.isnan(rows.observed)
    # object columns: building pandas' default str (Arrow) columns would cost more than the rest
    labels = np.array(["no_data", *LEVELS], dtype=object)[np.where(missing, 0, decision.level + 1)]
    names = decision.names
    table = np.array([",".join(nm for b, nm in enumerate(names) if code >> b & 1) for code in range(1 << len(names))],
                     dtype=object)
    # one constructor for every column: inserting them one by one costs more than the rule itself
    columns: dict = {k: stored[k].array for k in KEYS if k in stored.columns}
    if "period" in stored.columns:
        columns["period"] = stored["period"].array
    columns["level"] = labels
    columns["channels"] = table[np.where(missing, 0, decision.fired)]
    columns["provisional"] = rows.provisional
    columns["persistent"] = decision.persistent & ~missing
    columns["observed"] = rows.observed
    shown = evidence(stored, rows, settings, glr, bounds=bounds)
    columns.update({c: shown[c] for c in ("expected", "lower", "upper", "score", "p_value")})
    columns["tested_periods"] = np.where(missing, 1, glr.window).astype(int)
    columns.update({c: shown[c] for c in ("tested_observed", "tested_expected", "tested_bound")})
    columns["shift_start"] = _shift_start(stored)
    periods = stored["period"] if "period" in stored.columns else stored.index
    columns.update(criterion_status(stored, visa or VisaRuleSettings(), rows, periods, criterion))
    for name in ("level", "channels", "shift_start", "criterion", "criterion_since"):
        # object columns, missing as None: pandas' default str (Arrow) columns would cost more and say NaN
        columns[name] = pd.Series(columns[name], index=stored.index, dtype=object)
    return pd.DataFrame(columns, index=stored.index)


def _shift_start(stored: pd.DataFrame) -> np.ndarray:
    """The CUSUM's shift start as text (None where none)."""
    if "cusum_shift_start" not in stored:
        return np.full(len(stored), None, dtype=object)
    shift = stored["cusum_shift_start"]
    return np.where(shift.isna().to_numpy(), None, shift.astype(str).to_numpy(dtype=object))


def channel_levels(result: pd.DataFrame, channel: str, *, direction: str, alpha: float, min_count: int = 5,
                   series: pd.Series | None = None) -> pd.Series:
    """The levels one channel alone raises at ``alpha`` (alert and watch both at it), by the one rule.

    What a channel "alarms" is never decided by the channel: this runs :func:`rethreshold` with only
    that channel enabled, so farringtonFlexible's alarm (``glm`` at alpha, ``min_count`` 5) and
    EARS' are the product's rule too (tests/test_golden.py holds them equal to R's).
    """
    settings = LevelSettings(watch_alpha=alpha, alert_alpha=alpha, min_count=min_count, channels=(channel,))
    stored = to_stored({channel: result}, direction=direction, series=series)
    levels = rethreshold(stored, settings, direction=direction, criterion=False)
    return levels["level"].reindex(result.index)


def combine(channels: dict[str, pd.DataFrame], *, direction: str, provisional: pd.Series | None = None,
            settings: LevelSettings = DEFAULT_SETTINGS, series: pd.Series | None = None) -> pd.DataFrame:
    """Levels of one series from its channel results (``glm, ears, stl, cusum, visa``).

    Parameters
    ----------
    channels : dict of DataFrame
        Channel results by name (any subset).
    direction : {'up', 'down', 'both'}
        The bad direction.
    provisional : Series of bool, optional
        Periods flagged provisional in the data.
    settings : LevelSettings
        Thresholds.
    series : Series, optional
        The counts (observed values and full period range).

    Returns
    -------
    DataFrame indexed by period: ``level, channels, provisional, persistent``, the GLM's
    ``observed, expected, lower, upper, score, p_value`` and the visa changes, exactly
    ``rethreshold(to_stored(...), settings)``.
    """
    return rethreshold(to_stored(channels, direction=direction, provisional=provisional, series=series), settings)
