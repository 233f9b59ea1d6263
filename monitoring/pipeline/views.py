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
from indicators.periods import PANDAS_FREQ, to_period
from indicators.store import Store, episodes, events, observations, results
from monitoring.i18n import month_name, number, percent, period_label, strings, t
from monitoring.narrative import channel_names, criterion_text, geo_name, sentence, value_text
from monitoring.settings import MonitorSettings
from monitoring.statistics.derived import DERIVED, EU_PLUS, indicator_of
from monitoring.statistics.episodes import EpisodeCount, latest_changes, open_episodes
from monitoring.statistics.visa_rule import criterion_applies, visa_rule
from monitoring.tables import Sheet, change_cell, period_cell, sheet, value_cell

TILE_CATEGORIES = ("outflow", "return", "leading")
CURRENT_COLUMNS = ("level", "indicator", "geo", "start", "period", "observed", "expected", "upper", "change",
                   "reason", "channels")
SEVERITY = {"alert": 2, "watch": 1}
MAX_PANELS = 9
CURRENT_MONTHS = 3  # a change counts as "with the latest data" when its period ends this close to the newest


def geo_label(catalogue: Catalogue, geo: str, lang: str) -> str:
    """A destination's name for tables and titles ("EU+ total" for the EU+ aggregate)."""
    return t("ui.eu_plus", lang) if geo == EU_PLUS else geo_name(geo, lang, catalogue)


def unit_label(unit: str, lang: str) -> str:
    return t(f"unit.{unit}", lang) if f"unit.{unit}" in strings("en") else unit


def sentence_for(row: dict, catalogue: Catalogue, lang: str) -> str:
    """The plain sentence of a watch or alert row in the language (stored reasons are English)."""
    ind = indicator_of(catalogue, row["indicator"])
    if ind is None or row.get("level") not in SEVERITY:
        return ""
    return sentence(row, ind, row["geo"], lang, catalogue)


