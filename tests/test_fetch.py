"""``python -m indicators fetch`` and ``actions.fetch_eurostat`` against a local stand-in for Eurostat's API.

No network: ``tests/eurostat_server.py`` serves recorded answers in Eurostat's shapes (data structure
XML, gzipped API TSV, SOAP-fault error bodies) from ``tests/data/eurostat_api/``.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from indicators import eurostat, fetch
from indicators.__main__ import main
from indicators.store import Store, observations
from indicators.store.observations import dump
from monitoring.pipeline import actions
from monitoring.settings import load_settings
from tests.eurostat_server import RECORDED, EurostatServer

TODAY = "2026-11-26"


@pytest.fixture
def server(monkeypatch):
    srv = EurostatServer().start()
    monkeypatch.setenv(fetch.ENV_URL, srv.url)
    monkeypatch.setattr(fetch, "BACKOFF", 0.01)
    yield srv
    srv.stop()


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def fetch_cli(db, *args):
    return run("fetch", "--db", db, "--today", TODAY, *args)


def test_fetch_loads_every_mapped_dataset_in_one_load(server, tmp_path, catalogue):
    db = tmp_path / "m.duckdb"
    code, out, err = fetch_cli(db)
    assert code == 0, err
    mapped = fetch.mapped_datasets(catalogue)
    assert {"migr_asyappctzm", "migr_asydcfstq", "migr_eirfs"} <= set(mapped)
    lines = out.splitlines()
    assert "migr_asyappctzm.tsv.gz: 9 new, 0 revised, 0 unchanged rows; skipped 1 row for other citizenships " \
           "or breakdowns" in lines
    assert any(line.startswith("migr_asydcfstq.tsv.gz: 2 new") for line in lines)
    # the annual refusals of entry, kept at the totals of reason and border type
    assert "migr_eirfs.tsv.gz: 9 new, 0 revised, 0 unchanged rows; skipped 24 rows for other citizenships " \
           "or breakdowns" in lines
    # a dataset with nothing for Kosovo at the catalogue's frequency: Eurostat's "No Results Found" = 0 rows
    assert "migr_eiord1: 0 rows (Eurostat has no quarterly data for Kosovo citizens in it)" in lines
    assert lines[-2] == f"fetched {len(mapped)} datasets: 20 new, 0 revised, 0 unchanged rows"
    store = Store(db)
    de = observations.series(store, "asylum_applications", "DE")
    assert list(de["period"]) == ["2024-01", "2024-02", "2024-03"]
    assert de["value"].iloc[0] == 315 and pd.isna(de["value"].iloc[1]) and list(de["flag"])[2] == "p"
    rate = observations.series(store, "recognition_rate", "DE")
    assert list(rate["value"]) == [10.0, 15.0]
    loads = observations.loads(store)
    assert len(loads) == 3 and set(loads["loaded_by"]) == {"local"}
    assert len(set(loads["id"])) == 3 and all("eurostat" in f for f in loads["file"])  # one load_files call


def test_key_pins_citizen_in_its_position_and_the_frequency(server, tmp_path):
    code, _, _ = fetch_cli(tmp_path / "m.duckdb", "--dataset", "migr_asyappctzm", "migr_asydcfstq")
    assert code == 0
    paths = [p for p, _ in server.data_requests()]
    # freq,unit,citizen,sex,age,applicant,geo (the recorded data structure's order); the entry that applies
    # to these dimensions also pins applicant=FRST (the asyl_app one needs a dimension Eurostat dropped)
    assert paths[0].endswith("/sdmx/2.1/data/MIGR_ASYAPPCTZM/M..XK...FRST.")
    assert paths[1].endswith("/sdmx/2.1/data/MIGR_ASYDCFSTQ/Q..XK....")
    assert all(q["format"] == "TSV" and q["compressed"] == "true" and "startPeriod" not in q
               for _, q in server.data_requests())
    structures = [p for p, _ in server.requests if "/datastructure/" in p]
    assert structures[0].endswith("/sdmx/2.1/datastructure/ESTAT/MIGR_ASYAPPCTZM")


def test_since_is_sent_in_each_datasets_frequency(server, tmp_path):
    code, _, err = fetch_cli(tmp_path / "m.duckdb", "--since", "2024-05", "--dataset", "migr_asyappctzm",
                             "--dataset", "migr_asydcfstq")
    assert code == 0, err
    assert [q["startPeriod"] for _, q in server.data_requests()] == ["2024-05", "2024-Q2"]
    assert fetch.start_period("2024-12", "A") == "2024"
    code, _, err = fetch_cli(tmp_path / "m.duckdb", "--since", "2024-13")
    assert code == 1 and "--since: found '2024-13'; expected a month YYYY-MM" in err


def test_a_second_fetch_with_nothing_new_reads_0_new(server, tmp_path):
    db = tmp_path / "m.duckdb"
    fetch_cli(db, "--dataset", "migr_asyappctzm", "migr_asydcfstq")
    before = dump(Store(db))
    code, out, _ = fetch_cli(db, "--dataset", "migr_asyappctzm", "migr_asydcfstq")
    assert code == 0
    assert out.splitlines()[-2] == "fetched 2 datasets: 0 new, 0 revised, 11 unchanged rows"
    assert out.startswith("unchanged: migr_asyappctzm.tsv.gz already loaded on ")
    assert dump(Store(db)) == before


@pytest.mark.parametrize(
    ("status", "body", "said"),
    [
        (400, "error_syntax.xml", "HTTP 400 Bad Request (SDMX error 140): ERR_SYNTAX_2: Invalid query"),
        (500, "error_server.xml", "HTTP 500 Internal Server Error (SDMX error 500): ERR_INTERNAL: the "
                                  "dissemination database is being updated"),
    ],
)
def test_an_eurostat_error_loads_nothing(server, tmp_path, status, body, said):
    db = tmp_path / "m.duckdb"
    fetch_cli(db, "--dataset", "migr_asyappctzm")
    before = dump(Store(db))
    server.behaviour.dataset, server.behaviour.status = "migr_asydcfstq", status
    server.behaviour.body = (RECORDED / body).read_bytes()
    code, out, err = fetch_cli(db)  # migr_asyappctzm (first) downloads fine, then migr_asydcfstq fails
    assert (code, out) == (1, "")
    assert f"Nothing was loaded: migr_asydcfstq: Eurostat answered {said}" in err
    assert "Traceback" not in err
    assert dump(Store(db)) == before
    assert not any((tmp_path / "eurostat").glob("*/migr_asydcfstq*"))


def test_a_timeout_loads_nothing(server, tmp_path, monkeypatch):
    monkeypatch.setattr(fetch, "TIMEOUT", (1.0, 0.3))
    monkeypatch.setattr(fetch, "RETRIES", 1)
    db = tmp_path / "m.duckdb"
    server.behaviour.sleep = 1.0
    code, out, err = fetch_cli(db, "--dataset", "migr_asyappctzm")
    assert (code, out) == (1, "")
    assert f"Nothing was loaded: could not reach Eurostat at {server.url}: timed out; check the connection " \
           "or MONITOR_EUROSTAT_URL" in err
    assert observations.observation_count(Store(db)) == 0


def test_offline_is_a_message(tmp_path, monkeypatch):
    monkeypatch.setenv(fetch.ENV_URL, "http://127.0.0.1:9/eurostat/api/dissemination")
    monkeypatch.setattr(fetch, "BACKOFF", 0.01)
    code, out, err = fetch_cli(tmp_path / "m.duckdb")
    assert (code, out) == (1, "")
    assert "could not reach Eurostat at http://127.0.0.1:9/eurostat/api/dissemination: connection refused" in err


def test_a_response_cut_in_the_middle_loads_nothing(server, tmp_path):
    db = tmp_path / "m.duckdb"
    server.behaviour.dataset, server.behaviour.cut = "migr_asydcfstq", True
    code, out, err = fetch_cli(db, "--dataset", "migr_asyappctzm", "migr_asydcfstq")
    assert (code, out) == (1, "")
    assert "Nothing was loaded: migr_asydcfstq: Eurostat's answer was cut off" in err
    assert observations.observation_count(Store(db)) == 0


def test_a_truncated_gzip_loads_nothing(server, tmp_path):
    server.behaviour.status = 200
    server.behaviour.body = (RECORDED / "migr_asyappctzm.tsv.gz").read_bytes()[:-12]
    code, _, err = fetch_cli(tmp_path / "m.duckdb", "--dataset", "migr_asyappctzm")
    assert code == 1 and "migr_asyappctzm: Eurostat's answer was cut off (incomplete gzip" in err


def test_retries_on_503_then_loads(server, tmp_path):
    server.behaviour.fail_first = 2
    code, out, err = fetch_cli(tmp_path / "m.duckdb", "--dataset", "migr_asyappctzm")
    assert code == 0, err
    assert len(server.data_requests()) == 3
    assert out.splitlines()[-2] == "fetched 1 dataset: 9 new, 0 revised, 0 unchanged rows"


def test_unknown_dataset_and_error_bodies():
    code, out, err = run("fetch", "--dataset", "nama_10_gdp")
    assert code == 1 and "unknown dataset nama_10_gdp: choose among migr_asyappctzm" in err
    assert fetch.eurostat_message((RECORDED / "error_no_results.xml").read_bytes()) == ("100", "No Results Found")
    json_body = b'{"error":[{"status":404,"id":100,"label":"ERR_NOT_FOUND_4: no data"}]}'
    assert fetch.eurostat_message(json_body) == ("100", "ERR_NOT_FOUND_4: no data")


def test_the_dataset_list_is_read_from_the_mapping_at_run_time(server, tmp_path, monkeypatch):
    extra = eurostat.load_mapping()
    extra["migr_eiord1"] = [eurostat.Entry("migr_eiord1", "return_decisions", (("citizen", "XK"),))]
    monkeypatch.setattr(eurostat, "load_mapping", lambda path=eurostat.MAP_PATH: extra)
    code, out, _ = fetch_cli(tmp_path / "m.duckdb")
    assert code == 0 and "migr_eiord1: 0 rows (Eurostat has no quarterly data for Kosovo citizens in it)" in out
    assert any(p.endswith("/data/MIGR_EIORD1/Q.XK.") for p, _ in server.data_requests())


def test_actions_fetch_eurostat_loads_and_rescans(server, store, catalogue):
    seen = []
    result = actions.fetch_eurostat(store, catalogue, load_settings(), datasets=["migr_asyappctzm"],
                                    today=pd.Timestamp(TODAY), who="analyst",
                                    progress=lambda done, total, label: seen.append((done, total, label)))
    assert result.lines[-1] == "fetched 1 dataset: 9 new, 0 revised, 0 unchanged rows"
    assert ("asylum_applications", "DE") in result.touched and result.scan is not None
    assert seen[0] == (0, 1, "migr_asyappctzm")
    assert set(observations.loads(store)["loaded_by"]) == {"analyst"}
    again = actions.fetch_eurostat(store, catalogue, load_settings(), datasets=["migr_asyappctzm"],
                                   today=pd.Timestamp(TODAY), who="analyst")
    assert again.scan is None and again.lines[-1].endswith("0 new, 0 revised, 9 unchanged rows")


# --- the Data page (AppTest) ---------------------------------------------------------------------

pytest_plugins = ("tests.app_fixtures",)


def _fetch_on_page(datasets):
    from tests.apptest_support import app

    at = app("data")
    at.button_group(key="da_fetch_datasets").set_value(datasets).run()
    at.button(key="da_fetch").click().run()
    return at


def test_data_page_fetches_loads_and_rescans(server, demo_db):
    from tests.apptest_support import texts

    store = Store(demo_db)
    at = _fetch_on_page(["migr_asyappctzm"])
    assert not at.exception and not texts(at, "error")
    flash = " ".join(texts(at, "success"))
    # the demo database holds 2024 already: the recorded slice revises six values and adds three
    assert "fetched 1 dataset\\: 3 new, 6 revised, 0 unchanged rows" in flash and "Rescanned 3" in flash
    assert "migr_asyappctzm.tsv.gz" in set(observations.loads(store)["file"].map(lambda f: f.rsplit("/", 1)[-1]))


def test_data_page_shows_eurostats_error_as_text_and_loads_nothing(server, demo_db):
    from tests.apptest_support import texts

    before = len(observations.loads(Store(demo_db)))
    server.behaviour.status, server.behaviour.body = 400, (RECORDED / "error_syntax.xml").read_bytes()
    at = _fetch_on_page(["migr_asyappctzm"])
    assert not at.exception
    assert texts(at, "error") == ["Nothing was loaded. Eurostat's answer or the files had a problem:"]
    assert any("ERR_SYNTAX_2: Invalid query" in c.value for c in at.code)
    assert len(observations.loads(Store(demo_db))) == before


def test_viewers_cannot_fetch(server, demo_db, app_env):
    from monitoring.i18n import t
    from tests.apptest_support import texts

    app_env.setenv("MONITOR_ROLE", "viewer")
    at = _fetch_on_page(["migr_asyappctzm"])
    assert t("ui.analysts_only") in texts(at, "error")
    assert server.data_requests() == []
