"""Alerts (analysts): the alert episodes -- one row per episode, open ones first; acknowledge, dismiss as
explained, reopen an episode, with its history."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from app_pages import cache, common, downloads
from monitoring.briefing import figures
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions, records

SINCE = {"12": 12, "24": 24, "60": 60, "all": None}
ACTIONS = ("acknowledged", "dismissed", "open")
# Narrow columns, so that the comment stays in view on a laptop screen.
WIDTHS = {"periods": 70, "status_by": "small", "expires": "small"}


def render() -> None:
    lang = common.lang()
    st.title(t("alerts.title", lang))
    common.show_flash()
    cat = cache.desk().catalogue
    left, middle, right = st.columns([2, 3, 3])
    since = left.selectbox(t("alerts.since", lang), list(SINCE), index=1, key="al_since",
                           format_func=lambda k: t(f"alerts.since_{k}", lang))
    statuses = middle.multiselect(t("alerts.status_filter", lang), records.STATUSES,
                                  default=["open", "acknowledged"], key="al_status",
                                  format_func=lambda s: t(f"alerts.status_{s}", lang))
    ids = [i.id for i in cat.indicators]
    indicator = right.selectbox(
        t("alerts.indicator_filter", lang),
        [None, *ids],
        key="al_indicator",
        format_func=lambda i: t("alerts.all_indicators", lang) if i is None else cat[i].name_in(lang),
    )
    log = cache.episode_log(lang, SINCE[since], tuple(statuses), indicator)
    st.markdown(f"**{episodes_text(log.count, lang)}**")
    log_chart = figures.alert_log_figure(log.chart, lang=lang, title=t("alerts.chart_title", lang))
    st.plotly_chart(log_chart, width="stretch", key="alert_log_chart")
    downloads.chart(log_chart, downloads.meta(t("alerts.chart_title", lang)), "alert_log", "al_chart")
    if log.table.empty:
        st.info(t("alerts.none", lang))
        return
    st.caption(t("alerts.count", lang, n=len(log.table)))
    columns = list(records.LOG_COLUMNS)
    st.dataframe(log.table[columns], hide_index=True, width="stretch", height=320,
                 column_config={c: st.column_config.Column(t(f"alerts.col_{c}", lang), width=WIDTHS.get(c))
                                for c in columns})
    downloads.table(records.log_sheet(log.table), {c: t(f"alerts.col_{c}", lang) for c in columns}, "alert_log",
                    "al_table", title=t("alerts.chart_title", lang))
    _act(log.table, lang)


def _act(table, lang: str) -> None:
    st.subheader(t("alerts.act_title", lang))
    # Keyed by episode: an action reorders the table (open ones first), and the choice stays on its episode.
    rows = table.set_index("episode_id", drop=False)
    labels = {
        int(r.episode_id): t("alerts.choice", lang, indicator=r.indicator, geo=r.geo, start=r.start, peak=r.peak,
                             status=r.status)
        for r in rows.itertuples()
    }
    if st.session_state.get("al_choice") not in labels:
        st.session_state.pop("al_choice", None)
    episode_id = st.selectbox(t("alerts.choose", lang), list(labels), format_func=labels.get, key="al_choice")
    row = rows.loc[episode_id]
    if row["first_reason"]:
        st.caption(t("alerts.first_seen_as", lang, reason=row["first_reason"]))
    with st.form("alert_action", border=True):
        action = st.radio(t("alerts.action", lang), ACTIONS, horizontal=True, key="al_action",
                          format_func=lambda a: t(f"alerts.do_{a}", lang))
        comment = st.text_area(
            t("alerts.comment", lang), key="al_comment", height=80, placeholder=t("alerts.comment_hint", lang)
        )
        expires = st.date_input(t("alerts.expires", lang), value=None, key="al_expires",
                                min_value=dt.date.today(), help=t("alerts.expires_help", lang))
        if st.form_submit_button(t("alerts.apply", lang), type="primary") and common.require_analyst():
            try:
                actions.set_episode_status(cache.desk().store, int(episode_id), action, who=common.current_user()[0],
                                           comment=comment, expires=expires if action == "acknowledged" else None,
                                           lang=lang)
            except ValueError as exc:
                st.error(str(exc))
            else:
                common.flash(t("alerts.done", lang, action=t(f"alerts.status_{action}", lang)),
                             clear=("al_comment", "al_expires"))
                st.rerun()
    history = cache.episode_history(episode_id, lang)
    st.markdown(f"**{t('alerts.history', lang)}**")
    if history.empty:
        st.caption(t("alerts.no_history", lang))
    else:
        if not history["period"].astype(bool).any():
            history = history.drop(columns="period")
        st.dataframe(history, hide_index=True, width="stretch",
                     column_config={c: t(f"alerts.col_{c}", lang) for c in history.columns})


common.guarded(render)
