"""SDMX-CSV files (Eurostat's API and data browser) read into an ``eurostat.Extract``.

Shapes read (all parsed as RFC 4180 CSV by DuckDB, optionally gzipped):

* 1.0 (Eurostat API): ``DATAFLOW,LAST UPDATE,freq,...,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG``;
  the dataset is the DATAFLOW value, ``ESTAT:MIGR_ASYAPPCTZM(1.0)`` -> ``migr_asyappctzm``.
* 1.0 with labels (``labels=both``): cells ``code:label`` (``XK:Kosovo*``, ``M: Monthly``); header
  cells may be ``id: name`` too. Dimension, TIME_PERIOD and OBS_FLAG cells are cut to the code.
* 2.0: ``STRUCTURE,STRUCTURE_ID[,STRUCTURE_NAME][,ACTION],freq,...,OBS_FLAG[,CONF_STATUS]``; the
  dataset is the STRUCTURE_ID value; ``;`` as separator when the header says ``STRUCTURE;``.
* 2.0 with labels (``labels=name``, Eurostat's data browser): a STRUCTURE_NAME column (a quoted
  title that may hold commas) and a name column after each component
  (``freq,Time frequency,...,OBS_VALUE,Observation value,...``); name columns are skipped.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from indicators.eurostat import (
    Entry,
    Extract,
    checked_rows,
    dataset_from_dataflow,
    entries_for,
    finish,
)
from indicators.eurostat import prefilter as shared_filter
from indicators.periods import normalise_eurostat
from indicators.store.csvfiles import MultilineRecord, TextAfterQuote, read_records
from indicators.tidy import quoting_problem
from indicators.validation import problem, quoted

_NON_DIMS = {
    "dataflow",
    "structure",
    "structure_id",
    "structure_name",
    "action",
    "series_key",
    "obs_key",
    "last update",
    "time_period",
    "obs_value",
    "obs_flag",
    "conf_status",
}
_PREFIX = {"dataflow", "last update", "structure", "structure_id", "structure_name", "action", "series_key", "obs_key"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class SdmxHeader:
    """An SDMX-CSV header: the separator, each column's name as written and its lower-case id
    (``freq: Time frequency`` -> ``freq``), and which columns only hold names (``labels=name``)."""

    delim: str
    names: list[str]
    ids: list[str]
    name_columns: frozenset[int]  # 0-based


def sdmx_header(header: str) -> SdmxHeader:
    """Read an SDMX-CSV header line (1.0 or 2.0, codes or labels) with a CSV parser."""
    text = header.lstrip("\ufeff")
    delim = ";" if re.match(r'^\s*"?structure(\[[^\]]*\])?"?\s*;', text, re.IGNORECASE) else ","
    names = [c.strip() for c in next(csv.reader([text], delimiter=delim), [])]
    ids = [re.sub(r"\[[^\]]*\]$", "", n.split(":")[0].strip()).strip().lower() for n in names]
    # labels=name: a name column follows each component column. Said by a STRUCTURE_NAME column or
    # by the column after OBS_VALUE not being an identifier ("Observation value"), and only when
    # the known columns (geo, TIME_PERIOD, OBS_VALUE, ...) all stand where codes would.
    start = 0
    while start < len(ids) and ids[start] in _PREFIX:
        start += 1
    known = [i for i, c in enumerate(ids) if i >= start and c in ("geo", "time_period", "obs_value", "obs_flag")]
    paired = "structure_name" in ids
    if "obs_value" in ids and not paired:
        after = ids.index("obs_value") + 1
        paired = after < len(names) and ids[after] != "" and not _IDENTIFIER.match(ids[after])
    paired = paired and all((i - start) % 2 == 0 for i in known)
    skip = set(range(start + 1, len(ids), 2)) if paired else set()
    return SdmxHeader(delim, names, ids, frozenset(skip))


def dataset_from_sdmx(header: str, row: str) -> str:
    """The dataset code of an SDMX-CSV file from its header and first data row: the DATAFLOW (1.0)
    or STRUCTURE_ID (2.0) cell, ``ESTAT:MIGR_ASYAPPCTZM(1.0)`` -> ``migr_asyappctzm``; '' if none."""
    head = sdmx_header(header)
    cells = next(csv.reader([row], delimiter=head.delim), [])
    for name in ("dataflow", "structure_id"):
        if name in head.ids and head.ids.index(name) < len(cells):
            return dataset_from_dataflow(cells[head.ids.index(name)].strip())
    return ""


def _dimensions(head: SdmxHeader) -> list[str]:
    """The dimension columns' ids; other columns as ``"\\0<i>:<id>"`` (never a dimension)."""
    return [c if c not in _NON_DIMS and i not in head.name_columns else f"\0{i}:{c}" for i, c in enumerate(head.ids)]


