"""Eurostat files in the shapes users actually download (``tests/data/real/asylum_*``).

SDMX-CSV 1.0 and 2.0, with codes or with labels, plain or gzipped; the API TSV and the old bulk
TSV. Each loads the same Kosovo rows into asylum_applications and reloads as unchanged; a file
whose selection finds nothing is refused with what it holds instead.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pandas as pd
import pytest

from indicators.loaders import load_files
from indicators.store.observations import dump, observations
from indicators.validation import LoadError

REAL = Path(__file__).with_name("data") / "real"
SDMX = ("asylum_sdmx10.csv", "asylum_sdmx10_labels.csv", "asylum_sdmx20.csv", "asylum_sdmx20_labels.csv")
# The Kosovo first-time applicants every 2024 file holds; its other 4 rows are other citizens,
# subsequent applicants, women only and one age group.
ROWS_2024 = [
    ("DE", "2024-01", 315.0, None),
    ("DE", "2024-02", None, None),
    ("DE", "2024-03", 5.0, "p"),
    ("EU27_2020", "2024-01", 7.0, None),
    ("EU27_2020", "2024-02", 9.0, None),
    ("EU27_2020", "2024-03", 11.0, None),
    ("FR", "2024-01", None, "c"),
    ("FR", "2024-02", 12.0, "e"),
    ("FR", "2024-03", 40.0, None),
]
ROWS_2016 = [  # NASY_APP for citizen XK, sex T; ASY_APP, sex F and citizen RS skipped
    ("DE", "2016-01", 680.0, None),
    ("DE", "2016-02", 515.0, None),
    ("DE", "2016-03", 590.0, None),
    ("HU", "2016-01", 30.0, None),
    ("HU", "2016-02", 25.0, "e"),
    ("HU", "2016-03", None, None),
    ("SE", "2016-01", None, "c"),
    ("SE", "2016-02", 40.0, "p"),
    ("SE", "2016-03", 45.0, None),
]
NO_XK = (
    "{path}: found no rows for citizen XK (the file holds citizen AF, BD, CO, GE, IQ, MA, PK, SY and 2 more); "
    "expected a Eurostat file with rows for Kosovo (citizen=XK)"
)


def stored(store) -> list[tuple]:
    frame = observations(store)
    assert set(frame["indicator"]) <= {"asylum_applications"}
    return sorted(
        (r.geo, r.period, None if math.isnan(r.value) else r.value, None if pd.isna(r.flag) else r.flag)
        for r in frame.itertuples()
    )


def load_and_reload(store, path, catalogue, today, fmt: str, skipped: int) -> None:
    [report] = load_files(store, [path], catalogue=catalogue, today=today)
    assert (report.format, report.skipped_other_rows, report.already_loaded) == (fmt, skipped, False)
    assert report.new == len(stored(store))
    before, before_bytes = dump(store), store.path.read_bytes()
    [again] = load_files(store, [path], catalogue=catalogue, today=today)
    assert (again.already_loaded, again.new, again.revised, again.unchanged) == (True, 0, 0, report.new)
    assert dump(store) == before
    assert store.path.read_bytes() == before_bytes


def refused(store, paths, catalogue, today, **kwargs) -> str:
    before = dump(store)
    with pytest.raises(LoadError) as info:
        load_files(store, paths, catalogue=catalogue, today=today, **kwargs)
    assert dump(store) == before
    return str(info.value)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("name", SDMX)
def test_every_sdmx_csv_shape_loads_the_kosovo_rows(store, catalogue, today, name, gz):
    path = REAL / (name + ".gz" if gz else name)
    load_and_reload(store, path, catalogue, today, "sdmx-csv", 4)
    assert stored(store) == ROWS_2024


def test_the_api_tsv_loads_the_same_rows(tmp_path, store, catalogue, today):
    path = tmp_path / "estat_migr_asyappctzm.tsv"  # the name Eurostat's API gives it
    shutil.copy(REAL / "asylum_api.tsv", path)
    load_and_reload(store, path, catalogue, today, "eurostat-tsv", 4)
    assert stored(store) == ROWS_2024


def test_the_old_bulk_tsv_with_asyl_app_and_geo_time_loads(tmp_path, store, catalogue, today):
    path = tmp_path / "migr_asyappctzm.tsv"
    shutil.copy(REAL / "asylum_bulk.tsv", path)
    load_and_reload(store, path, catalogue, today, "eurostat-tsv", 3)
    assert stored(store) == ROWS_2016


def test_an_sdmx_file_with_no_kosovo_rows_is_refused(store, catalogue, today):
    path = REAL / "asylum_no_xk.csv"
    assert refused(store, [path], catalogue, today) == NO_XK.format(path=path)


def test_a_tsv_with_no_kosovo_rows_is_refused_alike(tmp_path, store, catalogue, today):
    path = tmp_path / "migr_asyappctzm.tsv"
    shutil.copy(REAL / "asylum_no_xk.tsv", path)
    assert refused(store, [path], catalogue, today) == NO_XK.format(path=path)


def test_kosovo_rows_without_first_time_applicants_name_the_missing_value(store, catalogue, today):
    path = REAL / "asylum_no_frst.csv"
    assert refused(store, [path], catalogue, today) == (
        f"{path}: found no rows for applicant FRST among the rows for citizen XK (they hold applicant NASY, "
        "SUBS); expected rows with applicant=FRST, which indicators/eurostat_map.toml selects for "
        "asylum_applications"
    )


def test_a_missing_breakdown_is_named_too(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "x.csv",
        "DATAFLOW,LAST UPDATE,freq,unit,citizen,sex,age,applicant,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
        "ESTAT:MIGR_ASYAPPCTZM(1.0),24/10/25 23:00:00,M,PER,XK,F,TOTAL,FRST,DE,2024-01,5,\n"
        "ESTAT:MIGR_ASYAPPCTZM(1.0),24/10/25 23:00:00,M,PER,XK,M,TOTAL,FRST,DE,2024-01,6,\n",
    )
    assert refused(store, [path], catalogue, today) == (
        f"{path}: found no rows for sex T among the rows for citizen XK, applicant FRST and unit PER "
        "(they hold sex F, M); "
        "expected rows with sex=T, which indicators/eurostat_map.toml selects for asylum_applications"
    )


def test_a_header_without_rows_is_refused(tmp_path, store, catalogue, today):
    path = write(tmp_path, "x.csv", (REAL / "asylum_sdmx20.csv").read_text().splitlines()[0] + "\n\n")
    text = refused(store, [path], catalogue, today, dataset="migr_asyappctzm")
    assert text == f"{path}: found a header and no data rows; expected at least one data row after the header"


SDMX20_BOTH = (
    "STRUCTURE,STRUCTURE_ID,ACTION,freq: Time frequency,unit: Unit of measure,citizen: Country of citizenship,"
    "sex: Sex,age: Age class,applicant: Type of applicant,geo: Geopolitical entity (reporting),TIME_PERIOD: Time,"
    "OBS_VALUE: Observation value,OBS_FLAG: Observation status\n"
    'dataflow,"ESTAT:MIGR_ASYAPPCTZM(1.0): Asylum applicants by type, citizenship, age and sex - monthly data",I,'
    "M: Monthly,PER: Person,XK: Kosovo*,T: Total,TOTAL: Total,FRST: First time applicant,DE: Germany,2024-01,"
    "315,p: provisional\n"
)


def test_sdmx_csv_2_with_labels_both_as_the_standard_writes_them(tmp_path, store, catalogue, today):
    load_and_reload(store, write(tmp_path, "both.csv", SDMX20_BOTH), catalogue, today, "sdmx-csv", 0)
    assert stored(store) == [("DE", "2024-01", 315.0, "p")]


def test_sdmx_csv_2_with_semicolons_action_and_name_columns(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "semi.csv",
        "STRUCTURE;STRUCTURE_ID;STRUCTURE_NAME;ACTION;freq;Time frequency;citizen;Country of citizenship;"
        "applicant;Type of applicant;geo;Geopolitical entity (reporting);TIME_PERIOD;Time;OBS_VALUE;"
        "Observation value;OBS_FLAG;Observation status\n"
        'dataflow;ESTAT:MIGR_ASYAPPCTZM(1.0);"Asylum applicants; monthly";I;M;Monthly;XK;Kosovo*;FRST;First time;'
        "DE;Germany;2024-02;;12;;e;Estimated\n",
    )
    load_and_reload(store, path, catalogue, today, "sdmx-csv", 0)
    assert stored(store) == [("DE", "2024-02", 12.0, "e")]


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_quoted_commas_doubled_quotes_and_exact_line_numbers(tmp_path, store, catalogue, today, newline):
    header = "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,citizen,applicant,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
    row = 'dataflow,ESTAT:MIGR_ASYAPPCTZM(1.0),"Asylum, ""monthly""",XK,FRST,{geo},2024-01,{value},\n'
    text = (
        '# note: "exported"\n\n'
        + header
        + row.format(geo="DE", value="3")
        + "\n   \n"
        + row.format(geo="FR", value="-4")  # line 7
        + row.format(geo="SE", value="1")
    )
    path = tmp_path / "lines.csv"
    path.write_bytes(("\ufeff" + text.replace("\n", newline)).encode("utf-8"))
    assert refused(store, [path], catalogue, today) == (
        f'{path}, line 7, column 8 (OBS_VALUE): found "-4"; expected a count of 0 or more'
    )


