"""The scan: read every series from the store, score it with the channels, store levels and alerts.

This is the one place that joins the statistics (pure functions) with the store. Incremental: a
series is refitted only when its data (fingerprint) or its fit settings (hash) changed; levels are
always recomputed from stored parameters, which is cheap (``levels.rethreshold``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.periods import PANDAS_FREQ, to_period
from indicators.store import Store, observations, results
from monitoring.narrative import sentence
from monitoring.pipeline.scoring import impact_rows, score_series
from monitoring.settings import MonitorSettings
from monitoring.statistics.derived import EU_PLUS, derive, indicator_of
from monitoring.statistics.episodes import (
    EpisodeCount,
    open_by_indicator,
    open_episodes,
    resolve_after_of,
)
from monitoring.statistics.levels import rethreshold
from monitoring.statistics.reconciliation import reconciler
from monitoring.statistics.visa_rule import criterion_applies

Progress = Callable[[int, int, str], None]
# Below this many series to refit, the cost of starting worker processes outweighs the gain.
PARALLEL_MIN_SERIES = 24


@dataclass(frozen=True)
class SeriesInput:
    """One series to score: its indicator, destination, values and flags, and a data fingerprint."""

    indicator: Indicator
    geo: str
    values: pd.Series
    flags: pd.Series
    note: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.indicator.id, self.geo)

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(",".join(str(p) for p in self.values.index).encode())
        h.update(np.asarray(self.values.to_numpy(dtype=float)).tobytes())
        h.update("|".join(self.flags.fillna("").astype(str)).encode())
        return h.hexdigest()[:20]


@dataclass(frozen=True)
class ScanReport:
    """What a scan did and found."""

    run_id: int
    series_total: int
    series_refitted: int
    periods_scored: int
    episodes: EpisodeCount  # open episodes after the scan, by the level they reached
    by_indicator: pd.DataFrame = field(repr=False)  # open episodes per indicator: alert, watch
    skipped: tuple[str, ...] = ()  # series that could not be scored, each with why ("asylum_applications DE: ...")

    @property
    def alerts(self) -> int:
        """Open episodes that reached alert."""
        return self.episodes.alert

    @property
    def watches(self) -> int:
        """Open episodes at watch."""
        return self.episodes.watch


def collect_series(store: Store, catalogue: Catalogue,
                   unreadable: list[tuple[str, str, str]] | None = None) -> list[SeriesInput]:
    """Every loaded destination series, plus the derived ones (the EU+ total, the return rate).

    Aggregates (EU27_2020, EU28, EU27_2020_EFTA, TOTAL) are totals, never scanned as destinations:
    the EU+ total is scanned once, under ``EU_PLUS`` (see ``monitoring.statistics.derived``). A series holding a
    period that cannot be read (a year-0 period an old version let in) is left out, and added to
    ``unreadable`` as (indicator, geo, why) when given.
    """
    obs = observations.observations(store)
    out: list[SeriesInput] = []
    loaded: dict[tuple[str, str], pd.Series] = {}
    flags_of: dict[tuple[str, str], pd.Series] = {}
    for (indicator_id, geo), rows in obs.groupby(["indicator", "geo"], sort=True):
        ind = catalogue.get(indicator_id)
        if ind is None:
            continue  # an indicator removed from the catalogue: its data stay, it is not scored
        freq = PANDAS_FREQ[ind.frequency]
        try:
            index = pd.PeriodIndex([to_period(p) for p in rows["period"]], freq=freq)
        except ValueError as exc:  # one unreadable series never stops the scan of the others
            if unreadable is not None:
                unreadable.append((indicator_id, geo, f"{type(exc).__name__}: {exc}"))
            continue
        values = pd.Series(rows["value"].to_numpy(dtype=float), index=index).sort_index()
        full = pd.period_range(values.index.min(), values.index.max(), freq=freq)
        values = values.reindex(full)
        flags = pd.Series(rows["flag"].to_numpy(dtype=object), index=index).reindex(full)
        loaded[(indicator_id, geo)] = values
        flags_of[(indicator_id, geo)] = flags
        if geo == EU_PLUS or not catalogue.is_aggregate(geo):
            out.append(SeriesInput(ind, geo, values, flags))
    for d in derive(loaded, catalogue):
        # A derived value is provisional when any of its inputs is.
        provisional = pd.Series(False, index=d.values.index)
        for key in d.sources:
            provisional |= flags_of[key].reindex(d.values.index).eq("p").fillna(False).astype(bool)
        flags = pd.Series(np.where(provisional, "p", None), index=d.values.index, dtype=object)
        out.append(SeriesInput(indicator_of(catalogue, d.indicator), d.geo, d.values, flags, d.note))
    return out


def _score_one(indicator, geo, values, flags, settings) -> tuple:
    """(stored frame, visa-free impact, None), or (None, None, why) for a series that cannot be scored:
    one bad series never stops the scan of the others."""
    try:
        return (score_series(values, flags, indicator, settings).assign(geo=geo),
                impact_rows(values, indicator).assign(geo=geo), None)
    except Exception as exc:  # noqa: BLE001 - any failure of one series is reported, not raised
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return None, None, f"{indicator.id} {geo}: {type(exc).__name__}: {first}"


def _score_batch(batch: list[tuple]) -> list[tuple]:
    """(stored frame, visa-free impact, why not) of each series of the batch."""
    return [_score_one(indicator, geo, values, flags, settings)
            for indicator, geo, values, flags, settings in batch]


def _score_all(todo: Sequence[SeriesInput], settings: MonitorSettings, workers: int,
                progress: Progress | None) -> list[tuple]:
    jobs = [(s.indicator, s.geo, s.values, s.flags, settings.for_indicator(s.indicator.id)) for s in todo]
    if workers <= 1 or len(jobs) < PARALLEL_MIN_SERIES:
        frames = []
        for n, job in enumerate(jobs, 1):
            frames.extend(_score_batch([job]))
            if progress:
                progress(n, len(jobs), f"{job[0].id} {job[1]}")
        return frames
    size = max(1, len(jobs) // (workers * 8))
    batches = [jobs[i:i + size] for i in range(0, len(jobs), size)]
    frames: list[pd.DataFrame] = []
    done = 0
    # spawn, not fork: the dashboard process has threads (and DuckDB's), which fork would copy mid-state.
    with _single_threaded_blas(), ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for batch, result in zip(batches, pool.map(_score_batch, batches), strict=True):
            frames.extend(result)
            done += len(batch)
            if progress:
                progress(done, len(jobs), f"{batch[-1][0].id} {batch[-1][1]}")
    return frames


BLAS_THREADS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextmanager
def _single_threaded_blas():
    """One BLAS thread in each scan worker: the workers are the parallelism (two BLAS pools per core
    only contend). Set in this process's environment while the pool starts its workers, because a
    worker reads it when it imports numpy, before any of our code runs there; restored afterwards."""
    saved = {name: os.environ.get(name) for name in BLAS_THREADS}
    for name in BLAS_THREADS:
        os.environ.setdefault(name, "1")
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def scan(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, today: pd.Timestamp,
         who: str = "local", workers: int = 2, progress: Progress | None = None,
         only: set[tuple[str, str]] | None = None) -> ScanReport:
    """Refit the series whose data or fit settings changed, re-level all, store the run atomically.

    ``only`` limits refitting to those series (the dashboard's rescan after an upload); the levels
    of every series are recomputed from stored parameters either way. The stored results always
    cover every period of every series: what a report shows from a month on is a filter on them
    (``current_results(since=...)``), never a partial fit.
    """
    started = store.clock()
    today = pd.Timestamp(today)
    unreadable: list[tuple[str, str, str]] = []
    series = collect_series(store, catalogue, unreadable)
    kept = {(i, g) for i, g, _ in unreadable}  # kept as they were, like a series whose fit fails
    state = results.series_state(store)
    todo: list[SeriesInput] = []
    states: list[tuple[str, str, str, str, str]] = []
    for s in series:
        fp = s.fingerprint()
        # the fit depends on the catalogue's bad direction too (one-sided tests): a corrected one refits
        fh = settings.for_indicator(s.indicator.id).fit_hash() + f"|bad {s.indicator.bad_direction}"
        if state.get(s.key) != (fp, fh) and (only is None or s.key in only):
            todo.append(s)
            states.append((s.indicator.id, s.geo, fp, fh, s.note))
        elif s.key in state:
            states.append((s.indicator.id, s.geo, *state[s.key], s.note))
    scored = _score_all(todo, settings, workers, progress)
    skipped = tuple(f"{i} {g}: {why}" for i, g, why in unreadable) + tuple(why for _, _, why in scored if why)
    states += [(i, g, *state[(i, g)], "") for i, g in sorted(kept) if (i, g) in state]
    failed = {(s.indicator.id, s.geo) for s, (_, _, why) in zip(todo, scored, strict=True) if why}
    if failed:  # kept as they were (old scores, old state): the next scan tries them again
        todo = [s for s in todo if s.key not in failed]
        states = [st for st in states if (st[0], st[1]) not in failed]
        states += [(i, g, *state[(i, g)], "") for i, g in sorted(failed) if (i, g) in state]
    pairs = [(frame, imp) for frame, imp, why in scored if not why]
    new = pd.concat([p[0] for p in pairs], ignore_index=True) if pairs else None
    impacts = [p[1] for p in pairs if len(p[1])]
    impact = pd.concat(impacts, ignore_index=True) if impacts else None
    current = {s.key for s in series} | kept
    refitted = {s.key for s in todo}
    old = results.read_scores(store)
    if len(old):
        keys = list(zip(old["indicator"], old["geo"], strict=True))
        old = old[[k in current and k not in refitted for k in keys]]
    stale = {k for k in state if k not in current}
    stored = pd.concat([f for f in (old, new) if f is not None and len(f)], ignore_index=True) \
        if (new is not None and len(new)) or len(old) else old
    if len(stored):
        stored = stored.sort_values(["indicator", "geo", "period_start"], kind="stable").reset_index(drop=True)
    levels = _with_reasons(level_frame(stored, catalogue, settings, today), catalogue)
    episodes = reconciler(levels, resolve_after_of(settings, levels["indicator"]))
    run_id = results.write_scan(store, scores=new, refitted=refitted | stale, states=states, levels=levels,
                                settings_json=settings.to_json(), who=who, started=started,
                                series_total=len(series), impact=impact, episodes=episodes)
    by_indicator = open_by_indicator(episodes.computed).set_index("indicator")
    return ScanReport(
        run_id=run_id, series_total=len(series), series_refitted=len(todo),
        periods_scored=0 if new is None else len(new), episodes=open_episodes(episodes.computed),
        by_indicator=by_indicator[(by_indicator["alert"] > 0) | (by_indicator["watch"] > 0)], skipped=skipped,
    )


def level_frame(stored: pd.DataFrame, catalogue: Catalogue, settings: MonitorSettings,
                today: pd.Timestamp) -> pd.DataFrame:
    """Levels of stored parameters at the given settings, per indicator's settings (no refit)."""
    parts = []
    for indicator_id, rows in stored.groupby("indicator", sort=False):
        ind = indicator_of(catalogue, indicator_id)
        if ind is None:
            continue
        ind_settings = settings.for_indicator(indicator_id)
        leveled = rethreshold(rows, ind_settings.levels, direction=ind.bad_direction,
                              visa=ind_settings.visa_rule, today=today, criterion=criterion_applies(ind))
        for col in ("indicator", "geo", "period", "period_start", "last_year"):
            leveled[col] = rows[col].to_numpy()
        parts.append(leveled)
    if not parts:
        return pd.DataFrame(columns=list(results.RESULT_COLUMNS))
    return pd.concat(parts, ignore_index=True)


def _with_reasons(levels: pd.DataFrame, catalogue: Catalogue, lang: str = "en") -> pd.DataFrame:
    levels = levels.copy()
    said = levels["level"].isin(("watch", "alert"))
    if "criterion_crossed" in levels:
        said |= levels["criterion_crossed"].map(lambda v: v is True or v is np.True_)
    reasons = np.full(len(levels), "", dtype=object)
    # only the rows that are said (a fifth or less): building a dict of every row cost more than the sentences
    reasons[said.to_numpy()] = [
        sentence(row, indicator_of(catalogue, row["indicator"]), row["geo"], lang, catalogue)
        for row in levels[said].to_dict("records")
    ]
    levels["reason"] = reasons
    return levels


def relevel(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, today: pd.Timestamp
            ) -> pd.DataFrame:
    """Levels for new settings from stored parameters (no refit)."""
    return _with_reasons(level_frame(results.read_scores(store), catalogue, settings, pd.Timestamp(today)),
                         catalogue)


def current_results(store: Store, *, levels: tuple[str, ...] | None = None,
                    since: pd.Period | None = None, criterion_crossed: bool = False) -> pd.DataFrame:
    """The stored levels of every scored period (optionally only some levels, from a month on).

    With ``criterion_crossed``, rows where the EU suspension criterion newly crossed a threshold
    are kept too (a notification of their own, not an anomaly). ``since`` is a month: a quarterly
    or annual period is kept when it ends on or after its start.
    """
    frame = results.read_results(store)
    if since is not None and len(frame):
        ends = pd.to_datetime(frame["period"].map(lambda p: to_period(p).end_time.normalize()))
        frame = frame[ends >= since.start_time]
    if levels is not None and len(frame):
        keep = frame["level"].isin(levels)
        if criterion_crossed and "criterion_crossed" in frame:
            keep |= frame["criterion_crossed"].fillna(False).astype(bool)
        frame = frame[keep]
    return frame.reset_index(drop=True)
