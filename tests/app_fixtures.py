"""Fixtures of the AppTest page tests (a plugin: ``pytest_plugins = ("tests.app_fixtures",)``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st

from indicators.store import copy_database
from indicators.store import db as store_db
from tests.apptest_support import TODAY, build_demo, build_one_series


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("demo") / "monitor.duckdb")


@pytest.fixture(scope="session")
def one_series_master(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("one")
    return build_one_series(folder / "monitor.duckdb", folder)


def copy_db(master: Path, tmp_path: Path) -> Path:
    target = tmp_path / "monitor.duckdb"
    copy_database(master, target)
    return target


@pytest.fixture
def app_env(monkeypatch):
    """Fresh Streamlit caches and store snapshots; a fixed today; errors raised (not shown as messages)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    store_db.forget_snapshots()
    monkeypatch.setenv("MONITOR_TODAY", TODAY)
    monkeypatch.setenv("MONITOR_DEBUG", "1")
    monkeypatch.delenv("MONITOR_ROLE", raising=False)
    yield monkeypatch
    st.cache_resource.clear()
    st.cache_data.clear()
    store_db.forget_snapshots()


@pytest.fixture
def demo_db(demo_master, tmp_path, app_env) -> Path:
    path = copy_db(demo_master, tmp_path)
    app_env.setenv("MONITOR_DB", str(path))
    return path


@pytest.fixture
def one_series_db(one_series_master, tmp_path, app_env) -> Path:
    path = copy_db(one_series_master, tmp_path)
    app_env.setenv("MONITOR_DB", str(path))
    return path


@pytest.fixture
def empty_db(tmp_path, app_env) -> Path:
    """A database with nothing in it, and the demo load turned off."""
    path = tmp_path / "monitor.duckdb"
    app_env.setenv("MONITOR_DB", str(path))
    app_env.setenv("MONITOR_DEMO", "0")
    return path
