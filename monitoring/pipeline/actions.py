"""The dashboard's write actions: first start, upload or fetch from Eurostat and rescan, deleting a series
or a period range and rescan, saving settings, episode status, events.

Each is one call from a page (after the page's role check) and publishes its change atomically
through the store. No Streamlit here; progress is reported through a callback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from indicators import fetch
from indicators.catalogue import Catalogue
from indicators.loaders import LoadReport, load_demo_if_empty, load_files
from indicators.periods import period_bounds
from indicators.store import Store, deletion, episodes, events, observations, results
from indicators.validation import LoadError, with_indicator_hint
from monitoring.i18n import DEFAULT_LANG, t
from monitoring.pipeline import levelling
from monitoring.pipeline.scan import ScanReport, scan
from monitoring.settings import MonitorSettings, load_settings, settings_from_json

Progress = Callable[[int, int, str], None]
# One process for the dashboard's scans: a spawned worker pool costs more than it saves for a
# rescan of a few series, and the first start scans the demo data in a few seconds anyway.
WORKERS = 1


def needs_first_start(store: Store) -> bool:
    """True when there is nothing to show yet: no data (demo to load), data never scanned, or fits
    forgotten by a schema upgrade (the next scan refits every series)."""
    if observations.observation_count(store) == 0:
        return demo_allowed()
    return results.runs(store, limit=1).empty or not results.series_state(store)


def demo_allowed() -> bool:
    """The demo data load on an empty database (``MONITOR_DEMO=0`` turns it off)."""
    return os.environ.get("MONITOR_DEMO", "1") not in ("0", "false", "no")


def first_start(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, today: pd.Timestamp,
                progress: Progress | None = None,
                who: str = "local") -> tuple[list[LoadReport], ScanReport | None]:
    """Load the demo data into an empty database, then scan whatever has not been scanned."""
    loaded = load_demo_if_empty(store, catalogue, pd.Timestamp(today).date()) if demo_allowed() else []
    if observations.observation_count(store) == 0:
        return loaded, None
    report = scan(store, catalogue, settings, today=today, who=who, workers=WORKERS, progress=progress)
    return loaded, report


@dataclass(frozen=True)
class PreparationState:
    """What a first start is doing: ``phase`` is idle, loading (the demo files), scanning, done or failed."""

    phase: str = "idle"
    done: int = 0
    total: int = 0
    label: str = ""
    error: BaseException | None = None
    report: ScanReport | None = None
    demo: bool = False  # the demo data was loaded by this preparation

    @property
    def running(self) -> bool:
        return self.phase in ("loading", "scanning")


class Preparation:
    """The first start of one database, run once per server process in a background thread.

    Every session (every page, every click) reads the same state and shows the same progress, so
    navigating during the first start neither restarts nor blocks it. ``start`` is idempotent: it
    starts the build unless one is running or the database needs none; after a failure it starts again.
    """

    def __init__(self, store: Store, catalogue: Catalogue, settings: Callable[[], MonitorSettings], *,
                 today: pd.Timestamp, who: str = "local"):
        self.store, self.catalogue, self.settings, self.today, self.who = store, catalogue, settings, today, who
        self._lock = threading.Lock()
        self._state = PreparationState()
        self._thread: threading.Thread | None = None
        self.builds = 0  # how many builds this object started (one, unless one failed)

    @property
    def state(self) -> PreparationState:
        with self._lock:
            return self._state

    def _set(self, **changes) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)

    def start(self, who: str | None = None) -> bool:
        """Start the build in the background if needed; True when it is running (or just started).
        ``who``: the person starting it, recorded as the scan's (default: the one given at creation)."""
        with self._lock:
            if self._state.running:
                return True
            if who:
                self.who = who
            if not needs_first_start(self.store):
                if self._state.phase != "done":
                    self._state = replace(self._state, phase="done")
                return False
            demo = demo_allowed() and observations.observation_count(self.store) == 0
            self._state = PreparationState(phase="loading" if demo else "scanning", demo=demo)
            self.builds += 1
            self._thread = threading.Thread(target=self._run, name="monitor-first-start", daemon=True)
            self._thread.start()
            return True

    def _progress(self, done: int, total: int, label: str) -> None:
        self._set(phase="scanning", done=done, total=total, label=label)

    def _run(self) -> None:
        try:
            _, report = first_start(self.store, self.catalogue, self.settings(), today=self.today,
                                    progress=self._progress, who=self.who)
        except BaseException as exc:  # shown by every page; the next visit may try again
            self._set(phase="failed", error=exc)
            return
        self._set(phase="done", report=report)

    def wait(self, timeout: float | None = None) -> PreparationState:
        """Block until the build ends (tests, and a command-line start before serving)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.state


@dataclass(frozen=True)
class UploadResult:
    reports: list[LoadReport]
    touched: set[tuple[str, str]]
    scan: ScanReport | None


def upload(store: Store, catalogue: Catalogue, settings: MonitorSettings, paths: Sequence[Path], *,
           today: pd.Timestamp, who: str, progress: Progress | None = None,
           sheet_mappings: dict | None = None, names: Sequence[str] | None = None) -> UploadResult:
    """Load files through the same loader as the CLI (``LoadError`` on any problem), then rescan the
    series they touched (and the derived series that use them). ``sheet_mappings`` maps a workbook's
    file name to the ``SheetMapping`` of its wide sheet; ``names`` are the files' names for messages
    and the load log (default their paths)."""
    before = observations.series_fingerprints(store).set_index(["indicator", "geo"])["fingerprint"].to_dict()
    reports = load_files(store, list(paths), catalogue=catalogue, today=pd.Timestamp(today).date(), who=who,
                         sheet_mappings=sheet_mappings, names=names)
    after = observations.series_fingerprints(store).set_index(["indicator", "geo"])["fingerprint"].to_dict()
    touched = {key for key, fp in after.items() if before.get(key) != fp}
    if not touched:
        return UploadResult(reports, touched, None)
    return UploadResult(reports, touched, _rescan(store, catalogue, settings, touched, today=today, who=who,
                                                  progress=progress))


def _rescan(store: Store, catalogue: Catalogue, settings: MonitorSettings, touched: set[tuple[str, str]], *,
            today: pd.Timestamp, who: str, progress: Progress | None) -> ScanReport:
    """Rescan the series whose data changed and the derived series built from them."""
    indicators = {ind for ind, _ in touched}
    derived = {(ind, "EU_PLUS") for ind in indicators}
    if indicators & {"effective_returns", "return_decisions"}:
        derived |= {("return_rate", geo) for _, geo in touched}
    return scan(store, catalogue, settings, today=today, who=who, workers=WORKERS, progress=progress,
                only=touched | derived)


def deletion_preview(store: Store, indicator: str, geo: str, *, first: str | None,
                     last: str | None) -> deletion.Deletion:
    """What ``delete_series`` would delete (nothing written)."""
    since, until = period_bounds(first, last)
    return deletion.preview(store, indicator, geo, since=since, until=until)


def delete_series(store: Store, catalogue: Catalogue, settings: MonitorSettings, indicator: str, geo: str, *,
                  first: str | None, last: str | None, who: str, today: pd.Timestamp, reason: str = "",
                  progress: Progress | None = None) -> tuple[deletion.Deletion, ScanReport | None]:
    """Delete a series or the periods ``first`` to ``last`` of it (see ``indicators.store.deletion``), then
    rescan it and the totals built from it (a series gone entirely is just dropped by the scan)."""
    since, until = period_bounds(first, last)
    done = deletion.delete(store, indicator, geo, who=who, since=since, until=until, reason=reason.strip())
    if done.count == 0:
        return done, None
    return done, _rescan(store, catalogue, settings, {(indicator, geo)}, today=today, who=who, progress=progress)


def upload_files(store: Store, catalogue: Catalogue, settings: MonitorSettings,
                 files: Sequence[tuple[str, bytes]], *, today: pd.Timestamp, who: str,
                 progress: Progress | None = None, sheet_mappings: dict | None = None,
                 indicator_hint: str | None = None) -> UploadResult:
    """Uploaded files (name, bytes), loaded and rescanned as ``upload``, each named as uploaded in
    messages, reports and the load log (never by a server path). ``sheet_mappings`` maps an uploaded
    workbook's name to the mapping of its wide sheet; ``indicator_hint`` replaces the CLI's hint on an
    unknown indicator (the dashboard's says where its page lists the ids).

    Retention: no copy is kept. The files are written to a temporary folder beside the database for
    the load and removed after it, loaded or not: the load log keeps each file's name and sha256 and
    the store keeps its rows (and every value they replaced), which is the provenance the monitor
    needs. Copies kept by earlier versions in ``uploads/<time>/`` are removed at the next upload.
    """
    prune_uploads(store)
    folder = Path(tempfile.mkdtemp(prefix=".upload-", dir=store.path.parent))
    try:
        paths, names = [], []
        for n, (name, data) in enumerate(files):
            shown = Path(name.replace("\\", "/")).name or "upload.csv"
            path = folder / str(n) / shown  # one folder per file: two uploads may share a name
            path.parent.mkdir()
            path.write_bytes(data)
            paths.append(path)
            names.append(shown)
        return upload(store, catalogue, settings, paths, today=today, who=who, progress=progress,
                      sheet_mappings=sheet_mappings, names=names)
    except LoadError as exc:
        problems = with_indicator_hint(exc.problems, indicator_hint) if indicator_hint else exc.problems
        raise LoadError(problems, exc.more) from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_LEGACY_UPLOAD = re.compile(r"\d{8}-\d{6}-\d{6}")


def prune_uploads(store: Store) -> int:
    """Remove the upload copies earlier versions kept in ``uploads/<time>/`` beside the database
    (only folders named as they named them); returns how many were removed."""
    root = store.path.parent / "uploads"
    removed = 0
    if root.is_dir():
        for folder in root.iterdir():
            if folder.is_dir() and _LEGACY_UPLOAD.fullmatch(folder.name):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        with contextlib.suppress(OSError):
            root.rmdir()  # only when empty
    return removed


@dataclass(frozen=True)
class FetchResult:
    lines: list[str]  # one per dataset and the total, as the CLI prints them
    reports: list[LoadReport]
    touched: set[tuple[str, str]]
    scan: ScanReport | None


def fetch_eurostat(store: Store, catalogue: Catalogue, settings: MonitorSettings, *,
                   datasets: Sequence[str] | None = None, since: str | None = None, today: pd.Timestamp,
                   who: str, progress: Progress | None = None,
                   scan_progress: Progress | None = None) -> FetchResult:
    """Download Kosovo's slices of the mapped Eurostat datasets (``progress`` per dataset), then load and
    rescan them as ``upload`` does. ``FetchError`` or ``LoadError``: nothing loaded."""
    with fetch.staged(store) as folder:
        got = fetch.download_all(folder, catalogue=catalogue, datasets=datasets, since=since, progress=progress)
        result = upload(store, catalogue, settings, got.paths, today=today, who=who, progress=scan_progress) \
            if got.paths else UploadResult([], set(), None)
    fetch.discard_if_unused(got, result.reports)
    reports = fetch.named(result.reports)
    return FetchResult(fetch.report_lines(got, result.reports), reports, result.touched, result.scan)


def rescan(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, today: pd.Timestamp, who: str,
           progress: Progress | None = None) -> ScanReport:
    """An explicit re-run of the scan (refits only what changed)."""
    return scan(store, catalogue, settings, today=today, who=who, workers=WORKERS, progress=progress)


def save_settings(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, who: str, reason: str,
                  today: pd.Timestamp, reverts: int | None = None, lang: str = DEFAULT_LANG,
                  behind: bool = False) -> int:
    """Save settings with a reason (audit log), then re-level the stored results at them (no refit): now,
    or with ``behind`` in a background thread (the dashboard: ``levelling.pending`` says when it is done).

    Settings that change a fit (method, baseline years, ...) take effect at the next scan. A missing
    reason is a ``ValueError`` whose message is in ``lang``.
    """
    if not reason.strip():
        raise ValueError(t("th.reason_required", lang))
    new_id = results.save_settings(store, settings.to_json(), who=who, reason=reason, reverts=reverts)
    if behind:
        levelling.start(store, catalogue, today=today)
    else:
        levelling.catch_up(store, catalogue, today=today)
    return new_id


DEFAULTS = 0  # revert_settings: the shipped defaults (settings.toml), not a saved version


def revert_settings(
    store: Store, catalogue: Catalogue, entry_id: int, *, who: str, reason: str, today: pd.Timestamp,
    lang: str = DEFAULT_LANG, behind: bool = False
) -> int:
    """Save an earlier settings version again (a new log entry pointing at the one reverted to), or the
    shipped defaults (``entry_id`` ``DEFAULTS``: an entry that reverts to nothing saved)."""
    if entry_id == DEFAULTS:
        return save_settings(store, catalogue, load_settings(), who=who, reason=reason, today=today, lang=lang,
                             behind=behind)
    log = results.settings_log(store)
    row = log[log["id"] == entry_id]
    if row.empty:
        raise ValueError(t("th.no_version", lang, id=entry_id))
    settings = settings_from_json(row["settings"].iloc[0])
    return save_settings(store, catalogue, settings, who=who, reason=reason, today=today, reverts=entry_id,
                         lang=lang, behind=behind)


def set_episode_status(store: Store, episode_id: int, status: str, *, who: str, comment: str = "",
                       expires: dt.date | None = None, lang: str = DEFAULT_LANG) -> None:
    """Acknowledge (with a comment and optional expiry), dismiss as explained, or reopen an episode.

    A missing comment or an episode no longer there is a ``ValueError`` whose message is in ``lang``.
    """
    if status in ("acknowledged", "dismissed") and not comment.strip():
        raise ValueError(t("alerts.comment_required", lang))
    try:
        episodes.set_episode_status(store, episode_id, status=status, who=who, comment=comment, expires=expires)
    except KeyError:
        raise ValueError(t("alerts.no_episode", lang, id=episode_id)) from None


def add_event(
    store: Store, date, label: str, *, who: str, indicator: str | None = None, geo: str | None = None
) -> int:
    return events.add_event(store, date, label, who, indicator=indicator or None, geo=geo or None)


def update_event(
    store: Store, event_id: int, *, who: str, date, label: str, indicator: str | None, geo: str | None
) -> None:
    events.update_event(
        store, event_id, who, date=date, label=label, indicator=indicator or None, geo=geo or None
    )


def delete_event(store: Store, event_id: int, *, who: str) -> None:
    events.delete_event(store, event_id, who)
