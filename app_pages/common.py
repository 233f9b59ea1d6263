"""Shared UI helpers: language, navigation, user and role gate, errors, flash messages, the progress bar.

The pages' data come from ``app_pages/cache.py`` (cached calls of ``monitoring.pipeline.session``)."""

from __future__ import annotations

import getpass
import logging
import os
import re
import traceback
from collections.abc import Callable

import streamlit as st

from app_pages import cache
from app_pages.roles import ANALYST, VIEWER, load_role_map, role_for
from monitoring.i18n import DEFAULT_LANG, LANGUAGES, t

log = logging.getLogger("monitor.dashboard")
_CONTROL_FLOW = {"StopException", "RerunException"}
PAGES = {"overview": "app_pages/overview.py", "explorer": "app_pages/explorer.py",
         "thresholds": "app_pages/thresholds.py", "alerts": "app_pages/alerts.py",
         "data": "app_pages/data.py", "recipients": "app_pages/recipients.py"}
ICONS = {"overview": ":material/dashboard:", "explorer": ":material/show_chart:",
         "thresholds": ":material/tune:", "alerts": ":material/notifications:", "data": ":material/database:",
         "recipients": ":material/mail:"}


def lang() -> str:
    return st.session_state.get("lang", DEFAULT_LANG)


def language_selector() -> str:
    """The language picker in the sidebar; returns the chosen language code."""
    if "lang" not in st.session_state:
        wanted = st.query_params.get("lang", DEFAULT_LANG)
        st.session_state["lang"] = wanted if wanted in LANGUAGES else DEFAULT_LANG
    st.sidebar.selectbox(t("ui.language", lang()), list(LANGUAGES), format_func=LANGUAGES.get, key="lang")
    return lang()


def pages(lang_code: str) -> list:
    """The navigation, with titles in the language."""
    return [
        st.Page(path, title=t(f"nav.{name}", lang_code), icon=ICONS[name], url_path=name,
                default=name == "overview")
        for name, path in PAGES.items()
    ]


# --- users and roles -------------------------------------------------------------------------------


def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: local mode
        return False


def current_user() -> tuple[str, str]:
    """(name, role). Without an identity provider ([auth] in secrets): local single-user mode.

    In local mode the role is ``analyst`` unless ``MONITOR_ROLE=viewer`` (a read-only kiosk). With
    [auth], the signed-in identity's e-mail or groups are looked up in the roles file (roles.py).
    """
    if not _auth_configured():
        role = VIEWER if os.environ.get("MONITOR_ROLE", "").lower() == VIEWER else ANALYST
        try:
            name = getpass.getuser()
        except Exception:
            name = "local"
        return name, role
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        return "", VIEWER
    return str(user.get("name") or user.get("email") or ""), role_for(user, load_role_map())


def local_mode() -> bool:
    return not _auth_configured()


def require_analyst() -> bool:
    """Check at the point of writing: True for an analyst; otherwise say why and return False."""
    name, role = current_user()
    if role == ANALYST:
        return True
    st.error(t("ui.analysts_only", lang()))
    return False


def is_analyst() -> bool:
    return current_user()[1] == ANALYST


def sidebar_user() -> None:
    name, role = current_user()
    with st.sidebar:
        if local_mode():
            st.caption(t("ui.local_mode", lang()))
        elif name:
            st.caption(t("ui.signed_in", lang(), name=md_escape(name), role=t(f"ui.role_{role}", lang())))
            if st.button(t("ui.log_out", lang())):
                st.logout()
        else:
            if st.button(t("ui.log_in", lang())):
                st.login()
        if role == VIEWER:
            st.caption(t("ui.viewer_note", lang()))


# --- errors --------------------------------------------------------------------------------------


def show_error(exc: BaseException) -> None:
    """A message that says what to do; the traceback goes to the server log only."""
    log.error("dashboard error: %s\n%s", exc, "".join(traceback.format_exception(exc)))
    if os.environ.get("MONITOR_DEBUG"):
        raise exc
    known = type(exc).__name__ in {"StoreError", "StoreBusy", "LoadError", "SettingsError", "CatalogueError",
                                   "ValueError"}
    # A message may quote a file's cell, a period or a path: shown as text, never as Markdown.
    if known:
        st.error(md_escape(str(exc)))
    else:
        st.error(t("ui.unexpected_error", lang(), error=md_escape(f"{type(exc).__name__}: {exc}")))


def guarded(render: Callable[[], None]) -> None:
    """Run a page body; any error becomes a message."""
    try:
        render()
    except Exception as exc:
        if type(exc).__name__ in _CONTROL_FLOW:  # st.stop(), st.rerun(), st.switch_page()
            raise
        show_error(exc)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~$:])")


def md_escape(text: str) -> str:
    """Text shown through Markdown (st.error, st.success) exactly as written."""
    return _MARKDOWN.sub(r"\\\1", str(text))


def flash(message: str, kind: str = "success", clear: tuple[str, ...] = ()) -> None:
    """A message shown once, after the rerun that follows a write; ``clear``: the widgets (a reason, a
    comment) to empty for the next one (a widget's value cannot be changed once it is drawn)."""
    st.session_state["_flash"] = (kind, message)
    st.session_state["_clear"] = tuple(clear)


def show_flash() -> None:
    """The flash message of the last write; call before the page draws its widgets."""
    for key in st.session_state.pop("_clear", ()):
        # a text (a reason, a comment) is set empty: only dropping its state left the browser showing the old
        # text in a form; other widgets (a choice) go back to their default
        if isinstance(st.session_state.get(key), str):
            st.session_state[key] = ""
        else:
            st.session_state.pop(key, None)
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(st, kind)(message)


Progress = Callable[[int, int, str], None]


def progress_bar(lang_code: str, before: Callable[[], None] | None = None) -> Progress:
    """A progress bar fed by the scan's ``progress(done, total, label)``, naming series (not codes)."""
    bar = st.progress(0.0, text=t("ui.scan_start", lang_code))
    desk = cache.desk()

    def progress(done: int, total: int, label: str) -> None:
        if before is not None and done <= 1:
            before()
        text = t("ui.scanning", lang_code, done=done, total=total, label=desk.series_label(label, lang_code))
        bar.progress(done / max(total, 1), text=text)

    progress.bar = bar  # so that the caller can remove it
    return progress
