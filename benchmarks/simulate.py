"""Simulated monthly count series for the detection benchmark, after Noufaily et al. (2013).

Noufaily, Enki, Farrington, Garthwaite, Andrews and Charlett (2013), "An improved algorithm for
outbreak detection in multiple surveillance systems", Statistics in Medicine 32:1206-1222, simulate
weekly counts from a negative binomial with a log-linear mean (trend, Fourier seasonality), plant
past outbreaks in the baseline years and one current outbreak to detect. Here the same, rescaled to
months, with the events a migration monitor must see:

- mean ``mu_t = exp(theta + beta t + gamma_1 cos(2 pi t / 12) + gamma_2 sin(2 pi t / 12))``,
  t = 0..143 (12 years, 2014-01 .. 2025-12); ``exp(theta)`` = the mean level in the first month;
- counts ``Y_t ~ NB(mean mu_t, variance phi mu_t)`` (Poisson when phi = 1);
- past outbreaks (years 1-10 only): 4 per series, start uniform on months 0..119, duration 1-3
  months, each month adding ``Poisson(k sqrt(phi mu_t))`` cases with k uniform on 2..6 (Noufaily's
  outbreak size in standard deviations, per month);
- one current event in the last year, onset uniform on months 132..141 (2025-01 .. 2025-10, so at
  least 3 months are observed after it):

  - ``spike`` of size k (k = 2, 3, 5, 7, 10 standard deviations, after Noufaily): the onset month
    gets ``Poisson(k sqrt(phi mu_t))`` extra cases on top of its in-control count;
  - ``shift`` x1.3, x1.5, x2: the counts from the onset to the end are drawn with the mean
    multiplied by the factor.

:func:`simulate_in_control` draws the same kind of series with no current event (the
calibration's series, ``benchmarks/calibration.py``).

Every series is seeded from (seed, scenario, event, replicate), so any one can be regenerated alone.
Run ``python -m benchmarks.simulate --out series.csv`` to write a quick set as long CSV.
"""

from __future__ import annotations

import argparse
import itertools
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

PERIODS = pd.period_range("2014-01", periods=144, freq="M")
SCORE_FROM = 120  # the last 2 years (2024-01 .. 2025-12) are scored
ONSET_FIRST, ONSET_LAST = 132, 141
PAST_OUTBREAKS = 4


@dataclass(frozen=True)
class Scenario:
    """A parameter set: mean level, dispersion, trend and seasonality."""

    name: str
    mean: float
    phi: float
    trend: float = 0.0  # beta, per month
    seasonal: tuple[float, float] = (0.0, 0.0)  # gamma_1, gamma_2


@dataclass(frozen=True)
class Event:
    """The current event: a one-month spike of ``factor`` standard deviations, or a sustained shift
    multiplying the mean by ``factor``."""

    kind: str  # "spike" or "shift"
    factor: float

    @property
    def name(self) -> str:
        return f"spike_k{self.factor:g}" if self.kind == "spike" else f"shift_x{self.factor:g}"


SPIKE_SIZES = (2.0, 3.0, 5.0, 7.0, 10.0)  # standard deviations sqrt(phi mu) in the onset month
SHIFT_FACTORS = (1.3, 1.5, 2.0)
EVENTS = (*(Event("spike", k) for k in SPIKE_SIZES), *(Event("shift", f) for f in SHIFT_FACTORS))
MEANS = (1, 5, 50, 200, 700)
PHIS = (1.0, 2.0, 5.0)
TREND = 0.003  # +3.7% a year
SEASON = (0.4, 0.2)  # peak/trough ratio about 2.4


def scenarios(quick: bool = False) -> list[Scenario]:
    """The full grid (5 means x 3 dispersions x trend on/off x season on/off = 60) or a quick 12."""
    means, phis = ((1, 50, 700), (1.0, 3.0)) if quick else (MEANS, PHIS)
    shapes = ((False, False), (True, True)) if quick else tuple(itertools.product((False, True), repeat=2))
    out = []
    for mean, phi, (trend, season) in itertools.product(means, phis, shapes):
        name = f"m{mean}_phi{phi:g}" + ("_trend" if trend else "") + ("_season" if season else "")
        out.append(Scenario(name, float(mean), phi, TREND if trend else 0.0, SEASON if season else (0.0, 0.0)))
    return out


