"""Dashboard speed on the demo database (a benchmark, not a test).

1. Request to rendered overview: a new browser session opens the overview of a running
   ``streamlit run dashboard.py`` (after its first start) until the alert table and the tiles are
   drawn and the script has finished. Target: under 2 s.
2. Server time of a threshold change on the Thresholds page: one script run after moving the alert
   alpha (AppTest drives the page in-process, so this is the server's time, without the browser).
   Target: under 300 ms.

    python benchmarks/dashboard.py [--db PATH] [-n 9] [--out benchmarks/results/dashboard.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TODAY = "2026-11-26"


def ensure_demo(db: Path) -> float:
    """Build the demo database as the first start does; returns the seconds it took (0 if it existed)."""
    import pandas as pd

    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.pipeline import actions
    from monitoring.settings import load_settings

    store = open_store(db)
    if not actions.needs_first_start(store):
        return 0.0
    started = time.perf_counter()
    actions.first_start(store, load_catalogue(), load_settings(), today=pd.Timestamp(TODAY))
    return time.perf_counter() - started


def overview_times(db: Path, n: int) -> tuple[float, list[float], list[float]]:
    """Seconds to a drawn overview: the first request after the server starts, then n requests from
    new browsers (empty HTTP cache), then n from a returning browser (a reload: a new session, cached
    static files)."""
    from tools.browser import browser_page, streamlit_server

    drawn = (
        "() => !!document.querySelector('[data-testid=\"stDataFrame\"]')"
        " && document.querySelectorAll('[data-testid=\"stMetricValue\"]').length >= 6"
        " && !document.querySelector('[data-testid=\"stStatusWidget\"] button')"
    )
    times = []
    with streamlit_server(db, env={"MONITOR_TODAY": TODAY}) as url, browser_page() as page:
        browser = page.context.browser
        for _ in range(n + 1):
            tab = browser.new_page(viewport={"width": 1440, "height": 900})  # a new context: a new session
            started = time.perf_counter()
            tab.goto(url)
            tab.wait_for_function(drawn, timeout=120_000, polling=25)
            times.append(time.perf_counter() - started)
            tab.close()
        page.goto(url)
        page.wait_for_function(drawn, timeout=120_000, polling=25)
        returning = []
        for _ in range(n):
            started = time.perf_counter()
            page.reload()
            page.wait_for_function(drawn, timeout=120_000, polling=25)
            returning.append(time.perf_counter() - started)
    return times[0], times[1:], returning


def threshold_times(db: Path, n: int) -> tuple[list[float], list[float], list[float]]:
    """Seconds per script run after moving the alert alpha, of the re-count alone, and of an overview run."""
    os.environ.update(MONITOR_DB=str(db), MONITOR_TODAY=TODAY)
    import pandas as pd
    from streamlit.testing.v1 import AppTest

    from indicators.catalogue import load_catalogue
    from indicators.store import open_store
    from monitoring.pipeline import tuning
    from monitoring.settings import saved_settings

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    overview = []
    for _ in range(n):
        started = time.perf_counter()
        at.run()
        overview.append(time.perf_counter() - started)
    at.switch_page("app_pages/thresholds.py").run()
    values = [a for a in tuning.ALPHAS if a <= 0.05]
    runs = []
    for i in range(n):
        slider = at.select_slider(key="th___all___alert_alpha")
        started = time.perf_counter()
        # Each value is new to the cache of counts the first time round: the worst case.
        slider.set_value(values[i % len(values)] if i < len(values) else values[-1 - i % len(values)]).run()
        runs.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    store, catalogue, today = open_store(db), load_catalogue(), pd.Timestamp(TODAY)
    stored = tuning.stored_scores(store, today)
    saved = saved_settings(store)
    counts = []
    for i in range(n):
        candidate = tuning.with_values(
            saved, None, {"alert_alpha": values[i % len(values)], "watch_alpha": 0.05}
        )
        started = time.perf_counter()
        tuning.counts(stored, catalogue, candidate, today)
        counts.append(time.perf_counter() - started)
    return runs, counts, overview


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=Path("/tmp/dash/bench.duckdb"))
    parser.add_argument("-n", type=int, default=9)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "dashboard.md")
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    first_start = ensure_demo(args.db)
    load = os.getloadavg()[0]
    cold, warm, returning = overview_times(args.db.resolve(), args.n)
    runs, counts, overview = threshold_times(args.db.resolve(), args.n)
    lines = [
        "# Dashboard benchmark",
        "",
        f"`python benchmarks/dashboard.py -n {args.n}` on the demo database; {platform.node()}, "
        f"{os.cpu_count()} cores (load average {load:.1f} at the start), Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        "| measure | median | n | all runs | target |",
        "|---|---|---|---|---|",
        f"| request to rendered overview, returning browser (reload: new session, cached files) | "
        f"{ms(returning)} | "
        f"{len(returning)} | {', '.join(f'{v:.2f}' for v in returning)} s | < 2 s |",
        f"| request to rendered overview, new browser (empty HTTP cache) | {ms(warm)} | {len(warm)} | "
        f"{', '.join(f'{v:.2f}' for v in warm)} s | |",
        f"| first request after the server starts (imports, cold caches) | {cold * 1000:.0f} ms | 1 | | |",
        f"| overview: server time of one script run (AppTest, warm caches) | {ms(overview)} | {len(overview)} | "
        f"{', '.join(f'{v * 1000:.0f}' for v in overview)} ms | |",
        f"| threshold change on the Thresholds page, server time of the rerun | {ms(runs)} | {len(runs)} | "
        f"{', '.join(f'{v * 1000:.0f}' for v in runs)} ms | < 300 ms |",
        f"| of which: re-thresholding the stored scores (12 months, every series) | {ms(counts)} | "
        f"{len(counts)} | "
        f"{', '.join(f'{v * 1000:.0f}' for v in counts)} ms | |",
    ]
    if first_start:
        lines.append(f"| first start: demo load and full scan (once) | {first_start:.1f} s | 1 | | |")
    lines += [
        "",
        "Request to overview: from `page.goto` until the alert table and the six tile metrics are drawn "
        "and the script has stopped (polled every 25 ms). Threshold change: `AppTest` moves the alert "
        "alpha slider and reruns the page in-process; each value is counted once and then cached per "
        "database version.",
    ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
