"""Write latency against database size and concurrent writers (issue 14, "Scale").

    python benchmarks/writes.py [--series 1000] [--replicate 60] [--repeat 15] [--threads 1,5,20] [--skip-demo]

Every write copies the whole database file (``indicators/store/db.py``: copy, write, checkpoint,
fsync, ``os.replace``). This measures, on the demo database and on one with ``--series`` simulated
12-year monthly series loaded and scanned:

* a bare copy of the file (``shutil.copyfile`` + fsync): the floor copy-on-write puts under each write;
* acknowledging an alert (``actions.set_episode_status``, what the Alerts page calls), saving a
  threshold (``actions.save_settings(behind=True)``, as the Thresholds page: a journal write, the
  re-levelling started behind it; the time until its levels are written, and the re-levelling's
  computation alone, measured apart), and a
  1-row CSV load (``indicators.loaders.load_files``, what ``python -m indicators load`` runs);
* for each write, the share spent copying and fsyncing (timed inside ``db.write_copy``);
* acknowledgements from N threads at once (N dashboard sessions saving together);
* what the file holds: rows and blocks per table, and the free blocks.

Built databases are cached in the system temp folder (``gam-writes-bench``) and copied before each
run, so a second run skips the build (a 1,000-series scan takes about 3 minutes on 2 cores).
Writes benchmarks/results/writes.md. Timings on a shared machine are for reading, not asserting.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from indicators.catalogue import load_catalogue  # noqa: E402
from indicators.loaders import load_files  # noqa: E402
from indicators.store import Store, copy_database, db, observations, open_store, schema  # noqa: E402
from indicators.store import episodes as store_episodes  # noqa: E402
from monitoring.pipeline import actions, levelling  # noqa: E402
from monitoring.pipeline.scan import relevel  # noqa: E402
from monitoring.settings import LevelSettings, MonitorSettings, load_settings  # noqa: E402

TODAY = pd.Timestamp("2026-11-26")
CACHE = Path(tempfile.gettempdir()) / "gam-writes-bench"


# --- building (cached) ------------------------------------------------------------------------------


def _build_demo(path: Path) -> None:
    actions.first_start(open_store(path), load_catalogue(), load_settings(), today=TODAY)


def _build_simulated(path: Path, n: int) -> None:
    from benchmarks.scan import _simulated_csv
    from monitoring.pipeline.scan import scan

    catalogue = load_catalogue()
    csv = path.with_suffix(".csv")
    _simulated_csv(csv, n)
    store = open_store(path)
    load_files(store, [csv], catalogue=catalogue, today=TODAY.date())
    scan(store, catalogue, load_settings(), today=TODAY, workers=os.cpu_count() or 1)
    csv.unlink()


def _build_replicated(path: Path, source: Path, copies: int) -> None:
    """The scanned demo database with every series repeated ``copies`` times under new geo codes
    (``DE_1``, ``DE_2``, ...): observations, revisions, scores, results, impact, series state and
    episodes, so the file has the size and row counts of ``83 * copies`` scanned series without
    scanning them (a 5,000-series scan takes 20 minutes here). Its contents are not a realistic
    corpus; the write paths only need its size."""
    copy_database(source, path)
    store = open_store(path)  # at the current schema
    tables = ("observations", "revisions", "scores", "results", "impact", "series_state")
    with store.write(results=True) as con:
        for table in tables:
            con.execute(f"CREATE TEMP TABLE base_{table} AS SELECT * FROM {table}")  # noqa: S608
        con.execute("CREATE TEMP TABLE base_episodes AS SELECT * EXCLUDE (id) FROM episodes")
        names = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                           "table_name = 'episodes' AND column_name <> 'id' "
                                           "ORDER BY ordinal_position").fetchall()]
        for k in range(1, copies):
            for table in tables:
                cols = [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns WHERE "
                                                  "table_name = $t ORDER BY ordinal_position", {"t": table}).fetchall()]
                select = ", ".join(f"geo || '_{k}'" if c == "geo" else f'"{c}"' for c in cols)
                con.execute(f"INSERT INTO {table} SELECT {select} FROM base_{table}")  # noqa: S608
            select = ", ".join(f"geo || '_{k}'" if c == "geo" else f'"{c}"' for c in names)
            con.execute(f"INSERT INTO episodes (id, {', '.join(names)}) "  # noqa: S608
                        f"SELECT nextval('episode_ids'), {select} FROM base_episodes")
        for table in (*tables, "episodes"):
            con.execute(f"DROP TABLE base_{table}")  # noqa: S608


def cached(name: str, build) -> tuple[Path, float | None]:
    """The cached database ``name`` (built when missing) and the build time (None when reused)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}-v{schema.CURRENT_VERSION}.duckdb"  # a database of an older schema is rebuilt
    if path.exists():
        return path, None
    part = CACHE / f"{name}.building.duckdb"
    for stale in CACHE.glob(part.name + "*"):
        stale.unlink()
    t0 = time.perf_counter()
    build(part)
    elapsed = time.perf_counter() - t0
    db.forget_snapshots()
    copy_database(part, path)  # with its journal
    for leftover in CACHE.glob(part.name + "*"):
        leftover.unlink()
    part.unlink(missing_ok=True)
    return path, elapsed


