"""Eurostat files (bulk/API TSV and SDMX-CSV) mapped onto catalogue indicators.

The mapping is data (``eurostat_map.toml``). Rows are pre-filtered in DuckDB on the dimensions
every applicable mapping entry shares (e.g. citizen = XK), so a full dataset file is read without
bringing other citizenships into Python; the rest is vectorised pandas.

SDMX-CSV shapes read (all parsed as RFC 4180 CSV, optionally gzipped):

* 1.0 (Eurostat API): ``DATAFLOW,LAST UPDATE,freq,...,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG``;
  the dataset is the DATAFLOW value, ``ESTAT:MIGR_ASYAPPCTZM(1.0)`` -> ``migr_asyappctzm``.
* 1.0 with labels (``labels=both``): cells ``code:label`` (``XK:Kosovo*``, ``M: Monthly``); header
  cells may be ``id: name`` too. Dimension, TIME_PERIOD and OBS_FLAG cells are cut to the code.
* 2.0: ``STRUCTURE,STRUCTURE_ID[,STRUCTURE_NAME][,ACTION],freq,...,OBS_FLAG[,CONF_STATUS]``; the
  dataset is the STRUCTURE_ID value; ``;`` as separator when the header says ``STRUCTURE;``.
* 2.0 with labels (``labels=name``, Eurostat's data browser): a STRUCTURE_NAME column (a quoted
  title that may hold commas) and a name column after each component
  (``freq,Time frequency,...,OBS_VALUE,Observation value,...``); name columns are skipped.

A selection that finds no rows (no citizen XK, or XK rows but none with applicant FRST) is a
problem naming what the file holds instead, never an empty load.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from indicators.periods import normalise_eurostat
from indicators.store.csvfiles import MultilineRecord, distinct_values, read_fields, read_records
from indicators.validation import Problem, problem, quoted

MAP_PATH = Path(__file__).with_name("eurostat_map.toml")
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
_NUMBER = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
_PREFIX = {"dataflow", "last update", "structure", "structure_id", "structure_name", "action", "series_key", "obs_key"}
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHOWN_VALUES = 8  # distinct values a refusal lists


@dataclass(frozen=True)
class Entry:
    """One mapping entry: rows of ``dataset`` with these dimension values become ``indicator``."""

    dataset: str
    indicator: str
    where: tuple[tuple[str, str], ...]
    if_present: tuple[tuple[str, str], ...] = ()
    numerator: tuple[tuple[str, str], ...] = ()
    denominator: tuple[tuple[str, str], ...] = ()
    scale: float = 1.0

    @property
    def is_ratio(self) -> bool:
        return bool(self.numerator)

    def required(self) -> set[str]:
        return {d for d, _ in (*self.where, *self.numerator, *self.denominator)}


@dataclass
class Extract:
    """Rows taken from a Eurostat file, as tidy strings with where each field was found."""

    dataset: str
    rows_file: str = ""
    flag_in_value: bool = False  # TSV: value and flag share a cell
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    where: dict = field(default_factory=dict)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)


def _pairs(table: dict) -> tuple[tuple[str, str], ...]:
    return tuple((str(k).lower(), str(v)) for k, v in (table or {}).items())


def load_mapping(path: str | Path = MAP_PATH) -> dict[str, list[Entry]]:
    """The mapping file: dataset code -> entries."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    out: dict[str, list[Entry]] = {}
    for kind in ("series", "ratio"):
        for raw in data.get(kind, []):
            entry = Entry(
                dataset=str(raw["dataset"]).lower(),
                indicator=str(raw["indicator"]),
                where=_pairs(raw.get("where")),
                if_present=_pairs(raw.get("if_present")),
                numerator=_pairs(raw.get("numerator")),
                denominator=_pairs(raw.get("denominator")),
                scale=float(raw.get("scale", 1.0)),
            )
            if kind == "ratio" and not (entry.numerator and entry.denominator):
                raise ValueError(f"{path}: ratio for {entry.indicator} needs numerator and denominator")
            out.setdefault(entry.dataset, []).append(entry)
    return out


