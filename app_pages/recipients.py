"""Recipients: who receives the e-mail digest, per language and indicator category; analysts edit, with a
reason (audited); viewers see."""

from __future__ import annotations

import streamlit as st

from app_pages import cache, common
from monitoring.i18n import LANGUAGES, t
from monitoring.pipeline.mail import CATEGORIES
from monitoring.pipeline.recipients import recipients_view, save_recipients


def _label(category: str, lang: str) -> str:
    return t("recipients.category_all", lang) if category == "all" else t(f"category.{category}", lang)


def render() -> None:
    lang = common.lang()
    st.title(t("recipients.title", lang))
    st.caption(t("recipients.intro", lang))
    common.show_flash()
    view = recipients_view(cache.desk().store, cache.desk().catalogue, lang)
    if view.error:
        st.error(view.error)
    analyst = common.is_analyst()
    if not analyst:
        st.info(t("recipients.viewer", lang))
    st.caption(view.source)
    texts = {}
    with st.form("recipients", border=True):
        for code, tab in zip(LANGUAGES, st.tabs(list(LANGUAGES.values())), strict=True):
            with tab:
                columns = st.columns(2)  # wide enough for an address on one line
                for n, cat in enumerate(CATEGORIES):
                    with columns[n % 2]:
                        texts[(code, cat)] = st.text_area(_label(cat, lang), view.addresses(code, cat), height=100,
                                                          key=f"rc_{code}_{cat}", disabled=not analyst,
                                                          help=t("recipients.addresses_help", lang))
        reason = st.text_input(t("recipients.reason", lang), key="rc_reason", disabled=not analyst)
        if st.form_submit_button(t("recipients.save", lang), type="primary", disabled=not analyst or view.error != "") \
                and common.require_analyst():
            try:
                done = save_recipients(cache.desk().store, view, texts, who=common.current_user()[0], reason=reason,
                                       lang=lang)
            except ValueError as exc:
                st.error(str(exc))
            else:
                common.flash(done, clear=("rc_reason",))
                st.rerun()
    st.subheader(t("recipients.server_title", lang))
    st.caption(view.server)
    st.subheader(t("recipients.sent_title", lang))
    if view.sent.empty:
        st.caption(t("recipients.nothing_sent", lang))
    else:
        st.dataframe(view.sent, hide_index=True, width="stretch")


common.guarded(render)
