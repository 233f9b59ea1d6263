"""Eurostat TSV files (bulk download and API) read into an ``eurostat.Extract``.

``freq,unit,citizen,sex,age,asyl_app,geo\\TIME_PERIOD<TAB>2024-01 <TAB>...``: tab-separated, no
quoting, the first field holds the dimension codes separated by commas; cells like ``315 ``,
``: `` (missing), ``5 p`` (value and flag).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from indicators.eurostat import Entry, Extract, checked_rows, entries_for, finish
from indicators.eurostat import prefilter as shared_filter
from indicators.periods import normalise_eurostat
from indicators.store.csvfiles import read_records
from indicators.validation import Problem, problem, quoted


def _split_cells(cell: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Eurostat cells ``315``, ``:``, ``5 p``, ``: c``, ``:c`` -> (value, flag); ':' is missing."""
    parts = cell.fillna("").str.strip().str.extract(r"^(:|[^\s:]*)\s*(.*)$")
    value = parts[0].fillna("").astype("str")
    flag = parts[1].fillna("").astype("str").str.strip()
    return value.where(value != ":", ""), flag


def _header(file: str, header: str, header_line: int) -> tuple[list[str], list[str], list[str | None], list[Problem]]:
    """(dimensions, period labels as written, periods, problems) of a TSV header line."""
    columns = header.split("\t")
    first = columns[0].strip()
    if "\\" not in first:
        expected = "a first column like freq,unit,citizen,sex,age,applicant,geo\\TIME_PERIOD"
        return [], [], [], [problem(file, header_line, quoted(first), expected, 1, "dimensions")]
    dims = [d.strip().lower() for d in first.split("\\")[0].split(",")]
    labels = [c.strip() for c in columns[1:]]
    problems = []
    if "geo" not in dims:
        problems.append(problem(file, header_line, quoted(first), "a geo dimension", 1, "dimensions"))
    periods = [normalise_eurostat(x) for x in labels]
    for j, (label, period) in enumerate(zip(labels, periods, strict=True)):
        if period is None:
            problems.append(
                problem(
                    file,
                    header_line,
                    quoted(label),
                    "a Eurostat time period such as 2024-01, 2024M01, 2024Q1 or 2024",
                    j + 2,
                    "time period",
                )
            )
    return dims, labels, periods, problems


def parse_tsv(
    path: str | Path, file: str, header: str, header_line: int, dataset: str, mapping: dict[str, list[Entry]]
) -> Extract:
    """A Eurostat TSV: ``freq,unit,...,geo\\TIME_PERIOD<TAB>2024-01 <TAB>...``, cells ``5 p``."""
    ex = Extract(dataset, file, flag_in_value=True)
    dims, labels, periods, ex.problems = _header(file, header, header_line)
    if not dims:
        return ex
    entries, found = entries_for(file, header_line, dataset, dims, mapping)
    ex.problems += found
    if ex.problems:
        return ex
    width = len(dims) + len(labels)
    chosen = shared_filter(entries, dims)
    reading = {"first_line": header_line + 1, "width": width, "delim": "\t", "quote": False, "first_codes": len(dims)}
    frame, total = read_records(path, filters=chosen, **reading)
    frame, masks = checked_rows(ex, file, path, frame, total, width,
                                f"{len(dims)} dimension codes and {len(labels)} cells", dims, entries, chosen, reading)
    if ex.problems:
        return ex
    long, matched = _long_rows(frame, masks, dims, labels, periods)
    ex.skipped = total - matched
    return finish(ex, long, entries)


def _long_rows(frame, masks, dims: list[str], labels: list[str], periods: list) -> tuple[pd.DataFrame, int]:
    """One row per selected cell with where it was found; and how many lines matched."""
    geo_col = f"c{dims.index('geo') + 1}"
    cells = [f"c{len(dims) + j + 1}" for j in range(len(labels))]
    k = len(labels)
    longs, matched = [], pd.Series(False, index=frame.index)
    for n, role, mask in masks:
        matched |= mask
        sub = frame[mask]
        value, flag = _split_cells(pd.Series(sub[cells].to_numpy().ravel(), dtype="str"))
        longs.append(
            pd.DataFrame(
                {
                    "line": np.repeat(sub["line"].to_numpy(), k),
                    "entry": n,
                    "role": role,
                    "geo": np.repeat(sub[geo_col].to_numpy(), k),
                    "period": np.tile(np.array(periods, dtype=object), len(sub)),
                    "value": value.to_numpy(),
                    "flag": flag.to_numpy(),
                    "pcol": np.tile(np.arange(2, k + 2), len(sub)),
                    "pname": np.tile(np.array(labels, dtype=object), len(sub)),
                    "icol": 1,
                    "iname": "dimensions",
                    "gcol": 1,
                }
            )
        )
    long = pd.concat(longs, ignore_index=True)
    long = long.assign(vcol=long["pcol"], vname=long["pname"], fcol=long["pcol"])
    for col in ("geo", "period", "value", "flag", "pname", "vname", "role", "iname"):
        long[col] = long[col].astype("str")
    return long, int(matched.sum())
