"""Scoring the detection benchmark: false alarms and detections per series, the oracle's ceiling,
the summary tables and the written report (``benchmarks/detection.py`` runs the methods)."""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from benchmarks.simulate import PERIODS, SCORE_FROM

ALPHA = 0.01
SHIFT_WINDOW = 3  # a shift counts as detected within this many months from its onset


# --------------------------------------------------------------------------------- scoring


def evaluate(sims: pd.DataFrame, alarms: pd.DataFrame) -> pd.DataFrame:
    """Per series: in-control months scored, false alarms among them, and whether the event was detected."""
    meta = sims.drop_duplicates("series_id").set_index("series_id")
    merged = alarms.merge(meta[["onset", "kind"]], left_on="series_id", right_index=True)
    onset_t = merged["onset"] + 1
    in_control = merged["t"] < onset_t
    window = np.where(merged["kind"] == "spike", 1, SHIFT_WINDOW)
    in_window = (merged["t"] >= onset_t) & (merged["t"] < onset_t + window)
    per = pd.DataFrame({
        "series_id": merged["series_id"],
        "in_control": in_control,
        "false_alarm": in_control & merged["alarm"],
        "hit": in_window & merged["alarm"],
    }).groupby("series_id").agg(in_control=("in_control", "sum"), false_alarms=("false_alarm", "sum"),
                                detected=("hit", "any"))
    return meta.drop(columns=["period", "t", "count"]).join(per)


