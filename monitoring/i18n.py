"""User-facing strings in English, Albanian and Serbian (Latin), with number and month formats.

Strings live in one TOML catalogue per language (``monitoring/locales/<lang>.toml``); code asks
for them by key with ``t(key, lang, **values)``. A key missing in a language falls back to English.
"""

from __future__ import annotations

import math
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path

import pandas as pd

LANGUAGES = {"en": "English", "sq": "Shqip", "sr": "Srpski"}
DEFAULT_LANG = "en"
_DIR = Path(__file__).with_name("locales")
# Thousands and decimal separators by language (CLDR: sq and sr use a dot/space and a comma).
_SEPARATORS = {"en": (",", "."), "sq": ("\u202f", ","), "sr": (".", ",")}


@cache
def strings(lang: str) -> dict[str, str]:
    """The flat key -> text catalogue of a language."""
    path = _DIR / f"{lang}.toml"
    if not path.exists():
        raise KeyError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    with path.open("rb") as fh:
        return _flatten(tomllib.load(fh))


def _flatten(data: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def t(key: str, lang: str = DEFAULT_LANG, /, **values) -> str:
    """The text for ``key`` in ``lang`` with ``{placeholders}`` filled in."""
    text = strings(lang).get(key)
    if text is None:
        text = strings(DEFAULT_LANG)[key]
    return text.format(**values) if values else text


def number(value: float | None, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number formatted for the language (``1,234`` in English, ``1.234`` in Serbian)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    thousands, decimal = _SEPARATORS.get(lang, _SEPARATORS["en"])
    # Half up, as people round (6.25 -> 6.3), not Python's half-to-even on binary floats.
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    text = f"{rounded:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands)


def percent(change: float | None, lang: str = DEFAULT_LANG) -> str:
    """A signed percentage change: ``+121%``."""
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return "–"
    text = number(abs(change) * 100, lang)
    if text.strip("0.,\u202f") == "":  # rounds to zero: no sign ("0%", never "−0%")
        return text + "%"
    return ("+" if change > 0 else "−") + text + "%"


def period_label(period: pd.Period | str, lang: str = DEFAULT_LANG) -> str:
    """``May 2026``, ``2026 Q2`` or ``2026`` in the language."""
    if isinstance(period, str):
        from indicators.periods import to_period

        period = to_period(period)
    freq = period.freqstr
    if freq.startswith("M"):
        return t(f"month.{period.month}", lang) + f" {period.year}"
    if freq.startswith("Q"):
        return t("period.quarter", lang, year=period.year, quarter=period.quarter)
    return str(period.year)
