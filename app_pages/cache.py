"""The pages' data, cached: each function wraps one call of ``monitoring.pipeline.session.Desk`` in
``st.cache_data`` / ``st.cache_resource``, keyed by the database version (a new load, scan or save
invalidates), the language and today. No data access of its own."""

from __future__ import annotations

import os
from datetime import date

import pandas as pd
import streamlit as st

from monitoring.briefing import contents, figures
from monitoring.pipeline import actions, records, tuning, views
from monitoring.pipeline.session import DataTables, Desk, database_path
from monitoring.settings import MonitorSettings, settings_from_json


def today() -> pd.Timestamp:
    """Today's date (``MONITOR_TODAY`` overrides it, for demos and tests)."""
    return pd.Timestamp(os.environ.get("MONITOR_TODAY") or date.today()).normalize()


@st.cache_resource(show_spinner=False)
def _desk(path: str) -> Desk:
    return Desk.open(path)


def desk() -> Desk:
    """The database named by ``MONITOR_DB`` (default ``data/monitor.duckdb``), opened once per server."""
    return _desk(database_path())


def _key() -> tuple[str, tuple[int, int, int]]:
    return database_path(), desk().version()


@st.cache_resource(show_spinner=False)
def _preparation(path: str, _who: str) -> actions.Preparation:  # one per database: ``_who`` is not a key
    return _desk(path).preparation(today(), _who)


def preparation(who: str) -> actions.Preparation:
    """The database's first start: one per server process, run in the background, shared by every session."""
    return _preparation(database_path(), who)


@st.cache_resource(show_spinner=False, max_entries=4)
def _settings(path: str, version: tuple[int, int, int]) -> MonitorSettings:
    return _desk(path).settings()


def settings() -> MonitorSettings:
    """The saved detection settings."""
    return _settings(*_key())


@st.cache_data(show_spinner=False, max_entries=4)
def _synthetic(path: str, version: tuple[int, int, int]) -> bool:
    return _desk(path).synthetic_in_use()


def synthetic_in_use() -> bool:
    return _synthetic(*_key())


@st.cache_data(show_spinner=False, max_entries=16)
def _overview(path: str, version: tuple[int, int, int], lang: str, day: str) -> views.OverviewView:
    return _desk(path).overview(lang, pd.Timestamp(day))


def overview(lang: str) -> views.OverviewView:
    return _overview(*_key(), lang, str(today().date()))


@st.cache_data(show_spinner=False, max_entries=8)
def _small_multiples(path: str, version: tuple[int, int, int], lang: str, day: str) -> dict:
    return figures.small_multiples_figure(_overview(path, version, lang, day).panels, lang=lang).to_dict()


def small_multiples(lang: str) -> dict:
    """The overview's grid of small charts, built once per database version and language (~0.1 s)."""
    return _small_multiples(*_key(), lang, str(today().date()))


@st.cache_data(show_spinner=False, max_entries=8)
def _briefing(path: str, version: tuple[int, int, int], lang: str, day: str) -> contents.Briefing | None:
    return contents.latest_briefing(_desk(path), _settings(path, version), lang, date.fromisoformat(day))


def briefing(lang: str) -> contents.Briefing | None:
    """The briefing of the latest reporting month, or None without scored results."""
    return _briefing(*_key(), lang, str(today().date()))


@st.cache_data(show_spinner=False, max_entries=8)
def _series_choices(path: str, version: tuple[int, int, int]) -> dict[str, list[str]]:
    return _desk(path).series_choices()


def series_choices() -> dict[str, list[str]]:
    return _series_choices(*_key())


@st.cache_resource(show_spinner=False, max_entries=64)  # shared, never mutated (holds an Indicator)
def _explorer(path: str, version: tuple[int, int, int], indicator: str, geo: str, lang: str) -> views.ExplorerView:
    return _desk(path).explorer(indicator, geo, lang, _settings(path, version))


def explorer(indicator: str, geo: str, lang: str) -> views.ExplorerView:
    return _explorer(*_key(), indicator, geo, lang)


@st.cache_data(show_spinner=False, max_entries=4)
def _stored_scores(path: str, version: tuple[int, int, int], day: str) -> pd.DataFrame:
    return _desk(path).stored_scores(pd.Timestamp(day))


@st.cache_data(show_spinner=False, max_entries=64)
def _threshold_counts(path: str, version: tuple[int, int, int], day: str, settings_json: str,
                      indicator: str | None) -> tuning.Counts:
    stored = _stored_scores(path, version, day)
    return _desk(path).threshold_counts(stored, settings_from_json(settings_json), pd.Timestamp(day), indicator)


def threshold_counts(candidate: MonitorSettings, indicator: str | None = None) -> tuning.Counts:
    """Alerts and watches of the last 12 months at candidate settings (re-thresholding, cached)."""
    return _threshold_counts(*_key(), str(today().date()), candidate.to_json(), indicator)


@st.cache_data(show_spinner=False, max_entries=4)
def _audit_log(path: str, version: tuple[int, int, int], lang: str) -> pd.DataFrame:
    return _desk(path).audit_log(lang)


def audit_log(lang: str) -> pd.DataFrame:
    """The settings' audit log, the changes said in the language."""
    return _audit_log(*_key(), lang)


@st.cache_data(show_spinner=False, max_entries=32)
def _episode_log(path: str, version: tuple[int, int, int], lang: str, day: str, since: int | None,
                 statuses: tuple[str, ...], indicator: str | None) -> records.EpisodeLog:
    return _desk(path).episode_log(lang, pd.Timestamp(day), since, statuses, indicator)


def episode_log(lang: str, since: int | None, statuses: tuple[str, ...], indicator: str | None) -> records.EpisodeLog:
    """The Alerts page's episodes for these filters."""
    return _episode_log(*_key(), lang, str(today().date()), since, statuses, indicator)


def episode_history(episode_id: int, lang: str) -> pd.DataFrame:
    return desk().episode_history(episode_id, lang)


@st.cache_data(show_spinner=False, max_entries=16)
def _coverage_cells(path: str, version: tuple[int, int, int], indicators: tuple[str, ...], lang: str) -> pd.DataFrame:
    return _desk(path).coverage_cells(indicators, lang)


def coverage_cells(indicators: tuple[str, ...], lang: str) -> pd.DataFrame:
    return _coverage_cells(*_key(), indicators, lang)


@st.cache_data(show_spinner=False, max_entries=8)
def _data_tables(path: str, version: tuple[int, int, int], lang: str) -> DataTables:
    return _desk(path).data_tables(lang)


def data_tables(lang: str) -> DataTables:
    """Coverage, the last load per file, revisions and events."""
    return _data_tables(*_key(), lang)
