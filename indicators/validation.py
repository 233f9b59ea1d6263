"""Checking rows before anything is stored; every problem names file, line, column, found and expected.

One message format everywhere::

    bad.csv, line 5, column 4 (value): found "-3"; expected a count of 0 or more

The checks are vectorised (pandas string and numeric operations), so a file of a million rows
is checked in about a second; only the problems listed (at most ``MAX_PROBLEMS`` per file) become
Python objects.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from indicators.catalogue import GEO_PATTERN, Catalogue

MAX_PROBLEMS = 50
MAX_COUNT = 1e12  # more people than live on Earth, by two orders of magnitude
# The earliest year a period may fall in: no series the monitor reads starts earlier (Eurostat's
# annual returns start in 2008), so "1899-01" or "0000-01" is a typing error, never history.
EARLIEST_YEAR = 1990
ENV_EARLIEST_YEAR = "MONITOR_EARLIEST_YEAR"
# How to see the catalogue's ids, at the end of an unknown-indicator message (the CLI's hint; the
# dashboard replaces it with ``with_indicator_hint``).
INDICATOR_HINT = "see python -m indicators list"
FLAGS = ("p", "e", "b", "c", "u")
FIELDS = ("indicator", "geo", "period", "value", "flag")
PERIOD_FORMS = {"M": "a monthly period YYYY-MM", "Q": "a quarterly period YYYY-Qn", "A": "an annual period YYYY"}
_PERIOD_RE = {"M": r"[0-9]{4}-(?:0[1-9]|1[0-2])", "Q": r"[0-9]{4}-Q[1-4]", "A": r"[0-9]{4}"}
# A number as the files write it: ASCII digits only (never "١٢٦" or "１２６"), no separators.
NUMBER_RE = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?"
_SHOWN = 60  # longest found value quoted in full
# A spreadsheet's way of writing numbers, named in messages rather than refused as "not a number".
COMMA_NUMBERS = (
    (r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?", "a thousands separator", "a plain number such as 41250, with no separators"),
    (r"[0-9]+,[0-9]+", "a decimal comma", "a number with a decimal point, such as 5.5"),
)


def printable(text: str) -> str:
    """Text from a file or a file name as messages show it: control characters (ANSI escapes, line
    breaks, U+2028/2029, bidirectional overrides) as visible escapes such as ``\\x1b``, never raw;
    a tab stays a tab."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
                   for c in text)


