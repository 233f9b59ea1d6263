"""Threshold saves: a journal write, with the levels written behind it (monitoring/pipeline/levelling.py)."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from indicators.store import Store, deletion, results
from indicators.store.audit import read_audit
from indicators.store.db import version_key
from monitoring.pipeline import actions, levelling
from monitoring.pipeline.scan import relevel, scan
from monitoring.settings import MonitorSettings, parse_settings
from tests.populated import TODAY, master_copy

STRICT = parse_settings({"levels": {"alert_alpha": 0.001, "watch_alpha": 0.005}})


@pytest.fixture
def db(tmp_path_factory, tmp_path) -> Store:
    return master_copy(tmp_path_factory, tmp_path / "m.duckdb")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def _content(store) -> bytes:
    """Both database files, byte for byte."""
    return store.path.read_bytes() + store.results_path.read_bytes()


def _levels(store: Store) -> pd.DataFrame:
    return results.read_results(store)[["indicator", "geo", "period", "level", "upper", "reason"]]


def test_a_save_writes_only_the_journal_and_says_its_levels_are_pending(db):
    before, key = _levels(db), version_key(db.path)
    content = _content(db)
    assert levelling.pending(db) is None
    db.clock = lambda: dt.datetime(2026, 11, 27, 9, 30)
    new_id = results.save_settings(db, STRICT.to_json(), who="bo", reason="fewer alarms")
    assert version_key(db.path) == key and _content(db) == content  # no copy of the database file
    pending = levelling.pending(db)
    assert (pending.settings_id, pending.saved_by, pending.running, pending.error) == (new_id, "bo", False, None)
    assert pending.saved_at == dt.datetime(2026, 11, 27, 9, 30)
    pd.testing.assert_frame_equal(_levels(db), before)  # the levels of the earlier settings until re-levelled
    assert read_audit(db).iloc[-1][["who", "action", "reason"]].tolist() == ["bo", "settings", "fewer alarms"]


def test_catching_up_writes_the_levels_of_the_saved_settings_once(db, catalogue):
    results.save_settings(db, STRICT.to_json(), who="bo", reason="fewer alarms")
    expected = relevel(db, catalogue, STRICT, today=TODAY)
    assert levelling.catch_up(db, catalogue, today=TODAY) == 1
    assert levelling.pending(db) is None and results.levelled_settings(db) == STRICT.to_json()
    stored = results.read_results(db)
    assert stored["level"].tolist() == expected["level"].tolist()
    assert stored["reason"].tolist() == expected["reason"].tolist()
    assert (stored["level"] == "alert").sum() < (_levels_at(db, catalogue, MonitorSettings())["level"] == "alert").sum()
    key = version_key(db.path)
    assert levelling.catch_up(db, catalogue, today=TODAY) == 0 and version_key(db.path) == key  # nothing pending


def _levels_at(store, catalogue, settings):
    return relevel(store, catalogue, settings, today=TODAY)


def test_a_save_survives_the_process_dying_before_its_levels(db, catalogue):
    results.save_settings(db, STRICT.to_json(), who="bo", reason="fewer alarms")  # then the process dies
    reopened = Store(db.path)
    assert levelling.pending(reopened).settings_id is not None
    levelling.catch_up(reopened, catalogue, today=TODAY)
    assert results.levelled_settings(reopened) == STRICT.to_json()


def test_a_scan_at_other_settings_leaves_the_saved_ones_pending(db, catalogue):
    results.save_settings(db, STRICT.to_json(), who="bo", reason="fewer alarms")
    levelling.catch_up(db, catalogue, today=TODAY)
    scan(db, catalogue, MonitorSettings(), today=TODAY, workers=1, who="cron")  # a settings file of its own
    assert results.levelled_settings(db) == MonitorSettings().to_json()
    assert levelling.pending(db) is not None
    levelling.catch_up(db, catalogue, today=TODAY)
    assert levelling.pending(db) is None


def test_levels_from_parameters_replaced_meanwhile_are_not_written(db, catalogue):
    token = results.scores_token(db)
    levels = relevel(db, catalogue, STRICT, today=TODAY)
    deletion.delete(db, "asylum_applications", "FR", who="bo", since=dt.date(2026, 1, 1), reason="wrong rows")
    key, before = version_key(db.path), _levels(db)
    assert not results.write_levels(db, levels, levelled=STRICT.to_json(), scores_token=token)
    assert version_key(db.path) == key
    pd.testing.assert_frame_equal(_levels(db), before)


def test_a_second_re_levelling_at_the_same_settings_writes_nothing(db, catalogue):
    results.save_settings(db, STRICT.to_json(), who="bo", reason="fewer alarms")
    levels = relevel(db, catalogue, STRICT, today=TODAY)  # another process computed them too
    levelling.catch_up(db, catalogue, today=TODAY)
    key = version_key(db.path)
    assert not results.write_levels(db, levels, levelled=STRICT.to_json(), unless_current=STRICT.to_json())
    assert version_key(db.path) == key


def test_a_save_made_while_the_background_re_levelling_finishes_is_levelled_too(db, catalogue, monkeypatch):
    release, entered = threading.Event(), threading.Event()
    real = levelling.relevel

    def slow(*args, **kwargs):
        entered.set()
        assert release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(levelling, "relevel", slow)
    actions.save_settings(db, catalogue, STRICT, who="bo", reason="first", today=TODAY, behind=True)
    assert entered.wait(30)
    assert levelling.pending(db).running
    later = parse_settings({"levels": {"alert_alpha": 0.002}})
    actions.save_settings(db, catalogue, later, who="bo", reason="second", today=TODAY, behind=True)
    release.set()
    assert levelling.wait(db, 60)
    assert levelling.pending(db) is None and results.levelled_settings(db) == later.to_json()


def test_a_failed_background_re_levelling_is_reported_and_the_levels_kept(db, catalogue, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory while re-levelling")

    before = _levels(db)
    monkeypatch.setattr(levelling, "relevel", broken)
    actions.save_settings(db, catalogue, STRICT, who="bo", reason="fewer alarms", today=TODAY, behind=True)
    assert levelling.wait(db, 60)
    pending = levelling.pending(db)
    assert pending.error == "out of memory while re-levelling" and not pending.running
    pd.testing.assert_frame_equal(_levels(db), before)
    monkeypatch.setattr(levelling, "relevel", relevel)
    levelling.start(db, catalogue, today=TODAY)  # the next analyst session tries again
    assert levelling.wait(db, 60) and levelling.pending(db) is None


def test_settings_saved_in_another_form_are_not_re_levelled_again_after_a_scan(db, catalogue):
    from monitoring.settings import saved_settings

    results.save_settings(db, '{"levels": {"alert_alpha": 0.001}}', who="bo", reason="as an older version wrote it")
    assert levelling.catch_up(db, catalogue, today=TODAY) == 1
    scan(db, catalogue, saved_settings(db), today=TODAY, workers=1, who="cron")  # records the settings as it writes them
    assert levelling.pending(db) is None
    assert levelling.catch_up(db, catalogue, today=TODAY) == 0
