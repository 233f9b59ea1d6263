"""The dashboard's one door to a database: the store, the catalogue and the saved settings, and the
frozen views the pages render (``monitoring.pipeline.views``, ``records``, ``tuning``).

A page never opens the store: it asks a :class:`Desk` (one per database path, opened once) for a
view and renders it. Every method reads stored results; none fits a model. No Streamlit here: the UI
caches these calls (``app_pages/cache.py``), keyed by :meth:`Desk.version`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from indicators.catalogue import Catalogue, load_catalogue
from indicators.periods import frequency_of
from indicators.store import Store, default_db_path, observations, open_store
from monitoring.pipeline import actions, levelling, records, tuning, views
from monitoring.settings import MonitorSettings, saved_settings
from monitoring.tables import Sheet


def database_path() -> str:
    """The database named by ``MONITOR_DB`` (default ``data/monitor.duckdb``)."""
    return str(default_db_path())


@dataclass(frozen=True)
class DataTables:
    """The Data page's tables: coverage (shown, and as a sheet for CSV/XLSX), the last load per file,
    revisions and events."""

    coverage: pd.DataFrame
    coverage_sheet: Sheet
    loads: pd.DataFrame
    revisions: pd.DataFrame
    events: pd.DataFrame


@dataclass(frozen=True)
class Desk:
    """An open database with its catalogue: the views of every page."""

    store: Store
    catalogue: Catalogue

    @classmethod
    def open(cls, path: str | Path) -> Desk:
        return cls(open_store(path), load_catalogue())

    def version(self) -> tuple[int, int, int]:
        """Changes with every load, scan and save: the key of every cached view."""
        return self.store.version()

    def settings(self) -> MonitorSettings:
        """The saved detection settings (the latest in the settings log, else the shipped defaults)."""
        return saved_settings(self.store)

    def preparation(self, today: pd.Timestamp, who: str) -> actions.Preparation:
        """The database's first start (load the demo data if empty, then scan), run in the background."""
        return actions.Preparation(self.store, self.catalogue, self.settings, today=today, who=who)

    def pending_levels(self) -> levelling.Pending | None:
        """A threshold save whose levels are still being written (or not yet), else None."""
        return levelling.pending(self.store)

    def relevel_behind(self, today: pd.Timestamp) -> bool:
        """Write the levels of the saved thresholds in a background thread (unless one runs already)."""
        return levelling.start(self.store, self.catalogue, today=today)

    def needs_first_start(self) -> bool:
        return actions.needs_first_start(self.store)

    def is_empty(self) -> bool:
        return observations.observation_count(self.store) == 0

    def synthetic_in_use(self) -> bool:
        """Whether any current observation comes from a synthetic (demo) load: the banner shows."""
        return observations.synthetic_in_use(self.store)

    # --- the pages' views ----------------------------------------------------------------------

    def overview(self, lang: str, today: pd.Timestamp) -> views.OverviewView:
        return views.overview_view(self.store, self.catalogue, today, lang)

    def series_choices(self) -> dict[str, list[str]]:
        return views.series_choices(self.store, self.catalogue)

    def explorer(self, indicator: str, geo: str, lang: str, settings: MonitorSettings) -> views.ExplorerView:
        return views.explorer_view(self.store, self.catalogue, settings, indicator, geo, lang)

    def stored_scores(self, today: pd.Timestamp) -> pd.DataFrame:
        return tuning.stored_scores(self.store, today)

    def threshold_counts(self, stored: pd.DataFrame, candidate: MonitorSettings, today: pd.Timestamp,
                         indicator: str | None) -> tuning.Counts:
        """Alerts and watches of the last 12 months at candidate settings (re-thresholding ``stored``)."""
        return tuning.counts(stored, self.catalogue, candidate, today, indicator)

    def audit_log(self, lang: str) -> pd.DataFrame:
        return tuning.audit_log(self.store, lang, self.catalogue)

    def episode_log(self, lang: str, today: pd.Timestamp, since: int | None, statuses: tuple[str, ...],
                    indicator: str | None) -> records.EpisodeLog:
        return records.episode_log(self.store, self.catalogue, today, lang, since_months=since, statuses=statuses,
                                   indicator=indicator)

    def episode_history(self, episode_id: int, lang: str) -> pd.DataFrame:
        return records.episode_history(self.store, episode_id, lang)

    def coverage_cells(self, indicators: tuple[str, ...], lang: str) -> pd.DataFrame:
        return records.coverage_cells(self.store, self.catalogue, lang, list(indicators) or None)

    def data_tables(self, lang: str) -> DataTables:
        return DataTables(coverage=records.coverage_table(self.store, self.catalogue, lang),
                          coverage_sheet=records.coverage_sheet(self.store, self.catalogue, lang),
                          loads=records.load_log(self.store),
                          revisions=records.revision_log(self.store, self.catalogue, lang),
                          events=records.event_table(self.store, self.catalogue, lang))

    def stored_series(self) -> list[tuple[str, str]]:
        """(indicator, geo) of every stored series, for the deletion form (empty before the first load)."""
        if not self.store.path.exists():
            return []
        stored = observations.coverage(self.store)
        return [] if stored.empty else list(zip(stored["indicator"], stored["geo"], strict=True))

    def series_periods(self, indicator: str, geo: str) -> list[str]:
        """The periods of a stored series the monitor can read (unreadable ones are left out)."""
        return [p for p in observations.series(self.store, indicator, geo)["period"] if frequency_of(p)]

    def series_label(self, label: str, lang: str) -> str:
        """The scan's ``"<indicator> <geo>"`` label as names, e.g. "First-time asylum applications – France"."""
        code, _, geo = label.partition(" ")
        ind = views.indicator_of(self.catalogue, code)
        name = ind.name_in(lang) if ind else code
        return f"{name} – {views.geo_label(self.catalogue, geo, lang)}" if geo else name