# --- timing ---------------------------------------------------------------------------------------


class Parts:
    """Time spent inside ``db.write_copy`` copying the file and fsyncing, per write (this thread)."""

    def __init__(self):
        self.copy = 0.0
        self.fsync = 0.0

    def reset(self) -> None:
        self.copy = self.fsync = 0.0


PARTS = Parts()


@contextmanager
def instrumented():
    copy, fsync = db.shutil.copyfile, db._fsync

    def timed_copy(*a, **k):
        t0 = time.perf_counter()
        try:
            return copy(*a, **k)
        finally:
            PARTS.copy += time.perf_counter() - t0

    def timed_fsync(*a, **k):
        t0 = time.perf_counter()
        try:
            return fsync(*a, **k)
        finally:
            PARTS.fsync += time.perf_counter() - t0

    db.shutil = _Shim(timed_copy)
    db._fsync = timed_fsync
    try:
        yield
    finally:
        db.shutil = shutil
        db._fsync = fsync


class _Shim:
    """``shutil`` as ``db`` sees it, with a timed ``copyfile``."""

    def __init__(self, copyfile):
        self.copyfile = copyfile

    def __getattr__(self, name):
        return getattr(shutil, name)


def _stats(values: list[float]) -> dict[str, float]:
    arr = np.array(values) * 1000
    return {
        "p50": float(np.median(arr)),
        "p95": float(np.quantile(arr, 0.95)),
        "max": float(arr.max()),
        "n": len(values),
    }


def measure(fn, repeat: int) -> dict:
    """Run ``fn(i)`` ``repeat`` times; wall time and the copy / fsync parts, in ms."""
    wall, copy, fsync = [], [], []
    for i in range(repeat):
        PARTS.reset()
        t0 = time.perf_counter()
        fn(i)
        wall.append(time.perf_counter() - t0)
        copy.append(PARTS.copy)
        fsync.append(PARTS.fsync)
    out = _stats(wall)
    out["copy_p50"] = float(np.median(copy) * 1000)
    out["fsync_p50"] = float(np.median(fsync) * 1000)
    return out


def bare_copy(path: Path, repeat: int) -> dict:
    dst = path.with_name(path.name + ".barecopy")
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        shutil.copyfile(path, dst)
        fd = os.open(dst, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        times.append(time.perf_counter() - t0)
        dst.unlink()
    return _stats(times)


# --- what the file holds --------------------------------------------------------------------------


def holdings(store: Store, *, results: bool = False) -> tuple[list[dict], dict]:
    """Rows and blocks per table, and the file's block totals, of the data file (``results``: the results
    file) (a read on a snapshot; benchmark-only SQL)."""
    with store.read() as cur:
        catalog = cur.execute("SELECT current_database() || $s", {"s": db.RESULTS if results else ""}).fetchall()[0][0]
        size = cur.execute(
            "SELECT block_size, total_blocks, used_blocks, free_blocks FROM pragma_database_size() "
            "WHERE database_name = $c", {"c": catalog}
        ).fetchall()[0]
        tables = [
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = $c ORDER BY 1", {"c": catalog}
            ).fetchall()
        ]
        rows = []
        for t in tables:
            count = cur.execute(f'SELECT count(*) FROM {catalog}."{t}"').fetchall()[0][0]  # noqa: S608 (catalog names)
            blocks = cur.execute(
                "SELECT count(DISTINCT block_id) FROM pragma_storage_info($t) WHERE block_id >= 0",
                {"t": f"{catalog}.{t}"}
            ).fetchall()[0][0]
            rows.append({"table": t, "rows": int(count), "blocks": int(blocks)})
    block, total, used, free = size
    return rows, {"block_size": int(block), "total": int(total), "used": int(used), "free": int(free)}


# --- the writes -----------------------------------------------------------------------------------


def _one_row_csv(folder: Path, store: Store, i: int) -> Path:
    obs = observations.observations(store)
    row = obs.iloc[0]
    path = folder / f"one-row-{i}.csv"
    path.write_text(
        f"indicator,geo,period,value,flag\n{row['indicator']},{row['geo']},{row['period']},{1000 + i},\n",
        encoding="utf-8",
    )
    return path


