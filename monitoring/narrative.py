"""One plain sentence per watch or alert, in the user's language.

    Asylum applications by Kosovo nationals in France, May 2026: 310, expected 140 (upper bound 205);
    +121% on May 2025; raised by seasonal baseline, visa rule vs last year.
"""

from __future__ import annotations

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
    holds those months), and is named so.
    """
    names = [c.strip() for c in (channels or "").split(",") if c.strip()]
    known = strings(DEFAULT_LANG)

    def key(c: str) -> str:
        return f"channel.{c}_quarter" if frequency == "Q" and f"channel.{c}_quarter" in known else f"channel.{c}"

    return ", ".join(t(key(c), lang) if key(c) in known else c for c in names)


def sentence(row: Mapping, indicator: Indicator, geo: str, lang: str = DEFAULT_LANG,
             catalogue: Catalogue | None = None) -> str:
    """The plain sentence for one scored period, in the language.

    ``row`` needs: period, observed, expected, lower, upper, last_year (the value a year earlier),
    channels and provisional. ``geo`` is the code: a destination reads "in France", an origin (the
    indicator's ``geo_role``) "(Germany)", and Kosovo's own series are named without a place.
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
    fired = t("narrative.fired", lang, channels=channel_names(row.get("channels", ""), lang,
                                                              period.freqstr[0].replace("Y", "A")))
    if bool(row.get("provisional")):
        return t("narrative.sentence_provisional", lang, subject=subject, observed=observed, yoy=yoy,
                 fired=fired, provisional=t("narrative.provisional", lang))
    return t("narrative.sentence", lang, subject=subject, observed=observed, yoy=yoy, fired=fired)
