"""The digest as a mail: subject, plain-text and HTML parts in the language, a small PNG chart per line
inline (plotly + kaleido, as the exports), and a link to the series on the dashboard.
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlencode

import pandas as pd

from indicators.periods import to_period
from monitoring.briefing.exports import figure_bytes, kosovo_footnote, source_text
from monitoring.briefing.figures import series_figure
from monitoring.i18n import date_text, period_label, t
from monitoring.narrative import episodes_text, geo_name, sentence, value_text
from monitoring.pipeline.digest import Batch, Change, DigestContext
from monitoring.statistics.derived import indicator_of

CHART_W, CHART_H, CHART_SCALE = 640, 370, 2  # shown at 600 px wide; rendered twice as sharp
CHART_YEARS = 4
COLOURS = {"alert": "#d62728", "watch": "#e69f00", "normal": "#2e7d32", "criterion": "#1f77b4"}
NAVY = "#1f3b73"
TEXT_WIDTH = 76


@dataclass(frozen=True)
class Line:
    """One change as the mail says it."""

    change: Change
    label: str  # "New alert", "Resolved", ...
    level: str  # colour: alert, watch, normal, criterion
    series: str  # "First-time asylum applications – France"
    sentence: str
    link: str
    source: str
    chart: bytes | None = None
    cid: str = ""


def _label(c: Change, lang: str) -> tuple[str, str]:
    if c.kind == "new":
        level = c.peak_level if c.peak_level in ("watch", "alert") else "watch"
        return t(f"digest.kind_new_{level}", lang), level
    if c.kind == "escalation":
        return t("digest.kind_escalation", lang), "alert"
    if c.kind == "resolution":
        return t("digest.kind_resolution", lang), "normal"
    return t("digest.kind_criterion", lang), "criterion"


def series_link(base: str, indicator: str, geo: str, lang: str) -> str:
    return f"{base.rstrip('/')}/explorer?{urlencode({'indicator': indicator, 'geo': geo, 'lang': lang})}"


def _row(ctx: DigestContext, c: Change) -> dict | None:
    res = ctx.results
    hit = res[(res["indicator"] == c.indicator) & (res["geo"] == c.geo) & (res["period"] == c.row_period)]
    return None if hit.empty else {**hit.iloc[0].to_dict(), "period": c.row_period}


def line_for(ctx: DigestContext, c: Change, lang: str, chart: Callable | None = None) -> Line | None:
    """The change's line, with its plain sentence (the narrative's, as the overview says it)."""
    ind = indicator_of(ctx.catalogue, c.indicator)
    row = _row(ctx, c)
    if ind is None or row is None:
        return None
    series = f"{ind.name_in(lang)} – {geo_name(c.geo, lang, ctx.catalogue)}"
    if c.kind == "resolution":
        text = t("digest.resolved", lang, series=series, start=period_label(c.start_period, lang),
                 peak=t(f"level.{c.peak_level}", lang), period=period_label(c.period, lang),
                 observed=value_text(row["observed"], ind, lang), expected=value_text(row["expected"], ind, lang))
    else:
        text = sentence(row, ind, c.geo, lang, ctx.catalogue)
    if not text:
        return None
    label, level = _label(c, lang)
    source = source_text(ind.source_line_in(lang), lang)
    if ctx.synthetic:
        source += "; " + t("export.synthetic", lang)
    return Line(c, label, level, series, text, series_link(ctx.mail.digest.dashboard_url, c.indicator, c.geo, lang),
                source, chart(ctx, c, lang) if chart else None)


def chart_png(ctx: DigestContext, c: Change, lang: str) -> bytes:
    """Four years of the series up to the change's period: observed, expected, band, watch/alert marks."""
    from monitoring.briefing.deck import small_png
    from monitoring.pipeline.views import history_frame

    ind = indicator_of(ctx.catalogue, c.indicator)
    history = history_frame(ctx.store, ind, c.geo, ctx.catalogue.eu_plus_source)
    end = to_period(c.row_period).end_time
    if not history.empty:
        starts = pd.to_datetime(history["period_start"])
        history = history[(starts <= end) & (starts > end - pd.DateOffset(years=CHART_YEARS))].reset_index(drop=True)
    fig = series_figure(history, lang=lang, height=CHART_H)
    fig.update_layout(width=CHART_W, hovermode=False, margin={"l": 55, "r": 15, "t": 15, "b": 20},
                      font={"size": 12}, legend={"y": -0.1, "font": {"size": 10}})
    return small_png(figure_bytes(fig, "png", None, width=CHART_W, height=CHART_H, scale=CHART_SCALE))


