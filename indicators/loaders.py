"""Loading data files: tidy CSV, Eurostat TSV and SDMX-CSV, all or nothing.

Tidy CSV, the canonical exchange format::

    # source: Kosovo Police
    # synthetic: true
    indicator,geo,period,value,flag
    border_exits,XK,2024-01,41250,p

Leading ``#`` lines are comments; ``# key: value`` comments are file metadata (``synthetic: true``
marks the load synthetic). Files are read by DuckDB's CSV reader and checked with vectorised
rules (``validation``); every file of a call is checked before anything is written, and all of
them are written in one atomic store write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from indicators import eurostat, eurostat_tsv, excel, sdmx, textfile, tidy
from indicators.catalogue import Catalogue
from indicators.store import Store, StoreError
from indicators.store.observations import Incoming, apply_load, observation_count
from indicators.tidy import TIDY_HEADERS
from indicators.validation import (
    FIELDS,
    MAX_PROBLEMS,
    LoadError,
    Problem,
    check_rows,
    cross_file_duplicates,
    printable,
    problem,
    quoted,
)

DEMO_DIR = Path(__file__).resolve().parents[1] / "data" / "demo"
_TRUE, _FALSE = ("true", "yes", "1"), ("false", "no", "0")


@dataclass(frozen=True)
class LoadReport:
    """What loading one file did."""

    file: str
    format: str
    new: int
    revised: int
    unchanged: int
    skipped_other_rows: int
    synthetic: bool
    already_loaded: bool
    loaded_before: dt.datetime | None = None
    load_id: int | None = None
    metadata: dict = field(default_factory=dict, compare=False)
    notes: tuple[str, ...] = ()  # e.g. ISO geo codes folded onto Eurostat's

    def summary(self) -> str:
        """One line for people, e.g. ``x.csv: 120 new, 3 revised, 0 unchanged rows``."""
        if self.already_loaded:
            when = f" on {self.loaded_before:%Y-%m-%d %H:%M}" if self.loaded_before else ""
            text = f"unchanged: {printable(self.file)} already loaded{when} ({self.unchanged} rows)"
        else:
            text = f"{printable(self.file)}: {self.new} new, {self.revised} revised, {self.unchanged} unchanged rows"
        n = self.skipped_other_rows
        if n and self.format == "xlsx":
            text += f"; skipped {n} total row{'s' if n != 1 else ''} or column{'s' if n != 1 else ''}"
        elif n:
            text += f"; skipped {n} row{'s' if n != 1 else ''} for other citizenships or breakdowns"
        text += "".join(f"; {note}" for note in self.notes)
        return text + (" [synthetic]" if self.synthetic else "")


@dataclass
class ParsedFile:
    """A file read and checked: its rows (when valid) and its problems."""

    file: str
    format: str = "csv"
    sha256: str = ""
    rows: pd.DataFrame | None = None
    metadata: dict = field(default_factory=dict)
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    more: int = 0  # problems counted beyond those listed
    notes: list[str] = field(default_factory=list)
    metadata_lines: dict = field(default_factory=dict)  # metadata key -> its comment line

    @property
    def synthetic(self) -> bool:
        return self.metadata.get("synthetic", "").lower() in _TRUE


def _tidy(path: Path, parsed: ParsedFile, header_line: int, header: str, quote: bool, catalogue: Catalogue,
          today: dt.date) -> None:
    rows, problems, more = tidy.read_tidy(path, parsed.file, header_line, header, quote)
    parsed.problems += problems
    parsed.more += more
    if rows is not None:
        _check(parsed, rows, {name: (i, name) for i, name in enumerate(FIELDS, 1)}, catalogue, today)


def _fold_geo_aliases(parsed: ParsedFile, rows: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """ISO codes that Eurostat writes otherwise (GR, GB) as Eurostat's (EL, UK), with a note."""
    aliases = dict(catalogue.geo_aliases)
    geo = rows["geo"].fillna("").astype("str")
    hit = geo.isin(list(aliases))
    if not hit.any():
        return rows
    counts = geo[hit].value_counts().sort_index()
    folded = ", ".join(f"{code} as {aliases[code]} ({n} row{'s' if n != 1 else ''})" for code, n in counts.items())
    parsed.notes.append(f"ISO geo codes read as Eurostat's: {folded}")
    return rows.assign(geo=geo.where(~hit, geo.map(aliases)))


def _check(parsed: ParsedFile, rows: pd.DataFrame, where, catalogue: Catalogue, today: dt.date) -> None:
    rows = _fold_geo_aliases(parsed, rows, catalogue)
    checked = check_rows(rows, file=parsed.file, catalogue=catalogue, today=today, where=where)
    parsed.problems += checked.problems
    parsed.more += checked.count - len(checked.problems)
    parsed.rows = checked.rows


