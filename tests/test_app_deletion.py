"""Data page (AppTest): an analyst deletes a series or a period range after a confirm step; a viewer has no
way to; a series the monitor cannot read is deletable from the page it used to break (issue 14 item 1)."""

from __future__ import annotations

from app_pages.common import md_escape
from indicators.store import observations, open_store
from indicators.store.audit import read_audit
from monitoring.i18n import t
from tests.apptest_support import app, texts

pytest_plugins = ("tests.app_fixtures",)
DE = ("asylum_applications", "DE")
LABEL = "First-time asylum applications – Germany"


def ask(at, first=None, last=None, series=DE):
    at.selectbox(key="del_series").set_value(series).run()
    at.selectbox(key=f"del_from_{series[0]}_{series[1]}").set_value(first or "")
    at.selectbox(key=f"del_to_{series[0]}_{series[1]}").set_value(last or "")
    at.button(key="del_ask").click().run()
    assert not at.exception
    return at


def test_an_analyst_deletes_a_range_after_confirming_it(one_series_db):
    store = open_store(one_series_db)
    before = observations.series(store, *DE)
    at = ask(app("data"), "2026-01", "2026-03")
    assert texts(at, "warning")[-1] == t("data.delete_confirm", "en", n=3, series=md_escape(LABEL),
                                         span=md_escape("2026-01 to 2026-03"))
    assert len(observations.series(store, *DE)) == len(before)  # asking deletes nothing
    at.text_input(key="del_reason").input("a wrong extract")
    at.button(key="del_yes").click().run()
    assert not at.exception and not texts(at, "error")
    left = observations.series(store, *DE)
    assert set(before["period"]) - set(left["period"]) == {"2026-01", "2026-02", "2026-03"}
    assert t("data.deleted", "en", n=3, series=md_escape(LABEL), span=md_escape("2026-01 to 2026-03")) in \
        texts(at, "success")[0]
    row = read_audit(store).iloc[-1]
    assert (row["action"], row["target"], row["reason"]) == ("delete", "asylum_applications DE 2026-01..2026-03",
                                                             "a wrong extract")
    revs = next(d.value for d in at.dataframe if "replaced_at" in d.value.columns)
    assert list(revs["change"]).count(t("data.change_deleted")) == 3  # history shows what was removed
    assert "del_yes" not in [b.key for b in at.button]  # the confirm step is gone
    assert at.text_input(key="del_reason").value == ""  # emptied for the next one: no reason, the whole series
    assert at.selectbox(key="del_from_asylum_applications_DE").value == ""


def test_cancel_deletes_nothing(one_series_db):
    store = open_store(one_series_db)
    before = observations.dump(store)
    at = ask(app("data"))
    assert texts(at, "warning")[-1].startswith("Delete the whole series")
    at.button(key="del_cancel").click().run()
    assert "del_yes" not in [b.key for b in at.button]
    assert observations.dump(store) == before


def test_a_reversed_range_is_refused_on_the_page(one_series_db):
    at = ask(app("data"), "2026-03", "2026-01")
    assert texts(at, "error") == [t("data.delete_reversed", "en", first="2026-03", last="2026-01")]
    assert "del_yes" not in [b.key for b in at.button]


def test_a_viewer_has_no_delete_form(one_series_db, app_env):
    app_env.setenv("MONITOR_ROLE", "viewer")
    at = app("data")
    assert not at.exception
    assert "del_ask" not in [b.key for b in at.button]
    assert t("data.delete") not in [s.value for s in at.subheader]


def test_a_year_0_series_is_deletable_from_the_page_it_breaks(one_series_db, app_env):
    app_env.delenv("MONITOR_DEBUG")  # errors shown as messages, as in production
    store = open_store(one_series_db)
    with store.write() as con:  # as the old bug let it in
        con.execute("INSERT INTO observations VALUES ('asylum_applications', 'FR', '0000-01', DATE '0000-01-01', 1, "
                    "NULL, 1, TIMESTAMP '2026-01-01', 'bad.csv')")
    at = app("data")
    assert not at.exception
    assert any("year 0 is out of range" in e for e in texts(at, "error"))  # the chart that reads it
    assert at.file_uploader  # the upload form is still there
    at = ask(at, series=("asylum_applications", "FR"))
    at.button(key="del_yes").click().run()
    assert not at.exception
    assert set(observations.observations(store)["geo"]) == {"DE"}
    assert not any("year 0" in e for e in texts(at, "error"))  # the page reads again
