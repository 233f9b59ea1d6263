"""Thresholds (analysts): tune the mechanism and see at once what it would raise; save with a reason."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, common
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions, tuning, views
from monitoring.settings import METHODS
from monitoring.statistics.episodes import EpisodeCount

GLOBAL = "__all__"
MONTHS = [f"2023-{m:02d}" for m in range(1, 13)]


def _inputs(saved: dict, scope: str, lang: str) -> dict:
    """The widgets, preset to the saved values of the scope; returns the values they show."""
    k = f"th_{scope}_"
    left, middle, right = st.columns(3)
    with left:
        method = st.selectbox(t("th.method", lang), METHODS, index=METHODS.index(saved["method"]),
                              key=k + "method", format_func=lambda m: t(f"th.method_{m}", lang),
                              help=t("th.method_help", lang))
        alphas = list(tuning.ALPHAS)
        watch_alpha = st.select_slider(t("th.watch_alpha", lang), alphas,
                                       value=_nearest(saved["watch_alpha"]), key=k + "watch_alpha",
                                       help=t("th.alpha_help", lang))
        alert_alpha = st.select_slider(
            t("th.alert_alpha", lang), alphas, value=_nearest(saved["alert_alpha"]), key=k + "alert_alpha"
        )
    with middle:
        persistence = st.number_input(t("th.persistence", lang), 0, 12, int(saved["persistence"]),
                                      key=k + "persistence", help=t("th.persistence_help", lang))
        min_count = st.number_input(t("th.min_count", lang), 0, 1000, int(saved["min_count"]),
                                    key=k + "min_count", help=t("th.min_count_help", lang))
    with right:
        visa_watch = st.slider(t("th.visa_watch", lang), 5, 200, int(round(saved["watch"] * 100)), step=5,
                               key=k + "visa_watch", format="%d%%")
        visa_alert = st.slider(t("th.visa_alert", lang), 5, 200, int(round(saved["alert"] * 100)), step=5,
                               key=k + "visa_alert", format="%d%%")
        reference = st.multiselect(t("th.reference", lang), MONTHS, default=list(saved["reference"]),
                                   key=k + "reference",
                                   format_func=lambda m: views.reference_label((m,), lang), max_selections=2)
    return {"method": method, "watch_alpha": watch_alpha, "alert_alpha": alert_alpha,
            "persistence": persistence, "min_count": min_count, "watch": visa_watch / 100,
            "alert": visa_alert / 100, "reference": tuple(sorted(reference))}


def _nearest(alpha: float) -> float:
    return min(tuning.ALPHAS, key=lambda a: abs(a - alpha))


def render() -> None:
    lang = common.lang()
    st.title(t("th.title", lang))
    st.caption(t("th.intro", lang))
    common.show_flash()
    cat = cache.desk().catalogue
    saved_settings = cache.settings()
    ids = [GLOBAL, *[i.id for i in cat.indicators]]
    scope = st.selectbox(t("th.scope", lang), ids, key="th_scope",
                         format_func=lambda i: t("th.global", lang) if i == GLOBAL else cat[i].name_in(lang))
    indicator = None if scope == GLOBAL else scope
    values = _inputs(tuning.values_of(saved_settings, indicator), scope, lang)
    try:
        new = tuning.with_values(saved_settings, indicator, values)
    except ValueError as exc:
        st.error(t("th.invalid", lang, error=str(exc)))
        return
    before, after = cache.threshold_counts(saved_settings, None), cache.threshold_counts(new, None)
    st.subheader(t("th.effect", lang, months=tuning.WINDOW_MONTHS))
    a, w, sa, sw = st.columns(4)
    a.metric(t("th.alerts_new", lang), after.alerts, delta=(after.alerts - before.alerts) or None,
             delta_color="off")
    w.metric(t("th.watches_new", lang), after.watches, delta=(after.watches - before.watches) or None,
             delta_color="off")
    sa.metric(t("th.alerts_saved", lang), before.alerts)
    sw.metric(t("th.watches_saved", lang), before.watches)
    table = before.by_indicator.merge(
        after.by_indicator, on="indicator", suffixes=("_saved", "_new"), how="outer"
    )
    table = table.fillna(0).assign(
        indicator=lambda f: [views.indicator_of(cat, i).name_in(lang) for i in f["indicator"]]
    )
    with st.expander(t("th.by_indicator", lang)):
        st.dataframe(table, hide_index=True, width="stretch",
                     column_config={c: t(f"th.col_{c}", lang) for c in table.columns})
    diff = tuning.change_lines(saved_settings, new, lang, cat)
    if tuning.needs_refit(saved_settings, new, cat):
        st.info(t("th.refit_note", lang))
    with st.form("save_thresholds", border=True):
        st.markdown(
            t("th.pending", lang, n=len(diff))
            + ("\n\n" + "\n".join(f"- {common.md_escape(d)}" for d in diff) if diff else "")
        )
        reason = st.text_input(t("th.reason", lang), key="th_reason", placeholder=t("th.reason_hint", lang))
        if (
            st.form_submit_button(t("th.save", lang), type="primary", disabled=not diff)
            and common.require_analyst()
        ):
            try:
                actions.save_settings(cache.desk().store, cat, new, who=common.current_user()[0], reason=reason,
                                      today=cache.today(), lang=lang, behind=True)
            except ValueError as exc:
                st.error(str(exc))
            else:
                common.flash(t("th.saved", lang, episodes=episodes_text(EpisodeCount(after.alerts, after.watches), lang)),
                             clear=("th_reason", "th_revert_id"))
                st.rerun()
    _rescan(lang)
    _audit(lang)


def _rescan(lang: str) -> None:
    """The explicit re-run of the scan (refits what changed: data or fit settings), with a progress bar."""
    with st.expander(t("th.rescan_title", lang)):
        st.caption(t("th.rescan_help", lang))
        if st.button(t("th.rescan", lang), key="th_rescan") and common.require_analyst():
            progress = common.progress_bar(lang)
            report = actions.rescan(cache.desk().store, cache.desk().catalogue, cache.settings(),
                                    today=cache.today(), who=common.current_user()[0], progress=progress)
            common.flash(t("ui.scan_done", lang, episodes=episodes_text(report.episodes, lang), series=report.series_total))
            st.rerun()


def _audit(lang: str) -> None:
    st.subheader(t("th.audit", lang))
    log = cache.audit_log(lang)
    if log.empty:
        st.caption(t("th.audit_empty", lang))
        return
    st.dataframe(
        log, hide_index=True, width="stretch", column_config={c: t(f"th.col_{c}", lang) for c in log.columns}
    )
    # Any version but the one in force, and the shipped defaults (the first save has no earlier version).
    reasons = log.set_index("id")["reason"]
    choices = [int(i) for i in log["id"].iloc[1:]] + [actions.DEFAULTS]
    with st.form("revert", border=True):
        entry = st.selectbox(
            t("th.revert_to", lang),
            choices,
            key="th_revert_id",
            format_func=lambda i: t("th.defaults", lang) if i == actions.DEFAULTS
            else t("th.version", lang, id=i, reason=reasons.at[i]),
        )
        reason = st.text_input(t("th.reason", lang), key="th_revert_reason")
        if st.form_submit_button(t("th.revert", lang)) and common.require_analyst():
            try:
                actions.revert_settings(cache.desk().store, cache.desk().catalogue, int(entry),
                                        who=common.current_user()[0], reason=reason, today=cache.today(),
                                        lang=lang, behind=True)
            except ValueError as exc:
                st.error(str(exc))
            else:
                done = t("th.reverted_defaults", lang) if entry == actions.DEFAULTS else t("th.reverted", lang, id=entry)
                common.flash(done, clear=("th_revert_reason", "th_revert_id"))
                st.rerun()


common.guarded(render)
