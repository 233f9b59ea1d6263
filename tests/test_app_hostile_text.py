"""Text from a file or a person is shown as text, never as Markdown (issue 14 item 4): an image that would
fetch a URL, a link one could click. Every element Streamlit renders through Markdown is checked."""

from __future__ import annotations

import json

from app_pages import common
from app_pages.common import md_escape
from indicators.store import events, open_store
from monitoring.i18n import t
from tests.apptest_support import app

pytest_plugins = ("tests.app_fixtures",)
PIXEL = "![px](http://127.0.0.1:8669/pixel.png)"
LINK = "[click](http://x)"
HOSTILE = f"{PIXEL} {LINK}"
MARKDOWN = ("markdown", "caption", "error", "warning", "info", "success", "toast", "title", "header", "subheader")


def rendered(at) -> list[str]:
    """The source of every element the page renders as Markdown (sidebar included)."""
    return [str(e.value) for kind in MARKDOWN for e in getattr(at, kind)]


def assert_shown_as_text(at) -> None:
    raw = [s for s in rendered(at) if PIXEL in s or LINK in s]
    assert raw == []


def test_a_period_from_a_file_quoted_in_an_error_is_escaped(one_series_db, app_env):
    """A row an old version let in, its period a Markdown image: the error quoting it stays text."""
    app_env.delenv("MONITOR_DEBUG")  # errors shown as messages, as in production
    store = open_store(one_series_db)
    with store.write() as con:
        con.execute("INSERT INTO observations VALUES ('asylum_applications', 'FR', $p, DATE '2024-01-01', 1, NULL, 1, "
                    "TIMESTAMP '2026-01-01', 'bad.csv')", {"p": HOSTILE})
    for page in ("overview", "data"):
        at = app(page)
        assert not at.exception
        quoting = [e.value for e in at.error if "pixel" in e.value]
        assert quoting and all(md_escape(HOSTILE) in e for e in quoting)
        assert_shown_as_text(at)


def test_a_user_name_from_the_identity_provider_is_escaped(one_series_db, app_env):
    app_env.setattr(common, "_auth_configured", lambda: True)
    app_env.setattr(common, "current_user", lambda: (HOSTILE, "analyst"))
    at = app("data")
    assert not at.exception
    assert t("ui.signed_in", "en", name=md_escape(HOSTILE), role=t("ui.role_analyst")) in [c.value for c in at.caption]
    assert_shown_as_text(at)


def test_an_event_label_is_text_on_the_chart_and_the_pages(one_series_db):
    store = open_store(one_series_db)
    events.add_event(store, "2025-06-01", f'<a href="http://x">here</a> {HOSTILE}', "cleo",
                     indicator="asylum_applications", geo="DE")
    at = app("explorer", query={"indicator": "asylum_applications", "geo": "DE"})
    assert not at.exception
    assert_shown_as_text(at)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    texts = [a.get("text", "") for a in spec["layout"].get("annotations", [])]
    assert any("&lt;a href=&quot;http://x&quot;&gt;" in s for s in texts)  # plotly would draw <a> as a link
    assert not any("<a href" in s for s in texts)
    at = app("data")
    assert_shown_as_text(at)


def test_an_acknowledgement_comment_is_text(one_series_db):
    at = app("alerts")
    assert not at.exception
    at.radio(key="al_action").set_value("acknowledged")
    at.text_area(key="al_comment").input(HOSTILE)
    next(b for b in at.button if b.label == t("alerts.apply")).click().run()
    assert not at.exception and not at.error
    history = next(d.value for d in at.dataframe if "acted_at" in d.value.columns)
    assert HOSTILE in set(history["comment"])  # kept verbatim, shown in a table cell
    assert_shown_as_text(at)


def test_an_uploaded_file_quoting_markdown_is_refused_as_text(one_series_db):
    from pathlib import Path

    bad = Path(__file__).with_name("data") / "bad" / "markdown.csv"
    at = app("data")
    [box] = at.file_uploader
    box.set_value([("![x](http://x).csv", bad.read_bytes(), "text/csv")]).run()
    at.button(key="da_load").click().run()
    assert not at.exception
    assert texts_of(at, "error") == [t("data.load_failed")]
    [code] = [c.value for c in at.code]  # the problems, quoted in a code block: never Markdown
    assert PIXEL in code and "[click](http://x)" in code
    assert_shown_as_text(at)


def texts_of(at, kind: str) -> list[str]:
    return [e.value for e in getattr(at, kind)]
