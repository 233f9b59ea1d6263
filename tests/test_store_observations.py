"""Store reads (series, observations, coverage, fingerprints, ...) and events CRUD."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from indicators.catalogue import Indicator
from indicators.loaders import load_files
from indicators.store import StoreError
from indicators.store.events import add_event, delete_event, list_events, update_event
from indicators.store.observations import (
    coverage,
    dump,
    observations,
    series,
    series_fingerprints,
    sync_catalogue,
    synthetic_in_use,
)

HEADER = "indicator,geo,period,value,flag\n"


def load(tmp_path, store, catalogue, today, name, body):
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return load_files(store, [path], catalogue=catalogue, today=today)


def test_coverage_counts_gaps_missing_values_and_provisional(tmp_path, store, catalogue, today):
    load(
        tmp_path,
        store,
        catalogue,
        today,
        "a.csv",
        "border_exits,XK,2024-01,5,\nborder_exits,XK,2024-03,,\nborder_exits,XK,2024-06,7,p\n"
        "return_decisions,DE,2023-Q4,1,\nreturn_decisions,DE,2024-Q3,2,p\nreturn_decisions,DE,2024-Q2,3,p\n",
    )
    cov = coverage(store)
    assert cov[
        ["indicator", "geo", "first_period", "last_period", "count", "missing", "provisional"]
    ].values.tolist() == [
        ["border_exits", "XK", "2024-01", "2024-06", 2, 4, 1],  # Feb, Mar (empty), Apr, May
        ["return_decisions", "DE", "2023-Q4", "2024-Q3", 3, 1, 2],  # 2024-Q1
    ]


def test_series_and_observations_filters(tmp_path, store, catalogue, today):
    load(
        tmp_path,
        store,
        catalogue,
        today,
        "a.csv",
        "border_exits,XK,2024-02,6,\nborder_exits,XK,2024-01,5,\nasylum_applications,DE,2024-01,9,e\n"
        "asylum_applications,FR,2024-01,3,\n",
    )
    s = series(store, "border_exits", "XK")
    assert list(s.columns) == ["period", "value", "flag", "period_start"]
    assert s["period"].tolist() == ["2024-01", "2024-02"]
    assert [d.date() for d in s["period_start"]] == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    assert len(observations(store)) == 4
    assert observations(store, indicators="asylum_applications")["geo"].tolist() == ["DE", "FR"]
    assert observations(store, indicators=["asylum_applications", "border_exits"], geos=["FR", "XK"])[
        ["indicator", "geo"]
    ].values.tolist() == [["asylum_applications", "FR"], ["border_exits", "XK"], ["border_exits", "XK"]]
    assert series(store, "border_exits", "DE").empty


def test_fingerprint_changes_only_with_the_series(tmp_path, store, catalogue, today):
    body = "border_exits,XK,2024-01,5,\nasylum_applications,DE,2024-01,9,\n"
    load(tmp_path, store, catalogue, today, "a.csv", body)
    first = series_fingerprints(store).set_index(["indicator", "geo"])
    load(tmp_path, store, catalogue, today, "b.csv", "border_exits,XK,2024-01,5,p\n")  # flag only
    second = series_fingerprints(store).set_index(["indicator", "geo"])
    assert (
        first.loc[("border_exits", "XK"), "fingerprint"] != second.loc[("border_exits", "XK"), "fingerprint"]
    )
    assert second.loc[("border_exits", "XK"), "last_load_id"] == 2
    assert (
        first.loc[("asylum_applications", "DE")].tolist()
        == second.loc[("asylum_applications", "DE")].tolist()
    )
    load(
        tmp_path, store, catalogue, today, "c.csv", "asylum_applications,DE,2024-02,,\n"
    )  # a new empty period
    third = series_fingerprints(store).set_index(["indicator", "geo"])
    assert (
        third.loc[("asylum_applications", "DE"), "fingerprint"]
        != second.loc[("asylum_applications", "DE"), "fingerprint"]
    )


def test_synthetic_in_use_follows_current_observations(tmp_path, store, catalogue, today):
    (tmp_path / "s.csv").write_text(
        "# synthetic: true\n" + HEADER + "border_exits,XK,2024-01,5,\n", encoding="utf-8"
    )
    load_files(store, [tmp_path / "s.csv"], catalogue=catalogue, today=today)
    assert synthetic_in_use(store)
    load(tmp_path, store, catalogue, today, "real.csv", "border_exits,XK,2024-01,6,\n")  # replaces it
    assert not synthetic_in_use(store)


def test_sync_catalogue_writes_only_when_it_differs(store, catalogue):
    assert sync_catalogue(store, catalogue) is True
    before = store.path.read_bytes()
    assert sync_catalogue(store, catalogue) is False
    assert store.path.read_bytes() == before
    extra = Indicator("visa_refusals", "Visa refusals", "persons", "M", "outflow", "up", "MFA", "Refusals.")
    bigger = dataclasses.replace(catalogue, indicators=(*catalogue.indicators, extra))
    assert sync_catalogue(store, bigger) is True
    assert ("visa_refusals", "Visa refusals", "M") in {(r[0], r[1], r[3]) for r in dump(store)["indicators"]}


def test_events_add_update_soft_delete_with_audit(store):
    seeded = len(list_events(store))
    label = "  Germany <b>changes</b> rules; 'quoted' — ünïcode  "
    event_id = add_event(store, "2025-03-01", label, "analyst", indicator="asylum_applications", geo="DE")
    events = list_events(store)
    assert len(events) == seeded + 1
    row = events[events["id"] == event_id].iloc[0]
    assert (row["label"], row["created_by"], row["geo"]) == (label, "analyst", "DE")
    assert event_id not in list_events(store, geo="FR")["id"].tolist()
    update_event(store, event_id, "lead", label="New label", geo=None)
    row = list_events(store).set_index("id").loc[event_id]
    assert (row["label"], row["geo"], row["indicator"]) == ("New label", None, "asylum_applications")
    delete_event(store, event_id, "lead")
    assert event_id not in list_events(store)["id"].tolist()
    assert list_events(store, include_deleted=True).set_index("id").loc[event_id, "deleted"]
    actions = [(r[2], r[3], r[4]) for r in sorted(dump(store)["journal.audit"])]
    assert actions == [
        ("analyst", "event.add", f"event {event_id}"),
        ("lead", "event.update", f"event {event_id}"),
        ("lead", "event.delete", f"event {event_id}"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: add_event(s, "2025-13-01", "x", "a"),
            "event date: found '2025-13-01'; expected a date YYYY-MM-DD",
        ),
        (
            lambda s: add_event(s, "2025-01-01", "  ", "a"),
            "event label: found an empty label; expected some text",
        ),
        (
            lambda s: add_event(s, "2025-01-01", "x", "a", geo="de"),
            "event geo: found 'de'; expected a geo code such as DE or EU27_2020",
        ),
        (lambda s: update_event(s, 999, "a", label="x"), "no event with id 999"),
        (lambda s: delete_event(s, 999, "a"), "no event with id 999"),
    ],
)
def test_event_errors(store, call, message):
    with pytest.raises(StoreError) as info:
        call(store)
    assert str(info.value) == message
