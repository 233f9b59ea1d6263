"""Levels from channels: rules worked by hand, provisional falls, persistence, monotonicity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.statistics.baselines import glm_baseline
from monitoring.statistics.detectors import ears, nb_cusum, stl_residual
from monitoring.statistics.glr import glr_baseline
from monitoring.statistics.levels import LevelSettings, combine, rethreshold, to_stored
from monitoring.statistics.visa_rule import visa_rule

RANK = {"no_data": -1, "normal": 0, "watch": 1, "alert": 2}


def _monthly(values, start="2016-01") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.period_range(start, periods=len(values), freq="M"))


def _channels(series: pd.Series, direction: str, baseline: str = "glm") -> dict[str, pd.DataFrame]:
    """Every channel as the scan runs them, with farringtonFlexible's GLM or the default test (glr)."""
    base = glm_baseline(series, direction=direction) if baseline == "glm" else glr_baseline(series)
    return {baseline: base, "cusum": nb_cusum(series, base.expected, base.dispersion, direction=direction),
            "ears": ears(series, "C2", direction=direction), "stl": stl_residual(series, direction=direction),
            "visa": visa_rule(series, direction=direction)}


def _no_flags(series: pd.Series) -> pd.Series:
    return pd.Series(False, index=series.index)


def _seasonal(n=108, seed=7, level=60.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    return _monthly(rng.poisson(level * np.exp(0.3 * np.cos(2 * np.pi * month / 12))))


def _frame(p_values, **columns) -> pd.DataFrame:
    """A hand-built stored frame of one 'up' series with GLM p-values (expected 50, recent sum 200)."""
    n = len(p_values)
    frame = pd.DataFrame({"direction": "up", "observed": 60.0, "recent_sum": 200.0, "glm_expected": 50.0,
                          "glm_p_value": p_values, "provisional_flag": False},
                         index=pd.period_range("2024-01", periods=n, freq="M"))
    for name, values in columns.items():
        frame[name] = values
    return frame


# ----------------------------------------------------------------------------- rules


def test_watch_alert_and_persistence_from_p_values():
    result = rethreshold(_frame([0.5, 0.03, 0.5, 0.03, 0.04, 0.005, 0.5, 0.03]), LevelSettings(persistence=2))
    assert list(result.level) == ["normal", "watch", "normal", "watch", "alert", "alert", "normal", "watch"]
    assert list(result.persistent) == [False, False, False, False, True, False, False, False]
    assert result.channels.iloc[1] == "glm" and result.channels.iloc[0] == ""
    no_persistence = rethreshold(_frame([0.03, 0.03]))  # the default: off (see BENCHMARKS.md)
    assert list(no_persistence.level) == ["watch", "watch"]


def test_a_gap_in_the_periods_breaks_persistence():
    frame = _frame([0.03, 0.03, 0.03])
    frame.index = pd.PeriodIndex(["2024-01", "2024-02", "2024-05"], freq="M")
    assert list(rethreshold(frame, LevelSettings(persistence=2)).level) == ["watch", "alert", "watch"]


def test_the_criterion_is_a_status_and_never_raises_the_level():
    """+50% and +58% on the legal comparisons: the criterion says so, the anomaly level does not move."""
    frame = _frame([0.03, 0.5, 0.5], visa_observed=[150.0, 150.0, 130.0], visa_expected=[100.0, 100.0, 100.0],
                   visa_reference=[100.0, 95.0, 100.0], visa_change_yoy=[0.5, 0.5, 0.3],
                   visa_change_ref=[0.5, 150 / 95 - 1, 0.3])
    result = rethreshold(frame, LevelSettings(persistence=0))
    assert list(result.channels) == ["glm", "", ""]
    assert list(result.level) == ["watch", "normal", "normal"]
    # +50% exactly is above 30 but not above 50; +57.9% on the reference is above 50; +30% is neither
    assert list(result.criterion) == ["above_30", "above_50", "below"]
    assert list(result.criterion_since) == ["2024-01", "2024-02", None]
    assert list(result.criterion_crossed) == [True, True, False]  # 30 in Jan, 50 in Feb: each a first
    from monitoring.statistics.visa_rule import VisaRuleSettings
    guarded = rethreshold(frame, LevelSettings(persistence=0), visa=VisaRuleSettings(min_count=300))
    assert list(guarded.criterion) == [None, None, None] and list(guarded.level) == ["watch", "normal", "normal"]
    off = rethreshold(frame, LevelSettings(persistence=0), criterion=False)
    assert off.criterion.isna().all() and off.change_yoy.isna().all()


def test_no_rise_alarm_at_or_below_the_expected_value():
    """A p-value that says 'alarm' with the observed value at or below expected is not an anomaly."""
    frame = _frame([0.001, 0.001, 0.001], observed=[49.0, 50.0, 51.0])
    assert list(rethreshold(frame).level) == ["normal", "normal", "alert"]


def test_low_count_guard_and_no_data():
    frame = _frame([0.001, 0.001, 0.001], recent_sum=[4.0, 5.0, 5.0], observed=[3.0, 4.0, np.nan],
                   glm_expected=1.0)
    result = rethreshold(frame, LevelSettings(persistence=0))
    assert list(result.level) == ["normal", "alert", "no_data"] and result.channels.iloc[2] == ""


def test_ears_counts_only_where_the_glm_has_no_result():
    frame = _frame([np.nan, 0.5], glm_expected=[np.nan, 50.0], ears_p_value=[0.001, 0.001],
                   ears_expected=[40.0, 40.0])
    result = rethreshold(frame, LevelSettings(persistence=0))
    assert list(result.level) == ["alert", "normal"] and result.channels.iloc[0] == "ears"
    assert result.expected.iloc[0] == 40.0 and result.expected.iloc[1] == 50.0


# ------------------------------------------------------------------------ provisional


def test_a_provisional_drop_never_alarms():
    values = np.full(84, 200.0)
    values[-1] = 80.0
    series = _monthly(values)
    for direction in ("down", "both"):
        channels = _channels(series, direction)
        final = combine(channels, direction=direction, provisional=_no_flags(series), series=series)
        assert final.level.iloc[-1] == "alert"
        flagged = _no_flags(series)
        flagged.iloc[-1] = True
        provisional = combine(channels, direction=direction, provisional=flagged, series=series)
        assert provisional.level.iloc[-1] == "normal" and provisional.provisional.iloc[-1]
        lagged = combine(channels, direction=direction, provisional=_no_flags(series), series=series,
                         settings=LevelSettings(reporting_lag=1))
        assert lagged.level.iloc[-1] == "normal" and lagged.provisional.iloc[-1]
        assert not lagged.provisional.iloc[-2]
    up = combine(_channels(series, "up"), direction="up", provisional=_no_flags(series), series=series)
    assert up.level.iloc[-1] == "normal"


def test_a_provisional_rise_still_alarms():
    values = np.full(84, 200.0)
    values[-1] = 400.0
    series = _monthly(values)
    flagged = _no_flags(series)
    flagged.iloc[-1] = True
    result = combine(_channels(series, "up"), direction="up", provisional=flagged, series=series)
    assert result.level.iloc[-1] == "alert" and result.provisional.iloc[-1]


def test_reporting_lag_counts_back_from_today():
    frame = _frame([0.5, 0.5, 0.5])  # 2024-01 .. 2024-03
    lag = LevelSettings(reporting_lag=2)
    result = rethreshold(frame, lag, today=pd.Timestamp("2024-05-15"))
    assert list(result.provisional) == [False, False, True]  # 2024-03 is two months before May


@pytest.mark.parametrize("direction", ["up", "down", "both"])
@pytest.mark.parametrize("level", [0.0, 40.0])
def test_no_alarm_on_flat_or_zero_series(direction, level):
    series = _monthly(np.full(96, level))
    result = combine(_channels(series, direction), direction=direction, provisional=_no_flags(series),
                     series=series, settings=LevelSettings(channels=("glr", "glm", "ears", "stl", "cusum")))
    assert (result.level == "normal").all() and (result.channels == "").all()


# ------------------------------------------------------------------ levels by hand


def _stored_many() -> pd.DataFrame:
    parts = []
    for seed, direction in ((1, "up"), (2, "down"), (3, "both")):
        series = _seasonal(seed=seed)
        series.iloc[80:86] *= 1.7 if direction != "down" else 0.5
        flags = _no_flags(series)
        flags.iloc[-2:] = True
        stored = to_stored(_channels(series, direction), direction=direction, provisional=flags, series=series)
        stored.insert(0, "geo", f"G{seed}")
        stored.insert(0, "indicator", "asylum_applications")
        parts.append(stored.reset_index())
    return pd.concat(parts, ignore_index=True)


STORED = _stored_many()


def _hand_frame() -> pd.DataFrame:
    """Three series worked out by hand below (no fitting): GLM p-values, a CUSUM, EARS, the guards."""
    def series(geo, direction, p, **columns):
        n = len(p)
        frame = pd.DataFrame({"indicator": "asylum_applications", "geo": geo, "direction": direction,
                              "period": [str(x) for x in pd.period_range("2024-01", periods=n, freq="M")],
                              "observed": 60.0, "recent_sum": 200.0, "glm_expected": 50.0, "glm_p_value": p,
                              "provisional_flag": False})
        for name, values in columns.items():
            frame[name] = values
        return frame

    a = series("A", "up", [0.2, 0.04, 0.008, 0.04, 0.2, 0.2],
               cusum_statistic=[0, 0, 0, 0, 0, 5.0], cusum_side=1.0, cusum_expected=50.0)
    b = series("B", "down", [0.005, 0.005, 0.03, 0.005], observed=30.0,
               provisional_flag=[False, False, False, True])
    c = series("C", "up", [0.001, 0.001, np.nan, 0.001, 0.001], observed=[50.0, 60.0, 60.0, 60.0, np.nan],
               recent_sum=[200.0, 4.0, 200.0, 200.0, 200.0], glm_expected=[50.0, 50.0, np.nan, 50.0, 50.0],
               ears_p_value=[0.5, 0.5, 0.001, 0.001, 0.5], ears_expected=40.0)
    return pd.concat([a, b, c], ignore_index=True)


def test_levels_worked_by_hand_at_the_default_alphas_with_persistence_3():
    """watch_alpha 0.05, alert_alpha 0.01, persistence 3, cusum_h 5 (watch), min_count 5.

    A (up, observed 60 > expected 50, recent sum 200):
      Jan p 0.2 -> normal; Feb p 0.04 <= 0.05 -> watch; Mar p 0.008 <= 0.01 -> alert;
      Apr p 0.04 -> watch, the third period running at watch or above -> alert by persistence;
      May p 0.2 -> normal (the run breaks); Jun p 0.2 but the CUSUM at 5 >= h on its rising side -> watch.
    B (down, observed 30 < expected 50; 4 * 50 >= 5):
      Jan, Feb p 0.005 -> alert; Mar p 0.03 -> watch, third running -> alert by persistence;
      Apr p 0.005 but provisional: a fall never alarms there -> normal.
    C (up):
      Jan observed 50 = expected: no rise at or below expected -> normal; Feb recent sum 4 < 5 -> normal;
      Mar no GLM result, EARS p 0.001 -> alert (ears); Apr GLM p 0.001 -> alert (glm; EARS is ignored
      where the GLM scored); May no observed value -> no_data.
    """
    result = rethreshold(_hand_frame(), LevelSettings(persistence=3))
    assert list(result.level) == ["normal", "watch", "alert", "alert", "normal", "watch",
                                  "alert", "alert", "alert", "normal",
                                  "normal", "normal", "alert", "alert", "no_data"]
    assert list(result.persistent) == [False, False, False, True, False, False,
                                       False, False, True, False,
                                       False, False, False, False, False]
    assert list(result.channels) == ["", "glm", "glm", "glm", "", "cusum",
                                     "glm", "glm", "glm", "",
                                     "", "", "ears", "glm", ""]
    assert list(result.provisional) == [False] * 9 + [True] + [False] * 5


def test_levels_worked_by_hand_at_stricter_alphas_without_persistence():
    """watch_alpha 0.01, alert_alpha 0.005, persistence 0 (same frame).

    A: p 0.2, 0.04, 0.008, 0.04, 0.2 -> normal, normal, watch (0.008 <= 0.01), normal, normal; Jun the
       CUSUM -> watch. B: p 0.005 <= 0.005 -> alert, alert; 0.03 -> normal; provisional fall -> normal.
    C: as before but for the alphas: p 0.001 <= 0.005 -> alert where the guards let it through.
    """
    result = rethreshold(_hand_frame(), LevelSettings(watch_alpha=0.01, alert_alpha=0.005))
    assert list(result.level) == ["normal", "normal", "watch", "normal", "normal", "watch",
                                  "alert", "alert", "normal", "normal",
                                  "normal", "normal", "alert", "alert", "no_data"]
    assert not result.persistent.any()
    only_glm = rethreshold(_hand_frame(), LevelSettings(channels=("glm",)))  # no CUSUM, no EARS
    assert list(only_glm.level[:6]) == ["normal", "watch", "alert", "watch", "normal", "normal"]
    assert only_glm.level.iloc[12] == "normal" and only_glm.channels.iloc[13] == "glm"
    alert_cusum = rethreshold(_hand_frame(), LevelSettings(cusum_alert=True))
    assert alert_cusum.level.iloc[5] == "alert" and alert_cusum.channels.iloc[5] == "cusum"


def test_rethreshold_accepts_shuffled_rows_and_text_periods():
    ordered = rethreshold(STORED)
    shuffled = STORED.sample(frac=1.0, random_state=0)
    shuffled["period"] = shuffled["period"].astype(str)
    again = rethreshold(shuffled)
    assert list(again.index) == list(shuffled.index)
    assert list(again.loc[ordered.index, "level"]) == list(ordered.level)


def test_rethreshold_bounds_at_watch_alpha():
    stored = STORED[STORED.geo == "G1"]
    at_scan = rethreshold(stored)
    recomputed = rethreshold(stored, bounds=True)
    np.testing.assert_allclose(recomputed.upper, at_scan.upper)  # the scan ran at alpha 0.05
    wider = rethreshold(stored, LevelSettings(watch_alpha=0.01), bounds=True)
    scored = ~np.isnan(at_scan.upper)
    assert (wider.upper[scored] >= at_scan.upper[scored]).all() and (wider.upper > at_scan.upper).any()


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.0005, 0.3), b=st.floats(0.0005, 0.3), c=st.floats(0.0005, 0.3), d=st.floats(0.0005, 0.3),
       lag=st.integers(0, 3))