def quoted(found: object) -> str:
    """A found value as shown in messages: in double quotes, long values shortened, control
    characters escaped."""
    text = "" if found is None or (isinstance(found, float) and np.isnan(found)) else str(found)
    if len(text) > _SHOWN:
        text = text[:_SHOWN] + "..."
    return '"' + printable(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    file: str
    line: int | None
    column: int | None
    column_name: str | None
    message: str
    sheet: str | None = None  # a workbook's sheet: then ``cell`` (e.g. "C14") replaces line and column
    cell: str | None = None

    def __str__(self) -> str:
        where = printable(self.file)
        if self.sheet is not None:
            where += f', sheet "{self.sheet}"'
            if self.cell:
                where += f", cell {self.cell}" + (f" ({self.column_name})" if self.column_name else "")
            elif self.line is not None:
                where += f", row {self.line}"
            return f"{where}: {self.message}"
        if self.line is not None:
            where += f", line {self.line}"
        if self.column is not None:
            where += f", column {self.column}"
            if self.column_name:
                where += f" ({self.column_name})"
        return f"{where}: {self.message}"


def earliest_year() -> int:
    """The earliest accepted year: ``MONITOR_EARLIEST_YEAR`` if set, else ``EARLIEST_YEAR``."""
    raw = os.environ.get(ENV_EARLIEST_YEAR, "").strip()
    if not raw:
        return EARLIEST_YEAR
    if not (raw.isascii() and raw.isdigit() and 1000 <= int(raw) <= 9999):
        raise LoadError([problem(ENV_EARLIEST_YEAR, None, quoted(raw), "a year of four digits, such as 1990")])
    return int(raw)


def problem(
    file: str,
    line: int | None,
    found: str,
    expected: str,
    column: int | None = None,
    column_name: str | None = None,
) -> Problem:
    """A problem whose message reads ``found <found>; expected <expected>``."""
    return Problem(file, line, column, column_name, f"found {found}; expected {expected}")


class LoadError(ValueError):
    """Input that cannot be loaded; nothing was changed. ``str()`` is the full report."""

    def __init__(self, problems: Sequence[Problem], more: int = 0):
        self.problems = list(problems)
        self.more = more  # problems counted but not kept as objects
        super().__init__(self.report())

    @property
    def count(self) -> int:
        return len(self.problems) + self.more

    def report(self, limit: int = MAX_PROBLEMS) -> str:
        shown = [str(p) for p in self.problems[:limit]]
        hidden = self.count - len(shown)
        if hidden:
            shown.append(f"... and {hidden} more problem{'s' if hidden != 1 else ''}")
        return "\n".join(shown)

    def __str__(self) -> str:
        return self.report()


@dataclass(frozen=True)
class Checked:
    """The rows that passed (typed) and the problems found (first ``MAX_PROBLEMS``, and a count)."""

    rows: pd.DataFrame
    problems: list[Problem]
    count: int


Where = Mapping[str, tuple[int | pd.Series, str | pd.Series]]


class _Collector:
    def __init__(self, file: str, frame: pd.DataFrame, where: Where):
        self.file, self.frame, self.where = file, frame, where
        self.found: list[tuple[int, int, Problem]] = []
        self.count = 0

    def add(self, mask: pd.Series, field: str | None, expected, found=None) -> None:
        """Record one problem per row where ``mask`` holds (found/expected may be per-row Series)."""
        hits = mask[mask.fillna(False).astype(bool)].index
        self.count += len(hits)
        for idx in hits[:MAX_PROBLEMS]:
            line = int(self.frame.at[idx, "line"])
            column = name = None
            if field is not None:
                col, label = self.where[field]
                column = int(col.at[idx]) if isinstance(col, pd.Series) else int(col)
                name = str(label.at[idx]) if isinstance(label, pd.Series) else label
            what = found.at[idx] if isinstance(found, pd.Series) else found
            if what is None:
                what = quoted(self.frame.at[idx, field])
            exp = expected.at[idx] if isinstance(expected, pd.Series) else expected
            self.found.append((line, column or 0, problem(self.file, line, what, exp, column, name)))

    def problems(self) -> list[Problem]:
        return [p for _, _, p in sorted(self.found, key=lambda t: (t[0], t[1]))[:MAX_PROBLEMS]]


def per_unique(text: pd.Series, fn) -> pd.Series:
    """``fn`` applied to the distinct values only (files repeat few periods, ids and values)."""
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    out = fn(pd.Series(np.asarray(uniques, dtype=object), dtype="str"))
    return pd.Series(out.to_numpy()[codes], index=text.index)


def period_start(period: pd.Series) -> pd.Series:
    """First day of each canonical period string (vectorised; the periods must be valid)."""
    year = pd.to_numeric(period.str.slice(0, 4), errors="coerce")
    quarter = period.str.fullmatch(_PERIOD_RE["Q"])
    monthly = period.str.fullmatch(_PERIOD_RE["M"])
    month = np.where(monthly, pd.to_numeric(period.str.slice(5, 7).where(monthly), errors="coerce"), 1)
    month = np.where(
        quarter, (pd.to_numeric(period.str.slice(6, 7).where(quarter), errors="coerce") - 1) * 3 + 1, month
    )
    parts = pd.DataFrame({"year": year, "month": month, "day": 1}, index=period.index)
    return pd.to_datetime(parts, errors="coerce")


def frequency_of(period: pd.Series) -> pd.Series:
    """'M', 'Q', 'A' or '' per period string (vectorised ``periods.frequency_of``)."""
    out = np.full(len(period), "", dtype=object)
    for freq, pattern in _PERIOD_RE.items():
        out[period.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)] = freq
    return pd.Series(out, index=period.index, dtype="str")


