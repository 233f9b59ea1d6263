"""The EU+ breakdown chart: each destination's excess over its own expected value beside the total's."""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from monitoring.briefing.style import ABOVE, BELOW, TOTAL, empty, layout
from monitoring.i18n import DEFAULT_LANG, number, t


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
        return empty(t("fig.no_breakdown", lang), title, 260)
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
    layout(fig, title=title, height=height or max(240, 60 + 28 * rows + extra))
    fig.update_xaxes(
        title_text=t("fig.excess_axis", lang), zeroline=True, zerolinecolor="#6b7280", separatethousands=True
    )
    fig.update_yaxes(title_text="", rangemode="normal", categoryorder="array", categoryarray=order)
    fig.update_layout(margin={"l": 190, "r": 80, "b": 40 + extra}, barmode="overlay")
    return fig


