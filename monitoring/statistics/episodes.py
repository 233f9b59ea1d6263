"""Alerts are episodes, not series-periods (as Grafana's alert instances: firing -> resolved).

Pure functions over the results frame (one row per series-period with its anomaly ``level``):

- :func:`compute_episodes`: the episodes of every series. An episode opens at a series' first
  ``watch``/``alert`` period, carries every period while it goes on, escalates watch -> alert, and
  resolves at the ``resolve_after``-th normal period after its last alarming one (that period is
  its ``resolved_period``). Fewer normal periods in between do not end it. A ``no_data`` period
  neither counts as normal nor ends it (nor breaks a run of normal periods: a month without data
  says nothing either way).
- :func:`latest_changes`: what changed at the latest period of each series -- a new episode, an
  escalation, a resolution, a new crossing of the EU criterion -- one row each, ranked by severity.
- :func:`reconcile`: freshly computed episodes against the stored ones, so that an episode keeps
  its id, status, comment and history from scan to scan and across threshold changes.
- :func:`open_episodes`: the one count every surface shows ("Open episodes: 3 (1 alert, 2 watch)").

``resolve_after`` (setting ``[episodes] resolve_after``, default 2) counts periods of the series'
own frequency: two months for a monthly series, two quarters for a quarterly one; an annual series'
episode resolves at its first normal year (a year is long enough to tell a lull). One normal month
after a surge is too often a lull (the demo's and the real 2014-15 waves both dipped for a month);
three would keep an episode open a quarter after it ended.

An episode's ``peak_level`` (the highest level it reached) is its level: an episode that reached
alert counts as an alert episode until it resolves. ``current_level`` is the level of the series'
latest period while the episode is open ('normal' once it is resolved). ``shift_start`` is the
earliest month a sustained shift began, as the CUSUM gave it in a period of the episode that it
raised (other channels' periods carry no shift). ``first_figures`` keeps what the sentence of the
first period needs (JSON), so that how an episode was first seen can be said in any language.

No store, no Streamlit: the scan, the Thresholds preview and the pages call these.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

RESOLVE_AFTER = 2
ALARMING = ("watch", "alert")
RANK = {"no_data": 0, "normal": 0, "watch": 1, "alert": 2}
CATEGORY_RANK = {"outflow": 0, "return": 1, "leading": 2}
STATES = ("open", "resolved", "withdrawn")
CHANGE_KINDS = ("new", "escalation", "resolution", "criterion")
# What an episode is, as computed (the store's table adds id, first_seen, runs and the review status).
COMPUTED = ("indicator", "geo", "start_period", "start_date", "last_period", "last_date", "resolved_period",
            "state", "peak_level", "peak_period", "peak_score", "peak_observed", "peak_expected", "current_level",
            "shift_start", "periods", "alert_since", "first_level", "first_observed", "first_expected",
            "first_upper", "first_lower", "first_channels", "first_last_year", "first_provisional", "first_reason",
            "first_figures")
# What the sentence of a period needs (monitoring.narrative.sentence), kept for an episode's first period
# as JSON (``first_figures``) so that the page can say how it was first seen in any language.
FIGURES = ("period", "observed", "expected", "lower", "upper", "last_year", "level", "channels", "provisional",
           "tested_periods", "tested_observed", "tested_expected", "tested_bound", "shift_start", "criterion",
           "criterion_since", "criterion_crossed", "change_yoy", "change_ref")
# Kept from the stored episode when a computed one matches it.
KEPT = ("id", "first_seen", "first_run", "status", "status_by", "status_at", "comment", "expires", "ack_level",
        "ack_score", "first_level", "first_observed", "first_expected", "first_upper", "first_lower",
        "first_channels", "first_last_year", "first_provisional", "first_reason", "first_figures")
_FIRST = {"first_level": "level", "first_observed": "observed", "first_expected": "expected",
          "first_upper": "upper", "first_lower": "lower", "first_channels": "channels",
          "first_last_year": "last_year", "first_provisional": "provisional", "first_reason": "reason"}


@dataclass(frozen=True)
class EpisodeSettings:
    """How episodes end: ``resolve_after`` consecutive normal periods (of the series' frequency)."""

    resolve_after: int = RESOLVE_AFTER

    def __post_init__(self):
        if self.resolve_after < 1:
            raise ValueError(f"resolve_after must be at least 1, not {self.resolve_after}")


def resolve_after_of(settings, indicators) -> dict[str, int]:
    """``resolve_after`` of each indicator under ``settings`` (a ``MonitorSettings``: overrides apply)."""
    return {i: settings.for_indicator(i).episodes.resolve_after for i in set(indicators)}


def _column(rows: pd.DataFrame, name: str) -> np.ndarray:
    return rows[name].to_numpy(dtype=object) if name in rows else np.full(len(rows), None, dtype=object)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT


def _plain(value):
    """A JSON-ready value: None for missing, Python numbers and text."""
    if _missing(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, bool | int | float | str) else str(value)


def _number(value) -> float:
    return np.nan if _missing(value) else float(value)


def _peak_key(level: str, score: float) -> tuple[int, float]:
    return RANK[level], -np.inf if np.isnan(score) else score


def compute_episodes(levels: pd.DataFrame, resolve_after: int | Mapping[str, int] = RESOLVE_AFTER
                     ) -> pd.DataFrame:
    """The episodes of every series in ``levels`` (columns ``COMPUTED``), by series then start.

    ``resolve_after``: one number, or one per indicator (missing ones: ``RESOLVE_AFTER``).
    """
    if levels is None or not len(levels):
        return pd.DataFrame(columns=list(COMPUTED))
    frame = levels.assign(period_start=pd.to_datetime(levels["period_start"]))
    frame = frame.sort_values(["indicator", "geo", "period_start"], kind="stable").reset_index(drop=True)
    # every column once, as arrays; each series is a range of rows
    arrays = {
        "period": frame["period"].astype(str).to_numpy(), "start": frame["period_start"].to_numpy(),
        "level": frame["level"].astype(str).to_numpy(),
        "score": pd.to_numeric(frame["score"], errors="coerce").to_numpy(dtype=float) if "score" in frame
        else np.full(len(frame), np.nan),
        "shift": _column(frame, "shift_start"),
        "columns": {name: _column(frame, name) for name in {"observed", "expected", *_FIRST.values(), *FIGURES}},
    }
    indicator, geo = frame["indicator"].to_numpy(dtype=object), frame["geo"].to_numpy(dtype=object)
    bounds = np.flatnonzero((indicator[1:] != indicator[:-1]) | (geo[1:] != geo[:-1])) + 1
    out: list[dict] = []
    for lo, hi in zip([0, *bounds], [*bounds, len(frame)], strict=True):
        ind = indicator[lo]
        after = resolve_after.get(ind, RESOLVE_AFTER) if isinstance(resolve_after, Mapping) else resolve_after
        if len(arrays["period"][lo]) == 4:  # an annual series: one normal year ends an episode
            after = 1
        for e in _series_episodes(lo, hi, arrays, int(after)):
            e["indicator"], e["geo"] = ind, geo[lo]
            out.append(e)
    return pd.DataFrame(out, columns=list(COMPUTED))


def _series_episodes(lo: int, hi: int, arrays: dict, resolve_after: int) -> list[dict]:
    """The episodes of the series in rows ``lo``..``hi - 1`` (in period order)."""
    level, score = arrays["level"], arrays["score"]
    episodes: list[dict] = []
    current: dict | None = None
    normal_run = 0
    for n in range(lo, hi):
        lv = level[n]
        if lv in ALARMING:
            if current is None:
                current = {"start": n, "peak": n, "alert_since": None}
            current["last"] = n
            if _peak_key(lv, score[n]) > _peak_key(level[current["peak"]], score[current["peak"]]):
                current["peak"] = n  # the highest level, then the highest score (the first of equals)
            if lv == "alert" and current["alert_since"] is None:
                current["alert_since"] = n
            normal_run = 0
        elif lv == "normal" and current is not None:
            normal_run += 1
            if normal_run >= resolve_after:
                episodes.append(_episode(current, n, hi - 1, arrays))
                current, normal_run = None, 0
        # no_data: neither counts as normal nor ends the episode
    if current is not None:
        episodes.append(_episode(current, None, hi - 1, arrays))
    return episodes


def _episode(current: dict, resolved: int | None, latest: int, arrays: dict) -> dict:
    s, last, peak = current["start"], current["last"], current["peak"]
    periods, starts, level, score = arrays["period"], arrays["start"], arrays["level"], arrays["score"]
    shift, columns = arrays["shift"], arrays["columns"]
    # the month a sustained shift began, as the CUSUM said it when it raised a period of the episode
    channels = columns["channels"]
    shifts = sorted(str(shift[n]) for n in range(s, last + 1)
                    if not _missing(shift[n]) and str(shift[n]) and "cusum" in str(channels[n] or ""))
    first = {name: columns[col][s] for name, col in _FIRST.items()}
    first["first_provisional"] = bool(first["first_provisional"]) if not _missing(first["first_provisional"]) \
        else False
    first["first_figures"] = json.dumps({name: _plain(columns[name][s]) for name in FIGURES}, sort_keys=True)
    return {
        "start_period": periods[s], "start_date": pd.Timestamp(starts[s]), "last_period": periods[last],
        "last_date": pd.Timestamp(starts[last]), "resolved_period": None if resolved is None else periods[resolved],
        "state": "open" if resolved is None else "resolved", "peak_level": level[peak],
        "peak_period": periods[peak], "peak_score": float(score[peak]),
        "peak_observed": _number(columns["observed"][peak]), "peak_expected": _number(columns["expected"][peak]),
        "current_level": level[latest] if resolved is None else "normal",
        "shift_start": shifts[0] if shifts else None, "periods": last - s + 1,
        "alert_since": None if current["alert_since"] is None else periods[current["alert_since"]],
        **first,
    }


# --- the one count --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeCount:
    """Open episodes, by the level they reached."""

    alert: int = 0
    watch: int = 0

    @property
    def total(self) -> int:
        return self.alert + self.watch


def open_episodes(episodes: pd.DataFrame, indicator: str | None = None) -> EpisodeCount:
    """The open episodes of a computed or stored episodes frame (optionally of one indicator)."""
    if episodes is None or not len(episodes):
        return EpisodeCount()
    rows = episodes[episodes["state"] == "open"]
    if indicator is not None:
        rows = rows[rows["indicator"] == indicator]
    return EpisodeCount(alert=int((rows["peak_level"] == "alert").sum()),
                        watch=int((rows["peak_level"] == "watch").sum()))


def open_by_indicator(episodes: pd.DataFrame) -> pd.DataFrame:
    """Open episodes per indicator: columns ``indicator``, ``alert``, ``watch``."""
    if episodes is None or not len(episodes):
        return pd.DataFrame(columns=["indicator", "alert", "watch"])
    rows = episodes[episodes["state"] == "open"]
    table = (rows.groupby(["indicator", "peak_level"]).size().unstack(fill_value=0)
             .reindex(columns=["alert", "watch"], fill_value=0))
    table = table.reindex(sorted(set(episodes["indicator"])), fill_value=0)
    table.index.name, table.columns.name = "indicator", None
    return table.reset_index()


# --- what changed at the latest period ------------------------------------------------------------


CHANGE_COLUMNS = ("kind", "indicator", "geo", "period", "level", "score", "peak_level", "start_period",
                  "criterion", "size", "category")


def latest_changes(levels: pd.DataFrame, episodes: pd.DataFrame,
                   categories: Mapping[str, str] | None = None) -> pd.DataFrame:
    """What changed at the latest period of each series, one row per change, most severe first.

    Kinds: ``new`` (an episode starts there), ``escalation`` (an episode that was at watch reaches
    alert), ``resolution`` (an episode resolves there), ``criterion`` (the EU criterion's status
    rises there: ``criterion_crossed``). ``level`` and ``score`` are the period's anomaly level and
    score; ``size`` the series' mean observed value over its last 12 periods; ``category`` the
    indicator's (``categories``: indicator -> category). Ranked by level, score, size, then category
    (outflow > return > leading > the rest).
    """
    if levels is None or not len(levels):
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    frame = levels.assign(period_start=pd.to_datetime(levels["period_start"]))
    frame = frame.sort_values(["indicator", "geo", "period_start"], kind="stable")
    latest = frame.groupby(["indicator", "geo"], sort=False).tail(1).set_index(["indicator", "geo"])
    size = frame.groupby(["indicator", "geo"], sort=False)["observed"].apply(
        lambda v: float(np.nanmean(v.tail(12).to_numpy(dtype=float))) if v.tail(12).notna().any() else np.nan)
    rows: list[dict] = []

    def add(kind: str, key: tuple[str, str], peak_level=None, start=None) -> None:
        r = latest.loc[key]
        rows.append({"kind": kind, "indicator": key[0], "geo": key[1], "period": str(r["period"]),
                     "level": str(r["level"]), "score": _number(r.get("score")), "peak_level": peak_level,
                     "start_period": start, "criterion": r.get("criterion"), "size": size.get(key, np.nan),
                     "category": (categories or {}).get(key[0])})

    if episodes is not None and len(episodes):
        for e in episodes.to_dict("records"):
            key = (e["indicator"], e["geo"])
            if key not in latest.index:
                continue
            period = str(latest.loc[key, "period"])
            if e["state"] == "open" and e["start_period"] == period:
                add("new", key, e["peak_level"], e["start_period"])
            elif e["state"] == "open" and e.get("alert_since") == period:
                add("escalation", key, e["peak_level"], e["start_period"])
            elif e["state"] == "resolved" and e["resolved_period"] == period:
                add("resolution", key, e["peak_level"], e["start_period"])
    if "criterion_crossed" in latest:
        for key in latest.index[latest["criterion_crossed"].fillna(False).astype(bool)]:
            add("criterion", key)
    return rank_changes(pd.DataFrame(rows, columns=list(CHANGE_COLUMNS)))


def rank_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Most severe first: level, score, size of the series, category (outflow > return > leading)."""
    if not len(changes):
        return changes.reset_index(drop=True)
    keys = pd.DataFrame({
        "level": -changes["level"].map(RANK).fillna(0),
        "score": -changes["score"].astype(float).fillna(-np.inf),
        "size": -changes["size"].astype(float).fillna(-np.inf),
        "category": changes["category"].map(CATEGORY_RANK).fillna(len(CATEGORY_RANK)),
        "kind": changes["kind"].map({k: n for n, k in enumerate(CHANGE_KINDS)}),
    }, index=changes.index)
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return changes.loc[order].reset_index(drop=True)
