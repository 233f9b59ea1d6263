"""``monitoring scan --out``: the anomaly level and the EU suspension criterion apart, and ``--since``
keeping quarterly rows (a quarter that ends in or after the month)."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd

from indicators.loaders import load_files
from monitoring.__main__ import main

TODAY = pd.Timestamp("2026-11-26")


def _rows(indicator, geo, periods, mean, seed, jump_from=None, factor=1.0):
    """Poisson counts, multiplied by ``factor`` from ``jump_from`` on (periods as Periods)."""
    rng = np.random.default_rng(seed)
    out = []
    for p in periods:
        m = mean * (factor if jump_from is not None and p >= jump_from else 1.0)
        text = f"{p.year}-Q{p.quarter}" if p.freqstr.startswith("Q") else str(p)
        out.append(f"{indicator},{geo},{text},{rng.poisson(m)},")
    return out


def test_since_keeps_quarterly_rows_and_the_criterion_columns_are_there(store, catalogue, today, tmp_path):
    months = pd.period_range("2017-01", "2026-10", freq="M")
    quarters = pd.period_range("2017Q1", "2026Q3", freq="Q")
    rows = (_rows("asylum_applications", "FR", months, 150, 1, pd.Period("2026-09", "M"), 2.5)
            + _rows("return_decisions", "AT", quarters, 100, 2, pd.Period("2026Q3", "Q"), 2.5))
    path = tmp_path / "s.csv"
    path.write_text("indicator,geo,period,value,flag\n" + "\n".join(rows) + "\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=today)
    out = tmp_path / "out.csv"
    assert main(["scan", "--db", str(store.path), "--since", "2026-09", "--out", str(out), "--workers", "1"],
                today=TODAY) == 0
    with out.open(newline="", encoding="utf-8") as fh:
        got = list(csv.DictReader(fh))
    periods = {(r["indicator"], r["period"]) for r in got}
    # 2026-Q3 (July-September) ends in September: it is "since 2026-09", as the months from September
    assert ("return_decisions", "2026-Q3") in periods
    assert ("asylum_applications", "2026-09") in periods
    assert all(r["period"] >= "2026-09" or r["period"].endswith("Q3") for r in got)
    quarter = next(r for r in got if r["period"] == "2026-Q3")
    assert quarter["level"] == "alert" and "glr" in quarter["channels"]
    # the criterion: status, both legal ratios, the adjusted one, since when — beside the anomaly level
    assert quarter["criterion"] == "above_50" and float(quarter["change_yoy"]) > 0.5
    assert quarter["criterion_since"] == "2026-Q3"


def test_since_filters_the_report_and_never_refits_or_truncates_the_stored_results(store, catalogue, today,
                                                                                    tmp_path, capsys):
    from indicators.store import results

    months = pd.period_range("2019-01", "2026-10", freq="M")
    path = tmp_path / "s.csv"
    path.write_text("indicator,geo,period,value,flag\n" + "\n".join(_rows("asylum_applications", "FR", months, 150, 1))
                    + "\n", encoding="utf-8")
    load_files(store, [path], catalogue=catalogue, today=today)
    assert main(["scan", "--db", str(store.path), "--workers", "1"], today=TODAY) == 0
    before = results.read_results(store)
    capsys.readouterr()
    out = tmp_path / "out.csv"
    assert main(["scan", "--db", str(store.path), "--since", "2026-09", "--all", "--out", str(out), "--workers", "1"],
                today=TODAY) == 0
    printed = capsys.readouterr().out
    assert "0 refitted" in printed and "wrote 2 rows" in printed  # 2026-09 and 2026-10
    after = results.read_results(store)
    assert len(after) == len(before) and after["period"].min() == before["period"].min()
