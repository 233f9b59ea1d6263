"""The briefing deck (PPTX, python-pptx): title, a summary table of the chosen signals, one slide per
chosen signal (by default the few alerts that matter most), the other open signals in an annex table,
sources and caveats.

Slides are drawn on the blank layout with explicit boxes (16:9), in Arial (PowerPoint has it;
LibreOffice maps it onto Liberation Sans), so the deck looks the same wherever it is opened.
"""

from __future__ import annotations

import io
from pathlib import Path

from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from monitoring.briefing.contents import Briefing, Signal, caveat_lines, signal_table, visa_lines
from monitoring.briefing.exports import ChartMeta, date_text, figure_bytes, kosovo_footnote, source_text
from monitoring.briefing.figures import series_figure
from monitoring.i18n import t

FONT = "Arial"
NAVY = RGBColor(0x1F, 0x3B, 0x73)
GREY = RGBColor(0x4B, 0x55, 0x63)
LIGHT = RGBColor(0xF3, 0xF4, 0xF6)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
LEVEL_COLOURS = {"alert": RGBColor(0xD6, 0x27, 0x28), "watch": RGBColor(0xE6, 0x9F, 0x00),
                 "normal": RGBColor(0x2E, 0x7D, 0x32)}
RED = LEVEL_COLOURS["alert"]
ROWS_PER_TABLE = 9
ANNEX_ROWS = 22  # rows per annex slide (9 pt type in tight rows: a reference, not a talking point)
CHART_W, CHART_H = 820, 450  # layout pixels of the chart image
CHART_SCALE = 1.5  # rendered at 1230 x 675 px: 150 dpi on the slide, about 60-90 kB per chart


def _box(slide, x, y, w, h, paragraphs, *, size=14, bold=False, colour=GREY, align=PP_ALIGN.LEFT,
         anchor=MSO_ANCHOR.TOP, fill=None):
    """A text box; ``paragraphs`` is a string or a list of strings or (text, size, bold, colour) tuples."""
    shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
    if fill is not None:
        shape.fill.solid()
        shape.fill.fore_color.rgb = fill
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    for side in ("left", "right"):
        setattr(frame, f"margin_{side}", Inches(0.12))
    items = [paragraphs] if isinstance(paragraphs, str) else paragraphs
    for n, item in enumerate(items):
        text, p_size, p_bold, p_colour = (item, size, bold, colour) if isinstance(item, str) else item
        para = frame.paragraphs[0] if n == 0 else frame.add_paragraph()
        para.alignment = align
        para.space_after = Pt(p_size * 0.35)
        run = para.add_run()
        run.text = text
        run.font.name, run.font.size, run.font.bold = FONT, Pt(p_size), p_bold
        run.font.color.rgb = p_colour
    return shape


def _band(slide, prs, title: str, size: int = 26):
    """The navy title band across the top of a slide."""
    band = slide.shapes.add_shape(1, 0, 0, prs.slide_width, Inches(1.0))
    band.fill.solid()
    band.fill.fore_color.rgb = NAVY
    band.line.fill.background()
    _box(slide, 0.4, 0.1, 12.5, 0.8, title, size=size, bold=True, colour=WHITE, anchor=MSO_ANCHOR.MIDDLE)


def _footer(slide, b: Briefing, text: str, n: int, total: int):
    _box(slide, 0.4, 7.0, 10.8, 0.4, text, size=10)
    _box(slide, 11.3, 7.0, 1.7, 0.4, t("brief.slide_of", b.lang, n=n, total=total), size=10, align=PP_ALIGN.RIGHT)


def _title_slide(prs, b: Briefing):
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    lang = b.lang
    bg = slide.shapes.add_shape(1, 0, 0, prs.slide_width, Inches(3.2))
    bg.fill.solid()
    bg.fill.fore_color.rgb = NAVY
    bg.line.fill.background()
    _box(slide, 0.7, 0.8, 12.0, 1.2, t("brief.title", lang), size=36, bold=True, colour=WHITE)
    _box(slide, 0.7, 2.0, 12.0, 0.9, [(t("brief.authority", lang), 18, False, WHITE),
                                      (t("brief.period", lang, period=b.period_label), 18, True, WHITE)])
    colour = LEVEL_COLOURS.get(b.status, GREY)
    _box(slide, 0.7, 3.7, 11.9, 1.3, [(b.status_text(), 28, True, WHITE), (b.counts_text(), 16, False, WHITE)],
         fill=colour, anchor=MSO_ANCHOR.MIDDLE)
    _box(slide, 0.7, 5.3, 11.9, 0.5, t("brief.prepared", lang, date=date_text(b.prepared, lang)), size=14)
    if b.synthetic:
        _box(slide, 0.7, 6.0, 11.9, 0.7, t("brief.synthetic_warning", lang), size=16, bold=True, colour=RED,
             anchor=MSO_ANCHOR.MIDDLE, fill=RGBColor(0xFE, 0xE2, 0xE2))
    return slide


