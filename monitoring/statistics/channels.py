"""The common shape every detection channel returns.

Every channel takes a count series (a pandas Series of floats with a PeriodIndex, missing = NaN)
and returns a DataFrame with the same PeriodIndex restricted to the scored periods, with at least
these columns (after the R ``surveillance`` vocabulary):

- ``observed``  the value in the scored period
- ``expected``  the baseline's expected value
- ``lower``, ``upper``  the bounds at the channel's alpha (NaN where the channel has none)
- ``score``     exceedance score; for the GLM (observed - expected) / (upper - expected)
- ``p_value``   probability of a value at least this extreme in the bad direction

No channel decides an alarm: the one alarm rule turns channel results into levels
(:func:`monitoring.statistics.alarm.alarm_levels`, through ``levels.rethreshold``; ``levels.channel_levels`` for one channel).

Channels use past data only: the row for period t depends on values up to t (the observed value
itself is used only to score it, never to fit its own baseline).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

COLUMNS = ("observed", "expected", "lower", "upper", "score", "p_value")


def empty_result(index: pd.PeriodIndex, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    """A result frame of NaNs for the given periods."""
    frame = pd.DataFrame(np.nan, index=index, columns=[*COLUMNS, *extra])
    return frame


DIRECTIONS = ("up", "down", "both")
_PERIODS_PER_YEAR = {"M": 12, "Q": 4, "Y": 1, "A": 1}


def check_direction(direction: str) -> str:
    """The direction, or a ValueError naming the allowed ones."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, not {direction!r}")
    return direction


def periods_per_year(index: pd.PeriodIndex) -> int:
    """12 for monthly, 4 for quarterly, 1 for annual periods (ValueError otherwise)."""
    freq = getattr(index, "freqstr", None) or ""
    ppy = _PERIODS_PER_YEAR.get(freq[:1])
    if ppy is None or (freq[:1] == "M" and freq not in ("M",)):
        raise ValueError(f"expected monthly, quarterly or annual periods, not {freq!r}")
    return ppy


def regular(series: pd.Series) -> pd.Series:
    """The series as floats on every period from its first to its last (gaps become NaN)."""
    if not isinstance(series.index, pd.PeriodIndex):
        raise TypeError("a count series needs a PeriodIndex")
    periods_per_year(series.index)
    values = pd.Series(pd.to_numeric(series, errors="coerce").to_numpy(dtype=float), index=series.index)
    values = values[~values.index.duplicated(keep="last")].sort_index()
    if values.empty:
        return values
    full = pd.period_range(values.index[0], values.index[-1], freq=values.index.freq)
    return values.reindex(full)


def nb_sizes(expected, dispersion) -> np.ndarray:
    """Negative-binomial size mu / (phi - 1) giving mean mu and variance phi * mu (inf where phi <= 1)."""
    mu = np.asarray(expected, dtype=float)
    phi = np.broadcast_to(np.asarray(dispersion, dtype=float), mu.shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(phi > 1 + 1e-8, mu / (phi - 1), np.inf)


def nb_distribution(kind: str, x, expected, dispersion) -> np.ndarray:
    """The count law of every baseline at ``x``: ``kind`` 'cdf' gives ``P(Y <= x)``, 'ppf' the quantile.

    ``Y ~ NB(size = mu / (phi - 1), prob = 1 / phi)`` (mean mu, variance phi * mu), Poisson(mu) where
    ``phi <= 1`` or ``mu <= 0`` (``mu`` floored at 0); NaN where mu, phi or x is missing. ``x`` (a
    count, or a probability for 'ppf') broadcasts against mu and phi.
    """
    law = {"cdf": (stats.nbinom.cdf, stats.poisson.cdf), "ppf": (stats.nbinom.ppf, stats.poisson.ppf)}.get(kind)
    if law is None:
        raise ValueError(f"kind must be 'cdf' or 'ppf', not {kind!r}")
    x, mu, phi = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, expected, dispersion)))
    out = np.full(mu.shape, np.nan)
    ok = np.isfinite(mu) & np.isfinite(phi) & ~np.isnan(x)
    nb = ok & (phi > 1 + 1e-8) & (mu > 0)
    pois = ok & ~nb
    out[nb] = law[0](x[nb], nb_sizes(mu[nb], phi[nb]), 1 / phi[nb])
    out[pois] = law[1](x[pois], np.maximum(mu[pois], 0))
    return out
