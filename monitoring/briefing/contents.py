"""The content of a briefing for one month and language, shared by the deck and the note.

The briefing reads stored results and episodes (no fitting): the alert episodes open in the
reporting month (one signal each, at its latest alarming period, with the episode's peak level:
the same count as every other surface), their plain sentences and EU-criterion figures, the
overall status, the data sources and the caveats (provisional figures, synthetic data).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.periods import to_period
from indicators.store import Store, episodes, observations, results
from monitoring.i18n import DEFAULT_LANG, month_name, number, percent, period_label, strings, t
from monitoring.narrative import geo_name, sentence, value_text
from monitoring.pipeline.criterion_view import reference_label, status_at, stored_rule
from monitoring.pipeline.session import Desk
from monitoring.pipeline.views import history_frame, indicator_of
from monitoring.settings import MonitorSettings

SEVERITY = {"alert": 2, "watch": 1}
SELECTIONS = ("top", "all", "alert")
TOP = 5  # signal slides of the default deck: the alerts (or, with none, the watches) that matter most
CHART_YEARS = 5  # the chart of a signal shows this many years up to its period
HOME = "XK"


class BriefingError(ValueError):
    """A briefing that cannot be assembled (no results, unknown period or language)."""


@dataclass(frozen=True)
class VisaFigures:
    """The visa-suspension rule at one period: window sums and changes (None where not compared)."""

    window: str  # e.g. "September–October 2026" or "Q3 2026"
    observed: float | None
    year_before: float | None
    reference: float | None
    change_yoy: float | None
    change_ref: float | None
    level: str  # normal, watch or alert by the rule alone
    reference_label: str = ""  # the reference as compared: "November–December 2023", or "Q4 2023"


@dataclass(frozen=True)
class Signal:
    """One alert or watch in the briefing."""

    indicator_id: str
    geo: str
    period: str
    level: str
    provisional: bool
    score: float
    indicator_name: str
    geo_label: str
    period_label: str
    sentence: str
    observed: str
    expected: str
    bound: str
    bound_label: str
    change: str
    source: str
    visa: VisaFigures | None
    history: pd.DataFrame = field(repr=False, compare=False, default_factory=pd.DataFrame)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.indicator_id, self.geo, self.period)

    @property
    def title(self) -> str:
        return f"{self.indicator_name} – {self.geo_label}"


@dataclass(frozen=True)
class Briefing:
    """Everything a deck or a note says about one reporting month."""

    lang: str
    period: pd.Period
    period_label: str
    status: str  # alert, watch, normal or no_data
    alerts: int
    watches: int
    series: int
    signals: tuple[Signal, ...]
    provisional_periods: tuple[str, ...]
    sources: tuple[tuple[str, str], ...]  # (source line, indicator names)
    synthetic: bool
    prepared: dt.date
    visa_watch: float
    visa_alert: float
    reference: str

    def top(self, limit: int = TOP) -> tuple[Signal, ...]:
        """The signals that matter most, ranked as the overview ranks them (peak level, then score):
        the alerts, at most ``limit``; the leading watches when there is no alert."""
        alerts = [s for s in self.signals if s.level == "alert"]
        return tuple((alerts or list(self.signals))[:limit])

    def selected(self, which: str = "top", keys=None) -> tuple[Signal, ...]:
        """The signals with a slide of their own: ``top`` (:meth:`top`), ``all`` (alerts and watches)
        or ``alert`` only; or, when given, exactly the signals with those keys (in ranking order)."""
        if which not in SELECTIONS:
            raise BriefingError(t("brief.bad_selection", DEFAULT_LANG, which=which,
                                  choices=", ".join(SELECTIONS)))
        if keys is not None:
            wanted = {tuple(k) for k in keys}
            return tuple(s for s in self.signals if s.key in wanted)
        if which == "top":
            return self.top()
        return tuple(s for s in self.signals if which == "all" or s.level == "alert")

    def file_period(self) -> str:
        """The reporting month as file names carry it: ``2026-10`` (the data's month, not today's)."""
        return self.period.strftime("%Y-%m")

    def status_text(self) -> str:
        return t(f"brief.status_{self.status}", self.lang)

    def counts_text(self) -> str:
        return t("brief.counts", self.lang, n=self.alerts + self.watches, alerts=self.alerts, watches=self.watches,
                 series=self.series)


def latest_month(res: pd.DataFrame) -> pd.Period | None:
    """The latest monthly period with results."""
    months = [p for p in res["period"].unique() if len(p) == 7 and p[4] == "-"]
    return max(pd.Period(p, freq="M") for p in months) if months else None


def _as_month(period) -> pd.Period:
    if isinstance(period, pd.Period):
        return period.asfreq("M") if period.freqstr[0] == "M" else pd.Period(period.end_time, freq="M")
    try:
        return pd.Period(str(period), freq="M")
    except ValueError:
        raise BriefingError(t("brief.bad_period", DEFAULT_LANG, period=period)) from None


def current_rows(res: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    """Per series, its latest scored period as of ``month``, if at most one period behind it."""
    if res.empty:
        return res
    start = month.start_time
    rows = res[pd.to_datetime(res["period_start"]) <= start]
    rows = rows.sort_values("period_start").groupby(["indicator", "geo"], sort=False).tail(1)
    recent = [(to_period(p) + 1).end_time >= start for p in rows["period"]]
    return rows[recent].reset_index(drop=True)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def visa_figures(rule: dict | None, indicator: Indicator, period: str, settings: MonitorSettings,
                 lang: str) -> VisaFigures | None:
    """The visa rule's window sums and changes at ``period``, as the scan stored them (``rule``: the row
    of ``monitoring.pipeline.criterion_view.stored_rule`` at that period), at the thresholds of ``settings``;
    None for rates and annual series, where it does not apply, and where the scan stored none."""
    if indicator.unit == "percent" or indicator.frequency == "A" or rule is None:
        return None
    rule_settings = settings.for_indicator(indicator.id).visa_rule
    at = to_period(period)
    guard = rule_settings.min_count
    observed = rule.get("observed")

    def compared(change, base):
        ok = not _missing(change) and not _missing(base) and not _missing(observed) and observed + base >= guard
        return float(change) if ok and np.isfinite(change) else None

    if indicator.frequency == "M":
        first = at - 1
        window = (f"{month_name(first.month, lang)}–{period_label(at, lang)}" if first.year == at.year
                  else f"{period_label(first, lang)} – {period_label(at, lang)}")
    else:
        window = period_label(at, lang)
    # the criterion's own status (never an anomaly level): below, or above the lower / higher threshold
    return VisaFigures(window=window, observed=None if _missing(observed) else float(observed),
                       year_before=None if _missing(rule.get("year_before")) else float(rule["year_before"]),
                       reference=None if _missing(rule.get("reference")) else float(rule["reference"]),
                       change_yoy=compared(rule.get("change_yoy"), rule.get("year_before")),
                       change_ref=compared(rule.get("change_ref"), rule.get("reference")),
                       level=status_at(rule, rule_settings, indicator.bad_direction),
                       reference_label=reference_label(rule_settings.reference, lang, indicator.frequency))


def share(fraction: float, lang: str = DEFAULT_LANG) -> str:
    """A threshold as an unsigned percentage: 0.3 -> ``30%``."""
    return number(fraction * 100, lang) + "%"


def visa_lines(visa: VisaFigures | None, briefing: Briefing) -> list[str]:
    """The visa-rule figures as short lines of text for a slide or the note."""
    lang = briefing.lang
    if visa is None:
        return [t("brief.visa_na", lang)]

    def change(value, base):
        if value is None:
            return t("brief.visa_none", lang)
        return f"{percent(value, lang)} ({number(visa.observed, lang)} / {number(base, lang)})"

    return [
        t("brief.visa_window", lang, window=visa.window, total=number(visa.observed, lang)),
        t("brief.visa_yoy", lang, change=change(visa.change_yoy, visa.year_before)),
        t("brief.visa_ref", lang, reference=visa.reference_label or briefing.reference,
          change=change(visa.change_ref, visa.reference)),
        t("brief.visa_thresholds", lang, watch=share(briefing.visa_watch, lang),
          alert=share(briefing.visa_alert, lang)),
    ]


def _signal(row: dict, store: Store, catalogue: Catalogue, settings: MonitorSettings, lang: str,
            rules: dict | None = None) -> Signal | None:
    ind = indicator_of(catalogue, row["indicator"])
    if ind is None:
        return None
    geo = row["geo"]
    history = history_frame(store, ind, geo, catalogue.eu_plus_source)
    end = to_period(row["period"]).end_time
    if not history.empty:
        history = history[(history["period_start"] <= end)
                          & (history["period_start"] > end - pd.DateOffset(years=CHART_YEARS))]
        history = history.reset_index(drop=True)
    last_year = row.get("last_year")
    change = None if _missing(last_year) or not last_year or _missing(row["observed"]) \
        else row["observed"] / last_year - 1
    if ind.bad_direction == "both":
        bound_label = t("brief.figures_range", lang)
        bound = f"{value_text(row['lower'], ind, lang)}–{value_text(row['upper'], ind, lang)}"
    else:
        bound_label = t("col.lower" if ind.bad_direction == "down" else "col.upper", lang)
        bound = value_text(row["lower"] if ind.bad_direction == "down" else row["upper"], ind, lang)
    return Signal(
        indicator_id=ind.id, geo=geo, period=row["period"], level=row["level"],
        provisional=bool(row.get("provisional")), score=float(row["score"]) if not _missing(row["score"]) else 0.0,
        indicator_name=ind.name_in(lang), geo_label=geo_name(geo, lang, catalogue),
        period_label=period_label(row["period"], lang), sentence=sentence(row, ind, geo, lang, catalogue),
        observed=value_text(row["observed"], ind, lang), expected=value_text(row["expected"], ind, lang),
        bound=bound, bound_label=bound_label, change=percent(change, lang), source=ind.source_line_in(lang),
        visa=visa_figures((rules or {}).get((ind.id, geo, row["period"])), ind, row["period"], settings, lang),
        history=history)


def open_episode_signals(res: pd.DataFrame, stored: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    """One result row per alert episode open in ``month`` (the one count every surface shows): its
    latest alarming period up to the month, with the episode's peak level; most severe first.

    An episode is open in the month when it began by the month's end and had not resolved by then
    (for the latest month: the stored episodes still open).
    """
    if stored is None or not len(stored) or res.empty:
        return res.iloc[:0]
    end = month.end_time
    starts = pd.to_datetime(stored["start_date"])
    resolved = [None if not isinstance(p, str) else to_period(p).start_time for p in stored["resolved_period"]]
    still = pd.Series([r is None or r > end for r in resolved], index=stored.index)
    current = stored[(starts <= end) & still & (stored["state"] != "withdrawn")]
    res = res.assign(period_start=pd.to_datetime(res["period_start"]))
    alarming = res[res["level"].isin(list(SEVERITY)) & (res["period_start"] <= end)]
    latest = alarming.sort_values("period_start").groupby(["indicator", "geo"]).tail(1).set_index(["indicator", "geo"])
    rows = []
    for e in current.to_dict("records"):
        key = (e["indicator"], e["geo"])
        if key not in latest.index:
            continue
        row = latest.loc[key].to_dict()
        row.update(indicator=e["indicator"], geo=e["geo"], level=e["peak_level"])
        rows.append(row)
    if not rows:
        return res.iloc[:0]
    out = pd.DataFrame(rows)
    out["severity"] = out["level"].map(SEVERITY)
    return out.sort_values(["severity", "score"], ascending=[False, False], na_position="last")


def build_briefing(store: Store, catalogue: Catalogue, settings: MonitorSettings, *, period=None,
                   lang: str = DEFAULT_LANG, today: dt.date | None = None) -> Briefing:
    """Assemble the briefing for ``period`` (a month; default the latest with results) in ``lang``."""
    strings(lang)  # unknown language: KeyError with the choices
    res = results.read_results(store)
    if res.empty:
        raise BriefingError(t("brief.no_results", DEFAULT_LANG))
    latest = latest_month(res)
    month = _as_month(period) if period is not None else latest
    if month is None:
        raise BriefingError(t("brief.no_results", DEFAULT_LANG))
    rows = current_rows(res, month)
    if rows.empty:
        raise BriefingError(t("brief.no_period", DEFAULT_LANG, period=str(month), latest=str(latest)))
    alarms = open_episode_signals(res, episodes.read_episodes(store), month)
    rules = {(r["indicator"], r["geo"], r["period"]): r for r in stored_rule(store, since=None).to_dict("records")}
    signals = tuple(s for s in (_signal(r, store, catalogue, settings, lang, rules) for r in alarms.to_dict("records"))
                    if s is not None)
    n_alerts = sum(s.level == "alert" for s in signals)
    n_watches = sum(s.level == "watch" for s in signals)
    status = "alert" if n_alerts else "watch" if n_watches else "normal"
    provisional = rows[rows["provisional"].fillna(False).astype(bool)]
    prov_periods = tuple(period_label(p, lang) for p in sorted(provisional["period"].unique(),
                                                               key=lambda p: to_period(p).start_time))
    by_source: dict[str, list[str]] = {}
    for ind_id in dict.fromkeys(rows["indicator"]):
        ind = indicator_of(catalogue, ind_id)
        if ind is not None:
            by_source.setdefault(ind.source_line_in(lang), []).append(ind.name_in(lang))
    visa = settings.visa_rule
    return Briefing(
        lang=lang, period=month, period_label=period_label(month, lang), status=status, alerts=n_alerts,
        watches=n_watches, series=len(rows), signals=signals, provisional_periods=prov_periods,
        sources=tuple((src, ", ".join(names)) for src, names in by_source.items()),
        synthetic=observations.synthetic_in_use(store), prepared=today or dt.date.today(),
        visa_watch=visa.watch, visa_alert=visa.alert, reference=reference_label(visa.reference, lang))


def signal_table(signals, lang: str, *, visa: bool = True) -> pd.DataFrame:
    """The signals as a table with headers in the language (for the deck, the note and XLSX/CSV)."""
    rows = []
    for s in signals:
        row = {
            t("col.level", lang): t(f"level.{s.level}", lang),
            t("col.indicator", lang): s.indicator_name,
            t("col.geo", lang): s.geo_label,
            t("col.period", lang): s.period_label + (" *" if s.provisional else ""),
            t("col.observed", lang): s.observed,
            t("col.expected", lang): s.expected,
            t("col.change", lang): s.change,
        }
        if visa:
            yoy = s.visa.change_yoy if s.visa else None
            ref = s.visa.change_ref if s.visa else None
            row[t("brief.col_visa_yoy", lang)] = percent(yoy, lang)
            row[t("brief.col_visa_ref", lang)] = percent(ref, lang)
        rows.append(row)
    return pd.DataFrame(rows)


def caveat_lines(b: Briefing, shown: int | None = None) -> list[str]:
    """The caveats of a briefing: provisional periods, synthetic data, method, selection."""
    lang = b.lang
    lines = []
    if b.synthetic:
        lines.append(t("brief.caveat_synthetic", lang))
    if b.provisional_periods:
        lines.append(t("brief.caveat_provisional", lang, periods=", ".join(b.provisional_periods)))
    else:
        lines.append(t("brief.caveat_no_provisional", lang))
    lines.append(t("brief.caveat_method", lang))
    if shown is not None and shown < len(b.signals):
        lines.append(t("brief.caveat_selection", lang, shown=shown, total=len(b.signals)))
    return lines


def latest_briefing(desk: Desk, settings: MonitorSettings, lang: str, today: dt.date) -> Briefing | None:
    """The briefing of the latest reporting month of an open database (the dashboard's), or None
    without scored results."""
    try:
        return build_briefing(desk.store, desk.catalogue, settings, lang=lang, today=today)
    except BriefingError:
        return None