def bench_db(label: str, source: Path, repeat: int, threads: list[int], work: Path, save_repeat: int) -> dict:
    path = work / f"{label}.duckdb"
    copy_database(source, path)
    db.forget_snapshots()
    store = Store(path)
    catalogue = load_catalogue()
    eps = store_episodes.read_episodes(store)
    ids = eps["id"].astype(int).tolist()
    result = {"label": label, "mb": path.stat().st_size / 2**20, "results_mb": store.results_path.stat().st_size / 2**20,
              "episodes": len(ids)}
    result["series"] = len(observations.coverage(store))
    result["copy"] = bare_copy(path, repeat)

    def ack(i):
        actions.set_episode_status(
            store,
            ids[i % len(ids)],
            "acknowledged" if i % 2 == 0 else "open",
            who="bench",
            comment=f"benchmark {i}",
        )

    alphas = [0.02, 0.05, 0.1]

    def settings_of(i):
        return MonitorSettings(levels=LevelSettings(watch_alpha=alphas[i % len(alphas)]))

    def saves(repeat: int) -> tuple[dict, dict]:
        """The save as the Thresholds page makes it (a journal write, the re-levelling started behind it),
        and the time from the save until its levels are written (``levelling.wait``)."""
        wall, copy, fsync, applied = [], [], [], []
        for i in range(repeat):
            PARTS.reset()
            t0 = time.perf_counter()
            actions.save_settings(store, catalogue, settings_of(i), who="bench", reason=f"benchmark {i}",
                                  today=TODAY, behind=True)
            wall.append(time.perf_counter() - t0)
            copy.append(PARTS.copy)
            fsync.append(PARTS.fsync)
            levelling.wait(store)
            applied.append(time.perf_counter() - t0)
            assert levelling.pending(store) is None
        out = _stats(wall)
        out["copy_p50"] = float(np.median(copy) * 1000)
        out["fsync_p50"] = float(np.median(fsync) * 1000)
        return out, _stats(applied)

    def relevel_only(i):
        relevel(store, catalogue, settings_of(i), today=TODAY)

    csvs = [_one_row_csv(work, store, i) for i in range(repeat)]

    def load(i):
        load_files(store, [csvs[i]], catalogue=catalogue, today=TODAY.date())

    with instrumented():
        result["ack"] = measure(ack, repeat)
        result["save"], result["applied"] = saves(save_repeat)
        result["relevel"] = measure(relevel_only, max(3, save_repeat // 3))
        result["load"] = measure(load, repeat)
        result["concurrent"] = {
            n: concurrent_acks(store, ids, n, per_thread=max(2, 40 // n)) for n in threads
        }
    result["mb_after"] = path.stat().st_size / 2**20
    result["results_mb_after"] = store.results_path.stat().st_size / 2**20
    result["tables"], result["blocks"] = holdings(store)
    result["results_tables"], result["results_blocks"] = holdings(store, results=True)
    db.forget_snapshots()
    return result


def concurrent_acks(store: Store, ids: list[int], n: int, per_thread: int) -> dict:
    """n threads, each saving ``per_thread`` acknowledgements back to back (n sessions saving at once)."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(n)

    def worker(k: int) -> None:
        start.wait()
        for j in range(per_thread):
            t0 = time.perf_counter()
            try:
                actions.set_episode_status(
                    store,
                    ids[(k * per_thread + j) % len(ids)],
                    "acknowledged",
                    who=f"thread-{k}",
                    comment=f"concurrent {k}/{j}",
                )
            except Exception as exc:  # counted, not raised
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - t0)

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(n)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - t0
    out = (
        _stats(latencies)
        if latencies
        else {"p50": float("nan"), "p95": float("nan"), "max": float("nan"), "n": 0}
    )
    out["errors"] = len(errors)
    out["per_s"] = len(latencies) / wall
    return out


# --- report ---------------------------------------------------------------------------------------


def report(rows: list[dict], args, builds: dict, load_before: str, load_after: str) -> str:
    lines = [
        "# Write latency against database size (issue 14)",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; `python benchmarks/writes.py --series {args.series} --replicate {args.replicate} "
        f"--save-repeat {args.save_repeat} --repeat {args.repeat} --threads {','.join(map(str, args.threads))}`. Load average before: {load_before}; "
        f"after: {load_after} (other jobs share the machine).",
        "",
        "Milliseconds. p50 / p95 over the repeats (one thread). `copy` and `fsync` are the medians of the time "
        "spent inside `db.write_copy` copying the live file and fsyncing (the temporary file and the folder).",
        "",
        "| database | MB (data + results) | bare copy + fsync of the data file p50 / p95 | acknowledge p50 / p95 (copy, fsync) | save threshold "
        "p50 / p95 (copy, fsync) | levels applied after the save p50 / p95 | of which re-level (no write) p50 "
        "| 1-row load p50 / p95 (copy, fsync) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:

        def cell(k, r=r):
            m = r[k]
            return f"{m['p50']:.0f} / {m['p95']:.0f} ({m['copy_p50']:.0f}, {m['fsync_p50']:.0f})"

        lines.append(
            f"| {r['label']} ({r['series']} series, {r['episodes']} episodes) | {r['mb']:.1f} + {r['results_mb']:.1f} | "
            f"{r['copy']['p50']:.0f} / {r['copy']['p95']:.0f} | {cell('ack')} | {cell('save')} | "
            f"{r['applied']['p50']:.0f} / {r['applied']['p95']:.0f} | {r['relevel']['p50']:.0f} | {cell('load')} |"
        )
    lines += ["", "Copy-on-write share of each write (median copy + fsync time over median wall time):", ""]
    for r in rows:
        share = {k: (r[k]["copy_p50"] + r[k]["fsync_p50"]) / r[k]["p50"] for k in ("ack", "save", "load")}
        lines.append(
            f"- {r['label']}: acknowledge {share['ack']:.0%}, save threshold {share['save']:.0%}, "
            f"1-row load {share['load']:.0%}; the bare copy alone is "
            f"{r['copy']['p50'] / r['ack']['p50']:.0%} of an acknowledgement."
        )
    lines += [
        "",
        "## Acknowledgements from N threads at once",
        "",
        "Each thread saves acknowledgements back to back (no reads in between): the writers queue for the "
        "file lock, so a write waits for the ones ahead of it.",
        "",
        "| database | threads | writes | p50 ms | p95 ms | max ms | writes/s | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        for n, c in r["concurrent"].items():
            lines.append(
                f"| {r['label']} | {n} | {c['n']} | {c['p50']:.0f} | {c['p95']:.0f} | {c['max']:.0f} | "
                f"{c['per_s']:.1f} | {c['errors']} |"
            )
    lines += ["", "## What the files hold", ""]
    for r, part, tables, b, size in [(r, part, r[f"{key}tables"], r[f"{key}blocks"], r[f"{key}mb_after"])
                                      for r in rows for part, key in (("data file", ""), ("results file", "results_"))]:
        mb = b["block_size"] / 2**20
        lines += [
            f"### {r['label']}, {part}: {size:.1f} MB after the writes above",
            "",
            f"{b['total']} blocks of {b['block_size'] // 1024} KiB: {b['used']} used, {b['free']} free "
            f"({b['free'] * mb:.1f} MB free space copied by every write of this file).",
            "",
            "| table | rows | blocks | ≈ MB |",
            "|---|---:|---:|---:|",
        ]
        for t in sorted(tables, key=lambda t: -t["blocks"]):
            lines.append(f"| {t['table']} | {t['rows']} | {t['blocks']} | {t['blocks'] * mb:.1f} |")
        rest = b["used"] - sum(t["blocks"] for t in tables)
        lines += [
            f"| *rest of the used blocks: primary-key indexes, catalog, metadata* | | {rest} | "
            f"{rest * mb:.1f} |",
            "",
            "Blocks per table count the distinct data blocks in "
            "`pragma_storage_info` (a block shared by two tables counts for both); indexes are not listed "
            "there, so they fall in the rest.",
            "",
        ]
    if builds:
        lines += [
            "Build times (cached afterwards): " + ", ".join(f"{k} {v:.0f} s" for k, v in builds.items()),
            "",
        ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--threads", type=lambda s: [int(x) for x in s.split(",")], default=[1, 5, 20])
    parser.add_argument("--skip-demo", action="store_true")
    parser.add_argument("--replicate", type=int, default=0, help="also the demo's series repeated N times")
    parser.add_argument("--save-repeat", type=int, default=3, help="threshold saves on the replicated database")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "writes.md")
    args = parser.parse_args(argv)
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    sources, builds = [], {}
    if not args.skip_demo:
        path, took = cached("demo", _build_demo)
        sources.append(("demo", path))
        if took:
            builds["demo"] = took
    if args.series:
        path, took = cached(f"sim-{args.series}", lambda p: _build_simulated(p, args.series))
        sources.append((f"{args.series} simulated", path))
        if took:
            builds[f"{args.series} simulated"] = took
    if args.replicate:
        demo, _ = cached("demo", _build_demo)
        path, took = cached(f"rep-{args.replicate}", lambda p: _build_replicated(p, demo, args.replicate))
        label = f"{83 * args.replicate} replicated"
        sources.append((label, path))
        if took:
            builds[label] = took
    if args.build_only:
        print(builds, sources)
        return 0
    rows = []
    with tempfile.TemporaryDirectory(prefix="writes-", dir=CACHE) as tmp:
        for label, source in sources:
            big = "replicated" in label
            rows.append(bench_db(label.replace(" ", "-"), source, args.repeat, args.threads, Path(tmp),
                                 args.save_repeat if big else args.repeat))
            print(rows[-1], flush=True)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text = report(rows, args, builds, load_before, load_after)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
