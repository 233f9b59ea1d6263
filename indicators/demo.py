"""Deterministic synthetic demo data: one tidy CSV per catalogue indicator (labelled synthetic).

Run ``python -m indicators.demo [--out data/demo] [--end 2026-10] [--seed 2024]``.
Each (indicator, geo) series is a seasonal, trending mean with negative-binomial noise; see
data/demo/README.md for the model and the anomalies planted on purpose.
"""

from __future__ import annotations

import argparse
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator, load_catalogue
from indicators.periods import to_text

DEFAULT_DIR = Path(__file__).parent.parent / "data" / "demo"
DEFAULT_END = "2026-10"
DEFAULT_SEED = 2024
START = "2015-01"
HEADER = "indicator,geo,period,value,flag"
DESTINATIONS = ("DE", "FR", "CH", "AT", "IT", "SE", "BE", "NL")
AGGREGATE = "EU27_2020_EFTA"  # the EU+ total as Eurostat publishes it (EU27 and EFTA)
HOME = "XK"

# (indicator, geo, period, factor): multiplies the series mean before the noise is drawn.
PLANTED_ANOMALIES = (
    ("asylum_applications", "BE", "2019-10", 3.0),  # a past one-month spike in the baseline years
    ("asylum_applications", "FR", "2026-05", 2.2),  # one-month spike
    ("asylum_applications", "DE", "2026-07", 1.6),  # sustained shift, two months
    ("asylum_applications", "DE", "2026-08", 1.6),
    ("asylum_applications", "AT", "2026-10", 2.4),  # this month's surge, in a provisional month
    ("refused_entry", "AT", "2025", 2.0),  # in a provisional year: a rise still alarms
    ("effective_returns", "DE", "2026-Q1", 0.5),  # returns collapse; Q1 is the first final quarter
    ("effective_returns", "DE", "2026-Q2", 0.5),
    ("repatriated_persons", "DE", "2026-08", 0.4),  # readmissions collapse in the last final month
)
# Cells left empty (missing, never zero) to exercise gaps; EU_PLUS is then flagged `e`.
MISSING = {("asylum_applications", "NL"): ("2018-07", "2018-08", "2018-09", "2018-10")}
# Methodological breaks: the level changes by `factor` from `period` on, which is flagged `b`.
BREAKS = {("irregular_stay", "FR"): ("2021", 1.25), ("border_exits", "XK"): ("2019-01", 1.06)}
# Series published from a later period than the demo's start (Eurostat's quarterly returns, 2021-Q1).
FIRST_PERIOD = {"return_decisions": "2021-Q1", "effective_returns": "2021-Q1"}
# Annual collections drawn from the same model as their quarterly counterparts.
SAME_PROFILE = {"return_decisions_annual": "return_decisions", "effective_returns_annual": "effective_returns"}
# Periods flagged provisional at the end of every series, by frequency.
PROVISIONAL = {"M": 2, "Q": 2, "A": 1}
# Single cells flagged `e` (estimated), e.g. counts reconstructed during the first lockdown.
ESTIMATED = {("passport_issuance", "XK"): ("2020-04", "2020-05")}

_FLAT = (1.0,) * 12


@dataclass(frozen=True)
class Profile:
    """How one indicator's monthly mean is built; factors multiply.

    mean(geo, t) = scale[geo] * seasonal[month] * (1 + wave * exp(-t / decay)) * (1 + growth)^t
                   * covid(t) * visa(t) * bump(t),  t in years since 2015-01.
    """

    scales: Mapping[str, float]  # monthly mean in calm years (2022-23) by geo
    seasonal: tuple[float, ...] = _FLAT  # Jan..Dec, normalised to mean 1
    wave: float = 0.0  # extra level early in 2015 (after the winter 2014-15 wave), decaying
    wave_geo: Mapping[str, float] = field(default_factory=dict)
    decay: float = 1.2  # years
    growth: float = 0.0  # per year
    covid: tuple[float, ...] = (0.3, 0.4, 0.6)  # 2020-04, 2020-05, 2020-06, then recovered
    visa: float = 1.0  # level from 2024-01 (visa-free travel)
    overshoot: float = 0.0  # extra share at 2024-01, decaying over a year
    bump: tuple[str, float, float] | None = None  # (centre month, sd in months, height)
    dispersion: float = 2.0  # variance / mean of the negative-binomial noise


