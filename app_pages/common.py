"""Shared UI helpers: cached store/catalogue, language, user and role gate, banners, error display."""

from __future__ import annotations

import getpass
import logging
import os
import re
import traceback
from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st

from app_pages.roles import ANALYST, VIEWER, load_role_map, role_for
from indicators.catalogue import Catalogue, load_catalogue
from indicators.store import Store, default_db_path, observations, open_store
from monitoring.briefing import figures
from monitoring.i18n import DEFAULT_LANG, LANGUAGES, t
from monitoring.pipeline import actions, records, tuning, views
from monitoring.settings import MonitorSettings, saved_settings, settings_from_json

log = logging.getLogger("monitor.dashboard")
_CONTROL_FLOW = {"StopException", "RerunException"}
PAGES = {"overview": "app_pages/overview.py", "explorer": "app_pages/explorer.py",
         "thresholds": "app_pages/thresholds.py", "alerts": "app_pages/alerts.py",
         "data": "app_pages/data.py", "recipients": "app_pages/recipients.py"}
ICONS = {"overview": ":material/dashboard:", "explorer": ":material/show_chart:",
         "thresholds": ":material/tune:", "alerts": ":material/notifications:", "data": ":material/database:",
         "recipients": ":material/mail:"}


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
def _preparation(path: str) -> actions.Preparation:
    return actions.Preparation(_store(path), catalogue(), lambda: saved_settings(_store(path)), today=today(),
                               who=current_user()[0] or "local")


def preparation() -> actions.Preparation:
    """The database's first start: one per server process, run in the background, shared by every session."""
    return _preparation(str(default_db_path()))


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
def _briefing(path: str, key: tuple[int, int, int], lang_code: str, day: str):
    from monitoring.briefing.contents import BriefingError, build_briefing

    try:
        return build_briefing(_store(path), catalogue(), settings(), lang=lang_code, today=date.fromisoformat(day))
    except BriefingError:
        return None


def briefing(lang_code: str):
    """The briefing of the latest reporting month (a ``monitoring.briefing.contents.Briefing``), or None
    without scored results (cached per database version)."""
    return _briefing(str(default_db_path()), version(), lang_code, str(today().date()))


@st.cache_data(show_spinner=False, max_entries=8)
def _series_choices(path: str, key: tuple[int, int, int]) -> dict[str, list[str]]:
    return views.series_choices(_store(path), catalogue())


def series_choices() -> dict[str, list[str]]:
    return _series_choices(str(default_db_path()), version())


@st.cache_resource(show_spinner=False, max_entries=64)  # shared, never mutated (holds an Indicator)
def _explorer(
    path: str, key: tuple[int, int, int], indicator: str, geo: str, lang_code: str
) -> views.ExplorerView:
    return views.explorer_view(_store(path), catalogue(), settings(), indicator, geo, lang_code)


def explorer(indicator: str, geo: str, lang_code: str) -> views.ExplorerView:
    return _explorer(str(default_db_path()), version(), indicator, geo, lang_code)


@st.cache_data(show_spinner=False, max_entries=64)
def _impact(path: str, key: tuple[int, int, int], indicator: str, geo: str) -> pd.DataFrame:
    return views.impact_frame(_store(path), indicator, geo)


def impact(indicator: str, geo: str) -> pd.DataFrame:
    """The visa-free impact of one series, as the scan stored it."""
    return _impact(str(default_db_path()), version(), indicator, geo)


@st.cache_data(show_spinner=False, max_entries=4)
def _synthetic(path: str, key: tuple[int, int, int]) -> bool:
    return observations.synthetic_in_use(_store(path))


def synthetic_in_use() -> bool:
    """Whether any current observation comes from a synthetic (demo) load: the banner shows."""
    return _synthetic(str(default_db_path()), version())


@st.cache_data(show_spinner=False, max_entries=4)
def _stored_scores(path: str, key: tuple[int, int, int], day: str) -> pd.DataFrame:
    return tuning.stored_scores(_store(path), pd.Timestamp(day))


@st.cache_data(show_spinner=False, max_entries=64)
def _threshold_counts(
    path: str, key: tuple[int, int, int], day: str, settings_json: str, indicator: str | None
) -> tuning.Counts:
    stored = _stored_scores(path, key, day)
    return tuning.counts(stored, catalogue(), settings_from_json(settings_json), pd.Timestamp(day), indicator)


