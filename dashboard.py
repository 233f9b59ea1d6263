"""Migration early-warning monitor: the Streamlit entry point (``streamlit run dashboard.py``).

UI only. On an empty database it loads the synthetic demo data and runs the scan once, in a
background thread shared by every session, with a progress panel on every page; after that it
only reads stored results.
"""

from __future__ import annotations

import time

import streamlit as st

from app_pages import cache, common
from monitoring.i18n import t
from monitoring.narrative import episodes_text
from monitoring.pipeline import actions

st.set_page_config(
    page_title="GAM – Migration early warning", page_icon=":material/monitoring:", layout="wide"
)
# Less empty space above the page title, so that the overview's alert table starts on the first screen.
st.html("<style>.stMainBlockContainer {padding-top: 3.75rem;}"
        # the first start's progress: a bar one can see, not a hairline
        ".st-key-first_start_panel [data-testid='stProgress'] [role='progressbar'] > div > div "
        "{height: 1.1rem; border-radius: 0.5rem;}</style>")


POLL_SECONDS = 0.7  # how often a page waiting for the first start looks at its progress


def first_start(lang: str) -> bool:
    """True when the database is ready. Otherwise the first start runs in the background (one build per
    server process, shared by every session: a click to another page neither restarts nor blocks it)
    and every page shows its progress, re-polling until it is done; False when it failed. Only an
    analyst (anyone in local mode, unless ``MONITOR_ROLE=viewer``) starts it, recorded under their name;
    a viewer is told that a scan is needed and sees a build an analyst started."""
    prep = cache.preparation(common.current_user()[0] or "local")
    state = prep.state
    if not state.running and state.phase != "failed" and not cache.desk().needs_first_start():
        if st.session_state.pop("_waited_first_start", False) and state.report is not None:
            st.toast(t("ui.scan_done", lang, episodes=episodes_text(state.report.episodes, lang),
                       series=state.report.series_total))
        return True
    analyst = common.is_analyst()
    if state.phase == "failed":
        common.show_error(state.error)
        if analyst and st.button(t("ui.first_start_retry", lang), key="first_start_retry"):
            prep.start(who=common.current_user()[0] or "local")
            st.rerun()
        return False
    if not state.running and not analyst:  # a viewer never writes: the load and scan wait for an analyst
        empty = cache.desk().is_empty()
        st.info(t("ui.no_data_viewer" if empty else "ui.scan_needed_viewer", lang), icon=":material/hourglass:")
        return False
    prep.start(who=common.current_user()[0] or "local")
    state = prep.state
    if state.phase == "done":
        st.rerun()
    st.session_state["_waited_first_start"] = True
    _progress_panel(lang, state)
    time.sleep(POLL_SECONDS)
    st.rerun()
    return False


def _progress_panel(lang: str, state: actions.PreparationState) -> None:
    what = t("ui.preparing_demo" if state.demo else "ui.preparing", lang)
    if state.phase == "loading" or not state.total:
        text = t("ui.loading_demo", lang) if state.phase == "loading" else t("ui.scan_start", lang)
        fraction = 0.0
    else:
        label = cache.desk().series_label(state.label, lang)
        text = t("ui.preparing_scan", lang, what=what, done=state.done, total=state.total, label=label)
        fraction = state.done / state.total
    with st.container(border=True, key="first_start_panel"):
        st.subheader(t("ui.first_start", lang))
        st.progress(min(max(fraction, 0.0), 1.0), text=text)
        st.caption(t("ui.first_start_note", lang))


RELEVEL_POLL_SECONDS = 2  # how often the note of a re-levelling in progress looks whether it is done


def relevelling_note(lang: str) -> None:
    """While the levels of a threshold save are being written: a note above the page, which polls and
    shows the page at the new levels once they are in. An analyst's visit restarts a re-levelling that a
    stopped server left undone; a viewer only sees the note."""
    pending = cache.desk().pending_levels()
    if pending is None:
        if st.session_state.pop("_relevel_done", False):  # this session watched it: say it is done, once
            _relevelled(lang)
        return
    if not pending.running and pending.error is None and common.is_analyst():
        cache.desk().relevel_behind(cache.today())
    st.session_state["_relevel_with_page"] = True
    _relevelling_fragment(lang)


def _relevelled(lang: str) -> None:
    st.success(t("ui.relevel_done", lang), icon=":material/check_circle:")


@st.fragment(run_every=RELEVEL_POLL_SECONDS)
def _relevelling_fragment(lang: str) -> None:
    with_page = st.session_state.pop("_relevel_with_page", False)
    pending = cache.desk().pending_levels()
    if pending is None:
        if with_page:  # drawn with the page, whose views below read the new levels: rerunning it would drop
            _relevelled(lang)  # the click that page run is handling
            return
        st.session_state["_relevel_done"] = True
        st.rerun(scope="app")  # polled on its own: the levels are in, the whole page again, at them
    if pending.settings_id is None:
        who = t("ui.relevel_defaults", lang)
    else:
        who = t("ui.relevel_saved", lang, who=common.md_escape(pending.saved_by),
                at=pending.saved_at.strftime("%Y-%m-%d %H:%M"))
    if pending.error is not None:
        st.warning(t("ui.relevel_failed", lang, what=who, error=common.md_escape(pending.error)),
                   icon=":material/error:")
        if common.is_analyst() and st.button(t("ui.relevel_retry", lang), key="relevel_retry"):
            cache.desk().relevel_behind(cache.today())
            st.rerun(scope="fragment")
    elif pending.running:
        st.info(t("ui.relevelling", lang, what=who), icon=":material/sync:")
    else:
        st.info(t("ui.relevel_waiting", lang, what=who), icon=":material/hourglass:")


def main() -> None:
    lang = common.language_selector()
    page = st.navigation(common.pages(lang))
    common.sidebar_user()
    try:
        ready = first_start(lang)
        if ready:
            relevelling_note(lang)
        if cache.synthetic_in_use():
            st.warning(t("ui.synthetic_banner", lang), icon=":material/science:")
    except Exception as exc:
        common.show_error(exc)
        ready = False
    if ready:
        page.run()


main()
