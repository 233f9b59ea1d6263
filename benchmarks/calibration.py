"""Calibration of the alert rules: what each rule buys in detection and costs in false alarms.

    python -m benchmarks.calibration [--replicates 4] [--seed 2013]

On the detection benchmark's simulation (benchmarks/simulate.py) and R's farringtonFlexible alarms
on the same series, evaluates combinations of: the GLM's single-month alert alpha, the
"two consecutive watches" rule, and a NB CUSUM raising alert at h. Also computes an oracle
ceiling: a test that knows the true in-control mean and sums the 3 months after a shift's onset,
at a 1% false-alarm rate. Writes benchmarks/results/calibration.md.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402

from benchmarks.detection import SHIFT_WINDOW, run_r  # noqa: E402
from benchmarks.simulate import MEANS, PERIODS, PHIS, SCORE_FROM, simulate  # noqa: E402
from monitoring.baselines import GLMSettings, glm_baseline, glm_p_value  # noqa: E402
from monitoring.detectors import nb_cusum  # noqa: E402

OUT = Path(__file__).parent / "results" / "calibration.md"


def channel_frames(sims: pd.DataFrame) -> pd.DataFrame:
    """Per series and month (from a year before scoring): GLM p-value, low-count guard, CUSUM."""
    start = PERIODS[SCORE_FROM - 12]
    rows = []
    for sid, d in sims.groupby("series_id", sort=False):
        s = pd.Series(d["count"].to_numpy(), index=PERIODS)
        glm = glm_baseline(s, GLMSettings(), direction="up", score_from=start)
        cusum = {h: nb_cusum(s, glm["expected"], glm["dispersion"], h=h)["statistic"] for h in (5.0, 8.0)}
        rows.append(pd.DataFrame({
            "series_id": sid, "t": np.searchsorted(PERIODS, glm.index) + 1,
            "p": glm_p_value(glm["observed"], glm["expected"], glm["dispersion"]).to_numpy(),
            "guard": glm["recent_sum"].to_numpy() >= GLMSettings().low_count,
            "cusum5": cusum[5.0].to_numpy() >= 5.0, "cusum8": cusum[8.0].to_numpy() >= 8.0}))
    return pd.concat(rows, ignore_index=True)


def rates(sims: pd.DataFrame, alarms: pd.DataFrame) -> dict:
    """FPR over in-control scored months and POD per event (spike: its month; shift: 3 months)."""
    meta = sims.drop_duplicates("series_id").set_index("series_id")
    m = alarms[alarms.t > SCORE_FROM].merge(meta[["onset", "kind", "event"]], left_on="series_id",
                                             right_index=True)
    onset = m["onset"] + 1
    in_control = m["t"] < onset
    window = np.where(m["kind"] == "spike", 1, SHIFT_WINDOW)
    hit = (m["t"] >= onset) & (m["t"] < onset + window) & m["alarm"]
    per = pd.DataFrame({"series_id": m.series_id, "hit": hit}).groupby("series_id").hit.any()
    out = {"fpr": (in_control & m["alarm"]).sum() / in_control.sum()}
    for event, ids in meta.groupby("event").groups.items():
        out[event] = per.reindex(ids).fillna(False).mean()
    return out


def oracle_ceiling() -> pd.DataFrame:
    """POD of a x1.5 shift for a 3-month-sum test that knows the true mean, at 1% false alarms."""
    rows = []
    for mean in MEANS:
        for phi in PHIS:
            s = 3 * mean
            if phi <= 1:
                q = stats.poisson.ppf(0.99, s)
                pod = stats.poisson.sf(q, 1.5 * s)
            else:
                q = stats.nbinom.ppf(0.99, s / (phi - 1), 1 / phi)
                pod = stats.nbinom.sf(q, 1.5 * s / (phi - 1), 1 / phi)
            rows.append({"mean": mean, "phi": phi, "pod_x1.5": pod})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=4)
    parser.add_argument("--seed", type=int, default=2013)
    args = parser.parse_args(argv)
    sims = simulate(replicates=args.replicates, seed=args.seed)
    frames = channel_frames(sims)
    with tempfile.TemporaryDirectory() as tmp:
        r_alarms, _ = run_r(sims, Path(tmp))
    r = rates(sims, r_alarms)
    sid = frames.series_id.to_numpy()
    same = np.r_[False, sid[1:] == sid[:-1]]
    rows = []
    for a1 in (0.01, 0.008, 0.006):
        for persistence in (False, True):
            for h in (None, 5.0, 8.0):
                alarm = frames.p.to_numpy() <= a1
                if persistence:
                    watch = frames.p.to_numpy() <= 0.05
                    alarm |= watch & np.r_[False, watch[:-1]] & same
                if h is not None:
                    alarm |= frames[f"cusum{int(h)}"].to_numpy()
                alarm &= frames.guard.to_numpy()
                ours = rates(sims, frames[["series_id", "t"]].assign(alarm=alarm))
                rows.append({"alert alpha": a1, "two watches": persistence, "CUSUM alert at h": h or "-",
                             "FPR": ours["fpr"], **{e: ours[e] - r[e] for e in r if e != "fpr"}})
    table = pd.DataFrame(rows)
    events = [c for c in table.columns if c.startswith(("spike", "shift"))]
    lines = ["# Calibration of the alert rules", "",
             f"`python -m benchmarks.calibration --replicates {args.replicates} --seed {args.seed}`: "
             f"{sims.series_id.nunique()} simulated series; R farringtonFlexible (alpha 0.01) FPR "
             f"{100 * r['fpr']:.2f}%. Columns after FPR: detection gain over R in points.", "",
             "| alert alpha | two watches | CUSUM alert at h | FPR | " + " | ".join(events) + " |",
             "|---|---|---|---|" + "---|" * len(events)]
    for _, row in table.iterrows():
        lines.append(f"| {row['alert alpha']} | {'yes' if row['two watches'] else 'no'} | {row['CUSUM alert at h']} "
                     f"| {100 * row['FPR']:.2f}% | " + " | ".join(f"{100 * row[e]:+.1f}" for e in events) + " |")
    ceiling = oracle_ceiling()
    lines += ["", "## Ceiling: a test that knows the true mean", "",
              "Probability of detecting a x1.5 shift with the sum of the 3 months from its onset, at a 1% "
              "false-alarm rate (no estimation error; the best any rule could do):", "",
              "| mean per month | phi 1 | phi 2 | phi 5 |", "|---|---|---|---|"]
    for mean, g in ceiling.groupby("mean"):
        lines.append(f"| {mean} | " + " | ".join(f"{100 * v:.0f}%" for v in g["pod_x1.5"]) + " |")
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
