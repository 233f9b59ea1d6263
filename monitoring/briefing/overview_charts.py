"""The many-series charts: the coverage grid, the overview's small multiples, the alert log timeline."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.briefing.style import (
    ALERT,
    EXPECTED,
    FONT,
    MISSING,
    OBSERVED,
    WATCH,
    empty,
    hover_values,
    layout,
    localise_dates,
)
from monitoring.i18n import DEFAULT_LANG, t

COVERAGE_STATES = ("missing", "present", "provisional")


def coverage_figure(coverage: pd.DataFrame, *, lang: str = DEFAULT_LANG, title: str = "") -> go.Figure:
    """Heat map of months present, missing and provisional per series.

    ``coverage`` has columns label (the row: indicator – destination), month (Timestamp, first day)
    and state (one of ``COVERAGE_STATES``). A quarterly value covers its three months.
    """
    if coverage.empty:
        return empty(t("fig.no_data", lang), title, 300)
    codes = {state: n for n, state in enumerate(COVERAGE_STATES)}
    grid = coverage.assign(code=coverage["state"].map(codes)).pivot_table(
        index="label", columns="month", values="code", aggfunc="max")
    order = list(dict.fromkeys(coverage["label"]))
    grid = grid.reindex(index=order[::-1])
    grid = grid.reindex(columns=pd.date_range(grid.columns.min(), grid.columns.max(), freq="MS"))
    z = grid.fillna(0).to_numpy()
    names = [t(f"fig.cov_{s}", lang) for s in COVERAGE_STATES]
    text = np.array(names, dtype=object)[z.astype(int)]
    scale = [[0, MISSING], [0.33, MISSING], [0.33, OBSERVED], [0.66, OBSERVED], [0.66, WATCH], [1, WATCH]]
    fig = go.Figure(
        go.Heatmap(z=z, x=grid.columns, y=grid.index, colorscale=scale, zmin=0, zmax=2, xgap=0, ygap=1,
                   customdata=text, hovertemplate="%{y}<br>%{x|%Y-%m}: %{customdata}<extra></extra>",
                   colorbar={"tickvals": [0.33, 1, 1.67], "ticktext": names, "thickness": 12, "len": 0.5})
    )
    layout(fig, title=title, height=max(260, 80 + 18 * len(grid)))
    fig.update_yaxes(rangemode="normal", tickfont={"size": 11})
    fig.update_layout(margin={"l": 10}, hovermode="closest")
    fig.update_yaxes(automargin=True)
    return localise_dates(fig, lang)


def small_multiples_figure(
    panels: list[tuple[str, pd.DataFrame]], *, lang: str = DEFAULT_LANG, columns: int = 3, years: int = 3
) -> go.Figure:
    """A grid of small series charts (the last ``years`` years), one per (title, history) panel."""
    if not panels:
        return empty(t("fig.no_alerts", lang), "", 200)
    rows = math.ceil(len(panels) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[_short(p[0]) for p in panels],
                        vertical_spacing=0.5 / rows if rows > 1 else 0.1, horizontal_spacing=0.06)
    for n, (_, history) in enumerate(panels):
        row, col = n // columns + 1, n % columns + 1
        starts = pd.to_datetime(history["period_start"])
        recent = history[starts > starts.max() - pd.DateOffset(years=years)] if len(history) else history
        x = pd.to_datetime(recent["period_start"])
        scored = recent[recent["expected"].notna()]
        for column, dash in (("upper", "dot"), ("expected", "dash")):  # the upper bound, then the expected
            if scored.empty:
                break
            fig.add_trace(
                go.Scatter(x=pd.to_datetime(scored["period_start"]), y=scored[column], mode="lines",
                           line={"color": EXPECTED, "width": 1, "dash": dash}, showlegend=False,
                           hoverinfo="skip"),
                row=row,
                col=col,
            )
        fig.add_trace(
            go.Scatter(x=x, y=recent["observed"], mode="lines", line={"color": OBSERVED, "width": 1.5},
                       showlegend=False, customdata=hover_values(recent["observed"], lang, 0),
                       hovertemplate="%{x|%Y-%m}: %{customdata}<extra></extra>"),
            row=row,
            col=col,
        )
        for level, colour in (("watch", WATCH), ("alert", ALERT)):
            hit = recent[recent["level"] == level]
            if not hit.empty:
                fig.add_trace(
                    go.Scatter(x=pd.to_datetime(hit["period_start"]), y=hit["observed"], mode="markers",
                               marker={"color": colour, "size": 7}, showlegend=False, hoverinfo="skip"),
                    row=row,
                    col=col,
                )
    fig.update_annotations(font_size=12)
    fig.update_layout(template="plotly_white", height=190 * rows + 40, font={"family": FONT, "size": 11},
                      margin={"l": 40, "r": 10, "t": 40, "b": 20}, hovermode="closest")
    fig.update_yaxes(rangemode="tozero", separatethousands=True, nticks=4)
    fig.update_xaxes(nticks=4)
    return localise_dates(fig, lang)


def _short(title: str, limit: int = 48) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"


def alert_log_figure(
    log: pd.DataFrame, *, lang: str = DEFAULT_LANG, title: str = "", height: int = 260
) -> go.Figure:
    """Alerts and watches per quarter (stacked bars). ``log`` has period_start and level.

    Monthly and quarterly series are counted together by the quarter their period falls in (a
    monthly axis would pile every quarterly alert on the quarter's first month).
    """
    if log.empty:
        return empty(t("fig.no_alerts", lang), title, height)
    quarter = pd.to_datetime(log["period_start"]).dt.to_period("Q").dt.start_time
    counts = log.groupby([quarter, "level"]).size().unstack(fill_value=0)
    fig = go.Figure()
    for level, colour in (("alert", ALERT), ("watch", WATCH)):
        if level in counts:
            fig.add_trace(go.Bar(x=counts.index, y=counts[level], name=t(f"level.{level}", lang),
                                 marker_color=colour, xperiod="M3", xperiodalignment="middle",
                                 hovertemplate="%{x|%Y Q%q}: %{y}<extra></extra>"))
    fig.update_layout(barmode="stack")
    layout(fig, title=title, height=height, y_title=t("fig.count_axis", lang))
    return localise_dates(fig, lang)
