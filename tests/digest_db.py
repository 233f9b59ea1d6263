"""A small scanned database for the digest tests: two monthly series, one with a surge in its last
month (a new alert episode at the latest data), built once per test process and copied per test."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

TODAY = pd.Timestamp("2026-11-26")
HEADER = "indicator,geo,period,value,flag\n"


def series_csv(path: Path, last: str = "2026-09") -> Path:
    """Nine years of seasonal counts for FR and DE; FR's last month is four times its usual level."""
    months = pd.period_range("2017-10", last, freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    lines = []
    for geo, mean, seed in (("FR", 120, 1), ("DE", 300, 2)):
        values = np.random.default_rng(seed).poisson(mean * season)
        for p, v in zip(months, values, strict=True):
            v = int(v * 4) if geo == "FR" and str(p) == "2026-09" else int(v)
            lines.append(f"asylum_applications,{geo},{p},{v},")
    path.write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@cache
def _master() -> Path:
    from indicators.catalogue import load_catalogue
    from indicators.loaders import load_files
    from indicators.store import open_store
    from monitoring.pipeline.scan import scan
    from monitoring.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="digest-"))
    store = open_store(folder / "master.duckdb")
    catalogue = load_catalogue()
    load_files(store, [series_csv(folder / "series.csv")], catalogue=catalogue, today=TODAY.date())
    scan(store, catalogue, load_settings(), today=TODAY, workers=1)
    return store.path


def copy_to(target: Path) -> Path:
    from indicators.store import copy_database

    copy_database(_master(), target)
    return target
