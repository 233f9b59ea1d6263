"""Write the fixed monthly count series the R goldens are computed on (series.csv, ears_series.csv).

Run from the repository root: ``python tests/golden/make_series.py``. Deterministic (fixed seed);
regenerate only on purpose, and then rerun ``Rscript tests/golden/farrington.R`` and
``Rscript tests/golden/ears.R``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
SEED = 20240101
PERIODS = pd.period_range("2014-01", "2025-12", freq="M")  # 144 months; the last 36 are scored


def _counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    """Poisson (phi == 1) or negative-binomial counts with mean mu and variance phi * mu."""
    if phi == 1:
        return rng.poisson(mu).astype(float)
    return rng.negative_binomial(mu / (phi - 1), 1 / phi).astype(float)


def _month_mask(*months: str) -> np.ndarray:
    return PERIODS.isin(pd.PeriodIndex(list(months), freq="M"))


def make_ears_series() -> pd.DataFrame:
    """A short series (30 months, too short for the GLM) for EARS C1-C3: Poisson(20), then a rise."""
    rng = np.random.default_rng(SEED + 1)
    periods = pd.period_range("2023-07", periods=30, freq="M")
    mu = np.where(np.arange(30) >= 24, 34.0, 20.0)
    return pd.DataFrame({"short_rise": rng.poisson(mu).astype(float)},
                        index=pd.Index(periods.astype(str), name="period"))


def make_series() -> pd.DataFrame:
    """The six golden series, one column each, indexed by month."""
    rng = np.random.default_rng(SEED)
    t = np.arange(len(PERIODS), dtype=float)
    month = PERIODS.month.to_numpy()
    season = np.cos(2 * np.pi * (month - 7) / 12)  # peak in July
    out = {}

    out["low_flat"] = _counts(rng, np.full(t.shape, 2.0), 1)

    mu = 3 * np.exp(0.5 * season)
    mu[_month_mask("2021-03", "2021-04", "2021-05")] *= 3
    out["low_seasonal_outbreak"] = _counts(rng, mu, 1.5)

    mu = 50 * np.exp(0.4 * season)
    mu[_month_mask("2020-06", "2020-07", "2020-08")] *= 2.5
    mu[_month_mask("2022-11")] *= 3
    out["medium_seasonal_outbreak"] = _counts(rng, mu, 2.0)

    mu = 30 * np.exp(0.008 * t + 0.3 * season)
    values = _counts(rng, mu, 1.5)
    values[_month_mask("2019-04", "2019-05", "2020-10")] = np.nan  # missing, never zero
    out["medium_trend_missing"] = values

    mu = 700 * np.exp(0.004 * t + 0.3 * season)
    mu[_month_mask("2021-09", "2021-10", "2021-11")] *= 1.6
    out["high_trend_seasonal"] = _counts(rng, mu, 3.0)

    mu = np.full(t.shape, 700.0)
    mu[_month_mask("2019-01", "2019-02", "2019-03")] *= 1.8
    mu[PERIODS >= pd.Period("2025-07", freq="M")] *= 1.5  # a current surge: alarms expected
    out["high_flat_surge"] = _counts(rng, mu, 1)

    return pd.DataFrame(out, index=pd.Index(PERIODS.astype(str), name="period"))


if __name__ == "__main__":
    make_series().to_csv(HERE / "series.csv", float_format="%.0f")
    make_ears_series().to_csv(HERE / "ears_series.csv", float_format="%.0f")
