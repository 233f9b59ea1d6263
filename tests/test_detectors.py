"""EARS C1-C3, the negative-binomial CUSUM and the STL residual on hand-worked series."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitoring.statistics.detectors import CUSUM_H, ears, nb_cusum, stl_residual
from monitoring.statistics.levels import channel_levels

Z95 = stats.norm.ppf(0.95)
ALPHA = 0.05  # the detectors' default alpha


def _monthly(values, start="2020-01") -> pd.Series:
    return pd.Series(np.asarray(values, dtype=float), index=pd.period_range(start, periods=len(values), freq="M"))


def _raised(result: pd.DataFrame, channel: str, series: pd.Series, direction: str) -> pd.Series:
    """Where the one alarm rule raises a level from this channel alone at ALPHA (min_count 5).

    A p-value channel is 'alert' there (watch and alert share the alpha); the CUSUM is only ever
    'watch' (``LevelSettings.cusum_alert`` is off), so comparing with 'alert' alone would be vacuous.
    """
    levels = channel_levels(result, channel, direction=direction, alpha=ALPHA, series=series)
    return levels.isin(("watch", "alert"))


# ------------------------------------------------------------------------------- EARS
# y = 4, 6, 5, 9, 12, 20, 5, 7 with a reference of 3 periods (guard 2 for C2/C3):
#   reference 4,6,5: mean 5, sd 1;  6,5,9: mean 6.667, sd 2.0817;  5,9,12: mean 8.667, sd 3.5119
#   C1(t=3) = (9 - 5)/1 = 4;  C1(t=4) = (12 - 6.667)/2.0817 = 2.5620
#   C2(t=5) = (20 - 5)/1 = 15;  C2(t=6) = (5 - 6.667)/2.0817 = -0.8006;  C2(t=7) = (7 - 8.667)/3.5119 = -0.4746
#   C3(t=7) = max(0, 15 - 1) + 0 + 0 = 14
HAND = _monthly([4, 6, 5, 9, 12, 20, 5, 7])


def test_ears_c1_hand_worked():
    result = ears(HAND, "C1", baseline=3)
    assert result.index[0] == HAND.index[3]
    assert result.statistic.iloc[0] == pytest.approx(4.0)
    assert result.statistic.iloc[1] == pytest.approx(2.5620, abs=1e-4)
    assert result.upper.iloc[0] == pytest.approx(5 + Z95)
    assert result.expected.iloc[1] == pytest.approx(20 / 3)
    # EARS alarms when the statistic exceeds z, i.e. p_value < alpha
    assert result.statistic.iloc[0] > Z95 and result.p_value.iloc[0] < ALPHA
    assert result.p_value.iloc[0] == pytest.approx(stats.norm.sf(4.0))


def test_ears_c2_hand_worked():
    result = ears(HAND, "C2", baseline=3, guard=2)
    assert result.index[0] == HAND.index[5]
    np.testing.assert_allclose(result.statistic, [15.0, -0.8006, -0.4746], atol=1e-4)
    np.testing.assert_array_equal(result.statistic > Z95, [True, False, False])
    np.testing.assert_array_equal(result.p_value < ALPHA, [True, False, False])


def test_ears_c3_sums_the_current_and_two_previous_c2():
    result = ears(HAND, "C3", baseline=3, guard=2)
    assert list(result.index) == [HAND.index[7]]
    assert result.statistic.iloc[0] == pytest.approx(14.0)
    assert result.statistic.iloc[0] > Z95 and result.p_value.iloc[0] < ALPHA
    assert np.isnan(result.upper.iloc[0])  # the two previous periods alone exceed z: any count alarms
    # one more quiet period: C2(t=8) with reference 9, 12, 20 (mean 13.667, sd 5.6862) and y = 10
    longer = ears(_monthly([4, 6, 5, 9, 12, 20, 5, 7, 10]), "C3", baseline=3, guard=2)
    c2 = (10 - 41 / 3) / np.std([9, 12, 20], ddof=1)
    assert longer.statistic.iloc[1] == pytest.approx(0 + 0 + max(0, c2 - 1))  # 15 has left the window
    assert not longer.statistic.iloc[1] > Z95 and not longer.p_value.iloc[1] < ALPHA
    assert longer.upper.iloc[1] == pytest.approx(41 / 3 + np.std([9, 12, 20], ddof=1) * (1 + Z95))


def test_ears_down_alarms_on_falls():
    falling = _monthly([20, 22, 18, 21, 19, 20, 22, 8])
    result = ears(falling, "C1", direction="down")
    rising = ears(falling, "C1", direction="up")
    assert result.p_value.iloc[-1] < ALPHA and result.statistic.iloc[-1] > Z95
    assert not rising.p_value.iloc[-1] < ALPHA
    assert result.observed.iloc[-1] < result.lower.iloc[-1]
    # and the one rule agrees: a fall from ~20 (4 * expected >= 5, observed below expected) alarms
    assert _raised(result, "ears", falling, "down").iloc[-1]
    assert not _raised(rising, "ears", falling, "up").iloc[-1]


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
@pytest.mark.parametrize("level", [0.0, 12.0])
def test_ears_quiet_on_flat_series(method, level):
    series = _monthly(np.full(20, level))
    result = ears(series, method, direction="both")
    assert len(result) > 0 and not (result.p_value < ALPHA).any()
    # the rule: at level 0 its count guard alone would block, hence the p-value check above too
    assert not _raised(result, "ears", series, "both").any()
    assert (result.statistic == 0).all()


# --------------------------------------------------------------------------- NB CUSUM


def test_cusum_poisson_hand_worked():
    """mu = 10, phi = 1, shift x1.5: l = y ln 1.5 - 5; h = 5, increments clipped at 2.5.

    y = 10: l = -0.9453 -> S = 0; y = 20: l = 3.1093 -> 2.5 (clip); y = 20: S = 5 -> alarm;
    y = 10: S = 5 - 0.9453 = 4.0547.
    """
    series = _monthly([10, 20, 20, 10])
    expected = pd.Series(10.0, index=series.index)
    result = nb_cusum(series, expected, 1.0, shifts=(1.5,), h=5.0)
    np.testing.assert_allclose(result.statistic, [0, 2.5, 5.0, 5 - (5 - 10 * math.log(1.5))], atol=1e-9)
    np.testing.assert_array_equal(result.statistic >= 5.0, [False, False, True, False])  # alarm: S >= h
    assert result.shift_start.iloc[2] == series.index[1]  # the period after the CUSUM was last at zero
    assert pd.isna(result.shift_start.iloc[0])
    # the count that would have raised the alarm in the third period: (5 - 2.5 + 5) / ln 1.5
    assert result.upper.iloc[2] == pytest.approx(7.5 / math.log(1.5))


def test_cusum_increment_is_the_nb_log_likelihood_ratio():
    """One period, no clip: S = max(0, log NB(y; mean k mu) - log NB(y; mean mu)), same size r."""
    mu, phi, k = 12.0, 2.5, 1.5
    r = mu / (phi - 1)
    for y in (5, 12, 30, 45):
        result = nb_cusum(_monthly([y]), _monthly([mu]), phi, shifts=(k,), h=1e6, clip=np.inf)
        llr = stats.nbinom.logpmf(y, r, r / (r + k * mu)) - stats.nbinom.logpmf(y, r, r / (r + mu))
        assert result.statistic.iloc[0] == pytest.approx(max(0.0, llr), abs=1e-9)


def test_cusum_down_and_flat():
    expected = pd.Series(30.0, index=pd.period_range("2020-01", periods=8, freq="M"))
    falling = _monthly([30, 31, 29, 30, 12, 11, 13, 12])
    down = nb_cusum(falling, expected, 1.0, direction="down")
    up = nb_cusum(falling, expected, 1.0, direction="up")
    assert down.statistic.iloc[-1] >= CUSUM_H and (down.side == -1).iloc[-1]
    assert down.shift_start.iloc[-1] == falling.index[4]
    assert not (up.statistic >= CUSUM_H).any()
    # the one rule: the fall raises a level (4 * 30 >= 5, observed below expected), the rise never
    assert _raised(down, "cusum", falling, "down").iloc[-1]
    assert not _raised(up, "cusum", falling, "up").any()
    for level in (0.0, 30.0):
        flat = _monthly(np.full(8, level))
        quiet = nb_cusum(flat, pd.Series(level, index=flat.index), 1.0, direction="both")
        assert not (quiet.statistic >= CUSUM_H).any() and (quiet.statistic == 0).all()
        assert not _raised(quiet, "cusum", flat, "both").any()


def test_cusum_sustained_shift_is_flagged_and_ends():
    """x1.5 for six months at mean 40 (phi 1): flagged within three months; off once it ends."""
    values = [40, 38, 42, 41, 39, 40, 60, 61, 59, 62, 58, 60, 40, 39, 41, 40]
    series = _monthly(values)
    result = nb_cusum(series, pd.Series(40.0, index=series.index), 1.0)
    alarm = result.statistic >= CUSUM_H  # the CUSUM's own alarm
    first = alarm.to_numpy().argmax()
    assert alarm.any() and 6 <= first <= 8
    assert alarm.iloc[first:12].all() and not alarm.iloc[12:].any()


def test_cusum_never_uses_later_values():
    series = _monthly([40, 44, 52, 61, 58, 60, 48, 41])
    expected = pd.Series(40.0, index=series.index)
    before = nb_cusum(series, expected, 1.4)
    changed = series.copy()
    changed.iloc[5] = 0
    after = nb_cusum(changed, expected, 1.4)
    pd.testing.assert_frame_equal(before.iloc[:5], after.iloc[:5])


# -------------------------------------------------------------------------------- STL


def _seasonal(n=96, seed=2, level=80.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    month = np.arange(n) % 12
    return _monthly(rng.poisson(level * np.exp(0.5 * np.sin(2 * np.pi * month / 12))), start="2016-01")


def test_stl_flags_a_spike_and_is_past_only():
    series = _seasonal()
    spiked = series.copy()
    spiked.iloc[90] = 3 * series.iloc[90]
    before, after = stl_residual(series), stl_residual(spiked)
    assert after.index[0] == pd.Period("2019-01", "M")  # blocks are calendar years after 3 years
    cut = series.index[90]
    pd.testing.assert_frame_equal(before.loc[before.index < cut], after.loc[after.index < cut])
    assert after.loc[cut].p_value <= ALPHA and after.loc[cut].observed > after.loc[cut].upper
    # the spike is in the 2023 block: the fit for the 2024 block includes it, but only data before 2024
    assert stl_residual(spiked, score_from=pd.Period("2023-01", "M")).index[0] == pd.Period("2023-01", "M")


@pytest.mark.parametrize("transform", ["log", "power23"])
@pytest.mark.parametrize("level", [0.0, 25.0])
def test_stl_quiet_on_flat_series(transform, level):
    series = _monthly(np.full(72, level))
    result = stl_residual(series, transform=transform, direction="both")
    assert len(result) == 36 and not (result.p_value <= ALPHA).any()
    # the rule: at level 0 its count guard alone would block, hence the p-value check above too
    assert not _raised(result, "stl", series, "both").any()
    np.testing.assert_allclose(result.expected, level, atol=1e-6)


@pytest.mark.parametrize("method", ["C1", "C2", "C3"])
def test_ears_never_uses_later_values(method):
    series = _monthly([12, 15, 11, 14, 13, 16, 12, 15, 14, 13, 17, 12, 15, 14, 16])
    changed = series.copy()
    changed.iloc[12] = 90
    before, after = ears(series, method), ears(changed, method)
    pd.testing.assert_frame_equal(before.loc[before.index < series.index[12]],
                                  after.loc[after.index < series.index[12]])
    assert after.loc[series.index[12]].p_value < ALPHA  # EARS alarms at p_value < alpha