def charts_cache() -> Callable:
    """A chart maker that draws each series once per language (a series can be in several mails)."""
    made: dict[tuple, bytes] = {}

    def chart(ctx: DigestContext, c: Change, lang: str) -> bytes:
        key = (c.indicator, c.geo, c.row_period, lang)
        if key not in made:
            made[key] = chart_png(ctx, c, lang)
        return made[key]

    return chart


def subject(lines: list[Line], lang: str, when: str) -> str:
    if not lines:
        return t("digest.subject_quiet", lang, date=when)
    headline = f"{lines[0].label}: {lines[0].series}"
    if len(lines) == 1:
        return t("digest.subject", lang, headline=headline)
    return t("digest.subject_more", lang, headline=headline, more=len(lines) - 1)


def _categories(batch: Batch, lang: str) -> str:
    if not batch.categories or "all" in batch.categories:
        return t("digest.categories_all", lang)
    return ", ".join(t(f"category.{c}", lang) for c in batch.categories)


def _data_to(ctx: DigestContext, lang: str) -> str:
    res = ctx.results
    if res.empty:
        return ""
    newest = res.loc[pd.to_datetime(res["period_start"]).idxmax(), "period"]
    return t("digest.data_to", lang, period=period_label(str(newest), lang), date=date_text(ctx.now.date(), lang))


def footer_lines(ctx: DigestContext, batch: Batch, lines: list[Line]) -> list[str]:
    lang = batch.lang
    out = [episodes_text(ctx.open_count, lang)]
    if ctx.synthetic:
        out.append(t("brief.caveat_synthetic", lang))
    out.append(t("digest.why", lang, language=t(f"digest.lang_{lang}", lang), categories=_categories(batch, lang)))
    if any(ln.source.startswith("Eurostat") for ln in lines):
        out.append(kosovo_footnote(lang))
    return out


def render_text(ctx: DigestContext, batch: Batch, lines: list[Line]) -> str:
    """The plain-text part: heading, one block per line (label, sentence, source, link), footer."""
    lang = batch.lang
    wrap = lambda s, indent="": textwrap.fill(s, TEXT_WIDTH, initial_indent=indent,  # noqa: E731
                                             subsequent_indent=indent)
    heading = t("digest.quiet_heading" if not lines else "digest.heading", lang)
    parts = [t("ui.app_title", lang), heading, "=" * len(heading), _data_to(ctx, lang), ""]
    if ctx.synthetic:
        parts += [wrap("!! " + t("brief.caveat_synthetic", lang)), ""]
    if not lines:
        parts += [wrap(t("digest.quiet_body", lang)), ""]
    for n, ln in enumerate(lines, 1):
        parts += [f"{n}. {ln.label.upper()} – {ln.series}", wrap(ln.sentence, "   "),
                  wrap(t("export.source", lang, source=ln.source), "   "),
                  f"   {t('digest.open_link', lang)}: {ln.link}", ""]
    parts += ["-- ", *(wrap(s) for s in footer_lines(ctx, batch, lines))]
    return "\n".join(parts).replace("\n\n\n", "\n\n") + "\n"


def _html_line(ln: Line, lang: str) -> str:
    e = html.escape
    colour = COLOURS[ln.level]
    chart = (f'<img src="cid:{ln.cid[1:-1]}" width="600" alt="{e(t("digest.chart_alt", lang, series=ln.series))}" '
             'style="display:block;width:100%;max-width:600px;height:auto;border:1px solid #e5e7eb;'
             'border-radius:4px;margin:10px 0 6px 0">') if ln.chart else ""
    return (
        f'<tr><td style="padding:18px 24px;border-top:1px solid #e5e7eb">'
        f'<span style="display:inline-block;background:{colour};color:#fff;font-size:12px;font-weight:bold;'
        f'padding:2px 8px;border-radius:10px;text-transform:uppercase;letter-spacing:.03em">{e(ln.label)}</span>'
        f'<div style="font-size:17px;font-weight:bold;color:#111827;margin:8px 0 4px 0">{e(ln.series)}</div>'
        f'<div style="font-size:15px;line-height:1.45;color:#1f2937">{e(ln.sentence)}</div>{chart}'
        f'<div style="font-size:12px;color:#6b7280">{e(t("export.source", lang, source=ln.source))}</div>'
        f'<div style="margin-top:10px"><a href="{e(ln.link)}" style="display:inline-block;background:{NAVY};'
        f'color:#fff;text-decoration:none;font-size:14px;padding:7px 14px;border-radius:4px">'
        f'{e(t("digest.open_link", lang))} &rarr;</a></div></td></tr>')


