"""Scan speed: the demo database, 1,000 simulated 12-year monthly series, and re-thresholding.

    python benchmarks/scan.py [--repeat 3] [--series 1000] [--workers 2]

Reports medians over the repeats: wall time, series per second, milliseconds per scored period,
and the time to re-level every stored period at new thresholds (no refit). Writes
benchmarks/results/scan.md. Not a test: timings on shared machines are for reading, not asserting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from indicators.catalogue import load_catalogue  # noqa: E402
from indicators.loaders import demo_files, load_files  # noqa: E402
from indicators.store import open_store, results  # noqa: E402
from monitoring.pipeline.scan import level_frame, scan  # noqa: E402
from monitoring.settings import load_settings, parse_settings  # noqa: E402

TODAY = pd.Timestamp("2026-11-26")


def _simulated_csv(path: Path, n: int, seed: int = 7) -> None:
    """n monthly series 2014-10..2026-09 (12 years), NB noise around a seasonal trending mean."""
    rng = np.random.default_rng(seed)
    months = pd.period_range("2014-10", "2026-09", freq="M")
    month = months.month.to_numpy()
    t = np.arange(len(months))
    with path.open("w", encoding="utf-8") as fh:
        fh.write("indicator,geo,period,value,flag\n")
        labels = [str(p) for p in months]
        for i in range(n):
            mean = rng.choice([2, 10, 50, 200, 700]) * (1 + 0.3 * np.sin(2 * np.pi * (month - rng.integers(12)) / 12))
            mean = mean * (1 + rng.uniform(-0.002, 0.002) * t)
            phi = rng.uniform(1, 3)
            values = rng.negative_binomial(mean / max(phi - 1, 1e-3), 1 / phi) if phi > 1.01 else rng.poisson(mean)
            geo = f"G{i:04d}"
            fh.write("".join(f"asylum_applications,{geo},{p},{v},\n" for p, v in zip(labels, values, strict=True)))


def _time_scan(store, catalogue, settings, workers: int) -> tuple[float, int, int]:
    start = time.perf_counter()
    report = scan(store, catalogue, settings, today=TODAY, workers=workers)
    return time.perf_counter() - start, report.series_refitted, report.periods_scored


def bench(name: str, files, repeat: int, workers: int, catalogue) -> dict:
    times, rethreshold_times = [], []
    for r in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store = open_store(Path(tmp) / "b.duckdb")
            load_files(store, files(Path(tmp)), catalogue=catalogue, today=TODAY.date())
            settings = load_settings()
            # force a fresh fit each repeat
            elapsed, series, periods = _time_scan(store, catalogue, settings, workers)
            times.append(elapsed)
            if r == 0:
                again, refitted, _ = _time_scan(store, catalogue, settings, workers)
            stored = results.read_scores(store)
            stricter = parse_settings({"levels": {"watch_alpha": 0.02, "alert_alpha": 0.005}})
            for _ in range(5):
                t0 = time.perf_counter()
                level_frame(stored, catalogue, stricter, TODAY)
                rethreshold_times.append(time.perf_counter() - t0)
    wall = statistics.median(times)
    return {"name": name, "series": series, "periods": periods, "wall_s": wall, "series_per_s": series / wall,
            "ms_per_period": 1000 * wall / max(periods, 1), "rescan_s": again, "rescan_refitted": refitted,
            "rethreshold_ms": 1000 * statistics.median(rethreshold_times), "stored_rows": len(stored),
            "repeat": repeat, "workers": workers}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "scan.md")
    args = parser.parse_args(argv)
    catalogue = load_catalogue()

    def simulated(tmp: Path):
        path = tmp / "sim.csv"
        _simulated_csv(path, args.series)
        return [path]

    rows = [bench("demo database", lambda tmp: demo_files(), args.repeat, args.workers, catalogue),
            bench(f"{args.series} simulated 12-year monthly series", simulated, args.repeat, args.workers,
                  catalogue)]
    lines = [
        "# Scan speed", "",
        f"Measured {dt.date.today()} on {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; `python benchmarks/scan.py --repeat {args.repeat} --series {args.series} "
        f"--workers {args.workers}`. Medians over {args.repeat} fresh scans (new database each time).", "",
        "| data | series | scored periods | full scan (s) | series/s | ms per scored period | "
        "second scan, nothing new (s) | refitted | re-threshold all stored periods (ms) | stored rows |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['name']} | {r['series']} | {r['periods']} | {r['wall_s']:.2f} | {r['series_per_s']:.1f} "
                     f"| {r['ms_per_period']:.2f} | {r['rescan_s']:.2f} | {r['rescan_refitted']} | "
                     f"{r['rethreshold_ms']:.1f} | {r['stored_rows']} |")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
