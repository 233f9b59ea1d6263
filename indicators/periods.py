"""Reporting periods: monthly ``YYYY-MM``, quarterly ``YYYY-Qn``, annual ``YYYY``."""

from __future__ import annotations

import datetime as dt
import functools
import re

import pandas as pd

FREQUENCIES = ("M", "Q", "A")
# pandas frequency aliases for each catalogue frequency.
PANDAS_FREQ = {"M": "M", "Q": "Q-DEC", "A": "Y-DEC"}
PERIODS_PER_YEAR = {"M": 12, "Q": 4, "A": 1}

_PATTERNS = {
    "M": re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])$"),
    "Q": re.compile(r"^([0-9]{4})-Q([1-4])$"),
    "A": re.compile(r"^([0-9]{4})$"),
}
# Eurostat writes months as 2024M01 / 2024-01 and quarters as 2024Q1 / 2024-Q1.
_EUROSTAT = {
    "M": re.compile(r"^([0-9]{4})-?M?(0[1-9]|1[0-2])$"),
    "Q": re.compile(r"^([0-9]{4})-?Q([1-4])$"),
    "A": re.compile(r"^([0-9]{4})$"),
}


def frequency_of(text: str) -> str | None:
    """The frequency (M, Q or A) of a canonical period string, or None when it is not one."""
    for freq, pattern in _PATTERNS.items():
        if pattern.match(text):
            return freq
    return None


def normalise_eurostat(text: str) -> str | None:
    """A Eurostat time label (``2024M01``, ``2024-01``, ``2024Q1``, ``2024``) in canonical form."""
    text = text.strip()
    for freq, pattern in _EUROSTAT.items():
        m = pattern.match(text)
        if m:
            if freq == "M":
                return f"{m.group(1)}-{m.group(2)}"
            if freq == "Q":
                return f"{m.group(1)}-Q{m.group(2)}"
            return m.group(1)
    return None


@functools.lru_cache(maxsize=8192)  # Periods are immutable; a re-level asks for the same few hundred often
def to_period(text: str) -> pd.Period:
    """A canonical period string as a pandas Period (raises ValueError on anything else)."""
    freq = frequency_of(text)
    if freq is None:
        raise ValueError(f"not a period: {text!r} (expected YYYY-MM, YYYY-Qn or YYYY)")
    if freq == "Q":
        return pd.Period(text.replace("-", ""), freq=PANDAS_FREQ["Q"])
    return pd.Period(text, freq=PANDAS_FREQ[freq])


def to_text(period: pd.Period) -> str:
    """A pandas Period as its canonical string."""
    freqstr = period.freqstr
    if freqstr.startswith("M"):
        return f"{period.year:04d}-{period.month:02d}"
    if freqstr.startswith("Q"):
        return f"{period.year:04d}-Q{period.quarter}"
    return f"{period.year:04d}"


def _months(text: str) -> tuple[int, int, int] | None:
    """(year, first month, last month) of a canonical period, or None when it is not one."""
    for freq, pattern in _PATTERNS.items():
        m = pattern.match(text)
        if m:
            year, part = int(m.group(1)), int(m.group(2)) if freq != "A" else 1
            first = 3 * part - 2 if freq == "Q" else part
            return year, first, first + {"M": 0, "Q": 2, "A": 11}[freq]
    return None


def period_bounds(first: str | None, last: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The dates between which a period range's periods start: the first day of ``first`` and the last
    day of ``last`` (None: no bound). ``ValueError`` naming the bound that is not a period, or a reversed
    range. Plain dates, so that a range can reach back to a period pandas cannot hold."""
    bounds: list[dt.date | None] = []
    for name, text, end in (("--from", first, False), ("--to", last, True)):
        parts = None if text is None else _months(text)
        if text is not None and (parts is None or parts[0] < 1):
            raise ValueError(f"{name}: found {text!r}; expected a period YYYY-MM, YYYY-Qn or YYYY (year 1 or later)")
        if parts is None:
            bounds.append(None)
            continue
        year, month = parts[0], parts[2 if end else 1]
        day = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1) if end else dt.date(year, month, 1)
        bounds.append(day)
    since, until = bounds
    if since is not None and until is not None and since > until:
        raise ValueError(f"--from {first} is after --to {last}")
    return since, until

