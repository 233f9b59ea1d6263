"""Concurrent use under stress: dashboard sessions in threads, loads and scans in another process.

    python benchmarks/stress.py [--seconds 60] [--threads 20] [--series 12] [--out benchmarks/results/stress.md]

``--threads`` sessions (threads of this process, like Streamlit sessions) read what the pages read
(current levels, stored scores, alert episodes, coverage) and save threshold changes (with a reason and the
re-levelled results and episodes) and episode acknowledgements, while a separate process loads a file with
changed values (revisions) and runs a scan (one worker) in a loop, all for ``--seconds``. Then
every saved settings id, every acknowledgement and every load (with its revisions and values) is
looked up in the database. Reports operations and errors by kind, lost writes and p50/p95
latencies. ``tests/test_stress.py`` runs it at a small size; timings are for reading, not asserting.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from indicators.catalogue import load_catalogue  # noqa: E402
from indicators.loaders import load_files  # noqa: E402
from indicators.store import Store, episodes, observations, results  # noqa: E402
from monitoring.pipeline import levelling  # noqa: E402
from monitoring.pipeline.scan import current_results, scan  # noqa: E402
from monitoring.settings import MonitorSettings  # noqa: E402
from monitoring.statistics.levels import LevelSettings  # noqa: E402

TODAY = pd.Timestamp("2026-11-26")
READS = {"read_results": 30, "read_scores": 10, "alerts": 20, "coverage": 20}
WRITES = {"save_settings": 8, "acknowledge": 12}
GEOS = ("AT", "BE", "CH", "DE", "FR", "IT", "NL", "SE", "SI", "HR", "HU", "DK", "NO", "FI", "LU", "PL")


def series_csv(path: Path, n_series: int, shift: int) -> Path:
    """``n_series`` monthly asylum series 2017-01..2026-09 with a spike; ``shift`` changes the last three
    months of every series, so each new shift revises 3 values per series."""
    months = pd.period_range("2017-01", "2026-09", freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 3) / 12)
    lines = ["indicator,geo,period,value,flag"]
    for s in range(n_series):
        geo = GEOS[s % len(GEOS)] + ("" if s < len(GEOS) else str(s // len(GEOS)))
        values = np.random.default_rng(s).poisson((50 + 40 * s) * season)
        for p, v in zip(months, values, strict=True):
            text = str(p)
            v = int(v * 2.5) if text == "2026-05" else int(v)
            v += shift if text >= "2026-07" else 0
            lines.append(f"asylum_applications,{geo},{text},{v},{'p' if text >= '2026-08' else ''}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _expected_values(path: Path) -> dict[str, float]:
    frame = pd.read_csv(path, dtype={"period": str})
    recent = frame[frame["period"] >= "2026-07"]
    return {f"{r.geo}/{r.period}": float(r.value) for r in recent.itertuples()}


def writer_loop(db: Path, folder: Path, seconds: float, n_series: int, out: Path) -> None:
    """The other process: load a revised file, scan, repeat (at least once) until the time is up."""
    catalogue = load_catalogue()
    store = Store(db)
    deadline = time.monotonic() + seconds
    done: dict = {"loads": [], "scans": [], "errors": [], "latency": {"load": [], "scan": []}}
    shift = 0
    while not done["scans"] or time.monotonic() < deadline:
        shift += 1
        path = series_csv(folder / f"load-{shift}.csv", n_series, shift)
        try:
            t0 = time.perf_counter()
            [report] = load_files(store, [path], catalogue=catalogue, today=TODAY.date(), who="cli-load")
            done["latency"]["load"].append(time.perf_counter() - t0)
            done["loads"].append({"load_id": report.load_id, "file": str(path), "new": report.new,
                                  "revised": report.revised, "values": _expected_values(path)})
            t0 = time.perf_counter()
            run = scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1, who="cli-scan")
            done["latency"]["scan"].append(time.perf_counter() - t0)
            done["scans"].append(run.run_id)
        except Exception as exc:  # every failure is counted, none stops the run
            done["errors"].append(f"{type(exc).__name__}: {exc}")
    out.write_text(json.dumps(done), encoding="utf-8")


@dataclass
class Sessions:
    """What the dashboard sessions did: latencies and errors by kind, and every write they saved."""

    latency: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    settings: list[tuple[int, str]] = field(default_factory=list)
    acks: list[tuple[int, str, str]] = field(default_factory=list)  # episode id, status, comment
    lock: threading.Lock = field(default_factory=threading.Lock)


def session(store: Store, catalogue, deadline: float, number: int, keys: list, done: Sessions) -> None:
    """One dashboard session: mostly reads, sometimes a threshold change or an acknowledgement."""
    rng = random.Random(number)
    kinds, weights = list(READS) + list(WRITES), list(READS.values()) + list(WRITES.values())
    n = 0
    while time.monotonic() < deadline:
        n += 1
        kind = rng.choices(kinds, weights)[0]
        t0 = time.perf_counter()
        try:
            if kind == "read_results":
                current_results(store)
            elif kind == "read_scores":
                results.read_scores(store)
            elif kind == "alerts":
                episodes.read_episodes(store)
            elif kind == "coverage":
                observations.coverage(store)
            elif kind == "save_settings":
                settings = MonitorSettings(levels=LevelSettings(watch_alpha=rng.choice([0.02, 0.05, 0.1])))
                reason = f"session {number} change {n}: «tighter» \"watch\""
                saved = results.save_settings(store, settings.to_json(), who=f"session-{number}", reason=reason)
                levelling.start(store, catalogue, today=TODAY)  # as the dashboard does: the levels follow behind
                with done.lock:
                    done.settings.append((saved, reason))
            else:
                key = int(rng.choice(keys))
                status = rng.choice(["acknowledged", "dismissed", "open"])
                comment = f"session {number} ack {n} — ë"
                episodes.set_episode_status(store, key, status=status, who=f"session-{number}", comment=comment)
                with done.lock:
                    done.acks.append((key, status, comment))
        except Exception as exc:  # every failure is counted, none stops the session
            with done.lock:
                done.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        with done.lock:
            done.latency[kind].append(time.perf_counter() - t0)


def lost_writes(store: Store, done: Sessions, loaded: list[dict]) -> dict[str, int]:
    """Every saved change looked up in the database: how many of each kind are missing."""
    log = results.settings_log(store)
    saved = set(zip(log["id"].astype(int), log["reason"], strict=True))
    actions = episodes.episode_actions(store)
    acted = set(zip(actions["episode_id"].astype(int), actions["action"], actions["comment"], strict=True))
    stored = episodes.read_episodes(store).set_index("id")
    # a scan reopens an acknowledged episode that worsened: its action 'reopened' leaves it 'open'
    last_action = actions.groupby("episode_id")["action"].last().replace({"reopened": "open"})
    inconsistent = int((stored.loc[last_action.index, "status"] != last_action).sum())
    loads = observations.loads(store).set_index("id")
    revisions = observations.revisions(store)
    per_load = revisions.groupby("replaced_by_load").size()
    current = observations.observations(store)
    current = dict(zip(current["geo"] + "/" + current["period"], current["value"], strict=True))
    lost_loads = 0
    for entry in loaded:
        ok = entry["load_id"] in loads.index and loads.at[entry["load_id"], "file"] == entry["file"]
        ok = ok and int(per_load.get(entry["load_id"], 0)) == entry["revised"]
        lost_loads += not ok
    last_values = loaded[-1]["values"] if loaded else {}
    return {
        "settings": sum((sid, reason) not in saved for sid, reason in done.settings),
        "acknowledgements": sum((key, status, comment) not in acted for key, status, comment in done.acks),
        "episode status not the last action": inconsistent,
        "loads (with their revisions)": lost_loads,
        "values of the last load": sum(current.get(k) != v for k, v in last_values.items()),
    }


def _ms(values: list[float], q: float) -> float:
    return float(np.quantile(values, q) * 1000) if values else float("nan")


def run(seconds: float = 60, threads: int = 20, n_series: int = 12, folder: Path | None = None) -> dict:
    """Set up a database, run the sessions and the loading/scanning process, check every write."""
    folder = Path(folder or tempfile.mkdtemp(prefix="stress-"))
    catalogue = load_catalogue()
    store = Store(folder / "monitor.duckdb")
    load_files(store, [series_csv(folder / "load-0.csv", n_series, 0)], catalogue=catalogue, today=TODAY.date())
    scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1)
    keys = episodes.read_episodes(store)["id"].tolist()
    out = folder / "writer.json"
    writer = subprocess.Popen([sys.executable, __file__, "--writer", str(store.path), str(folder), str(seconds),
                               str(n_series), str(out)])
    done = Sessions()
    deadline = time.monotonic() + seconds
    pool = [threading.Thread(target=session, args=(store, catalogue, deadline, i, keys, done)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    writer.wait(timeout=seconds + 600)
    process = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {
        "loads": [], "scans": [], "errors": [f"writer process exited with {writer.returncode}"],
        "latency": {"load": [], "scan": []}}
    latency = {**done.latency, **process["latency"]}
    levelling.wait(store, 600)  # the sessions' last save is re-levelled behind it
    levelling.catch_up(store, catalogue, today=TODAY)  # the writer's last scan levelled at its own settings
    return {
        "levels_at_saved": levelling.pending(store) is None,
        "seconds": seconds, "threads": threads, "series": n_series,
        "operations": {k: len(v) for k, v in sorted(latency.items())},
        "errors": done.errors + process["errors"],
        "lost": lost_writes(store, done, process["loads"]),
        "saved": {"settings": len(done.settings), "acknowledgements": len(done.acks),
                  "loads": len(process["loads"]), "revisions": sum(x["revised"] for x in process["loads"]),
                  "scans": len(process["scans"])},
        "latency_ms": {k: (_ms(v, 0.5), _ms(v, 0.95), _ms(v, 1.0)) for k, v in sorted(latency.items())},
        "reads_ms": _ms([x for k in READS for x in latency.get(k, [])], 0.5),
        "reads_p95_ms": _ms([x for k in READS for x in latency.get(k, [])], 0.95),
        "writes_ms": _ms([x for k in WRITES for x in latency.get(k, [])], 0.5),
        "writes_p95_ms": _ms([x for k in WRITES for x in latency.get(k, [])], 0.95),
        "db_mb": store.path.stat().st_size / 2**20,
    }


def report(result: dict) -> str:
    lines = [
        "# Stress: dashboard sessions and a loading/scanning process on one database",
        "",
        f"{time.strftime('%Y-%m-%d')}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}. {result['threads']} session threads for {result['seconds']:g} s; "
        f"a separate process loading a revised file of {result['series']} series and scanning (1 worker) in a "
        f"loop. Database {result['db_mb']:.1f} MB at the end. `python benchmarks/stress.py "
        f"--seconds {result['seconds']:g} --threads {result['threads']} --series {result['series']}`",
        "",
        "| operation | by | done | p50 ms | p95 ms | max ms |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for kind, (p50, p95, top) in result["latency_ms"].items():
        who = "process" if kind in ("load", "scan") else "sessions"
        lines.append(f"| {kind} | {who} | {result['operations'][kind]} | {p50:.0f} | {p95:.0f} | {top:.0f} |")
    lines += [
        "",
        f"Reads (sessions): p50 {result['reads_ms']:.0f} ms, p95 {result['reads_p95_ms']:.0f} ms. "
        f"Writes (sessions): p50 {result['writes_ms']:.0f} ms, p95 {result['writes_p95_ms']:.0f} ms.",
        "",
        f"**Errors: {len(result['errors'])}.** "
        + (" ".join(result["errors"][:5]) if result["errors"] else ""),
        "",
        f"**Lost writes: {sum(result['lost'].values())}** — checked every one: "
        f"{result['saved']['settings']} saved settings, {result['saved']['acknowledgements']} acknowledgements, "
        f"{result['saved']['loads']} loads with {result['saved']['revisions']} revisions "
        f"({result['saved']['scans']} scans). By check: "
        + ", ".join(f"{k} {v}" for k, v in result["lost"].items()) + ".",
        "",
        f"Stored levels at the last saved settings once the re-levelling behind the saves is done: "
        f"{'yes' if result['levels_at_saved'] else '**no**'}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--writer"]:
        db, folder, seconds, n_series, out = argv[1:]
        writer_loop(Path(db), Path(folder), float(seconds), int(n_series), Path(out))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--threads", type=int, default=20)
    parser.add_argument("--series", type=int, default=12)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "stress.md")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.threads, args.series)
    text = report(result)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 1 if result["errors"] or sum(result["lost"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
