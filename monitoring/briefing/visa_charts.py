"""The visa-free charts of one series: the EU suspension rule's two-month changes and the impact
since 2024 (excess over the pre-2024 projection)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.briefing.style import (
    ALERT,
    BAND,
    CRITERION,
    NORMAL,
    OBSERVED,
    empty,
    hover_values,
    layout,
    localise_dates,
)
from monitoring.i18n import DEFAULT_LANG, number, t


def visa_rule_figure(changes: pd.DataFrame, *, watch: float = 0.30, alert: float = 0.50,
                     reference_label: str = "", lang: str = DEFAULT_LANG, title: str = "",
                     height: int = 340, frequency: str = "M") -> go.Figure:
    """Two-month change (a quarter's, for quarterly series) vs a year earlier and vs the reference,
    with the rule's thresholds.

    ``changes`` has columns period_start, change_yoy, change_ref and optionally change_adjusted (the
    reference rescaled by its pre-exemption season; fractions: 0.3 = +30%).
    """
    if changes.empty or changes[["change_yoy", "change_ref"]].isna().all().all():
        return empty(t("fig.no_visa", lang), title, height)
    x = pd.to_datetime(changes["period_start"])
    q = "_quarter" if frequency == "Q" else ""
    fig = go.Figure()
    lines = [("change_yoy", t(f"fig.change_yoy{q}", lang), OBSERVED, "solid"),
             ("change_ref", t(f"fig.change_ref{q}", lang, reference=reference_label), "#0891b2", "solid")]
    if "change_adjusted" in changes and changes["change_adjusted"].notna().any():
        lines.append(("change_adjusted", t(f"fig.change_adjusted{q}", lang, reference=reference_label),
                      "#7c3aed", "dot"))
    for column, name, colour, dash in lines:
        values = changes[column] * 100
        fig.add_trace(
            go.Scatter(x=x, y=values, mode="lines+markers", name=name, marker={"size": 4},
                       line={"color": colour, "width": 2, "dash": dash}, connectgaps=False,
                       customdata=[_signed(v, lang) for v in changes[column]], hovertemplate="%{customdata}")
        )
    # the criterion's thresholds are the law's, drawn in its own neutral colour: not anomaly levels
    for level, value in (("watch", watch), ("alert", alert)):
        fig.add_hline(y=value * 100, line={"color": CRITERION, "width": 1.5 if level == "watch" else 2,
                                           "dash": "dash" if level == "watch" else "solid"},
                      annotation_text=t(f"fig.visa_{level}", lang, pct=number(value * 100, lang)),
                      annotation_position="top left", annotation_font={"color": CRITERION, "size": 11})
    fig.add_hline(y=0, line={"color": "#9ca3af", "width": 1})
    layout(fig, title=title, height=height, y_title=t(f"fig.change_axis{q}", lang))
    fig.update_yaxes(rangemode="normal", ticksuffix="%")
    return localise_dates(fig, lang)


def _signed(value: float, lang: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return ("+" if value >= 0 else "−") + number(abs(value) * 100, lang) + "%"


def impact_figure(
    impact: pd.DataFrame, *, lang: str = DEFAULT_LANG, title: str = "", height: int = 440
) -> go.Figure:
    """Excess over the pre-2024 projection: monthly bars and the cumulative sum, with intervals.

    ``impact`` has columns period_start, excess, excess_lower, excess_upper, cumulative,
    cumulative_lower, cumulative_upper.
    """
    if impact.empty:
        return empty(t("fig.no_impact", lang), title, height)
    x = pd.to_datetime(impact["period_start"])
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=(t("fig.excess_monthly", lang), t("fig.excess_cumulative", lang))
    )
    colours = np.where(impact["excess"] >= 0, ALERT, NORMAL)
    fig.add_trace(
        go.Bar(
            x=x,
            y=impact["excess"],
            marker_color=colours,
            name=t("fig.excess", lang),
            showlegend=False,
            error_y={"type": "data", "symmetric": False, "array": impact["excess_upper"] - impact["excess"],
                     "arrayminus": impact["excess"] - impact["excess_lower"], "color": "#6b7280",
                     "thickness": 1},
            customdata=hover_values(impact["excess"], lang, 0),
            hovertemplate="%{customdata}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(x=x, y=impact["cumulative_upper"], mode="lines", line={"width": 0}, hoverinfo="skip",
                   showlegend=False),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(x=x, y=impact["cumulative_lower"], mode="lines", line={"width": 0}, fill="tonexty",
                   fillcolor=BAND, name=t("fig.interval", lang), hoverinfo="skip"),
        row=1,
        col=2,
    )
    fig.add_trace(
        go.Scatter(x=x, y=impact["cumulative"], mode="lines+markers", name=t("fig.cumulative", lang),
                   line={"color": ALERT, "width": 2}, marker={"size": 4},
                   customdata=hover_values(impact["cumulative"], lang, 0),
                   hovertemplate="%{customdata}<extra></extra>"),
        row=1,
        col=2,
    )
    layout(fig, title=title, height=height)
    fig.update_yaxes(rangemode="normal", zeroline=True, zerolinecolor="#9ca3af", separatethousands=True)
    fig.update_layout(hovermode="closest",
                      legend={"orientation": "h", "y": -0.12, "x": 1, "xanchor": "right", "yanchor": "top"})
    return localise_dates(fig, lang)