def _eurostat(
    path: Path,
    parsed: ParsedFile,
    header_line: int,
    header: str,
    text: str,
    dataset: str | None,
    catalogue: Catalogue,
    today: dt.date,
) -> None:
    mapping = eurostat.load_mapping()
    if parsed.format == "eurostat-tsv":
        code = dataset or eurostat.dataset_from_name(path, mapping)
        if code is None:
            parsed.problems.append(
                problem(
                    parsed.file,
                    None,
                    "no known dataset code in the file name",
                    "a name like migr_asyappctzm.tsv, or the --dataset option",
                )
            )
            return
        ex = eurostat_tsv.parse_tsv(path, parsed.file, header, header_line, code.lower(), mapping)
    else:
        if dataset:
            code = dataset.lower()
        else:
            second = textfile.head(text.split("\n", header_line)[-1], parsed.file, ParsedFile(parsed.file))
            code = sdmx.dataset_from_sdmx(header, second[1]) if second else ""
            if not code:
                parsed.problems.append(
                    problem(
                        parsed.file,
                        None,
                        "no dataset code (no data row with a DATAFLOW or STRUCTURE_ID value)",
                        "an SDMX-CSV file with data rows, or the --dataset option",
                    )
                )
                return
        ex = sdmx.parse_sdmx(path, parsed.file, header, header_line, code, mapping, '"' in text)
    parsed.problems += ex.problems
    parsed.skipped = ex.skipped
    if not ex.problems:
        _check(parsed, ex.rows, ex.where, catalogue, today)


def detect_format(header: str) -> str:
    """'eurostat-tsv', 'sdmx-csv' or 'csv' (tidy) from a file's first line."""
    first = header.split("\t")[0]
    if "\t" in header and "\\" in first:
        return "eurostat-tsv"
    cells = [c.strip('"') for c in tidy.header_names(header.lstrip("\ufeff"))]
    if cells and cells[0] in ("dataflow", "structure", "structure_id") or "obs_value" in cells:
        return "sdmx-csv"
    if re.match(r'^\s*"?structure(\[[^\]]*\])?"?\s*[;,]', header.lstrip("\ufeff"), re.IGNORECASE):
        return "sdmx-csv"  # SDMX-CSV 2.0 with ';' as separator, or STRUCTURE[;] (multi-valued components)
    return "csv"


def _xlsx(data: bytes, parsed: ParsedFile, sheets, catalogue: Catalogue, today: dt.date) -> ParsedFile:
    """A workbook: its tidy sheets, or the wide sheets ``sheets`` maps; problems name sheet and cell."""
    parsed.format = "xlsx"
    if sheets:  # the same workbook read through another mapping is another load, not a reload
        parsed.sha256 = hashlib.sha256(data + b"\0" + repr(list(sheets)).encode()).hexdigest()
    ex = excel.read(data, parsed.file, catalogue, sheets or ())
    parsed.skipped = ex.skipped
    if len(ex.rows):
        _check(parsed, ex.rows, ex.where, catalogue, today)
        parsed.rows = parsed.rows.assign(line=parsed.rows["line"] % excel.SPAN)
    parsed.problems = ex.cells(ex.problems + parsed.problems)
    if parsed.problems:
        parsed.rows = None
    parsed.problems, parsed.more = parsed.problems[:MAX_PROBLEMS], parsed.more + max(
        0, len(parsed.problems) - MAX_PROBLEMS
    )
    return parsed


def is_workbook(path: Path, data: bytes) -> bool:
    """An Excel workbook by its name (.xlsx, or .xls to be told to save it as .xlsx), or a ZIP with no suffix."""
    suffix = path.suffix.lower()
    return suffix in (".xlsx", ".xls") or (not suffix and data.startswith(b"PK\x03\x04"))


