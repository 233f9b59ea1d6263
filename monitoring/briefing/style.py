"""The figures' common style: colours of the traffic light, layout, dates in the language, events."""

from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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


def layout(fig: go.Figure, *, title: str = "", height: int = 420, y_title: str = "") -> go.Figure:
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


def hover_values(values: pd.Series, lang: str, decimals: int) -> list[str]:
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



def empty(message: str, title: str = "", height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 14, "color": "#6b7280"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return layout(fig, title=title, height=height)

