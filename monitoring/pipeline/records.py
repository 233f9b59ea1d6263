"""Page data for the Alerts and Data pages: the alert episodes with their review, coverage, loads, revisions,
events.

Pure functions over a ``Store``; tables carry text in the user's language plus raw keys.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.periods import to_period
from indicators.store import Store, episodes, events, observations
from indicators.store.deletion import DELETION
from monitoring.i18n import event_label, period_label, t
from monitoring.narrative import sentence
from monitoring.pipeline.labels import geo_label
from monitoring.statistics.derived import indicator_of
from monitoring.statistics.episodes import RANK, EpisodeCount, open_episodes
from monitoring.tables import DATE, Sheet, period_cell, sheet, when_cell

STATUSES = ("open", "acknowledged", "dismissed")


# --- alert episodes -------------------------------------------------------------------------------


def effective_status(status: str, expires, today: pd.Timestamp) -> str:
    """An acknowledgement past its expiry date counts as open again."""
    if (
        status == "acknowledged"
        and expires is not None
        and not pd.isna(expires)
        and pd.Timestamp(expires) < pd.Timestamp(today).normalize()
    ):
        return "open"
    return status


@dataclass(frozen=True)
class EpisodeLog:
    table: pd.DataFrame  # display columns + episode_id, indicator_id, geo_code, status_code, state_code
    chart: pd.DataFrame  # period_start (the episode's start), level (the level it reached)
    count: EpisodeCount  # open episodes, all of them (the one count, whatever the filters)


LOG_COLUMNS = ("indicator", "geo", "start", "peak", "level", "state", "periods", "status", "comment", "shift_start",
               "first_seen", "status_by", "expires")
_KEYS = ("episode_id", "indicator_id", "geo_code", "status_code", "state_code", "first_reason", "start_code",
         "shift_code", "first_seen_at", "expires_on")
_STATE_ORDER = {"open": 0, "resolved": 1, "withdrawn": 2}


def episode_count(store: Store) -> EpisodeCount:
    """The open episodes as stored by the last scan or settings save (the count every surface shows)."""
    return open_episodes(episodes.read_episodes(store))


def episode_log(store: Store, catalogue: Catalogue, today: pd.Timestamp, lang: str = "en", *,
                since_months: int | None = 24, statuses: tuple[str, ...] = STATUSES,
                indicator: str | None = None) -> EpisodeLog:
    """One row per alert episode alarming in the last ``since_months`` (and every open one): open
    first, then by the level reached and the latest start."""
    raw = episodes.read_episodes(store)
    count = open_episodes(raw)
    empty = EpisodeLog(pd.DataFrame(columns=[*LOG_COLUMNS, *_KEYS]), pd.DataFrame(columns=["period_start", "level"]),
                       count)
    if raw.empty:
        return empty
    raw = raw.assign(start_date=pd.to_datetime(raw["start_date"]), last_date=pd.to_datetime(raw["last_date"]))
    if since_months:
        cutoff = (pd.Timestamp(today).to_period("M") - since_months).start_time
        raw = raw[(raw["last_date"] >= cutoff) | (raw["state"] == "open")]
    if indicator:
        raw = raw[raw["indicator"] == indicator]
    raw = raw.assign(status_code=[effective_status(s, e, today)
                                  for s, e in zip(raw["status"], raw["expires"], strict=True)])
    raw = raw[raw["status_code"].isin(statuses)]
    raw = raw.assign(_state=raw["state"].map(_STATE_ORDER).astype(float),
                     _level=-raw["peak_level"].map(RANK).astype(float))
    raw = raw.sort_values(["_state", "_level", "start_date", "indicator", "geo"],
                          ascending=[True, True, False, True, True], kind="stable")
    rows = []
    for r in raw.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        rows.append({
            "indicator": ind.name_in(lang),
            "geo": geo_label(catalogue, r["geo"], lang),
            "start": period_label(r["start_period"], lang),
            "peak": t("alerts.peak", lang, level=_level(r["peak_level"], lang),
                      period=period_label(r["peak_period"], lang)) if r.get("peak_period") else _level(
                          r["peak_level"], lang),
            "level": _level(r["current_level"], lang),
            "state": _state(r, lang),
            "status": t(f"alerts.status_{r['status_code']}", lang),
            "periods": int(r["periods"]) if not pd.isna(r["periods"]) else None,
            "shift_start": period_label(r["shift_start"], lang) if _text(r.get("shift_start")) else "",
            "first_seen": _when(r["first_seen"]),
            "comment": _text(r.get("comment")),
            "status_by": _text(r.get("status_by")),
            "expires": "" if pd.isna(r.get("expires")) else pd.Timestamp(r["expires"]).strftime("%Y-%m-%d"),
            "episode_id": int(r["id"]),
            "indicator_id": r["indicator"],
            "geo_code": r["geo"],
            "status_code": r["status_code"],
            "state_code": r["state"],
            "first_reason": _first_sentence(r, ind, catalogue, lang),
            "start_code": r["start_period"],
            "shift_code": _text(r.get("shift_start")),
            "first_seen_at": r["first_seen"],
            "expires_on": r.get("expires"),
        })
    if not rows:
        return empty
    table = pd.DataFrame(rows)
    chart = raw[["start_date", "peak_level"]].rename(columns={"start_date": "period_start", "peak_level": "level"})
    return EpisodeLog(table, chart.reset_index(drop=True), count)


def log_sheet(table: pd.DataFrame) -> Sheet:
    """The episode log's display columns (``LOG_COLUMNS``) for CSV/XLSX: periods and dates as dates,
    the number of periods as a number; headers are the column keys (``alerts.col_<key>``)."""
    cells = {c: list(table[c]) if c in table else [] for c in LOG_COLUMNS}
    if len(table):
        cells.update(start=[period_cell(p) for p in table["start_code"]],
                     shift_start=[period_cell(p) for p in table["shift_code"]],
                     first_seen=[when_cell(v) for v in table["first_seen_at"]],
                     expires=[when_cell(v, DATE) for v in table["expires_on"]],
                     periods=[None if v is None or pd.isna(v) else int(v) for v in table["periods"]])
    return sheet(cells)


def _text(value) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA else str(value)


def _level(level: str, lang: str) -> str:
    return t(f"level.{level}", lang) if level in ("normal", "watch", "alert", "no_data") else str(level)


def _state(r: dict, lang: str) -> str:
    if r["state"] == "resolved" and _text(r.get("resolved_period")):
        return t("alerts.state_resolved", lang, period=period_label(r["resolved_period"], lang))
    return t(f"alerts.state_{r['state']}", lang)


def _first_sentence(r: dict, indicator, catalogue: Catalogue, lang: str) -> str:
    """How the episode was first seen, said in the language (stored English for alerts kept before v4)."""
    if _text(r.get("first_figures")):
        return sentence(json.loads(r["first_figures"]), indicator, r["geo"], lang, catalogue)
    if not _text(r.get("first_channels")):
        return _text(r.get("first_reason"))
    row = {"period": r["start_period"], "observed": r["first_observed"], "expected": r["first_expected"],
           "lower": r["first_lower"], "upper": r["first_upper"], "last_year": r["first_last_year"],
           "channels": r["first_channels"], "provisional": bool(r.get("first_provisional"))}
    return sentence(row, indicator, r["geo"], lang, catalogue)


def _when(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


HISTORY_COLUMNS = ("acted_at", "who", "action", "period", "comment", "expires")


def episode_history(store: Store, episode_id: int, lang: str = "en") -> pd.DataFrame:
    """Acknowledgements, dismissals and reopenings of one episode, oldest first (``period``: the
    alarming period an action kept from the per-period log of before v6 was taken on)."""
    acts = episodes.episode_actions(store, int(episode_id))
    if acts.empty:
        return pd.DataFrame(columns=list(HISTORY_COLUMNS))
    return pd.DataFrame(
        {"acted_at": [_when(v) for v in acts["acted_at"]], "who": acts["who"],
         "action": [t(f"alerts.action_{a}", lang) for a in acts["action"]],
         "period": [period_label(p, lang) if _text(p) else "" for p in acts["period"]],
         "comment": acts["comment"].fillna(""),
         "expires": ["" if pd.isna(v) else pd.Timestamp(v).strftime("%Y-%m-%d") for v in acts["expires"]]}
    )


# --- data ----------------------------------------------------------------------------------------


def coverage_cells(
    store: Store, catalogue: Catalogue, lang: str = "en", indicators: list[str] | None = None
) -> pd.DataFrame:
    """One row per series and month: label, month, state (present, missing, provisional).

    A quarterly or annual value covers each of its months; periods absent between a series' first
    and last period are missing.
    """
    obs = observations.observations(store, indicators=indicators)
    if obs.empty:
        return pd.DataFrame(columns=["label", "month", "state"])
    parts = []
    order = {i.id: n for n, i in enumerate(catalogue.indicators)}
    keys = sorted(obs[["indicator", "geo"]].drop_duplicates().itertuples(index=False),
                  key=lambda k: (order.get(k[0], 99), k[1] != "EU_PLUS", k[1]))
    grouped = dict(tuple(obs.groupby(["indicator", "geo"])))
    for indicator, geo in keys:
        rows = grouped[(indicator, geo)]
        ind = indicator_of(catalogue, indicator)
        name = ind.name_in(lang) if ind else indicator
        periods = [to_period(p) for p in rows["period"]]
        state = np.where(
            rows["value"].isna(), "missing", np.where(rows["flag"].eq("p"), "provisional", "present")
        )
        by_period = dict(zip(periods, state, strict=True))
        full = pd.period_range(min(periods), max(periods), freq=periods[0].freq)
        months, states = [], []
        for p in full:
            s = by_period.get(p, "missing")
            for m in pd.period_range(p.start_time, p.end_time, freq="M"):
                months.append(m.start_time)
                states.append(s)
        parts.append(
            pd.DataFrame(
                {"label": f"{name} – {geo_label(catalogue, geo, lang)}", "month": months, "state": states}
            )
        )
    return pd.concat(parts, ignore_index=True)


def coverage_table(store: Store, catalogue: Catalogue, lang: str = "en") -> pd.DataFrame:
    cov = observations.coverage(store)
    if cov.empty:
        return pd.DataFrame(
            columns=["indicator", "geo", "first_period", "last_period", "count", "missing", "provisional",
                     "last_loaded_at"]
        )
    return cov.assign(
        indicator=[
            (indicator_of(catalogue, i).name_in(lang) if indicator_of(catalogue, i) else i)
            for i in cov["indicator"]
        ],
        geo=[geo_label(catalogue, g, lang) for g in cov["geo"]],
        first_period=[period_label(p, lang) for p in cov["first_period"]],
        last_period=[period_label(p, lang) for p in cov["last_period"]],
        last_loaded_at=[_when(v) for v in cov["last_loaded_at"]],
    )


def coverage_sheet(store: Store, catalogue: Catalogue, lang: str = "en") -> Sheet:
    """:func:`coverage_table` for CSV/XLSX: periods as dates, counts as numbers, the load time as a date."""
    cov = observations.coverage(store)
    shown = coverage_table(store, catalogue, lang)
    if cov.empty:
        return Sheet(shown)
    cells = {c: list(shown[c]) for c in shown.columns}
    cells.update(first_period=[period_cell(p) for p in cov["first_period"]],
                 last_period=[period_cell(p) for p in cov["last_period"]],
                 last_loaded_at=[when_cell(v) for v in cov["last_loaded_at"]],
                 **{c: [None if pd.isna(v) else int(v) for v in cov[c]] for c in ("count", "missing", "provisional")
                    if c in cov})
    return sheet(cells)


def load_log(store: Store) -> pd.DataFrame:
    """Last load per file, newest first."""
    loads = observations.loads(store)
    if loads.empty:
        return pd.DataFrame(
            columns=["file", "loaded_at", "loaded_by", "format", "rows_new", "rows_revised", "rows_unchanged",
                     "synthetic"]
        )
    loads = loads.sort_values("id").drop_duplicates("file", keep="last").sort_values("id", ascending=False)
    return pd.DataFrame(
        {"file": [Path(f).name for f in loads["file"]], "loaded_at": [_when(v) for v in loads["loaded_at"]],
         "loaded_by": loads["loaded_by"], "format": loads["format"], "rows_new": loads["rows_new"],
         "rows_revised": loads["rows_revised"], "rows_unchanged": loads["rows_unchanged"],
         "synthetic": loads["synthetic"]}
    )


def revision_log(store: Store, catalogue: Catalogue, lang: str = "en", limit: int = 500) -> pd.DataFrame:
    """Replaced values (old value, flag, when loaded, replaced when, by a load or deleted), most recent first."""
    rev = observations.revisions(store)
    if rev.empty:
        return pd.DataFrame(
            columns=["indicator", "geo", "period", "change", "value", "flag", "loaded_at", "replaced_at"]
        )
    rev = rev.sort_values(["replaced_at", "period"], ascending=[False, True], kind="stable").head(limit)
    loads = observations.loads(store)
    deletions = set(loads.loc[loads["format"] == DELETION, "id"])
    return pd.DataFrame(
        {
            "indicator": [
                indicator_of(catalogue, i).name_in(lang) if indicator_of(catalogue, i) else i
                for i in rev["indicator"]
            ],
            "geo": [geo_label(catalogue, g, lang) for g in rev["geo"]],
            "period": rev["period"],
            "change": [t("data.change_deleted" if r in deletions else "data.change_revised", lang)
                       for r in rev["replaced_by_load"]],
            "value": rev["value"],
            "flag": rev["flag"].fillna(""),
            "loaded_at": [_when(v) for v in rev["loaded_at"]],
            "replaced_at": [_when(v) for v in rev["replaced_at"]],
        }
    )


EVENT_COLUMNS = ("id", "date", "label", "indicator", "geo", "created_by")


def event_table(store: Store, catalogue: Catalogue, lang: str = "en") -> pd.DataFrame:
    """Events (not deleted), newest first: names to display (a seeded event's label in the language, as
    stored in ``label_as_written``); codes in ``indicator_id`` and ``geo_code``."""
    evts = events.list_events(store)
    if evts.empty:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "label_as_written", "indicator_id", "geo_code"])
    out = evts.sort_values("date", ascending=False)
    ind = [indicator_of(catalogue, i) if isinstance(i, str) and i else None for i in out["indicator"]]
    return pd.DataFrame({
        "id": out["id"], "date": pd.to_datetime(out["date"]).dt.date,
        "label": [event_label(lb, lang, by) for lb, by in zip(out["label"], out["created_by"], strict=True)],
        "label_as_written": out["label"],
        "indicator": [i.name_in(lang) if i else "" for i in ind],
        "geo": [geo_label(catalogue, g, lang) if isinstance(g, str) and g else "" for g in out["geo"]],
        "created_by": out["created_by"],
        "indicator_id": out["indicator"].where(out["indicator"].notna(), None),
        "geo_code": out["geo"].where(out["geo"].notna(), None)})
