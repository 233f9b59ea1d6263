"""User-facing strings in English, Albanian and Serbian (Latin), with number, month and date formats.

Strings live in one TOML catalogue per language (``monitoring/locales/<lang>.toml``); code asks
for them by key with ``t(key, lang, **values)``. A key missing in a language falls back to English.
Numbers, month names and dates come from CLDR through Babel (locales ``en``, ``sq``, ``sr_Latn``).
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from decimal import ROUND_HALF_UP, Decimal
from functools import cache, lru_cache
from pathlib import Path

import pandas as pd
from babel.dates import format_date, get_month_names
from babel.numbers import format_decimal, format_percent

LANGUAGES = {"en": "English", "sq": "Shqip", "sr": "Srpski"}
DEFAULT_LANG = "en"
_DIR = Path(__file__).with_name("locales")
# The CLDR locale of each language (Serbian in Latin script).
CLDR = {"en": "en", "sq": "sq", "sr": "sr_Latn"}


def cldr(lang: str) -> str:
    """The Babel locale of a language (English for an unknown one)."""
    return CLDR.get(lang, CLDR[DEFAULT_LANG])


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


@cache
def _seeded_events() -> dict[str, str]:
    """The seeded events' English labels -> their keys in the ``event`` table."""
    return {text: key for key, text in strings(DEFAULT_LANG).items() if key.startswith("event.")}


def event_label(label: str, lang: str = DEFAULT_LANG, created_by: str | None = "system") -> str:
    """An event's label in the language: the events the database is seeded with (added by ``system``,
    label unchanged) are translated; those users add or edit are shown as written."""
    key = _seeded_events().get(label) if created_by == "system" else None
    return t(key, lang) if key else label


def _half_up(value: float, decimals: int) -> Decimal:
    """Rounded half up, as people round (6.25 -> 6.3), not half-to-even on binary floats; never -0."""
    rounded = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


def number(value: float | None, lang: str = DEFAULT_LANG, decimals: int = 0) -> str:
    """A number formatted for the language by CLDR (``1,234`` in English, ``1.234`` in Serbian,
    ``1 234`` with a no-break space in Albanian)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return _decimal_text(_half_up(value, max(decimals, 0)), max(decimals, 0), lang)


# CLDR formatting costs ~0.07 ms a call (babel parses the pattern and locale each time); a re-levelling
# writes a sentence per alarming period, mostly with the same few thousand whole numbers (benchmarks/writes.py).
@lru_cache(maxsize=1 << 16)
def _decimal_text(rounded: Decimal, decimals: int, lang: str) -> str:
    pattern = "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(rounded, format=pattern, locale=cldr(lang))


@lru_cache(maxsize=1 << 14)
def _percent_text(rounded: Decimal, lang: str) -> str:
    return format_percent(rounded / 100, format="#,##0%", locale=cldr(lang))


@cache
def _month_names(lang: str) -> dict:
    return dict(get_month_names("wide", context="stand-alone", locale=cldr(lang)))


def percent(change: float | None, lang: str = DEFAULT_LANG) -> str:
    """A signed percentage change: ``+121%``."""
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return "–"
    rounded = _half_up(abs(change) * 100, 0)
    text = _percent_text(rounded, lang)
    if rounded == 0:  # rounds to zero: no sign ("0%", never "−0%")
        return text
    return ("+" if change > 0 else "−") + text


def month_name(month: int, lang: str = DEFAULT_LANG) -> str:
    """The month's name standing alone (``May``, ``maj``), as in ``May 2026`` or ``March–May``."""
    return _month_names(lang)[int(month)]


def date_text(day: dt.date, lang: str = DEFAULT_LANG) -> str:
    """A date in words, CLDR's long form: ``November 26, 2026``, ``26 nëntor 2026``, ``26. novembar 2026.``."""
    return format_date(day, format="long", locale=cldr(lang))


def period_label(period: pd.Period | str, lang: str = DEFAULT_LANG) -> str:
    """``May 2026``, ``2026 Q2`` or ``2026`` in the language."""
    if isinstance(period, str):
        from indicators.periods import to_period

        period = to_period(period)
    freq = period.freqstr
    if freq.startswith("M"):
        return f"{month_name(period.month, lang)} {period.year}"
    if freq.startswith("Q"):
        return t("period.quarter", lang, year=period.year, quarter=period.quarter)
    return str(period.year)
