"""Shared UI helpers: cached store/catalogue, language, user and role gate, banners, error display."""

from __future__ import annotations

import getpass
import logging
import os
import threading
import traceback
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st

from indicators.catalogue import Catalogue, load_catalogue
from indicators.store import Store, default_db_path, observations, open_store
from monitoring import views
from monitoring.i18n import DEFAULT_LANG, LANGUAGES, t
from monitoring.settings import MonitorSettings, saved_settings

log = logging.getLogger("monitor.dashboard")
ANALYST, VIEWER = "analyst", "viewer"
_CONTROL_FLOW = {"StopException", "RerunException"}
PAGES = {
    "overview": "app_pages/overview.py",
    "explorer": "app_pages/explorer.py",
    "thresholds": "app_pages/thresholds.py",
    "alerts": "app_pages/alerts.py",
    "data": "app_pages/data.py",
}
ICONS = {"overview": ":material/dashboard:", "explorer": ":material/show_chart:",
         "thresholds": ":material/tune:", "alerts": ":material/notifications:", "data": ":material/database:"}


@st.cache_resource(show_spinner=False)
def _store(path: str) -> Store:
    return open_store(path)


def store() -> Store:
    """The database named by ``MONITOR_DB`` (default ``data/monitor.duckdb``), schema ensured."""
    return _store(str(default_db_path()))


@st.cache_resource(show_spinner=False)
def catalogue() -> Catalogue:
    return load_catalogue()


@st.cache_resource(show_spinner=False)
def bootstrap_lock() -> threading.Lock:
    """One first-start (demo load and scan) at a time across sessions."""
    return threading.Lock()


def today() -> pd.Timestamp:
    """Today's date (``MONITOR_TODAY`` overrides it, for demos and tests)."""
    return pd.Timestamp(os.environ.get("MONITOR_TODAY") or date.today()).normalize()


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
    return [st.Page(path, title=t(f"nav.{name}", lang_code), icon=ICONS[name], url_path=name,
                    default=name == "overview") for name, path in PAGES.items()]


# --- users and roles -------------------------------------------------------------------------------

def _auth_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: local mode
        return False


def current_user() -> tuple[str, str]:
    """(name, role). Without an identity provider ([auth] in secrets): local single-user mode.

    In local mode the role is ``analyst`` unless ``MONITOR_ROLE=viewer`` (a read-only kiosk).
    With [auth], a logged-in user is an analyst when their e-mail is listed in
    ``[roles] analysts`` of the secrets, a viewer otherwise.
    """
    if not _auth_configured():
        role = VIEWER if os.environ.get("MONITOR_ROLE", "").lower() == VIEWER else ANALYST
        try:
            name = getpass.getuser()
        except Exception:
            name = "local"
        return name, role
    user = st.user
    if not user.get("is_logged_in"):
        return "", VIEWER
    email = str(user.get("email") or "")
    analysts = [str(a).lower() for a in st.secrets.get("roles", {}).get("analysts", [])]
    return str(user.get("name") or email), ANALYST if email.lower() in analysts else VIEWER


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
            st.caption(t("ui.signed_in", lang(), name=name, role=t(f"ui.role_{role}", lang())))
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
    if known:
        st.error(str(exc))
    else:
        st.error(t("ui.unexpected_error", lang(), error=f"{type(exc).__name__}: {exc}"))


def guarded(render: Callable[[], None]) -> None:
    """Run a page body; any error becomes a message."""
    try:
        render()
    except Exception as exc:
        if type(exc).__name__ in _CONTROL_FLOW:  # st.stop(), st.rerun(), st.switch_page()
            raise
        show_error(exc)


# --- cached page data (keyed by the database version: a new load, scan or save invalidates) --------

def version() -> tuple[int, int, int]:
    return store().version()


@st.cache_resource(show_spinner=False, max_entries=4)
def _settings(path: str, key: tuple[int, int, int]) -> MonitorSettings:
    return saved_settings(_store(path))


def settings() -> MonitorSettings:
    """The saved detection settings (the latest in the settings log, else the shipped defaults)."""
    return _settings(str(default_db_path()), version())


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(path: str, key: tuple[int, int, int], lang_code: str, day: str) -> views.OverviewView:
    return views.overview_view(_store(path), catalogue(), pd.Timestamp(day), lang_code)


def overview(lang_code: str) -> views.OverviewView:
    return _overview(str(default_db_path()), version(), lang_code, str(today().date()))


@st.cache_data(show_spinner=False, max_entries=8)
def _series_choices(path: str, key: tuple[int, int, int]) -> dict[str, list[str]]:
    return views.series_choices(_store(path), catalogue())


def series_choices() -> dict[str, list[str]]:
    return _series_choices(str(default_db_path()), version())


@st.cache_resource(show_spinner=False, max_entries=64)  # shared, never mutated (holds an Indicator)
def _explorer(path: str, key: tuple[int, int, int], indicator: str, geo: str, lang_code: str) -> views.ExplorerView:
    return views.explorer_view(_store(path), catalogue(), settings(), indicator, geo, lang_code)


def explorer(indicator: str, geo: str, lang_code: str) -> views.ExplorerView:
    return _explorer(str(default_db_path()), version(), indicator, geo, lang_code)


@st.cache_data(show_spinner=False, max_entries=64)
def _impact(path: str, key: tuple[int, int, int], indicator: str, geo: str) -> pd.DataFrame:
    ind = views.indicator_of(catalogue(), indicator)
    return views.impact_frame(views.history_frame(_store(path), ind, geo), ind)


def impact(indicator: str, geo: str) -> pd.DataFrame:
    """The visa-free impact of one series (a projection, computed once per data version and cached)."""
    return _impact(str(default_db_path()), version(), indicator, geo)


@st.cache_data(show_spinner=False, max_entries=4)
def _synthetic(path: str, key: tuple[int, int, int]) -> bool:
    return observations.synthetic_in_use(_store(path))


def synthetic_in_use() -> bool:
    """Whether any current observation comes from a synthetic (demo) load: the banner shows."""
    return _synthetic(str(default_db_path()), version())
