"""Export sheets of the page tables (CSV/XLSX): the same rows as on screen, numbers as numbers and
periods as dates; headers are the column keys, said in the language by :func:`sheet_headers`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from monitoring.i18n import t
from monitoring.narrative import channel_names
from monitoring.pipeline.labels import flag_text, geo_label, sentence_for, unit_label
from monitoring.statistics.derived import indicator_of
from monitoring.tables import Sheet, change_cell, period_cell, sheet, value_cell

SHEET_COLUMNS = ("level", "indicator", "geo", "start", "period", "provisional", "unit", "observed", "expected",
                 "upper", "change", "reason", "channels")


def sheet_headers(columns, lang: str) -> dict[str, str]:
    """Column names of an exported table in the language (``col.<name>``)."""
    return {c: t(f"col.{c}", lang) for c in columns}


def current_sheet(rows: pd.DataFrame, catalogue: Catalogue, lang: str) -> Sheet:
    """The rows of the current-alerts table (``views.display_rows``) for CSV/XLSX: numbers as numbers (a
    change of +122% as 1.22), periods as dates, with the same text columns; headers are the column keys
    (see ``sheet_headers``)."""
    cols: dict[str, list] = {c: [] for c in SHEET_COLUMNS}
    for r in rows.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        last_year = r.get("last_year")
        change = (r["observed"] / last_year - 1) if last_year and not pd.isna(last_year) \
            and not pd.isna(r["observed"]) else None
        bound = r["lower"] if ind.bad_direction == "down" else r["upper"]
        cells = {"level": t(f"level.{r['level']}", lang), "indicator": ind.name_in(lang),
                 "geo": geo_label(catalogue, r["geo"], lang), "start": period_cell(r.get("start_period")),
                 "period": period_cell(r["period"]), "provisional": bool(r.get("provisional")),
                 "unit": unit_label(ind.unit, lang), "observed": value_cell(r["observed"], ind.unit),
                 "expected": value_cell(r["expected"], ind.unit), "upper": value_cell(bound, ind.unit),
                 "change": change_cell(change), "reason": sentence_for(r, catalogue, lang),
                 "channels": channel_names(r.get("channels") or "", lang, ind.frequency)}
        for c in SHEET_COLUMNS:
            cols[c].append(cells[c])
    return sheet(cols)


def recent_sheet(history: pd.DataFrame, indicator: Indicator, lang: str, n: int = 12) -> Sheet:
    """The explorer's recent values (``views.recent_table``) for CSV/XLSX: periods as dates, values and
    scores as numbers."""
    rows = history.tail(n).iloc[::-1]
    scores = rows.get("score", pd.Series(np.nan, index=rows.index))
    unit = indicator.unit
    return sheet({
        "period": [period_cell(p) for p in rows["period"]],
        "observed": [value_cell(v, unit) for v in rows["observed"]],
        "expected": [value_cell(v, unit) for v in rows["expected"]],
        "lower": [value_cell(v, unit) for v in rows["lower"]],
        "upper": [value_cell(v, unit) for v in rows["upper"]],
        "score": [(None, None) if pd.isna(v) else (round(float(v), 4), "0.00") for v in scores],
        "level": [t(f"level.{lv}", lang) if isinstance(lv, str) and lv else "" for lv in rows["level"]],
        "flag": [flag_text(f, lang) for f in rows["flag"]]})
