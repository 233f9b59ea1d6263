"""Plotly figure builders for the dashboard and exports (no Streamlit).

Every builder takes plain pandas frames (as assembled by ``monitoring.pipeline.views``) and the language,
and returns a ``plotly.graph_objects.Figure``. Colours follow the traffic light: red alert, amber
watch; provisional points are hollow.
"""

from __future__ import annotations

import html
import math
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from monitoring.i18n import DEFAULT_LANG, cldr, event_label, number, t

OBSERVED = "#1f3b73"
EXPECTED = "#6b7280"
BAND = "rgba(107,114,128,0.18)"
WATCH = "#e69f00"
ALERT = "#d62728"
NORMAL = "#2e7d32"
MISSING = "#e5e7eb"
EVENT = "#9ca3af"
CRITERION = "#334155"  # the EU suspension criterion: a status, not an anomaly colour
ABOVE = "#1f3b73"  # breakdown: a destination above its expected value (a sign, not a level)
BELOW = "#93b4dc"  # breakdown: below its expected value
TOTAL = "#6b7280"  # breakdown: the destinations' sum and the EU+ total
VISA_FREE = pd.Timestamp("2024-01-01")
FONT = "Source Sans Pro, Arial, sans-serif"


def _layout(fig: go.Figure, *, title: str = "", height: int = 420, y_title: str = "") -> go.Figure:
    fig.update_layout(
        template="plotly_white",
        height=height,
        font={"family": FONT, "size": 13},
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}} if title else None,
        margin={"l": 60, "r": 20, "t": 60 if title else 30, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 1, "xanchor": "right"},
        hovermode="x unified",
    )
    fig.update_yaxes(title_text=y_title, rangemode="tozero", separatethousands=True)
    return fig


# Date axes: plotly.js names months in English whatever the page's language. Tick and hover labels are
# formatted "%b %Y" (years alone once a tick is a year or more apart) and each month's English label is
# replaced by CLDR's (``labelalias``), so that zooming keeps plotly's own tick spacing.
_DATE_TICKS = [{"dtickrange": [None, "M12"], "value": "%b %Y"}, {"dtickrange": ["M12", None], "value": "%Y"}]


def localise_dates(fig: go.Figure, lang: str) -> go.Figure:
    """Month names on every date axis of ``fig`` in ``lang`` (tick and hover labels)."""
    if lang == "en":
        return fig
    from babel.dates import format_date

    spans: dict[str, list[pd.Timestamp]] = {}
    for trace in fig.data:
        xs = getattr(trace, "x", None)
        if xs is None or not len(xs):
            continue
        values = pd.Series(list(xs))
        if not (pd.api.types.is_datetime64_any_dtype(values)
                or values.map(lambda v: isinstance(v, pd.Timestamp | np.datetime64)).all()):
            continue
        values = pd.to_datetime(values, errors="coerce").dropna()
        if values.empty:
            continue
        spans.setdefault(getattr(trace, "xaxis", None) or "x", []).extend([values.min(), values.max()])
    for axis, ends in spans.items():
        months = pd.date_range(min(ends) - pd.DateOffset(years=1), max(ends) + pd.DateOffset(years=1), freq="MS")
        alias = {m.strftime("%b %Y"): format_date(m.date(), "LLL y", locale=cldr(lang)) for m in months}
        fig.layout["xaxis" + axis[1:]].update(tickformatstops=_DATE_TICKS, hoverformat="%b %Y", labelalias=alias)
    return fig


def _hover_values(values: pd.Series, lang: str, decimals: int) -> list[str]:
    return [number(v, lang, decimals) for v in values]


def _events_in_range(events: pd.DataFrame | None, start, end) -> pd.DataFrame:
    if events is None or events.empty:
        return pd.DataFrame(columns=["date", "label"])
    frame = events.assign(date=pd.to_datetime(events["date"]))
    frame = frame[(frame["date"] >= start) & (frame["date"] <= end)]
    # The visa-free line is always drawn with its own label; skip an event on the same day.
    return frame[frame["date"] != VISA_FREE].sort_values("date")


EVENT_LINE_CHARS = 36  # characters per line of an event's label along its line (two lines at most)