def test_a_quoted_field_running_onto_the_next_line_is_refused(tmp_path, store, catalogue, today):
    path = write(
        tmp_path,
        "multi.csv",
        "STRUCTURE,STRUCTURE_ID,STRUCTURE_NAME,citizen,applicant,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG\n"
        'dataflow,ESTAT:MIGR_ASYAPPCTZM(1.0),"Asylum\nmonthly",XK,FRST,DE,2024-01,3,\n',
    )
    assert refused(store, [path], catalogue, today) == (
        f"{path}, line 2: found a quoted field that continues onto the next line (an odd number of double "
        "quotes); expected each row on one line, with no line breaks inside quoted fields"
    )


def test_a_row_with_a_field_too_many_is_counted_with_quotes_understood(tmp_path, store, catalogue, today):
    header = "STRUCTURE,STRUCTURE_ID,citizen,applicant,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG"
    path = write(
        tmp_path,
        "wide.csv",
        f"{header}\n"
        'dataflow,"ESTAT:MIGR_ASYAPPCTZM(1.0)",XK,FRST,DE,2024-01,3,,"x, y"\n'
        'dataflow,"ESTAT:MIGR_ASYAPPCTZM(1.0)",XK,FRST,FR,2024-01,3,\n',
    )
    assert refused(store, [path], catalogue, today) == f"{path}, line 2: found 9 fields; expected 8 ({header})"
