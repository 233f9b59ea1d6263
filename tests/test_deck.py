"""The briefing deck: written, read back with python-pptx, slide by slide, in every language."""

from __future__ import annotations

import io
import math

import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from monitoring.__main__ import main
from monitoring.briefing.contents import BriefingError, caveat_lines
from monitoring.briefing.deck import ANNEX_ROWS, ROWS_PER_TABLE, build_deck, write_deck
from monitoring.briefing.exports import date_text
from monitoring.i18n import t
from tests.briefing_db import TODAY, demo_db
from tests.briefing_db import briefing as demo_briefing

LANGS = ("en", "sq", "sr")
PERIOD = "2025-06"  # the small demo's month with alerts and watches (its latest month has none)


def briefing(lang: str):
    return demo_briefing(lang, PERIOD)


def pages(n: int, per_page: int) -> int:
    return math.ceil(n / per_page) if n else 0


def slide_texts(slide) -> str:
    """Every non-empty text on a slide (text boxes, then table cells), in drawing order, one per line."""
    out = []
    for shape in slide.shapes:
        if shape.has_text_frame:
            out.append(shape.text_frame.text)
        if shape.has_table:
            out.extend(cell.text for row in shape.table.rows for cell in row.cells)
    return "\n".join(text for text in out if text)


def pictures(slide) -> list:
    return [s for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]


def read_back(path) -> Presentation:
    return Presentation(str(path))


@pytest.mark.parametrize("lang", LANGS)
def test_deck_slides_read_back(lang, tmp_path):
    b = briefing(lang)
    assert b.signals, "the demo data should raise at least one alert or watch"
    keys = [s.key for s in b.signals[:3]]  # three chart slides per language keep the test quick
    rest = b.signals[3:]
    path = tmp_path / f"deck_{lang}.pptx"
    n = write_deck(b, path, keys=keys)
    prs = read_back(path)
    summary_pages = 1
    annex = pages(len(rest), ANNEX_ROWS)
    assert len(prs.slides) == n == 1 + summary_pages + len(keys) + annex + 1
    slides = list(prs.slides)

    title = slide_texts(slides[0])
    assert t("brief.title", lang) in title
    assert t("brief.period", lang, period=b.period_label) in title
    assert b.status_text() in title
    assert b.counts_text() in title
    assert t("brief.prepared", lang, date=date_text(TODAY, lang)) in title
    assert t("brief.synthetic_warning", lang) in title  # the demo data are labelled synthetic

    summary = "\n".join(slide_texts(s) for s in slides[1:1 + summary_pages])
    assert t("brief.summary_title", lang, period=b.period_label) in summary
    for column in (t("col.level", lang), t("col.indicator", lang), t("brief.col_visa_ref", lang)):
        assert column in summary
    for s in b.signals[:3]:  # the summary lists the chosen signals
        assert s.indicator_name in summary and s.geo_label in summary
        assert t(f"level.{s.level}", lang) in summary
    annex_text = "\n".join(slide_texts(s) for s in slides[-1 - annex:-1])
    if rest:  # the others are in the annex table, with no chart
        assert t("brief.annex_title", lang, period=b.period_label, n=len(rest)) in annex_text
        for s in rest:
            assert s.indicator_name in annex_text and s.geo_label in annex_text
        assert not any(pictures(s) for s in slides[-1 - annex:-1])

    for slide, s in zip(slides[1 + summary_pages:1 + summary_pages + len(keys)], b.signals[:3], strict=True):
        text = slide_texts(slide)
        assert f"{s.title}, {s.period_label}" in text
        assert s.sentence in text
        assert t("brief.visa_title", lang) in text
        assert t("brief.figures_observed", lang, value=s.observed) in text
        assert t("export.source", lang, source=s.source) in text
        (picture,) = pictures(slide)
        image = Image.open(io.BytesIO(picture.image.blob))
        assert image.format == "PNG" and 1200 <= image.width <= 1300  # 150 dpi on the slide: sharp, small

    closing = slide_texts(slides[-1])
    assert t("brief.sources_heading", lang) in closing
    assert t("brief.caveats_heading", lang) in closing
    for src, _ in b.sources:
        assert src in closing
    assert t("brief.caveat_synthetic", lang) in closing
    if b.provisional_periods:
        assert t("brief.caveat_provisional", lang, periods=", ".join(b.provisional_periods)) in closing
    selection = t("brief.caveat_selection", lang, shown=len(keys), total=len(b.signals))
    # the caveat says what was left out, and only when something was
    assert (selection in closing) == (len(keys) < len(b.signals))
    assert f"{n} / {n}" in closing


