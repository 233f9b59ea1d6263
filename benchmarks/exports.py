"""Export speed: one chart as PNG (cold and warm), the full briefing deck and note for the demo data.

- **cold PNG**: a fresh Python process exports one chart; timed from the export call to its bytes,
  so it includes starting Chrome and kaleido's server (what the first download in a new dashboard
  process costs). Median of ``--cold`` processes.
- **warm PNG / SVG / PDF**: the same chart again in a process whose server is running (every later
  download). Median of ``--n`` exports.
- **deck**: ``build_deck`` for the whole demo database (all alerts and watches, one chart each) with
  the server warm; and the one-page note. Median of ``--repeat``.

Run ``python -m benchmarks.exports`` (about two minutes); the demo database is built in a temporary
folder (load + scan, not timed). Results go to ``benchmarks/results/exports.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent
RESULTS = HERE / "results"
TODAY = dt.date(2026, 11, 26)


def build_db(path: Path) -> None:
    """The full demo data, loaded and scanned."""
    from indicators.catalogue import load_catalogue
    from indicators.loaders import demo_files, load_files
    from indicators.store import open_store
    from monitoring.pipeline.scan import scan
    from monitoring.settings import load_settings

    store = open_store(path)
    catalogue = load_catalogue()
    load_files(store, demo_files(), catalogue=catalogue, today=TODAY)
    scan(store, catalogue, load_settings(), today=pd.Timestamp(TODAY), workers=1)


def briefing(db: Path, lang: str = "en"):
    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.briefing.contents import build_briefing
    from monitoring.settings import saved_settings

    store = open_store(db)
    return build_briefing(store, load_catalogue(), saved_settings(store), lang=lang, today=TODAY)


def one_chart(db: Path):
    """The first signal's chart and its export metadata."""
    from monitoring.briefing.exports import ChartMeta
    from monitoring.briefing.figures import series_figure

    b = briefing(db)
    s = b.signals[0]
    meta = ChartMeta(title=f"{s.title}, {s.period_label}", source=s.source, last_period=s.period_label,
                     exported=TODAY, synthetic=b.synthetic, lang="en")
    return series_figure(s.history, lang="en"), meta


def cold_once(db: Path) -> float:
    """In this (fresh) process: seconds for the first PNG export (Chrome start included)."""
    from monitoring.briefing.exports import figure_bytes

    fig, meta = one_chart(db)
    start = time.perf_counter()
    figure_bytes(fig, "png", meta)
    return time.perf_counter() - start


def median_of(fn, n: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def run(n: int, cold: int, repeat: int) -> dict:
    from monitoring.briefing.deck import build_deck
    from monitoring.briefing.exports import browser_path, figure_bytes
    from monitoring.briefing.note import note_bytes

    tmp = Path(tempfile.mkdtemp(prefix="bench-exports-"))
    db = tmp / "monitor.duckdb"
    build_db(db)
    cold_times = []
    for _ in range(cold):
        out = subprocess.run([sys.executable, "-m", "benchmarks.exports", "--cold-once", str(db)],
                             check=True, capture_output=True, text=True)
        cold_times.append(float(out.stdout.strip().splitlines()[-1]))
    fig, meta = one_chart(db)
    figure_bytes(fig, "png", meta)  # start the server: the warm figures below exclude it
    warm = {fmt: median_of(lambda f=fmt: figure_bytes(fig, f, meta), n) for fmt in ("png", "svg", "pdf")}
    b = briefing(db)
    deck = median_of(lambda: build_deck(b), repeat)
    deck_no_charts = median_of(lambda: build_deck(b, charts=False), repeat)
    note = median_of(lambda: note_bytes(b), repeat)
    brief = median_of(lambda: briefing(db), repeat)
    return {
        "date": dt.date.today().isoformat(), "python": platform.python_version(), "machine": platform.machine(),
        "browser": browser_path(), "n": n, "cold_runs": cold, "repeat": repeat,
        "signals": len(b.signals), "alerts": b.alerts, "watches": b.watches,
        "cold_png": (statistics.median(cold_times), cold_times),
        **{f"warm_{fmt}": value for fmt, value in warm.items()},
        "deck": deck, "deck_no_charts": deck_no_charts, "note": note, "briefing": brief,
    }


def report(r: dict) -> str:
    def s(key):
        median, times = r[key]
        return f"{median:.2f} s (min {min(times):.2f}, max {max(times):.2f}, n={len(times)})"

    return "\n".join([
        "# Export benchmark",
        "",
        f"Run: `python -m benchmarks.exports --n {r['n']} --cold {r['cold_runs']} --repeat {r['repeat']}`, "
        f"{r['date']}; Python {r['python']} on {r['machine']}; browser {r['browser']}.",
        f"Demo data (all indicators, scanned with the default settings): {r['signals']} signals in the "
        f"latest month ({r['alerts']} alerts, {r['watches']} watches).",
        "",
        "| what | median |",
        "|---|---|",
        f"| one chart as PNG, cold (new process: Chrome and kaleido server start) | {s('cold_png')} |",
        f"| one chart as PNG, warm (server running; 2200 x 1200 px) | {s('warm_png')} |",
        f"| one chart as SVG, warm | {s('warm_svg')} |",
        f"| one chart as PDF, warm | {s('warm_pdf')} |",
        f"| full deck, {r['signals']} chart slides (server warm) | {s('deck')} |",
        f"| full deck without charts | {s('deck_no_charts')} |",
        f"| one-page note (PDF) | {s('note')} |",
        f"| assembling the briefing from the store | {s('briefing')} |",
        "",
        "The deck's time is almost all chart rendering (one PNG per signal, about the warm PNG time each,",
        "the chart being smaller: 1640 x 900 px). The first export in a process pays the cold start once;",
        "the server is then reused for every later export.",
        "",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=15, help="warm exports per format (default 15)")
    parser.add_argument("--cold", type=int, default=5, help="cold exports, one process each (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="deck and note builds (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument("--cold-once", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cold_once:
        print(cold_once(args.cold_once))
        return 0
    r = run(args.n, args.cold, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "exports.md").write_text(report(r), encoding="utf-8")
    print(report(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
