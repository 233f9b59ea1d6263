"""The EU suspension criterion's status per row of a stored frame: a status, never an anomaly level.

``criterion`` ('below', 'above_30', 'above_50' with the thresholds as percentages, or missing when
not compared) is the law's arithmetic on two-month totals (:func:`monitoring.statistics.visa_rule.visa_rule`
stores them), with since when (``criterion_since``) and whether it rose at this period
(``criterion_crossed``); it never raises the level.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitoring.statistics.alarm import Rows
from monitoring.statistics.stored import column
from monitoring.statistics.visa_rule import (
    VisaRuleSettings,
    adjusted_change,
    criterion_code,
    crossings,
    run_starts,
)


def criterion_status(stored: pd.DataFrame, visa: VisaRuleSettings, rows: Rows, periods,
                     applies: bool) -> dict[str, np.ndarray]:
    """The criterion's status per row: the higher of its two legal comparisons (``criterion_code``)."""
    n = len(stored)
    v_obs = column(stored, "visa_observed")
    yoy, ref = column(stored, "visa_change_yoy"), column(stored, "visa_change_ref")
    with np.errstate(invalid="ignore"):
        ok_yoy = v_obs + column(stored, "visa_expected") >= visa.min_count
        ok_ref = v_obs + column(stored, "visa_reference") >= visa.min_count
    code = np.zeros(n, dtype=int)
    for d, mask in rows.sides:
        if mask.any():
            code = np.where(mask, criterion_code(yoy, ok_yoy, ref, ok_ref, visa, d), code)
    compared = (ok_yoy & ~np.isnan(yoy)) | (ok_ref & ~np.isnan(ref))
    if not applies:
        compared = np.zeros(n, dtype=bool)
    code = np.where(compared, code, 0)
    names = np.array(["below", f"above_{round(visa.watch * 100)}", f"above_{round(visa.alert * 100)}"], dtype=object)
    status = np.where(compared, names[code], None)
    starts = run_starts(code, rows.restart)
    period_text = np.asarray(periods.astype(str) if not isinstance(periods, pd.PeriodIndex) else periods.astype(str),
                             dtype=object)
    since = np.where(compared & (starts >= 0), period_text[np.maximum(starts, 0)] if n else period_text, None)
    adjusted = adjusted_change(v_obs, column(stored, "visa_reference_adjusted"))
    return {
        "change_yoy": np.where(applies, yoy, np.nan),
        "change_ref": np.where(applies, ref, np.nan),
        "change_adjusted": np.where(applies, adjusted, np.nan),
        "criterion": np.asarray(status, dtype=object),
        "criterion_since": np.asarray(since, dtype=object),
        # a crossing is a status not held in the previous quarter's periods (3 months; 1 quarter or year)
        "criterion_crossed": crossings(code, rows.restart, memory=np.maximum(1, rows.ppy // 4)) & compared,
    }
