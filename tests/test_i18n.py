"""The string catalogues: the same keys and placeholders in every language, every key used exists,
and no user-facing text hard-coded in the pages."""

from __future__ import annotations

import ast
import datetime as dt
import re
import string
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from indicators.catalogue import load_catalogue
from monitoring import i18n
from monitoring.i18n import LANGUAGES, _flatten, date_text, number, percent, period_label, strings, t

ROOT = Path(__file__).resolve().parents[1]
LOCALES = ROOT / "monitoring" / "locales"
PAGES = sorted((ROOT / "app_pages").glob("*.py")) + [ROOT / "dashboard.py"]
CODE = PAGES + sorted((ROOT / "monitoring").glob("*.py"))
# Streamlit calls whose first argument (or ``label``/``body``) is text shown to the user.
DISPLAY = {"title", "header", "subheader", "markdown", "caption", "text", "write", "button", "download_button",
           "link_button", "form_submit_button", "selectbox", "multiselect", "radio", "checkbox", "toggle",
           "slider", "select_slider", "text_input", "text_area", "number_input", "date_input", "time_input",
           "file_uploader", "metric", "error", "warning", "info", "success", "exception", "toast",
           "expander", "popover", "tabs", "progress", "spinner", "status", "page_link", "Page"}
TEXT_KEYWORDS = ("label", "body", "text", "help", "placeholder", "title", "caption")
# Text that is not words: HTML tags, icons, Streamlit colour directives, entities, placeholders.
NOT_WORDS = re.compile(r"<[^>]*>|:material/[a-z_]+:|:[a-z]+(-badge|-background)?\[|-badge\[|-background\[|"
                       r"&[a-z]+;|%|\{[^}]*\}")
COLOURS = {"red", "orange", "green", "blue", "violet", "gray", "grey", "rainbow", "primary", "yellow"}
NOT_STREAMLIT = {"log", "logger", "logging", "warnings"}


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def catalogue(lang: str) -> dict[str, str]:
    with (LOCALES / f"{lang}.toml").open("rb") as fh:
        return _flatten(tomllib.load(fh))


def test_the_three_languages_have_catalogues():
    assert sorted(p.stem for p in LOCALES.glob("*.toml")) == sorted(LANGUAGES)


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_key_exists_in_every_language(lang):
    en, other = set(catalogue("en")), set(catalogue(lang))
    assert sorted(en - other) == [], f"missing in {lang}.toml"
    assert sorted(other - en) == [], f"only in {lang}.toml, not in en.toml"


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_placeholders_are_the_same_in_every_language(lang):
    en, other = catalogue("en"), catalogue(lang)
    wrong = {key: (sorted(placeholders(en[key])), sorted(placeholders(other[key])))
             for key in en.keys() & other.keys() if placeholders(en[key]) != placeholders(other[key])}
    assert wrong == {}


@pytest.mark.parametrize("lang", sorted(LANGUAGES))
def test_every_text_is_a_non_empty_string(lang):
    bad = {key: value for key, value in catalogue(lang).items() if not isinstance(value, str) or not value.strip()}
    assert bad == {}


def _t_calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "t" and node.args:
            yield node


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_key_asked_for_exists(path):
    known = set(strings("en"))
    prefixes = {key.rsplit(".", 1)[0] + "." for key in known}
    missing = []
    for call in _t_calls(ast.parse(path.read_text(encoding="utf-8"))):
        key = call.args[0]
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and key.value not in known:
            missing.append(f"line {call.lineno}: {key.value}")
        elif isinstance(key, ast.JoinedStr) and key.values and isinstance(key.values[0], ast.Constant):
            head = key.values[0].value  # t(f"level.{level}"): the section must exist
            if "." in head and not any(p.startswith(head.rsplit(".", 1)[0] + ".") for p in prefixes):
                missing.append(f"line {call.lineno}: {head}…")
    assert missing == []


def _literal_words(node: ast.AST) -> list[str]:
    """String constants with words in an argument expression, outside calls (t(...) and the like).

    An f-string passes when its literal parts have no words (it only interpolates); a call is
    trusted to produce translated text, but a literal it is a method of (``"Total: {}".format``)
    is not.
    """
    found = []
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        if node.value not in COLOURS and re.search(r"[^\W\d_]", NOT_WORDS.sub("", node.value)):
            found.append(node.value)
    elif isinstance(node, ast.IfExp):  # the condition is not shown, only the two results
        found += _literal_words(node.body) + _literal_words(node.orelse)
    elif isinstance(node, ast.Compare):
        pass
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Attribute):
            found += _literal_words(node.func.value)
    elif isinstance(node, ast.JoinedStr):
        for part in node.values:
            if isinstance(part, ast.Constant):
                found += _literal_words(part)
            elif isinstance(part, ast.FormattedValue):
                found += _literal_words(part.value)
    else:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, ast.expr_context):
                found += _literal_words(child)
    return found


