"""Scoring one series: run the channels and build the stored frame (see ``monitoring.statistics.levels``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Indicator
from indicators.periods import PERIODS_PER_YEAR, to_text
from monitoring.settings import IndicatorSettings
from monitoring.statistics.baselines import glm_baseline
from monitoring.statistics.detectors import ears, nb_cusum, stl_residual
from monitoring.statistics.glr import glr_baseline
from monitoring.statistics.impact import visa_free_impact
from monitoring.statistics.stored import to_stored
from monitoring.statistics.visa_rule import visa_rule


def _years_of_history(values: pd.Series, ppy: int) -> float:
    present = values.dropna()
    return 0.0 if present.empty else (len(values.loc[present.index[0]:]) / ppy)


IMPACT_MIN_VALUES = 24  # a projection from fewer than two years of history would say nothing


def impact_rows(values: pd.Series, indicator: Indicator) -> pd.DataFrame:
    """The visa-free impact of a count series, ready for the store (empty for rates and short series)."""
    if indicator.unit == "percent" or values.notna().sum() < IMPACT_MIN_VALUES:
        return pd.DataFrame()
    imp = visa_free_impact(values)
    if imp.empty or imp["expected"].isna().all():
        return pd.DataFrame()
    out = imp.reset_index(names="period")
    out.insert(0, "period_start", pd.to_datetime([p.start_time for p in out["period"]]))
    out["period"] = [to_text(p) for p in out["period"]]
    out.insert(0, "indicator", indicator.id)
    return out


def score_series(values: pd.Series, flags: pd.Series, indicator: Indicator, settings: IndicatorSettings,
                 score_from: pd.Period | None = None) -> pd.DataFrame:
    """The stored frame of one series: every channel's per-period parameters, ready for the store.

    Method ``auto``: the likelihood-ratio test on the seasonal baseline (glr) scores monthly and
    quarterly periods with at least ``glr.min_years`` of history, and farringtonFlexible's GLM
    without a season scores annual ones (an annual baseline); ``glm``: farringtonFlexible's GLM
    with ``glm.min_years``;
    EARS scores the rest (and whole series shorter than that, or every period with method
    ``ears``). The CUSUM runs against the baseline's expected values of monthly and quarterly series
    (not annual ones: over a few annual points it would sum the drift of the baseline); STL is a stored second
    opinion; the EU suspension criterion's totals are stored beside them (never a channel). With
    ``score_from``, only periods from then on are scored (and returned).
    """
    direction = indicator.bad_direction
    ppy = PERIODS_PER_YEAR[indicator.frequency]
    channels: dict[str, pd.DataFrame] = {}
    years = _years_of_history(values, ppy)
    baseline = None
    if settings.method == "auto" and ppy > 1 and years > settings.glr.min_years:
        glr = glr_baseline(values, settings.glr, score_from=score_from)
        if len(glr):
            channels["glr"] = baseline = glr
    elif (settings.method == "glm" or (settings.method == "auto" and ppy == 1)) and years > settings.glm.min_years:
        # farringtonFlexible's GLM; for an annual series (method auto too) it is the annual
        # baseline: trend and level over the previous years, no season, the latest year left out.
        glm = glm_baseline(values, settings.glm, direction=direction, score_from=score_from)
        if len(glm):
            channels["glm"] = baseline = glm
    if baseline is not None and ppy > 1:  # annual series: each year is tested on its own, no CUSUM
        channels["cusum"] = nb_cusum(values, baseline["expected"], baseline["dispersion"], direction=direction)
    # EARS always: it scores the first years of a series (and any period the baseline could not)
    channels["ears"] = ears(values, "C2", alpha=settings.levels.watch_alpha, direction=direction)
    if ppy > 1 and years > 3:
        channels["stl"] = stl_residual(values, period=ppy, direction=direction, alpha=settings.levels.watch_alpha,
                                       score_from=score_from)
    if ppy > 1:
        channels["visa"] = visa_rule(values, settings.visa_rule, direction=direction)
    provisional = flags.reindex(values.index).eq("p").fillna(False).astype(bool)
    stored = to_stored(channels, direction=direction, provisional=provisional, series=values)
    stored["last_year"] = values.shift(ppy).reindex(stored.index)
    first = values.first_valid_index() if values.notna().any() else None
    if score_from is not None and first is not None:
        first = max(first, score_from)
    stored = stored[stored.index >= first] if first is not None else stored.iloc[:0]
    out = stored.reset_index()
    out["cusum_shift_start"] = [None if pd.isna(p) else to_text(p) if isinstance(p, pd.Period) else str(p)
                                for p in out["cusum_shift_start"]]
    out.insert(0, "period_start", pd.to_datetime([p.start_time for p in out["period"]]))
    out["period"] = [to_text(p) for p in out["period"]]
    out.insert(0, "indicator", indicator.id)
    for col in out.columns:
        if col not in ("indicator", "geo", "period", "period_start", "direction", "cusum_shift_start",
                       "provisional_flag"):
            out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["provisional_flag"] = out["provisional_flag"].astype(bool)
    return out.replace([np.inf, -np.inf], np.nan)
