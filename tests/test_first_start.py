"""The first start: one background build per server process, shared by every session, with its progress."""

from __future__ import annotations

import threading

import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.store import open_store, results
from monitoring.pipeline import actions
from monitoring.settings import load_settings

TODAY = pd.Timestamp("2026-11-26")
pytest_plugins = ("tests.app_fixtures",)


@pytest.fixture
def slow_build(monkeypatch):
    """A first start that reports progress and waits to be released (calls counted)."""
    calls, release, reached = [], threading.Event(), threading.Event()

    def fake(store, catalogue, settings, *, today, progress=None, who="local"):
        calls.append(who)
        progress(24, 92, "asylum_applications DE")
        reached.set()
        assert release.wait(10)
        return [], None

    monkeypatch.setattr(actions, "first_start", fake)
    return calls, release, reached


def _preparation(tmp_path):
    return actions.Preparation(open_store(tmp_path / "monitor.duckdb"), load_catalogue(), load_settings,
                               today=TODAY)


def test_two_sessions_share_one_build_and_see_the_same_progress(tmp_path, slow_build, monkeypatch):
    calls, release, reached = slow_build
    prep = _preparation(tmp_path)
    sessions = [threading.Thread(target=prep.start) for _ in range(4)]  # four visits, or clicks, at once
    for s in sessions:
        s.start()
    for s in sessions:
        s.join()
    assert reached.wait(10)
    assert prep.start()  # a click to another page during the build: still the same build
    state = prep.state
    assert (state.phase, state.done, state.total, state.label, state.demo) == (
        "scanning", 24, 92, "asylum_applications DE", True)
    assert len(calls) == 1 and prep.builds == 1
    monkeypatch.setattr(actions, "needs_first_start", lambda store: False)  # the build's work, stored
    release.set()
    assert prep.wait(10).phase == "done"
    assert not prep.start() and prep.builds == 1  # never built again


def test_a_failed_build_is_reported_and_can_be_started_again(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(actions, "first_start", broken)
    prep = _preparation(tmp_path)
    prep.start()
    state = prep.wait(10)
    assert state.phase == "failed" and str(state.error) == "disk full"
    assert prep.start() and prep.wait(10).phase == "failed" and prep.builds == 2


def test_the_real_build_loads_the_demo_and_scans_once(tmp_path):
    prep = _preparation(tmp_path)
    assert prep.start()
    state = prep.wait(300)
    assert state.phase == "done" and state.report is not None and state.total == state.report.series_total
    assert not actions.needs_first_start(prep.store)
    assert not prep.start()
    assert len(results.runs(prep.store)) == 1


def test_the_build_is_recorded_under_the_person_who_starts_it(tmp_path, slow_build):
    calls, release, reached = slow_build
    prep = actions.Preparation(open_store(tmp_path / "monitor.duckdb"), load_catalogue(), load_settings,
                               today=TODAY, who="the first visitor")  # cached per process: maybe a viewer
    release.set()
    assert prep.start(who="ana") and prep.wait(10).phase == "done"
    assert calls == ["ana"]


def _loaded_not_scanned(tmp_path, app_env):
    from indicators.loaders import load_files

    path = tmp_path / "monitor.duckdb"
    csv = tmp_path / "de.csv"
    csv.write_text("indicator,geo,period,value,flag\n" + "".join(
        f"asylum_applications,DE,{p},{20 + p.month},\n" for p in pd.period_range("2021-01", "2026-09", freq="M")),
        encoding="utf-8")
    load_files(open_store(path), [csv], catalogue=load_catalogue(), today=TODAY.date(), who="ana")
    app_env.setenv("MONITOR_DB", str(path))
    return open_store(path)


def test_a_viewer_is_told_a_scan_is_needed_and_starts_nothing(tmp_path, app_env):
    from indicators.store.observations import dump
    from monitoring.i18n import t
    from tests.apptest_support import app, texts

    store = _loaded_not_scanned(tmp_path, app_env)
    app_env.setenv("MONITOR_ROLE", "viewer")
    before = dump(store)
    for page in ("overview", "data"):
        at = app(page)
        assert texts(at, "info") == [t("ui.scan_needed_viewer")]
        assert not at.get("plotly_chart")  # the page waits for the scan
    assert dump(store) == before  # no scan, no run, nothing written


def test_an_analyst_in_local_mode_still_starts_the_scan(tmp_path, app_env):
    import getpass

    from tests.apptest_support import app

    store = _loaded_not_scanned(tmp_path, app_env)
    at = app()  # local mode: an analyst, unless MONITOR_ROLE=viewer
    assert not at.exception
    runs = results.runs(store)
    assert len(runs) == 1 and runs["who"].iloc[0] == getpass.getuser()