def dataset_from_name(path: str | Path, mapping: dict[str, list[Entry]]) -> str | None:
    """The mapped dataset a file name names (``migr_asyappctzm.tsv``, ``estat_migr_asyappctzm.tsv.gz``)."""
    stem = Path(path).name.lower().split(".")[0]
    stem = stem.removeprefix("estat_")
    hits = [d for d in mapping if stem == d or stem.startswith(d + "_")]
    return max(hits, key=len) if hits else None


def dataset_from_dataflow(value: str) -> str:
    """``ESTAT:MIGR_ASYAPPCTZM(1.0)`` -> ``migr_asyappctzm``."""
    m = re.match(r"^\s*(?:[A-Za-z0-9_]+:)?([A-Za-z0-9_]+)", value)
    return m.group(1).lower() if m else value.strip().lower()


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


def _values(values: list[str], count: int) -> str:
    shown = ", ".join(v if v != "" else '""' for v in values[:_SHOWN_VALUES])
    return shown + (f" and {count - _SHOWN_VALUES} more" if count > _SHOWN_VALUES else "")


def _wanted(values) -> str:
    return " or ".join(values) if not isinstance(values, str) else values


def _no_rows(
    file: str,
    total: int,
    frame: pd.DataFrame,
    dims: list[str],
    entries: list[Entry],
    prefilter: dict[int, list[str]],
    distinct: Callable[[int, dict[int, list[str]]], tuple[list[str], int]],
) -> Problem:
    """Why a selection found nothing: the first selected dimension value the file does not hold."""
    if total == 0:
        return problem(file, None, "a header and no data rows", "at least one data row after the header")
    entry = entries[0]
    steps = [(d, v) for d, v in (*entry.where, *entry.if_present, *entry.numerator) if d in dims]
    steps.sort(key=lambda step: dims.index(step[0]) + 1 not in prefilter)  # DuckDB's filters first
    applied: dict[int, list[str]] = {}
    held: list[tuple[str, str]] = []
    sub = frame
    for dim, value in steps:
        col = dims.index(dim) + 1
        if col in prefilter:  # filtered in DuckDB: ask the file
            wanted = prefilter[col]
            present = distinct(col, {**applied, col: wanted})[1] > 0
            values, count = ([], 0) if present else distinct(col, applied)
            applied[col] = wanted
        else:
            wanted = [value]
            present = bool((sub[f"c{col}"] == value).any())
            found = sorted(sub[f"c{col}"].unique()) if not present else []
            values, count = found, len(found)
            sub = sub[sub[f"c{col}"] == value]
        if not present:
            what = f"{dim} {_wanted(wanted)}"
            if not held:
                found = f"no rows for {what} (the file holds {dim} {_values(values, count)})"
            else:
                among = ", ".join(f"{d} {v}" for d, v in held[:-1]) + (" and " if len(held) > 1 else "")
                among += "{} {}".format(*held[-1])
                found = f"no rows for {what} among the rows for {among} (they hold {dim} {_values(values, count)})"
            if dim == "citizen" and wanted == ["XK"]:
                expected = "a Eurostat file with rows for Kosovo (citizen=XK)"
            else:
                expected = (
                    f"rows with {dim}={_wanted(wanted)}, which indicators/eurostat_map.toml selects for "
                    f"{entry.indicator}"
                )
            return problem(file, None, found, expected)
        held.append((dim, _wanted(wanted)))
    return problem(file, None, "no rows the mapping selects", f"rows for {entry.indicator}")


def _entries_for(
    file: str, line: int, dataset: str, dims: list[str], mapping
) -> tuple[list[Entry], list[Problem]]:
    if dataset not in mapping:
        return [], [
            problem(
                file,
                line,
                f"dataset {quoted(dataset)}",
                f"one of the mapped datasets ({', '.join(sorted(mapping))}); "
                "see indicators/eurostat_map.toml or use --dataset",
            )
        ]
    entries = [e for e in mapping[dataset] if e.required() <= set(dims)]
    if not entries:
        return [], [
            problem(
                file,
                line,
                f"dimensions {quoted(','.join(dims))}",
                f"the dimensions of an entry for {dataset} in indicators/eurostat_map.toml",
            )
        ]
    return entries, []


def _prefilter(entries: list[Entry], dims: list[str]) -> dict[int, list[str]]:
    common = set.intersection(*({d for d, _ in e.where} for e in entries))
    return {dims.index(d) + 1: sorted({v for e in entries for k, v in e.where if k == d}) for d in common}


