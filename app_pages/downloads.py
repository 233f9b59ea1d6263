"""Download buttons: charts as PNG/SVG/PDF (title, source and dates drawn into the image), tables as
CSV/XLSX (formula-like cells neutralised), and the briefing deck and note. Each file is built when
its button is clicked (a callable), never while the page runs."""

from __future__ import annotations

from functools import partial

import streamlit as st

from app_pages import cache, common
from monitoring import tables
from monitoring.briefing import contents, deck, exports, note
from monitoring.briefing.exports import ChartMeta, ExportError
from monitoring.i18n import t

CHART_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
TABLE_FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def meta(title: str, *, source: str = "", last_period: str = "") -> ChartMeta:
    """What an exported chart says about itself, for the user's language and today's date."""
    return ChartMeta(title=title, source=source or t("download.source_monitor", common.lang()),
                     last_period=last_period, exported=cache.today().date(),
                     synthetic=cache.synthetic_in_use(), lang=common.lang())


def _buttons(items: dict[str, str], data, name: str, key: str) -> None:
    lang = common.lang()
    cols = st.columns([1] * len(items) + [8 - len(items)])
    for col, (fmt, mime) in zip(cols, items.items(), strict=False):
        col.download_button(t("download.button", lang, fmt=fmt.upper()), data=partial(data, fmt),
                            file_name=exports.file_name(name, suffix=fmt), mime=mime, key=f"dl_{key}_{fmt}",
                            on_click="ignore", icon=":material/download:")


def chart(fig, chart_meta: ChartMeta, name: str, key: str) -> None:
    """PNG (at least 1600 px wide), SVG and PDF of a chart, or why they cannot be made here."""
    try:
        exports.browser_path()
    except ExportError as exc:
        st.caption(common.md_escape(str(exc)))
        return
    _buttons(CHART_FORMATS, lambda fmt: exports.figure_bytes(fig, fmt, chart_meta), name, key)


def table(sheet: tables.Sheet, headers: dict[str, str], name: str, key: str, *, title: str = "") -> None:
    """CSV (UTF-8 for Excel) and XLSX of a table: ``sheet`` holds numbers and dates (never the page's
    formatted text), ``headers`` the column names in the user's language."""
    named = sheet.renamed(headers)

    def data(fmt: str) -> bytes:
        return tables.table_csv(named) if fmt == "csv" else tables.table_xlsx(named, name[:31], title=title)

    _buttons(TABLE_FORMATS, data, name, key)


def briefing_files() -> None:
    """The briefing deck (PPTX) and one-page note (PDF) of the reporting month, with a choice of the
    signals that get a slide: exactly the month's open alerts and watches (what the deck can cover),
    the few that matter preselected; the others go into the deck's annex table."""
    lang = common.lang()
    b = cache.briefing(lang)
    if b is None:
        st.caption(t("ui.no_data", lang))
        return
    # plain-text options, the same in every language (tuples broke the widget's state on a language change)
    labels = {"|".join(s.key): f"{t('level.' + s.level, lang)} · {s.title}, {s.period_label}" for s in b.signals}
    top = ["|".join(s.key) for s in b.top()]
    picked = st.multiselect(t("download.which", lang), list(labels), default=top, format_func=labels.get,
                            help=t("download.which_help", lang, n=contents.TOP, period=b.period_label),
                            key=f"dl_brief_which_{lang}_{b.file_period()}")  # labels are per language
    chosen = [tuple(k.split("|")) for k in picked]
    period = b.file_period()  # the content's month, not today's
    cols = st.columns([2, 2, 4])
    cols[0].download_button(t("download.deck", lang), data=lambda: deck.deck_bytes(b, keys=chosen),
                            file_name=exports.file_name("briefing", period, lang, suffix="pptx"),
                            mime="application/vnd.openxmlformats-officedocument.presentationml.presentation",
                            key="dl_deck", on_click="ignore", icon=":material/slideshow:")
    cols[1].download_button(t("download.note", lang), data=lambda: note.note_bytes(b),
                            file_name=exports.file_name("briefing_note", period, lang, suffix="pdf"),
                            mime="application/pdf", key="dl_note", on_click="ignore",
                            icon=":material/description:")