def test_levels_are_monotone_in_alpha(a, b, c, d, lag):
    """Smaller alphas (each of watch and alert) never raise any period's level."""
    loose_alert, loose_watch = sorted((a, b))
    strict_alert, strict_watch = sorted((min(c, loose_alert), min(d, loose_watch)))
    loose = rethreshold(STORED, LevelSettings(watch_alpha=loose_watch, alert_alpha=loose_alert, reporting_lag=lag))
    strict = rethreshold(STORED, LevelSettings(watch_alpha=strict_watch, alert_alpha=strict_alert,
                                               reporting_lag=lag))
    assert (strict.level.map(RANK) <= loose.level.map(RANK)).all()


# ------------------------------------------------------------- the default anomaly test (glr)


def _stored_glr() -> pd.DataFrame:
    parts = []
    for seed, direction in ((4, "up"), (5, "down"), (6, "both")):
        series = _seasonal(seed=seed)
        series.iloc[80:83] *= 1.6 if direction != "down" else 0.55
        stored = to_stored(_channels(series, direction, "glr"), direction=direction, series=series)
        stored.insert(0, "geo", f"G{seed}")
        stored.insert(0, "indicator", "asylum_applications")
        parts.append(stored.reset_index())
    return pd.concat(parts, ignore_index=True)