def event_text(label: str, width: int = EVENT_LINE_CHARS, lines: int = 2) -> str:
    """An event's label as it runs along its line: wrapped onto at most two lines that fit the plot's
    height (cut with "…" only past that), escaped, since plotly reads tags such as <b> in text."""
    wrapped = textwrap.wrap(label, width, max_lines=lines, placeholder=" …", break_long_words=True) or [""]
    return "<br>".join(html.escape(line) for line in wrapped)


def add_events(fig: go.Figure, events: pd.DataFrame | None, start, end, lang: str = DEFAULT_LANG,
               row: int | None = None, col: int | None = None) -> go.Figure:
    """Vertical lines for events inside [start, end], plus the visa-free line; labels run down along the
    lines from the plot's top, wrapped so that they are read whole (the full label on hover)."""
    kwargs = {"row": row, "col": col} if row else {}
    shown = _events_in_range(events, start, end)
    # Labels are typed by users (seeded events are shown in the language).
    lines = [(r.date, event_label(str(r.label), lang, getattr(r, "created_by", "system")), EVENT, "#4b5563")
             for r in shown.itertuples(index=False)]
    if start <= VISA_FREE <= end:
        lines.append((VISA_FREE, t("fig.visa_free", lang), "#7c3aed", "#7c3aed"))
    for date, label, colour, text_colour in lines:
        visa = date == VISA_FREE
        fig.add_vline(x=date,
                      line={"color": colour, "width": 1.5 if visa else 1, "dash": "dash" if visa else "dot"},
                      **kwargs)
        if row:
            continue
        fig.add_annotation(x=date, y=1.0, yref="y domain", text=event_text(label), hovertext=html.escape(label),
                           showarrow=False, textangle=-90, xanchor="right", yanchor="top", xshift=-2,
                           align="right", font={"size": 10, "color": text_colour})
    return fig


def series_figure(history: pd.DataFrame, *, title: str = "", events: pd.DataFrame | None = None,
                  lang: str = DEFAULT_LANG, y_title: str = "", decimals: int = 0,
                  height: int = 440) -> go.Figure:
    """Observed values, the expected baseline and its band, watch/alert markers, events.

    ``history`` has columns period_start, observed, expected, lower, upper, level, provisional
    (expected and bounds NaN where a period was not scored).
    """
    fig = go.Figure()
    if history.empty:
        return _empty(t("fig.no_data", lang), title, height)
    x = pd.to_datetime(history["period_start"])
    scored = history["expected"].notna()
    if scored.any():
        sub = history[scored]
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
                       customdata=_hover_values(sub["upper"], lang, decimals), hovertemplate="%{customdata}")
        )
        fig.add_trace(go.Scatter(x=xs, y=sub["expected"], mode="lines", name=t("fig.expected", lang),
                                 line={"color": EXPECTED, "width": 1.5, "dash": "dash"},
                                 customdata=_hover_values(sub["expected"], lang, decimals),
                                 hovertemplate="%{customdata}"))
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
            customdata=_hover_values(history["observed"], lang, decimals),
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
    fig = _layout(fig, title=title, height=height, y_title=y_title)
    # below the axis: this legend takes two or three rows in Albanian and Serbian, which above the plot
    # would cover the title
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.14, "x": 0, "xanchor": "left"})
    if "period" in history and history["period"].astype(str).str.len().eq(4).all():  # annual: years on the axis
        fig.update_xaxes(dtick="M12", tickformat="%Y")
    return localise_dates(fig, lang)


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


def _empty(message: str, title: str = "", height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": "#6b7280"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _layout(fig, title=title, height=height)


def visa_rule_figure(changes: pd.DataFrame, *, watch: float = 0.30, alert: float = 0.50,
                     reference_label: str = "", lang: str = DEFAULT_LANG, title: str = "",
                     height: int = 340, frequency: str = "M") -> go.Figure:
    """Two-month change (a quarter's, for quarterly series) vs a year earlier and vs the reference,
    with the rule's thresholds.

    ``changes`` has columns period_start, change_yoy, change_ref and optionally change_adjusted (the
    reference rescaled by its pre-exemption season; fractions: 0.3 = +30%).
    """
    if changes.empty or changes[["change_yoy", "change_ref"]].isna().all().all():
        return _empty(t("fig.no_visa", lang), title, height)
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
    _layout(fig, title=title, height=height, y_title=t(f"fig.change_axis{q}", lang))
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
        return _empty(t("fig.no_impact", lang), title, height)
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
            customdata=_hover_values(impact["excess"], lang, 0),
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
                   customdata=_hover_values(impact["cumulative"], lang, 0),
                   hovertemplate="%{customdata}<extra></extra>"),
        row=1,
        col=2,
    )
    _layout(fig, title=title, height=height)
    fig.update_yaxes(rangemode="normal", zeroline=True, zerolinecolor="#9ca3af", separatethousands=True)
    fig.update_layout(hovermode="closest",
                      legend={"orientation": "h", "y": -0.12, "x": 1, "xanchor": "right", "yanchor": "top"})
    return localise_dates(fig, lang)


