"""The Data page's deletion of a series or a period range: analysts only, with a confirm step, then the
series is rescanned (``monitoring.pipeline.actions.delete_series``; the same deletion as ``indicators delete``)."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, common
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions

_PENDING = "_delete_pending"
_DONE = "_delete_done"
OPEN = ""  # a range open at that end: from the series' first period, to its last


def render(lang: str) -> None:
    """The form, shown to analysts only (a viewer sees no way to delete)."""
    if not common.is_analyst():
        return
    st.subheader(t("data.delete", lang))
    st.caption(t("data.delete_help", lang))
    done = st.session_state.pop(_DONE, None)
    if done:  # the last deletion's report, here where it was asked for rather than at the top of the page
        # The form reset for the next one before it is drawn (set, not removed: a browser keeps a removed
        # widget's last value): no reason, the whole series.
        st.session_state["del_reason"] = ""
        for key in [k for k in st.session_state if str(k).startswith(("del_from_", "del_to_"))]:
            st.session_state[key] = OPEN
        st.success(done, icon=":material/check:")
    desk = cache.desk()
    keys = desk.stored_series()
    if not keys:
        st.caption(t("data.delete_nothing", lang))
        return
    left, middle, right = st.columns([2, 1, 1])
    chosen = left.selectbox(t("data.delete_series", lang), keys, key="del_series",
                            format_func=lambda k: desk.series_label(f"{k[0]} {k[1]}", lang))
    # Only periods the monitor can read are offered as bounds; an unreadable one goes with its series or
    # with a range open at that end.
    periods = desk.series_periods(*chosen)
    # "" for an open end (None would read as "nothing chosen": a blank box).
    first = middle.selectbox(t("data.delete_from", lang), [OPEN, *periods], key=f"del_from_{chosen[0]}_{chosen[1]}",
                             format_func=lambda p: p or t("data.delete_first", lang)) or None
    last = right.selectbox(t("data.delete_to", lang), [OPEN, *periods], key=f"del_to_{chosen[0]}_{chosen[1]}",
                           format_func=lambda p: p or t("data.delete_last", lang)) or None
    st.text_input(t("data.delete_reason", lang), key="del_reason")
    wanted = (chosen[0], chosen[1], first, last)
    if st.button(t("data.delete_button", lang), key="del_ask", icon=":material/delete:"):
        if first is not None and last is not None and periods.index(first) > periods.index(last):
            st.error(t("data.delete_reversed", lang, first=first, last=last))
            st.session_state.pop(_PENDING, None)
        else:
            st.session_state[_PENDING] = wanted
    if st.session_state.get(_PENDING) == wanted:  # a changed choice asks again
        _confirm(lang, wanted)
    else:
        st.session_state.pop(_PENDING, None)


def _confirm(lang: str, pending: tuple) -> None:
    """The confirm step: what would be deleted, in words, and a button that does it."""
    indicator, geo, first, last = pending
    reason = st.session_state.get("del_reason", "")
    store = cache.desk().store
    plan = actions.deletion_preview(store, indicator, geo, first=first, last=last)
    label = cache.desk().series_label(f"{indicator} {geo}", lang)
    if plan.count == 0:
        st.session_state.pop(_PENDING, None)
        st.info(t("data.delete_none", lang, series=common.md_escape(label)))
        return
    span = _span(lang, plan)
    with st.container(border=True, key="delete_confirm"):
        st.warning(t("data.delete_confirm_whole" if plan.whole_series else "data.delete_confirm", lang,
                     n=plan.count, series=common.md_escape(label), span=common.md_escape(span)),
                   icon=":material/warning:")
        go, cancel, _ = st.columns([1, 1, 3])
        if cancel.button(t("data.delete_cancel", lang), key="del_cancel"):
            st.session_state.pop(_PENDING, None)
            st.rerun()
        if not (go.button(t("data.delete_yes", lang, n=plan.count), type="primary", key="del_yes")
                and common.require_analyst()):
            return
    progress = common.progress_bar(lang)
    done, report = actions.delete_series(store, cache.desk().catalogue, cache.settings(), indicator, geo, first=first,
                                         last=last, who=common.current_user()[0], today=cache.today(),
                                         reason=reason, progress=progress)
    progress.bar.empty()
    st.session_state.pop(_PENDING, None)
    lines = [t("data.deleted", lang, n=done.count, series=common.md_escape(label),
               span=common.md_escape(_span(lang, done)))]
    if done.episodes_withdrawn:
        lines.append(t("data.deleted_episodes", lang, n=done.episodes_withdrawn))
    if report is not None:
        lines.append(t("data.rescanned", lang, n=1, episodes=episodes_text(report.episodes, lang)))
    st.session_state[_DONE] = "\n\n".join(lines)
    st.rerun()


def _span(lang: str, plan) -> str:
    if plan.first_period == plan.last_period:
        return plan.first_period
    return t("data.delete_span", lang, first=plan.first_period, last=plan.last_period)