def test_one_slide_per_signal_and_alerts_only():
    b = briefing("en")
    every = build_deck(b, which="all", charts=False)
    assert len(every.slides) == 1 + pages(len(b.signals), ROWS_PER_TABLE) + len(b.signals) + 1
    alerts = [s for s in b.signals if s.level == "alert"]
    only = build_deck(b, which="alert", charts=False)
    others = len(b.signals) - len(alerts)
    assert len(only.slides) == 1 + 1 + len(alerts) + pages(others, ANNEX_ROWS) + 1
    titles = [slide_texts(s).split("\n")[0] for s in list(only.slides)[2:2 + len(alerts)]]
    assert titles == [f"{s.title}, {s.period_label}" for s in alerts]
    # Without charts there is no picture (and no browser is needed).
    assert not any(pictures(s) for s in only.slides)


def _many(b, n_alerts: int, n_watches: int):
    """The briefing with ``n_alerts`` alerts and ``n_watches`` watches (copies of its signals, each its own key)."""
    from dataclasses import replace

    alert = next(s for s in b.signals if s.level == "alert")
    made = [replace(alert, geo=f"A{i:02d}", score=100.0 - i) for i in range(n_alerts)]
    made += [replace(alert, geo=f"W{i:02d}", level="watch", score=50.0 - i) for i in range(n_watches)]
    return replace(b, signals=tuple(made), alerts=n_alerts, watches=n_watches)


def test_the_default_deck_is_short_the_rest_in_one_annex_table():
    """A summary, the few alerts that matter (at most five, ranked as the overview ranks them), then
    every other open signal in an annex table: 27 signals make 9 slides, not 32."""
    from monitoring.briefing.contents import TOP

    b = _many(briefing("en"), 14, 13)
    prs = build_deck(b, charts=False)
    slides = list(prs.slides)
    assert len(slides) == 1 + 1 + TOP + pages(27 - TOP, ANNEX_ROWS) + 1 == 9
    titles = [slide_texts(s).split("\n")[0] for s in slides[2:2 + TOP]]
    assert titles == [f"{s.title}, {s.period_label}" for s in b.signals[:TOP]]
    assert all(s.level == "alert" for s in b.top())
    annex = slides[2 + TOP:-1]
    assert [sum(1 for sh in s.shapes if sh.has_table) for s in annex] == [1] * len(annex)  # one table a slide
    rows = sum(len(sh.table.rows) - 1 for s in annex for sh in s.shapes if sh.has_table)
    assert rows == 27 - TOP
    assert t("brief.caveat_selection", "en", shown=TOP, total=27) in slide_texts(slides[-1])
    # with no alert, the leading watches
    assert [s.level for s in _many(briefing("en"), 0, 8).top()] == ["watch"] * TOP


def test_file_names_carry_the_reporting_month_not_today():
    b = briefing("sq")
    assert TODAY.strftime("%Y-%m") == "2026-11"
    assert b.file_period() == "2025-06"
    assert demo_briefing("en").file_period() == "2026-10"


def test_a_chosen_signal_only():
    b = briefing("en")
    last = b.signals[-1]
    prs = build_deck(b, keys=[last.key], charts=False)
    assert len(prs.slides) == 1 + 1 + 1 + pages(len(b.signals) - 1, ANNEX_ROWS) + 1
    chosen = slide_texts(prs.slides[2])
    assert chosen.startswith(f"{last.title}, {last.period_label}")
    assert last.sentence in chosen


