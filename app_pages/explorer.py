"""Indicator explorer: one series with its baseline, the visa-suspension rule and the visa-free impact."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from app_pages import cache, common, downloads
from monitoring.briefing import exports, figures
from monitoring.i18n import t
from monitoring.pipeline import views
from monitoring.statistics.derived import EU_PLUS

RANGES = {"5y": 5, "10y": 10, "all": None}
SHOWN = 3  # alarm sentences shown before "more"


def _badge(level: str, lang: str) -> str:
    return f":{'red' if level == 'alert' else 'orange'}-badge[{t('level.' + level, lang)}] "


def _pick(choices: dict[str, list[str]], lang: str) -> tuple[str, str]:
    """Indicator and destination from the widgets, preset from the query string (overview click-through)."""
    cat = cache.desk().catalogue
    wanted = st.query_params.get("indicator"), st.query_params.get("geo")
    if wanted[0] in choices and st.session_state.get("_explore_from") != wanted:
        st.session_state["_explore_from"] = wanted
        st.session_state["ex_indicator"] = wanted[0]
        if wanted[1] in choices[wanted[0]]:
            st.session_state["ex_geo"] = wanted[1]
    left, middle, right = st.columns([3, 2, 1.3])
    ids = list(choices)
    indicator = left.selectbox(t("explorer.indicator", lang), ids, key="ex_indicator",
                               format_func=lambda i: views.indicator_of(cat, i).name_in(lang))
    geos = choices[indicator]
    if st.session_state.get("ex_geo") not in geos:
        st.session_state["ex_geo"] = EU_PLUS if EU_PLUS in geos else geos[0]
    geo = middle.selectbox(
        t("explorer.geo", lang), geos, key="ex_geo", format_func=lambda g: views.geo_label(cat, g, lang)
    )
    right.selectbox(t("explorer.range", lang), list(RANGES), key="ex_range",
                    format_func=lambda r: t(f"explorer.range_{r}", lang))
    st.query_params.update({"indicator": indicator, "geo": geo})
    st.session_state["_explore_from"] = (indicator, geo)
    return indicator, geo


def render() -> None:
    lang = common.lang()
    st.title(t("explorer.title", lang))
    choices = cache.series_choices()
    if not choices:
        st.info(t("ui.no_data", lang))
        return
    indicator, geo = _pick(choices, lang)
    view = cache.explorer(indicator, geo, lang)
    history = view.history
    years = RANGES[st.session_state.get("ex_range", "5y")]
    if years and not history.empty:
        start = history["period_start"].max() - pd.DateOffset(years=years)
        history = history[history["period_start"] > start]
    decimals = 1 if view.indicator.unit == "percent" else 0
    series_fig = figures.series_figure(history, title=view.title, events=view.events, lang=lang, decimals=decimals,
                                       y_title=views.unit_label(view.indicator.unit, lang))
    st.plotly_chart(series_fig, width="stretch", key="series_chart")
    series_meta = exports.series_meta(view.title, view.indicator, view.history, lang=lang,
                                      synthetic=cache.synthetic_in_use(), today=cache.today().date())
    downloads.chart(series_fig, series_meta, f"{indicator}_{geo}", "ex_series")
    st.caption(t("explorer.chart_note", lang))
    if view.sentences:
        with st.container(border=True):
            st.markdown(f"**{t('explorer.alarms_title', lang)}**")
            for level, sentence in view.sentences[:SHOWN]:
                st.markdown(_badge(level, lang) + sentence)
            if len(view.sentences) > SHOWN:
                with st.expander(t("explorer.more_alarms", lang, n=len(view.sentences) - SHOWN)):
                    for level, sentence in view.sentences[SHOWN:]:
                        st.markdown(_badge(level, lang) + sentence)

    if view.indicator.unit == "percent":  # the visa rule and the impact compare counts, not shares
        st.caption(t("explorer.counts_only", lang))
    elif view.indicator.frequency == "A":  # two-month totals and a monthly projection need sub-annual data
        st.caption(t("explorer.annual_only", lang))
    else:
        _visa_and_impact(view, indicator, geo, lang, series_meta)
    if geo == EU_PLUS:
        st.subheader(t("explorer.breakdown_title", lang, period=view.breakdown_period))
        breakdown = figures.breakdown_figure(view.breakdown, total=view.breakdown_total, lang=lang)
        st.plotly_chart(breakdown, width="stretch", key="breakdown_chart")
        downloads.chart(breakdown, replace(series_meta, title=t("explorer.breakdown_title", lang,
                                                                period=view.breakdown_period)),
                        f"{indicator}_breakdown", "ex_breakdown")

    st.subheader(t("explorer.recent_title", lang))
    st.dataframe(view.recent, hide_index=True, width="stretch",
                 column_config={c: t(f"col.{c}", lang) for c in view.recent.columns})
    downloads.table(view.recent_sheet, views.sheet_headers(view.recent.columns, lang), f"{indicator}_{geo}_recent",
                    "ex_recent", title=view.title)


def _visa_and_impact(view, indicator: str, geo: str, lang: str, series_meta) -> None:
    st.subheader(t("explorer.visa_title", lang))
    if view.criterion:
        st.markdown(view.criterion)
    reference = view.visa_reference
    visa = figures.visa_rule_figure(view.visa, watch=view.visa_watch, alert=view.visa_alert, lang=lang,
                                    reference_label=reference, frequency=view.indicator.frequency)
    st.plotly_chart(visa, width="stretch", key="visa_chart")
    downloads.chart(visa, replace(series_meta, title=f"{view.title}: {t('explorer.visa_title', lang)}"),
                    f"{indicator}_{geo}_visa_rule", "ex_visa")
    quarterly = "_quarter" if view.indicator.frequency == "Q" else ""
    st.caption(t(f"explorer.visa_note{quarterly}", lang, reference=reference))

    st.subheader(t("explorer.impact_title", lang))
    impact = figures.impact_figure(view.impact, lang=lang)
    st.plotly_chart(impact, width="stretch", key="impact_chart")
    downloads.chart(impact, replace(series_meta, title=f"{view.title}: {t('explorer.impact_title', lang)}"),
                    f"{indicator}_{geo}_visa_free_impact", "ex_impact")
    st.caption(t("explorer.impact_note", lang))


common.guarded(render)