def check_rows(
    frame: pd.DataFrame, *, file: str, catalogue: Catalogue, today: dt.date, where: Where
) -> Checked:
    """Check rows with string columns ``line, indicator, geo, period, value, flag``.

    ``where`` maps each field to its column number and name in the file (a constant, or a
    Series aligned with ``frame`` when they vary by row, as in a Eurostat TSV). Returns the rows
    that passed with ``value`` as float (NaN = missing), ``flag`` (None = no flag) and
    ``period_start``; when any problem was found the caller must load nothing.
    """
    got = _Collector(file, frame, where)
    text = {f: frame[f].fillna("").astype("str") for f in FIELDS}
    known = _check_ids(got, text, catalogue)
    start = _check_periods(got, text, catalogue, known, today)
    value = _check_values(got, text, catalogue, known)
    flag = text["flag"]
    got.add(~flag.isin(("", *FLAGS)), "flag", "one of " + ", ".join(FLAGS) + " or an empty cell")
    _check_duplicates(got, text, frame["line"])
    rows = pd.DataFrame(
        {
            "line": frame["line"].astype("int64"),
            "indicator": text["indicator"],
            "geo": text["geo"],
            "period": text["period"],
            "period_start": start,
            "value": value,
            "flag": flag.where(flag != "", None),
        }
    )
    return Checked(rows if got.count == 0 else rows.iloc[0:0], got.problems(), got.count)


def _check_ids(got: _Collector, text: dict, catalogue: Catalogue) -> pd.Series:
    """Indicator ids from the catalogue and geo codes; returns which rows name a known indicator."""
    ids = list(catalogue.ids)
    known = text["indicator"].isin(ids)
    got.add(~known, "indicator", f"an indicator id from the catalogue ({', '.join(ids)}); {INDICATOR_HINT}")
    got.add(
        ~text["geo"].str.fullmatch(GEO_PATTERN.pattern.strip("^$")),
        "geo",
        "a geo code: a capital letter, then 1 to 15 capital letters, digits or _ (e.g. DE, EU27_2020)",
    )
    return known


def _check_periods(got: _Collector, text: dict, catalogue: Catalogue, known: pd.Series, today: dt.date) -> pd.Series:
    """Period form, the indicator's frequency, the earliest year and the future; returns the starts."""
    freq = per_unique(text["period"], frequency_of)
    good_period = freq != ""
    got.add(~good_period, "period", "a period YYYY-MM, YYYY-Qn or YYYY")
    wanted = text["indicator"].map({i.id: i.frequency for i in catalogue.indicators}).fillna("").astype("str")
    wrong_freq = known & good_period & (freq != wanted)
    if wrong_freq.any():
        got.add(wrong_freq, "period", wanted.map(PERIOD_FORMS).fillna("") + " for " + text["indicator"])
    first = earliest_year()
    year = pd.to_numeric(text["period"].str.slice(0, 4).where(good_period), errors="coerce")
    early = good_period & (year < first)
    got.add(early, "period", f"a period from {first} on (the earliest accepted year; {ENV_EARLIEST_YEAR} "
            "changes it)")
    start = per_unique(text["period"].where(good_period & ~early, str(first)), period_start)
    future = good_period & (start > pd.Timestamp(today))
    got.add(future, "period", f"a period that has started by {today.isoformat()}")
    return start


