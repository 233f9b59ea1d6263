"""Plotly figure builders for the dashboard and exports (no Streamlit).

Every builder takes plain pandas frames (as assembled by ``monitoring.pipeline.views``) and the language,
and returns a ``plotly.graph_objects.Figure``. Colours follow the traffic light: red alert, amber
watch; provisional points are hollow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from monitoring.briefing.breakdown_chart import _signed_count, breakdown_figure, breakdown_note
from monitoring.briefing.overview_charts import alert_log_figure, coverage_figure, small_multiples_figure
from monitoring.briefing.style import (
    ABOVE,
    ALERT,
    BAND,
    BELOW,
    EVENT_LINE_CHARS,
    EXPECTED,
    OBSERVED,
    WATCH,
    add_events,
    empty,
    event_text,
    hover_values,
    layout,
    localise_dates,
)
from monitoring.briefing.visa_charts import impact_figure, visa_rule_figure
from monitoring.i18n import DEFAULT_LANG, number, t

# Every chart is read from here (``figures.series_figure``, ``figures.breakdown_figure``, ...); the charts of
# each kind live in modules of their own: visa_charts, breakdown_chart, overview_charts; the style in style.
__all__ = ["ABOVE", "ALERT", "BELOW", "EVENT_LINE_CHARS", "WATCH", "_signed_count", "add_events", "alert_log_figure",
           "breakdown_figure", "breakdown_note", "coverage_figure", "event_text", "impact_figure", "localise_dates",
           "series_figure", "small_multiples_figure", "visa_rule_figure"]


def series_figure(history: pd.DataFrame, *, title: str = "", events: pd.DataFrame | None = None,
                  lang: str = DEFAULT_LANG, y_title: str = "", decimals: int = 0,
                  height: int = 440) -> go.Figure:
    """Observed values, the expected baseline and its band, watch/alert markers, events.

    ``history`` has columns period_start, observed, expected, lower, upper, level, provisional
    (expected and bounds NaN where a period was not scored).
    """
    if history.empty:
        return empty(t("fig.no_data", lang), title, height)
    fig = go.Figure()
    x = pd.to_datetime(history["period_start"])
    _add_baseline(fig, history[history["expected"].notna()], lang, decimals)
    provisional = history["provisional"].fillna(False).astype(bool)
    fig.add_trace(
        go.Scatter(
            x=x,
            y=history["observed"],
            mode="lines+markers",
            name=t("fig.observed", lang),
            line={"color": OBSERVED, "width": 2},
            connectgaps=False,
            marker={"size": np.where(provisional, 8, 4), "color": np.where(provisional, "white", OBSERVED),
                    "symbol": "circle", "line": {"color": OBSERVED, "width": np.where(provisional, 2, 0)}},
            customdata=hover_values(history["observed"], lang, decimals),
            hovertemplate="%{customdata}",
        )
    )
    if provisional.any():
        fig.add_trace(
            go.Scatter(x=[None], y=[None], mode="markers", name=t("fig.provisional", lang),
                       marker={"size": 8, "color": "white", "line": {"color": OBSERVED, "width": 2}})
        )
    _add_tested_windows(fig, history, lang, decimals)
    for level, colour, symbol in (("watch", WATCH, "circle"), ("alert", ALERT, "diamond")):
        hit = history[history["level"] == level]
        if hit.empty:
            continue
        prov = hit["provisional"].fillna(False).astype(bool)
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(hit["period_start"]),
                y=hit["observed"],
                mode="markers",
                name=t(f"level.{level}", lang),
                marker={"size": 13, "symbol": np.where(prov, symbol + "-open", symbol), "color": colour,
                        "line": {"color": colour, "width": 2}},
                customdata=_tested_hover(hit, lang, decimals),
                hovertemplate="%{customdata}<extra></extra>",
            )
        )
    add_events(fig, events, x.min(), x.max(), lang)
    fig = layout(fig, title=title, height=height, y_title=y_title)
    # below the axis: this legend takes two or three rows in Albanian and Serbian, which above the plot
    # would cover the title
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0, "xanchor": "left"})
    if "period" in history and history["period"].astype(str).str.len().eq(4).all():  # annual: years on the axis
        fig.update_xaxes(dtick="M12", tickformat="%Y")
    return localise_dates(fig, lang)


def _add_baseline(fig: go.Figure, sub: pd.DataFrame, lang: str, decimals: int) -> None:
    """The band between the bounds, the upper bound and the expected values of the scored periods."""
    if sub.empty:
        return
    xs = pd.to_datetime(sub["period_start"])
    upper = sub["upper"].where(sub["upper"].notna(), sub["expected"])
    lower = sub["lower"].where(sub["lower"].notna(), sub["expected"]).clip(lower=0)
    fig.add_trace(
        go.Scatter(x=xs, y=upper, mode="lines", line={"width": 0}, hoverinfo="skip", showlegend=False,
                   connectgaps=False)
    )
    fig.add_trace(
        go.Scatter(x=xs, y=lower, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=BAND,
                   name=t("fig.band", lang), hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(x=xs, y=sub["upper"], mode="lines", name=t("fig.upper", lang),
                   line={"color": EXPECTED, "width": 1}, showlegend=False,
                   customdata=hover_values(sub["upper"], lang, decimals), hovertemplate="%{customdata}")
    )
    fig.add_trace(go.Scatter(x=xs, y=sub["expected"], mode="lines", name=t("fig.expected", lang),
                             line={"color": EXPECTED, "width": 1.5, "dash": "dash"},
                             customdata=hover_values(sub["expected"], lang, decimals),
                             hovertemplate="%{customdata}"))


def _tested_hover(rows: pd.DataFrame, lang: str, decimals: int) -> list[str]:
    """What the anomaly test tested at each alarm: one period against its bound, or a window's total."""
    out = []
    for r in rows.to_dict("records"):
        k = r.get("tested_periods")
        k = 1 if k is None or pd.isna(k) else int(k)
        observed = r.get("tested_observed") if k > 1 else r.get("observed")
        expected = r.get("tested_expected") if k > 1 else r.get("expected")
        bound = r.get("tested_bound") if k > 1 else r.get("upper")
        key = "fig.tested_window" if k > 1 else "fig.tested_one"
        out.append(t(key, lang, periods=k, observed=number(observed, lang, decimals),
                     expected=number(expected, lang, decimals), bound=number(bound, lang, decimals)))
    return out