_ASYLUM_SEASON = (1.15, 1.05, 0.95, 0.85, 0.85, 0.85, 0.9, 0.95, 1.05, 1.15, 1.15, 1.1)
_TRAVEL_SEASON = (0.85, 0.75, 0.8, 0.9, 0.95, 1.05, 1.35, 1.4, 1.0, 0.9, 0.85, 1.2)
_RETURN_SEASON = (1.0, 1.0, 1.05, 1.05, 1.05, 1.0, 0.95, 0.9, 1.05, 1.05, 1.05, 0.85)

PROFILES: dict[str, Profile] = {
    "asylum_applications": Profile(
        dict(DE=80, FR=65, CH=35, AT=20, IT=10, SE=12, BE=15, NL=8), _ASYLUM_SEASON, wave=2.0,
        wave_geo=dict(DE=3.0, FR=1.0, CH=1.0), visa=1.7, overshoot=0.2, dispersion=2.0),
    "refused_entry": Profile(
        dict(DE=25, FR=10, CH=15, AT=20, IT=12, SE=3, BE=4, NL=5), _TRAVEL_SEASON, wave=0.8,
        covid=(0.1, 0.15, 0.4), visa=1.8, dispersion=2.5),
    "irregular_stay": Profile(
        dict(DE=150, FR=60, CH=40, AT=35, IT=25, SE=10, BE=15, NL=10), _TRAVEL_SEASON, wave=1.5,
        visa=1.6, overshoot=0.1, dispersion=2.5),
    "border_exits": Profile(
        dict(XK=160_000), _TRAVEL_SEASON, growth=0.02, covid=(0.1, 0.15, 0.35), visa=1.2,
        dispersion=3.0),
    "passport_issuance": Profile(
        dict(XK=12_000), (0.9, 0.9, 1.05, 1.1, 1.15, 1.15, 1.05, 0.95, 0.95, 0.95, 0.9, 0.95),
        covid=(0.25, 0.35, 0.7), bump=("2023-10", 6.0, 0.9), dispersion=3.0),
    "return_decisions": Profile(
        dict(DE=120, FR=60, CH=20, AT=25, IT=15, SE=15, BE=20, NL=10), _RETURN_SEASON, wave=2.0,
        decay=1.5, covid=(0.5, 0.5, 0.7), visa=1.6, dispersion=2.0),
    "effective_returns": Profile(
        dict(DE=80, FR=25, CH=16, AT=18, IT=6, SE=10, BE=10, NL=6), _RETURN_SEASON, wave=2.0,
        decay=1.5, covid=(0.2, 0.3, 0.6), visa=1.05, dispersion=2.0),
    "repatriated_persons": Profile(
        dict(DE=80, FR=25, CH=15, AT=15, IT=5, SE=8, BE=8, NL=5), _RETURN_SEASON, wave=3.0,
        covid=(0.1, 0.2, 0.5), visa=1.2, dispersion=2.0),
}
# First-instance recognition rates (percent) in calm years; decisions follow asylum applications.
RECOGNITION = dict(DE=2.0, FR=10.0, CH=6.0, AT=5.0, IT=20.0, SE=4.0, BE=8.0, NL=6.0)
_GENERIC = Profile(dict.fromkeys(DESTINATIONS, 20.0), wave=1.0, dispersion=2.0)


def rng_for(seed: int, indicator: str, geo: str) -> np.random.Generator:
    """The series' own generator: PCG64 from the seed and a stable hash of (indicator, geo)."""
    digest = hashlib.sha256(f"{indicator}|{geo}".encode()).digest()
    return np.random.Generator(np.random.PCG64([seed, int.from_bytes(digest[:8], "big")]))


def periods_for(freq: str, end: str = DEFAULT_END) -> list[str]:
    """Periods from 2015 to ``end``: months, or quarters up to the last complete one."""
    last = pd.Period(end, freq="M")
    if freq == "M":
        return [to_text(p) for p in pd.period_range(START, last, freq="M")]
    pandas_freq = {"Q": "Q-DEC", "A": "Y-DEC"}[freq]
    final = last.asfreq(pandas_freq)
    if final.asfreq("M", how="end") > last:  # the period containing `end` is not complete
        final -= 1
    return [to_text(p) for p in pd.period_range(START, final, freq=pandas_freq)]