STORED_GLR = _stored_glr()


def test_the_default_test_alarms_on_the_planted_change_and_says_what_it_tested():
    result = rethreshold(STORED_GLR)
    for geo in ("G4", "G5", "G6"):
        rows = result[result.geo == geo].reset_index(drop=True)
        planted = rows[rows.period.astype(str).between("2022-09", "2022-11")]
        assert (planted.level == "alert").any() and planted.channels.str.contains("glr").any()
        alarms = rows[rows.level == "alert"]
        k = alarms.tested_periods.to_numpy()
        assert ((k >= 1) & (k <= 3)).all()
        # what was tested is the window total against the alert bound of that total
        one = alarms[alarms.tested_periods == 1]
        np.testing.assert_allclose(one.tested_observed, one.observed)
        np.testing.assert_allclose(one.tested_expected, one.expected)
        rise = alarms.tested_observed > alarms.tested_expected
        assert ((alarms.tested_observed[rise] > alarms.tested_bound[rise]) | (alarms.score[rise] >= 1 - 1e-9)).all()
    assert (result.p_value.dropna().between(0, 1)).all()


@settings(max_examples=30, deadline=None)
@given(a=st.floats(0.0005, 0.3), b=st.floats(0.0005, 0.3))
def test_the_default_test_is_monotone_in_alpha_but_for_its_reset(a, b):
    """A stricter alpha never adds a one-period alarm, nor alarms in all. The reset after an alarm is
    the one exception, per period: with fewer earlier alarms a later window may reach further back
    (it is what keeps one spike from alarming three periods running)."""
    strict, loose = sorted((a, b))
    at = {alpha: rethreshold(STORED_GLR, LevelSettings(watch_alpha=0.3, alert_alpha=alpha)) for alpha in (strict, loose)}
    one = {alpha: (r.level == "alert") & (r.tested_periods == 1) for alpha, r in at.items()}
    assert not (one[strict] & ~(at[loose].level == "alert")).any()
    assert (at[strict].level == "alert").sum() <= (at[loose].level == "alert").sum()


