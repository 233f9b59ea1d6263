"""Derived series: the return rate and EU+ totals from country rows."""

from __future__ import annotations

import math

import pandas as pd

from monitoring.statistics.derived import derive, eu_plus_total, return_rate


def _q(values, start="2024Q1"):
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="Q-DEC"), dtype=float)


def test_return_rate_is_returns_over_decisions_in_percent():
    rate = return_rate(_q([30, 10, 5]), _q([100, 40, 0]))
    assert rate.iloc[0] == 30.0 and rate.iloc[1] == 25.0 and math.isnan(rate.iloc[2])


def test_eu_plus_total_leaves_out_countries_with_gaps_and_ignores_non_members():
    total, excluded = eu_plus_total(
        {"DE": _q([10, 20, 30]), "FR": _q([1, None, 3]), "CH": _q([5, 5, 5]), "UK": _q([100, 100, 100]),
         "EU27_2020": _q([999, 999, 999])},
        members=("DE", "FR", "CH"))
    assert excluded == ["FR"]
    assert total.tolist() == [15.0, 25.0, 35.0]


def test_derive_adds_eu_plus_only_where_not_loaded_and_says_what_was_left_out(catalogue):
    series = {("asylum_applications", "DE"): _q([10, 20]), ("asylum_applications", "FR"): _q([1, None]),
              ("asylum_applications", "CH"): _q([2, 2]),
              ("refused_entry", "DE"): _q([1, 2]), ("refused_entry", "EU_PLUS"): _q([5, 5]),
              ("effective_returns", "DE"): _q([3, 4]), ("return_decisions", "DE"): _q([6, 8])}
    derived = {(d.indicator, d.geo): d for d in derive(series, catalogue)}
    # refused_entry has its own EU_PLUS row; one-country totals (returns, decisions: DE only) are not made
    assert set(derived) == {("asylum_applications", "EU_PLUS"), ("return_rate", "DE")}
    eu = derived[("asylum_applications", "EU_PLUS")]
    assert eu.values.tolist() == [12.0, 22.0] and eu.note.endswith("left out for gaps: FR")
    assert eu.sources == (("asylum_applications", "CH"), ("asylum_applications", "DE"))
    assert derived[("return_rate", "DE")].values.tolist() == [50.0, 50.0]
