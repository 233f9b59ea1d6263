"""Reporting periods: monthly ``YYYY-MM``, quarterly ``YYYY-Qn``, annual ``YYYY``."""

from __future__ import annotations

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


