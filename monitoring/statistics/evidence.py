"""What a level shows: the anomaly test's expected value, bounds and score, and what it tested.

The shown test is the likelihood-ratio test (glr) where it scored the row, else farringtonFlexible's
GLM, else EARS. For the GLR the bounds are those of one period at the alert threshold (score 1 at
it), and ``tested_*`` the window of 1-3 periods whose evidence is strongest: its totals and the
alert bound of the total (:func:`monitoring.statistics.likelihood_ratio.window_bound`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.statistics.alarm import GLRTest, LevelSettings, Rows
from monitoring.statistics.baselines import glm_bounds, glm_score
from monitoring.statistics.likelihood_ratio import glr_p_value, window_bound
from monitoring.statistics.stored import column

DISPLAY = ("observed", "expected", "lower", "upper", "score", "p_value")


def _baseline_shown(stored: pd.DataFrame, rows: Rows, settings: LevelSettings, bounds: bool) -> dict[str, np.ndarray]:
    """The GLM's expected value, bounds, score and p-value (EARS' where the GLM has none); with
    ``bounds`` the GLM's bounds and score recomputed at ``watch_alpha``."""
    shown = {c: column(stored, f"glm_{c}", copy=True) for c in DISPLAY if c != "observed"}
    if bounds:
        n = len(stored)
        lower, upper = np.full(n, np.nan), np.full(n, np.nan)
        for d, mask in rows.sides:
            if mask.any():
                lower[mask], upper[mask] = glm_bounds(shown["expected"][mask], column(stored, "glm_dispersion")[mask],
                                                      settings.watch_alpha, d)
                shown["score"][mask] = glm_score(rows.observed[mask], shown["expected"][mask], lower[mask],
                                                 upper[mask], d)
        shown["lower"], shown["upper"] = lower, upper
    no_glm = np.isnan(shown["expected"])
    return {c: np.where(no_glm, column(stored, f"ears_{c}"), values) for c, values in shown.items()}


def evidence(stored: pd.DataFrame, rows: Rows, settings: LevelSettings, glr: GLRTest, *,
             bounds: bool = False) -> dict[str, np.ndarray]:
    """``expected, lower, upper, score, p_value`` of the shown test and ``tested_observed,
    tested_expected, tested_bound`` (module notes), one array each, in the rows' order."""
    n = len(stored)
    shown = _baseline_shown(stored, rows, settings, bounds)
    has_glr, up, down = glr.scored, rows.up, rows.down
    pick = np.clip(glr.window, 1, 3) - 1
    tested_obs = np.where(has_glr, glr.window_observed[np.arange(n), pick], rows.observed)
    tested_mu = np.where(has_glr, glr.window_expected[np.arange(n), pick], shown["expected"])
    fall_side = down | (rows.both & (tested_obs < tested_mu))

    def bound(mu, side: str, where: np.ndarray) -> np.ndarray:
        """The alert bound on one side, solved only where it is shown (NaN elsewhere)."""
        out = np.full(n, np.nan)
        if where.any():
            out[where] = window_bound(mu[where], glr.dispersion[where], glr.alert_threshold, side)
        return out

    glr_upper = bound(glr.expected, "up", has_glr & ~down)
    glr_lower = bound(glr.expected, "down", has_glr & ~up)
    one = has_glr & (glr.window == 1)  # a one-period test's bound is the band's
    bound_up = np.where(one, glr_upper, bound(tested_mu, "up", has_glr & ~one & ~fall_side))
    bound_down = np.where(one, glr_lower, bound(tested_mu, "down", has_glr & ~one & fall_side))
    tested_bound = np.where(fall_side, bound_down, bound_up)
    with np.errstate(divide="ignore", invalid="ignore"):
        glr_score = np.where(fall_side, (tested_mu - tested_obs) / np.maximum(tested_mu - bound_down, 0.5),
                             (tested_obs - tested_mu) / np.maximum(bound_up - tested_mu, 0.5))
    out = {
        "expected": np.where(has_glr, glr.expected, shown["expected"]),
        "lower": np.where(has_glr, np.where(up, np.nan, glr_lower), shown["lower"]),
        "upper": np.where(has_glr, np.where(down, np.nan, glr_upper), shown["upper"]),
        "score": np.where(has_glr, glr_score, shown["score"]),
        "p_value": np.where(has_glr, glr_p_value(glr.statistic), shown["p_value"]),
    }
    out["tested_observed"] = tested_obs
    out["tested_expected"] = tested_mu
    out["tested_bound"] = np.where(has_glr, tested_bound, np.where(fall_side, out["lower"], out["upper"]))
    return out
