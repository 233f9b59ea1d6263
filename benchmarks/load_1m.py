"""Benchmark (not a test): load a 1,000,000-row tidy CSV into a fresh database, then reload it.

Run: ``/work/venv/bin/python benchmarks/load_1m.py`` (writes benchmarks/results/load.md).
Rows: every catalogue indicator x generated geo codes G0001.. x its periods (monthly or quarterly,
2000 onward), cut at 1,000,000. Reported: median of 3 runs of (a) the first load into an empty
database, (b) a reload of the same file (same bytes: no write), (c) a load of the same rows in
other bytes (every row compared, no write), (d) a revision load changing 1% of the values.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indicators.catalogue import load_catalogue  # noqa: E402
from indicators.loaders import load_files, parse_file  # noqa: E402
from indicators.store import Store  # noqa: E402

ROWS = 1_000_000
TODAY = dt.date(2026, 11, 26)


def periods(freq: str) -> list[str]:
    if freq == "M":
        return [f"{y}-{m:02d}" for y in range(2000, 2026) for m in range(1, 13)]
    if freq == "Q":
        return [f"{y}-Q{q}" for y in range(2000, 2026) for q in range(1, 5)]
    return [str(y) for y in range(2000, 2026)]


def generate(path: Path, catalogue, rows: int = ROWS, change: float = 0.0, note: str = "") -> None:
    rng = np.random.default_rng(1)
    per_geo = sum(len(periods(i.frequency)) for i in catalogue.indicators)
    geos = [f"G{n:04d}" for n in range(1, rows // per_geo + 2)]
    keys, values = [], []
    for ind in catalogue.indicators:
        ps = periods(ind.frequency)
        keys.append(np.array([f"{ind.id},{g},{p}," for g in geos for p in ps], dtype=object))
        high = 100 if ind.unit == "percent" else 5000  # a percentage stays below 100 when revised
        values.append(rng.integers(0, high, size=len(keys[-1])))
    key, value = np.concatenate(keys)[:rows], np.concatenate(values)[:rows]
    if change:  # a revision: whole counts (fractions are refused) one higher
        value = value + (rng.random(len(value)) < change)
    lines = key + value.astype(str).astype(object)
    flags = np.where(rng.random(len(lines)) < 0.02, ",p", ",")
    text = (
        "# synthetic: true\n" + note + "indicator,geo,period,value,flag\n" + "\n".join(lines + flags) + "\n"
    )
    path.write_text(text, encoding="utf-8")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    catalogue = load_catalogue()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, same, revised = tmp / "bench.csv", tmp / "bench_same.csv", tmp / "bench_revised.csv"
        generate(data, catalogue)
        generate(same, catalogue, note="# note: same rows, other bytes\n")
        generate(revised, catalogue, change=0.01)
        size = data.stat().st_size
        parse = [timed(lambda: parse_file(data, catalogue=catalogue, today=TODAY)) for _ in range(3)]
        first, reload, same_rows, revise = [], [], [], []
        for run in range(3):
            store = Store(tmp / f"run{run}.duckdb")
            first.append(timed(lambda s=store: load_files(s, [data], catalogue=catalogue, today=TODAY)))
            reload.append(timed(lambda s=store: load_files(s, [data], catalogue=catalogue, today=TODAY)))
            same_rows.append(timed(lambda s=store: load_files(s, [same], catalogue=catalogue, today=TODAY)))
            revise.append(timed(lambda s=store: load_files(s, [revised], catalogue=catalogue, today=TODAY)))
        db_size = (tmp / "run0.duckdb").stat().st_size
    load_avg = os.getloadavg()[0]
    med = {
        name: statistics.median(v)
        for name, v in [
            ("parse", parse),
            ("first", first),
            ("reload", reload),
            ("same", same_rows),
            ("revise", revise),
        ]
    }
    lines = [
        "# Loading benchmark: 1,000,000-row tidy CSV",
        "",
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M} with `python benchmarks/load_1m.py` on {os.cpu_count()} "
        "CPU(s), "
        f"Python {platform.python_version()}. File {size / 1e6:.1f} MB, database {db_size / 1e6:.1f} MB.",
        f"Median of 3 runs, seconds (target: first load under 15 s). Load average at the end: {load_avg:.1f} "
        "(other engineers' jobs share the 2 cores, so single runs vary).",
        "",
        "| step | median s | runs |",
        "|---|---|---|",
        f"| read + check only (DuckDB read_csv, vectorised rules) | {med['parse']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in parse)} |",
        f"| first load into an empty database | {med['first']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in first)} |",
        f"| reload, same bytes (no write) | {med['reload']:.2f} | {', '.join(f'{x:.2f}' for x in reload)} |",
        f"| same rows, other bytes (every row compared, no write) | {med['same']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in same_rows)} |",
        f"| revision load, 1% of values changed | {med['revise']:.2f} | "
        f"{', '.join(f'{x:.2f}' for x in revise)} |",
        "",
    ]
    out = ROOT / "benchmarks" / "results" / "load.md"
    out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
