"""The EU suspension criterion as the pages show it, read from the scan's results (never recomputed).

The scan computes the visa rule once per series-period (``monitoring.statistics.visa_rule``) and stores
its two-month totals and changes with the scores (``visa_observed``, ``visa_expected``,
``visa_reference``, ``visa_reference_adjusted``, ``visa_change_yoy``, ``visa_change_ref``) and the
criterion's status with the results (``criterion``, ``criterion_since``, ``criterion_crossed``).
The functions here read them: the explorer's chart of the changes, its one-line status, the
overview's list of series above a threshold, and the briefing's figures at one period.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.periods import PANDAS_FREQ, to_period
from indicators.store import Store, results
from monitoring.i18n import month_name, period_label, t
from monitoring.narrative import criterion_text
from monitoring.pipeline.labels import geo_label
from monitoring.statistics.derived import indicator_of
from monitoring.statistics.visa_rule import VisaRuleSettings, adjusted_change, change_levels

SINCE = dt.date(2023, 1, 1)  # the changes are shown from the year before the exemption on
# The scan's stored columns of the rule, and their names here (``year_before``: the same window a year earlier).
STORED = {"visa_observed": "observed", "visa_expected": "year_before", "visa_reference": "reference",
          "visa_reference_adjusted": "reference_adjusted", "visa_change_yoy": "change_yoy",
          "visa_change_ref": "change_ref"}
RULE_COLUMNS = ("indicator", "geo", "period", "period_start", *STORED.values(), "change_adjusted")
CHANGE_COLUMNS = ("period_start", "change_yoy", "change_ref", "change_adjusted")


def stored_rule(store: Store, *, since: dt.date | None = SINCE, indicator: str | None = None,
                geo: str | None = None) -> pd.DataFrame:
    """The visa rule as the scan stored it, per series-period from ``since`` (one series, or all).

    ``change_adjusted`` (against the reference rescaled to the season) is the stored window total over
    the stored adjusted reference, as the results compute it; missing where that is not finite.
    """
    scores = results.read_scores(store, since=since)
    if indicator is not None:
        scores = scores[scores["indicator"] == indicator]
    if geo is not None:
        scores = scores[scores["geo"] == geo]
    if scores.empty or not set(STORED) <= set(scores.columns):
        return pd.DataFrame(columns=list(RULE_COLUMNS))
    rule = scores[["indicator", "geo", "period", "period_start", *STORED]].rename(columns=STORED)
    rule = rule.assign(change_adjusted=adjusted_change(rule["observed"], rule["reference_adjusted"]))
    return rule.reset_index(drop=True)


def visa_changes(history: pd.DataFrame, rule: pd.DataFrame, indicator: Indicator) -> pd.DataFrame:
    """The visa rule's two-month changes (vs a year earlier, vs the reference months, seasonally
    adjusted) at each period of ``history`` since 2023, from the stored rule of the series (``rule``,
    :func:`stored_rule`); missing where the scan stored none. Empty for rates and annual series: the
    rule compares counts over two months, and the scan stores it for monthly and quarterly series only."""
    if history.empty or indicator.unit == "percent" or indicator.frequency == "A":
        return pd.DataFrame(columns=list(CHANGE_COLUMNS))
    shown = history.loc[history["period_start"] >= pd.Timestamp(SINCE), ["period"]]
    stored = rule.reindex(columns=["period", *CHANGE_COLUMNS[1:]])
    merged = shown.merge(stored, on="period", how="left")
    merged.insert(0, "period_start", history.loc[shown.index, "period_start"].to_numpy())
    return merged[list(CHANGE_COLUMNS)].astype({c: float for c in CHANGE_COLUMNS[1:]}).reset_index(drop=True)


CRITERION_COLUMNS = ("indicator", "geo", "period", "status", "since")


def criterion_table(res: pd.DataFrame, catalogue: Catalogue, lang: str
                    ) -> tuple[pd.DataFrame, tuple[tuple[int, int], ...], int]:
    """The EU suspension criterion at each series' latest period: the series above a threshold (the
    higher first, the longest-standing first), the count per status, and the new crossings."""
    empty = pd.DataFrame(columns=[*CRITERION_COLUMNS, "indicator_id", "geo_code", "crossed"])
    if res.empty or "criterion" not in res:
        return empty, (), 0
    latest = res[res["observed"].notna()].sort_values("period_start").groupby(["indicator", "geo"]).tail(1)
    above = latest[latest["criterion"].fillna("").astype(str).str.startswith("above_")].copy()
    crossed = int(latest["criterion_crossed"].fillna(False).astype(bool).sum())
    if above.empty:
        return empty, (), crossed
    above["pct"] = above["criterion"].str.removeprefix("above_").astype(int)
    above = above.sort_values(["pct", "criterion_since"], ascending=[False, True])
    rows = []
    for r in above.to_dict("records"):
        ind = indicator_of(catalogue, r["indicator"])
        if ind is None:
            continue
        rows.append({"indicator": ind.name_in(lang), "geo": geo_label(catalogue, r["geo"], lang),
                     "period": period_label(r["period"], lang), "status": criterion_text(r, ind, lang),
                     "since": period_label(r["criterion_since"], lang) if isinstance(r.get("criterion_since"), str)
                     else "", "indicator_id": r["indicator"], "geo_code": r["geo"],
                     "crossed": bool(r.get("criterion_crossed"))})
    table = pd.DataFrame(rows, columns=empty.columns)
    per_status = tuple((int(pct), int(n)) for pct, n in above["pct"].value_counts().sort_index(ascending=False).items())
    return table, per_status, crossed


def criterion_status(history: pd.DataFrame, indicator: Indicator, lang: str) -> str:
    """The EU suspension criterion at the series' latest period, in one line (its own status)."""
    if history.empty or "criterion" not in history:
        return ""
    rows = history[history["observed"].notna()]
    if rows.empty:
        return ""
    row = rows.iloc[-1].to_dict()
    when = period_label(row["period"], lang)
    status = row.get("criterion")
    if not isinstance(status, str):
        return t("explorer.criterion_line", lang, period=when, status=t("criterion.not_compared", lang))
    text = criterion_text(row, indicator, lang) or t("criterion.below", lang)
    return t("explorer.criterion_line", lang, period=when, status=text)


