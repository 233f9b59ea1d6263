"""Detection settings: the TOML file, per-indicator overrides, messages, and the fit hash."""

from __future__ import annotations

import pytest

from monitoring.settings import (
    MonitorSettings,
    SettingsError,
    load_settings,
    parse_settings,
    settings_from_json,
)


def test_shipped_defaults_load():
    s = load_settings()
    assert (s.levels.watch_alpha, s.levels.alert_alpha, s.levels.persistence) == (0.05, 0.01, 0)
    assert (s.visa_rule.watch, s.visa_rule.alert) == (0.30, 0.50)
    assert s.visa_rule.reference == ("2023-11", "2023-12")
    assert s.glm.years == 5 and s.glm.exclude_recent_months == 6
    assert (s.glr.years, s.glr.windows, s.glr.harmonics) == (7, 3, 1) and s.method == "auto"


def test_indicator_overrides_apply_to_that_indicator_only():
    s = parse_settings({"levels": {"alert_alpha": 0.01},
                        "indicator": {"effective_returns": {"alert_alpha": 0.005, "years": 4, "method": "ears"}}})
    er, asy = s.for_indicator("effective_returns"), s.for_indicator("asylum_applications")
    # a bare key belongs to the first section that has it: years is the default anomaly test's (glr)
    assert (er.levels.alert_alpha, er.glr.years, er.glm.years, er.method) == (0.005, 4, 5, "ears")
    assert (asy.levels.alert_alpha, asy.glr.years, asy.glm.years, asy.method) == (0.01, 7, 5, "auto")


def test_a_section_key_overrides_that_section_and_survives_a_round_trip():
    s = parse_settings({"indicator": {"asylum_applications": {"glm": {"years": 4}, "years": 6}}})
    asy = s.for_indicator("asylum_applications")
    assert (asy.glm.years, asy.glr.years) == (4, 6)
    back = settings_from_json(s.to_json()).for_indicator("asylum_applications")
    assert (back.glm.years, back.glr.years) == (4, 6)


def test_settings_saved_before_the_criterion_left_the_levels_still_load():
    """Saved settings of earlier versions named the criterion's thresholds in [levels] and its
    comparisons among the channels; they load, and the criterion keeps its own thresholds."""
    s = parse_settings({"levels": {"visa_watch": 0.3, "visa_alert": 0.5, "visa_min_count": 100,
                                   "channels": ["glm", "ears", "cusum", "visa_yoy", "visa_ref"]},
                        "visa_rule": {"watch": 0.4}})
    assert s.levels.channels == ("glm", "ears", "cusum") and s.visa_rule.watch == 0.4


@pytest.mark.parametrize("data, message", [
    ({"glm": {"yeras": 5}}, r"settings \[glm\]: unknown key 'yeras'; known keys: "),
    ({"levels": {"watch_alpha": "high"}}, r"settings \[levels\]\.watch_alpha: 'high' is not a valid float"),
    ({"glm": {"years": 2.5}}, r"settings \[glm\]\.years: 2\.5 is not a valid int"),
    ({"method": "magic"}, r"settings: method 'magic' is not one of auto, glm, ears"),
    ({"thresholds": {}}, r"settings: unknown section 'thresholds'"),
    ({"indicator": {"asylum_applications": {"colour": "red"}}},
     r"settings \[indicator\.asylum_applications\]: unknown key 'colour'"),
    ({"indicator": {"asylum_applications": {"method": "x"}}},
     r"settings \[indicator\.asylum_applications\]\.method: 'x' is not one of auto, glm, ears"),
    ({"indicator": {"asylum_applications": {"watch_alpha": True}}},
     r"settings \[indicator\.asylum_applications\]\.watch_alpha: True is not a valid float"),
])
def test_bad_settings_are_named(data, message):
    with pytest.raises(SettingsError, match=message):
        parse_settings(data)


def test_a_broken_file_names_the_file(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text("[glm\nyears = 5", encoding="utf-8")
    with pytest.raises(SettingsError, match=rf"{bad}: not valid TOML"):
        load_settings(bad)


def test_json_round_trip_keeps_everything():
    s = parse_settings({"method": "glm", "levels": {"alert_alpha": 0.005}, "visa_rule": {"watch": 0.4},
                        "indicator": {"border_exits": {"persistence": 3}}})
    back = settings_from_json(s.to_json())
    assert back.to_dict() == s.to_dict()
    assert back.for_indicator("border_exits").levels.persistence == 3


def test_fit_hash_ignores_thresholds_but_not_fit_settings():
    base = MonitorSettings().for_indicator("asylum_applications").fit_hash()
    rethresholded = parse_settings({"levels": {"alert_alpha": 0.001, "watch_alpha": 0.01},
                                    "visa_rule": {"watch": 0.2, "alert": 0.4}})
    refit = parse_settings({"glm": {"years": 4}})
    assert rethresholded.for_indicator("asylum_applications").fit_hash() == base
    assert refit.for_indicator("asylum_applications").fit_hash() != base
