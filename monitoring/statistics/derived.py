"""Derived series: computed from loaded ones, never loaded.

* ``return_rate`` = effective_returns / return_decisions, in percent, per destination.
* The EU+ total of each indicator, scanned under geo ``EU_PLUS``: rows loaded as ``EU_PLUS``
  (the project's own code), else the aggregate Eurostat publishes for EU+ (the catalogue's
  ``eu_plus_source``, EU27_2020_EFTA), else the sum of the member countries. Aggregates are
  never summed with countries; a country with a gap in the span is left out, and said so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, FrozenMap, Indicator

RETURN_RATE = Indicator(
    id="return_rate",
    name="Return rate (effective returns / return decisions)",
    unit="percent",
    frequency="Q",
    category="return",
    bad_direction="down",
    source="Derived from Eurostat migr_eirtn and migr_eiord",
    description="Kosovo citizens returned as a share of those ordered to leave, in percent.",
    names=FrozenMap({
        "en": "Return rate (effective returns / return decisions)",
        "sq": "Shkalla e kthimit (kthime efektive / vendime kthimi)",
        "sr": "Stopa povratka (efektivni povratci / odluke o povratku)",
    }),
    sources=FrozenMap({
        "en": "Derived from Eurostat migr_eirtn and migr_eiord",
        "sq": "Llogaritur nga Eurostat migr_eirtn dhe migr_eiord",
        "sr": "Izračunato iz Eurostat migr_eirtn i migr_eiord",
    }),
)
DERIVED = (RETURN_RATE,)
EU_PLUS = "EU_PLUS"
# An "EU+ total" of a single country would mislead: at least this many complete countries.
MIN_COUNTRIES = 2


def indicator_of(catalogue: Catalogue, indicator_id: str) -> Indicator | None:
    """A catalogue indicator or a derived one (return rate), by id; None when unknown."""
    return catalogue.get(indicator_id) or next((d for d in DERIVED if d.id == indicator_id), None)


@dataclass(frozen=True)
class DerivedSeries:
    """A computed series and a note on how (e.g. which countries were left out)."""

    indicator: str
    geo: str
    values: pd.Series
    note: str = ""
    sources: tuple[tuple[str, str], ...] = ()


def return_rate(returns: pd.Series, decisions: pd.Series) -> pd.Series:
    """Effective returns as a percentage of return decisions; NaN where there were no decisions."""
    both = pd.concat([returns.rename("r"), decisions.rename("d")], axis=1)
    rate = 100.0 * both["r"] / both["d"].where(both["d"] > 0)
    return rate.rename(None)


def eu_plus_total(countries: dict[str, pd.Series], members: tuple[str, ...]) -> tuple[pd.Series, list[str]]:
    """The EU+ total from member-country series over their common span.

    Returns the total and the members left out because they have a gap (a missing value inside the
    span of the others); the total is empty when fewer than ``MIN_COUNTRIES`` remain. Non-members
    and aggregates are ignored.
    """
    used = {geo: s for geo, s in countries.items() if geo in members}
    if not used:
        return pd.Series(dtype=float), []
    frame = pd.concat(used, axis=1).sort_index()
    complete = frame.dropna(how="all")
    excluded = sorted(geo for geo in complete.columns if complete[geo].isna().any())
    kept = complete.drop(columns=excluded)
    if kept.shape[1] < MIN_COUNTRIES:
        return pd.Series(dtype=float), excluded
    return kept.sum(axis=1, min_count=1), excluded


def derive(series: dict[tuple[str, str], pd.Series], catalogue: Catalogue) -> list[DerivedSeries]:
    """Every derived series computable from the loaded ones."""
    out: list[DerivedSeries] = []
    geos_of: dict[str, dict[str, pd.Series]] = {}
    for (indicator, geo), values in series.items():
        geos_of.setdefault(indicator, {})[geo] = values
    for indicator, by_geo in geos_of.items():
        ind = catalogue.get(indicator)
        if ind is None or EU_PLUS in by_geo:
            continue
        source = catalogue.eu_plus_source
        if source and source in by_geo:
            out.append(DerivedSeries(indicator, EU_PLUS, by_geo[source],
                                     f"EU+ total as published by Eurostat ({source})", ((indicator, source),)))
            continue
        if ind.unit == "percent":
            continue  # a rate is never summed
        total, excluded = eu_plus_total(by_geo, catalogue.eu_plus)
        if total.empty:
            continue
        note = "EU+ total computed from country rows"
        if excluded:
            note += f"; left out for gaps: {', '.join(excluded)}"
        used = tuple((indicator, g) for g in sorted(by_geo) if g in catalogue.eu_plus and g not in excluded)
        out.append(DerivedSeries(indicator, EU_PLUS, total, note, used))
    returns, decisions = geos_of.get("effective_returns", {}), geos_of.get("return_decisions", {})
    for geo in sorted(set(returns) & set(decisions)):
        rate = return_rate(returns[geo], decisions[geo])
        if np.isfinite(rate.to_numpy(dtype=float)).any():
            out.append(DerivedSeries(RETURN_RATE.id, geo, rate, "effective_returns / return_decisions",
                                     (("effective_returns", geo), ("return_decisions", geo))))
    return out
