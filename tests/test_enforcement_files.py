"""Eurostat's enforcement datasets in their real shapes: each loads into its series at its frequency."""

from __future__ import annotations

import pytest

from indicators.loaders import load_files
from indicators.store.observations import observations
from indicators.validation import LoadError

REAL = __import__("pathlib").Path(__file__).with_name("data") / "real" / "enforcement"


def stored(store) -> dict:
    obs = observations(store)
    return {(r.indicator, r.geo, r.period): (None if r.value != r.value else r.value,
                                             r.flag if isinstance(r.flag, str) else None)
            for r in obs.itertuples()}  # missing as None, so that equal tables compare equal


# (file, indicator, rows stored, one stored row, rows skipped)
CASES = [
    # Refusals of entry: annual only, the totals over reason for refusal and type of border kept.
    ("migr_eirfs.tsv", "refused_entry", 9, (("DE", "2024"), (600.0, "p")), 51),
    ("migr_eirfs.tsv.gz", "refused_entry", 9, (("EL", "2023"), (131.0, None)), 51),
    # Found illegally present: annual only, total over the place of apprehension, age and sex.
    ("migr_eipre.tsv", "irregular_stay", 6, (("AT", "2023"), (None, None)), 46),
    # Ordered to leave: the annual history and the quarterly collection are separate indicators.
    ("migr_eiord.tsv", "return_decisions_annual", 6, (("CH", "2024"), (305.0, None)), 21),
    ("migr_eiord1.tsv", "return_decisions", 6, (("FR", "2024-Q3"), (171.0, "p")), 14),
    # Returned: the total over the country of destination of the return.
    ("migr_eirtn.tsv", "effective_returns_annual", 4, (("SE", "2024"), (71.0, None)), 10),
    ("migr_eirtn1.tsv", "effective_returns", 4, (("DE", "2024-Q2"), (232.0, None)), 6),
    # A bulk file from before the 2021 restructuring: no freq column, indic_mg, years newest first.
    ("migr_eiord_2019_bulk.tsv", "return_decisions_annual", 4, (("FR", "2018"), (610.0, None)), 2),
]


@pytest.mark.parametrize("name, indicator, count, sample, skipped", CASES, ids=[c[0] for c in CASES])
def test_each_enforcement_file_loads_into_its_series(store, catalogue, today, name, indicator, count, sample,
                                                      skipped):
    [report] = load_files(store, [REAL / name], catalogue=catalogue, today=today)
    rows = stored(store)
    assert {k[0] for k in rows} == {indicator}
    assert (report.new, report.skipped_other_rows, len(rows)) == (count, skipped, count)
    (geo, period), (value, flag) = sample
    got_value, got_flag = rows[(indicator, geo, period)]
    assert (got_value, got_flag) == (value, flag)
    again = load_files(store, [REAL / name], catalogue=catalogue, today=today)
    assert again[0].already_loaded and stored(store) == rows


def test_a_quarterly_extract_of_an_annual_only_dataset_is_refused_with_the_frequency(tmp_path, store, catalogue,
                                                                                      today):
    path = tmp_path / "migr_eirfs.tsv"
    path.write_text("freq,unit,citizen,reason,border,geo\\TIME_PERIOD\t2024-Q1 \nQ,PER,XK,TOTAL,TOTAL,DE\t5 \n")
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (f'{path}, line 2, column 2 (2024-Q1): found "2024-Q1"; expected an annual period '
                               "YYYY for refused_entry")
    assert stored(store) == {}


def test_a_breakdown_without_a_total_is_named_as_duplicate_rows(tmp_path, store, catalogue, today):
    # A dimension the mapping does not know, with no TOTAL to keep: the rows are duplicates, refused.
    path = tmp_path / "migr_eiord.tsv"
    path.write_text("freq,unit,citizen,legal,geo\\TIME_PERIOD\t2024 \nA,PER,XK,ART6,DE\t5 \nA,PER,XK,ART8,DE\t7 \n")
    with pytest.raises(LoadError) as info:
        load_files(store, [path], catalogue=catalogue, today=today)
    assert str(info.value) == (f"{path}, line 3: found a second row for return_decisions_annual, DE, 2024; expected "
                               "one row per indicator, geo and period (first on line 2)")


def test_a_breakdown_the_mapping_does_not_name_is_kept_at_its_total(tmp_path, store, catalogue, today):
    # Eurostat adds breakdowns over the years; a new one with a TOTAL loads its total, not duplicates.
    path = tmp_path / "migr_eiord.tsv"
    path.write_text("freq,unit,citizen,legal,geo\\TIME_PERIOD\t2024 \nA,PER,XK,ART6,DE\t5 \n"
                    "A,PER,XK,TOTAL,DE\t12 \nA,PER,XK,ART8,DE\t7 \n")
    [report] = load_files(store, [path], catalogue=catalogue, today=today)
    assert stored(store) == {("return_decisions_annual", "DE", "2024"): (12.0, None)}
    assert report.skipped_other_rows == 2
