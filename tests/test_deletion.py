"""Deleting a series or a period range: audited, old values kept as revisions, no alarm left behind,
a bad row the monitor cannot parse deletable, a value loaded again simply new (issue 14 item 1)."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from indicators.__main__ import main
from indicators.catalogue import load_catalogue
from indicators.loaders import load_files
from indicators.store import deletion, episodes, observations, results
from indicators.store.audit import read_audit
from indicators.store.observations import dump
from monitoring.pipeline.scan import scan
from monitoring.settings import MonitorSettings
from tests.populated import TODAY, master_copy, series_csv

CLOCK = dt.datetime(2026, 11, 26, 10, 30)


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def db(tmp_path_factory, tmp_path):
    store = master_copy(tmp_path_factory, tmp_path / "m.duckdb")
    store.clock = lambda: CLOCK
    return store


def _values(store, indicator, geo) -> dict[str, float]:
    obs = observations.observations(store, indicator, geo)
    return dict(zip(obs["period"], obs["value"], strict=True))


def test_without_yes_the_cli_lists_what_it_would_delete_and_changes_nothing(db):
    before = dump(db)
    code, out, err = run("delete", "--indicator", "asylum_applications", "--geo", "DE", "--from", "2026-04",
                         "--to", "2026-06", "--db", db.path)
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"Deleting would remove 3 values of asylum_applications DE 2026-04..2026-06 from {db.path}; the old "
        "values are kept as revisions.",
        "Nothing was changed. Run again with --yes to delete."]
    assert dump(db) == before


def test_a_range_is_deleted_audited_kept_as_revisions_and_its_alarm_withdrawn(db):
    old = _values(db, "asylum_applications", "DE")
    spike = episodes.read_episodes(db)
    spike = spike[(spike["geo"] == "DE") & (spike["start_period"] <= "2026-06") & (spike["last_period"] >= "2026-04")]
    assert len(spike) == 1 and spike["peak_level"].iloc[0] == "alert"  # the spike of 2026-05 raised one
    code, out, err = run("delete", "--indicator", "asylum_applications", "--geo", "DE", "--from", "2026-04",
                         "--to", "2026-06", "--db", db.path, "--who", "cleo", "--reason", "wrong extract", "--yes")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("deleted 3 values of asylum_applications DE 2026-04..2026-06 (deletion 3, old "
                                   "values kept as revisions); 1 episode withdrawn")
    left = _values(db, "asylum_applications", "DE")
    assert set(old) - set(left) == {"2026-04", "2026-05", "2026-06"} and len(left) == len(old) - 3
    revs = observations.revisions(db, "asylum_applications", "DE")
    gone = revs[revs["replaced_by_load"] == 3]
    assert dict(zip(gone["period"], gone["value"], strict=True)) == {p: old[p] for p in ("2026-04", "2026-05", "2026-06")}
    load = observations.loads(db).iloc[-1]
    assert set(gone["replaced_at"]) == {load["loaded_at"]}  # when they were removed
    assert (load["id"], load["format"], load["file"], load["loaded_by"], load["rows_revised"]) == (
        3, "deletion", "deleted asylum_applications DE 2026-04..2026-06", "cleo", 3)
    row = read_audit(db).iloc[-1]
    assert (row["who"], row["action"], row["target"], row["reason"]) == (
        "cleo", "delete", "asylum_applications DE 2026-04..2026-06", "wrong extract")
    assert row["before"] == "3 values: " + "; ".join(f"2026-0{m}={old[f'2026-0{m}']:g}" for m in (4, 5, 6))
    assert row["after"] == "deleted (deletion 3; old values kept as revisions); 1 episode withdrawn"
    # nothing stored for the deleted periods keeps showing: results, scores, the episode
    stored = results.read_results(db, indicator="asylum_applications", geo="DE")
    assert not set(stored["period"]) & {"2026-04", "2026-05", "2026-06"}
    after = episodes.read_episodes(db).set_index("id").loc[int(spike["id"].iloc[0])]
    assert (after["state"], after["current_level"]) == ("withdrawn", "normal")
    actions = episodes.episode_actions(db, int(spike["id"].iloc[0]))
    assert (actions.iloc[-1]["action"], actions.iloc[-1]["who"]) == ("data_deleted", "cleo")
    # the next scan refits what is left and raises nothing for the periods that are gone
    scan(db, load_catalogue(), MonitorSettings(), today=TODAY, workers=1)
    de = episodes.read_episodes(db)
    de = de[(de["indicator"] == "asylum_applications") & (de["geo"] == "DE") & (de["state"] == "open")]
    assert not ((de["start_period"] <= "2026-06") & (de["last_period"] >= "2026-04")).any()


def test_a_deleted_value_loaded_again_is_simply_new(db, tmp_path):
    path = series_csv(tmp_path / "series.csv")  # the populated database's first file, already loaded
    [before] = load_files(db, [path], catalogue=load_catalogue(), today=TODAY.date())
    assert before.already_loaded
    deletion.delete(db, "border_exits", "XK", who="cleo")
    assert _values(db, "border_exits", "XK") == {}
    [report] = load_files(db, [path], catalogue=load_catalogue(), today=TODAY.date())
    assert (report.new, report.already_loaded) == (117, False)


def test_a_whole_series_is_removed_with_its_results_and_episodes(db):
    done = deletion.delete(db, "asylum_applications", "FR", who="cleo")
    assert (done.count, done.whole_series, done.what) == (117, True, "asylum_applications FR 2017-01..2026-09")
    assert results.read_results(db, indicator="asylum_applications", geo="FR").empty
    fr = episodes.read_episodes(db)
    assert set(fr[fr["geo"] == "FR"]["state"]) <= {"withdrawn"}
    report = scan(db, load_catalogue(), MonitorSettings(), today=TODAY, workers=1)
    assert report.skipped == ()
    assert "FR" not in set(results.read_results(db)["geo"])


def test_a_year_0_series_the_monitor_cannot_parse_is_deletable(tmp_path, store, catalogue, today):
    """As the old bug let it in: a 0000-01 period (DuckDB holds it as 1 BC), every scan failing on it."""
    good = tmp_path / "good.csv"
    good.write_text("indicator,geo,period,value,flag\nasylum_applications,FR,2024-01,5,\n", encoding="utf-8")
    load_files(store, [good], catalogue=catalogue, today=today)
    with store.write() as con:
        con.execute("INSERT INTO loads VALUES (nextval('load_ids'), 'bad.csv', 'x', 'csv', TIMESTAMP '2026-01-01', "
                    "'local', false, 1, 0, 0)")
        con.execute("INSERT INTO observations VALUES ('asylum_applications', 'DE', '0000-01', DATE '0000-01-01', 1, "
                    "NULL, currval('load_ids'), TIMESTAMP '2026-01-01', 'bad.csv')")
    report = scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1)  # it used to fail whole
    assert report.skipped == ("asylum_applications DE: ValueError: year 0 is out of range",)
    code, out, err = run("delete", "--indicator", "asylum_applications", "--geo", "DE", "--to", "1989-12",
                         "--db", store.path, "--yes")
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == ("deleted 1 value of asylum_applications DE 0000-01 (the whole series) "
                                   "(deletion 3, old values kept as revisions)")
    assert set(observations.observations(store)["geo"]) == {"FR"}
    [rev] = observations.revisions(store, "asylum_applications", "DE").itertuples()
    assert (rev.period, rev.value, rev.replaced_by_load) == ("0000-01", 1.0, 3)
    assert scan(store, catalogue, MonitorSettings(), today=TODAY, workers=1).skipped == ()  # the monitor works again


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "2026-13"], "error: --from: found '2026-13'; expected a period YYYY-MM, YYYY-Qn or YYYY "
                            "(year 1 or later)\n"),
    (["--to", "0000"], "error: --to: found '0000'; expected a period YYYY-MM, YYYY-Qn or YYYY (year 1 or later)\n"),
    (["--from", "2026-05", "--to", "2026-04"], "error: --from 2026-05 is after --to 2026-04\n"),
])
def test_a_bad_range_is_refused_and_changes_nothing(db, argv, message):
    before = dump(db)
    code, out, err = run("delete", "--indicator", "asylum_applications", "--geo", "DE", *argv, "--db", db.path,
                         "--yes")
    assert (code, out, err) == (2, "", message)
    assert dump(db) == before


def test_nothing_to_delete_is_said_and_writes_nothing(db):
    before = db.path.read_bytes()
    code, out, err = run("delete", "--indicator", "asylum_applications", "--geo", "XX", "--from", "2020",
                         "--db", db.path, "--yes")
    assert (code, out) == (1, "")
    assert err == f"Nothing to delete: {db.path} holds no value of asylum_applications XX from 2020 to its last.\n"
    assert db.path.read_bytes() == before