def _add_tested_windows(fig: go.Figure, history: pd.DataFrame, lang: str, decimals: int) -> None:
    """Shade the periods an alarm tested together (a test of the last 2 or 3 periods), so that an
    alarm inside the band of one period shows the window whose total crossed the bound."""
    if "tested_periods" not in history:
        return
    hits = history[history["level"].isin(["watch", "alert"]) & (history["tested_periods"].fillna(1) > 1)]
    if hits.empty:
        return
    starts = pd.to_datetime(history["period_start"]).reset_index(drop=True)
    position = {ts: i for i, ts in enumerate(starts)}
    for r in hits.to_dict("records"):
        end = position.get(pd.Timestamp(r["period_start"]))
        if end is None:
            continue
        first = max(0, end - int(r["tested_periods"]) + 1)
        step = starts.iloc[end] - starts.iloc[end - 1] if end > 0 else pd.Timedelta(days=30)
        colour = ALERT if r["level"] == "alert" else WATCH
        fig.add_shape(type="rect", xref="x", yref="paper", x0=starts.iloc[first] - step / 2,
                      x1=starts.iloc[end] + step / 2, y0=0, y1=1, fillcolor=colour, opacity=0.08,
                      line={"width": 0}, layer="below")
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=t("fig.tested_legend", lang),
                             marker={"size": 12, "symbol": "square", "color": "rgba(214,39,40,0.15)"}))