def _summary_slides(prs, b: Briefing, signals: tuple[Signal, ...]) -> list:
    """The summary: the chosen signals in a table (the others follow in the annex)."""
    lang = b.lang
    title = t("brief.summary_title", lang, period=b.period_label)
    if not signals:
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        _band(slide, prs, title)
        text = t("brief.summary_none", lang) if not b.signals else b.counts_text()
        _box(slide, 0.6, 1.5, 12, 1, text, size=20)
        return [slide]
    return _table_slides(prs, b, signals, title, ROWS_PER_TABLE, 11)


def _annex_slides(prs, b: Briefing, signals: tuple[Signal, ...]) -> list:
    """The open signals without a slide of their own, in one table (no chart per row)."""
    if not signals:
        return []
    title = t("brief.annex_title", b.lang, period=b.period_label, n=len(signals))
    return _table_slides(prs, b, signals, title, ANNEX_ROWS, 9)


def _table_slides(prs, b: Briefing, signals: tuple[Signal, ...], title: str, per_page: int, size: int) -> list:
    lang = b.lang
    table = signal_table(signals, lang)
    pages = [table.iloc[i:i + per_page] for i in range(0, len(table), per_page)]
    # Relative column widths: level, indicator, destination, period, observed, expected, change, visa x2.
    weights = [0.8, 3.1, 1.3, 1.35, 0.95, 0.95, 1.05, 1.05, 1.2]
    row_h = 0.42 if size >= 11 else 0.22
    slides = []
    for page_no, page in enumerate(pages, 1):
        slide = prs.slides.add_slide(prs.slide_layouts[6])
        heading = title if len(pages) == 1 else t("brief.summary_page", lang, title=title, page=page_no,
                                              pages=len(pages))
        _band(slide, prs, heading, size=24)
        width = 12.5
        shape = slide.shapes.add_table(len(page) + 1, len(page.columns), Inches(0.4), Inches(1.25),
                                       Inches(width), Inches(row_h * (len(page) + 1)))
        tbl = shape.table
        for c, w in enumerate(weights[:len(page.columns)]):
            tbl.columns[c].width = Emu(int(Inches(width) * w / sum(weights[:len(page.columns)])))
        levels = [s.level for s in signals[(page_no - 1) * per_page:page_no * per_page]]
        for c, name in enumerate(page.columns):
            _cell(tbl.cell(0, c), name, size - 1, True, WHITE, NAVY, numeric=c >= 4)
        for r, (row, level) in enumerate(zip(page.itertuples(index=False), levels, strict=True), 1):
            fill = LIGHT if r % 2 == 0 else WHITE
            for c, value in enumerate(row):
                if c == 0:
                    _cell(tbl.cell(r, c), str(value), size, True, WHITE, LEVEL_COLOURS[level])
                else:
                    _cell(tbl.cell(r, c), str(value), size, False, GREY, fill, numeric=c >= 4)
        if any(s.provisional for s in signals):
            _box(slide, 0.4, 6.55, 12.5, 0.4, t("brief.provisional_mark", lang), size=11)
        slides.append(slide)
    return slides


def _cell(cell, text, size, bold, colour, fill, numeric=False):
    cell.fill.solid()
    cell.fill.fore_color.rgb = fill
    cell.margin_left = cell.margin_right = Inches(0.06)
    if size < 11:  # the annex's tight rows
        cell.margin_top = cell.margin_bottom = Inches(0.02)
    cell.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame = cell.text_frame
    frame.word_wrap = True
    para = frame.paragraphs[0]
    para.alignment = PP_ALIGN.RIGHT if numeric else PP_ALIGN.LEFT
    run = para.add_run()
    run.text = text
    run.font.name, run.font.size, run.font.bold = FONT, Pt(size), bold
    run.font.color.rgb = colour


def chart_png(signal: Signal, b: Briefing) -> bytes:
    """The signal's chart as PNG: five years to its period, with source, data period and date in it."""
    fig = series_figure(signal.history, lang=b.lang)
    meta = ChartMeta(title="", source=signal.source, last_period=signal.period_label, exported=b.prepared,
                     synthetic=b.synthetic, lang=b.lang)
    return small_png(figure_bytes(fig, "png", meta, width=CHART_W, height=CHART_H, scale=CHART_SCALE))


