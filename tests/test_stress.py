"""The stress script at a small size: 20 sessions reading and saving while another process loads and
scans; no errors and no lost writes. (Full size by hand: ``python benchmarks/stress.py``.)"""

from __future__ import annotations

import pytest

from benchmarks import stress
from indicators.store import Store


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stress")
    return folder, stress.run(seconds=3, threads=20, n_series=4, folder=folder)


def test_no_errors_and_no_lost_writes(outcome):
    _, result = outcome
    assert result["errors"] == []
    assert result["lost"] == {"settings": 0, "acknowledgements": 0, "episode status not the last action": 0,
                              "loads (with their revisions)": 0, "values of the last load": 0}
    assert result["saved"]["settings"] > 0 and result["levels_at_saved"]  # the saves' levels were written


def test_every_kind_of_operation_ran(outcome):
    _, result = outcome
    assert set(result["operations"]) == set(stress.READS) | set(stress.WRITES) | {"load", "scan"}
    assert all(n > 0 for n in result["operations"].values()), result["operations"]
    assert result["saved"]["revisions"] > 0  # the other process's loads did revise values
    assert "**Errors: 0.**" in stress.report(result)


def test_the_lost_write_check_can_fail(outcome):
    folder, result = outcome
    store = Store(folder / "monitor.duckdb")
    done = stress.Sessions()
    done.settings.append((10**6, "never saved"))
    done.acks.append((10**6, "acknowledged", "never acknowledged"))
    loaded = [{"load_id": 10**6, "file": "x.csv", "revised": 3, "values": {"AT/2026-09": -1.0}}]
    lost = stress.lost_writes(store, done, loaded)
    assert lost == {"settings": 1, "acknowledgements": 1, "episode status not the last action": 0,
                    "loads (with their revisions)": 1, "values of the last load": 1}