def _nb_sf(q: np.ndarray, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """P(Y >= q) for Y ~ NB(mean mu, variance phi mu), Poisson when phi = 1."""
    from scipy import stats

    return np.where(phi > 1, stats.nbinom.sf(q - 1, mu / np.maximum(phi - 1, 1e-12), 1 / phi),
                    stats.poisson.sf(q - 1, mu))


def _nb_q(level: float, mu: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """The smallest count q with P(Y >= q) <= 1 - level."""
    from scipy import stats

    return np.where(phi > 1, stats.nbinom.ppf(level, mu / np.maximum(phi - 1, 1e-12), 1 / phi),
                    stats.poisson.ppf(level, mu)) + 1


def oracle(per: pd.DataFrame, fpr: float = ALPHA) -> np.ndarray:
    """Probability that a test knowing the true in-control mean detects each series' event at ``fpr``.

    Spike: the one-month count against its exact in-control law (NB(mu_t, phi)); shift: the sum of
    the 3 months from the onset against NB(sum mu, phi) (the most powerful tests for these events;
    no estimation error, no count guard). Averaged over series it is the ceiling of any detector.
    """
    from scipy import stats

    from benchmarks.simulate import SEASON, TREND, Scenario, mean_curve

    per = per.reset_index(drop=True)  # series ids repeat across seeds
    out = np.full(len(per), np.nan)
    for (mean, phi, trend, seasonal), g in per.groupby(["mean", "phi", "trend", "seasonal"]):
        mu = mean_curve(Scenario("o", mean, phi, TREND if trend else 0.0, SEASON if seasonal else (0.0, 0.0)))
        onset = g["onset"].to_numpy()
        phis = np.full(len(g), phi)
        spike = (g["kind"] == "spike").to_numpy()
        m1 = mu[onset]
        q1 = _nb_q(1 - fpr, m1, phis)
        extra = g["factor"].to_numpy() * np.sqrt(phi * m1)
        j = np.arange(0, int(np.max(extra) * 3 + 50))[:, None]
        spike_pod = (stats.poisson.pmf(j, extra[None, :]) * _nb_sf(q1[None, :] - j, m1[None, :], phis[None, :])
                     ).sum(axis=0)
        m3 = mu[onset] + mu[np.minimum(onset + 1, len(mu) - 1)] + mu[np.minimum(onset + 2, len(mu) - 1)]
        q3 = _nb_q(1 - fpr, m3, phis)
        shift_pod = _nb_sf(q3, g["factor"].to_numpy() * m3, phis)
        out[g.index.to_numpy()] = np.where(spike, spike_pod, shift_pod)
    return out


def headline(per: pd.DataFrame, methods: tuple[str, ...]) -> dict[str, dict[str, float]]:
    """FPR, POD spike k >= 5 and POD shift x1.5+ (3 months) of each method (and 'oracle', if a column)."""
    spikes = (per["kind"] == "spike") & (per["factor"] >= 5)
    shifts = (per["kind"] == "shift") & (per["factor"] >= 1.5)
    out = {m: {"fpr": per[f"false_alarms_{m}"].sum() / per["in_control"].sum(),
               "spike": per.loc[spikes, f"detected_{m}"].mean(),
               "shift": per.loc[shifts, f"detected_{m}"].mean()} for m in methods}
    if "oracle" in per:
        out["oracle"] = {"fpr": ALPHA, "spike": per.loc[spikes, "oracle"].mean(),
                         "shift": per.loc[shifts, "oracle"].mean()}
    return out


def summarise(per: pd.DataFrame, by: list[str], methods: tuple[str, ...]) -> pd.DataFrame:
    """FPR and POD of each method, grouped."""
    g = per.groupby(by, sort=False)
    out = pd.DataFrame({"series": g.size()})
    for method in methods:
        out[f"fpr_{method}"] = g[f"false_alarms_{method}"].sum() / g["in_control"].sum()
        out[f"pod_{method}"] = g[f"detected_{method}"].mean()
    if "oracle" in per:
        out["pod_oracle"] = g["oracle"].mean()
    out["pod_gain"] = out["pod_ours"] - out["pod_r"]
    return out.reset_index()


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _pct2(x: float) -> str:
    return f"{100 * x:.2f}%"


def _table(frame: pd.DataFrame, first: list[str], methods: tuple[str, ...]) -> str:
    rates = [f"{k}_{m}" for k in ("fpr", "pod") for m in methods]
    rates += ["pod_oracle"] if "pod_oracle" in frame else []
    cols = [*first, "series", *rates, "pod_gain"]
    head = "| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n"
    lines = []
    for _, row in frame[cols].iterrows():
        cells = [str(row[c]) for c in first] + [str(row["series"])]
        cells += [_pct2(row[c]) if c.startswith("fpr") else _pct(row[c]) for c in rates]
        cells.append(f"{100 * row['pod_gain']:+.1f} pts")
        lines.append("| " + " | ".join(cells) + " |")
    return head + "\n".join(lines) + "\n"


def report(per: pd.DataFrame, timing: dict[str, np.ndarray], methods: tuple[str, ...], names: dict[str, str],
           args: argparse.Namespace, agreement: float | None) -> str:
    """The markdown report."""
    seeds = sorted(per["seed"].unique())
    by_seed = {s: headline(per[per.seed == s], methods) for s in seeds}
    avg = {m: {k: float(np.mean([by_seed[s][m][k] for s in seeds])) for k in ("fpr", "spike", "shift")}
           for m in methods}
    months = len(PERIODS) - SCORE_FROM
    ms = {k: 1000 * v / months for k, v in timing.items()}  # per scored month, per series
    r_median = np.median(ms["R farringtonFlexible"])
    ours_median = np.median(ms["ours"])
    checks = []
    for s in seeds:
        o, r = by_seed[s]["ours"], by_seed[s]["r"]
        checks.append((f"seed {s}: FPR at alert <= 1.0% and <= R's", o["fpr"] <= 0.01 and o["fpr"] <= r["fpr"],
                       f"ours {_pct2(o['fpr'])}, R {_pct2(r['fpr'])}"))
    gain_spike = avg["ours"]["spike"] - avg["r"]["spike"]
    gain_shift = avg["ours"]["shift"] - avg["r"]["shift"]
    ceiling = {k: float(np.mean([by_seed[s]["oracle"][k] for s in seeds])) for k in ("spike", "shift")}
    checks += [
        ("averaged: POD spike k >= 5 at least R + 10 points", gain_spike >= 0.10,
         f"ours {_pct(avg['ours']['spike'])}, R {_pct(avg['r']['spike'])}: {100 * gain_spike:+.1f} points"
         f" (the target, {_pct(avg['r']['spike'] + 0.10)}, against the oracle ceiling {_pct(ceiling['spike'])})"),
        ("averaged: POD shift x1.5+ within 3 months at least R + 7 points", gain_shift >= 0.07,
         f"ours {_pct(avg['ours']['shift'])}, R {_pct(avg['r']['shift'])}: {100 * gain_shift:+.1f} points"
         f" (the target, {_pct(avg['r']['shift'] + 0.07)}, against the oracle ceiling {_pct(ceiling['shift'])})"),
        ("speed: per scored period no slower than R (medians)", ours_median <= r_median,
         f"ours {ours_median:.3f} ms, R {r_median:.3f} ms (ratio {ours_median / r_median:.3f})"),
    ]
    n_series = per.groupby("seed").size()
    lines = [
        "# Detection benchmark: the GLR detector vs R farringtonFlexible",
        "",
        f"Run: `python -m benchmarks.detection {'--quick' if args.quick else '--full'}"
        f" --seeds {' '.join(map(str, seeds))} --replicates {args.replicates}"
        + (f" --glr {args.glr}" if args.glr else "")
        + (f" --variants {' '.join(args.variants)}" if args.variants else "")
        + f"` ({time.strftime('%Y-%m-%d %H:%M')});"
        f" ours = `{names['ours']}`" + "".join(f", {m} = `{names[m]}`" for m in methods if m not in ("r", "ours"))
        + ".",
        f"Per seed {int(n_series.iloc[0])} simulated series (benchmarks/simulate.py: {per['scenario'].nunique()}"
        f" parameter sets x {per['event'].nunique()} events x {args.replicates} replicates), each scored on its"
        f" last 24 months; in control (before the onset): "
        + ", ".join(f"seed {s} {int(per.loc[per.seed == s, 'in_control'].sum())} months" for s in seeds) + ".",
        "R = farringtonFlexible, Noufaily settings (b = 5, noPeriods = 10, 6 months excluded, limit54), alarm"
        " at alpha 0.01; ours = level `alert`. FPR = alerts among in-control scored months; POD spike k >= 5 ="
        " spikes of 5, 7, 10 SDs detected in their month; POD shift x1.5+ = shifts x1.5 and x2 detected in the"
        " onset month or the 2 after.",
        "",
        "## Targets",
        "",
        "| target | met | figures |",
        "|---|---|---|",
        *[f"| {name} | {'yes' if ok else '**no**'} | {fig} |" for name, ok, fig in checks],
        "",
        "## Per seed and averaged",
        "",
        "| seed | method | FPR at alert | POD spike k >= 5 | POD shift x1.5+ within 3 months |",
        "|---|---|---|---|---|",
    ]
    for s in seeds:
        for m in methods:
            h = by_seed[s][m]
            lines.append(f"| {s} | {m} | {_pct2(h['fpr'])} | {_pct(h['spike'])} | {_pct(h['shift'])} |")
        h = by_seed[s]["oracle"]
        lines.append(f"| {s} | oracle (ceiling) | 1% per test | {_pct(h['spike'])} | {_pct(h['shift'])} |")
    for m in methods:
        h = avg[m]
        lines.append(f"| mean | {m} | {_pct2(h['fpr'])} | {_pct(h['spike'])} | {_pct(h['shift'])} |")
    lines.append(f"| mean | oracle (ceiling) | 1% per test | {_pct(ceiling['spike'])} | {_pct(ceiling['shift'])} |")
    lines += ["", "oracle = a test that knows each series' true in-control mean and dispersion, at a false-alarm"
              " rate of exactly 1% per test, with the most powerful statistic for the event (the spike month's"
              " count; the sum of the 3 months from a shift's onset), no count guard: no detector at 1% can do"
              " much better on average (a detector looking 3 times at a shift gets up to 3 chances of 1% by luck,"
              " which is why R exceeds it at mean 1)."]
    lines += ["", "## By event (both seeds pooled)", "", _table(summarise(per, ["event"], methods), ["event"], methods)]
    for s in seeds:
        lines += [f"## By event, seed {s}", "",
                  _table(summarise(per[per.seed == s], ["event"], methods), ["event"], methods)]
    lines += ["## By mean level and event (both seeds pooled)", "",
              _table(summarise(per, ["mean", "event"], methods), ["mean", "event"], methods),
              "## Speed (single core, OMP_NUM_THREADS=1)", "",
              "| method | series timed | total CPU s | median ms per scored month | mean ms per scored month |"
              " median ratio to R |",
              "|---|---|---|---|---|---|",
              *[f"| {k} | {len(timing[k])} | {timing[k].sum():.1f} | {np.median(ms[k]):.3f} | {ms[k].mean():.3f} |"
                f" {np.median(ms[k]) / r_median:.3f} |" for k in timing],
              "",
              "CPU time per series, 24 scored months each. R's is measured inside R around each"
              " farringtonFlexible call (no start-up, no I/O); ours around the Python function per series,"
              " after one warm-up call. `ours, GLM by statsmodels` is the same detector with every GLM fit"
              " of each scored month (the first and the reweighted refits) made by statsmodels"
              " `GLM(family=Poisson()).fit(scale=\"X2\")` (refits with the Anscombe weights as var_weights)"
              " instead of the numpy IRLS, timed on the first"
              f" {args.statsmodels_series} series of each seed"
              + (f"; its levels agree with the numpy IRLS's on {100 * agreement:.2f}% of those series' scored"
                 " months." if agreement is not None else "."),
              " Per-scenario figures: detection.csv.", ""]
    return "\n".join(lines)


