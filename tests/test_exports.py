"""Chart exports (PNG/SVG/PDF through kaleido and Chromium) and tables (CSV/XLSX), opened and checked.

The chart tests need a Chrome/Chromium (installed here and in CI). Without one they fail with the
ExportError message; they never skip.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from PIL import Image
from pypdf import PdfReader

from monitoring import tables
from monitoring.briefing import exports
from monitoring.briefing.contents import signal_table
from monitoring.briefing.exports import ChartMeta, ExportError
from monitoring.briefing.figures import series_figure
from monitoring.i18n import period_label, t
from tests.briefing_db import TODAY, briefing

LANGS = ("en", "sq", "sr")
SVG = "{http://www.w3.org/2000/svg}"


def _flat(text: str) -> str:
    """Extracted PDF text with all whitespace (and the narrow no-break space) as single spaces."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ")).strip()


def _chart(lang: str):
    b = briefing(lang, "2025-06")
    assert b.signals, "the demo data should raise at least one alert or watch"
    s = b.signals[0]
    meta = ChartMeta(title=f"{s.title}, {s.period_label}", source=s.source, last_period=s.period_label,
                     exported=TODAY, synthetic=b.synthetic, lang=lang)
    return series_figure(s.history, lang=lang), meta, s


@pytest.mark.parametrize("lang", LANGS)
def test_png_is_wide_and_not_blank(lang):
    fig, meta, _ = _chart(lang)
    image = Image.open(io.BytesIO(exports.figure_bytes(fig, "png", meta)))
    assert image.format == "PNG"
    assert image.width >= 1600
    pixels = np.asarray(image.convert("L"), dtype=float)
    assert pixels.std() > 10  # a blank (or single-colour) image has no variance
    assert (pixels < 100).mean() > 0.002  # some dark ink: lines, text


@pytest.mark.parametrize("lang", LANGS)
def test_svg_parses_and_carries_title_source_period_and_date(lang):
    fig, meta, s = _chart(lang)
    root = ET.fromstring(exports.figure_bytes(fig, "svg", meta))
    assert root.tag == f"{SVG}svg"
    texts = " | ".join("".join(e.itertext()) for e in root.iter(f"{SVG}text"))
    assert meta.title in texts
    assert t("export.source", lang, source=s.source) in texts
    assert t("export.synthetic", lang) in texts
    assert t("export.data_to", lang, period=s.period_label) in texts
    assert t("export.exported", lang, date=exports.date_text(TODAY, lang)) in texts
    assert t("fig.observed", lang) in texts  # the legend is in the language too


@pytest.mark.parametrize("lang", LANGS)
def test_pdf_has_one_page_with_title_and_source(lang):
    fig, meta, s = _chart(lang)
    reader = PdfReader(io.BytesIO(exports.figure_bytes(fig, "pdf", meta)))
    assert len(reader.pages) == 1
    text = _flat(reader.pages[0].extract_text()).replace("_", " ")
    assert _flat(meta.title) in text
    assert _flat(t("export.source", lang, source=s.source)).replace("_", " ") in text
    assert exports.date_text(TODAY, lang) in text


def test_the_kaleido_server_is_started_once_and_reused():
    import kaleido

    fig, meta, _ = _chart("en")
    exports.figure_bytes(fig, "svg", meta)
    assert kaleido._global_server.is_running()
    thread = kaleido._global_server._thread
    exports.figure_bytes(fig, "svg", meta)
    assert kaleido._global_server._thread is thread


def test_write_figure_takes_the_format_from_the_suffix(tmp_path):
    fig, meta, _ = _chart("en")
    path = exports.write_figure(fig, tmp_path / "chart.svg", meta)
    assert ET.parse(path).getroot().tag == f"{SVG}svg"
    with pytest.raises(ExportError, match=r'Unknown export format "gif"; choose one of png, svg, pdf\.'):
        exports.write_figure(fig, tmp_path / "chart.gif", meta)


def test_no_browser_gives_a_clear_message(monkeypatch, tmp_path):
    missing = tmp_path / "no-chrome"
    monkeypatch.setenv("BROWSER_PATH", str(missing))
    with pytest.raises(ExportError, match=r"^Chart export needs Chrome or Chromium, and none was found\. "
                                          r"BROWSER_PATH=.*no-chrome' is not a file\. Install it"):
        exports.browser_path()


def test_the_browser_is_found_here():
    # CI and this machine have Debian's chromium; without it every chart test fails with this message.
    assert exports.browser_path()


