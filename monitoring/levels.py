"""Combining channels into levels ``normal``, ``watch``, ``alert`` and ``no_data``.

The scan stores, per series and period, one row of the *stored frame* (wide: one row per period,
one column group per channel) and levels are always recomputed from it by :func:`rethreshold`,
which is vectorised and never refits. :func:`combine` builds that frame from channel results
(:func:`to_stored`) and re-thresholds it, so both give the same levels by construction.

Stored frame columns (NaN where a channel did not score the period):

- keys: ``indicator``, ``geo`` (optional; rows of one series contiguous) and ``period`` (the index
  or a column; Periods or canonical strings ``YYYY-MM`` / ``YYYY-Qn`` / ``YYYY``); every period of
  a series from its first scored one, missing ones included (they break persistence runs)
- ``direction`` ('up', 'down', 'both'; or passed to :func:`rethreshold`)
- ``observed``; ``provisional_flag`` (bool, flagged 'p' in the data); ``recent_sum`` (observed
  sum of the last 4 periods, missing as 0: the low-count guard)
- ``glm_expected, glm_lower, glm_upper, glm_score, glm_p_value, glm_dispersion, glm_se_log,
  glm_n_baseline`` (bounds and score at the scan's alpha; ``rethreshold(bounds=True)`` recomputes
  them from expected and dispersion)
- ``ears_expected, ears_lower, ears_upper, ears_score, ears_p_value``
- ``stl_expected, stl_lower, stl_upper, stl_score, stl_p_value``
- ``cusum_expected, cusum_statistic, cusum_side`` (+1 rise, -1 fall)``, cusum_shift_start``
- ``visa_observed, visa_expected, visa_reference, visa_change_yoy, visa_change_ref``

Rules (vectorised in :func:`rethreshold`): a p-value channel (glm; ears only where the GLM has no
result; stl when enabled) is 'alert' at ``p <= alert_alpha`` and 'watch' at ``p <= watch_alpha``;
the CUSUM is 'watch' (or 'alert' with ``cusum_alert``) at ``statistic >= cusum_h``; the visa rule
compares are 'watch'/'alert' beyond ``visa_watch``/``visa_alert`` with its own low-count guard.
A channel's rise needs ``recent_sum >= min_count``; its fall ``4 * expected >= min_count``. In a
provisional period (flagged, or inside the reporting lag) a fall never alarms. The level is the
highest channel level, raised to 'alert' after ``persistence`` consecutive watch-or-higher
periods; 'no_data' where the observed value is missing. Every rule is monotone: a smaller alpha
or a higher threshold never adds an alarm.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.baselines import LOW_COUNT_PERIODS, glm_bounds, glm_score
from monitoring.channels import check_direction, periods_per_year, regular
from monitoring.detectors import CUSUM_H
from monitoring.visa_rule import VisaRuleSettings, change_levels

CHANNELS = ("glm", "ears", "stl", "cusum", "visa_yoy", "visa_ref")
LEVELS = ("normal", "watch", "alert")
STORED = {
    "glm": ("expected", "lower", "upper", "score", "p_value", "dispersion", "se_log", "n_baseline"),
    "ears": ("expected", "lower", "upper", "score", "p_value"),
    "stl": ("expected", "lower", "upper", "score", "p_value"),
    "cusum": ("expected", "statistic", "side", "shift_start"),
    "visa": ("observed", "expected", "reference", "change_yoy", "change_ref"),
}
KEYS = ("indicator", "geo")
DISPLAY = ("observed", "expected", "lower", "upper", "score", "p_value")


@dataclass(frozen=True)
class LevelSettings:
    """Thresholds turning stored channel results into levels (re-thresholding only, no refit).

    Parameters
    ----------
    watch_alpha, alert_alpha : float
        p-value levels of watch and alert (``alert_alpha <= watch_alpha``).
    persistence : int
        This many consecutive periods at watch or above raise alert (0: never, the default). The
        detection benchmark (BENCHMARKS.md) measured the "two consecutive watches" rule at +4 points
        of detection for shifts but +0.33 points of false-positive rate (1.28% against
        farringtonFlexible's 0.95%), over both targets; so it is a setting, off by default.
    min_count : int
        Low-count guard of every channel (see the module notes).
    visa_watch, visa_alert, visa_min_count : float, float, int
        The visa rule's thresholds and low-count guard.
    cusum_h : float
        CUSUM statistic raising a level (at most the ``h`` the CUSUM ran with: its statistic is
        capped there).
    cusum_alert : bool
        A CUSUM crossing raises alert at once instead of watch (then alert through persistence).
    channels : tuple of str
        Channels that may raise a level, among ``glm, ears, stl, cusum, visa_yoy, visa_ref``.
        The STL channel is off by default: its scale is estimated in-sample (second opinion).
    reporting_lag : int
        Periods treated as provisional at the end of each series (or, given ``today``, periods
        at most this many before today's period).
    """

    watch_alpha: float = 0.05
    alert_alpha: float = 0.01
    persistence: int = 0
    min_count: int = 5
    visa_watch: float = 0.30
    visa_alert: float = 0.50
    visa_min_count: int = 100
    cusum_h: float = CUSUM_H
    cusum_alert: bool = False
    channels: tuple[str, ...] = ("glm", "ears", "cusum", "visa_yoy", "visa_ref")
    reporting_lag: int = 0

    def __post_init__(self):
        if not 0 < self.alert_alpha <= self.watch_alpha < 1:
            raise ValueError("alphas need 0 < alert_alpha <= watch_alpha < 1")
        if not 0 < self.visa_watch <= self.visa_alert:
            raise ValueError("visa thresholds need 0 < visa_watch <= visa_alert")
        if not self.cusum_h > 0:
            raise ValueError("cusum_h must be positive")
        if self.persistence < 0 or self.reporting_lag < 0 or self.min_count < 0:
            raise ValueError("persistence, reporting_lag and min_count must be >= 0")
        unknown = set(self.channels) - set(CHANNELS)
        if unknown:
            raise ValueError(f"unknown channel {sorted(unknown)[0]!r}; known: {', '.join(CHANNELS)}")


DEFAULT_SETTINGS = LevelSettings()


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
    if series is not None:
        observed = regular(series)
    else:
        observed = None
        for name in ("glm", "ears", "stl", "cusum"):
            if name in channels and len(channels[name]):
                part = channels[name]["observed"]
                observed = part if observed is None else observed.combine_first(part)
        observed = regular(observed) if observed is not None else pd.Series(dtype=float)
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


def _ordinals(periods) -> tuple[np.ndarray, np.ndarray]:
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


def _p_code(p: np.ndarray, settings: LevelSettings) -> np.ndarray:
    return np.where(p <= settings.alert_alpha, 2, np.where(p <= settings.watch_alpha, 1, 0))


def _col(stored: pd.DataFrame, name: str, copy: bool = False) -> np.ndarray:
    """A numeric column as floats (NaN when absent); a copy when it will be written to."""
    if name not in stored:
        return np.full(len(stored), np.nan)
    values = stored[name].to_numpy(dtype=float)
    return values.copy() if copy else values


def rethreshold(stored: pd.DataFrame, settings: LevelSettings = DEFAULT_SETTINGS, *, direction: str | None = None,
                visa: VisaRuleSettings | None = None, today: pd.Timestamp | None = None,
                bounds: bool = False) -> pd.DataFrame:
    """Levels from the stored frame at new settings, without refitting (vectorised).

    Parameters
    ----------
    stored : DataFrame
        The stored frame (module notes), one or many series.
    settings : LevelSettings
        Thresholds.
    direction : str, optional
        The bad direction of every row (instead of the ``direction`` column).
    visa : VisaRuleSettings, optional
        When given, its ``watch``, ``alert`` and ``min_count`` replace the ``visa_*`` settings.
    today : Timestamp, optional
        Reporting lag counted back from today's period instead of each series' last period.
    bounds : bool
        Recompute the GLM's lower, upper and score at ``watch_alpha`` (slower: NB quantiles).

    Returns
    -------
    DataFrame in the stored frame's row order (its index and key columns) with ``level``,
    ``channels`` (comma-separated names of the channels at watch or above), ``provisional``,
    ``persistent`` (alert raised by persistence), ``observed, expected, lower, upper, score,
    p_value`` (the GLM's; EARS where the GLM has none), ``change_yoy``, ``change_ref``.
    """
    keys = [k for k in KEYS if k in stored.columns]
    periods = stored["period"] if "period" in stored.columns else stored.index
    ordinal, ppy = _ordinals(periods)
    codes = [pd.factorize(stored[k])[0] for k in keys]
    order = np.lexsort((ordinal, *reversed(codes))) if keys else np.arange(len(stored))
    if np.any(order != np.arange(len(order))):  # rows of a series must be contiguous and in period order
        result = rethreshold(stored.iloc[order], settings, direction=direction, visa=visa, today=today,
                             bounds=bounds)
        return result.iloc[np.argsort(order)]
    n = len(stored)
    new_series = np.ones(n, dtype=bool)
    gap = np.ones(n, dtype=bool)
    if n:
        new_series[1:] = ordinal[1:] <= ordinal[:-1]
        for c in codes:
            new_series[1:] |= c[1:] != c[:-1]
        gap[1:] = ordinal[1:] - ordinal[:-1] != 1
    if direction is None and "direction" not in stored:
        raise ValueError("the stored frame has no direction column: pass direction=")
    if direction:
        check_direction(direction)
        up, down = np.full(n, direction == "up"), np.full(n, direction == "down")
    else:
        up, down = (stored["direction"] == "up").to_numpy(bool), (stored["direction"] == "down").to_numpy(bool)
    both = ~(up | down)

    obs = _col(stored, "observed")
    recent = _col(stored, "recent_sum")
    # provisional: flagged, or inside the reporting lag
    series_id = np.cumsum(new_series) - 1
    if today is not None:
        t = pd.Timestamp(today)
        now = np.where(ppy == 12, t.year * 12 + t.month - 1, np.where(ppy == 4, t.year * 4 + (t.month - 1) // 3, t.year))
        age = now - ordinal
        lagged = age <= settings.reporting_lag if settings.reporting_lag else np.zeros(n, bool)
    else:
        last = np.maximum.reduceat(ordinal, np.flatnonzero(new_series)) if n else ordinal
        lagged = (last[series_id] - ordinal) < settings.reporting_lag
    flag = stored["provisional_flag"].to_numpy(dtype=bool) if "provisional_flag" in stored else np.zeros(n, bool)
    provisional = flag | lagged

    enabled = set(settings.channels)
    levels: dict[str, np.ndarray] = {}

    def guarded(code, fall, expected):
        ok = np.where(fall, LOW_COUNT_PERIODS * expected >= settings.min_count, recent >= settings.min_count)
        return np.where(ok & ~(fall & provisional), code, 0)

    glm_missing = np.isnan(_col(stored, "glm_expected"))
    for name in ("glm", "ears", "stl"):
        if name not in enabled:
            continue
        p = _col(stored, f"{name}_p_value")
        if name == "ears":
            p = np.where(glm_missing, p, np.nan)
        expected = _col(stored, f"{name}_expected")
        fall = down | (both & (obs < expected))
        levels[name] = guarded(_p_code(p, settings), fall, expected)
    if "cusum" in enabled:
        stat = _col(stored, "cusum_statistic")
        code = np.where(stat >= settings.cusum_h, 2 if settings.cusum_alert else 1, 0)
        levels["cusum"] = guarded(code, _col(stored, "cusum_side") < 0, _col(stored, "cusum_expected"))
    watch, alert, visa_min = ((visa.watch, visa.alert, visa.min_count) if visa is not None
                              else (settings.visa_watch, settings.visa_alert, settings.visa_min_count))
    v_obs = _col(stored, "visa_observed")
    for name, change_col, base_col in (("visa_yoy", "visa_change_yoy", "visa_expected"),
                                       ("visa_ref", "visa_change_ref", "visa_reference")):
        if name not in enabled:
            continue
        change = _col(stored, change_col)
        ok = v_obs + _col(stored, base_col) >= visa_min
        code = np.zeros(n, dtype=int)
        for d, mask in (("up", up), ("down", down), ("both", both)):
            if mask.any():
                code = np.where(mask, change_levels(change, ok, watch, alert, d), code)
        levels[name] = np.where((change < 0) & provisional, 0, code)

    level = np.zeros(n, dtype=int)
    fired = np.zeros(n, dtype=int)
    names = [c for c in CHANNELS if c in levels]
    for bit, name in enumerate(names):
        level = np.maximum(level, levels[name])
        fired |= (levels[name] >= 1).astype(int) << bit
    persistent = np.zeros(n, dtype=bool)
    if settings.persistence and n:
        at_watch = level >= 1
        idx = np.arange(n)
        # a run restarts after a period below watch, at a new series and after a gap in the periods
        breaks_before = np.where(~at_watch, idx, np.where(new_series | gap, idx - 1, -1))
        last_break = np.maximum.accumulate(breaks_before)
        run = np.where(at_watch, idx - last_break, 0)
        persistent = (run >= settings.persistence) & (level < 2)
        level = np.where(persistent, 2, level)
    missing = np.isnan(obs)
    # object columns: building pandas' default str (Arrow) columns would cost more than the rest
    labels = np.array(["no_data", *LEVELS], dtype=object)[np.where(missing, 0, level + 1)]
    table = np.array([",".join(nm for b, nm in enumerate(names) if code >> b & 1) for code in range(1 << len(names))],
                     dtype=object)

    display = {c: _col(stored, f"glm_{c}", copy=True) for c in DISPLAY if c != "observed"}
    if bounds:
        lower, upper = np.full(n, np.nan), np.full(n, np.nan)
        for d, mask in (("up", up), ("down", down), ("both", both)):
            if mask.any():
                lower[mask], upper[mask] = glm_bounds(display["expected"][mask], _col(stored, "glm_dispersion")[mask],
                                                      settings.watch_alpha, d)
                display["score"][mask] = glm_score(obs[mask], display["expected"][mask], lower[mask], upper[mask], d)
        display["lower"], display["upper"] = lower, upper
    no_glm = np.isnan(display["expected"])
    for c in display:
        display[c] = np.where(no_glm, _col(stored, f"ears_{c}"), display[c])

    out = pd.DataFrame({k: stored[k].array for k in keys}, index=stored.index)
    if "period" in stored.columns:
        out["period"] = stored["period"].array
    out["level"] = pd.Series(labels, index=out.index, dtype=object)
    out["channels"] = pd.Series(table[np.where(missing, 0, fired)], index=out.index, dtype=object)
    out["provisional"] = provisional
    out["persistent"] = persistent & ~missing
    out["observed"] = obs
    for c, values in display.items():
        out[c] = values
    out["change_yoy"] = _col(stored, "visa_change_yoy")
    out["change_ref"] = _col(stored, "visa_change_ref")
    return out


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