def _root(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else ""


def hard_coded(source: str) -> list[str]:
    """``line N: st.x("...")`` for every display call given text that does not come from t()."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DISPLAY) or _root(node.func) in NOT_STREAMLIT:
            continue
        texts = [node.args[0]] if node.args else []
        texts += [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        for arg in texts:
            for literal in _literal_words(arg):
                out.append(f"line {node.lineno}: .{node.func.attr}({literal!r})")
    return out


@pytest.mark.parametrize("source, expected", [
    ('st.title("Alerts")', ["line 1: .title('Alerts')"]),
    ('st.sidebar.button(label="Save")', ["line 1: .button('Save')"]),
    ('col.metric("Alerts", n)', ["line 1: .metric('Alerts')"]),
    ('st.markdown(f"Total: {n}")', ["line 1: .markdown('Total: ')"]),
    ('st.info("Saved {}".format(x))', ["line 1: .info('Saved {}')"]),
    ('st.tabs(["Chart", t("a", lang)])', ["line 1: .tabs('Chart')"]),
    ('st.error("Failed: " + str(exc))', ["line 1: .error('Failed: ')"]),
    ('st.title(t("overview.title", lang))', []),
    ('st.markdown(f"**{t(\'x\', lang)}** · {n}")', []),
    ('st.markdown("---")', []),
    ('st.caption(f"{label} ({number(v, lang)})")', []),
    ('st.markdown(f"<div class=\'tile\'>{t(\'x\', lang)}</div>", unsafe_allow_html=True)', []),
    ('name.title()', []),
    ('log.error("dashboard error: %s", exc)', []),
    ('st.markdown(f":{\'red\' if level == \'alert\' else \'orange\'}-badge[{t(\'level.\' + level, lang)}] {s}")', []),
    ('st.markdown(f":red-badge[Alarm] {s}")', ["line 1: .markdown(':red-badge[Alarm] ')"]),
])
def test_the_hard_coded_text_check_itself(source, expected):
    assert hard_coded(source) == expected


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hard_coded_text_in_the_pages(path):
    assert hard_coded(path.read_text(encoding="utf-8")) == []


def test_indicator_names_are_translated_in_the_catalogue():
    untranslated = [(ind.id, lang) for ind in load_catalogue().indicators for lang in ("sq", "sr")
                    if not ind.names.get(lang) or ind.names.get(lang) == ind.name]
    assert untranslated == []


@pytest.mark.parametrize("lang, expected", [
    ("en", ("1,234,567", "+121%", "−3%", "May 2026", "Q2 2026")),
    ("sq", ("1\u00a0234\u00a0567", "+121%", "−3%", "maj 2026", "TM2 2026")),  # CLDR: a no-break space
    ("sr", ("1.234.567", "+121%", "−3%", "maj 2026", "K2 2026")),
])
def test_numbers_and_months_are_formatted_for_the_language(lang, expected):
    got = (number(1234567, lang), percent(1.21, lang), percent(-0.03, lang), period_label("2026-05", lang),
           period_label("2026-Q2", lang))
    assert got == expected


@pytest.mark.parametrize("lang", ["en", "sq", "sr"])
def test_numbers_months_and_dates_are_cldrs(lang):
    from babel.dates import format_date, get_month_names
    from babel.numbers import format_decimal

    locale = {"en": "en", "sq": "sq", "sr": "sr_Latn"}[lang]
    assert number(1234567.891, lang, 2) == format_decimal(Decimal("1234567.89"), format="#,##0.00", locale=locale)
    assert [period_label(f"2026-{m:02d}", lang) for m in range(1, 13)] == [
        f"{name} 2026" for name in get_month_names("wide", context="stand-alone", locale=locale).values()]
    assert date_text(dt.date(2026, 11, 26), lang) == format_date(dt.date(2026, 11, 26), "long", locale=locale)


def test_the_hand_kept_tables_are_gone():
    for lang in ("en", "sq", "sr"):
        assert not [k for k in strings(lang) if k.startswith(("month.", "date_month.")) or k == "export.date"]
    assert not hasattr(i18n, "_SEPARATORS")


@pytest.mark.parametrize("value, decimals, expected", [
    (6.25, 1, "6.3"), (2.5, 0, "3"), (0.125, 2, "0.13"), (-2.5, 0, "-3"), (-0.04, 1, "0.0"), (6.0, 1, "6.0"),
    (1234.5, 0, "1,235"),
])
def test_half_up_rounding_is_kept(value, decimals, expected):
    assert number(value, "en", decimals) == expected
    assert number(value, "sr", decimals) == expected.replace(",", "\0").replace(".", ",").replace("\0", ".")


def test_a_percent_that_rounds_to_zero_has_no_sign():
    assert percent(0.004, "sq") == "0%" and percent(-0.004, "sr") == "0%" and percent(0.005) == "+1%"
    assert percent(12.345, "sq") == "+1\u00a0235%"


def test_a_missing_key_falls_back_to_english_and_an_unknown_language_is_refused():
    assert t("brief.title", "sq") != t("brief.title", "en")
    with pytest.raises(KeyError, match="unknown language 'de'"):
        strings("de")


def test_source_names_are_translated_where_they_are_not_a_name():
    from monitoring.statistics.derived import RETURN_RATE

    indicators = [*load_catalogue().indicators, RETURN_RATE]
    untranslated = [(ind.id, lang) for ind in indicators if ind.source != "Eurostat" for lang in ("sq", "sr")
                    if ind.source_in(lang) == ind.source]
    assert untranslated == []
    police = load_catalogue()["border_exits"]
    assert police.source_in("sq") == "Policia e Kosovës" and police.source_in("sr") == "Kosovska policija"
    assert police.source_in("en") == police.source == "Kosovo Police"
    assert load_catalogue()["asylum_applications"].source_line_in("sq") == "Eurostat migr_asyappctzm"


def test_the_sources_survive_a_catalogue_round_trip():
    from indicators.catalogue import indicator_toml, parse_catalogue

    police = load_catalogue()["border_exits"]
    again = parse_catalogue(indicator_toml(police)).indicators[0]
    assert dict(again.sources) == dict(police.sources) and dict(again.names) == dict(police.names)


def test_every_seeded_event_has_its_translations():
    from indicators.store.schema import SEED_EVENTS
    from monitoring.i18n import event_label

    for _, label in SEED_EVENTS:
        assert event_label(label, "en") == label
        for lang in ("sq", "sr"):
            assert event_label(label, lang) != label, (lang, label)
            assert event_label(label, lang, "analyst") == label  # a user's event stays as written
    assert event_label("A user's own event", "sq") == "A user's own event"
