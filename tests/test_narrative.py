"""The plain sentences and the formats they use, in three languages."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from monitoring.i18n import number, percent, period_label
from monitoring.narrative import sentence, year_earlier

ROW = dict(period="2026-05", observed=310.0, expected=140.2, lower=90.0, upper=205.4, last_year=140.0,
           channels="glr", provisional=False, level="alert")


def test_the_design_example_reads_as_specified(catalogue):
    assert sentence(ROW, catalogue["asylum_applications"], "France") == (
        "First-time asylum applications in France, May 2026: 310, expected 140 (upper bound 205); "
        "+121% on May 2025; raised by seasonal baseline test.")


def test_an_anomaly_that_also_crosses_the_criterion_says_both(catalogue):
    row = ROW | {"criterion": "above_50", "criterion_crossed": True, "criterion_since": "2026-05",
                 "change_yoy": 0.62, "change_ref": 0.41}
    assert sentence(row, catalogue["asylum_applications"], "France") == (
        "First-time asylum applications in France, May 2026: 310, expected 140 (upper bound 205); "
        "+121% on May 2025; raised by seasonal baseline test; EU suspension criterion newly crossed: "
        "above +50% (+62% on the same months a year earlier).")


def test_a_standing_criterion_status_says_since_when(catalogue):
    row = ROW | {"criterion": "above_50", "criterion_crossed": False, "criterion_since": "2024-02",
                 "change_yoy": 0.1, "change_ref": 0.8}
    assert sentence(row, catalogue["asylum_applications"], "France").endswith(
        "raised by seasonal baseline test; EU suspension criterion above +50% (+80% on November–December 2023) "
        "since February 2024 (28 months).")


def test_a_criterion_crossing_without_an_anomaly_is_a_status_not_an_alert(catalogue):
    row = ROW | {"level": "normal", "channels": "", "criterion": "above_30", "criterion_crossed": True,
                 "change_yoy": 0.35, "change_ref": float("nan"), "observed": 150.0}
    assert sentence(row, catalogue["asylum_applications"], "France") == (
        "First-time asylum applications in France, May 2026: EU suspension criterion newly crossed: above +30% "
        "(+35% on the same months a year earlier); not abnormal for this series (150, expected 140).")
    # a normal period with no crossing has no sentence at all
    assert sentence(ROW | {"level": "normal", "criterion": "below"}, catalogue["asylum_applications"], "FR") == ""


def test_a_test_of_several_periods_says_what_it_tested(catalogue):
    row = ROW | {"observed": 180.0, "tested_periods": 3, "tested_observed": 900.0, "tested_expected": 600.0,
                 "tested_bound": 780.0}
    assert sentence(row, catalogue["asylum_applications"], "France").endswith(
        "raised by seasonal baseline test: the last 3 months total 900, expected 600 (alert bound 780).")


def test_a_sustained_shift_says_when_it_began(catalogue):
    row = ROW | {"channels": "cusum", "level": "watch", "shift_start": "2026-02"}
    assert sentence(row, catalogue["asylum_applications"], "France").endswith(
        "raised by sustained shift (a sustained shift since February 2026).")


def test_down_indicators_quote_the_lower_bound_and_provisional_is_said(catalogue):
    row = dict(ROW, observed=40.0, last_year=80.0, channels="glr", provisional=True)
    assert sentence(row, catalogue["effective_returns"], "Germany") == (
        "Returned following an order to leave in Germany, May 2026: 40, expected 140 (lower bound 90); "
        "−50% on May 2025; raised by seasonal baseline test (provisional figure).")


def test_home_series_and_missing_last_year(catalogue):
    row = dict(ROW, last_year=math.nan, channels="cusum")
    assert sentence(row, catalogue["border_exits"], "Kosovo") == (
        "Exits of Kosovo citizens at border crossing points, May 2026: 310, expected 140 "
        "(upper bound 205); no figure for May 2025; raised by sustained shift.")


def test_percent_units_and_quarters(catalogue):
    row = dict(ROW, period="2026-Q2", observed=2.5, expected=6.25, lower=3.0, last_year=5.0, channels="glm")
    assert sentence(row, catalogue["recognition_rate"], "Germany").startswith(
        "Asylum recognition rate in Germany, Q2 2026: 2.5%, expected 6.3% (lower bound 3.0%); −50% on Q2 2025")


@pytest.mark.parametrize("lang, expected", [
    ("en", "Aplikime" not in "x" and "First-time asylum applications in France, May 2026: 310"),
    ("sq", "Aplikime për azil për herë të parë në France, maj 2026: 310, e pritur 140 (kufiri i sipërm 205)"),
    ("sr", "Prvi zahtevi za azil u France, maj 2026: 310, očekivano 140 (gornja granica 205)"),
])
def test_sentences_in_each_language(catalogue, lang, expected):
    assert sentence(ROW, catalogue["asylum_applications"], "France", lang).startswith(expected)


@pytest.mark.parametrize("lang, text", [("en", "12,345.6"), ("sr", "12.345,6"), ("sq", "12\u00a0345,6")])
def test_numbers_follow_the_language(lang, text):
    assert number(12345.6, lang, 1) == text


def test_percent_and_period_labels():
    assert percent(1.2143) == "+121%" and percent(-0.5) == "−50%" and percent(math.nan) == "–"
    assert period_label("2026-05") == "May 2026" and period_label("2026-05", "sq") == "maj 2026"
    assert period_label("2026-Q2", "sr") == "K2 2026" and period_label("2026") == "2026"
    assert year_earlier(pd.Period("2026-01", "M")) == pd.Period("2025-01", "M")
    assert year_earlier(pd.Period("2026Q1", "Q-DEC")) == pd.Period("2025Q1", "Q-DEC")


def test_quarterly_series_name_the_visa_reference_as_the_quarter_holding_nov_dec(catalogue):
    from monitoring.pipeline.views import reference_label

    # alerts first seen before the criterion left the channels keep their channel names
    row = dict(ROW, period="2026-Q2", channels="visa_ref")
    assert sentence(row, catalogue["return_decisions"], "AT").endswith("raised by visa rule vs Q4 2023.")
    standing = dict(ROW, period="2026-Q2", criterion="above_50", criterion_since="2025-Q4", change_ref=0.7,
                    change_yoy=0.1)
    assert sentence(standing, catalogue["return_decisions"], "AT").endswith(
        "EU suspension criterion above +50% (+70% on Q4 2023) since Q4 2025 (3 quarters).")
    assert sentence(row, catalogue["return_decisions"], "AT", "sr").endswith("signalizirali: vizno pravilo u odnosu "
                                                                          "na K4 2023.")
    assert sentence(ROW | {"channels": "visa_ref"}, catalogue["asylum_applications"], "FR").endswith(
        "raised by visa rule vs Nov–Dec 2023.")
    assert reference_label(("2023-11", "2023-12")) == "November–December 2023"
    assert reference_label(("2023-11", "2023-12"), "en", "Q") == "Q4 2023"


READMITTED = dict(ROW, period="2026-05", observed=42.0, expected=29.0, lower=18.0, upper=38.0, last_year=17.0)


@pytest.mark.parametrize("lang, expected", [
    ("en", "Persons readmitted to Kosovo (France), May 2026: 42, expected 29; above expected: good news for "
           "returns; not an alarm."),
    ("sq", "Persona të riatdhesuar në Kosovë (Franca), maj 2026: 42, e pritur 29; mbi të priturën: lajm i mirë "
           "për kthimet; nuk është alarm."),
    ("sr", "Lica readmitovana na Kosovo (Francuska), maj 2026: 42, očekivano 29; iznad očekivanog: dobra vest za "
           "povratke; nije uzbuna."),
])
def test_a_rise_in_returns_flagged_by_old_results_reads_as_good_news(catalogue, lang, expected):
    assert catalogue["repatriated_persons"].bad_direction == "down"
    assert sentence(READMITTED, catalogue["repatriated_persons"], "FR", lang, catalogue) == expected


def test_good_news_the_other_way_and_real_alarms_unchanged(catalogue):
    low = dict(ROW, observed=40.0, last_year=80.0)  # far below expected where a rise is the concern
    assert sentence(low, catalogue["asylum_applications"], "France").endswith(
        "40, expected 140; below expected: good news, a fall is not the concern for this indicator; not an alarm.")
    fall = dict(READMITTED, observed=9.0)  # a fall in readmissions is the alarm
    assert sentence(fall, catalogue["repatriated_persons"], "FR", "en", catalogue) == (
        "Persons readmitted to Kosovo (France), May 2026: 9, expected 29 (lower bound 18); −47% on May 2025; "
        "raised by seasonal baseline test.")