def small_png(data: bytes) -> bytes:
    """A chart PNG with a 256-colour palette (lines, text and fills on white need no more): a third
    of the size, and the same to the eye."""
    from PIL import Image

    image = Image.open(io.BytesIO(data)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def _signal_slide(prs, b: Briefing, s: Signal, image: bytes | None):
    lang = b.lang
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _band(slide, prs, f"{s.title}, {s.period_label}", size=24 if len(s.title) < 60 else 20)
    badge = t(f"level.{s.level}", lang).upper()
    _box(slide, 11.2, 1.15, 1.7, 0.5, badge, size=16, bold=True, colour=WHITE, align=PP_ALIGN.CENTER,
         anchor=MSO_ANCHOR.MIDDLE, fill=LEVEL_COLOURS[s.level])
    _box(slide, 0.4, 1.1, 10.7, 1.15, s.sentence, size=15 if len(s.sentence) < 260 else 13, colour=NAVY)
    if image is not None:
        width = 8.3
        slide.shapes.add_picture(io.BytesIO(image), Inches(0.4), Inches(2.1), width=Inches(width))
    facts = [(t("brief.figures_title", lang), 15, True, NAVY),
             t("brief.figures_observed", lang, value=s.observed),
             t("brief.figures_expected", lang, value=s.expected),
             t("brief.figures_bound", lang, label=s.bound_label, value=s.bound),
             t("brief.figures_change", lang, value=s.change)]
    _box(slide, 8.9, 2.2, 4.1, 1.9, facts, size=13, fill=LIGHT)
    visa = [(t("brief.visa_title", lang), 15, True, NAVY), *visa_lines(s.visa, b)]
    _box(slide, 8.9, 4.25, 4.1, 2.5, visa, size=12, fill=LIGHT)
    return slide


def _closing_slide(prs, b: Briefing, shown: int):
    lang = b.lang
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    _band(slide, prs, t("brief.sources_title", lang))
    sources = [(t("brief.sources_heading", lang), 18, True, NAVY)]
    sources += [(f"• {source_text(src, lang)}: {names}", 14, False, GREY) for src, names in b.sources]
    if any(src.startswith("Eurostat ") for src, _ in b.sources):
        sources.append((kosovo_footnote(lang), 10, False, GREY))
    _box(slide, 0.4, 1.2, 6.0, 5.6, sources, size=12)
    caveats = [(t("brief.caveats_heading", lang), 18, True, NAVY)]
    for text in caveat_lines(b, shown):
        caveats.append((f"• {text}", 14, False, RED if text == t("brief.caveat_synthetic", lang) else GREY))
    _box(slide, 6.7, 1.2, 6.3, 5.6, caveats, size=12)
    return slide


def build_deck(b: Briefing, *, which: str = "top", keys=None, charts: bool = True) -> Presentation:
    """The deck: title, a summary table of the chosen signals, a slide (with its chart) per chosen
    signal, the other open signals in an annex table, sources and caveats.

    ``which`` chooses the signal slides: ``top`` (default: the alerts that matter most, at most
    ``briefing.TOP``), ``all`` or ``alert``; ``keys`` gives them exactly, as (indicator, geo, period)
    keys of ``b.signals``. ``charts=False`` leaves the charts out (no browser needed).
    """
    chosen = b.selected(which, keys)
    keys_chosen = {s.key for s in chosen}
    rest = tuple(s for s in b.signals if s.key not in keys_chosen)
    images = [chart_png(s, b) if charts else None for s in chosen]
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slides = [_title_slide(prs, b), *_summary_slides(prs, b, chosen)]
    for s, image in zip(chosen, images, strict=True):
        slides.append((_signal_slide(prs, b, s, image), s))
    slides.extend(_annex_slides(prs, b, rest))
    slides.append(_closing_slide(prs, b, len(chosen)))
    total = len(slides)
    for n, item in enumerate(slides[1:], 2):
        slide, signal = item if isinstance(item, tuple) else (item, None)
        text = t("export.source", b.lang, source=signal.source) if signal else t("brief.title", b.lang)
        if signal and b.synthetic:
            text += "; " + t("export.synthetic", b.lang)
        _footer(slide, b, text, n, total)
    prs.core_properties.title = f"{t('brief.title', b.lang)} – {b.period_label}"
    prs.core_properties.language = b.lang
    return prs


def deck_bytes(b: Briefing, **kwargs) -> bytes:
    """The deck as PPTX bytes (for a download button)."""
    buf = io.BytesIO()
    build_deck(b, **kwargs).save(buf)
    return buf.getvalue()


def write_deck(b: Briefing, path: str | Path, **kwargs) -> int:
    """Write the deck to ``path``; returns the number of slides."""
    prs = build_deck(b, **kwargs)
    prs.save(str(path))
    return len(prs.slides)
