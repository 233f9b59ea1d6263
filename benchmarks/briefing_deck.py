"""Time and size of the briefing deck with its default selection, as a briefer gets it.

Each run is a fresh process (as ``python -m monitoring brief`` and the first download in a new
dashboard process): assemble the briefing from the store, then the deck's bytes (Chrome and
kaleido's server start included: ``cold``); then the same deck again in that process (``warm``:
every later download). Median of ``--repeat`` processes.

    python -m benchmarks.briefing_deck --db /tmp/i11e/monitor.duckdb [--period 2025-06] [--repeat 3]

The database is the demo (``tests.apptest_support.build_demo`` or the dashboard's first start).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

TODAY = dt.date(2026, 11, 26)


def once(db: Path, period: str | None) -> dict:
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.briefing.contents import build_briefing
    from monitoring.briefing.deck import deck_bytes
    from monitoring.settings import saved_settings

    start = time.perf_counter()
    store = open_store(db)
    b = build_briefing(store, load_catalogue(), saved_settings(store), period=period, today=TODAY)
    data = deck_bytes(b)
    cold = time.perf_counter() - start
    start = time.perf_counter()
    deck_bytes(b)
    warm = time.perf_counter() - start
    import io

    from pptx import Presentation

    slides = len(Presentation(io.BytesIO(data)).slides)
    return {"cold": cold, "warm": warm, "mb": len(data) / 1e6, "slides": slides, "signals": len(b.signals)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.briefing_deck", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--period", default=None, help="reporting month (default: the latest)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(json.dumps(once(args.db, args.period)))
        return 0
    runs = []
    for _ in range(args.repeat):
        cmd = [sys.executable, "-m", "benchmarks.briefing_deck", "--once", "--db", str(args.db)]
        if args.period:
            cmd += ["--period", args.period]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(r[k] for r in runs) for k in ("cold", "warm", "mb")}
    print(json.dumps({"period": args.period or "latest", "signals": runs[0]["signals"], "slides": runs[0]["slides"],
                      "cold_s": round(med["cold"], 2), "warm_s": round(med["warm"], 2), "mb": round(med["mb"], 2),
                      "cold_runs": [round(r["cold"], 2) for r in runs]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
