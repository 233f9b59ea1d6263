"""Data page (AppTest): coverage heat map; upload through the loader (same messages); rescan; events."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pandas as pd

from app_pages.common import md_escape
from indicators.store import events, observations, open_store, results
from monitoring.i18n import t
from tests.apptest_support import app, texts

pytest_plugins = ("tests.app_fixtures",)
REAL = Path(__file__).with_name("data") / "real"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NEW_MONTH = "indicator,geo,period,value,flag\nasylum_applications,DE,2026-11,400,p\n"


def array(value) -> np.ndarray:
    """A plotly JSON array (plain list or typed ``bdata``)."""
    if isinstance(value, dict):
        shape = [int(n) for n in str(value["shape"]).split(",")]
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).reshape(shape)
    return np.asarray(value)


def button(at, key: str, lang: str = "en"):
    """A button by its label (forms' submit buttons have no key)."""
    return next(b for b in at.button if b.label == t(key, lang))


def uploader(at):
    """The page's one file box (its key changes after each successful load, which empties it)."""
    [box] = at.file_uploader
    return box


def upload(at, name: str, text: str):
    uploader(at).set_value([(name, text.encode(), "text/csv")]).run()
    at.button(key="da_load").click().run()
    return at


def test_coverage_heat_map_follows_the_chosen_indicators(demo_db):
    at = app("data")
    assert not at.exception
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    rows = list(heat["y"])
    nl = rows.index("First-time asylum applications – Netherlands")
    assert (array(heat["z"])[nl] == 0).sum() == 4  # the four missing months of 2018
    at.multiselect(key="da_indicators").set_value(["border_exits"]).run()
    heat = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    assert list(heat["y"]) == ["Exits of Kosovo citizens at border crossing points – Kosovo"]
    loads = at.dataframe[1].value
    assert "asylum_applications.csv" in set(loads["file"])


def test_upload_loads_and_rescans_the_touched_series(demo_db):
    store = open_store(demo_db)
    runs_before = len(results.runs(store))
    at = upload(app("data"), "november.csv", NEW_MONTH)
    assert not at.exception and not texts(at, "error")
    assert any(md_escape("november.csv: 1 new") in s for s in texts(at, "success"))
    de = observations.series(store, "asylum_applications", "DE")
    assert de["period"].iloc[-1] == "2026-11" and de["value"].iloc[-1] == 400
    assert len(results.runs(store)) == runs_before + 1
    assert "2026-11" in set(results.read_results(store, indicator="asylum_applications", geo="DE")["period"])
    # The same file again changes nothing.
    at = upload(app("data"), "november.csv", NEW_MONTH)
    assert any("already loaded" in s for s in texts(at, "success"))
    assert len(results.runs(store)) == runs_before + 1


def test_a_bad_file_changes_nothing_and_says_where(demo_db):
    store = open_store(demo_db)
    count = observations.observation_count(store)
    bad = ("indicator,geo,period,value,flag\n"
           "asylum_applications,DE,2026-13,12,\nnot_an_indicator,DE,2026-11,3,\n")
    at = upload(app("data"), "bad.csv", bad)
    assert not at.exception
    [message] = texts(at, "error")
    assert message == t("data.load_failed")
    [problems] = [c.value for c in at.code]  # quoted file content shown as text, never as Markdown
    assert "bad.csv, line 2" in problems and "bad.csv, line 3" in problems
    assert "/tmp" not in problems  # named as uploaded, not by the server's path
    assert observations.observation_count(store) == count
    assert uploader(at).value  # a failed load keeps the file in the box, to be fixed and loaded again


def test_an_unknown_indicator_points_to_the_ids_on_the_page_not_to_a_command(demo_db):
    at = upload(app("data"), "typo.csv", "indicator,geo,period,value,flag\nasylum_apps,DE,2026-10,3,\n")
    [problems] = [c.value for c in at.code]
    assert problems.startswith('typo.csv, line 2, column 1 (indicator): found "asylum_apps"; expected an '
                               "indicator id from the catalogue (asylum_applications, ")
    assert problems.endswith("; " + t("data.indicator_hint"))
    assert "python -m" not in problems
    ids = next(d.value for d in at.dataframe if "id" in d.value.columns)  # where the hint points
    assert "asylum_applications" in set(ids["id"])
    at = app("data")
    at.selectbox(key="lang").set_value("sq").run()
    at = upload(at, "typo.csv", "indicator,geo,period,value,flag\nasylum_apps,DE,2026-10,3,\n")
    assert [c.value for c in at.code][0].endswith("; " + t("data.indicator_hint", "sq"))


def test_a_successful_load_names_the_file_as_uploaded_empties_the_box_and_keeps_no_copy(demo_db):
    store = open_store(demo_db)
    legacy = demo_db.parent / "uploads" / "20260101-120000-000000"  # a copy kept by an earlier version
    legacy.mkdir(parents=True)
    (legacy / "old.csv").write_text(NEW_MONTH)
    at = upload(app("data"), "nov*2026*.csv", NEW_MONTH)
    assert not at.exception and not texts(at, "error")
    [message] = texts(at, "success")
    assert message.startswith(md_escape("nov*2026*.csv: 1 new"))  # as uploaded, shown literally
    assert str(demo_db.parent) not in message and "upload" not in message.lower()
    assert not uploader(at).value  # the box is empty after the load
    assert "nov*2026*.csv" in set(observations.loads(store)["file"])  # the load log: the name, with its sha256
    left = sorted(p.name for p in demo_db.parent.iterdir())
    assert left == ["monitor.duckdb"] or all(p.startswith("monitor.duckdb") for p in left), left


def test_a_wide_workbook_loads_through_the_mapping_chosen_on_the_page(demo_db):
    store = open_store(demo_db)
    data = (REAL / "xlsx_readmissions_columns.xlsx").read_bytes()
    at = app("data")
    uploader(at).set_value([("readmissions.xlsx", data, XLSX)]).run()
    assert not at.exception
    assert any("readmissions.xlsx" in m.value and "tidy" in m.value for m in at.markdown)
    assert at.dataframe[-2].value.loc[3, "A"] == "Country"  # the preview, rows numbered as in Excel
    at.selectbox(key="da_map0_indicator").set_value("repatriated_persons").run()
    at.radio(key="da_map0_layout").set_value("columns").run()
    at.button(key="da_load").click().run()
    assert not at.exception and not texts(at, "error")
    assert texts(at, "success")[0].startswith(md_escape(
        "readmissions.xlsx: 0 new, 30 revised, 0 unchanged rows; skipped 2 total rows or columns") + "\n\nRescanned 5")
    de = observations.series(store, "repatriated_persons", "DE").set_index("period")["value"]
    assert de["2024-01"] == 212 and de["2024-06"] == 219


def test_a_bad_workbook_names_sheet_and_cell(demo_db):
    store = open_store(demo_db)
    count = observations.observation_count(store)
    data = (REAL / "xlsx_bad_readmissions.xlsx").read_bytes()
    at = app("data")
    uploader(at).set_value([("readmissions.xlsx", data, XLSX)]).run()
    at.selectbox(key="da_map0_indicator").set_value("repatriated_persons").run()
    at.radio(key="da_map0_layout").set_value("columns").run()
    at.button(key="da_load").click().run()
    [problems] = [c.value for c in at.code]
    assert problems.splitlines() == [
        'readmissions.xlsx, sheet "2024", cell C5 (value): found "n/a"; expected a number, or an empty cell for '
        "a missing value",
        'readmissions.xlsx, sheet "2024", cell D7 (value): found "-3"; expected a count of 0 or more',
    ]
    assert observations.observation_count(store) == count


def test_add_edit_and_delete_an_event(demo_db):
    store = open_store(demo_db)
    at = app("data")
    at.date_input(key="ev_date").set_value(pd.Timestamp("2026-06-01").date())
    at.text_input(key="ev_label").input("Germany changes its reception rules")
    at.text_input(key="ev_geo").input("de")
    at.selectbox(key="ev_indicator").set_value("asylum_applications")
    button(at, "data.add").click().run()
    assert not at.exception
    evts = events.list_events(store)
    added = evts[evts["label"] == "Germany changes its reception rules"]
    assert list(added["geo"]) == ["DE"] and list(added["indicator"]) == ["asylum_applications"]
    event_id = int(added["id"].iloc[0])
    at.selectbox(key="ev_edit").set_value(event_id).run()
    at.text_input(key=f"ev_edit_label_{event_id}").input("Germany tightens its reception rules")
    button(at, "data.save_event").click().run()
    assert "Germany tightens its reception rules" in set(events.list_events(store)["label"])
    at.selectbox(key="ev_edit").set_value(event_id).run()
    at.checkbox(key=f"ev_delete_{event_id}").check()
    button(at, "data.save_event").click().run()
    assert event_id not in set(events.list_events(store)["id"])


def test_a_viewer_cannot_upload(demo_db, app_env):
    app_env.setenv("MONITOR_ROLE", "viewer")
    store = open_store(demo_db)
    count = observations.observation_count(store)
    at = upload(app("data"), "november.csv", NEW_MONTH)
    assert t("ui.analysts_only") in texts(at, "error")
    assert observations.observation_count(store) == count


def test_seeded_events_read_in_albanian_and_keep_their_stored_label_when_edited(demo_db):
    store = open_store(demo_db)
    seeded = "Hungary closes its border with Serbia"
    event_id = int(events.list_events(store).set_index("label").at[seeded, "id"])
    at = app("data", query={"lang": "sq"})
    at.selectbox(key="lang").set_value("sq").run()
    table = next(d.value for d in at.dataframe if "label" in d.value.columns and "created_by" in d.value.columns)
    assert t("event.hungary_border_2015", "sq") in set(table["label"]) and seeded not in set(table["label"])
    at.selectbox(key="ev_edit").set_value(event_id).run()
    assert at.text_input(key=f"ev_edit_label_{event_id}").value == seeded  # edited as stored
    at.date_input(key=f"ev_edit_date_{event_id}").set_value(pd.Timestamp("2015-09-16").date())
    button(at, "data.save_event", "sq").click().run()
    assert not at.exception
    assert events.list_events(store).set_index("id").at[event_id, "label"] == seeded