def _match(frame: pd.DataFrame, dims: list[str], pairs) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for dim, value in pairs:
        if dim in dims:
            mask &= frame[f"c{dims.index(dim) + 1}"] == value
    return mask


_NOT_BREAKDOWNS = {"geo", "freq"}


def _totals_of_unmapped(frame: pd.DataFrame, dims: list[str], entry: Entry, base: pd.Series) -> pd.Series:
    """A breakdown the mapping does not name (Eurostat adds dimensions: ``reason``, ``apprehen``,
    ``c_dest``, ``indic_mg``…) is kept at its total when the selected rows hold one (``TOTAL``),
    so that a new breakdown never turns into duplicate rows; without a total the rows are left
    as they are and the validator names the duplicates."""
    named = {d for d, _ in (*entry.where, *entry.if_present, *entry.numerator, *entry.denominator)}
    keep = pd.Series(True, index=frame.index)
    for i, dim in enumerate(dims, 1):
        if dim in named or dim in _NOT_BREAKDOWNS or dim.startswith("\0") or f"c{i}" not in frame:
            continue
        values = frame.loc[base, f"c{i}"]
        if values.nunique() > 1 and (values == "TOTAL").any():
            keep &= frame[f"c{i}"] == "TOTAL"
    return keep


def _select(frame: pd.DataFrame, dims: list[str], entries: list[Entry]) -> list[tuple[int, str, pd.Series]]:
    """(entry number, role, mask) for each selection; role is '' for a series, 'num'/'den' for a ratio."""
    out = []
    for n, e in enumerate(entries):
        base = _match(frame, dims, (*e.where, *e.if_present))
        base &= _totals_of_unmapped(frame, dims, e, base)
        if e.is_ratio:
            out.append((n, "num", base & _match(frame, dims, e.numerator)))
            out.append((n, "den", base & _match(frame, dims, e.denominator)))
        else:
            out.append((n, "", base))
    return out


# Eurostat's flags, combined in one cell ("ep", "bep"), mapped to the monitor's single flag by what
# matters most for detection: p provisional > b break > e estimated (s Eurostat estimate, f forecast)
# > c confidential > u low reliability. d (definition differs), n (not significant), r (revised) and
# z (not applicable) carry nothing the monitor uses and are dropped. Anything else is left for the
# validator to refuse with its message.
EUROSTAT_FLAG_PRIORITY = (("p", "p"), ("b", "b"), ("e", "e"), ("s", "e"), ("f", "e"), ("c", "c"), ("u", "u"))
EUROSTAT_FLAG_LETTERS = frozenset("bcdefnprsuz")


def normalise_flags(flag: pd.Series) -> pd.Series:
    """Eurostat flag combinations (``ep``, ``b d``, ``s``) as one catalogue flag (or empty)."""
    text = flag.fillna("").astype("str").str.replace(" ", "", regex=False).str.lower()
    known = text.map(lambda f: f != "" and set(f) <= EUROSTAT_FLAG_LETTERS)
    picked = pd.Series("", index=flag.index, dtype="str")
    for letter, mapped in reversed(EUROSTAT_FLAG_PRIORITY):  # highest priority written last
        picked = picked.where(~text.str.contains(letter, regex=False), mapped)
    return flag.fillna("").astype("str").where(~known, picked)


