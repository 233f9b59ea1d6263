"""The one-page briefing note (PDF, fpdf2): status, the main signals in prose, a small table, caveats.

The note embeds DejaVu Sans (Debian's ``fonts-dejavu-core``) so Albanian and Serbian letters
(ë ç š ž č ć đ) render; ``MONITOR_FONT_DIR`` points elsewhere. It needs no browser. The note
always fits one page: when the content would run over, fewer sentences and table rows are shown
and the note says how many were left out.
"""

from __future__ import annotations

import os
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from monitoring.briefing.contents import Briefing, caveat_lines, share, signal_table
from monitoring.briefing.exports import ExportError, date_text, kosovo_footnote, source_text
from monitoring.i18n import DEFAULT_LANG, t

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
FAMILY = "DejaVu"
NAVY = (31, 59, 115)
GREY = (55, 65, 81)
LEVEL_COLOURS = {"alert": (214, 39, 40), "watch": (230, 159, 0), "normal": (46, 125, 50)}
# (sentences, table rows) tried in turn until the note fits one page.
LAYOUTS = ((5, 10), (5, 8), (4, 8), (4, 6), (3, 6), (3, 5), (2, 5), (1, 4), (0, 3))


def font_dir() -> Path:
    """The folder with DejaVuSans.ttf and DejaVuSans-Bold.ttf (``MONITOR_FONT_DIR`` or Debian's)."""
    folder = Path(os.environ.get("MONITOR_FONT_DIR") or FONT_DIR)
    for name in FONT_FILES.values():
        if not (folder / name).is_file():
            raise ExportError(t("export.no_font", DEFAULT_LANG, path=folder / name))
    return folder


class _Note(FPDF):
    footer_text = ""

    def footer(self):
        self.set_y(-12)
        self.set_font(FAMILY, "", 7.5)
        self.set_text_color(*GREY)
        self.cell(0, 5, self.footer_text, align="L")


def _pdf(b: Briefing) -> _Note:
    folder = font_dir()
    pdf = _Note(format="A4")
    for style, name in FONT_FILES.items():
        pdf.add_font(FAMILY, style, str(folder / name))
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(True, margin=16)
    pdf.footer_text = t("brief.note_footer", b.lang, date=date_text(b.prepared, b.lang))
    pdf.set_title(t("brief.note_title", b.lang, period=b.period_label))
    pdf.set_lang(b.lang)
    pdf.add_page()
    return pdf


def _para(pdf: FPDF, text: str, size: float = 9.5, style: str = "", colour=GREY, gap: float = 1.5,
          height: float | None = None):
    pdf.set_font(FAMILY, style, size)
    pdf.set_text_color(*colour)
    pdf.multi_cell(0, height or size * 0.48, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(gap)


def _draw(b: Briefing, n_sentences: int, n_rows: int) -> _Note:
    lang = b.lang
    pdf = _pdf(b)
    _para(pdf, t("brief.note_title", lang, period=b.period_label), 15, "B", NAVY, 1)
    _para(pdf, f"{t('brief.authority', lang)} · {t('brief.prepared', lang, date=date_text(b.prepared, lang))}",
          8.5, gap=2.5)
    if b.synthetic:
        pdf.set_fill_color(254, 226, 226)
        pdf.set_font(FAMILY, "B", 9.5)
        pdf.set_text_color(*LEVEL_COLOURS["alert"])
        pdf.multi_cell(0, 6, t("brief.synthetic_warning", lang), fill=True, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(2.5)
    _para(pdf, t("brief.note_status", lang, status=b.status_text(), counts=b.counts_text()), 11, "B",
          LEVEL_COLOURS.get(b.status, GREY), 2)
    signals = b.signals
    if signals:
        _para(pdf, t("brief.note_lead", lang), 9.5, "B", NAVY, 1)
        for s in signals[:n_sentences]:
            _para(pdf, f"•  {s.sentence}", 9, gap=1)
        visa_count = sum(1 for s in signals if s.visa and s.visa.level != "below")
        pdf.ln(1)
        _para(pdf, t("brief.note_visa", lang, count=visa_count, watch=share(b.visa_watch, lang),
                     reference=b.reference), 9)
        if len(signals) > n_sentences:
            _para(pdf, t("brief.note_more", lang, n=len(signals) - n_sentences), 9)
        _table(pdf, b, n_rows)
    else:
        _para(pdf, t("brief.note_lead_none", lang), 9.5)
    pdf.ln(1)
    _para(pdf, t("brief.caveats_heading", lang), 9.5, "B", NAVY, 0.5)
    for line in caveat_lines(b):
        _para(pdf, f"•  {line}", 8, gap=0.5)
    pdf.ln(1)
    _para(pdf, t("brief.sources_heading", lang), 9.5, "B", NAVY, 0.5)
    _para(pdf, "; ".join(f"{source_text(src, lang)} ({names})" for src, names in b.sources) + ".", 7.5, gap=0)
    if any(src.startswith("Eurostat ") for src, _ in b.sources):
        _para(pdf, kosovo_footnote(lang), 6.5, gap=0)
    return pdf


def _table(pdf: FPDF, b: Briefing, n_rows: int):
    lang = b.lang
    shown = b.signals[:n_rows]
    table = signal_table(shown, lang)
    _para(pdf, t("brief.note_table", lang), 9.5, "B", NAVY, 1)
    pdf.set_font(FAMILY, "", 7)
    pdf.set_text_color(*GREY)
    heading = FontFace(family=FAMILY, emphasis="BOLD", color=(255, 255, 255), fill_color=NAVY, size_pt=6.5)
    widths = (10, 37, 17, 20, 13, 13, 15, 15, 18)
    align = ("LEFT",) * 4 + ("RIGHT",) * 5
    with pdf.table(col_widths=widths, text_align=align, headings_style=heading, line_height=3.6,
                   padding=0.8, borders_layout="HORIZONTAL_LINES", first_row_as_headings=True) as tbl:
        tbl.row(list(table.columns))
        for s, values in zip(shown, table.itertuples(index=False), strict=True):
            row = tbl.row()
            level_style = FontFace(emphasis="BOLD", color=(255, 255, 255), fill_color=LEVEL_COLOURS[s.level])
            for c, value in enumerate(values):
                row.cell(str(value), style=level_style if c == 0 else None)
    notes = []
    if any(s.provisional for s in shown):
        notes.append(t("brief.provisional_mark", lang))
    if len(b.signals) > n_rows:
        notes.append(t("brief.note_rows_hidden", lang, n=len(b.signals) - n_rows))
    pdf.ln(1)
    if notes:
        _para(pdf, "   ".join(notes), 7, gap=0.5)


def build_note(b: Briefing) -> FPDF:
    """The note, with as many sentences and table rows as fit on one page."""
    for n_sentences, n_rows in LAYOUTS:
        pdf = _draw(b, n_sentences, n_rows)
        if pdf.page_no() == 1:
            return pdf
    return pdf


def note_bytes(b: Briefing) -> bytes:
    """The note as PDF bytes (for a download button)."""
    return bytes(build_note(b).output())


def write_note(b: Briefing, path: str | Path) -> Path:
    """Write the note to ``path``."""
    path = Path(path)
    path.write_bytes(note_bytes(b))
    return path
