"""The EU+ breakdown: per member destination, its excess over its own expected value, and how those
parts add up to the EU+ total's excess (the explorer's bars beside the total)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.store import Store, results
from monitoring.pipeline.labels import geo_label


@dataclass(frozen=True)
class BreakdownTotal:
    """The EU+ total beside its destinations' bars: how the parts add up to the whole.

    Each destination's excess is its observed value minus its *own* expected value; the EU+ total's
    excess is the total's observed minus the expected value of the baseline fitted on the total.
    The two are not scaled to agree (a destination above its own expected value stays above it):
    ``excess = parts_excess + not_shown + baseline_gap`` exactly, with ``not_shown`` the total's
    observed value outside the destinations shown and ``baseline_gap`` the destinations' expected
    values summed minus the total's expected value (each series has its own fit).
    """

    observed: float
    expected: float
    parts_observed: float
    parts_expected: float

    @property
    def excess(self) -> float:
        return self.observed - self.expected

    @property
    def parts_excess(self) -> float:
        return self.parts_observed - self.parts_expected

    @property
    def difference(self) -> float:
        """The total's excess minus the sum of the destinations' excesses."""
        return self.excess - self.parts_excess

    @property
    def not_shown(self) -> float:
        return self.observed - self.parts_observed

    @property
    def baseline_gap(self) -> float:
        return self.parts_expected - self.expected


def breakdown_total(parts: pd.DataFrame, total: pd.Series | dict | None) -> BreakdownTotal | None:
    """The EU+ total's row (observed, expected) against the destinations shown (:func:`breakdown`)."""
    if total is None or parts.empty:
        return None
    observed, expected = total.get("observed"), total.get("expected")
    if observed is None or expected is None or pd.isna(observed) or pd.isna(expected):
        return None
    return BreakdownTotal(observed=float(observed), expected=float(expected),
                          parts_observed=float(parts["observed"].sum()), parts_expected=float(parts["expected"].sum()))


def breakdown(
    store: Store, catalogue: Catalogue, indicator: Indicator, period: str, lang: str
) -> pd.DataFrame:
    """Per EU+ member destination in ``period``: observed minus its own expected value, and the level."""
    res = results.read_results(store, indicator=indicator.id)
    rows = res[(res["period"] == period) & res["geo"].isin(catalogue.eu_plus)]
    if rows.empty:
        return pd.DataFrame(columns=["geo_name", "excess", "level", "observed", "expected"])
    return pd.DataFrame(
        {"geo_name": [geo_label(catalogue, g, lang) for g in rows["geo"]],
         "excess": (rows["observed"] - rows["expected"]).to_numpy(), "level": rows["level"].to_numpy(),
         "observed": rows["observed"].to_numpy(), "expected": rows["expected"].to_numpy()}
    ).dropna(subset=["excess"])