def reference_label(reference: tuple[str, ...], lang: str = "en", frequency: str = "M") -> str:
    """The visa rule's reference months as text: ``November–December 2023`` (``Q4 2023`` for a
    quarterly series, which is compared with the quarters holding those months)."""
    if not reference:
        return ""
    first, last = to_period(reference[0]), to_period(reference[-1])
    if frequency in ("Q", "A"):
        first, last = (p.asfreq(PANDAS_FREQ[frequency]) for p in (first, last))
    if first == last:
        return period_label(first, lang)
    if first.year == last.year and first.freqstr.startswith("M"):
        return f"{month_name(first.month, lang)}–{month_name(last.month, lang)} {first.year}"
    return f"{period_label(first, lang)} – {period_label(last, lang)}"


STATUSES = ("below", "above_watch", "above_alert")


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def status_at(row: dict, rule: VisaRuleSettings, direction: str) -> str:
    """The criterion's status (``below``, ``above_watch``, ``above_alert``) of one stored period at the
    thresholds of ``rule``: the higher of its two comparisons, each counted only when the windows
    compared total at least ``rule.min_count`` (the thresholds applied to the stored changes, as the
    results apply them)."""
    direction = rule.direction or direction
    code = 0
    observed = np.nan if _missing(row.get("observed")) else float(row["observed"])
    for change, base in ((row.get("change_yoy"), row.get("year_before")), (row.get("change_ref"), row.get("reference"))):
        base = np.nan if _missing(base) else float(base)
        change = np.nan if _missing(change) else float(change)
        with np.errstate(invalid="ignore"):
            ok = observed + base >= rule.min_count
        code = max(code, int(change_levels([change], [ok], rule.watch, rule.alert, direction)[0]))
    return STATUSES[code]