def mean_curve(scenario: Scenario) -> np.ndarray:
    """mu_t for t = 0..143, before outbreaks and events."""
    t = np.arange(len(PERIODS), dtype=float)
    g1, g2 = scenario.seasonal
    return scenario.mean * np.exp(scenario.trend * t + g1 * np.cos(2 * np.pi * t / 12)
                                  + g2 * np.sin(2 * np.pi * t / 12))


def _counts(rng: np.random.Generator, mu: np.ndarray, phi: float) -> np.ndarray:
    if phi <= 1:
        return rng.poisson(mu).astype(float)
    return rng.negative_binomial(mu / (phi - 1), 1 / phi).astype(float)


def _past_outbreaks(rng: np.random.Generator, y: np.ndarray, mu: np.ndarray, phi: float,
                    count: int = PAST_OUTBREAKS) -> None:
    """Add ``count`` past outbreaks (1-3 months, k = 2..6 SDs a month) in months 0..SCORE_FROM-1."""
    for _ in range(count):
        start = int(rng.integers(0, SCORE_FROM))
        months = np.arange(start, min(start + int(rng.integers(1, 4)), SCORE_FROM))
        k = rng.integers(2, 7)
        y[months] += rng.poisson(k * np.sqrt(phi * mu[months]))


def simulate_one(scenario: Scenario, event: Event, replicate: int, seed: int) -> tuple[pd.Series, int]:
    """One series and the position of its event onset."""
    key = [seed, replicate, int(event.factor * 100), int(event.kind == "spike"),
           *(ord(c) for c in scenario.name)]
    rng = np.random.default_rng(key)
    mu = mean_curve(scenario)
    y = _counts(rng, mu, scenario.phi)
    _past_outbreaks(rng, y, mu, scenario.phi)
    onset = int(rng.integers(ONSET_FIRST, ONSET_LAST + 1))
    if event.kind == "spike":
        # Noufaily's outbreak size: Poisson(k sd) extra cases, all in the onset month
        y[onset] += rng.poisson(event.factor * np.sqrt(scenario.phi * mu[onset]))
    else:
        # the shift replaces the in-control counts from the onset, drawn with the multiplied mean
        y[onset:] = _counts(rng, mu[onset:] * event.factor, scenario.phi)
    return pd.Series(y, index=PERIODS), onset


def simulate_in_control(scenario: Scenario, replicate: int, seed: int, past_outbreaks: bool = True) -> pd.Series:
    """A series of the same kind with no current event (months SCORE_FROM.. are in control)."""
    rng = np.random.default_rng([seed, replicate, 0, 2, *(ord(c) for c in scenario.name)])
    mu = mean_curve(scenario)
    y = _counts(rng, mu, scenario.phi)
    if past_outbreaks:
        _past_outbreaks(rng, y, mu, scenario.phi)
    return pd.Series(y, index=PERIODS)


def simulate(quick: bool = False, replicates: int | None = None, seed: int = 2013) -> pd.DataFrame:
    """Long frame: series_id, scenario parameters, event, replicate, onset, period, t, count."""
    replicates = replicates or (2 if quick else 20)
    frames = []
    for scenario, event, rep in itertools.product(scenarios(quick), EVENTS, range(replicates)):
        y, onset = simulate_one(scenario, event, rep, seed)
        params = asdict(scenario)
        frames.append(pd.DataFrame({
            "series_id": f"{scenario.name}|{event.name}|{rep}", "scenario": scenario.name,
            "mean": params["mean"], "phi": params["phi"], "trend": scenario.trend != 0,
            "seasonal": scenario.seasonal != (0.0, 0.0), "event": event.name, "kind": event.kind,
            "factor": event.factor, "replicate": rep, "onset": onset,
            "period": PERIODS.astype(str), "t": np.arange(len(PERIODS)) + 1, "count": y.to_numpy()}))
    return pd.concat(frames, ignore_index=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--full", action="store_true", help="the full grid (default: quick)")
    parser.add_argument("--replicates", type=int)
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args(argv)
    simulate(not args.full, args.replicates, args.seed).to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
