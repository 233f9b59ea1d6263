"""The visa suspension rule on hand-worked two-month windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitoring.statistics.visa_rule import (
    VisaRuleSettings,
    crossings,
    run_starts,
    seasonal_factors,
    visa_rule,
)


def _months(values: dict[str, float], start="2022-01", end="2024-12", fill=50.0) -> pd.Series:
    index = pd.period_range(start, end, freq="M")
    series = pd.Series(fill, index=index)
    for period, value in values.items():
        series[pd.Period(period, "M")] = value
    return series


def test_two_month_windows_against_a_year_earlier_and_the_reference():
    """Nov-Dec 2023 = 40 + 60 = 100; May-Jun 2024 = 70 + 80 = 150 against May-Jun 2023 = 100."""
    series = _months({"2023-11": 40, "2023-12": 60, "2024-05": 70, "2024-06": 80})
    row = visa_rule(series).loc["2024-06"]
    assert (row.observed, row.expected, row.reference) == (150, 100, 100)
    assert row.change_yoy == pytest.approx(0.5) and row.change_ref == pytest.approx(0.5)
    assert row.status_code == 1  # exactly +50% is not "more than 50%": watch, not alert
    assert row.score == pytest.approx(0.5 / 0.3)
    series[pd.Period("2024-06", "M")] = 81  # 151: +51%
    assert visa_rule(series).loc["2024-06"].status_code == 2
    # +20% (Jan-Feb 2024 = 120 vs 100): normal
    quiet = visa_rule(_months({"2024-01": 60, "2024-02": 60})).loc["2024-02"]
    assert quiet.change_yoy == pytest.approx(0.2) and quiet.status_code == 0


def test_reference_change_only_after_the_reference_window():
    series = _months({"2023-11": 40, "2023-12": 60})
    result = visa_rule(series)
    assert np.isnan(result.loc["2024-01"].change_ref)  # window Dec 2023 - Jan 2024 overlaps it
    assert result.loc["2024-02"].change_ref == pytest.approx(0.0)
    assert np.isnan(result.loc["2023-06"].change_ref)
    custom = visa_rule(series, VisaRuleSettings(reference=("2023-05", "2023-06")))
    assert custom.loc["2023-08"].change_ref == pytest.approx(0.0)


def test_the_reference_alone_can_raise_the_level():
    """Flat year on year (+0%), but 130% of the low reference (Nov-Dec 2023 = 30 + 30)."""
    series = _months({"2023-11": 30, "2023-12": 30}, fill=39)
    row = visa_rule(series).loc["2024-08"]
    assert row.change_yoy == pytest.approx(0.0) and row.change_ref == pytest.approx(0.3)
    assert row.status_code == 0  # 78 / 60 - 1 = 0.3 exactly: not more than 30%
    series[pd.Period("2024-08", "M")] = 40  # 79 / 60 - 1 = 0.3167
    assert visa_rule(series).loc["2024-08"].status_code == 1


def test_low_count_guard_two_to_four_is_not_plus_100_percent():
    series = _months({"2024-03": 2, "2024-04": 2}, fill=1)
    row = visa_rule(series).loc["2024-04"]
    assert (row.observed, row.expected) == (4, 2) and row.change_yoy == pytest.approx(1.0)
    assert row.status_code == 0 and np.isnan(row.score)
    # the guard is what stops it: with a guard of 5 (4 + 2 = 6 >= 5) the same windows alert
    assert visa_rule(series, VisaRuleSettings(min_count=5)).loc["2024-04"].status_code == 2


def test_down_direction_watches_decreases():
    series = _months({"2024-09": 35, "2024-10": 35, "2024-11": 20, "2024-12": 20})
    result = visa_rule(series, direction="down")
    assert result.loc["2024-10"].change_yoy == pytest.approx(-0.3) and result.loc["2024-10"].status_code == 0
    assert result.loc["2024-11"].change_yoy == pytest.approx(-0.45) and result.loc["2024-11"].status_code == 1
    assert result.loc["2024-12"].change_yoy == pytest.approx(-0.6) and result.loc["2024-12"].status_code == 2
    assert visa_rule(series, direction="up").loc["2024-12"].status_code == 0
    assert visa_rule(series, VisaRuleSettings(direction="down")).loc["2024-12"].status_code == 2  # settings win


def test_quarterly_compares_one_quarter():
    index = pd.period_range("2022Q1", "2024Q4", freq="Q")
    series = pd.Series(100.0, index=index)
    series[pd.Period("2023Q4", "Q")] = 80.0
    series[pd.Period("2024Q2", "Q")] = 140.0
    result = visa_rule(series)
    row = result.loc["2024Q2"]
    assert (row.observed, row.expected, row.reference) == (140, 100, 80)
    assert row.change_yoy == pytest.approx(0.4) and row.change_ref == pytest.approx(0.75)
    assert row.status_code == 2
    assert np.isnan(result.loc["2023Q4"].change_ref)


def test_missing_month_makes_the_window_missing():
    series = _months({"2024-05": np.nan})
    result = visa_rule(series)
    assert np.isnan(result.loc["2024-05"].observed) and np.isnan(result.loc["2024-06"].observed)
    assert (result.loc["2024-05":"2024-06"].status_code == 0).all()


@pytest.mark.parametrize("fill", [0.0, 500.0])
def test_no_alarm_on_flat_or_zero_series(fill):
    result = visa_rule(_months({}, fill=fill), direction="both")
    assert (result.status_code == 0).all()
    assert "alarm" not in result  # the criterion is a status, never an anomaly alarm


def test_the_year_earlier_window_is_exactly_twelve_months_back_on_a_non_flat_year():
    """Every month of 2023 differs, so a lag of 11 or 13 would give another total.

    2023: Jan..Dec = 10, 20, ..., 120. May-Jun 2024 = 90 + 110 = 200 against May-Jun 2023 =
    50 + 60 = 110: +81.8%; Apr-May 2023 would be 90 and Jun-Jul 2023 130.
    """
    index = pd.period_range("2023-01", "2024-12", freq="M")
    series = pd.Series(np.r_[np.arange(10, 130, 10), np.full(12, 100.0)], index=index, dtype=float)
    series[pd.Period("2024-05", "M")] = 90
    series[pd.Period("2024-06", "M")] = 110
    row = visa_rule(series, VisaRuleSettings(min_count=1)).loc["2024-06"]
    assert (row.observed, row.expected) == (200, 110)
    assert row.change_yoy == pytest.approx(200 / 110 - 1)
    # Nov-Dec 2023 = 110 + 120 = 230: 200 / 230 - 1
    assert row.reference == 230 and row.change_ref == pytest.approx(200 / 230 - 1)
    assert row.status_code == 2  # +81.8% a year on: above +50%


def test_seasonally_adjusted_ratio_rescales_the_reference_by_its_pre_exemption_season():
    """Before 2024 every summer window is twice the Nov-Dec window: the adjusted reference of a
    summer window is twice Nov-Dec 2023, so a summer at the pre-exemption level reads +0% adjusted
    while the legal ratio says +100%."""
    index = pd.period_range("2019-01", "2024-12", freq="M")
    month = index.month.to_numpy()
    values = np.where(np.isin(month, [6, 7, 8]), 100.0, 50.0)  # Jun-Aug high season
    series = pd.Series(values, index=index)
    factors = seasonal_factors(series, ("2023-11", "2023-12"), 2, 12)
    assert factors[7] == pytest.approx(200 / 100)  # window Jul-Aug (ends in August): 200 vs Nov-Dec 100
    assert factors[0] == pytest.approx(1.0)  # Dec-Jan: 100 vs 100
    row = visa_rule(series).loc["2024-08"]
    assert row.change_ref == pytest.approx(1.0) and row.reference_adjusted == pytest.approx(200)
    assert row.change_adjusted == pytest.approx(0.0)
    assert row.status_code == 2  # the law's arithmetic is shown as the law computes it


def test_status_since_and_crossings_of_a_standing_status():
    """A status that stands raises one crossing, at the period it rose, and none after."""
    code = np.array([0, 1, 2, 2, 2, 1, 2, 0, 2, 2])
    new = np.zeros(len(code), dtype=bool)
    new[0] = True
    new[8] = True  # a second series starts at row 8
    np.testing.assert_array_equal(crossings(code, new),
                                  [False, True, True, False, False, False, True, False, True, False])
    # with a memory of 3 periods, a dip of one period and back is the standing status, not a new crossing
    np.testing.assert_array_equal(crossings(code, new, memory=3),
                                  [False, True, True, False, False, False, False, False, True, False])
    # since: the first row of the current run at or above the status
    np.testing.assert_array_equal(run_starts(code, new), [-1, 1, 2, 2, 2, 1, 6, -1, 8, 8])


def test_adjusted_change_is_the_window_over_the_seasonal_reference_and_missing_when_undefined():
    from monitoring.statistics.visa_rule import adjusted_change

    # 78 persons against a reference of 60 rescaled by a season factor of 1.3 (78): no change;
    # 120 against 60 x 0.8 = 48: +150%; a zero or missing reference: no change can be stated.
    got = adjusted_change([78, 120, 5, 5], [60 * 1.3, 60 * 0.8, 0, np.nan])
    assert got[0] == pytest.approx(0.0, abs=1e-12) and got[1] == pytest.approx(1.5)
    assert np.isnan(got[2]) and np.isnan(got[3])