def render_html(ctx: DigestContext, batch: Batch, lines: list[Line]) -> str:
    """The HTML part: a 680 px table (mail clients ignore most CSS), inline styles only."""
    e, lang = html.escape, batch.lang
    heading = t("digest.quiet_heading" if not lines else "digest.heading", lang)
    body = "".join(_html_line(ln, lang) for ln in lines) or (
        f'<tr><td style="padding:20px 24px;font-size:15px;color:#1f2937">{e(t("digest.quiet_body", lang))}</td></tr>')
    footer = "".join(f'<p style="margin:0 0 8px 0">{e(s)}</p>' for s in footer_lines(ctx, batch, lines))
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{e(heading)}</title></head>'
        '<body style="margin:0;padding:0;background:#f3f4f6;font-family:Arial,Helvetica,sans-serif">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f3f4f6">'
        '<tr><td align="center" style="padding:24px 12px">'
        '<table role="presentation" width="680" cellpadding="0" cellspacing="0" '
        'style="max-width:680px;width:100%;background:#fff;border-radius:6px;overflow:hidden">'
        f'<tr><td style="background:{NAVY};padding:18px 24px;color:#fff">'
        f'<div style="font-size:13px;opacity:.85">{e(t("ui.app_title", lang))}</div>'
        f'<div style="font-size:22px;font-weight:bold;margin-top:2px">{e(heading)}</div>'
        f'<div style="font-size:13px;opacity:.85;margin-top:4px">{e(_data_to(ctx, lang))}</div></td></tr>'
        + (f'<tr><td style="background:#fef3c7;color:#78350f;padding:10px 24px;font-size:13px;font-weight:bold">'
           f'{e(t("brief.caveat_synthetic", lang))}</td></tr>' if ctx.synthetic else "") +
        f'{body}<tr><td style="padding:16px 24px;background:#f9fafb;border-top:1px solid #e5e7eb;'
        f'font-size:12px;line-height:1.5;color:#4b5563">{footer}</td></tr></table></td></tr></table>'
        '</body></html>')


def compose(ctx: DigestContext, batch: Batch, *, chart: Callable | None = chart_png) -> EmailMessage:
    """The mail of one batch: plain text, and HTML with the charts inline (``chart=None``: no charts)."""
    lang = batch.lang
    lines = [ln for c in batch.changes if (ln := line_for(ctx, c, lang, chart)) is not None]
    domain = ctx.mail.smtp.sender.rpartition("@")[2] or "localhost"
    lines = [Line(**{**ln.__dict__, "cid": make_msgid("chart", domain)}) if ln.chart else ln for ln in lines]
    # Headers folded only past 998 characters (RFC 5322's limit): Python folds a subject with non-ASCII
    # words at 78 with a doubled space where the fold was (email.policy), which mail clients show.
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["Subject"] = subject(lines, lang, date_text(ctx.now.date(), lang))
    message["From"] = ctx.mail.smtp.sender
    message["To"] = batch.recipients[0] if len(batch.recipients) == 1 else "undisclosed-recipients:;"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid("digest", domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(render_text(ctx, batch, lines))
    message.add_alternative(render_html(ctx, batch, lines), subtype="html")
    message["Content-Language"] = lang  # after the parts: making them moves Content-* headers into the first
    html_part = message.get_payload()[1]
    for n, ln in enumerate(lines, 1):
        if ln.chart:
            html_part.add_related(ln.chart, "image", "png", cid=ln.cid, disposition="inline",
                                  filename=f"chart{n}_{ln.change.indicator}_{ln.change.geo}.png")
    return message