@pytest.mark.parametrize("lang, expected", [
    ("en", "November 26, 2026"),  # CLDR's long dates
    ("sq", "26 nëntor 2026"),
    ("sr", "26. novembar 2026."),
])
def test_dates_in_words(lang, expected):
    assert exports.date_text(dt.date(2026, 11, 26), lang) == expected


FOOTNOTE_EN = ("*This designation is without prejudice to positions on status, and is in line with UNSCR "
               "1244/1999 and the ICJ Opinion on the<br>Kosovo declaration of independence.")


@pytest.mark.parametrize("synthetic, lang, expected", [
    (True, "en", "Source: Eurostat migr_asyappctzm, citizens of Kosovo*; synthetic demo data · Data to October "
                 "2026 · Exported November 26, 2026<br>" + FOOTNOTE_EN),
    (False, "en", "Source: Eurostat migr_asyappctzm, citizens of Kosovo* · Data to October 2026 · Exported "
                  "November 26, 2026<br>" + FOOTNOTE_EN),
    (True, "sq", "Burimi: Eurostat migr_asyappctzm, shtetas të Kosovës*; të dhëna demonstruese sintetike · Të "
                 "dhëna deri në tetor 2026 · Eksportuar më 26 nëntor 2026<br>*Ky përcaktim është pa "
                 "paragjykim ndaj qëndrimeve për statusin dhe është në përputhje me Rezolutën 1244/1999 të KS "
                 "të OKB-së<br>dhe Opinionin e GJND-së për shpalljen e pavarësisë së Kosovës."),
])
def test_footer_text(synthetic, lang, expected):
    meta = ChartMeta(title="x", source="Eurostat migr_asyappctzm", last_period=period_label("2026-10", lang),
                     exported=dt.date(2026, 11, 26), synthetic=synthetic, lang=lang)
    assert exports.footer_text(meta) == expected


def test_a_national_source_has_no_kosovo_footnote():
    meta = ChartMeta(title="x", source="Kosovo Police", last_period="October 2026",
                     exported=dt.date(2026, 11, 26), lang="en")
    assert exports.footer_text(meta) == "Source: Kosovo Police · Data to October 2026 · Exported November 26, 2026"


@pytest.mark.parametrize("lang, source", [("en", "Kosovo Police"), ("sq", "Policia e Kosovës"),
                                          ("sr", "Kosovska policija")])
def test_the_footer_names_a_national_source_in_the_language(lang, source):
    from indicators.catalogue import load_catalogue

    history = pd.DataFrame({"period": ["2026-09", "2026-10"], "observed": [1.0, 2.0]})
    meta = exports.series_meta("x", load_catalogue()["border_exits"], history, lang=lang, today=TODAY)
    assert meta.source == source
    assert exports.footer_text(meta).startswith(t("export.source", lang, source=source) + " · ")


def test_series_meta_names_the_source_and_the_last_observed_period():
    from indicators.catalogue import load_catalogue

    ind = load_catalogue()["asylum_applications"]
    history = pd.DataFrame({"period": ["2026-08", "2026-09", "2026-10"], "observed": [5.0, 6.0, None]})
    meta = exports.series_meta("Asylum – Germany", ind, history, lang="sr", synthetic=True, today=TODAY)
    assert meta == ChartMeta(title="Asylum – Germany", source="Eurostat migr_asyappctzm",
                             last_period="septembar 2026", exported=TODAY, synthetic=True, lang="sr")
    assert exports.series_meta("x", ind, history.iloc[:0]).last_period == ""


# --- tables --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, expected", [
    ("=1+2", "'=1+2"),
    ("+31 44 123", "'+31 44 123"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    ("Gjermania", "Gjermania"),
    ("−5%", "−5%"),  # the typographic minus of our percentages is not a formula
    ("", ""),
    (-5, -5),
    (2.5, 2.5),
])
def test_neutralise(value, expected):
    assert tables.neutralise(value) == expected


EVIL = pd.DataFrame({
    "indicator": ["=HYPERLINK(\"http://x\",\"click\")", "Lica zatečena u Nemačkoj", "@cmd", "+1", "-1+1"],
    "observed": [1, -2, 3, 4, 5],
    "=header": ["a", "b", "c", "d", "e"],
})


def test_csv_neutralises_formulas_and_keeps_unicode():
    data = tables.table_csv(EVIL)
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the file as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["indicator", "observed", "'=header"]
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\",\"click\")", "Lica zatečena u Nemačkoj",
                                        "'@cmd", "'+1", "'-1+1"]
    assert [r[1] for r in rows[1:]] == ["1", "-2", "3", "4", "5"]  # numbers stay numbers


