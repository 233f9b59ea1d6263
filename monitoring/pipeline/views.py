"""Page data for the dashboard: each page is settings -> one call here -> a frozen result -> render.

Pure functions over a ``Store`` (reading stored results, never fitting a baseline model); no Streamlit.
Tables meant for display carry formatted text in the user's language, plus the raw keys
(``indicator_id``, ``geo_code``) a page needs to act on a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.periods import to_period
from indicators.store import Store, episodes, events, observations, results
from monitoring.i18n import number, percent, period_label, t
from monitoring.narrative import channel_names, sentence, value_text
from monitoring.pipeline.breakdown import BreakdownTotal, breakdown, breakdown_total
from monitoring.pipeline.criterion_view import (
    CRITERION_COLUMNS,
    criterion_status,
    criterion_table,
    reference_label,
    stored_rule,
    visa_changes,
)
from monitoring.pipeline.labels import SEVERITY, flag_text, geo_label, sentence_for, unit_label, with_starts
from monitoring.pipeline.sheets import SHEET_COLUMNS, current_sheet, recent_sheet, sheet_headers
from monitoring.settings import MonitorSettings
from monitoring.statistics.derived import DERIVED, EU_PLUS, indicator_of
from monitoring.statistics.episodes import EpisodeCount, latest_changes, open_episodes
from monitoring.statistics.visa_rule import criterion_applies
from monitoring.tables import Sheet

# Names other modules read from here (``views.geo_label``, ``views.reference_label``, ...), kept where
# they always were: the labels, the criterion and the export sheets live in modules of their own.
__all__ = ["CRITERION_COLUMNS", "SEVERITY", "SHEET_COLUMNS", "BreakdownTotal", "ExplorerView", "OverviewView",
           "Tile", "current_sheet", "explorer_view", "geo_label", "history_frame", "impact_frame", "indicator_of",
           "overview_view", "recent_sheet", "recent_table", "reference_label", "sentence_for", "series_choices",
           "sheet_headers", "unit_label"]

TILE_CATEGORIES = ("outflow", "return", "leading")
CURRENT_COLUMNS = ("level", "indicator", "geo", "start", "period", "observed", "expected", "upper", "change",
                   "reason", "channels")
MAX_PANELS = 9
CURRENT_MONTHS = 3  # a change counts as "with the latest data" when its period ends this close to the newest


# --- overview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    category: str
    label: str
    alerts: int
    watches: int
    series: int


@dataclass(frozen=True)
class OverviewView:
    empty: bool
    latest_text: str = ""
    scanned_text: str = ""
    tiles: tuple[Tile, ...] = ()
    current: pd.DataFrame = field(default_factory=pd.DataFrame)
    panels: list = field(default_factory=list)
    freshness: pd.DataFrame = field(default_factory=pd.DataFrame)
    criterion: pd.DataFrame = field(default_factory=pd.DataFrame)
    criterion_counts: tuple[tuple[int, int], ...] = ()  # (threshold %, series above it and below the next), highest first
    criterion_crossed: int = 0  # series whose criterion status rose at their latest period
    changes: tuple[tuple[str, str, str], ...] = ()  # (kind, level, sentence) at the latest data, most severe first
    count: EpisodeCount = field(default_factory=EpisodeCount)  # the one count: open episodes
    current_sheet: Sheet = field(default_factory=lambda: Sheet(pd.DataFrame()))  # ``current`` for CSV/XLSX


def latest_complete(coverage: pd.DataFrame, catalogue: Catalogue, lang: str) -> str:
    """Per frequency, the latest period every series has reached: ``October 2026 (monthly); …``."""
    if coverage.empty:
        return ""
    parts = []
    freq_of = {i.id: i.frequency for i in catalogue.indicators}
    cov = coverage.assign(freq=coverage["indicator"].map(freq_of)).dropna(subset=["freq"])
    for freq in ("M", "Q", "A"):
        rows = cov[cov["freq"] == freq]
        if rows.empty:
            continue
        latest = min(to_period(p) for p in rows["last_period"])
        parts.append(f"{period_label(latest, lang)} ({t('ui.freq_' + freq, lang)})")
    return "; ".join(parts)


def freshness(coverage: pd.DataFrame, catalogue: Catalogue, lang: str) -> pd.DataFrame:
    """Per data source: indicators, latest period and last load."""
    if coverage.empty:
        return pd.DataFrame(columns=["source", "indicators", "last_period", "last_load"])
    rows = []
    by_source: dict[str, list[Indicator]] = {}
    for ind in catalogue.indicators:
        by_source.setdefault(ind.source_in(lang), []).append(ind)
    for source, inds in by_source.items():
        cov = coverage[coverage["indicator"].isin([i.id for i in inds])]
        if cov.empty:
            continue
        latest = max(cov["last_period"], key=lambda p: to_period(p).start_time)
        rows.append({"source": source,
                     "indicators": ", ".join(i.name_in(lang) for i in inds if i.id in set(cov["indicator"])),
                     "last_period": period_label(latest, lang),
                     "last_load": pd.Timestamp(cov["last_loaded_at"].max()).strftime("%Y-%m-%d %H:%M")})
    return pd.DataFrame(rows)


def display_rows(rows: pd.DataFrame, catalogue: Catalogue, lang: str) -> pd.DataFrame:
    """Result rows as the current-alerts table (text in the language, raw keys kept)."""
    out = []
    for r in rows.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        change = (
            (r["observed"] / r["last_year"] - 1)
            if r.get("last_year") and not pd.isna(r.get("last_year")) and not pd.isna(r["observed"])
            else None
        )
        out.append(
            {"indicator": ind.name_in(lang), "geo": geo_label(catalogue, r["geo"], lang),
             "period": period_label(r["period"], lang) + (" *" if r.get("provisional") else ""),
             "observed": value_text(r["observed"], ind, lang),
             "expected": value_text(r["expected"], ind, lang),
             "upper": value_text(r["lower"] if ind.bad_direction == "down" else r["upper"], ind, lang),
             "change": percent(change, lang), "level": r["level"],
             "channels": channel_names(r.get("channels") or "", lang, ind.frequency),
             "reason": sentence_for(r, catalogue, lang), "indicator_id": r["indicator"], "geo_code": r["geo"],
             "period_code": r["period"], "score": r.get("score")}
        )
    return pd.DataFrame(out, columns=[*CURRENT_COLUMNS, "indicator_id", "geo_code", "period_code", "score"])


def open_episode_rows(res: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """One result row per open episode: its latest alarming period, with the episode's peak level
    and start; most severe first (peak level, score)."""
    if stored is None or not len(stored) or res.empty:
        return res.iloc[:0].assign(severity=pd.Series(dtype=int), start_period=pd.Series(dtype=object))
    episodes = stored[stored["state"] == "open"]
    keyed = res.set_index(["indicator", "geo", "period"])
    rows = []
    for e in episodes.to_dict("records"):
        key = (e["indicator"], e["geo"], e["last_period"])
        if key not in keyed.index:
            continue
        row = keyed.loc[key].to_dict()
        row.update(indicator=e["indicator"], geo=e["geo"], period=e["last_period"], episode_id=e.get("id"),
                   start_period=e["start_period"], peak_level=e["peak_level"])
        rows.append(row)
    if not rows:
        return res.iloc[:0].assign(severity=pd.Series(dtype=int), start_period=pd.Series(dtype=object))
    out = pd.DataFrame(rows)
    out["severity"] = out["peak_level"].map(SEVERITY).fillna(0)
    return out.sort_values(["severity", "score"], ascending=[False, False], na_position="last").reset_index(drop=True)


def change_sentences(changes: pd.DataFrame, res: pd.DataFrame, catalogue: Catalogue, lang: str
                     ) -> tuple[tuple[str, str, str], ...]:
    """(kind, level, sentence) per change at the latest data, in the order given (most severe first)."""
    keyed = res.set_index(["indicator", "geo", "period"])
    said = {(c["indicator"], c["geo"]) for c in changes.to_dict("records") if c["kind"] in ("new", "escalation")}
    out = []
    for c in changes.to_dict("records"):
        if c["kind"] == "criterion" and (c["indicator"], c["geo"]) in said:
            continue  # the anomaly's sentence already says the criterion was crossed
        ind = indicator_of(catalogue, c["indicator"])
        key = (c["indicator"], c["geo"], c["period"])
        if ind is None or key not in keyed.index:
            continue
        row = {**keyed.loc[key].to_dict(), "indicator": c["indicator"], "geo": c["geo"], "period": c["period"]}
        if c["kind"] == "resolution":
            text = t("overview.change_resolved", lang, series=f"{ind.name_in(lang)} – {geo_label(catalogue, c['geo'], lang)}",
                     start=period_label(c["start_period"], lang), peak=t(f"level.{c['peak_level']}", lang),
                     period=period_label(c["period"], lang), observed=value_text(row["observed"], ind, lang),
                     expected=value_text(row["expected"], ind, lang))
            level = "normal"
        else:
            body = sentence(row, ind, c["geo"], lang, catalogue)
            if not body:
                continue
            text = t(f"overview.change_{c['kind']}", lang, sentence=body)
            level = row["level"] if row["level"] in SEVERITY else "criterion"
        out.append((c["kind"], level, text))
    return tuple(out)


def overview_view(store: Store, catalogue: Catalogue, today: pd.Timestamp, lang: str = "en") -> OverviewView:
    """Everything the overview shows, from stored results and episodes.

    It opens with what changed at the latest data (new episodes, escalations, resolutions, new
    crossings of the EU suspension criterion), one sentence each, most severe first; the tiles and
    the table count open episodes (the one count every surface shows), and the criterion's status
    stands apart.
    """
    res = results.read_results(store)
    cov = observations.coverage(store)
    if cov.empty:
        return OverviewView(empty=True)
    res = with_starts(res)
    stored = episodes.read_episodes(store)
    current = open_episode_rows(res, stored)
    tiles = []
    for category in TILE_CATEGORIES:
        ids = {i.id for i in [*catalogue.indicators, *DERIVED] if i.category == category}
        rows = current[current["indicator"].isin(ids)] if len(current) else current
        n_series = res[res["indicator"].isin(ids)][["indicator", "geo"]].drop_duplicates().shape[0]
        tiles.append(Tile(category, t(f"category.{category}", lang),
                          int((rows["peak_level"] == "alert").sum()) if len(rows) else 0,
                          int((rows["peak_level"] == "watch").sum()) if len(rows) else 0, n_series))
    panels = []
    alerting = current[current["peak_level"] == "alert"].head(MAX_PANELS) if len(current) else current
    for r in alerting.itertuples(index=False):
        ind = indicator_of(catalogue, r.indicator)
        history = res[(res["indicator"] == r.indicator) & (res["geo"] == r.geo)].sort_values("period_start")
        panels.append((f"{ind.name_in(lang)} – {geo_label(catalogue, r.geo, lang)}", history))
    run = results.runs(store, limit=1)
    scanned = "" if run.empty else pd.Timestamp(run["finished_at"].iloc[0]).strftime("%Y-%m-%d %H:%M")
    criterion, criterion_counts, crossed = criterion_table(res, catalogue, lang)
    categories = {i.id: i.category for i in [*catalogue.indicators, *DERIVED]}
    changes = latest_changes(res, stored, categories)
    if len(changes):  # a series that stopped long ago has no "latest data" to speak of
        newest = res["period_start"].max()
        ends = pd.to_datetime([to_period(p).end_time for p in changes["period"]])
        changes = changes[ends >= newest - pd.DateOffset(months=CURRENT_MONTHS)]
    changes = change_sentences(changes, res, catalogue, lang)
    table = display_rows(current.assign(level=current["peak_level"]) if len(current) else current, catalogue, lang)
    if len(current):
        table["start"] = [period_label(p, lang) for p in current["start_period"]]
    else:
        table["start"] = pd.Series(dtype=object)
    exported = current_sheet(current.assign(level=current["peak_level"]) if len(current) else current, catalogue,
                             lang)
    return OverviewView(empty=False, latest_text=latest_complete(cov, catalogue, lang), scanned_text=scanned,
                        tiles=tuple(tiles), current=table, panels=panels,
                        freshness=freshness(cov, catalogue, lang), criterion=criterion,
                        criterion_counts=criterion_counts, criterion_crossed=crossed, changes=changes,
                        count=open_episodes(stored), current_sheet=exported)


# --- explorer ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplorerView:
    indicator: Indicator
    geo: str
    title: str
    history: pd.DataFrame
    events: pd.DataFrame
    visa: pd.DataFrame
    breakdown: pd.DataFrame
    breakdown_period: str
    recent: pd.DataFrame
    sentences: tuple[tuple[str, str], ...]
    note: str = ""
    criterion: str = ""
    breakdown_total: BreakdownTotal | None = None
    recent_sheet: Sheet = field(default_factory=lambda: Sheet(pd.DataFrame()))  # ``recent`` for CSV/XLSX
    impact: pd.DataFrame = field(default_factory=pd.DataFrame)  # the visa-free impact (:func:`impact_frame`)
    visa_watch: float = 0.30  # the criterion's thresholds and reference at the saved settings, for the chart
    visa_alert: float = 0.50
    visa_reference: str = ""  # e.g. "November–December 2023" (``Q4 2023`` for a quarterly series)


def series_choices(store: Store, catalogue: Catalogue) -> dict[str, list[str]]:
    """Indicator id -> geos with stored results (EU+ first, then destinations, then others)."""
    keys = results.read_results(store)[["indicator", "geo"]].drop_duplicates()
    out: dict[str, list[str]] = {}
    order = [i.id for i in [*catalogue.indicators, *DERIVED]]
    for ind in order:
        geos = sorted(keys.loc[keys["indicator"] == ind, "geo"], key=lambda g: (g != EU_PLUS, g))
        if geos:
            out[ind] = geos
    return out


def history_frame(store: Store, indicator: Indicator, geo: str, eu_plus_source: str = "") -> pd.DataFrame:
    """Every observed period of a series joined with its stored result (NaN where not scored).

    The EU+ total's observations are those of the aggregate it was taken from (``eu_plus_source``,
    e.g. EU27_2020_EFTA as Eurostat publishes it) when no EU_PLUS rows were loaded."""
    obs = observations.series(store, indicator.id, geo)
    if obs.empty and geo == EU_PLUS and eu_plus_source:
        obs = observations.series(store, indicator.id, eu_plus_source)
    res = results.read_results(store, indicator=indicator.id, geo=geo)
    if obs.empty and res.empty:
        return pd.DataFrame(
            columns=["period", "period_start", "observed", "expected", "lower", "upper", "level",
                     "provisional", "flag"]
        )
    cols = ["period", "expected", "lower", "upper", "score", "level", "channels", "provisional", "last_year",
            "reason", "observed", "change_yoy", "change_ref", "change_adjusted", "tested_periods", "tested_observed",
            "tested_expected", "tested_bound", "shift_start", "criterion", "criterion_since", "criterion_crossed"]
    res = res[[c for c in cols if c in res]]
    if obs.empty:  # a derived series: results only
        frame = res.copy()
        frame["flag"] = None
    else:
        frame = obs.rename(columns={"value": "observed"}).drop(columns=["period_start"])
        frame = frame.merge(res.drop(columns=["observed"], errors="ignore"), on="period", how="left")
    frame["provisional"] = frame["provisional"].astype("boolean").fillna(False).astype(bool) | frame[
        "flag"].eq("p").fillna(False).astype(bool)
    frame = with_starts(frame).sort_values("period_start").reset_index(drop=True)
    return frame


def recent_table(history: pd.DataFrame, indicator: Indicator, lang: str, n: int = 12) -> pd.DataFrame:
    rows = history.tail(n).iloc[::-1]
    return pd.DataFrame(
        {"period": [period_label(p, lang) for p in rows["period"]],
         "observed": [value_text(v, indicator, lang) for v in rows["observed"]],
         "expected": [value_text(v, indicator, lang) for v in rows["expected"]],
         "lower": [value_text(v, indicator, lang) for v in rows["lower"]],
         "upper": [value_text(v, indicator, lang) for v in rows["upper"]],
         "score": [number(v, lang, 2) for v in rows.get("score", pd.Series(np.nan, index=rows.index))],
         "level": [t(f"level.{lv}", lang) if isinstance(lv, str) and lv else "–" for lv in rows["level"]],
         "flag": [flag_text(f, lang) for f in rows["flag"]]}
    )


def explorer_view(store: Store, catalogue: Catalogue, settings: MonitorSettings, indicator_id: str, geo: str,
                  lang: str = "en") -> ExplorerView:
    """One series: history with results, events, the visa rule's changes as the scan stored them, the
    EU+ breakdown, recent values and the visa-free impact; the criterion's thresholds at ``settings``."""
    indicator = indicator_of(catalogue, indicator_id)
    if indicator is None:
        raise ValueError(t("explorer.unknown_indicator", lang, indicator=indicator_id))
    history = history_frame(store, indicator, geo, catalogue.eu_plus_source)
    evts = events.list_events(store)
    if not evts.empty:
        keep = (evts["indicator"].isna() | (evts["indicator"] == indicator_id)) & (
            evts["geo"].isna() | (evts["geo"] == geo))
        evts = evts[keep]
    alarms = history[history["level"].isin(list(SEVERITY))] if "level" in history else history.iloc[:0]
    sentences = tuple(
        (r["level"], sentence_for({**r, "indicator": indicator_id, "geo": geo}, catalogue, lang))
        for r in alarms.iloc[::-1].head(12).to_dict("records")
    )
    drill, drill_period, drill_total = pd.DataFrame(), "", None
    if geo == EU_PLUS and not history.empty:
        target = alarms["period"].iloc[-1] if not alarms.empty else history["period"].iloc[-1]
        drill = breakdown(store, catalogue, indicator, target, lang)
        drill_period = period_label(target, lang)
        row = history[history["period"] == target]
        drill_total = breakdown_total(drill, row.iloc[0] if len(row) else None)
    title = f"{indicator.name_in(lang)} – {geo_label(catalogue, geo, lang)}"
    rule = settings.for_indicator(indicator_id).visa_rule
    stored = stored_rule(store, indicator=indicator_id, geo=geo)
    return ExplorerView(indicator=indicator, geo=geo, title=title, history=history, events=evts,
                        visa=visa_changes(history, stored, indicator), breakdown=drill,
                        breakdown_period=drill_period, breakdown_total=drill_total,
                        recent=recent_table(history, indicator, lang),
                        recent_sheet=recent_sheet(history, indicator, lang),
                        sentences=sentences,
                        criterion=criterion_status(history, indicator, lang) if criterion_applies(indicator) else "",
                        impact=impact_frame(store, indicator_id, geo), visa_watch=rule.watch, visa_alert=rule.alert,
                        visa_reference=reference_label(rule.reference, lang, indicator.frequency))


def impact_frame(store: Store, indicator_id: str, geo: str) -> pd.DataFrame:
    """The visa-free impact for the figure: excess over the pre-2024 projection, monthly and cumulative.

    The projection (``monitoring.statistics.impact``) is fitted by the scan and stored; this only reads it.
    """
    columns = ["period_start", "excess", "excess_lower", "excess_upper", "cumulative", "cumulative_lower",
               "cumulative_upper"]
    imp = results.read_impact(store, indicator_id, geo)
    if imp.empty:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame({"period_start": imp["period_start"].to_numpy(), "excess": imp["excess"].to_numpy(),
                         "excess_lower": (imp["observed"] - imp["upper"]).to_numpy(),
                         "excess_upper": (imp["observed"] - imp["lower"]).to_numpy(),
                         "cumulative": imp["cumulative_excess"].to_numpy(),
                         "cumulative_lower": imp["cumulative_lower"].to_numpy(),
                         "cumulative_upper": imp["cumulative_upper"].to_numpy()})
