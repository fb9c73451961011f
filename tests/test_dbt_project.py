"""dbt project on a small hand-made raw database (the ingest contract, no files or Dagster).

The fixture is small enough to reason about by hand, so the assertions are exact published
values: the headline row is picked over decoy filter rows, a revised release beats a
provisional one even when the provisional file landed later, a suppressed LA keeps its row,
and year-on-year comparisons respect the comparability seed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"
LINEAGE = ["_file_sha256", "_source_file", "_row_number", "_release", "_landed_seq"]
GEOGRAPHY = ["geographic_level", "country_code", "country_name", "region_code", "region_name",
             "old_la_code", "la_name", "new_la_code"]
FILTERS = ["breakdown_topic", "breakdown", "sex"]

# old code -> (new code, name, region code, region name)
LAS = {
    "342": ("E08000013", "St. Helens", "E12000002", "North West"),
    "340": ("E08000011", "Knowsley", "E12000002", "North West"),
    "343": ("E08000014", "Sefton", "E12000002", "North West"),
    "202": ("E09000007", "Camden", "E13000001", "Inner London"),
    "201": ("E09000001", "City of London", "E13000001", "Inner London"),
}
REGIONS = {"E12000002": "North West", "E12000007": "London", "E13000001": "Inner London"}


def _dbt_executable() -> str:
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def _area_rows(period: str, version: str | None, headline: dict[str, str], decoy_boys: str | None = None,
               disadvantaged: dict[str, str] | None = None) -> list[dict[str, str]]:
    """EES tidy rows for one period. ``headline`` maps area key ('E92000001', a region code or an
    old LA code) to the indicator cell; the Boys rows are decoys a naive reader would pick."""
    rows = []
    for key, cell in headline.items():
        if key == "E92000001":
            geo = {"geographic_level": "National", "country_code": "E92000001", "country_name": "England",
                   "region_code": "", "region_name": "", "old_la_code": "", "la_name": "", "new_la_code": ""}
        elif key in REGIONS:
            geo = {"geographic_level": "Regional", "country_code": "E92000001", "country_name": "England",
                   "region_code": key, "region_name": REGIONS[key], "old_la_code": "", "la_name": "",
                   "new_la_code": ""}
        else:
            new, name, region, region_name = LAS[key]
            geo = {"geographic_level": "Local authority", "country_code": "E92000001", "country_name": "England",
                   "region_code": region, "region_name": region_name, "old_la_code": key, "la_name": name,
                   "new_la_code": new}
        base = {"time_period": period, "time_identifier": "Academic year", **geo}
        if version is not None:
            base["version"] = version
        rows.append({**base, "breakdown_topic": "Total", "breakdown": "Total", "sex": "Total", "value": cell})
        if decoy_boys is not None:
            rows.append({**base, "breakdown_topic": "Total", "breakdown": "Total", "sex": "Boys", "value": decoy_boys})
        if key in (disadvantaged or {}):
            dis, not_dis = disadvantaged[key]
            rows.append({**base, "breakdown_topic": "Disadvantage", "breakdown": "Disadvantaged", "sex": "Total",
                         "value": dis})
            rows.append({**base, "breakdown_topic": "Disadvantage", "breakdown": "Not disadvantaged", "sex": "Total",
                         "value": not_dis})
    return rows


def _file(source_file: str, indicator: str, rows: list[dict[str, str]], release: str | None = None) -> dict:
    columns = ["time_period", "time_identifier", *GEOGRAPHY]
    if any("version" in r for r in rows):
        columns.append("version")
    columns += FILTERS + [indicator]
    table = [{**{c: r.get(c, "") for c in columns if c != indicator}, indicator: r["value"]} for r in rows]
    return {"source_file": source_file, "columns": columns, "rows": table, "release": release, "indicator": indicator}


def _ks2_files() -> list[dict]:
    # The England/region figures and every LA of 2018/19 are in the timeseries; 2019/20 and
    # 2020/21 are 'x' (assessments cancelled). 2022/23 comes as revised and provisional files.
    ind = "pt_rwm_met_expected_standard"
    everyone = ["E92000001", "E12000002", "E12000007", "E13000001", *LAS]
    timeseries = []
    for period, values in {
        "201718": {"E92000001": "64", "E12000002": "63", "E12000007": "67", "E13000001": "66",
                   "342": "61", "340": "55", "343": "65", "202": "66", "201": "c"},
        "201819": {"E92000001": "65", "E12000002": "64", "E12000007": "68", "E13000001": "67",
                   "342": "66", "340": "57", "343": "66", "202": "68", "201": "c"},
        "201920": {k: "x" for k in everyone},
        "202021": {k: "x" for k in everyone},
        "202122": {"E92000001": "59", "E12000002": "57", "E12000007": "63", "E13000001": "62",
                   "342": "56", "340": "51", "343": "60", "202": "63", "201": "c"},
    }.items():
        timeseries += _area_rows(period, "Final", values, decoy_boys="10",
                                 disadvantaged={"342": ("45", "62"), "E92000001": ("43", "66")}
                                 if period in ("201819", "202122") else None)
    revised = _area_rows("202223", "Revised", {"E92000001": "60", "E12000002": "58", "E12000007": "64",
                                               "E13000001": "63", "342": "58", "340": "52", "202": "64",
                                               "201": "c"}, decoy_boys="11")
    provisional = _area_rows("202223", "Provisional", {"E92000001": "59", "E12000002": "57", "E12000007": "63",
                                                       "E13000001": "62", "342": "57", "340": "52", "343": "61",
                                                       "202": "64", "201": "c"}, decoy_boys="12")
    return [_file("ks2/ks2_timeseries.csv", ind, timeseries),
            _file("ks2/ks2_2023_revised.csv", ind, revised),
            # landed after the revised file: the release, not the landing order, decides
            _file("ks2/ks2_2023_provisional.csv", ind, provisional)]


def _ks4_files() -> list[dict]:
    rows = []
    for period, values in {
        "201819": {"E92000001": "46.7", "E12000002": "45.0", "342": "44.5", "340": "40.1", "343": "47.0", "202": "50.2", "201": "x"},
        "201920": {"E92000001": "50.2", "E12000002": "48.9", "342": "48.0", "340": "44.0", "343": "50.0", "202": "53.0", "201": "x"},
        "202021": {"E92000001": "50.9", "E12000002": "49.5", "342": "49.1", "340": "45.2", "343": "51.0", "202": "54.1", "201": "x"},
        "202122": {"E92000001": "48.8", "E12000002": "47.1", "342": "45.2", "340": "42.0", "343": "49.0", "202": "52.0", "201": "x"},
    }.items():
        rows += _area_rows(period, "Final", values, decoy_boys="30.0")
    # DfE renamed the indicator for 2024/25 and this file has no version column: sources.yml says revised
    renamed = _area_rows("202425", None, {"E92000001": "45.9", "342": "43.3", "340": "40.0", "343": "46.0",
                                           "202": "51.0", "201": "x"})
    return [_file("ks4/ks4_timeseries.csv", "avg_att8", rows),
            _file("ks4/ks4_2025.csv", "attainment8_average", renamed, release="revised")]


def build_raw(db: Path) -> None:
    """raw.* exactly as the ingest step writes it (all VARCHAR, lineage columns, file tables)."""
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute("CREATE TABLE raw.landed_files (dataset VARCHAR, file_sha256 VARCHAR, source_file VARCHAR, "
                "landed_path VARCHAR, size_bytes BIGINT, release VARCHAR, landed_seq INTEGER, landed_at VARCHAR)")
    con.execute("CREATE TABLE raw.file_columns (dataset VARCHAR, file_sha256 VARCHAR, column_name VARCHAR, "
                "original_name VARCHAR, role VARCHAR)")
    seq = 0
    for dataset, files in (("ks2", _ks2_files()), ("ks4", _ks4_files())):
        union = []
        for f in files:
            union += [c for c in f["columns"] if c not in union]
        con.execute(f"CREATE TABLE raw.{dataset} ({', '.join(f'{c} VARCHAR' for c in union)}, "
                    "_file_sha256 VARCHAR, _source_file VARCHAR, _row_number INTEGER, _release VARCHAR, _landed_seq INTEGER)")
        for f in files:
            seq += 1
            sha = hashlib.sha256(f["source_file"].encode()).hexdigest()
            for line, row in enumerate(f["rows"], start=2):
                cols = [*row, *LINEAGE]
                con.execute(f"INSERT INTO raw.{dataset} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                            [*row.values(), sha, f["source_file"], line, f["release"], seq])
            con.execute("INSERT INTO raw.landed_files VALUES (?, ?, ?, ?, 0, ?, ?, '2025-01-01')",
                        [dataset, sha, f["source_file"], f["source_file"], f["release"], seq])
            for c in f["columns"]:
                role = ("time" if c in ("time_period", "time_identifier") else "geography" if c in GEOGRAPHY
                        else "version" if c == "version" else "filter" if c in FILTERS else "indicator")
                con.execute("INSERT INTO raw.file_columns VALUES (?, ?, ?, ?, ?)", [dataset, sha, c, c, role])
    # Statistical neighbours, DfE wide layout (fewer than 10 neighbours: blank cells)
    sn_cols = ["old_la_code", "la_name", "region_ind", "region_name"]
    for k in range(1, 11):
        sn_cols += [f"sn_{k}", f"sn_{k}p"]
    con.execute(f"CREATE TABLE raw.statistical_neighbours ({', '.join(f'{c} VARCHAR' for c in sn_cols)}, "
                "_file_sha256 VARCHAR, _source_file VARCHAR, _row_number INTEGER, _release VARCHAR, _landed_seq INTEGER)")
    seq += 1
    neighbours = {"342": ["340", "343", "201"], "340": ["342", "343"], "343": ["342", "340"], "202": ["201"], "201": ["202"]}
    for line, (code, sns) in enumerate(neighbours.items(), start=2):
        cells = [code, LAS[code][1], "2", LAS[code][3]]
        for k in range(10):
            cells += [sns[k], "Close"] if k < len(sns) else ["", ""]
        con.execute(f"INSERT INTO raw.statistical_neighbours VALUES ({', '.join('?' * (len(sn_cols) + 5))})",
                    [*cells, "sn-sha", "statistical_neighbours/sn.csv", line, None, seq])
    con.execute("INSERT INTO raw.landed_files VALUES ('statistical_neighbours', 'sn-sha', "
                "'statistical_neighbours/sn.csv', 'sn.csv', 0, NULL, ?, '2025-01-01')", [seq])
    con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt")
    db = tmp / "build.duckdb"
    build_raw(db)
    env = dict(os.environ, EDU_BUILD_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    result = subprocess.run(
        [_dbt_executable(), "build", "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
         "--target-path", str(tmp / "target"), "--log-path", str(tmp / "logs"), "--no-partial-parse"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return db


def rows(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def la_row(db: Path, columns: str, measure: str, period: int, la: str, breakdown: str = "all") -> tuple:
    found = rows(db, f"SELECT {columns} FROM marts.fct_la_measure WHERE measure_code = ? AND breakdown = ? "
                     "AND time_period = ? AND old_la_code = ?", [measure, breakdown, period, la])
    assert len(found) == 1, found
    return found[0]


def test_headline_row_is_picked_not_the_decoys(built):
    # 66 is the all-pupil figure; the sex = Boys row under Total/Total says 10
    assert la_row(built, "value, value_status, release", "ks2_rwm_expected", 201819, "342") == (66.0, "published", "final")
    assert la_row(built, "value", "ks2_rwm_expected", 201819, "342", "disadvantaged") == (45.0,)
    assert la_row(built, "value", "ks2_rwm_expected", 201819, "342", "not_disadvantaged") == (62.0,)


def test_revised_beats_provisional_and_comparators_share_its_release(built):
    value, release, national, regional, source = la_row(
        built, "value, release, national_value, regional_value, data_source_file", "ks2_rwm_expected", 202223, "342")
    assert (value, release, national, regional) == (58.0, "revised", 60.0, 58.0)
    assert source == "ks2/ks2_2023_revised.csv"
    # Sefton is only in the provisional file: it keeps that figure, against provisional England
    assert la_row(built, "value, release, national_value", "ks2_rwm_expected", 202223, "343") == (61.0, "provisional", 59.0)


def test_release_revisions_show_the_change(built):
    found = rows(built, """SELECT earlier_release, earlier_value, later_release, later_value, change, is_changed
                           FROM marts.fct_release_revisions WHERE measure_code = 'ks2_rwm_expected' AND breakdown = 'all'
                           AND area_level = 'local_authority' AND area_code = '342' AND time_period = 202223""")
    assert found == [("provisional", 57.0, "revised", 58.0, 1.0, True)]


def test_suppressed_row_is_present_without_value_rank_or_band(built):
    assert la_row(built, "value, value_status, rank, quartile_band, ranked_count", "ks2_rwm_expected", 202122, "201") == (
        None, "suppressed", None, None, 4)


def test_ks2_2021_22_compares_with_2018_19_and_explains_the_gap(built):
    previous, previous_value, change, note = la_row(
        built, "previous_time_period, previous_value, change_vs_previous, comparability_note", "ks2_rwm_expected", 202122, "342")
    assert (previous, previous_value, change) == (201819, 66.0, -10.0)
    assert "2019/20 and 2020/21" in note
    national = la_row(built, "national_value, national_previous_value, national_change_vs_previous",
                      "ks2_rwm_expected", 202122, "342")
    assert national == (59.0, 65.0, -6.0)


def test_ks4_comparability_and_renamed_indicator(built):
    previous = dict(rows(built, """SELECT time_period, previous_time_period FROM marts.fct_la_measure
                                   WHERE measure_code = 'ks4_attainment8' AND breakdown = 'all' AND old_la_code = '342'"""))
    assert previous == {201819: None, 201920: None, 202021: None, 202122: 201819, 202425: 202122}
    # 2024/25 arrives as attainment8_average in a file without a version column
    assert la_row(built, "value, release, change_vs_previous", "ks4_attainment8", 202425, "342") == (43.3, "revised", -1.9)


def test_comparators_rank_band_and_neighbours(built):
    (national, regional, diff_national, diff_regional, sn_average, sn_count, diff_sn, rank, ranked, band,
     region_code) = la_row(
        built, "national_value, regional_value, diff_vs_national, diff_vs_regional, sn_average, sn_count, diff_vs_sn, "
               "rank, ranked_count, quartile_band, region_code", "ks2_rwm_expected", 202122, "342")
    assert (national, regional, diff_national, diff_regional) == (59.0, 57.0, -3.0, -1.0)
    # neighbours 340 (51) and 343 (60) are published, 201 is suppressed: mean 55.5 rounds to 56 (0 dp)
    assert (sn_average, sn_count, diff_sn) == (56.0, 2, 0.0)
    # published 2021/22 LA values: 63, 60, 56, 51 -> St Helens 3rd; Q1 = 54.75, Q2 = 58 -> band C
    assert (rank, ranked, band, region_code) == (3, 4, "C", "E12000002")
    # Camden is compared with London, not Inner London
    assert la_row(built, "region_code, region_name, regional_value", "ks2_rwm_expected", 202122, "202") == (
        "E12000007", "London", 63.0)


def test_dimensions_and_phase_marts(built):
    camden = rows(built, """SELECT la_code, region_code, london_subregion, statistical_neighbours, statistical_neighbour_count
                            FROM marts.dim_local_authority WHERE old_la_code = '202'""")
    assert camden == [("E09000007", "E12000007", "Inner London", ["201"], 1)]
    wide = rows(built, """SELECT ks2_rwm_expected_value, ks2_rwm_expected_rank, ks2_rwm_expected_disadvantage_gap,
                                 ks2_rwm_expected_disadvantage_gap_change_vs_previous, ks2_rwm_expected_national_disadvantage_gap
                          FROM marts.mart_key_stage_2 WHERE old_la_code = '342' AND time_period = 202122""")
    assert wide == [(56.0, 3, -17.0, 0.0, -23.0)]
    regions = rows(built, """SELECT area_code, value FROM marts.fct_area_measure WHERE measure_code = 'ks2_rwm_expected'
                             AND breakdown = 'all' AND time_period = 202122 ORDER BY area_code""")
    assert regions == [("E12000002", 57.0), ("E12000007", 63.0), ("E13000001", 62.0), ("E92000001", 59.0)]
    assert rows(built, "SELECT count(*) FROM marts.dim_measure WHERE measure_code = 'ks4_progress8'") == [(1,)]
