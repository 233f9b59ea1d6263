"""Re-levelling behind a threshold save.

Saving thresholds is a journal write (``results.save_settings``: milliseconds at any size). The levels
those settings give every stored period, and the alert episodes they make, are derived data: the
re-levelling writes them to the database file afterwards, from the stored parameters (no refit), and
records the settings they were levelled at. Until it has, the stored levels are those of the earlier
settings and :func:`pending` says so (the pages show it); a scan levels at the saved settings too.

- :func:`catch_up` re-levels now, in the calling thread, until the stored levels are at the saved
  settings (the command line, tests, and the background thread all use it);
- :func:`start` runs it in a background thread of this process (the dashboard: the save returns at
  once, the analyst keeps working); one thread per database and process at a time.

Nothing is lost when the process dies meanwhile: the save is in the journal, the levels stay as they
were (a write of the database file is all or nothing), and the next analyst session starts the
re-levelling again. Two processes re-levelling at once both compute; the second write finds the levels
already at those settings and writes nothing. Levels computed from stored parameters that a scan or a
deletion replaced meanwhile are not written; the re-levelling starts again from the new ones.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.store import Store, results
from monitoring.pipeline.scan import relevel
from monitoring.settings import load_settings, settings_from_json
from monitoring.statistics.episodes import resolve_after_of
from monitoring.statistics.reconciliation import reconciler

ROUNDS = 5  # re-levellings in one catch-up before it gives up (settings saved faster than it levels)


@dataclass(frozen=True)
class Pending:
    """A save whose levels are not written yet."""

    settings_id: int | None  # None: the shipped defaults (nothing saved), the stored levels from a settings file
    saved_by: str | None
    saved_at: datetime | None
    running: bool  # this process is re-levelling now
    error: str | None  # why this process's last re-levelling failed, if it did


_THREADS: dict[str, threading.Thread] = {}
_ERRORS: dict[str, str] = {}
_AGAIN: dict[str, bool] = {}
_REGISTRY = threading.Lock()
_LOCKS: dict[str, threading.Lock] = {}


def _key(store: Store) -> str:
    return str(store.path.resolve())


def _lock(store: Store) -> threading.Lock:
    with _REGISTRY:
        return _LOCKS.setdefault(_key(store), threading.Lock())


def saved(store: Store) -> tuple[int | None, str]:
    """(id, JSON) of the settings in force: the last saved, else the shipped defaults (id None); the JSON
    as this version writes it (what a scan at those settings records)."""
    latest = results.latest_settings(store)
    return (latest[0], _canonical(latest[1])) if latest else (None, load_settings().to_json())


def _canonical(text: str | None) -> str | None:
    """Settings JSON as this version writes it (one saved by an older version may differ in form only)."""
    if text is None:
        return None
    try:
        return settings_from_json(text).to_json()
    except ValueError:  # SettingsError and a JSON error both are
        return text  # unreadable: compared as it is (never equal to a readable one)


def pending(store: Store) -> Pending | None:
    """The save whose levels are still to be written, or None when the stored levels are at the saved
    settings (or nothing is scanned yet: that needs a scan, not a re-levelling)."""
    levelled = _canonical(results.levelled_settings(store))
    if levelled is None:
        return None
    settings_id, settings_json = saved(store)
    if settings_json == levelled:
        return None
    row = None
    if settings_id is not None:
        log = results.settings_log(store)
        row = log[log["id"] == settings_id].iloc[0]
    key = _key(store)
    with _REGISTRY:
        running, error = key in _THREADS, _ERRORS.get(key)
    return Pending(settings_id=settings_id, saved_by=None if row is None else row["who"],
                   saved_at=None if row is None else row["saved_at"].to_pydatetime(), running=running,
                   error=error)


def catch_up(store: Store, catalogue: Catalogue, *, today: pd.Timestamp) -> int:
    """Re-level the stored results at the saved settings until they are at them; returns how many
    re-levellings it wrote (0: nothing was pending, or another process wrote them)."""
    written = 0
    with _lock(store):
        for _ in range(ROUNDS):
            levelled = _canonical(results.levelled_settings(store))
            _, target = saved(store)
            if levelled is None or levelled == target:
                break
            token = results.scores_token(store)
            settings = settings_from_json(target)
            levels = relevel(store, catalogue, settings, today=pd.Timestamp(today))
            written += results.write_levels(
                store, levels, levelled=target, episodes=reconciler(levels, resolve_after_of(settings, levels["indicator"])),
                unless_current=target, scores_token=token)
    return written


def _run(store: Store, catalogue: Catalogue, today: pd.Timestamp) -> None:
    key = _key(store)
    while True:
        try:
            catch_up(store, catalogue, today=today)
        except Exception as exc:  # noqa: BLE001 -- a background thread has nobody to raise to: pending() reports it
            error = str(exc) or type(exc).__name__
        else:
            error = None
        with _REGISTRY:  # a save made while this thread was finishing asks for one more round (start)
            if error is None:
                _ERRORS.pop(key, None)
            else:
                _ERRORS[key] = error
            if not _AGAIN.pop(key, False):
                del _THREADS[key]
                return


def start(store: Store, catalogue: Catalogue, *, today: pd.Timestamp) -> bool:
    """Re-level in a background thread of this process, unless one is already running for this
    database (that one then goes on to the newest saved settings); returns whether it started one."""
    key = _key(store)
    with _REGISTRY:
        if key in _THREADS:
            _AGAIN[key] = True
            return False
        thread = threading.Thread(target=_run, args=(store, catalogue, pd.Timestamp(today)),
                                  name=f"re-levelling {store.path.name}", daemon=True)
        _THREADS[key] = thread
        thread.start()
    return True


def wait(store: Store, timeout: float | None = None) -> bool:
    """Wait for this process's re-levelling of the database to finish; returns whether none is running."""
    with _REGISTRY:
        thread = _THREADS.get(_key(store))
    if thread is not None:
        thread.join(timeout)
        return not thread.is_alive()
    return True
