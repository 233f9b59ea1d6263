"""The dashboard's write actions: first start, upload or fetch from Eurostat and rescan, saving settings,
episode status, events.

Each is one call from a page (after the page's role check) and publishes its change atomically
through the store. No Streamlit here; progress is reported through a callback.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from indicators import fetch
from indicators.catalogue import Catalogue
from indicators.loaders import LoadReport, load_demo_if_empty, load_files
from indicators.store import Store, episodes, events, observations, results
from indicators.validation import LoadError
from monitoring.episodes import reconciler, resolve_after_of
from monitoring.i18n import DEFAULT_LANG, t
from monitoring.scan import ScanReport, relevel, scan
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
class UploadResult:
    reports: list[LoadReport]
    touched: set[tuple[str, str]]
    scan: ScanReport | None


def upload(store: Store, catalogue: Catalogue, settings: MonitorSettings, paths: Sequence[Path], *,
           today: pd.Timestamp, who: str, progress: Progress | None = None,
           sheet_mappings: dict | None = None) -> UploadResult:
    """Load files through the same loader as the CLI (``LoadError`` on any problem), then rescan the
    series they touched (and the derived series that use them). ``sheet_mappings`` maps a workbook's
    file name to the ``SheetMapping`` of its wide sheet."""
    before = observations.series_fingerprints(store).set_index(["indicator", "geo"])["fingerprint"].to_dict()
    reports = load_files(store, list(paths), catalogue=catalogue, today=pd.Timestamp(today).date(), who=who,
                         sheet_mappings=sheet_mappings)
    after = observations.series_fingerprints(store).set_index(["indicator", "geo"])["fingerprint"].to_dict()
    touched = {key for key, fp in after.items() if before.get(key) != fp}
    if not touched:
        return UploadResult(reports, touched, None)
    indicators = {ind for ind, _ in touched}
    derived = {(ind, "EU_PLUS") for ind in indicators}
    if indicators & {"effective_returns", "return_decisions"}:
        derived |= {("return_rate", geo) for _, geo in touched}
    report = scan(store, catalogue, settings, today=today, who=who, workers=WORKERS, progress=progress,
                  only=touched | derived)
    return UploadResult(reports, touched, report)


def upload_files(store: Store, catalogue: Catalogue, settings: MonitorSettings,
                 files: Sequence[tuple[str, bytes]], *, today: pd.Timestamp, who: str,
                 progress: Progress | None = None, sheet_mappings: dict | None = None) -> UploadResult:
    """Uploaded files (name, bytes): kept under ``uploads/<time>/`` beside the database for provenance,
    then loaded and rescanned as ``upload``. Problems name the file as uploaded; a failed load keeps
    nothing. ``sheet_mappings`` maps an uploaded workbook's name to the mapping of its wide sheet."""
    folder = store.path.parent / "uploads" / pd.Timestamp.now().strftime("%Y%m%d-%H%M%S-%f")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in files:
        path = folder / (Path(name).name or "upload.csv")
        path.write_bytes(data)
        paths.append(path)
    try:
        result = upload(store, catalogue, settings, paths, today=today, who=who, progress=progress,
                        sheet_mappings=sheet_mappings)
        return replace(result, reports=[replace(r, file=Path(r.file).name) for r in result.reports])
    except LoadError as exc:
        raise LoadError([replace(p, file=Path(p.file).name) for p in exc.problems], exc.more) from None
    finally:
        if not any(p.exists() and _loaded(store, p) for p in paths):
            shutil.rmtree(folder, ignore_errors=True)


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
    folder = fetch.new_folder(store)
    try:
        got = fetch.download_all(folder, catalogue=catalogue, datasets=datasets, since=since, progress=progress)
        result = upload(store, catalogue, settings, got.paths, today=today, who=who, progress=scan_progress) \
            if got.paths else UploadResult([], set(), None)
    except LoadError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise LoadError([replace(p, file=Path(p.file).name) for p in exc.problems], exc.more) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    fetch.discard_if_unused(got, result.reports)
    reports = fetch.named(result.reports)
    return FetchResult(fetch.report_lines(got, result.reports), reports, result.touched, result.scan)


def _loaded(store: Store, path: Path) -> bool:
    loads = observations.loads(store)
    return bool(len(loads)) and str(path) in set(loads["file"])


def rescan(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, today: pd.Timestamp, who: str,
           progress: Progress | None = None) -> ScanReport:
    """An explicit re-run of the scan (refits only what changed)."""
    return scan(store, catalogue, settings, today=today, who=who, workers=WORKERS, progress=progress)


def save_settings(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, who: str, reason: str,
                  today: pd.Timestamp, reverts: int | None = None, lang: str = DEFAULT_LANG) -> int:
    """Save settings with a reason (audit log) and re-level the stored results at them (no refit).

    Settings that change a fit (method, baseline years, ...) take effect at the next scan. A missing
    reason is a ``ValueError`` whose message is in ``lang``.
    """
    if not reason.strip():
        raise ValueError(t("th.reason_required", lang))
    levels = relevel(store, catalogue, settings, today=today)
    # one write: the settings, their audit entry, the levels and the episodes they make land together
    return results.save_settings(store, settings.to_json(), who=who, reason=reason, reverts=reverts,
                                 levels=levels,
                                 episodes=reconciler(levels, resolve_after_of(settings, levels["indicator"])))


DEFAULTS = 0  # revert_settings: the shipped defaults (settings.toml), not a saved version


def revert_settings(
    store: Store, catalogue: Catalogue, entry_id: int, *, who: str, reason: str, today: pd.Timestamp,
    lang: str = DEFAULT_LANG
) -> int:
    """Save an earlier settings version again (a new log entry pointing at the one reverted to), or the
    shipped defaults (``entry_id`` ``DEFAULTS``: an entry that reverts to nothing saved)."""
    if entry_id == DEFAULTS:
        return save_settings(store, catalogue, load_settings(), who=who, reason=reason, today=today, lang=lang)
    log = results.settings_log(store)
    row = log[log["id"] == entry_id]
    if row.empty:
        raise ValueError(t("th.no_version", lang, id=entry_id))
    settings = settings_from_json(row["settings"].iloc[0])
    return save_settings(store, catalogue, settings, who=who, reason=reason, today=today, reverts=entry_id,
                         lang=lang)


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