@pytest.mark.parametrize("lang", LANGS)
def test_xlsx_reads_back_with_formulas_neutralised(lang):
    b = briefing(lang, "2025-06")
    table = signal_table(b.signals, lang)
    evil = table.iloc[:1].copy()
    evil.iloc[0, 1] = "=cmd|' /C calc'!A0"
    frame = pd.concat([table, evil], ignore_index=True)
    title = t("export.table_title", lang, title=t("brief.note_table", lang), period=b.period_label)
    wb = load_workbook(io.BytesIO(tables.table_xlsx(frame, "briefing", title=title)))
    ws = wb.active
    rows = [list(r) for r in ws.iter_rows(values_only=True)]
    assert rows[0][0] == title
    header = rows[2]
    assert header == list(table.columns)
    body = rows[3:]
    assert len(body) == len(frame)
    assert body[0][1] == b.signals[0].indicator_name
    assert body[-1][1] == "'=cmd|' /C calc'!A0"
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert not cell.value.startswith(tables.FORMULA_START), cell.coordinate


def test_xlsx_keeps_numbers_numeric():
    wb = load_workbook(io.BytesIO(tables.table_xlsx(EVIL)))
    ws = wb.active
    assert [c.value for c in ws["B"]][1:] == [1, -2, 3, 4, 5]
    assert ws["C1"].value == "'=header"


def test_file_names_are_safe():
    assert exports.file_name("asylum_applications", "DE", "2026-10", suffix="png") == \
        "asylum_applications_DE_2026-10.png"
    assert exports.file_name("../../etc/passwd", suffix="csv") == "etc_passwd.csv"


# --- tables of the pages: numbers as numbers, dates as dates (defect 6) -----------------------------

def _current_rows() -> pd.DataFrame:
    """Two open episodes as the overview holds them: a count up 122%, a rate down, one provisional."""
    return pd.DataFrame([
        {"indicator": "asylum_applications", "geo": "DE", "period": "2026-10", "start_period": "2026-08",
         "observed": 1234.0, "expected": 555.5, "lower": 400.0, "upper": 700.25, "last_year": 555.0,
         "level": "alert", "channels": "glr", "provisional": True, "score": 9.0},
        {"indicator": "recognition_rate", "geo": "=FR", "period": "2026-Q3", "start_period": "2026-Q2",
         "observed": 12.5, "expected": 30.0, "lower": 20.0, "upper": 40.0, "last_year": 25.0,
         "level": "watch", "channels": "glr", "provisional": False, "score": 2.0},
    ])


def _cells(data: bytes):
    ws = load_workbook(io.BytesIO(data)).active
    rows = list(ws.iter_rows())
    header = [c.value for c in rows[0]]
    return ws, header, [{h: c for h, c in zip(header, r, strict=True)} for r in rows[1:]]


@pytest.mark.parametrize("lang", LANGS)
def test_the_overview_table_exports_numbers_percentages_and_dates(lang):
    from indicators.catalogue import load_catalogue
    from monitoring.pipeline import views

    cat = load_catalogue()
    headers = views.sheet_headers(views.SHEET_COLUMNS, lang)
    sheet = views.current_sheet(_current_rows(), cat, lang).renamed(headers)
    ws, header, (count, rate) = _cells(tables.table_xlsx(sheet, "open_episodes"))
    col = {c: headers[c] for c in views.SHEET_COLUMNS}
    assert header == list(headers.values())
    # a count: a number with a thousands format, whatever the UI language
    assert count[col["observed"]].value == 1234 and count[col["observed"]].data_type == "n"
    assert count[col["observed"]].number_format == tables.COUNT
    assert count[col["expected"]].value == pytest.approx(555.5)
    assert count[col["upper"]].value == pytest.approx(700.25)
    # +122% is the number 1.2234 with a percent format: no apostrophe, never text
    change = count[col["change"]]
    assert isinstance(change.value, float) and change.value == pytest.approx(1234 / 555 - 1, abs=1e-6)
    assert round(change.value, 2) == 1.22 and "%" in change.number_format
    assert rate[col["change"]].value == pytest.approx(-0.5) and rate[col["change"]].data_type == "n"
    # a rate (45.3 stored) is the fraction with a percent format
    assert rate[col["observed"]].value == pytest.approx(0.125) and rate[col["observed"]].number_format == "0.0%"
    # a month is a date; a quarter, which no date format shows, stays its code
    assert count[col["period"]].value == dt.datetime(2026, 10, 1) and count[col["period"]].is_date
    assert count[col["start"]].value == dt.datetime(2026, 8, 1)
    assert rate[col["period"]].value == "2026-Q3"
    assert count[col["provisional"]].value is True
    # text stays text, guarded: a destination code starting with '=' (from a file) is neutralised
    assert rate[col["geo"]].value.startswith("'=")
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f"

    rows = list(csv.reader(io.StringIO(tables.table_csv(sheet).decode("utf-8-sig"))))
    body = dict(zip(rows[0], rows[1], strict=True))
    assert body[col["observed"]] == "1234"  # never 1,234 / 1.234 / 1 234
    assert body[col["expected"]] == "555.5"  # a dot for decimals, in sq and sr too
    assert float(body[col["change"]]) == pytest.approx(1234 / 555 - 1, abs=1e-6)
    assert body[col["period"]] == "2026-10"
    assert not any(v.startswith("'") for v in rows[1])


