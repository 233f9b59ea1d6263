"""Indicator explorer (AppTest): the chart, visa-rule panel, impact, EU+ breakdown, recent values."""

from __future__ import annotations

import json

from monitoring.i18n import t
from tests.apptest_support import app, texts

pytest_plugins = ("tests.app_fixtures",)


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def trace_names(spec: dict) -> set[str]:
    return {tr.get("name") for tr in spec["data"] if tr.get("name")}


def test_eu_plus_series_with_every_panel(demo_db):
    at = app("explorer", query={"indicator": "asylum_applications", "geo": "EU_PLUS"})
    assert not at.exception
    assert at.selectbox(key="ex_geo").value == "EU_PLUS"
    specs = charts(at)
    assert len(specs) == 4  # series, visa rule, impact, EU+ breakdown
    series, visa, impact, breakdown = specs
    assert {"observed", "expected", "alert"} <= trace_names(series)
    assert "Visa-free travel begins" in [a["text"] for a in series["layout"]["annotations"]]
    assert sorted(s["y0"] for s in visa["layout"]["shapes"] if s["y0"] == s["y1"]) == [0, 30, 50]
    assert impact["data"][0]["type"] == "bar"
    assert "Germany" in breakdown["data"][0]["y"]
    assert any(t("level.alert") in m and "EU+" in m for m in texts(at, "markdown"))
    recent = at.dataframe[0].value
    assert len(recent) == 12 and recent["period"].iloc[0] == "October 2026"
    assert recent["flag"].iloc[0] == "provisional"


def test_changing_destination_and_range(demo_db):
    at = app("explorer", query={"indicator": "asylum_applications", "geo": "EU_PLUS"})
    at.selectbox(key="ex_geo").set_value("FR").run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == 3  # no breakdown for one destination
    x5 = json.loads(at.get("plotly_chart")[0].proto.spec)
    at.selectbox(key="ex_range").set_value("all").run()
    x_all = json.loads(at.get("plotly_chart")[0].proto.spec)

    def points(spec):
        return len(next(tr for tr in spec["data"] if tr.get("name") == "observed")["x"])

    assert points(x_all) > points(x5) >= 60
    assert at.query_params["geo"] == ["FR"] or at.query_params["geo"] == "FR"


def test_quarterly_and_derived_series(demo_db):
    at = app("explorer", query={"indicator": "return_rate", "geo": "DE"})
    assert not at.exception
    assert at.selectbox(key="ex_indicator").value == "return_rate"
    assert not texts(at, "error")
    at.selectbox(key="ex_indicator").set_value("return_decisions").run()
    assert not at.exception and at.selectbox(key="ex_geo").value == "DE"  # the destination is kept


def test_one_series_database(one_series_db):
    at = app("explorer")
    assert not at.exception
    assert at.selectbox(key="ex_indicator").options == ["First-time asylum applications"]
    assert at.selectbox(key="ex_geo").options == ["Germany"]


def test_short_series_a_single_quarter_and_a_rate(tmp_path, app_env):
    """Ten months, one quarter, one rate: nothing can be scored yet, and every page still works."""
    import pandas as pd

    from indicators.catalogue import load_catalogue
    from indicators.loaders import load_files
    from indicators.store import open_store
    from tests.apptest_support import PAGES, TODAY

    months = pd.period_range("2026-01", "2026-10", freq="M").astype(str)
    csv = tmp_path / "short.csv"
    csv.write_text("indicator,geo,period,value,flag\n"
                   + "".join(f"asylum_applications,DE,{p},{50 + i % 7},\n" for i, p in enumerate(months))
                   + "return_decisions,FR,2026-Q1,3,\nrecognition_rate,DE,2026-Q1,2.5,\n")
    db = tmp_path / "short.duckdb"
    load_files(open_store(db), [csv], catalogue=load_catalogue(), today=pd.Timestamp(TODAY).date())
    app_env.setenv("MONITOR_DB", str(db))
    for page in PAGES:
        at = app(page)
        assert not at.exception and not texts(at, "error"), page
    for indicator, geo in (("recognition_rate", "DE"), ("return_decisions", "FR")):
        at = app("explorer", query={"indicator": indicator, "geo": geo})
        assert not at.exception and not texts(at, "error")
        assert at.selectbox(key="ex_indicator").value == indicator
