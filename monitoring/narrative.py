"""One plain sentence per watch or alert, in the user's language.

    Asylum applications by Kosovo nationals in France, May 2026: 310, expected 140 (upper bound 205);
    +121% on May 2025; raised by seasonal baseline, visa rule vs last year.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import pandas as pd

from indicators.catalogue import Catalogue, Indicator
from indicators.periods import PERIODS_PER_YEAR, to_period
from monitoring.i18n import DEFAULT_LANG, number, percent, period_label, strings, t


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


HOME = "XK"


def geo_name(code: str, lang: str = DEFAULT_LANG, catalogue: Catalogue | None = None) -> str:
    """A geo's name in the language (``geo.DE``), else the catalogue's name, else the code."""
    key = f"geo.{code}"
    if key in strings(lang) or key in strings(DEFAULT_LANG):
        return t(key, lang)
    return catalogue.geo_name(code) if catalogue is not None else code


def geo_in(code: str, lang: str = DEFAULT_LANG, catalogue: Catalogue | None = None) -> str:
    """The geo as it reads after "in" (Serbian locative "u Nemačkoj", Albanian "në Gjermani")."""
    key = f"geo_in.{code}"
    return t(key, lang) if key in strings(lang) else geo_name(code, lang, catalogue)


@functools.lru_cache(maxsize=8192)
def year_earlier(period: pd.Period) -> pd.Period:
    """The same period a year earlier (12 months, 4 quarters or 1 year back)."""
    return period - PERIODS_PER_YEAR[period.freqstr[0].replace("Y", "A")]


def value_text(value, indicator: Indicator, lang: str = DEFAULT_LANG) -> str:
    """A value in the indicator's unit: a count, or a percentage with one decimal."""
    if _missing(value):
        return "–"
    if indicator.unit == "percent":
        return number(value, lang, 1) + "%"
    return number(value, lang, 0)


def channel_names(channels: str, lang: str = DEFAULT_LANG, frequency: str = "M") -> str:
    """``glm,visa_yoy`` as ``seasonal baseline, visa rule vs last year``.

    A quarterly series meets the visa rule's Nov–Dec 2023 reference as Q4 2023 (the quarter that
    holds those months), and is named so; an annual series' GLM is the annual baseline (no season).
    """
    names = [c.strip() for c in (channels or "").split(",") if c.strip()]
    known = strings(DEFAULT_LANG)

    suffix = {"Q": "_quarter", "A": "_annual"}.get(frequency, "")

    def key(c: str) -> str:
        return f"channel.{c}{suffix}" if suffix and f"channel.{c}{suffix}" in known else f"channel.{c}"

    return ", ".join(t(key(c), lang) if key(c) in known else c for c in names)


def _value(row: Mapping, key: str):
    value = row.get(key)
    return None if _missing(value) else value


def criterion_text(row: Mapping, indicator: Indicator, lang: str = DEFAULT_LANG) -> str:
    """The EU suspension criterion's status in words, or "" when below or not compared.

    "EU suspension criterion: above +50% on November–December 2023 since February 2024
    (31 months)", or "... newly crossed: above +30% on the same months a year earlier" at a crossing.
    """
    status = row.get("criterion")
    if not isinstance(status, str) or not status.startswith("above_"):
        return ""
    pct = status.removeprefix("above_")
    freq = indicator.frequency
    yoy, ref = _value(row, "change_yoy"), _value(row, "change_ref")
    fall = indicator.bad_direction == "down"
    key = lambda v: (-v if fall else v) if v is not None else -math.inf  # noqa: E731
    compared = "ref" if key(ref) >= key(yoy) else "yoy"
    change = ref if compared == "ref" else yoy
    against = t(f"criterion.against_{compared}" + ("_quarter" if freq == "Q" and compared == "ref" else ""), lang)
    sign = "below" if fall else "above"
    what = t(f"criterion.status_{sign}", lang, pct=pct, change=percent(change, lang), against=against)
    if bool(row.get("criterion_crossed")):
        return t("criterion.crossed", lang, status=what)
    since = row.get("criterion_since")
    if not isinstance(since, str) or not since:
        return t("criterion.standing", lang, status=what)
    start, now = to_period(since), to_period(str(row["period"]))
    count = max(1, (now - start).n + 1)
    if count == 1:  # it rose to this status at this very period
        return t("criterion.since_now", lang, status=what, since=period_label(start, lang))
    unit = t("criterion.quarters" if freq == "Q" else "criterion.years" if freq == "A" else "criterion.months", lang)
    return t("criterion.since", lang, status=what, since=period_label(start, lang), count=count, unit=unit)


def anomaly_text(row: Mapping, indicator: Indicator, lang: str = DEFAULT_LANG) -> str:
    """How the anomaly was found: the channels, and for a test of several periods what was tested."""
    freq = indicator.frequency
    channels = channel_names(row.get("channels", ""), lang, freq)
    k = row.get("tested_periods")
    k = 1 if _missing(k) else int(k)
    if k > 1 and not _missing(row.get("tested_observed")) and "glr" in str(row.get("channels") or ""):
        unit = t("criterion.quarters" if freq == "Q" else "criterion.months", lang)
        tested = t("narrative.tested", lang, periods=k, unit=unit,
                   observed=value_text(row["tested_observed"], indicator, lang),
                   expected=value_text(row.get("tested_expected"), indicator, lang),
                   bound=value_text(row.get("tested_bound"), indicator, lang))
        return t("narrative.fired_tested", lang, channels=channels, tested=tested)
    shift = row.get("shift_start")
    if isinstance(shift, str) and shift and "cusum" in str(row.get("channels") or ""):
        return t("narrative.fired_shift", lang, channels=channels, since=period_label(to_period(shift), lang))
    return t("narrative.fired", lang, channels=channels)