def _columns(head: SdmxHeader) -> tuple[dict[str, int], int, int]:
    """The 1-based columns of geo, TIME_PERIOD and OBS_VALUE, of OBS_FLAG (0 if none) and of the
    dataset (DATAFLOW or STRUCTURE_ID)."""
    lower = head.ids
    col = {c: lower.index(c) + 1 for c in ("geo", "time_period", "obs_value")}
    fcol = lower.index("obs_flag") + 1 if "obs_flag" in lower else 0
    icol = next((lower.index(c) + 1 for c in ("dataflow", "structure_id") if c in lower), 1)
    return col, fcol, icol


def parse_sdmx(
    path: str | Path,
    file: str,
    header: str,
    header_line: int,
    dataset: str,
    mapping: dict[str, list[Entry]],
    quote: bool,
) -> Extract:
    """An SDMX-CSV file, 1.0 or 2.0, codes or labels (see the module's docstring).

    ``quote``: the file holds a double quote somewhere (else quoting is not looked for)."""
    ex = Extract(dataset, file)
    head = sdmx_header(header)
    for needed in ("geo", "time_period", "obs_value"):
        if needed not in head.ids:
            ex.problems.append(
                problem(
                    file,
                    header_line,
                    f"header {quoted(header)}",
                    f"an SDMX-CSV header with a {needed if needed == 'geo' else needed.upper()} column",
                )
            )
    dims = _dimensions(head)
    entries, found = entries_for(file, header_line, dataset, [d for d in dims if d[0] != "\0"], mapping)
    ex.problems += found
    if ex.problems:
        return ex
    col, fcol, icol = _columns(head)
    width = len(head.names)
    codes = [i + 1 for i, d in enumerate(dims) if d[0] != "\0"] + [col["time_period"], fcol]
    chosen = shared_filter(entries, dims)
    reading = {"first_line": header_line + 1, "width": width, "delim": head.delim, "codes": codes, "quote": quote}
    try:
        frame, total = read_records(path, filters=chosen, **reading)
    except (MultilineRecord, TextAfterQuote) as exc:
        ex.problems.append(quoting_problem(file, exc))
        return ex
    frame, masks = checked_rows(ex, file, path, frame, total, width, ",".join(head.names), dims, entries, chosen,
                                reading)
    if ex.problems:
        return ex
    long, matched = _long_rows(frame, masks, col, fcol, icol, head.names)
    ex.skipped = total - matched
    return finish(ex, long, entries)


def _long_rows(frame, masks, col: dict[str, int], fcol: int, icol: int, names: list[str]) -> tuple[pd.DataFrame, int]:
    """One row per selected observation with where each field was found; and how many records matched."""
    longs, matched = [], pd.Series(False, index=frame.index)
    for n, role, mask in masks:
        matched |= mask
        sub = frame[mask]
        labels = sub[f"c{col['time_period']}"].fillna("").astype("str")
        norm = labels.map({x: normalise_eurostat(x) or x for x in labels.unique()})
        longs.append(
            pd.DataFrame(
                {
                    "line": sub["line"],
                    "entry": n,
                    "role": role,
                    "geo": sub[f"c{col['geo']}"],
                    "period": norm,
                    "value": sub[f"c{col['obs_value']}"],
                    "flag": sub[f"c{fcol}"] if fcol else "",
                    "pcol": col["time_period"],
                    "pname": "TIME_PERIOD",
                    "vcol": col["obs_value"],
                    "vname": "OBS_VALUE",
                    "fcol": fcol,
                    "icol": icol,
                    "iname": names[icol - 1],
                    "gcol": col["geo"],
                }
            )
        )
    long = pd.concat(longs, ignore_index=True)
    for c in ("geo", "period", "value", "flag", "pname", "vname", "role", "iname"):
        long[c] = long[c].fillna("").astype("str")
    return long, int(matched.sum())
