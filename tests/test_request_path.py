"""Opening the dashboard reads stored results: no page fits a model on the request path."""

from __future__ import annotations

import pandas as pd
import pytest

import monitoring.statistics.glm_fit
from monitoring.statistics.baselines import glm_baseline
from monitoring.statistics.impact import visa_free_impact
from tests.apptest_support import PAGES, app

pytest_plugins = ("tests.app_fixtures",)


class Fitted(AssertionError):
    """A model was fitted while a page was being drawn."""


@pytest.fixture
def no_fitting(monkeypatch):
    """Every GLM fit, however it is reached, goes through this one function: make it fail."""
    def refuse(*args, **kwargs):
        raise Fitted("a model was fitted while a page was being drawn")

    monkeypatch.setattr(monitoring.statistics.glm_fit, "fit_reweighted", refuse)


def test_the_guard_catches_a_fit(no_fitting):
    series = pd.Series(range(100, 244), index=pd.period_range("2014-01", periods=144, freq="M"), dtype=float)
    with pytest.raises(Fitted):
        glm_baseline(series)
    with pytest.raises(Fitted):
        visa_free_impact(series)


@pytest.mark.parametrize("page", PAGES)
def test_pages_draw_from_stored_results_without_fitting(demo_db, no_fitting, page):
    at = app(page)
    assert not at.exception
    if page == "explorer":  # series, visa rule, impact (from the store) and the EU+ breakdown
        assert len(at.get("plotly_chart")) == 4
