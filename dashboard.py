"""Migration early-warning monitor: the Streamlit entry point (``streamlit run dashboard.py``).

UI only. On an empty database it loads the synthetic demo data and runs the scan once, with a
progress bar; after that it only reads stored results.
"""

from __future__ import annotations

import streamlit as st

from app_pages import common
from monitoring import actions
from monitoring.i18n import t

st.set_page_config(
    page_title="GAM – Migration early warning", page_icon=":material/monitoring:", layout="wide"
)
# Less empty space above the page title, so that the overview's alert table starts on the first screen.
st.html("<style>.stMainBlockContainer {padding-top: 3.75rem;}</style>")


def first_start(lang: str) -> bool:
    """Prepare an empty or never-scanned database (one session at a time); False when it failed."""
    store = common.store()
    if not actions.needs_first_start(store):
        return True
    with common.bootstrap_lock():
        if not actions.needs_first_start(store):  # another session did it meanwhile
            return True
        heading = st.empty()
        heading.subheader(t("ui.first_start", lang))
        note = st.empty()
        progress = common.progress_bar(lang, before=note.empty)  # the loading note gives way to the scan
        try:
            if actions.demo_allowed():
                note.info(t("ui.loading_demo", lang))
            _, report = actions.first_start(store, common.catalogue(), common.settings(),
                                            today=common.today(), progress=progress,
                                            who=common.current_user()[0] or "local")
        except Exception as exc:
            common.show_error(exc)
            return False
        note.empty()
        progress.bar.empty()
        heading.empty()  # the overview follows; the preparation is over
        if report is not None:
            st.toast(t("ui.scan_done", lang, episodes=report.episodes.text(lang), series=report.series_total))
    return True


def main() -> None:
    lang = common.language_selector()
    page = st.navigation(common.pages(lang))
    common.sidebar_user()
    try:
        ready = first_start(lang)
        if common.synthetic_in_use():
            st.warning(t("ui.synthetic_banner", lang), icon=":material/science:")
    except Exception as exc:
        common.show_error(exc)
        ready = False
    if ready:
        page.run()


main()