def test_caveats_say_what_was_left_out():
    b = briefing("en")
    assert b.signals
    shown = len(b.signals) - 1  # one left out
    assert t("brief.caveat_selection", "en", shown=shown, total=len(b.signals)) in caveat_lines(b, shown)
    assert not any("slide for" in line for line in caveat_lines(b, len(b.signals)))


def test_unknown_selection_is_refused():
    with pytest.raises(BriefingError, match=r'Unknown choice of alerts "some"; choose one of top, all, alert\.'):
        build_deck(briefing("en"), which="some", charts=False)


def test_cli_writes_the_deck(tmp_path, capsys):
    out = tmp_path / "brief.pptx"
    code = main(["brief", "--db", str(demo_db()), "--lang", "sr", "--period", PERIOD, "--alerts", "alert",
                 "--out", str(out)], today=TODAY)
    assert code == 0, capsys.readouterr().err
    b = briefing("sr")
    prs = read_back(out)
    alerts = [s for s in b.signals if s.level == "alert"]
    assert len(prs.slides) == 3 + len(alerts) + pages(len(b.signals) - len(alerts), ANNEX_ROWS)
    assert t("brief.title", "sr") in slide_texts(prs.slides[0])
    assert capsys.readouterr().out.startswith(f"zapisana prezentacija {out}: {len(prs.slides)} slajdova")


@pytest.mark.parametrize("args, code, message", [
    (["--out", "x.docx"], 2, 'The output file must end in .pptx (deck) or .pdf (note), not ".docx".'),
    (["--period", "2031-01", "--out", "x.pptx"], 1,
     "No scored results for 2031-01 (the latest month with results is 2026-10)."),
])
def test_cli_errors(args, code, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["brief", "--db", str(demo_db()), *args], today=TODAY) == code
    assert capsys.readouterr().err.strip() == f"error: {message}"
    assert not list(tmp_path.iterdir())


def test_a_quarterly_signal_names_its_visa_reference_as_the_quarter():
    from indicators.catalogue import load_catalogue
    from monitoring.briefing.contents import visa_figures
    from monitoring.settings import MonitorSettings

    # a stored period of the rule (``monitoring.pipeline.criterion_view.stored_rule``): window totals and changes
    stored = {"observed": 200.0, "year_before": 100.0, "reference": 100.0, "change_yoy": 1.0, "change_ref": 1.0}
    cat = load_catalogue()
    figures = visa_figures(stored, cat["return_decisions"], "2026-Q3", MonitorSettings(), "en")
    assert figures.reference_label == "Q4 2023" and figures.change_ref == 1.0
    assert figures.window == "Q3 2026" and figures.level == "above_alert"
    monthly = visa_figures(stored, cat["asylum_applications"], "2026-10", MonitorSettings(), "en")
    assert monthly.reference_label == "November–December 2023" and monthly.window == "September–October 2026"
    small = dict(stored, observed=20.0, year_before=10.0, reference=10.0)  # 30 < the low-count guard of 100
    quiet = visa_figures(small, cat["asylum_applications"], "2026-10", MonitorSettings(), "en")
    assert quiet.change_yoy is None and quiet.level == "below"


def test_an_annual_signal_has_no_visa_figures():

    from indicators.catalogue import load_catalogue
    from monitoring.briefing.contents import visa_figures
    from monitoring.settings import MonitorSettings

    stored = {"observed": 300.0, "year_before": 100.0, "reference": 100.0, "change_yoy": 2.0, "change_ref": 2.0}
    assert visa_figures(stored, load_catalogue()["refused_entry"], "2025", MonitorSettings(), "en") is None
    assert visa_figures(None, load_catalogue()["asylum_applications"], "2026-10", MonitorSettings(), "en") is None
