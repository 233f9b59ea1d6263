"""A small database with something in every table: loads with a revision, a scan with alert episodes,
saved settings, an acknowledgement and an event (for the backup, audit, crash and stress tests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import Store, copy_database, episodes, events, results
from monitoring.pipeline import levelling
from monitoring.pipeline.scan import scan
from monitoring.settings import MonitorSettings

TODAY = pd.Timestamp("2026-11-26")
HEADER = "indicator,geo,period,value,flag\n"
SERIES = (("asylum_applications", "FR", 120, 1), ("asylum_applications", "DE", 300, 2), ("border_exits", "XK", 2000, 3))


def series_csv(path: Path, *, shift: int = 0, series=SERIES) -> Path:
    """Ten years of monthly counts per series, a spike in 2026-05; ``shift`` changes the last values
    (so loading it again makes revisions)."""
    months = pd.period_range("2017-01", "2026-09", freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    lines = []
    for indicator, geo, mean, seed in series:
        values = np.random.default_rng(seed).poisson(mean * season)
        for p, v in zip(months, values, strict=True):
            text = str(p)
            v = int(v * 2.5) if text == "2026-05" else int(v)
            if text >= "2026-07":
                v += shift
            lines.append(f"{indicator},{geo},{text},{v},{'p' if text >= '2026-08' else ''}")
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(db: Path, folder: Path) -> Store:
    """The populated database at ``db`` (files written into ``folder``)."""
    catalogue = load_catalogue()
    store = Store(db)
    today = TODAY.date()
    load_files(store, [series_csv(folder / "series.csv")], catalogue=catalogue, today=today, who="ana")
    load_files(store, [series_csv(folder / "series_rev.csv", shift=7)], catalogue=catalogue, today=today, who="ana")
    settings = MonitorSettings()
    scan(store, catalogue, settings, today=TODAY, workers=1, who="ana")
    results.save_settings(store, settings.to_json(), who="ana", reason="baseline settings")
    levelling.catch_up(store, catalogue, today=TODAY)
    episode = episodes.read_episodes(store).iloc[0]
    episodes.set_episode_status(store, int(episode["id"]), status="acknowledged", who="ana", comment="seen",
                                expires=dt.date(2026, 12, 31))
    events.add_event(store, "2026-05-01", "Local election", "ana", geo="FR")
    return store


_MASTER: dict[str, Path] = {}


def master_copy(tmp_path_factory, target: Path) -> Store:
    """A copy of the populated database at ``target`` (built once per test session)."""

    if "db" not in _MASTER:
        folder = tmp_path_factory.mktemp("populated")
        _MASTER["db"] = build(folder / "master.duckdb", folder).path
    copy_database(_MASTER["db"], target)
    return Store(target)
