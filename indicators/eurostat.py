"""Eurostat files mapped onto catalogue indicators: the mapping, the selection, flags and ratios.

The mapping is data (``eurostat_map.toml``). Rows are pre-filtered in DuckDB on the dimensions
every applicable mapping entry shares (e.g. citizen = XK), so a full dataset file is read without
bringing other citizenships into Python; the rest is vectorised pandas. The two file formats are
read by ``eurostat_tsv`` (bulk/API TSV) and ``sdmx`` (SDMX-CSV 1.0 and 2.0), both into an
``Extract`` finished here.

A selection that finds no rows (no citizen XK, or XK rows but none with applicant FRST) is a
problem naming what the file holds instead, never an empty load.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from indicators.store.csvfiles import distinct_values
from indicators.validation import NUMBER_RE, Problem, problem, quoted

MAP_PATH = Path(__file__).with_name("eurostat_map.toml")
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


def _values(values: list[str], count: int) -> str:
    shown = ", ".join(v if v != "" else '""' for v in values[:_SHOWN_VALUES])
    return shown + (f" and {count - _SHOWN_VALUES} more" if count > _SHOWN_VALUES else "")


def _wanted(values) -> str:
    return " or ".join(values) if not isinstance(values, str) else values


def no_rows(
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


def entries_for(
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


def prefilter(entries: list[Entry], dims: list[str]) -> dict[int, list[str]]:
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


def select(frame: pd.DataFrame, dims: list[str], entries: list[Entry]) -> list[tuple[int, str, pd.Series]]:
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


def number(text: pd.Series) -> pd.Series:
    text = text.fillna("").astype("str")
    return pd.to_numeric(text.where(text.str.fullmatch(NUMBER_RE)), errors="coerce")


def field_count(file: str, frame: pd.DataFrame, width: int, what: str) -> list[Problem]:
    bad = frame[frame["n_fields"] != width]
    return [
        problem(file, int(r.line), f"{int(r.n_fields)} fields", f"{width} ({what})")
        for r in bad.head(50).itertuples()
    ]


def checked_rows(ex: Extract, file: str, path, frame: pd.DataFrame, total: int, width: int, what: str,
                 dims: list[str], entries: list[Entry], chosen: dict[int, list[str]], reading: dict):
    """The rows of the expected width and each entry's row mask; the problems (rows of another width,
    or why the selection found nothing) are added to ``ex``. ``reading`` as given to ``read_records``."""
    ex.problems += field_count(file, frame, width, what)
    frame = frame[frame["n_fields"] == width]
    masks = select(frame, dims, entries)
    if not ex.problems and not any(mask.any() for _, _, mask in masks):

        def distinct(column: int, filters: dict[int, list[str]]) -> tuple[list[str], int]:
            return distinct_values(path, column=column, filters=filters, **reading)

        ex.problems.append(no_rows(file, total, frame, dims, entries, chosen, distinct))
    return frame, masks


def finish(ex: Extract, long: pd.DataFrame, entries: list[Entry]) -> Extract:
    """Series rows as they are; ratio rows computed from numerator and denominator."""
    plain = long[long["role"] == ""]
    parts = [plain.assign(indicator=plain["entry"].map(lambda n: entries[n].indicator).astype("str"))]
    for n, e in enumerate(entries):
        if not e.is_ratio:
            continue
        num = long[(long["entry"] == n) & (long["role"] == "num")]
        den = long[(long["entry"] == n) & (long["role"] == "den")]
        for sub in (num, den):
            bad = (sub["value"] != "") & ~sub["value"].str.fullmatch(NUMBER_RE)
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
        n_val = number(both["value"])
        d_val = number(both["value_den"])
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


