"""Reconciling computed episodes with the stored ones: a scan's episodes keep their identity.

A computed episode takes over the stored episode of the same series whose period range overlaps
its own (id, first-seen figures, status, comment, acknowledgement); one that worsened is reopened
with a reason; a stored episode matched by none is withdrawn. Pure: frames in, a frame out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from monitoring.statistics.episodes import (
    COMPUTED,
    KEPT,
    RANK,
    RESOLVE_AFTER,
    EpisodeCount,
    _missing,
    _number,
    compute_episodes,
    open_episodes,
)

# --- reconciling with the stored episodes ---------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    """The episodes table after a scan: every stored episode (``id`` set) and the new ones (``id``
    missing); the ids reopened because they worsened, each with a reason."""

    episodes: pd.DataFrame
    reopened: tuple[tuple[int, str], ...] = ()

    @property
    def count(self) -> EpisodeCount:
        return open_episodes(self.episodes)


def _overlaps(a_start: str, a_last: str, b_start: str, b_last: str) -> bool:
    return a_start <= b_last and b_start <= a_last


def reconcile(computed: pd.DataFrame, stored: pd.DataFrame, *, first_periods: Mapping[tuple[str, str], str],
              now: datetime, run_id: int | None) -> Reconciled:
    """Match computed episodes to stored ones and carry the stored identity and review over.

    A computed episode takes the stored episode of the same series whose period range (start to
    last alarming period) overlaps its own, the earliest first, each stored one at most once; it
    keeps that one's id, first-seen figures, status, comment and acknowledgement. Unmatched computed
    episodes are new (first seen ``now``). A stored episode matched by none is kept, ``withdrawn`` at
    level normal -- unless its series was not scored this time (``first_periods``: (indicator, geo)
    -> first scored period; a series absent, or scored only from after the episode), then it is left
    as it was. An acknowledged episode that worsened -- its peak level above the level it had when
    acknowledged, or its peak score above the score it had then -- is reopened. An acknowledgement
    without those figures (kept from the per-period log of before v6) takes the current peak as its
    reference, so the first scan after the upgrade reopens nothing.
    """
    computed = computed if computed is not None else pd.DataFrame(columns=list(COMPUTED))
    stored = stored if stored is not None and len(stored) else pd.DataFrame(columns=["id", *COMPUTED])
    by_series: dict[tuple[str, str], list[dict]] = {}
    for s in stored.sort_values(["start_period", "id"]).to_dict("records"):
        by_series.setdefault((s["indicator"], s["geo"]), []).append(s)
    taken: set[int] = set()
    rows: list[dict] = []
    reopened: list[tuple[int, str]] = []
    for c in computed.sort_values(["indicator", "geo", "start_period"], kind="stable").to_dict("records"):
        match = next((s for s in by_series.get((c["indicator"], c["geo"]), [])
                      if int(s["id"]) not in taken
                      and _overlaps(c["start_period"], c["last_period"], s["start_period"], s["last_period"])), None)
        row = {k: v for k, v in c.items() if k != "alert_since"}
        row["last_run"] = run_id
        if match is None:
            row.update(id=None, first_seen=now, first_run=run_id, status="open", status_by=None, status_at=None,
                       comment=None, expires=None, ack_level=None, ack_score=None)
            rows.append(row)
            continue
        taken.add(int(match["id"]))
        row.update({k: match.get(k) for k in KEPT})
        if match.get("status") == "acknowledged":
            if _missing(match.get("ack_level")):
                row["ack_level"], row["ack_score"] = c["peak_level"], c["peak_score"]
            else:
                reason = _worsened(c, match)
                if reason:
                    row.update(status="open", status_by="system", status_at=now)
                    reopened.append((int(match["id"]), reason))
        rows.append(row)
    for s in stored.to_dict("records"):
        if int(s["id"]) in taken:
            continue
        row = {k: s.get(k) for k in s if k != "alert_since"}
        first = first_periods.get((s["indicator"], s["geo"]))
        if first is not None and first <= s["start_period"]:
            row.update(state="withdrawn", current_level="normal", last_run=run_id)
        rows.append(row)
    frame = pd.DataFrame(rows)
    return Reconciled(frame, tuple(reopened))


def _worsened(computed: dict, stored: dict) -> str:
    """Why an acknowledged episode counts as worse now ('' when it does not)."""
    level, ack_level = computed["peak_level"], stored["ack_level"]
    if RANK.get(level, 0) > RANK.get(ack_level, 0):
        return f"worsened: {level} in {computed['peak_period']} (acknowledged at {ack_level})"
    score, ack_score = _number(computed["peak_score"]), _number(stored.get("ack_score"))
    if not np.isnan(score) and not np.isnan(ack_score) and score > ack_score + 1e-9:
        return (f"worsened: score {score:.2f} in {computed['peak_period']} "
                f"(acknowledged at {ack_score:.2f})")
    return ""


def first_periods(levels: pd.DataFrame) -> dict[tuple[str, str], str]:
    """(indicator, geo) -> the first period scored (the range over which episodes were computed)."""
    if levels is None or not len(levels):
        return {}
    frame = levels.assign(period_start=pd.to_datetime(levels["period_start"]))
    first = frame.sort_values("period_start", kind="stable").groupby(["indicator", "geo"])["period"].first()
    return {k: str(v) for k, v in first.items()}


def reconciler(levels: pd.DataFrame, resolve_after: int | Mapping[str, int] = RESOLVE_AFTER
               ) -> Callable[[pd.DataFrame, datetime, int | None], Reconciled]:
    """The episodes of ``levels``, computed now; returns the function the store calls inside its
    write with the stored episodes (so a review made meanwhile is never overwritten)."""
    computed = compute_episodes(levels, resolve_after)
    firsts = first_periods(levels)

    def run(stored: pd.DataFrame, now: datetime, run_id: int | None) -> Reconciled:
        return reconcile(computed, stored, first_periods=firsts, now=now, run_id=run_id)

    run.computed = computed  # for the caller's counts, without recomputing
    return run