def monthly_mean(profile: Profile, geo: str, months: pd.PeriodIndex) -> np.ndarray:
    """The noise-free monthly mean of one series (see ``Profile``)."""
    t = (months.year - 2015) + (months.month - 1) / 12
    t = np.asarray(t, dtype=float)
    season = np.asarray(profile.seasonal) / np.mean(profile.seasonal)
    mean = profile.scales[geo] * season[np.asarray(months.month) - 1]
    mean = mean * (1 + profile.wave_geo.get(geo, profile.wave) * np.exp(-t / profile.decay))
    mean = mean * (1 + profile.growth) ** t
    text = [to_text(p) for p in months]
    for month, factor in zip(("2020-04", "2020-05", "2020-06"), profile.covid, strict=True):
        mean = np.where(np.asarray(text) == month, mean * factor, mean)
    since = np.maximum(t - 9.0, 0.0) * 12  # months since 2024-01
    visa = profile.visa * (1 + profile.overshoot * np.exp(-since / 12))
    mean = np.where(t >= 9.0, mean * visa, mean)
    if profile.bump:
        centre = pd.Period(profile.bump[0], freq="M")
        offset = np.array([(p - centre).n for p in months], dtype=float)
        mean = mean * (1 + profile.bump[2] * np.exp(-0.5 * (offset / profile.bump[1]) ** 2))
    return mean


def _expected(indicator: str, profile: Profile, geo: str, freq: str, periods: list[str]) -> np.ndarray:
    """Mean per output period: monthly means summed over each period, then breaks and anomalies."""
    months = pd.period_range(START, periods[-1] if freq == "M" else _last_month(periods[-1]), freq="M")
    mean = pd.Series(monthly_mean(profile, geo, months), index=[to_text(p) for p in months])
    if freq != "M":
        key = [to_text(p.asfreq({"Q": "Q-DEC", "A": "Y-DEC"}[freq])) for p in months]
        mean = mean.groupby(key, sort=False).sum()
    mean = mean.reindex(periods)
    if (indicator, geo) in BREAKS:
        at, factor = BREAKS[(indicator, geo)]
        mean[mean.index >= at] *= factor
    for ind, g, period, factor in PLANTED_ANOMALIES:
        if (ind, g) == (indicator, geo) and period in mean.index:
            mean[period] *= factor
    return mean.to_numpy()


def _last_month(period: str) -> str:
    if "-Q" in period:
        year, quarter = period.split("-Q")
        return f"{year}-{int(quarter) * 3:02d}"
    return f"{period}-12"


def draw_counts(rng: np.random.Generator, mean: np.ndarray, dispersion: float) -> np.ndarray:
    """Negative-binomial counts with the given mean and variance = dispersion * mean.

    A small multiplicative log-normal jitter (sd 3%) is added first, so that large counts such as
    border exits are not implausibly smooth; for small counts the negative-binomial noise dominates.
    """
    mean = np.maximum(mean * np.exp(rng.normal(0.0, 0.03, len(mean))), 1e-6)
    return rng.negative_binomial(mean / (dispersion - 1.0), 1.0 / dispersion)


def _geos(indicator: Indicator) -> tuple[str, ...]:
    profile = PROFILES.get(SAME_PROFILE.get(indicator.id, indicator.id))
    if profile is not None and tuple(profile.scales) == (HOME,):
        return (HOME,)
    if profile is None and indicator.category == "leading":
        return (HOME,)
    return DESTINATIONS


