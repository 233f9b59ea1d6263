"""Page data for the Alerts and Data pages: the alert log with its status, coverage, loads, revisions, events.

Pure functions over a ``Store``; tables carry text in the user's language plus raw keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue
from indicators.periods import to_period
from indicators.store import Store, events, observations, results
from monitoring.i18n import period_label, t
from monitoring.narrative import sentence, value_text
from monitoring.views import geo_label, indicator_of

STATUSES = ("open", "acknowledged", "dismissed")


# --- alerts --------------------------------------------------------------------------------------


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
class AlertLog:
    table: pd.DataFrame  # display columns + indicator_id, geo_code, period_code, status_code
    chart: pd.DataFrame  # period_start, level (first level) for the log-over-time figure


LOG_COLUMNS = ("period", "indicator", "geo", "first_level", "level", "status", "first_seen", "observed",
               "expected", "comment", "status_by", "expires")


def alert_log(store: Store, catalogue: Catalogue, today: pd.Timestamp, lang: str = "en", *,
              since_months: int | None = 24, statuses: tuple[str, ...] = STATUSES,
              indicator: str | None = None) -> AlertLog:
    """Every alert and watch ever raised (from ``since_months`` back), newest period first."""
    raw = results.alerts(store)
    if raw.empty:
        return AlertLog(
            pd.DataFrame(columns=[*LOG_COLUMNS, "indicator_id", "geo_code", "period_code", "status_code"]),
            pd.DataFrame(columns=["period_start", "level"]),
        )
    raw = raw.assign(period_start=pd.to_datetime(raw["period_start"]))
    if since_months:
        raw = raw[raw["period_start"] >= (pd.Timestamp(today).to_period("M") - since_months).start_time]
    if indicator:
        raw = raw[raw["indicator"] == indicator]
    raw = raw.assign(
        status_code=[
            effective_status(s, e, today) for s, e in zip(raw["status"], raw["expires"], strict=True)
        ]
    )
    raw = raw[raw["status_code"].isin(statuses)]
    rows = []
    for r in raw.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        rows.append(
            {
                "period": period_label(r["period"], lang),
                "indicator": ind.name_in(lang),
                "geo": geo_label(catalogue, r["geo"], lang),
                "first_level": t(f"level.{r['first_level']}", lang),
                "level": t(f"level.{r['level']}", lang)
                if f"{r['level']}" in ("normal", "watch", "alert", "no_data")
                else r["level"],
                "status": t(f"alerts.status_{r['status_code']}", lang),
                "first_seen": _when(r["first_seen"]),
                "observed": value_text(r["first_observed"], ind, lang),
                "expected": value_text(r["first_expected"], ind, lang),
                "comment": r.get("comment") or "",
                "status_by": r.get("status_by") or "",
                "expires": ""
                if pd.isna(r.get("expires"))
                else pd.Timestamp(r["expires"]).strftime("%Y-%m-%d"),
                "indicator_id": r["indicator"],
                "geo_code": r["geo"],
                "period_code": r["period"],
                "status_code": r["status_code"],
                "first_reason": _first_sentence(r, ind, catalogue, lang),
            }
        )
    table = pd.DataFrame(rows)
    chart = raw[["period_start", "first_level"]].rename(columns={"first_level": "level"})
    return AlertLog(table, chart)


def _first_sentence(r: dict, indicator, catalogue: Catalogue, lang: str) -> str:
    """How the alert was first seen, said in the language (stored English for alerts kept before v4)."""
    if r.get("first_channels") is None or (isinstance(r.get("first_channels"), float)
                                           and np.isnan(r["first_channels"])):
        return r.get("first_reason") or ""
    row = {"period": r["period"], "observed": r["first_observed"], "expected": r["first_expected"],
           "lower": r["first_lower"], "upper": r["first_upper"], "last_year": r["first_last_year"],
           "channels": r["first_channels"], "provisional": bool(r.get("first_provisional"))}
    return sentence(row, indicator, r["geo"], lang, catalogue)


def _when(value) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def alert_history(store: Store, key: tuple[str, str, str], lang: str = "en") -> pd.DataFrame:
    """Acknowledgements, dismissals and reopenings of one alert, oldest first."""
    acts = results.alert_actions(store, *key)
    if acts.empty:
        return pd.DataFrame(columns=["acted_at", "who", "action", "comment", "expires"])
    return pd.DataFrame(
        {"acted_at": [_when(v) for v in acts["acted_at"]], "who": acts["who"],
         "action": [t(f"alerts.status_{a}", lang) for a in acts["action"]],
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
    """Replaced values (old value, flag, when loaded, replaced when), most recent first."""
    rev = observations.revisions(store)
    if rev.empty:
        return pd.DataFrame(
            columns=["indicator", "geo", "period", "value", "flag", "loaded_at", "replaced_at"]
        )
    rev = rev.sort_values("replaced_at", ascending=False).head(limit)
    return pd.DataFrame(
        {
            "indicator": [
                indicator_of(catalogue, i).name_in(lang) if indicator_of(catalogue, i) else i
                for i in rev["indicator"]
            ],
            "geo": [geo_label(catalogue, g, lang) for g in rev["geo"]],
            "period": rev["period"],
            "value": rev["value"],
            "flag": rev["flag"].fillna(""),
            "loaded_at": [_when(v) for v in rev["loaded_at"]],
            "replaced_at": [_when(v) for v in rev["replaced_at"]],
        }
    )


EVENT_COLUMNS = ("id", "date", "label", "indicator", "geo", "created_by")


def event_table(store: Store, catalogue: Catalogue, lang: str = "en") -> pd.DataFrame:
    """Events (not deleted), newest first: names to display; codes in ``indicator_id`` and ``geo_code``."""
    evts = events.list_events(store)
    if evts.empty:
        return pd.DataFrame(columns=[*EVENT_COLUMNS, "indicator_id", "geo_code"])
    out = evts.sort_values("date", ascending=False)
    ind = [indicator_of(catalogue, i) if isinstance(i, str) and i else None for i in out["indicator"]]
    return pd.DataFrame({
        "id": out["id"], "date": pd.to_datetime(out["date"]).dt.date, "label": out["label"],
        "indicator": [i.name_in(lang) if i else "" for i in ind],
        "geo": [geo_label(catalogue, g, lang) if isinstance(g, str) and g else "" for g in out["geo"]],
        "created_by": out["created_by"],
        "indicator_id": out["indicator"].where(out["indicator"].notna(), None),
        "geo_code": out["geo"].where(out["geo"].notna(), None)})