def parse_file(
    path: str | Path,
    *,
    catalogue: Catalogue,
    today: dt.date,
    dataset: str | None = None,
    sheets: list[excel.SheetMapping] | None = None,
    name: str | None = None,
) -> ParsedFile:
    """Read and check one file (no database access); ``sheets`` maps a workbook's wide sheets. ``name``
    is what messages and the load log call the file (an upload's name as uploaded; default its path)."""
    path = Path(path)
    parsed = ParsedFile(name or str(path))
    try:
        too_big = textfile.check_size(parsed.file, path.stat().st_size)
        if too_big:
            parsed.problems.append(too_big)
            return parsed
        data = path.read_bytes()
    except OSError as exc:
        parsed.problems.append(
            problem(parsed.file, None, f"a file that cannot be read ({exc.strerror})", "a readable file")
        )
        return parsed
    parsed.sha256 = hashlib.sha256(data).hexdigest()
    if is_workbook(path, data):
        return _xlsx(data, parsed, sheets, catalogue, today)
    bad = None
    if path.suffix == ".gz":
        data, bad = textfile.gunzip(data, parsed.file)
    text, bad = (None, bad) if bad else textfile.decode(data, parsed.file)
    if bad:
        parsed.problems.append(bad)
        return parsed
    head = textfile.head(text, parsed.file, parsed)
    if head is None:
        found = "an empty file" if not text.strip() else "only comment lines"
        parsed.problems.append(problem(parsed.file, None, found, f"a header line {TIDY_HEADERS[0]}[,flag]"))
        return parsed
    synthetic = parsed.metadata.get("synthetic", "false").lower()
    if synthetic not in _TRUE + _FALSE:
        parsed.problems.append(
            problem(
                parsed.file,
                parsed.metadata_lines.get("synthetic"),
                f"synthetic: {quoted(synthetic)}",
                "# synthetic: true or # synthetic: false",
            )
        )
    header_line, header = head
    parsed.format = detect_format(header)
    with textfile.exact_copy(path, text) as copy:
        try:
            if parsed.format == "csv":
                _tidy(copy, parsed, header_line, header, '"' in text, catalogue, today)
            else:
                _eurostat(copy, parsed, header_line, header, text, dataset, catalogue, today)
        except StoreError as exc:
            said = str(exc).replace(str(copy), parsed.file)  # the file as the user named it
            parsed.problems.append(
                problem(parsed.file, None, f"text the CSV reader rejects ({said})", "a plain UTF-8 CSV or TSV file")
            )
    ordered = sorted(parsed.problems, key=lambda p: (p.line or 0, p.column or 0))
    parsed.problems, parsed.more = ordered[:MAX_PROBLEMS], parsed.more + max(0, len(ordered) - MAX_PROBLEMS)
    return parsed


def load_files(
    store: Store,
    paths,
    *,
    catalogue: Catalogue,
    today: dt.date,
    who: str = "local",
    dataset: str | None = None,
    sheet_mappings=None,
    names=None,
) -> list[LoadReport]:
    """Check every file, then load them all in one atomic write, or raise ``LoadError`` and change nothing.

    ``sheet_mappings`` reads workbooks' wide sheets: a dict from file name (or path) to a
    ``SheetMapping`` or a list of them, or one list for every workbook of the call. ``names`` (one per
    path) is what messages, reports and the load log call the files (default their paths).
    """
    paths = list(paths)
    names = list(names) if names is not None else [None] * len(paths)
    parsed = [
        parse_file(p, catalogue=catalogue, today=today, dataset=dataset, sheets=_mappings_for(p, sheet_mappings),
                   name=n)
        for p, n in zip(paths, names, strict=True)
    ]
    problems = [p for f in parsed for p in f.problems]
    more = sum(f.more for f in parsed)
    if not problems:
        dupes, count = cross_file_duplicates([(f.file, f.rows) for f in parsed])
        problems, more = dupes, count - len(dupes)
    if problems:
        raise LoadError(problems, more)
    incoming = [Incoming(f.file, f.sha256, f.format, f.synthetic, f.rows) for f in parsed]
    applied = apply_load(store, incoming, who=who, catalogue=catalogue)
    return [
        LoadReport(
            f.file,
            f.format,
            a.new,
            a.revised,
            a.unchanged,
            f.skipped,
            f.synthetic,
            a.already_loaded,
            a.previous_load_at,
            a.load_id,
            dict(f.metadata),
            tuple(f.notes),
        )
        for f, a in zip(parsed, applied, strict=True)
    ]


def _mappings_for(path, mappings) -> list[excel.SheetMapping] | None:
    if isinstance(mappings, dict):
        found = mappings.get(str(path), mappings.get(Path(path).name))
    else:
        found = mappings
    if isinstance(found, excel.SheetMapping):
        return [found]
    return list(found) if found else None


def demo_files() -> list[Path]:
    """The shipped demo files (``indicators.demo.demo_paths()`` when available)."""
    try:
        from indicators.demo import demo_paths
    except ImportError:
        return sorted(DEMO_DIR.glob("*.csv"))
    return [Path(p) for p in demo_paths()]


def load_demo_if_empty(store: Store, catalogue: Catalogue, today: dt.date) -> list[LoadReport]:
    """Load the demo data through ``load_files`` when the database holds no observations."""
    if observation_count(store) > 0:
        return []
    paths = demo_files()
    if not paths:
        return []
    return load_files(store, paths, catalogue=catalogue, today=today, who="demo")
