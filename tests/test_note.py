"""The one-page briefing note: written, read back with pypdf, in every language."""

from __future__ import annotations

import dataclasses
import io
import re

import pandas as pd
import pytest
from pypdf import PdfReader

from monitoring.__main__ import main
from monitoring.briefing.contents import Briefing, Signal, VisaFigures
from monitoring.briefing.exports import ExportError, date_text
from monitoring.briefing.note import note_bytes, write_note
from monitoring.i18n import t
from tests.briefing_db import TODAY, briefing, demo_db

LANGS = ("en", "sq", "sr")
# Letters the embedded font must carry (a core PDF font would drop or refuse them).
LETTERS = {"sq": "ë", "sr": "č"}


def flat(text: str) -> str:
    """PDF text with line breaks and the narrow no-break space (sq thousands) as single spaces."""
    return re.sub(r"\s+", " ", text.replace("\u202f", " ")).strip()


def read(data: bytes) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(data))
    return len(reader.pages), flat(" ".join(p.extract_text() for p in reader.pages))


@pytest.mark.parametrize("lang", LANGS)
def test_note_is_one_page_with_status_sentences_table_and_caveats(lang, tmp_path):
    b = briefing(lang)
    assert b.signals, "the demo data should raise at least one alert or watch"
    pages, text = read(write_note(b, tmp_path / "note.pdf").read_bytes())
    assert pages == 1
    assert flat(t("brief.note_title", lang, period=b.period_label)) in text
    assert flat(t("brief.note_status", lang, status=b.status_text(), counts=b.counts_text())) in text
    assert flat(b.signals[0].sentence) in text
    assert flat(t("brief.note_table", lang)) in text
    assert flat(t("col.indicator", lang)) in text
    assert flat(t("brief.caveat_synthetic", lang)) in text
    assert flat(t("brief.sources_heading", lang)) in text
    assert flat(t("brief.note_footer", lang, date=date_text(TODAY, lang))) in text
    if lang in LETTERS:
        assert LETTERS[lang] in text


def _signal(n: int) -> Signal:
    return Signal(
        indicator_id="asylum_applications", geo="DE", period=f"2026-{n % 12 + 1:02d}", level="alert",
        provisional=n % 2 == 0, score=10.0 - n / 10, indicator_name="Aplikime për azil për herë të parë",
        geo_label="Gjermania", period_label="tetor 2026",
        sentence=f"Signal {n}: Aplikime për azil për herë të parë në Gjermani, tetor 2026: 1 234, e pritur 567 "
                 "(kufiri i sipërm 890); +118% krahasuar me tetor 2025; sinjalizuar nga vija bazë sezonale, "
                 "rregulli i vizave ndaj vitit të kaluar (shifër paraprake).",
        observed="1 234", expected="567", bound="890", bound_label="Kufiri i sipërm", change="+118%", source="Eurostat migr_asyappctzm",
        visa=VisaFigures("shtator–tetor 2026", 2000.0, 900.0, 800.0, 1.22, 1.5, "alert"), history=pd.DataFrame())


def _many(n: int, lang: str = "sq") -> Briefing:
    b = briefing(lang)
    signals = tuple(_signal(i) for i in range(n))
    return dataclasses.replace(b, signals=signals, alerts=n, watches=0, status="alert" if n else "normal")


def test_a_long_list_still_fits_one_page_and_says_what_was_left_out():
    pages, text = read(note_bytes(_many(40)))
    assert pages == 1
    assert "Signal 0:" in text
    assert "Signal 39:" not in text
    assert re.search(r"Sinjale të tjera që nuk renditen këtu: 3\d", text)
    assert re.search(r"Rreshta që nuk shfaqen: 3\d", text)


def test_a_quiet_month_says_so():
    pages, text = read(note_bytes(_many(0, "en")))
    assert pages == 1
    assert flat(t("brief.note_lead_none", "en")) in text
    assert t("brief.status_normal", "en") in text


def test_missing_font_gives_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("MONITOR_FONT_DIR", str(tmp_path))
    with pytest.raises(ExportError, match=r"^The briefing note needs the DejaVu Sans font \(.*DejaVuSans\.ttf\), "
                                          r"and it is missing\. Install it \(Debian/Ubuntu: apt-get install "
                                          r"fonts-dejavu-core\)"):
        note_bytes(briefing("en"))


def test_cli_writes_the_note(tmp_path, capsys):
    out = tmp_path / "note.pdf"
    assert main(["brief", "--db", str(demo_db()), "--lang", "sq", "--out", str(out)], today=TODAY) == 0
    b = briefing("sq")
    assert capsys.readouterr().out.strip() == f"u shkrua shënimi informues {out} për {b.period_label}"
    pages, text = read(out.read_bytes())
    assert pages == 1
    assert flat(t("brief.note_title", "sq", period=b.period_label)) in text


def test_cli_period_chooses_the_month(tmp_path):
    out = tmp_path / "note.pdf"
    assert main(["brief", "--db", str(demo_db()), "--period", "2026-07", "--out", str(out)], today=TODAY) == 0
    _, text = read(out.read_bytes())
    assert "Briefing note: migration early warning, July 2026" in text


def test_cli_says_when_saved_thresholds_are_not_applied_yet(tmp_path, capsys):
    from indicators.store import Store, copy_database, results

    db = tmp_path / "m.duckdb"
    copy_database(demo_db(), db)
    out = tmp_path / "note.pdf"
    assert main(["brief", "--db", str(db), "--out", str(out)], today=TODAY) == 0
    assert capsys.readouterr().err == ""  # levels at the saved thresholds: nothing to say
    results.save_settings(Store(db), '{"levels": {"alert_alpha": 0.001}}', who="Ana\x1b[31m", reason="stricter")
    assert main(["brief", "--db", str(db), "--out", str(out)], today=TODAY) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: the thresholds saved by Ana\\x1b[31m at ") and "python -m monitoring scan" in err