def threshold_counts(candidate: MonitorSettings, indicator: str | None = None) -> tuning.Counts:
    """Alerts and watches of the last 12 months at candidate settings (re-thresholding, cached)."""
    return _threshold_counts(
        str(default_db_path()), version(), str(today().date()), candidate.to_json(), indicator
    )


@st.cache_data(show_spinner=False, max_entries=4)
def _audit_log(path: str, key: tuple[int, int, int], lang_code: str) -> pd.DataFrame:
    return tuning.audit_log(_store(path), lang_code, catalogue())


def audit_log(lang_code: str = DEFAULT_LANG) -> pd.DataFrame:
    """The settings' audit log, the changes said in the language."""
    return _audit_log(str(default_db_path()), version(), lang_code)


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
        st.session_state.pop(key, None)
    kind, message = st.session_state.pop("_flash", (None, None))
    if message:
        getattr(st, kind)(message)


@st.cache_data(show_spinner=False, max_entries=32)
def _episode_log(path: str, key: tuple[int, int, int], lang_code: str, day: str, since: int | None,
                 statuses: tuple[str, ...], indicator: str | None) -> records.EpisodeLog:
    return records.episode_log(_store(path), catalogue(), pd.Timestamp(day), lang_code, since_months=since,
                               statuses=statuses, indicator=indicator)


def episode_log(
    lang_code: str, since: int | None, statuses: tuple[str, ...], indicator: str | None
) -> records.EpisodeLog:
    """The Alerts page's episodes for these filters (cached per database version)."""
    return _episode_log(
        str(default_db_path()), version(), lang_code, str(today().date()), since, statuses, indicator
    )


def episode_history(episode_id: int, lang_code: str) -> pd.DataFrame:
    return records.episode_history(store(), episode_id, lang_code)


@st.cache_data(show_spinner=False, max_entries=16)
def _coverage_cells(
    path: str, key: tuple[int, int, int], indicators: tuple[str, ...], lang_code: str
) -> pd.DataFrame:
    return records.coverage_cells(_store(path), catalogue(), lang_code, list(indicators) or None)


def coverage_cells(indicators: tuple[str, ...], lang_code: str) -> pd.DataFrame:
    return _coverage_cells(str(default_db_path()), version(), indicators, lang_code)


@st.cache_data(show_spinner=False, max_entries=8)
def _data_tables(path: str, key: tuple[int, int, int], lang_code: str) -> dict:
    s = _store(path)
    return {"coverage": records.coverage_table(s, catalogue(), lang_code),
            "coverage_sheet": records.coverage_sheet(s, catalogue(), lang_code), "loads": records.load_log(s),
            "revisions": records.revision_log(s, catalogue(), lang_code),
            "events": records.event_table(s, catalogue(), lang_code)}


def data_tables(lang_code: str) -> dict:
    """Coverage (shown, and as a sheet for CSV/XLSX), last load per file, revisions and events (cached
    per database version)."""
    return _data_tables(str(default_db_path()), version(), lang_code)


Progress = Callable[[int, int, str], None]


def series_label(cat: Catalogue, label: str, lang_code: str) -> str:
    """The scan's ``"<indicator> <geo>"`` label as names, e.g. "First-time asylum applications – France"."""
    code, _, geo = label.partition(" ")
    ind = views.indicator_of(cat, code)
    name = ind.name_in(lang_code) if ind else code
    return f"{name} – {views.geo_label(cat, geo, lang_code)}" if geo else name


def progress_bar(lang_code: str, before: Callable[[], None] | None = None) -> Progress:
    """A progress bar fed by the scan's ``progress(done, total, label)``, naming series (not codes)."""
    bar = st.progress(0.0, text=t("ui.scan_start", lang_code))
    cat = catalogue()

    def progress(done: int, total: int, label: str) -> None:
        if before is not None and done <= 1:
            before()
        text = t("ui.scanning", lang_code, done=done, total=total, label=series_label(cat, label, lang_code))
        bar.progress(done / max(total, 1), text=text)

    progress.bar = bar  # so that the caller can remove it
    return progress


@st.cache_data(show_spinner=False, max_entries=8)
def _small_multiples(path: str, key: tuple[int, int, int], lang_code: str, day: str) -> dict:
    panels = _overview(path, key, lang_code, day).panels
    return figures.small_multiples_figure(panels, lang=lang_code).to_dict()


def small_multiples(lang_code: str) -> dict:
    """The overview's grid of small charts, built once per database version and language (~0.1 s)."""
    return _small_multiples(str(default_db_path()), version(), lang_code, str(today().date()))