def _split_cells(cell: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Eurostat cells ``315``, ``:``, ``5 p``, ``: c``, ``:c`` -> (value, flag); ':' is missing."""
    parts = cell.fillna("").str.strip().str.extract(r"^(:|[^\s:]*)\s*(.*)$")
    value = parts[0].fillna("").astype("str")
    flag = parts[1].fillna("").astype("str").str.strip()
    return value.where(value != ":", ""), flag


def _number(text: pd.Series) -> pd.Series:
    text = text.fillna("").astype("str")
    return pd.to_numeric(text.where(text.str.fullmatch(_NUMBER)), errors="coerce")


def _field_count(file: str, frame: pd.DataFrame, width: int, what: str) -> list[Problem]:
    bad = frame[frame["n_fields"] != width]
    return [
        problem(file, int(r.line), f"{int(r.n_fields)} fields", f"{width} ({what})")
        for r in bad.head(50).itertuples()
    ]


def _finish(ex: Extract, long: pd.DataFrame, entries: list[Entry]) -> Extract:
    """Series rows as they are; ratio rows computed from numerator and denominator."""
    plain = long[long["role"] == ""]
    parts = [plain.assign(indicator=plain["entry"].map(lambda n: entries[n].indicator).astype("str"))]
    for n, e in enumerate(entries):
        if not e.is_ratio:
            continue
        num = long[(long["entry"] == n) & (long["role"] == "num")]
        den = long[(long["entry"] == n) & (long["role"] == "den")]
        for sub in (num, den):
            bad = (sub["value"] != "") & ~sub["value"].str.fullmatch(_NUMBER)
            ex.problems += [
                problem(
                    ex.rows_file,
                    int(r.line),
                    quoted(r.value),
                    "a number, or an empty cell for a missing value",
                    int(r.vcol),
                    r.vname,
                )
                for r in sub[bad].head(50).itertuples()
            ]
        both = num.merge(den, on=["geo", "period"], how="outer", suffixes=("", "_den"))
        n_val = _number(both["value"])
        d_val = _number(both["value_den"])
        rate = (e.scale * n_val / d_val.where(d_val > 0)).round(6)
        both["value"] = rate.map(lambda v: "" if pd.isna(v) else f"{v:.10g}").astype("str")
        flag = both["flag"].fillna("")
        both["flag"] = flag.where(flag != "", both["flag_den"].fillna(""))
        for col in ("line", "pcol", "vcol", "fcol", "icol", "gcol", "pname", "vname", "iname"):
            both[col] = both[col].fillna(both[f"{col}_den"])
        for col in ("line", "pcol", "vcol", "fcol", "icol", "gcol"):
            both[col] = both[col].astype("int64")
        parts.append(both.assign(indicator=e.indicator))
    rows = pd.concat(parts, ignore_index=True).sort_values(["line", "pcol"], kind="stable", ignore_index=True)
    rows["flag"] = normalise_flags(rows["flag"])
    ex.rows = rows[["line", "indicator", "geo", "period", "value", "flag"]]
    ex.where = {
        "indicator": (rows["icol"].astype("int64"), rows["iname"].astype("str")),
        "geo": (rows["gcol"].astype("int64"), "geo"),
        "period": (rows["pcol"], rows["pname"]),
        "value": (rows["vcol"], rows["vname"]),
        "flag": (rows["vcol"], rows["vname"]) if ex.flag_in_value else (rows["fcol"], "OBS_FLAG"),
    }
    return ex


def parse_tsv(
    path: str | Path, file: str, header: str, header_line: int, dataset: str, mapping: dict[str, list[Entry]]
) -> Extract:
    """A Eurostat TSV: ``freq,unit,...,geo\\TIME_PERIOD<TAB>2024-01 <TAB>...``, cells ``5 p``."""
    ex = Extract(dataset, file, flag_in_value=True)
    columns = header.split("\t")
    first = columns[0].strip()
    if "\\" not in first:
        ex.problems.append(
            problem(
                file,
                header_line,
                quoted(first),
                "a first column like freq,unit,citizen,sex,age,applicant,geo\\TIME_PERIOD",
                1,
                "dimensions",
            )
        )
        return ex
    dims = [d.strip().lower() for d in first.split("\\")[0].split(",")]
    labels = [c.strip() for c in columns[1:]]
    if "geo" not in dims:
        ex.problems.append(problem(file, header_line, quoted(first), "a geo dimension", 1, "dimensions"))
    periods = [normalise_eurostat(x) for x in labels]
    for j, (label, period) in enumerate(zip(labels, periods, strict=True)):
        if period is None:
            ex.problems.append(
                problem(
                    file,
                    header_line,
                    quoted(label),
                    "a Eurostat time period such as 2024-01, 2024M01, 2024Q1 or 2024",
                    j + 2,
                    "time period",
                )
            )
    entries, found = _entries_for(file, header_line, dataset, dims, mapping)
    ex.problems += found
    if ex.problems:
        return ex
    width = len(dims) + len(labels)
    prefilter = _prefilter(entries, dims)
    frame, total = read_fields(
        path,
        first_line=header_line + 1,
        width=width,
        split_pattern="[,\t]",
        filters=prefilter,
    )
    ex.problems += _field_count(file, frame, width, f"{len(dims)} dimension codes and {len(labels)} cells")
    frame = frame[frame["n_fields"] == width]
    longs, matched = [], pd.Series(False, index=frame.index)
    masks = _select(frame, dims, entries)
    if not ex.problems and not any(mask.any() for _, _, mask in masks):

        def distinct(column: int, filters: dict[int, list[str]]) -> tuple[list[str], int]:
            return distinct_values(
                path, first_line=header_line + 1, width=width, column=column, split_pattern="[,\t]",
                filters=filters,
            )

        ex.problems.append(_no_rows(file, total, frame, dims, entries, prefilter, distinct))
    if ex.problems:
        return ex
    geo_col = f"c{dims.index('geo') + 1}"
    cells = [f"c{len(dims) + j + 1}" for j in range(len(labels))]
    for n, role, mask in masks:
        matched |= mask
        sub = frame[mask]
        k = len(labels)
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
    ex.skipped = total - int(matched.sum())
    long = pd.concat(longs, ignore_index=True)
    long = long.assign(vcol=long["pcol"], vname=long["pname"], fcol=long["pcol"])
    for col in ("geo", "period", "value", "flag", "pname", "vname", "role", "iname"):
        long[col] = long[col].astype("str")
    return _finish(ex, long, entries)


def parse_sdmx(
    path: str | Path,
    file: str,
    header: str,
    header_line: int,
    dataset: str,
    mapping: dict[str, list[Entry]],
    unquote: bool,
) -> Extract:
    """An SDMX-CSV file, 1.0 or 2.0, codes or labels (see the module's docstring).

    ``unquote``: the file holds a double quote somewhere (else the check that no quoted field
    spans lines is skipped)."""
    ex = Extract(dataset, file)
    head = sdmx_header(header)
    names, lower = head.names, head.ids
    for needed in ("geo", "time_period", "obs_value"):
        if needed not in lower:
            ex.problems.append(
                problem(
                    file,
                    header_line,
                    f"header {quoted(header)}",
                    f"an SDMX-CSV header with a {needed if needed == 'geo' else needed.upper()} column",
                )
            )
    dims = [
        c if c not in _NON_DIMS and i not in head.name_columns else f"\0{i}:{c}" for i, c in enumerate(lower)
    ]
    entries, found = _entries_for(file, header_line, dataset, [d for d in dims if d[0] != "\0"], mapping)
    ex.problems += found
    if ex.problems:
        return ex
    width = len(names)
    col = {c: lower.index(c) + 1 for c in ("geo", "time_period", "obs_value")}
    fcol = lower.index("obs_flag") + 1 if "obs_flag" in lower else 0
    icol = next((lower.index(c) + 1 for c in ("dataflow", "structure_id") if c in lower), 1)
    codes = [i + 1 for i, d in enumerate(dims) if d[0] != "\0"] + [col["time_period"], fcol]
    prefilter = _prefilter(entries, dims)
    reading = {"first_line": header_line + 1, "width": width, "delim": head.delim, "codes": codes}
    try:
        frame, total = read_records(path, filters=prefilter, quotes=unquote, **reading)
    except MultilineRecord as exc:
        ex.problems.append(
            problem(
                file,
                exc.line,
                "a quoted field that continues onto the next line (an odd number of double quotes)",
                "each row on one line, with no line breaks inside quoted fields",
            )
        )
        return ex
    ex.problems += _field_count(file, frame, width, ",".join(names))
    frame = frame[frame["n_fields"] == width]
    masks = _select(frame, dims, entries)
    if not ex.problems and not any(mask.any() for _, _, mask in masks):

        def distinct(column: int, filters: dict[int, list[str]]) -> tuple[list[str], int]:
            return distinct_values(path, column=column, records=True, filters=filters, **reading)

        ex.problems.append(_no_rows(file, total, frame, dims, entries, prefilter, distinct))
    if ex.problems:
        return ex
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
    ex.skipped = total - int(matched.sum())
    long = pd.concat(longs, ignore_index=True)
    for c in ("geo", "period", "value", "flag", "pname", "vname", "role", "iname"):
        long[c] = long[c].fillna("").astype("str")
    return _finish(ex, long, entries)