def _check_values(got: _Collector, text: dict, catalogue: Catalogue, known: pd.Series) -> pd.Series:
    """Numbers (ASCII digits only), in range and whole for counts; returns them as float."""
    raw = text["value"]
    present = raw != ""
    numeric = per_unique(raw, lambda u: u.str.fullmatch(NUMBER_RE).fillna(False)).astype(bool)
    other = present & ~numeric
    for pattern, found, expected in COMMA_NUMBERS if other.any() else ():
        hit = other & per_unique(raw, lambda u, p=pattern: u.str.fullmatch(p)).astype(bool)
        if hit.any():
            got.add(hit, "value", expected, found=raw[hit].map(quoted) + f" ({found})")
            other &= ~hit
    got.add(other, "value", "a number, or an empty cell for a missing value")
    value = per_unique(raw.where(numeric, ""), lambda u: pd.to_numeric(u.where(u != ""), errors="coerce"))
    value = value.astype("float64") + 0.0  # "-0" is stored as 0, never as -0.0
    percent = text["indicator"].isin([i.id for i in catalogue.indicators if i.unit == "percent"])
    got.add(numeric & percent & ((value < 0) | (value > 100)), "value", "a percentage from 0 to 100")
    got.add(numeric & ~percent & (value < 0), "value", "a count of 0 or more")
    # Counts of persons or passports are whole: only percentages take fractions ("12.5", "1e-320").
    units = text["indicator"].map({i.id: i.unit for i in catalogue.indicators}).fillna("").astype("str")
    got.add(numeric & known & ~percent & (value >= 0) & (np.floor(value) != value), "value",
            "a whole number of " + units)
    # Overflowing (9e999 reads as infinity) or absurd counts would break the statistics.
    got.add(numeric & ~percent & (value >= MAX_COUNT), "value", f"a count below {MAX_COUNT:.0e}")
    return value


def _check_duplicates(got: _Collector, text: dict, line: pd.Series) -> None:
    keys = ["indicator", "geo", "period"]
    keyed = pd.DataFrame({k: text[k] for k in keys}).assign(line=line)
    dup = keyed.duplicated(keys, keep="first")
    if dup.any():
        first = keyed.groupby(keys, sort=False)["line"].transform("first")
        found = "a second row for " + text["indicator"] + ", " + text["geo"] + ", " + text["period"]
        got.add(
            dup,
            None,
            "one row per indicator, geo and period (first on line " + first.astype(str) + ")",
            found=found,
        )


def with_indicator_hint(problems: Sequence[Problem], hint: str) -> list[Problem]:
    """The problems with the CLI's hint on an unknown indicator replaced by ``hint`` (the dashboard's)."""
    tail = "; " + INDICATOR_HINT
    return [
        replace(p, message=p.message.removesuffix(tail) + "; " + hint)
        if p.message.endswith(tail) else p
        for p in problems
    ]


def cross_file_duplicates(parts: Sequence[tuple[str, pd.DataFrame]]) -> tuple[list[Problem], int]:
    """Rows whose key appears in an earlier file of the same load (the later row is the problem)."""
    frames = [
        rows[["indicator", "geo", "period", "line"]].assign(file=name, order=n)
        for n, (name, rows) in enumerate(parts)
        if len(rows)
    ]
    if len(frames) < 2:
        return [], 0
    keys = ["indicator", "geo", "period"]
    both = pd.concat(frames, ignore_index=True)
    dup = both.duplicated(keys, keep="first")
    if not dup.any():
        return [], 0
    first = both.groupby(keys, sort=False)[["file", "line"]].transform("first")
    problems = [
        problem(
            r.file,
            int(r.line),
            f"a second row for {r.indicator}, {r.geo}, {r.period}",
            f"one row per indicator, geo and period in one load (first in {f.file}, line {int(f.line)})",
        )
        for r, f in zip(
            both[dup].head(MAX_PROBLEMS).itertuples(), first[dup].head(MAX_PROBLEMS).itertuples(), strict=True
        )
    ]
    return problems, int(dup.sum())