def _signed_count(value: float, lang: str) -> str:
    """``+12`` / ``−3`` / ``0`` (no sign on what rounds to zero)."""
    if round(value) == 0:
        return number(0, lang)
    return ("+" if value > 0 else "−") + number(abs(value), lang)


def breakdown_note(total, lang: str = DEFAULT_LANG) -> str:
    """The sentence under the breakdown: the destinations' sum, the EU+ total's own excess and why
    they differ (``total`` a :class:`monitoring.pipeline.views.BreakdownTotal`)."""
    text = t("fig.breakdown_note", lang, parts=_signed_count(total.parts_excess, lang),
             observed=number(total.observed, lang), expected=number(total.expected, lang),
             total=_signed_count(total.excess, lang))
    if round(total.difference) == 0 and round(total.not_shown) == 0:
        return f"{text} {t('fig.breakdown_equal', lang)}"
    if round(total.not_shown) == 0:
        return f"{text} {t('fig.breakdown_gap_why', lang, gap=_signed_count(total.difference, lang))}"
    parts = []
    if round(total.baseline_gap) != 0:
        parts.append(t("fig.breakdown_gap_baseline", lang, gap=_signed_count(total.baseline_gap, lang)))
    if round(total.not_shown) != 0:
        parts.append(t("fig.breakdown_gap_other", lang, gap=_signed_count(total.not_shown, lang)))
    gap = t("fig.breakdown_gap", lang, gap=_signed_count(total.difference, lang), parts="; ".join(parts))
    return f"{text} {gap}"


def _wrap(text: str, width: int = 120) -> str:
    import textwrap

    return "<br>".join(textwrap.wrap(text, width))


def breakdown_figure(
    breakdown: pd.DataFrame, *, total=None, lang: str = DEFAULT_LANG, title: str = "", height: int | None = None
) -> go.Figure:
    """Which destinations drive an EU+ movement: each destination's observed minus its own expected value.

    ``breakdown`` has columns geo_name, excess (observed - expected), level; ``total`` (a
    :class:`monitoring.pipeline.views.BreakdownTotal`, optional) adds two bars, the destinations' sum and
    the EU+ total's own excess, and a note saying why they differ (each series has its own
    baseline). Bars are coloured by sign, with a legend (above / below the expected value); an
    alarm level is written beside its bar, never coded by colour (a red bar below zero would
    contradict itself).
    """
    if breakdown.empty:
        return _empty(t("fig.no_breakdown", lang), title, 260)
    frame = breakdown.sort_values("excess")
    colours = [ABOVE if v >= 0 else BELOW for v in frame["excess"]]
    labels = []
    for level, v in zip(frame["level"], frame["excess"], strict=True):
        text = _signed_count(v, lang)
        labels.append(f"{text} · {t(f'level.{level}', lang)}" if level in ("watch", "alert") else text)
    fig = go.Figure(go.Bar(y=frame["geo_name"], x=frame["excess"], orientation="h", marker_color=colours,
                           text=labels, textposition="outside", cliponaxis=False, hoverinfo="skip",
                           showlegend=False))
    for name, colour in ((t("fig.breakdown_above", lang), ABOVE), (t("fig.breakdown_below", lang), BELOW)):
        fig.add_trace(go.Bar(y=[None], x=[None], orientation="h", marker_color=colour, name=name))
    order = list(frame["geo_name"])
    rows = len(frame)
    if total is not None:
        names = [t("fig.breakdown_parts", lang), t("fig.breakdown_total", lang)]
        values = [total.parts_excess, total.excess]
        fig.add_trace(go.Bar(y=names, x=values, orientation="h", marker_color=TOTAL, showlegend=False,
                             text=[_signed_count(v, lang) for v in values], textposition="outside",
                             cliponaxis=False, hoverinfo="skip"))
        order += names
        rows += 2
        fig.add_hline(y=len(frame) - 0.5, line={"color": "#9ca3af", "width": 1})
        fig.add_annotation(text=_wrap(breakdown_note(total, lang)), x=0, xref="paper", y=0, yref="paper",
                           yshift=-52, showarrow=False, xanchor="left", yanchor="top", align="left",
                           font={"size": 12, "color": "#374151"})
    extra = 90 if total is not None else 0  # room for the note under the axis
    _layout(fig, title=title, height=height or max(240, 60 + 28 * rows + extra))
    fig.update_xaxes(
        title_text=t("fig.excess_axis", lang), zeroline=True, zerolinecolor="#6b7280", separatethousands=True
    )
    fig.update_yaxes(title_text="", rangemode="normal", categoryorder="array", categoryarray=order)
    fig.update_layout(margin={"l": 190, "r": 80, "b": 40 + extra}, barmode="overlay")
    return fig


