"""Labels shared by the page data, the export sheets and the criterion: names of destinations, units,
Eurostat flags, and the plain sentence of an alarming row, in the user's language."""

from __future__ import annotations

import pandas as pd

from indicators.catalogue import Catalogue
from indicators.periods import to_period
from monitoring.i18n import strings, t
from monitoring.narrative import geo_name, sentence
from monitoring.statistics.derived import EU_PLUS, indicator_of

SEVERITY = {"alert": 2, "watch": 1}


def geo_label(catalogue: Catalogue, geo: str, lang: str) -> str:
    """A destination's name for tables and titles ("EU+ total" for the EU+ aggregate)."""
    return t("ui.eu_plus", lang) if geo == EU_PLUS else geo_name(geo, lang, catalogue)


def unit_label(unit: str, lang: str) -> str:
    return t(f"unit.{unit}", lang) if f"unit.{unit}" in strings("en") else unit


def sentence_for(row: dict, catalogue: Catalogue, lang: str) -> str:
    """The plain sentence of a watch or alert row in the language (stored reasons are English)."""
    ind = indicator_of(catalogue, row["indicator"])
    if ind is None or row.get("level") not in SEVERITY:
        return ""
    return sentence(row, ind, row["geo"], lang, catalogue)


def with_starts(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each period's first day (``period_start``), for sorting and plotting."""
    if frame.empty:
        return frame.assign(period_start=pd.Series(dtype="datetime64[ns]"))
    starts = {p: to_period(p).start_time for p in frame["period"].unique()}
    return frame.assign(period_start=frame["period"].map(starts))


def flag_text(flag, lang: str) -> str:
    """A Eurostat flag (``p``, ``e``, ``b``, ``c``, ``u``) in words; any other flag as written."""
    if not isinstance(flag, str) or not flag:
        return ""
    return t(f"flag.{flag}", lang) if flag in "pebcu" else flag
