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
- ``glr_expected, glr_dispersion, glr_n_baseline, glr_observed_2, glr_observed_3, glr_expected_2,
  glr_expected_3`` (the anomaly test of the last 1-3 periods, :mod:`monitoring.statistics.glr`)
- ``visa_observed, visa_expected, visa_reference, visa_reference_adjusted, visa_change_yoy,
  visa_change_ref`` (the EU suspension criterion's two-month totals, :mod:`monitoring.statistics.visa_rule`)

Two questions, answered apart. The **anomaly level** (``level``) comes from the statistical
channels only, by one rule, here (vectorised in :func:`rethreshold`; the scan, the Thresholds
page's preview and the benchmark all call it):

- the likelihood-ratio test (glr) is 'alert' where its calibrated p-value is ``<= alert_alpha``
  and 'watch' where ``<= watch_alpha``, resetting after an alarm (``monitoring.statistics.glr.glr_codes``);
  a p-value channel (glm = farringtonFlexible; ears only where neither glr nor glm scored; stl
  when enabled) likewise at its p-value; the CUSUM is 'watch' (or 'alert' with ``cusum_alert``)
  at ``statistic >= cusum_h``;
- a channel's rise needs ``recent_sum >= min_count`` and the period's own observed value above
  the channel's expected value (no anomaly at or below what was expected); its fall
  ``4 * expected >= min_count`` and the observed value below the expected one; in a provisional
  period (flagged, or inside the reporting lag) a fall never alarms;
- the level is the highest channel level, raised to 'alert' after ``persistence`` consecutive
  watch-or-higher periods; 'no_data' where the observed value is missing.

The **EU suspension criterion** (``criterion``: 'below', 'above_30', 'above_50' with the
thresholds as percentages, or missing when not compared) is the law's arithmetic on two-month
totals, with since when (``criterion_since``) and whether it rose at this period
(``criterion_crossed``); it never raises the level. Every rule is monotone (a smaller alpha or a higher threshold never
adds an alarm) but for the likelihood-ratio test's reset after an alarm: with fewer earlier alarms a
later window of 2-3 periods may reach further back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.statistics.baselines import LOW_COUNT_PERIODS, glm_bounds, glm_score
from monitoring.statistics.channels import check_direction, periods_per_year, regular
from monitoring.statistics.detectors import CUSUM_H
from monitoring.statistics.glr import glr_codes, glr_p_value, glr_threshold, window_bound, window_lr
from monitoring.statistics.visa_rule import VisaRuleSettings, change_levels, crossings, run_starts

CHANNELS = ("glr", "glm", "ears", "stl", "cusum")
LEGACY_CHANNELS = ("visa_yoy", "visa_ref")  # the criterion is no longer a channel; dropped from old settings
LEVELS = ("normal", "watch", "alert")
STORED = {
    "glr": ("expected", "dispersion", "n_baseline", "observed_2", "observed_3", "expected_2", "expected_3"),
    "glm": ("expected", "lower", "upper", "score", "p_value", "dispersion", "se_log", "n_baseline"),
    "ears": ("expected", "lower", "upper", "score", "p_value"),
    "stl": ("expected", "lower", "upper", "score", "p_value"),
    "cusum": ("expected", "statistic", "side", "shift_start"),
    "visa": ("observed", "expected", "reference", "reference_adjusted", "change_yoy", "change_ref"),
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
    cusum_h : float
        CUSUM statistic raising a level (at most the ``h`` the CUSUM ran with: its statistic is
        capped there).
    cusum_alert : bool
        A CUSUM crossing raises alert at once instead of watch (then alert through persistence).
    channels : tuple of str
        Statistical channels that may raise a level, among ``glr, glm, ears, stl, cusum``. The
        STL channel is off by default: its scale is estimated in-sample (second opinion).
    reporting_lag : int
        Periods treated as provisional at the end of each series (or, given ``today``, periods
        at most this many before today's period).
    """

    watch_alpha: float = 0.05
    alert_alpha: float = 0.01
    persistence: int = 0
    min_count: int = 5
    cusum_h: float = CUSUM_H
    cusum_alert: bool = False
    channels: tuple[str, ...] = ("glr", "glm", "ears", "cusum")
    reporting_lag: int = 0

    def __post_init__(self):
        if not 0 < self.alert_alpha <= self.watch_alpha < 1:
            raise ValueError("alphas need 0 < alert_alpha <= watch_alpha < 1")
        if any(c in LEGACY_CHANNELS for c in self.channels):  # saved before the criterion left the channels
            object.__setattr__(self, "channels", tuple(c for c in self.channels if c not in LEGACY_CHANNELS))
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
                bounds: bool = False, criterion: bool = True) -> pd.DataFrame:
    """Levels from the stored frame at new settings, without refitting (vectorised): the one alarm rule.

    Parameters
    ----------
    stored : DataFrame
        The stored frame (module notes), one or many series.
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
    keys = [k for k in KEYS if k in stored.columns]
    periods = stored["period"] if "period" in stored.columns else stored.index
    ordinal, ppy = _ordinals(periods)
    codes = [pd.factorize(stored[k])[0] for k in keys]
    order = np.lexsort((ordinal, *reversed(codes))) if keys else np.arange(len(stored))
    if np.any(order != np.arange(len(order))):  # rows of a series must be contiguous and in period order
        result = rethreshold(stored.iloc[order], settings, direction=direction, visa=visa, today=today,
                             bounds=bounds, criterion=criterion)
        return result.iloc[np.argsort(order)]
    visa = visa or VisaRuleSettings()
    n = len(stored)
    new_series = np.ones(n, dtype=bool)
    gap = np.ones(n, dtype=bool)
    if n:
        new_series[1:] = ordinal[1:] <= ordinal[:-1]
        for c in codes:
            new_series[1:] |= c[1:] != c[:-1]
        gap[1:] = ordinal[1:] - ordinal[:-1] != 1
    restart = new_series | gap
    if direction is None and "direction" not in stored:
        raise ValueError("the stored frame has no direction column: pass direction=")
    if direction:
        check_direction(direction)
        up, down = np.full(n, direction == "up"), np.full(n, direction == "down")
    else:
        up, down = (stored["direction"] == "up").to_numpy(bool), (stored["direction"] == "down").to_numpy(bool)
    both = ~(up | down)
    sides = (("up", up), ("down", down), ("both", both))

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

    def guarded(code, expected):
        """The guards every channel shares: count, side of the expected value, provisional falls."""
        fall = down | (both & (obs < expected))
        with np.errstate(invalid="ignore"):
            ok = np.where(fall, (LOW_COUNT_PERIODS * expected >= settings.min_count) & (obs < expected),
                          (recent >= settings.min_count) & (obs > expected))
        return np.where(ok & ~(fall & provisional), code, 0)

    # the likelihood-ratio test of the last 1-3 periods (monitoring.statistics.glr)
    glr_mu = _col(stored, "glr_expected")
    has_glr = ~np.isnan(glr_mu)
    phi = np.where(np.isnan(_col(stored, "glr_dispersion")), 1.0, _col(stored, "glr_dispersion"))
    window_obs = np.column_stack([obs, _col(stored, "glr_observed_2"), _col(stored, "glr_observed_3")])
    window_mu = np.column_stack([glr_mu, _col(stored, "glr_expected_2"), _col(stored, "glr_expected_3")])
    lr = np.zeros((n, 3))
    for d, mask in sides:
        if mask.any():
            lr[mask] = window_lr(window_obs[mask], window_mu[mask], phi[mask][:, None], d)
    lr = np.where(np.isnan(lr), 0.0, lr)
    c_watch, c_alert = glr_threshold(settings.watch_alpha), glr_threshold(settings.alert_alpha)
    # equal alphas give equal thresholds: alert then needs a hair more (the codes need an increasing pair)
    glr_code, glr_window, glr_stat = glr_codes(lr, restart, (c_watch, max(c_alert, c_watch + 1e-9)))
    glr_window = np.where(has_glr, glr_window, 1)
    if "glr" in enabled:
        levels["glr"] = guarded(np.where(has_glr, glr_code, 0), glr_mu)
    glm_missing = np.isnan(_col(stored, "glm_expected"))
    for name in ("glm", "ears", "stl"):
        if name not in enabled:
            continue
        p = _col(stored, f"{name}_p_value")
        if name == "ears":
            p = np.where(glm_missing & ~has_glr, p, np.nan)
        levels[name] = guarded(_p_code(p, settings), _col(stored, f"{name}_expected"))
    if "cusum" in enabled:
        stat = _col(stored, "cusum_statistic")
        code = np.where(stat >= settings.cusum_h, 2 if settings.cusum_alert else 1, 0)
        side = _col(stored, "cusum_side")
        cusum_mu = _col(stored, "cusum_expected")
        # the CUSUM speaks for its own side only
        levels["cusum"] = np.where((side < 0) == (obs < cusum_mu), guarded(code, cusum_mu), 0)

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
        breaks_before = np.where(~at_watch, idx, np.where(restart, idx - 1, -1))
        last_break = np.maximum.accumulate(breaks_before)
        run = np.where(at_watch, idx - last_break, 0)
        persistent = (run >= settings.persistence) & (level < 2)
        level = np.where(persistent, 2, level)
    missing = np.isnan(obs)
    # object columns: building pandas' default str (Arrow) columns would cost more than the rest
    labels = np.array(["no_data", *LEVELS], dtype=object)[np.where(missing, 0, level + 1)]
    table = np.array([",".join(nm for b, nm in enumerate(names) if code >> b & 1) for code in range(1 << len(names))],
                     dtype=object)

    # what is shown: the anomaly test's expected value, bounds and score (GLR; else GLM; else EARS)
    display = {c: _col(stored, f"glm_{c}", copy=True) for c in DISPLAY if c != "observed"}
    if bounds:
        lower, upper = np.full(n, np.nan), np.full(n, np.nan)
        for d, mask in sides:
            if mask.any():
                lower[mask], upper[mask] = glm_bounds(display["expected"][mask], _col(stored, "glm_dispersion")[mask],
                                                      settings.watch_alpha, d)
                display["score"][mask] = glm_score(obs[mask], display["expected"][mask], lower[mask], upper[mask], d)
        display["lower"], display["upper"] = lower, upper
    no_glm = np.isnan(display["expected"])
    for c in display:
        display[c] = np.where(no_glm, _col(stored, f"ears_{c}"), display[c])
    pick = np.clip(glr_window, 1, 3) - 1
    rows = np.arange(n)
    tested_obs = np.where(has_glr, window_obs[rows, pick], obs)
    tested_mu = np.where(has_glr, window_mu[rows, pick], display["expected"])
    fall_side = down | (both & (tested_obs < tested_mu))
    def bound(mu, side: str, rows: np.ndarray) -> np.ndarray:
        """The alert bound on one side, solved only where it is shown (NaN elsewhere)."""
        out = np.full(n, np.nan)
        if rows.any():
            out[rows] = window_bound(mu[rows], phi[rows], c_alert, side)
        return out

    glr_upper = bound(glr_mu, "up", has_glr & ~down)
    glr_lower = bound(glr_mu, "down", has_glr & ~up)
    one = has_glr & (glr_window == 1)  # a one-period test's bound is the band's
    bound_up = np.where(one, glr_upper, bound(tested_mu, "up", has_glr & ~one & ~fall_side))
    bound_down = np.where(one, glr_lower, bound(tested_mu, "down", has_glr & ~one & fall_side))
    tested_bound = np.where(fall_side, bound_down, bound_up)
    with np.errstate(divide="ignore", invalid="ignore"):
        glr_score = np.where(fall_side, (tested_mu - tested_obs) / np.maximum(tested_mu - bound_down, 0.5),
                             (tested_obs - tested_mu) / np.maximum(bound_up - tested_mu, 0.5))
    display["expected"] = np.where(has_glr, glr_mu, display["expected"])
    display["lower"] = np.where(has_glr, np.where(up, np.nan, glr_lower), display["lower"])
    display["upper"] = np.where(has_glr, np.where(down, np.nan, glr_upper), display["upper"])
    display["score"] = np.where(has_glr, glr_score, display["score"])
    display["p_value"] = np.where(has_glr, glr_p_value(glr_stat), display["p_value"])
    tested_bound = np.where(has_glr, tested_bound, np.where(fall_side, display["lower"], display["upper"]))

    # one constructor for every column: inserting them one by one costs more than the rule itself
    columns: dict = {k: stored[k].array for k in keys}
    if "period" in stored.columns:
        columns["period"] = stored["period"].array
    columns["level"] = labels
    columns["channels"] = table[np.where(missing, 0, fired)]
    columns["provisional"] = provisional
    columns["persistent"] = persistent & ~missing
    columns["observed"] = obs
    columns.update(display)
    columns["tested_periods"] = np.where(missing, 1, glr_window).astype(int)
    columns["tested_observed"] = tested_obs
    columns["tested_expected"] = tested_mu
    columns["tested_bound"] = tested_bound
    if "cusum_shift_start" in stored:
        shift = stored["cusum_shift_start"]
        columns["shift_start"] = np.where(shift.isna().to_numpy(), None, shift.astype(str).to_numpy(dtype=object))
    else:
        columns["shift_start"] = np.full(n, None, dtype=object)
    columns.update(_criterion(stored, visa, up, down, restart, periods, criterion, ppy))
    for name in ("level", "channels", "shift_start", "criterion", "criterion_since"):
        # object columns, missing as None: pandas' default str (Arrow) columns would cost more and say NaN
        columns[name] = pd.Series(columns[name], index=stored.index, dtype=object)
    return pd.DataFrame(columns, index=stored.index)


def _criterion(stored: pd.DataFrame, visa: VisaRuleSettings, up, down, restart, periods, applies: bool,
               ppy: np.ndarray) -> dict[str, np.ndarray]:
    """The EU suspension criterion's status per row: the higher of its two legal comparisons."""
    n = len(stored)
    v_obs = _col(stored, "visa_observed")
    yoy, ref = _col(stored, "visa_change_yoy"), _col(stored, "visa_change_ref")
    with np.errstate(invalid="ignore"):
        ok_yoy = v_obs + _col(stored, "visa_expected") >= visa.min_count
        ok_ref = v_obs + _col(stored, "visa_reference") >= visa.min_count
    code = np.zeros(n, dtype=int)
    for d, mask in (("up", up), ("down", down), ("both", ~(up | down))):
        if mask.any():
            both_codes = np.maximum(change_levels(yoy, ok_yoy, visa.watch, visa.alert, d),
                                    change_levels(ref, ok_ref, visa.watch, visa.alert, d))
            code = np.where(mask, both_codes, code)
    compared = (ok_yoy & ~np.isnan(yoy)) | (ok_ref & ~np.isnan(ref))
    if not applies:
        compared = np.zeros(n, dtype=bool)
    code = np.where(compared, code, 0)
    names = np.array(["below", f"above_{round(visa.watch * 100)}", f"above_{round(visa.alert * 100)}"], dtype=object)
    status = np.where(compared, names[code], None)
    starts = run_starts(code, restart)
    period_text = np.asarray(periods.astype(str) if not isinstance(periods, pd.PeriodIndex) else periods.astype(str),
                             dtype=object)
    since = np.where(compared & (starts >= 0), period_text[np.maximum(starts, 0)] if n else period_text, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjusted = v_obs / _col(stored, "visa_reference_adjusted") - 1
    return {
        "change_yoy": np.where(applies, yoy, np.nan),
        "change_ref": np.where(applies, ref, np.nan),
        "change_adjusted": np.where(applies & np.isfinite(adjusted), adjusted, np.nan),
        "criterion": np.asarray(status, dtype=object),
        "criterion_since": np.asarray(since, dtype=object),
        # a crossing is a status not held in the previous quarter's periods (3 months; 1 quarter or year)
        "criterion_crossed": crossings(code, restart, memory=np.maximum(1, ppy // 4)) & compared,
    }


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
