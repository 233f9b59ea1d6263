"""Overview (officials): what is alarming now, and why."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, common, downloads
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import views

LEVEL_STYLE = {"alert": "background-color: #fde2e1; color: #9b1c1c; font-weight: 600",
               "watch": "background-color: #fdf0d5; color: #8a5a00; font-weight: 600"}
CHANGES_SHOWN = 5  # the most severe changes are read first; the rest wait in an expander
WIDTHS = {"level": 70, "indicator": 230, "geo": 110, "start": 110, "period": 125, "observed": 80, "expected": 80,
          "upper": 95, "change": 125, "reason": 560, "channels": 260}


def render() -> None:
    lang = common.lang()
    view = cache.overview(lang)
    st.title(t("overview.title", lang))
    if view.empty:
        st.info(t("ui.no_data", lang))
        return
    st.caption(t("overview.latest", lang, periods=view.latest_text, scanned=view.scanned_text))
    fresh = view.freshness
    st.caption(t("overview.fresh", lang) + " " + "; ".join(
        t("overview.fresh_source", lang, source=r.source, period=r.last_period, loaded=r.last_load)
        for r in fresh.itertuples(index=False)))
    _changes(view, lang)
    st.caption(t("overview.episode_count", lang, count=episodes_text(view.count, lang)))
    tiles = st.columns(len(view.tiles))
    for column, tile in zip(tiles, view.tiles, strict=True):
        with column.container(border=True):
            st.markdown(f"**{tile.label}**")
            a, w = st.columns(2)
            series = t("overview.series_count", lang, n=tile.series)
            a.metric(t("overview.alerts", lang), tile.alerts, help=series)
            w.metric(t("overview.watches", lang), tile.watches, help=series)

    _criterion(view, lang)

    table = view.current
    st.subheader(t("overview.current", lang, n=len(table)))
    if table.empty:
        st.success(t("overview.none", lang))
    else:
        levels = list(table["level"])
        shown = table[list(views.CURRENT_COLUMNS)].assign(level=[t(f"level.{lv}", lang) for lv in levels])
        styled = shown.style.apply(lambda _: [LEVEL_STYLE.get(lv, "") for lv in levels], subset=["level"])
        columns = {c: st.column_config.TextColumn(t(f"col.{c}", lang), width=WIDTHS[c])
                   for c in views.CURRENT_COLUMNS}
        event = st.dataframe(styled, hide_index=True, width="stretch", key="current_table", on_select="rerun",
                             selection_mode="single-row", column_config=columns)
        downloads.table(view.current_sheet, views.sheet_headers(views.SHEET_COLUMNS, lang), "open_episodes",
                        "ov_table", title=t("overview.current", lang, n=len(table)))
        rows = event.selection.rows if event and event.selection else []
        if rows:
            _open(table.iloc[rows[0]])
        st.caption(t("overview.click_hint", lang))
        choice = st.selectbox(t("overview.open", lang), range(len(table)), index=None, key="open_series",
                              format_func=lambda i: f"{table['indicator'].iloc[i]} – {table['geo'].iloc[i]}, "
                                                    f"{table['period'].iloc[i]}",
                              placeholder=t("overview.open_placeholder", lang))
        if choice is not None:
            _open(table.iloc[choice])

    if view.panels:
        st.subheader(t("overview.small_charts", lang))
        small = cache.small_multiples(lang)
        st.plotly_chart(small, width="stretch", config={"displayModeBar": False})
        downloads.chart(small, downloads.meta(t("overview.small_charts", lang)), "series_in_alert", "ov_small")

    with st.expander(t("download.briefing_title", lang), expanded=False):
        downloads.briefing_files()
    with st.expander(t("overview.freshness", lang), expanded=False):
        st.dataframe(view.freshness, hide_index=True, width="stretch",
                     column_config={c: t(f"col.{c}", lang) for c in view.freshness.columns})


def _changes(view, lang: str) -> None:
    """What changed with the latest data, one sentence each, most severe first."""
    st.subheader(t("overview.changes_title", lang))
    if not view.changes:
        st.caption(t("overview.changes_none", lang))
        return
    colours = {"alert": "red", "watch": "orange", "normal": "green", "criterion": "gray"}

    def say(changes) -> None:
        for _kind, level, text in changes:
            badge = t("criterion.title", lang) if level == "criterion" else t(f"level.{level}", lang)
            st.markdown(f":{colours.get(level, 'gray')}-badge[{badge}] {text}")

    say(view.changes[:CHANGES_SHOWN])
    if len(view.changes) > CHANGES_SHOWN:
        with st.expander(t("overview.changes_more", lang, n=len(view.changes) - CHANGES_SHOWN)):
            say(view.changes[CHANGES_SHOWN:])


def _criterion(view, lang: str) -> None:
    """The EU suspension criterion apart from the anomalies: a standing status, counted per threshold."""
    with st.container(border=True):
        st.markdown(f"**{t('criterion.title', lang)}** · {t('overview.criterion_what', lang)}")
        if not view.criterion_counts:
            st.caption(t("overview.criterion_none", lang))
            return
        cells = st.columns(len(view.criterion_counts) + 1)
        for cell, (pct, n) in zip(cells, view.criterion_counts, strict=False):
            cell.metric(t("overview.criterion_above", lang, pct=pct), n, help=t("overview.series_count", lang, n=n))
        cells[-1].metric(t("overview.criterion_crossed", lang), view.criterion_crossed)
        with st.expander(t("overview.criterion_list", lang, n=len(view.criterion)), expanded=False):
            st.dataframe(view.criterion[list(views.CRITERION_COLUMNS)], hide_index=True, width="stretch",
                         column_config={c: t(f"col.criterion_{c}", lang) for c in views.CRITERION_COLUMNS})


def _open(row) -> None:
    """The explorer on this series (its widgets preset from the query string)."""
    query = {"indicator": row["indicator_id"], "geo": row["geo_code"]}
    st.switch_page(common.PAGES["explorer"], query_params=query)


common.guarded(render)
