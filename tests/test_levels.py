"""Levels from channels: rules, provisional falls, persistence, rethreshold == combine, monotonicity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitoring.baselines import glm_baseline
from monitoring.detectors import ears, nb_cusum, stl_residual
from monitoring.levels import LevelSettings, combine, rethreshold, to_stored
from monitoring.visa_rule import visa_rule

RANK = {"no_data": -1, "normal": 0, "watch": 1, "alert": 2}


def _monthly(values, start="2016-01") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.period_range(start, periods=len(values), freq="M"))


def _channels(series: pd.Series, direction: str) -> dict[str, pd.DataFrame]:
    glm = glm_baseline(series, direction=direction)
    return {"glm": glm, "cusum": nb_cusum(series, glm.expected, glm.dispersion, direction=direction),
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


def test_channel_names_and_visa_levels():
    frame = _frame([0.03, 0.5, 0.5], visa_observed=[150.0, 150.0, 130.0], visa_expected=[100.0, 100.0, 100.0],
                   visa_reference=[100.0, 95.0, 100.0], visa_change_yoy=[0.5, 0.5, 0.3],
                   visa_change_ref=[0.5, 150 / 95 - 1, 0.3])
    result = rethreshold(frame, LevelSettings(persistence=0))
    assert list(result.channels) == ["glm,visa_yoy,visa_ref", "visa_yoy,visa_ref", ""]
    assert list(result.level) == ["watch", "alert", "normal"]  # +57.9% on the reference: alert
    guarded = rethreshold(frame, LevelSettings(persistence=0, visa_min_count=300))
    assert list(guarded.level) == ["watch", "normal", "normal"]


def test_low_count_guard_and_no_data():
    frame = _frame([0.001, 0.001, 0.001], recent_sum=[4.0, 5.0, 5.0], observed=[3.0, 4.0, np.nan])
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
                     series=series, settings=LevelSettings(channels=("glm", "ears", "stl", "cusum", "visa_yoy",
                                                                     "visa_ref")))
    assert (result.level == "normal").all() and (result.channels == "").all()


# -------------------------------------------------------------- rethreshold == combine


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


@pytest.mark.parametrize("level_settings", [LevelSettings(), LevelSettings(watch_alpha=0.1, alert_alpha=0.001,
                                                                           persistence=3, reporting_lag=2,
                                                                           channels=("glm", "stl"))])
def test_rethreshold_of_stored_equals_combine(level_settings):
    again = rethreshold(STORED, level_settings)
    for geo, rows in STORED.groupby("geo"):
        seed = int(geo[1:])
        direction = rows.direction.iloc[0]
        series = _seasonal(seed=seed)
        series.iloc[80:86] *= 1.7 if direction != "down" else 0.5
        flags = _no_flags(series)
        flags.iloc[-2:] = True
        direct = combine(_channels(series, direction), direction=direction, provisional=flags, series=series,
                         settings=level_settings)
        mine = again[again.geo == geo].set_index("period")
        assert (direct.level != "normal").any()
        for col in ("level", "channels", "provisional", "persistent"):
            assert list(mine[col]) == list(direct[col]), col
        np.testing.assert_allclose(mine.expected, direct.expected)


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