COVERAGE_STATES = ("missing", "present", "provisional")


def coverage_figure(coverage: pd.DataFrame, *, lang: str = DEFAULT_LANG, title: str = "") -> go.Figure:
    """Heat map of months present, missing and provisional per series.

    ``coverage`` has columns label (the row: indicator – destination), month (Timestamp, first day)
    and state (one of ``COVERAGE_STATES``). A quarterly value covers its three months.
    """
    if coverage.empty:
        return _empty(t("fig.no_data", lang), title, 300)
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
    _layout(fig, title=title, height=max(260, 80 + 18 * len(grid)))
    fig.update_yaxes(rangemode="normal", tickfont={"size": 11})
    fig.update_layout(margin={"l": 10}, hovermode="closest")
    fig.update_yaxes(automargin=True)
    return localise_dates(fig, lang)


def small_multiples_figure(
    panels: list[tuple[str, pd.DataFrame]], *, lang: str = DEFAULT_LANG, columns: int = 3, years: int = 3
) -> go.Figure:
    """A grid of small series charts (the last ``years`` years), one per (title, history) panel."""
    if not panels:
        return _empty(t("fig.no_alerts", lang), "", 200)
    rows = math.ceil(len(panels) / columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[_short(p[0]) for p in panels],
                        vertical_spacing=0.5 / rows if rows > 1 else 0.1, horizontal_spacing=0.06)
    for n, (_, history) in enumerate(panels):
        row, col = n // columns + 1, n % columns + 1
        starts = pd.to_datetime(history["period_start"])
        recent = history[starts > starts.max() - pd.DateOffset(years=years)] if len(history) else history
        x = pd.to_datetime(recent["period_start"])
        scored = recent[recent["expected"].notna()]
        if not scored.empty:
            fig.add_trace(
                go.Scatter(x=pd.to_datetime(scored["period_start"]), y=scored["upper"], mode="lines",
                           line={"color": EXPECTED, "width": 1, "dash": "dot"}, showlegend=False,
                           hoverinfo="skip"),
                row=row,
                col=col,
            )
            fig.add_trace(
                go.Scatter(x=pd.to_datetime(scored["period_start"]), y=scored["expected"], mode="lines",
                           line={"color": EXPECTED, "width": 1, "dash": "dash"}, showlegend=False,
                           hoverinfo="skip"),
                row=row,
                col=col,
            )
        fig.add_trace(
            go.Scatter(x=x, y=recent["observed"], mode="lines", line={"color": OBSERVED, "width": 1.5},
                       showlegend=False, customdata=_hover_values(recent["observed"], lang, 0),
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
        return _empty(t("fig.no_alerts", lang), title, height)
    quarter = pd.to_datetime(log["period_start"]).dt.to_period("Q").dt.start_time
    counts = log.groupby([quarter, "level"]).size().unstack(fill_value=0)
    fig = go.Figure()
    for level, colour in (("alert", ALERT), ("watch", WATCH)):
        if level in counts:
            fig.add_trace(go.Bar(x=counts.index, y=counts[level], name=t(f"level.{level}", lang),
                                 marker_color=colour, xperiod="M3", xperiodalignment="middle",
                                 hovertemplate="%{x|%Y Q%q}: %{y}<extra></extra>"))
    fig.update_layout(barmode="stack")
    _layout(fig, title=title, height=height, y_title=t("fig.count_axis", lang))
    return localise_dates(fig, lang)