def series_for(indicator: Indicator, seed: int = DEFAULT_SEED, end: str = DEFAULT_END) -> pd.DataFrame:
    """One indicator's tidy rows (columns indicator, geo, period, value, flag); value NaN = missing."""
    periods = periods_for(indicator.frequency, end)
    geos = _geos(indicator)
    rate = indicator.unit == "percent"
    profile = PROFILES["asylum_applications"] if rate else PROFILES.get(SAME_PROFILE.get(indicator.id, indicator.id),
                                                                          _GENERIC)
    if profile is _GENERIC and geos == (HOME,):
        profile = Profile({HOME: 10_000.0}, dispersion=3.0)
    values: dict[str, np.ndarray] = {}
    totals: dict[str, np.ndarray] = {}  # true counts, or (positives, decisions) for a rate
    for geo in geos:
        rng = rng_for(seed, indicator.id, geo)
        mean = _expected(indicator.id, profile, geo, indicator.frequency, periods)
        if rate:
            decisions = draw_counts(rng, mean, profile.dispersion)
            share = _recognition(geo, periods)
            share = rng.beta(share * 200, (1 - share) * 200)  # over-dispersed around the share
            positives = rng.binomial(decisions, share)
            totals[geo] = np.vstack([positives, decisions])
            with np.errstate(invalid="ignore", divide="ignore"):
                values[geo] = np.round(100.0 * positives / np.where(decisions > 0, decisions, np.nan), 1)
        else:
            totals[geo] = draw_counts(rng, mean, profile.dispersion).astype(float)
            values[geo] = totals[geo].copy()
    flags = {geo: np.full(len(periods), "", dtype=object) for geo in geos}
    gaps = np.zeros(len(periods), dtype=bool)
    for geo in geos:
        key = (indicator.id, geo)
        hit = np.isin(periods, MISSING.get(key, ()))
        values[geo][hit] = np.nan
        gaps |= hit
        flags[geo][np.isin(periods, ESTIMATED.get(key, ()))] = "e"
        if key in BREAKS:
            flags[geo][np.asarray(periods) == BREAKS[key][0]] = "b"
    if geos == DESTINATIONS:
        total = sum(totals[g] for g in geos)
        if rate:
            values[AGGREGATE] = np.round(100.0 * total[0] / np.maximum(total[1], 1), 1)
        else:
            values[AGGREGATE] = total  # EU+ publishes a total even where a country is missing here
        flags[AGGREGATE] = np.where(gaps, "e", "").astype(object)
    frames = []
    for geo, value in values.items():
        flag = flags[geo]
        flag[-PROVISIONAL[indicator.frequency]:] = "p"
        frames.append(pd.DataFrame({"indicator": indicator.id, "geo": geo, "period": periods,
                                    "value": value, "flag": flag}))
    rows = pd.concat(frames, ignore_index=True)
    first = FIRST_PERIOD.get(indicator.id)
    return rows[rows["period"] >= first].reset_index(drop=True) if first else rows


def _recognition(geo: str, periods: list[str]) -> np.ndarray:
    """Expected share of positive decisions: lower in 2015-16 (mass rejections), lower again after 2024."""
    year = np.array([int(p[:4]) for p in periods])
    share = RECOGNITION.get(geo, 5.0) / 100 * np.where(year <= 2016, 0.5, 1.0) * np.where(year >= 2024, 0.7, 1.0)
    return np.clip(share, 0.001, 0.999)


def to_csv_text(rows: pd.DataFrame, unit: str, seed: int) -> str:
    """Rows as tidy CSV with the synthetic-data comment lines; counts as integers, percentages to 0.1."""
    lines = ["# synthetic: true",
             f"# SYNTHETIC DEMO DATA - generated by indicators/demo.py (seed {seed}); not real statistics.",
             HEADER]
    for r in rows.itertuples(index=False):
        value = "" if pd.isna(r.value) else (f"{r.value:.1f}" if unit == "percent" else str(int(r.value)))
        lines.append(f"{r.indicator},{r.geo},{r.period},{value},{r.flag}")
    return "\n".join(lines) + "\n"


def write_demo(out_dir: str | Path, end: str = DEFAULT_END, seed: int = DEFAULT_SEED,
               catalogue: Catalogue | None = None) -> list[Path]:
    """Write ``<out_dir>/<indicator_id>.csv`` for every catalogue indicator; returns the paths."""
    if pd.Period(end, freq="M") < pd.Period("2015-12", freq="M"):
        raise ValueError(f"end {end!r} is before 2015-12: the demo needs at least one year")
    catalogue = catalogue or load_catalogue()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for indicator in catalogue.indicators:
        path = out / f"{indicator.id}.csv"
        text = to_csv_text(series_for(indicator, seed, end), indicator.unit, seed)
        path.write_text(text, encoding="utf-8", newline="\n")
        paths.append(path)
    return paths


def demo_paths(dir: Path = DEFAULT_DIR) -> list[Path]:
    """The shipped demo CSV files."""
    return sorted(Path(dir).glob("*.csv"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m indicators.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(DEFAULT_DIR), help="output folder (default data/demo)")
    parser.add_argument("--end", default=DEFAULT_END, help="last month, YYYY-MM (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default %(default)s)")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.end):
        parser.error(f"--end {args.end!r} is not a month YYYY-MM")
    try:
        paths = write_demo(args.out, end=args.end, seed=args.seed)
    except ValueError as exc:
        parser.error(str(exc))
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
