"""The catalogue: shipped entries, frozen dataclasses, the geo rule, add-indicator round trip, mapping."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from indicators.catalogue import (
    CatalogueError,
    Indicator,
    add_indicator,
    load_catalogue,
    parse_catalogue,
    valid_geo,
)
from indicators.eurostat import load_mapping

ROOT = Path(__file__).resolve().parents[1]
DESIGN_IDS = (
    "asylum_applications",
    "refused_entry",
    "irregular_stay",
    "border_exits",
    "passport_issuance",
    "return_decisions",
    "effective_returns",
    "return_decisions_annual",
    "effective_returns_annual",
    "repatriated_persons",
    "recognition_rate",
)


def test_shipped_catalogue_has_the_design_ids(catalogue):
    assert catalogue.ids == DESIGN_IDS
    assert catalogue["recognition_rate"].unit == "percent"
    assert all(catalogue[i].frequency in ("M", "Q", "A") for i in catalogue.ids)


def test_dataclasses_are_frozen(catalogue):
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.indicators[0].name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        catalogue.version = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("code", "ok"),
    [
        ("DE", True),
        ("EU27_2020", True),
        ("XK", True),
        ("G0001", True),
        ("A" * 16, True),
        ("D", False),
        ("de", False),
        ("1DE", False),
        ("_DE", False),
        ("A" * 17, False),
        ("D E", False),
        ("", False),
    ],
)
def test_geo_code_rule(code, ok):
    assert valid_geo(code) is ok


def test_add_indicator_round_trip(tmp_path):
    path = tmp_path / "catalogue.toml"
    path.write_text((ROOT / "indicators" / "catalogue.toml").read_text(encoding="utf-8"), encoding="utf-8")
    new = Indicator(
        "visa_refusals",
        'Visa "refusals"',
        "persons",
        "M",
        "outflow",
        "up",
        "MFA",
        "Refused visas.",
        dataset="mfa_visas",
    )
    result = add_indicator(new, path)
    reread = load_catalogue(path)
    assert reread.ids == (*DESIGN_IDS, "visa_refusals")
    assert reread["visa_refusals"] == new == result["visa_refusals"]
    assert reread.geo_names["XK"] == "Kosovo"
    with pytest.raises(CatalogueError, match=f"^{path}: indicator 'visa_refusals' already exists$"):
        add_indicator(new, path)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[indicator]]\nid = "x_y"\n',
            "catalogue: indicator 1: missing name, unit, frequency, category, "
            "bad_direction, source, description",
        ),
        ('[geo]\nde = "x"\n', "catalogue: bad geo code 'de'"),
    ],
)
def test_catalogue_errors(toml, message):
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(toml)
    assert str(info.value) == message


def test_every_mapped_indicator_is_in_the_catalogue(catalogue):
    mapping = load_mapping()
    assert {e.indicator for entries in mapping.values() for e in entries} <= set(catalogue.ids)
    assert {e.indicator for e in mapping["migr_asyappctzm"]} == {"asylum_applications"}
    assert sorted(
        dict(e.where).get("applicant", dict(e.where).get("asyl_app")) for e in mapping["migr_asyappctzm"]
    ) == ["FRST", "NASY_APP"]


def test_return_directions_follow_what_gam_watches(catalogue):
    """Returns not keeping pace is the concern: returns and readmissions falling; orders to leave rising."""
    assert {i: catalogue[i].bad_direction for i in ("effective_returns", "effective_returns_annual",
                                                     "repatriated_persons", "return_decisions",
                                                     "return_decisions_annual")} == {
        "effective_returns": "down", "effective_returns_annual": "down", "repatriated_persons": "down",
        "return_decisions": "up", "return_decisions_annual": "up"}