def _with_starts(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame.assign(period_start=pd.Series(dtype="datetime64[ns]"))
    starts = {p: to_period(p).start_time for p in frame["period"].unique()}
    return frame.assign(period_start=frame["period"].map(starts))


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


CRITERION_COLUMNS = ("indicator", "geo", "period", "status", "since")


def criterion_table(res: pd.DataFrame, catalogue: Catalogue, lang: str
                    ) -> tuple[pd.DataFrame, tuple[tuple[int, int], ...], int]:
    """The EU suspension criterion at each series' latest period: the series above a threshold (the
    higher first, the longest-standing first), the count per status, and the new crossings."""
    empty = pd.DataFrame(columns=[*CRITERION_COLUMNS, "indicator_id", "geo_code", "crossed"])
    if res.empty or "criterion" not in res:
        return empty, (), 0
    latest = res[res["observed"].notna()].sort_values("period_start").groupby(["indicator", "geo"]).tail(1)
    above = latest[latest["criterion"].fillna("").astype(str).str.startswith("above_")].copy()
    crossed = int(latest["criterion_crossed"].fillna(False).astype(bool).sum())
    if above.empty:
        return empty, (), crossed
    above["pct"] = above["criterion"].str.removeprefix("above_").astype(int)
    above = above.sort_values(["pct", "criterion_since"], ascending=[False, True])
    rows = []
    for r in above.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        rows.append({"indicator": ind.name_in(lang), "geo": geo_label(catalogue, r["geo"], lang),
                     "period": period_label(r["period"], lang), "status": criterion_text(r, ind, lang),
                     "since": period_label(r["criterion_since"], lang) if isinstance(r.get("criterion_since"), str)
                     else "", "indicator_id": r["indicator"], "geo_code": r["geo"],
                     "crossed": bool(r.get("criterion_crossed"))})
    table = pd.DataFrame(rows, columns=empty.columns)
    per_status = tuple((int(pct), int(n)) for pct, n in above["pct"].value_counts().sort_index(ascending=False).items())
    return table, per_status, crossed


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


SHEET_COLUMNS = ("level", "indicator", "geo", "start", "period", "provisional", "unit", "observed", "expected",
                 "upper", "change", "reason", "channels")


def sheet_headers(columns, lang: str) -> dict[str, str]:
    """Column names of an exported table in the language (``col.<name>``)."""
    return {c: t(f"col.{c}", lang) for c in columns}


def current_sheet(rows: pd.DataFrame, catalogue: Catalogue, lang: str) -> Sheet:
    """The rows of :func:`display_rows` for CSV/XLSX: numbers as numbers (a change of +122% as 1.22),
    periods as dates, with the same text columns; headers are the column keys (see ``sheet_headers``)."""
    cols: dict[str, list] = {c: [] for c in SHEET_COLUMNS}
    for r in rows.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        last_year = r.get("last_year")
        change = (r["observed"] / last_year - 1) if last_year and not pd.isna(last_year) \
            and not pd.isna(r["observed"]) else None
        bound = r["lower"] if ind.bad_direction == "down" else r["upper"]
        cells = {"level": t(f"level.{r['level']}", lang), "indicator": ind.name_in(lang),
                 "geo": geo_label(catalogue, r["geo"], lang), "start": period_cell(r.get("start_period")),
                 "period": period_cell(r["period"]), "provisional": bool(r.get("provisional")),
                 "unit": unit_label(ind.unit, lang), "observed": value_cell(r["observed"], ind.unit),
                 "expected": value_cell(r["expected"], ind.unit), "upper": value_cell(bound, ind.unit),
                 "change": change_cell(change), "reason": sentence_for(r, catalogue, lang),
                 "channels": channel_names(r.get("channels") or "", lang, ind.frequency)}
        for c in SHEET_COLUMNS:
            cols[c].append(cells[c])
    return sheet(cols)


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
    res = _with_starts(res)
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
    frame = _with_starts(frame).sort_values("period_start").reset_index(drop=True)
    return frame


def visa_changes(history: pd.DataFrame, indicator: Indicator, settings: MonitorSettings) -> pd.DataFrame:
    """The visa rule's two-month changes (vs a year earlier and vs the reference months) since 2023.

    Stored with the results by the scan; computed from the observed values (rolling sums, no fit)
    for periods the scan did not store them.
    """
    empty = pd.DataFrame(columns=["period_start", "change_yoy", "change_ref", "change_adjusted"])
    if history.empty or indicator.unit == "percent":
        return empty
    since = history[history["period_start"] >= pd.Timestamp("2023-01-01")]
    columns = ["period_start", "change_yoy", "change_ref", "change_adjusted"]
    if set(columns) <= set(since) and since[columns[1:]].notna().any().any():
        return since[columns].reset_index(drop=True)
    freq = PANDAS_FREQ[indicator.frequency]
    values = pd.Series(history["observed"].to_numpy(dtype=float),
                       index=pd.PeriodIndex([to_period(p) for p in history["period"]], freq=freq))
    rule = visa_rule(
        values, settings.for_indicator(indicator.id).visa_rule, direction=indicator.bad_direction
    )
    rule = rule[rule.index.start_time >= pd.Timestamp("2023-01-01")]
    return pd.DataFrame({"period_start": rule.index.start_time, "change_yoy": rule["change_yoy"].to_numpy(),
                         "change_ref": rule["change_ref"].to_numpy(),
                         "change_adjusted": rule["change_adjusted"].to_numpy()})


def criterion_status(history: pd.DataFrame, indicator: Indicator, lang: str) -> str:
    """The EU suspension criterion at the series' latest period, in one line (its own status)."""
    if history.empty or "criterion" not in history:
        return ""
    rows = history[history["observed"].notna()]
    if rows.empty:
        return ""
    row = rows.iloc[-1].to_dict()
    when = period_label(row["period"], lang)
    status = row.get("criterion")
    if not isinstance(status, str):
        return t("explorer.criterion_line", lang, period=when, status=t("criterion.not_compared", lang))
    text = criterion_text(row, indicator, lang) or t("criterion.below", lang)
    return t("explorer.criterion_line", lang, period=when, status=text)


@dataclass(frozen=True)
class BreakdownTotal:
    """The EU+ total beside its destinations' bars: how the parts add up to the whole.

    Each destination's excess is its observed value minus its *own* expected value; the EU+ total's
    excess is the total's observed minus the expected value of the baseline fitted on the total.
    The two are not scaled to agree (a destination above its own expected value stays above it):
    ``excess = parts_excess + not_shown + baseline_gap`` exactly, with ``not_shown`` the total's
    observed value outside the destinations shown and ``baseline_gap`` the destinations' expected
    values summed minus the total's expected value (each series has its own fit).
    """

    observed: float
    expected: float
    parts_observed: float
    parts_expected: float

    @property
    def excess(self) -> float:
        return self.observed - self.expected

    @property
    def parts_excess(self) -> float:
        return self.parts_observed - self.parts_expected

    @property
    def difference(self) -> float:
        """The total's excess minus the sum of the destinations' excesses."""
        return self.excess - self.parts_excess

    @property
    def not_shown(self) -> float:
        return self.observed - self.parts_observed

    @property
    def baseline_gap(self) -> float:
        return self.parts_expected - self.expected


def breakdown_total(parts: pd.DataFrame, total: pd.Series | dict | None) -> BreakdownTotal | None:
    """The EU+ total's row (observed, expected) against the destinations shown (:func:`breakdown`)."""
    if total is None or parts.empty:
        return None
    observed, expected = total.get("observed"), total.get("expected")
    if observed is None or expected is None or pd.isna(observed) or pd.isna(expected):
        return None
    return BreakdownTotal(observed=float(observed), expected=float(expected),
                          parts_observed=float(parts["observed"].sum()), parts_expected=float(parts["expected"].sum()))


def breakdown(
    store: Store, catalogue: Catalogue, indicator: Indicator, period: str, lang: str
) -> pd.DataFrame:
    """Per EU+ member destination in ``period``: observed minus its own expected value, and the level."""
    res = results.read_results(store, indicator=indicator.id)
    rows = res[(res["period"] == period) & res["geo"].isin(catalogue.eu_plus)]
    if rows.empty:
        return pd.DataFrame(columns=["geo_name", "excess", "level", "observed", "expected"])
    return pd.DataFrame(
        {"geo_name": [geo_label(catalogue, g, lang) for g in rows["geo"]],
         "excess": (rows["observed"] - rows["expected"]).to_numpy(), "level": rows["level"].to_numpy(),
         "observed": rows["observed"].to_numpy(), "expected": rows["expected"].to_numpy()}
    ).dropna(subset=["excess"])


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
         "flag": [_flag_text(f, lang) for f in rows["flag"]]}
    )