def good_news(row: Mapping, indicator: Indicator) -> str | None:
    """The string key saying a period is well off expected in the good direction, else None.

    "Well above expected" for an indicator whose fall is the concern (returns, readmissions, the
    recognition rate) is past the upper bound (or above expected when there is no bound): good news,
    never an alarm; likewise well below expected for one whose rise is the concern.
    """
    observed, expected = _value(row, "observed"), _value(row, "expected")
    if observed is None or expected is None or indicator.bad_direction == "both":
        return None
    if indicator.bad_direction == "down":
        bound = _value(row, "upper")
        if observed > (expected if bound is None else max(bound, expected)):
            return "narrative.good_news_above_return" if indicator.category == "return" else "narrative.good_news_above"
        return None
    bound = _value(row, "lower")
    if observed < (expected if bound is None else min(bound, expected)):
        return "narrative.good_news_below"
    return None


def sentence(row: Mapping, indicator: Indicator, geo: str, lang: str = DEFAULT_LANG,
             catalogue: Catalogue | None = None) -> str:
    """The plain sentence for one scored period, in the language.

    ``row`` needs: period, observed, expected, lower, upper, last_year (the value a year earlier),
    level, channels and provisional; optionally what the anomaly test tested (tested_periods,
    tested_observed, tested_expected, tested_bound), shift_start, and the EU suspension criterion
    (criterion, criterion_since, criterion_crossed, change_yoy, change_ref). ``geo`` is the code: a
    destination reads "in France", an origin (the indicator's ``geo_role``) "(Germany)", and Kosovo's
    own series are named without a place.

    A period flagged in the good direction (well above expected where a fall is the concern, as for
    returns) reads as good news, "above expected: good news for returns; not an alarm".

    The two questions are said apart: an anomaly (level watch or alert) says how it was found and,
    when the criterion is above a threshold too, adds the criterion's status; a criterion crossing
    without an anomaly (level normal) is said as a status, "not abnormal for this series".
    """
    period = row["period"] if isinstance(row["period"], pd.Period) else to_period(str(row["period"]))
    name = indicator.name_in(lang)
    when = period_label(period, lang)
    if geo == HOME or indicator.geo_role == "home":
        subject = t("narrative.subject_home", lang, indicator=name, period=when)
    elif indicator.geo_role == "origin":
        subject = t("narrative.subject_origin", lang, indicator=name, geo=geo_name(geo, lang, catalogue),
                    period=when)
    else:
        subject = t("narrative.subject", lang, indicator=name, geo=geo_in(geo, lang, catalogue), period=when)
    news = good_news(row, indicator) if row.get("level", "alert") in ("watch", "alert") else None
    if news:  # flagged, but in the good direction (e.g. results from before a direction was corrected)
        return t("narrative.sentence_good_news", lang, subject=subject, news=t(news, lang),
                 observed=value_text(row["observed"], indicator, lang),
                 expected=value_text(row["expected"], indicator, lang))
    observed = t(
        f"narrative.observed_{indicator.bad_direction}",
        lang,
        observed=value_text(row["observed"], indicator, lang),
        expected=value_text(row["expected"], indicator, lang),
        lower=value_text(row.get("lower"), indicator, lang),
        upper=value_text(row.get("upper"), indicator, lang),
    )
    year_ago = period_label(year_earlier(period), lang)
    last_year = row.get("last_year")
    if _missing(last_year) or last_year == 0 or _missing(row["observed"]):
        yoy = t("narrative.no_yoy", lang, period=year_ago)
    else:
        yoy = t("narrative.yoy", lang, change=percent(row["observed"] / last_year - 1, lang), period=year_ago)
    criterion = criterion_text(row, indicator, lang)
    if row.get("level", "alert") not in ("watch", "alert"):
        if not criterion:
            return ""
        return t("narrative.sentence_criterion", lang, subject=subject, criterion=criterion,
                 expected=value_text(row["expected"], indicator, lang),
                 observed=value_text(row["observed"], indicator, lang))
    fired = anomaly_text(row, indicator, lang)
    if criterion:
        fired = f"{fired}; {criterion}"
    if bool(row.get("provisional")):
        return t("narrative.sentence_provisional", lang, subject=subject, observed=observed, yoy=yoy,
                 fired=fired, provisional=t("narrative.provisional", lang))
    return t("narrative.sentence", lang, subject=subject, observed=observed, yoy=yoy, fired=fired)


def episodes_text(count, lang: str = DEFAULT_LANG) -> str:
    """``Open episodes: 3 (1 alert, 2 watch)`` in the language (``count``: an ``EpisodeCount``)."""
    return t("episodes.count", lang, n=count.total, alert=count.alert, watch=count.watch)