def test_a_wave_with_under_three_years_of_history_is_seen_by_the_short_series_channel():
    """The 2014-15 wave of departures had under 3 years of history before it in Eurostat's monthly
    series: the baseline test cannot score it, EARS must. A series from 2012-01 at about 150 a
    month rises from August 2014; the product's scoring raises an alert in its first two months."""
    from indicators.catalogue import load_catalogue
    from monitoring.pipeline.scoring import score_series
    from monitoring.settings import MonitorSettings

    rng = np.random.default_rng(2014)
    index = pd.period_range("2012-01", "2015-06", freq="M")
    mean = np.full(len(index), 150.0)
    wave = index >= pd.Period("2014-08", "M")
    mean[wave] = 150.0 * np.exp(0.35 * np.arange(1, wave.sum() + 1))
    series = pd.Series(rng.poisson(mean).astype(float), index=index)
    indicator = load_catalogue()["asylum_applications"]
    settings = MonitorSettings().for_indicator(indicator.id)
    stored = score_series(series, pd.Series(None, index=index, dtype=object), indicator, settings)
    levels = rethreshold(stored, settings.levels, direction="up", visa=settings.visa_rule)
    alerts = levels[levels.level == "alert"]
    first = pd.Period(alerts["period"].iloc[0], "M")
    assert pd.Period("2014-08", "M") <= first <= pd.Period("2014-09", "M")
    assert "ears" in alerts["channels"].iloc[0]
    before = levels[pd.PeriodIndex(levels["period"], freq="M") < pd.Period("2014-08", "M")]
    assert (before.level != "alert").all()