def test_before_the_fix_the_display_frame_was_exported_as_text():
    """The table the overview shows is text in the language; the export must not be that frame."""
    from indicators.catalogue import load_catalogue
    from monitoring.pipeline import views

    shown = views.display_rows(_current_rows().iloc[:1], load_catalogue(), "sr")
    assert shown["observed"].iloc[0] == "1.234" and shown["change"].iloc[0] == "+122%"
    sheet = views.current_sheet(_current_rows().iloc[:1], load_catalogue(), "sr")
    assert sheet.frame["observed"].iloc[0] == 1234 and sheet.frame["change"].iloc[0] > 1.2


def test_the_explorer_recent_values_export_as_numbers():
    from indicators.catalogue import load_catalogue
    from monitoring.pipeline import views

    history = pd.DataFrame({"period": ["2026-09", "2026-10"], "observed": [1500.0, 2345.0],
                            "expected": [1400.2, 1500.0], "lower": [1000.0, 1100.0], "upper": [1800.0, 1900.0],
                            "score": [0.5, 3.25], "level": ["normal", "alert"], "flag": [None, "p"]})
    ind = load_catalogue()["asylum_applications"]
    sheet = views.recent_sheet(history, ind, "sq").renamed(views.sheet_headers(views.recent_table(history, ind, "sq"),
                                                                                "sq"))
    _, header, rows = _cells(tables.table_xlsx(sheet))
    first = rows[0]
    assert first[t("col.observed", "sq")].value == 2345 and first[t("col.observed", "sq")].number_format == "#,##0"
    assert first[t("col.score", "sq")].value == pytest.approx(3.25)
    assert first[t("col.period", "sq")].value == dt.datetime(2026, 10, 1)
    assert first[t("col.flag", "sq")].value == t("flag.p", "sq")
    assert b"2345" in tables.table_csv(sheet) and "2\u202f345".encode() not in tables.table_csv(sheet)


def test_a_signed_change_in_a_plain_frame_is_guarded_only_as_text():
    """Text starting with + is neutralised (it may be a formula); numbers are never touched."""
    frame = pd.DataFrame({"change": [1.22, -0.5], "note": ["+122%", "=1+1"]})
    _, _, rows = _cells(tables.table_xlsx(tables.Sheet(frame, {"change": tables.CHANGE})))
    assert [r["change"].value for r in rows] == [1.22, -0.5]
    assert all(r["change"].number_format == tables.CHANGE for r in rows)
    assert [r["note"].value for r in rows] == ["'+122%", "'=1+1"]


@pytest.mark.parametrize(("lang", "months"), [
    ("en", {"Mar 2025", "Jul 2025"}),
    ("sq", {"mar 2025", "korr 2025"}),  # CLDR's Albanian abbreviations (korrik = July)
    ("sr", {"mar 2025", "jul 2025"}),
])
def test_the_date_axis_names_months_in_the_language(lang, months):
    """plotly.js names months in English; the rendered chart's tick labels must be the language's."""
    starts = pd.date_range("2025-01-01", periods=10, freq="MS")
    frame = pd.DataFrame({"period": [str(p) for p in starts.to_period("M")], "period_start": starts,
                          "observed": 100.0 + np.arange(10), "expected": 100.0, "lower": 80.0, "upper": 125.0,
                          "level": "normal", "provisional": False})
    root = ET.fromstring(exports.figure_bytes(series_figure(frame, lang=lang), "svg"))
    ticks = {"".join(node.itertext()).strip() for node in root.iter(f"{SVG}g") if node.get("class") == "xtick"}
    assert months <= ticks, ticks
    if lang != "en":
        assert not {"May 2025", "Jul 2025", "Sep 2025"} & ticks, ticks
