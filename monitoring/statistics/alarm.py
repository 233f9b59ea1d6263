"""The one alarm rule: the anomaly level (normal, watch, alert) of every row of a stored frame.

:func:`alarm_levels` is the only place where a level is decided. The scan (``pipeline.scan``,
through :func:`monitoring.statistics.levels.rethreshold`), the Thresholds page's re-thresholding
(``pipeline.tuning``, the same call at candidate settings), one channel alone
(:func:`monitoring.statistics.levels.channel_levels`, held equal to R's alarms by
tests/test_golden.py) and the benchmark's scan path all reach it. The rule, from the statistical
channels only:

- the likelihood-ratio test (glr) is 'alert' where its calibrated p-value is ``<= alert_alpha``
  and 'watch' where ``<= watch_alpha``, resetting after an alarm (``monitoring.statistics.likelihood_ratio.glr_codes``);
  a p-value channel (glm = farringtonFlexible; ears only where neither glr nor glm scored; stl
  when enabled) likewise at its p-value; the CUSUM is 'watch' (or 'alert' with ``cusum_alert``)
  at ``statistic >= cusum_h``, for its own side only;
- a channel's rise needs ``recent_sum >= min_count`` and the period's own observed value above
  the channel's expected value (no anomaly at or below what was expected); its fall
  ``4 * expected >= min_count`` and the observed value below the expected one; in a provisional
  period (flagged, or inside the reporting lag) a fall never alarms;
- the level is the highest channel level, raised to 'alert' after ``persistence`` consecutive
  watch-or-higher periods (a run restarts at a new series and after a gap in the periods).

Every rule is monotone (a smaller alpha or a higher threshold never adds an alarm) but for the
likelihood-ratio test's reset after an alarm: with fewer earlier alarms a later window of 2-3
periods may reach further back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitoring.statistics.baselines import LOW_COUNT_PERIODS
from monitoring.statistics.channels import check_direction
from monitoring.statistics.detectors import CUSUM_H
from monitoring.statistics.likelihood_ratio import glr_codes, glr_threshold, window_lr
from monitoring.statistics.stored import column

CHANNELS = ("glr", "glm", "ears", "stl", "cusum")
LEGACY_CHANNELS = ("visa_yoy", "visa_ref")  # the criterion is no longer a channel; dropped from old settings
LEVELS = ("normal", "watch", "alert")


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


@dataclass(frozen=True)
class Rows:
    """The rows of a stored frame as the rule sees them: consecutive periods of one or more series."""

    ordinal: np.ndarray  # year * ppy + period of year
    ppy: np.ndarray
    new_series: np.ndarray  # True at each series' first row
    restart: np.ndarray  # a new series or a gap in the periods: runs and windows restart
    up: np.ndarray  # the bad direction of each row
    down: np.ndarray
    observed: np.ndarray
    recent: np.ndarray  # recent_sum, the count guard of a rise
    provisional: np.ndarray  # flagged, or inside the reporting lag

    @property
    def both(self) -> np.ndarray:
        return ~(self.up | self.down)

    @property
    def sides(self) -> tuple[tuple[str, np.ndarray], ...]:
        return (("up", self.up), ("down", self.down), ("both", self.both))


def rows_of(stored: pd.DataFrame, settings: LevelSettings, ordinal: np.ndarray, ppy: np.ndarray,
            codes: list[np.ndarray], direction: str | None = None, today: pd.Timestamp | None = None) -> Rows:
    """:class:`Rows` of a stored frame whose rows are in series and period order (``ordinal``, ``codes``
    of the key columns from :func:`monitoring.statistics.stored.ordinals` and ``pd.factorize``)."""
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
    if today is not None:
        t = pd.Timestamp(today)
        now = np.where(ppy == 12, t.year * 12 + t.month - 1, np.where(ppy == 4, t.year * 4 + (t.month - 1) // 3, t.year))
        lagged = now - ordinal <= settings.reporting_lag if settings.reporting_lag else np.zeros(n, bool)
    else:
        series_id = np.cumsum(new_series) - 1
        last = np.maximum.reduceat(ordinal, np.flatnonzero(new_series)) if n else ordinal
        lagged = (last[series_id] - ordinal) < settings.reporting_lag
    flag = stored["provisional_flag"].to_numpy(dtype=bool) if "provisional_flag" in stored else np.zeros(n, bool)
    return Rows(ordinal, ppy, new_series, new_series | gap, up, down, column(stored, "observed"),
                column(stored, "recent_sum"), flag | lagged)


@dataclass(frozen=True)
class GLRTest:
    """The likelihood-ratio test of the last 1-3 periods at every row (what it tested and found)."""

    expected: np.ndarray  # glr_expected (NaN where the test did not score the row)
    dispersion: np.ndarray  # phi, 1 where missing
    window_observed: np.ndarray  # (n, 3): the observed totals of the windows of 1, 2, 3 periods
    window_expected: np.ndarray
    code: np.ndarray  # thresholds reached: 0, 1 (watch), 2 (alert)
    window: np.ndarray  # periods of the window whose LR is the statistic (1 where not scored)
    statistic: np.ndarray
    alert_threshold: float

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.expected)


def glr_test(stored: pd.DataFrame, rows: Rows, settings: LevelSettings) -> GLRTest:
    """The test's codes at the settings' alphas, with the reset after an alarm (``glr_codes``)."""
    mu = column(stored, "glr_expected")
    phi = np.where(np.isnan(column(stored, "glr_dispersion")), 1.0, column(stored, "glr_dispersion"))
    window_obs = np.column_stack([rows.observed, column(stored, "glr_observed_2"), column(stored, "glr_observed_3")])
    window_mu = np.column_stack([mu, column(stored, "glr_expected_2"), column(stored, "glr_expected_3")])
    lr = np.zeros((len(stored), 3))
    for d, mask in rows.sides:
        if mask.any():
            lr[mask] = window_lr(window_obs[mask], window_mu[mask], phi[mask][:, None], d)
    lr = np.where(np.isnan(lr), 0.0, lr)
    c_watch, c_alert = glr_threshold(settings.watch_alpha), glr_threshold(settings.alert_alpha)
    # equal alphas give equal thresholds: alert then needs a hair more (the codes need an increasing pair)
    code, window, statistic = glr_codes(lr, rows.restart, (c_watch, max(c_alert, c_watch + 1e-9)))
    window = np.where(~np.isnan(mu), window, 1)
    return GLRTest(mu, phi, window_obs, window_mu, code, window, statistic, c_alert)


def _p_code(p: np.ndarray, settings: LevelSettings) -> np.ndarray:
    return np.where(p <= settings.alert_alpha, 2, np.where(p <= settings.watch_alpha, 1, 0))


def _guarded(code: np.ndarray, expected: np.ndarray, rows: Rows, settings: LevelSettings) -> np.ndarray:
    """The guards every channel shares: count, side of the expected value, provisional falls."""
    obs = rows.observed
    fall = rows.down | (rows.both & (obs < expected))
    with np.errstate(invalid="ignore"):
        ok = np.where(fall, (LOW_COUNT_PERIODS * expected >= settings.min_count) & (obs < expected),
                      (rows.recent >= settings.min_count) & (obs > expected))
    return np.where(ok & ~(fall & rows.provisional), code, 0)


def channel_codes(stored: pd.DataFrame, rows: Rows, settings: LevelSettings, glr: GLRTest) -> dict[str, np.ndarray]:
    """Each enabled channel's code per row (0 normal, 1 watch, 2 alert), guards applied."""
    enabled = set(settings.channels)
    codes: dict[str, np.ndarray] = {}
    if "glr" in enabled:
        codes["glr"] = _guarded(np.where(glr.scored, glr.code, 0), glr.expected, rows, settings)
    glm_missing = np.isnan(column(stored, "glm_expected"))
    for name in ("glm", "ears", "stl"):
        if name not in enabled:
            continue
        p = column(stored, f"{name}_p_value")
        if name == "ears":  # the short-series channel speaks only where no baseline scored
            p = np.where(glm_missing & ~glr.scored, p, np.nan)
        codes[name] = _guarded(_p_code(p, settings), column(stored, f"{name}_expected"), rows, settings)
    if "cusum" in enabled:
        stat = column(stored, "cusum_statistic")
        code = np.where(stat >= settings.cusum_h, 2 if settings.cusum_alert else 1, 0)
        cusum_mu = column(stored, "cusum_expected")
        # the CUSUM speaks for its own side only
        own_side = (column(stored, "cusum_side") < 0) == (rows.observed < cusum_mu)
        codes["cusum"] = np.where(own_side, _guarded(code, cusum_mu, rows, settings), 0)
    return codes