def recent_sheet(history: pd.DataFrame, indicator: Indicator, lang: str, n: int = 12) -> Sheet:
    """:func:`recent_table` for CSV/XLSX: periods as dates, values and scores as numbers."""
    rows = history.tail(n).iloc[::-1]
    scores = rows.get("score", pd.Series(np.nan, index=rows.index))
    unit = indicator.unit
    return sheet({
        "period": [period_cell(p) for p in rows["period"]],
        "observed": [value_cell(v, unit) for v in rows["observed"]],
        "expected": [value_cell(v, unit) for v in rows["expected"]],
        "lower": [value_cell(v, unit) for v in rows["lower"]],
        "upper": [value_cell(v, unit) for v in rows["upper"]],
        "score": [(None, None) if pd.isna(v) else (round(float(v), 4), "0.00") for v in scores],
        "level": [t(f"level.{lv}", lang) if isinstance(lv, str) and lv else "" for lv in rows["level"]],
        "flag": [_flag_text(f, lang) for f in rows["flag"]]})


def _flag_text(flag, lang: str) -> str:
    if not isinstance(flag, str) or not flag:
        return ""
    return t(f"flag.{flag}", lang) if flag in "pebcu" else flag


def explorer_view(store: Store, catalogue: Catalogue, settings: MonitorSettings, indicator_id: str, geo: str,
                  lang: str = "en") -> ExplorerView:
    """One series: history with results, events, visa-rule changes, EU+ breakdown, recent values."""
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
    return ExplorerView(indicator=indicator, geo=geo, title=title, history=history, events=evts,
                        visa=visa_changes(history, indicator, settings), breakdown=drill,
                        breakdown_period=drill_period, breakdown_total=drill_total,
                        recent=recent_table(history, indicator, lang),
                        recent_sheet=recent_sheet(history, indicator, lang),
                        sentences=sentences,
                        criterion=criterion_status(history, indicator, lang) if criterion_applies(indicator) else "")


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


def reference_label(reference: tuple[str, ...], lang: str = "en", frequency: str = "M") -> str:
    """The visa rule's reference months as text: ``November–December 2023`` (``Q4 2023`` for a
    quarterly series, which is compared with the quarters holding those months)."""
    if not reference:
        return ""
    first, last = to_period(reference[0]), to_period(reference[-1])
    if frequency in ("Q", "A"):
        first, last = (p.asfreq(PANDAS_FREQ[frequency]) for p in (first, last))
    if first == last:
        return period_label(first, lang)
    if first.year == last.year and first.freqstr.startswith("M"):
        return f"{month_name(first.month, lang)}–{month_name(last.month, lang)} {first.year}"
    return f"{period_label(first, lang)} – {period_label(last, lang)}"