@dataclass(frozen=True)
class Decision:
    """The rule's answer per row."""

    level: np.ndarray  # 0 normal, 1 watch, 2 alert (rows without an observed value: 'no data' for the caller)
    fired: np.ndarray  # bit b set: channel ``names[b]`` at watch or above
    names: tuple[str, ...]
    persistent: np.ndarray  # alert raised by persistence


def alarm_levels(stored: pd.DataFrame, rows: Rows, settings: LevelSettings, glr: GLRTest) -> Decision:
    """The anomaly level of every row: the one alarm rule (module notes)."""
    codes = channel_codes(stored, rows, settings, glr)
    n = len(stored)
    level = np.zeros(n, dtype=int)
    fired = np.zeros(n, dtype=int)
    names = tuple(c for c in CHANNELS if c in codes)
    for bit, name in enumerate(names):
        level = np.maximum(level, codes[name])
        fired |= (codes[name] >= 1).astype(int) << bit
    persistent = np.zeros(n, dtype=bool)
    if settings.persistence and n:
        at_watch = level >= 1
        idx = np.arange(n)
        # a run restarts after a period below watch, at a new series and after a gap in the periods
        breaks_before = np.where(~at_watch, idx, np.where(rows.restart, idx - 1, -1))
        run = np.where(at_watch, idx - np.maximum.accumulate(breaks_before), 0)
        persistent = (run >= settings.persistence) & (level < 2)
        level = np.where(persistent, 2, level)
    return Decision(level, fired, names, persistent)
