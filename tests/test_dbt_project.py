"""dbt project on a small hand-made raw database (the ingest contract, no files or Dagster).

The fixture is small enough to reason about by hand, so the assertions are exact published
values: the headline row is picked over decoy filter rows, a revised release beats a
provisional one even when the provisional file landed later, a suppressed LA keeps its row,
and year-on-year comparisons respect the comparability seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.ingest.load import write_publication_releases
from orchestration.lib.ingest.local_datasets import create_local_tables
from orchestration.lib.rules import registry
from orchestration.lib.rules.catalogue import catalogue_rows
from tests.conftest import REPO_ROOT

DBT_PROJECT = REPO_ROOT / "dbt_project"
KS2_PUBLICATION = {
    "publication_slug": "key-stage-2-attainment",
    "publication_title": "Key stage 2 attainment",
    "latest_release_title": "Academic year 2024/25",
    "latest_release_slug": "2024-25",
    "latest_release_published": "2025-12-11",
    "next_release": "2026-12",
    "methodology_title": "Key stage 2 attainment methodology",
    "methodology_url": "https://explore-education-statistics.service.gov.uk/methodology/key-stage-2-attainment",
    "checked_on": "2026-12-01",
}
LINEAGE = ["_file_sha256", "_source_file", "_row_number", "_release", "_landed_seq"]
GEOGRAPHY = [
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "la_name",
    "new_la_code",
]
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


def _area_rows(
    period: str,
    version: str | None,
    headline: dict[str, str],
    decoy_boys: str | None = None,
    disadvantaged: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """EES tidy rows for one period. ``headline`` maps area key ('E92000001', a region code or an
    old LA code) to the indicator cell; the Boys rows are decoys a naive reader would pick."""
    rows = []
    for key, cell in headline.items():
        geo = _geography(key)
        base = {"time_period": period, "time_identifier": "Academic year", **geo}
        if version is not None:
            base["version"] = version
        rows.append({**base, "breakdown_topic": "Total", "breakdown": "Total", "sex": "Total", "value": cell})
        if decoy_boys is not None:
            rows.append({**base, "breakdown_topic": "Total", "breakdown": "Total", "sex": "Boys", "value": decoy_boys})
        if key in (disadvantaged or {}):
            dis, not_dis = disadvantaged[key]
            rows.append(
                {**base, "breakdown_topic": "Disadvantage", "breakdown": "Disadvantaged", "sex": "Total", "value": dis}
            )
            rows.append(
                {
                    **base,
                    "breakdown_topic": "Disadvantage",
                    "breakdown": "Not disadvantaged",
                    "sex": "Total",
                    "value": not_dis,
                }
            )
    return rows


def _file(source_file: str, indicator: str, rows: list[dict[str, str]], release: str | None = None) -> dict:
    columns = ["time_period", "time_identifier", *GEOGRAPHY]
    if any("version" in r for r in rows):
        columns.append("version")
    columns += FILTERS + [indicator]
    table = [{**{c: r.get(c, "") for c in columns if c != indicator}, indicator: r["value"]} for r in rows]
    return {"source_file": source_file, "columns": columns, "rows": table, "release": release, "filters": FILTERS}


def _geography(key: str) -> dict[str, str]:
    if key == "E92000001":
        return {
            "geographic_level": "National",
            "country_code": "E92000001",
            "country_name": "England",
            "region_code": "",
            "region_name": "",
            "old_la_code": "",
            "la_name": "",
            "new_la_code": "",
        }
    if key in REGIONS:
        return {
            "geographic_level": "Regional",
            "country_code": "E92000001",
            "country_name": "England",
            "region_code": key,
            "region_name": REGIONS[key],
            "old_la_code": "",
            "la_name": "",
            "new_la_code": "",
        }
    new, name, region, region_name = LAS[key]
    return {
        "geographic_level": "Local authority",
        "country_code": "E92000001",
        "country_name": "England",
        "region_code": region,
        "region_name": region_name,
        "old_la_code": key,
        "la_name": name,
        "new_la_code": new,
    }


def _wide_file(
    source_file: str, filters: list[str], indicators: list[str], rows: list[dict[str, str]], release: str | None = None
) -> dict:
    """A file with several indicators. Each row: time_period, time_identifier, version, area (key
    for _geography), its filter values and indicator cells."""
    columns = ["time_period", "time_identifier", *GEOGRAPHY, "version", *filters, *indicators]
    table = []
    for r in rows:
        full = {**r, **_geography(r["area"])}
        table.append({c: full.get(c, "") for c in columns})
    return {"source_file": source_file, "columns": columns, "rows": table, "release": release, "filters": filters}


def _rows(
    period: str,
    filters: dict[str, str],
    cells: dict[str, dict[str, str]],
    version: str = "Final",
    time_identifier: str = "Academic year",
) -> list[dict[str, str]]:
    """One row per area: ``cells`` maps area key -> {indicator: cell}."""
    return [
        {
            "time_period": period,
            "time_identifier": time_identifier,
            "version": version,
            "area": area,
            **filters,
            **values,
        }
        for area, values in cells.items()
    ]


def _eyfs_files() -> list[dict]:
    # The profile was reformed in 2021/22: 2018/19 is another series; 2019/20 and 2020/21 were not
    # collected (no rows at all). Camden's 2022/23 disadvantaged figure is suppressed.
    total = {"breakdown_topic": "Total", "breakdown": "Total", "sex": "Total"}
    dis = {"breakdown_topic": "Disadvantage", "breakdown": "Disadvantaged", "sex": "Total"}
    not_dis = {"breakdown_topic": "Disadvantage", "breakdown": "Not disadvantaged", "sex": "Total"}
    girls = {"breakdown_topic": "Total", "breakdown": "Total", "sex": "Girls"}
    g = "gld_percentage"
    rows = []
    for period, headline in {
        "201819": {
            "E92000001": "71.8",
            "E12000002": "70.1",
            "342": "68.1",
            "340": "65.0",
            "343": "72.0",
            "202": "73.0",
            "201": "c",
        },
        "202122": {
            "E92000001": "65.2",
            "E12000002": "63.0",
            "342": "61.5",
            "340": "58.0",
            "343": "66.0",
            "202": "67.0",
            "201": "c",
        },
        "202223": {
            "E92000001": "67.2",
            "E12000002": "65.1",
            "342": "63.0",
            "340": "60.0",
            "343": "68.0",
            "202": "69.0",
            "201": "c",
        },
    }.items():
        rows += _rows(period, total, {k: {g: v} for k, v in headline.items()})
        rows += _rows(period, girls, {k: {g: "90.0"} for k in headline})
    rows += _rows("202122", dis, {"E92000001": {g: "49.1"}, "342": {g: "49.0"}, "202": {g: "55.0"}})
    rows += _rows("202122", not_dis, {"E92000001": {g: "69.5"}, "342": {g: "66.4"}, "202": {g: "70.0"}})
    rows += _rows("202223", dis, {"E92000001": {g: "51.6"}, "342": {g: "51.5"}, "202": {g: "c"}})
    rows += _rows("202223", not_dis, {"E92000001": {g: "71.5"}, "342": {g: "67.5"}, "202": {g: "72.0"}})
    return [_wide_file("eyfs/eyfs_timeseries.csv", ["breakdown_topic", "breakdown", "sex"], [g], rows)]


def _neet_files() -> list[dict]:
    # Calendar-year periods; the age filter's 16-17 rows are the headline, 16 and 17 are decoys.
    rows = []
    for year, cells in {
        "2022": {
            "E92000001": ("2.6", "4.7", "2.2"),
            "E12000002": ("3.0", "5.5", "2.5"),
            "342": ("3.6", "5.9", "2.3"),
            "340": ("4.1", "6.0", "1.9"),
            "343": ("2.4", "4.0", "1.6"),
            "202": ("1.9", "4.4", "2.5"),
            "201": ("x", "x", "x"),
        },
        "2023": {
            "E92000001": ("2.8", "5.2", "2.4"),
            "E12000002": ("3.1", "5.6", "2.5"),
            "342": ("3.1", "5.0", "1.9"),
            "340": ("4.0", "6.2", "2.2"),
            "343": ("2.5", "4.1", "1.6"),
            "202": ("2.0", "4.0", "2.0"),
            "201": ("x", "x", "x"),
        },
    }.items():
        for age in ("16-17", "16", "17"):
            rows += _rows(
                year,
                {"age": age},
                {
                    k: (
                        {"neet_percent": v[0], "neet_not_known_percent": v[1], "notknown_percent": v[2]}
                        if age == "16-17"
                        else {"neet_percent": "0.5", "neet_not_known_percent": "0.9", "notknown_percent": "0.4"}
                    )
                    for k, v in cells.items()
                },
                time_identifier="Calendar year",
            )
    return [
        _wide_file("neet/neet_la.csv", ["age"], ["neet_percent", "neet_not_known_percent", "notknown_percent"], rows)
    ]


def _exclusions_files() -> list[dict]:
    # 2017/18 comes from an older file that calls suspensions fixed_excl_rate.
    decoy = {"school_type": "State-funded primary"}
    old, new = [], []
    for rows, period, cells in (
        (
            old,
            "201718",
            {"E92000001": ("0.10", "4.76"), "342": ("0.12", "5.10"), "340": ("0.20", "7.00"), "343": ("0.05", "3.00")},
        ),
        (
            new,
            "201819",
            {"E92000001": ("0.10", "5.36"), "342": ("0.09", "5.61"), "340": ("0.21", "8.00"), "343": ("0.06", "3.50")},
        ),
    ):
        suspensions = "fixed_excl_rate" if rows is old else "susp_rate"
        rows += _rows(
            period, {"school_type": "Total"}, {k: {"perm_excl_rate": v[0], suspensions: v[1]} for k, v in cells.items()}
        )
        rows += _rows(period, decoy, {k: {"perm_excl_rate": "0.01", suspensions: "1.00"} for k in cells})
    return [
        _wide_file("exclusions/exclusions_2018.csv", ["school_type"], ["perm_excl_rate", "fixed_excl_rate"], old),
        _wide_file("exclusions/exclusions_la.csv", ["school_type"], ["perm_excl_rate", "susp_rate"], new),
    ]


def _absence_files() -> list[dict]:
    # 2019/20 was not published ('x'): 2020/21 compares with 2018/19.
    rows = []
    for period, cells in {
        "201819": {"E92000001": "4.7", "342": "4.9", "340": "5.2", "343": "4.5"},
        "201920": {"E92000001": "x", "342": "x", "340": "x", "343": "x"},
        "202021": {"E92000001": "4.6", "342": "5.0", "340": "5.6", "343": "4.4"},
    }.items():
        rows += _rows(period, {"school_type": "Total"}, {k: {"sess_overall_percent": v} for k, v in cells.items()})
        rows += _rows(period, {"school_type": "Special"}, {k: {"sess_overall_percent": "9.9"} for k in cells})
    return [_wide_file("absence/absence_la.csv", ["school_type"], ["sess_overall_percent"], rows)]


def _age19_files() -> list[dict]:
    # Split by free school meals (not the disadvantage definition); Gender rows are decoys.
    fsm, not_fsm = (
        {"breakdown_topic": "Free school meals", "breakdown": b} for b in ("FSM eligible", "Not FSM eligible")
    )
    rows = []
    for period, cells in {
        "202122": {
            "E92000001": ("60.1", "38.8", "63.6"),
            "342": ("55.0", "36.0", "59.5"),
            "343": ("61.0", "c", "64.0"),
        },
        "202223": {
            "E92000001": ("59.2", "38.1", "63.2"),
            "342": ("56.0", "37.5", "60.0"),
            "343": ("62.0", "40.0", "65.0"),
        },
    }.items():
        rows += _rows(
            period,
            {"breakdown_topic": "Total", "breakdown": "Total"},
            {k: {"l3_by19_rate": v[0]} for k, v in cells.items()},
        )
        rows += _rows(period, fsm, {k: {"l3_by19_rate": v[1]} for k, v in cells.items()})
        rows += _rows(period, not_fsm, {k: {"l3_by19_rate": v[2]} for k, v in cells.items()})
        rows += _rows(
            period, {"breakdown_topic": "Gender", "breakdown": "Female"}, {k: {"l3_by19_rate": "99.0"} for k in cells}
        )
    return [_wide_file("age19/age19_la.csv", ["breakdown_topic", "breakdown"], ["l3_by19_rate"], rows)]


def _ks2_files() -> list[dict]:
    # The England/region figures and every LA of 2018/19 are in the timeseries; 2019/20 and
    # 2020/21 are 'x' (assessments cancelled). 2022/23 comes as revised and provisional files.
    ind = "pt_rwm_met_expected_standard"
    everyone = ["E92000001", "E12000002", "E12000007", "E13000001", *LAS]
    timeseries = []
    for period, values in {
        "201718": {
            "E92000001": "64",
            "E12000002": "63",
            "E12000007": "67",
            "E13000001": "66",
            "342": "61",
            "340": "55",
            "343": "65",
            "202": "66",
            "201": "c",
        },
        "201819": {
            "E92000001": "65",
            "E12000002": "64",
            "E12000007": "68",
            "E13000001": "67",
            "342": "66",
            "340": "57",
            "343": "66",
            "202": "68",
            "201": "c",
        },
        "201920": {k: "x" for k in everyone},
        "202021": {k: "x" for k in everyone},
        "202122": {
            "E92000001": "59",
            "E12000002": "57",
            "E12000007": "63",
            "E13000001": "62",
            "342": "56",
            "340": "51",
            "343": "60",
            "202": "63",
            "201": "c",
        },
    }.items():
        timeseries += _area_rows(
            period,
            "Final",
            values,
            decoy_boys="10",
            disadvantaged={"342": ("45", "62"), "E92000001": ("43", "66")} if period in ("201819", "202122") else None,
        )
    revised = _area_rows(
        "202223",
        "Revised",
        {
            "E92000001": "60",
            "E12000002": "58",
            "E12000007": "64",
            "E13000001": "63",
            "342": "58",
            "340": "52",
            "202": "64",
            "201": "c",
        },
        decoy_boys="11",
    )
    provisional = _area_rows(
        "202223",
        "Provisional",
        {
            "E92000001": "59",
            "E12000002": "57",
            "E12000007": "63",
            "E13000001": "62",
            "342": "57",
            "340": "52",
            "343": "61",
            "202": "64",
            "201": "c",
        },
        decoy_boys="12",
    )
    return [
        _file("ks2/ks2_timeseries.csv", ind, timeseries),
        _file("ks2/ks2_2023_revised.csv", ind, revised),
        # landed after the revised file: the release, not the landing order, decides
        _file("ks2/ks2_2023_provisional.csv", ind, provisional),
    ]


def _ks4_files() -> list[dict]:
    rows = []
    for period, values in {
        "201819": {
            "E92000001": "46.7",
            "E12000002": "45.0",
            "342": "44.5",
            "340": "40.1",
            "343": "47.0",
            "202": "50.2",
            "201": "x",
        },
        "201920": {
            "E92000001": "50.2",
            "E12000002": "48.9",
            "342": "48.0",
            "340": "44.0",
            "343": "50.0",
            "202": "53.0",
            "201": "x",
        },
        "202021": {
            "E92000001": "50.9",
            "E12000002": "49.5",
            "342": "49.1",
            "340": "45.2",
            "343": "51.0",
            "202": "54.1",
            "201": "x",
        },
        "202122": {
            "E92000001": "48.8",
            "E12000002": "47.1",
            "342": "45.2",
            "340": "42.0",
            "343": "49.0",
            "202": "52.0",
            "201": "x",
        },
    }.items():
        rows += _area_rows(period, "Final", values, decoy_boys="30.0")
    # DfE renamed the indicator for 2024/25 and this file has no version column: sources.yml says revised
    renamed = _area_rows(
        "202425", None, {"E92000001": "45.9", "342": "43.3", "340": "40.0", "343": "46.0", "202": "51.0", "201": "x"}
    )
    return [
        _file("ks4/ks4_timeseries.csv", "avg_att8", rows),
        _file("ks4/ks4_2025.csv", "attainment8_average", renamed, release="revised"),
    ]


def build_raw(db: Path) -> None:
    """raw.* exactly as the ingest step writes it (all VARCHAR, lineage columns, file tables)."""
    con = duckdb.connect(str(db))
    con.execute("CREATE SCHEMA raw")
    con.execute(
        "CREATE TABLE raw.landed_files (dataset VARCHAR, file_sha256 VARCHAR, source_file VARCHAR, "
        "landed_path VARCHAR, size_bytes BIGINT, release VARCHAR, landed_seq INTEGER, landed_at VARCHAR, "
        "data_set_id VARCHAR, data_set_version VARCHAR, origin_url VARCHAR)"
    )
    con.execute(
        "CREATE TABLE raw.file_columns (dataset VARCHAR, file_sha256 VARCHAR, column_name VARCHAR, "
        "original_name VARCHAR, role VARCHAR)"
    )
    seq = 0
    for dataset, files in (
        ("ks2", _ks2_files()),
        ("ks4", _ks4_files()),
        ("eyfs", _eyfs_files()),
        ("neet", _neet_files()),
        ("exclusions", _exclusions_files()),
        ("absence", _absence_files()),
        ("age19", _age19_files()),
    ):
        union = []
        for f in files:
            union += [c for c in f["columns"] if c not in union]
        con.execute(
            f"CREATE TABLE raw.{dataset} ({', '.join(f'{c} VARCHAR' for c in union)}, "
            "_file_sha256 VARCHAR, _source_file VARCHAR, _row_number INTEGER, _release VARCHAR, _landed_seq INTEGER)"
        )
        for f in files:
            seq += 1
            sha = hashlib.sha256(f["source_file"].encode()).hexdigest()
            for line, row in enumerate(f["rows"], start=2):
                cols = [*row, *LINEAGE]
                con.execute(
                    f"INSERT INTO raw.{dataset} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [*row.values(), sha, f["source_file"], line, f["release"], seq],
                )
            # The KS4 2024/25 file stands for an EES API download: its data set id and version
            # must reach the marts.
            api = (
                ("d1b2a3c4-0000-4000-8000-000000000425", "1.0")
                if f["source_file"] == "ks4/ks4_2025.csv"
                else (None, None)
            )
            con.execute(
                "INSERT INTO raw.landed_files VALUES (?, ?, ?, ?, 0, ?, ?, '2025-01-01', ?, ?, NULL)",
                [dataset, sha, f["source_file"], f["source_file"], f["release"], seq, *api],
            )
            for c in f["columns"]:
                role = (
                    "time"
                    if c in ("time_period", "time_identifier")
                    else "geography"
                    if c in GEOGRAPHY
                    else "version"
                    if c == "version"
                    else "filter"
                    if c in f["filters"]
                    else "indicator"
                )
                con.execute("INSERT INTO raw.file_columns VALUES (?, ?, ?, ?, ?)", [dataset, sha, c, c, role])
    # Statistical neighbours, DfE wide layout (fewer than 10 neighbours: blank cells)
    sn_cols = ["old_la_code", "la_name", "region_ind", "region_name"]
    for k in range(1, 11):
        sn_cols += [f"sn_{k}", f"sn_{k}p"]
    con.execute(
        f"CREATE TABLE raw.statistical_neighbours ({', '.join(f'{c} VARCHAR' for c in sn_cols)}, "
        "_file_sha256 VARCHAR, _source_file VARCHAR, _row_number INTEGER, _release VARCHAR, _landed_seq INTEGER)"
    )
    seq += 1
    neighbours = {
        "342": ["340", "343", "201"],
        "340": ["342", "343"],
        "343": ["342", "340"],
        "202": ["201"],
        "201": ["202"],
    }
    for line, (code, sns) in enumerate(neighbours.items(), start=2):
        cells = [code, LAS[code][1], "2", LAS[code][3]]
        for k in range(10):
            cells += [sns[k], "Close"] if k < len(sns) else ["", ""]
        con.execute(
            f"INSERT INTO raw.statistical_neighbours VALUES ({', '.join('?' * (len(sn_cols) + 5))})",
            [*cells, "sn-sha", "statistical_neighbours/sn.csv", line, None, seq],
        )
    con.execute(
        "INSERT INTO raw.landed_files VALUES ('statistical_neighbours', 'sn-sha', "
        "'statistical_neighbours/sn.csv', 'sn.csv', 0, NULL, ?, '2025-01-01', NULL, NULL, NULL)",
        [seq],
    )
    # What update-sources recorded of one publication (the ingest's own writer, from a lock entry)
    write_publication_releases(con, {KS2_PUBLICATION["publication_slug"]: KS2_PUBLICATION})
    # The council's local datasets: none listed, so their tables are empty, as the ingest leaves them.
    create_local_tables(con)
    con.close()


def _dbt(command: str, project: Path, tmp: Path, db: Path, *args: str) -> list[str]:
    return [
        _dbt_executable(),
        command,
        *args,
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]


def _dbt_env(db: Path) -> dict:
    return dict(os.environ, EDU_BUILD_DB=str(db), DBT_SEND_ANONYMOUS_USAGE_STATS="false")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dbt")
    db = tmp / "build.duckdb"
    build_raw(db)
    result = subprocess.run(
        _dbt("build", DBT_PROJECT, tmp, db, "--no-partial-parse"),
        cwd=REPO_ROOT,
        env=_dbt_env(db),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    return db


def rows(db: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def la_row(db: Path, columns: str, measure: str, period: int, la: str, breakdown: str = "all") -> tuple:
    found = rows(
        db,
        f"SELECT {columns} FROM marts.fct_la_measure WHERE measure_code = ? AND breakdown = ? "
        "AND time_period = ? AND old_la_code = ?",
        [measure, breakdown, period, la],
    )
    assert len(found) == 1, found
    return found[0]


def test_headline_row_is_picked_not_the_decoys(built):
    # 66 is the all-pupil figure; the sex = Boys row under Total/Total says 10
    assert la_row(built, "value, value_status, release", "ks2_rwm_expected", 201819, "342") == (
        66.0,
        "published",
        "final",
    )
    assert la_row(built, "value", "ks2_rwm_expected", 201819, "342", "disadvantaged") == (45.0,)
    assert la_row(built, "value", "ks2_rwm_expected", 201819, "342", "not_disadvantaged") == (62.0,)


def test_revised_beats_provisional_and_comparators_share_its_release(built):
    value, release, national, regional, source = la_row(
        built, "value, release, national_value, regional_value, data_source_file", "ks2_rwm_expected", 202223, "342"
    )
    assert (value, release, national, regional) == (58.0, "revised", 60.0, 58.0)
    assert source == "ks2/ks2_2023_revised.csv"
    # Sefton is only in the provisional file: it keeps that figure, against provisional England
    assert la_row(built, "value, release, national_value", "ks2_rwm_expected", 202223, "343") == (
        61.0,
        "provisional",
        59.0,
    )


def test_release_revisions_show_the_change(built):
    found = rows(
        built,
        """SELECT earlier_release, earlier_value, later_release, later_value, change, is_changed
                           FROM marts.fct_release_revisions WHERE measure_code = 'ks2_rwm_expected' AND breakdown = 'all'
                           AND area_level = 'local_authority' AND area_code = '342' AND time_period = 202223""",
    )
    assert found == [("provisional", 57.0, "revised", 58.0, 1.0, True)]


def test_suppressed_row_is_present_without_value_rank_or_band(built):
    assert la_row(
        built, "value, value_status, rank, quartile_band, ranked_count", "ks2_rwm_expected", 202122, "201"
    ) == (None, "suppressed", None, None, 4)


def test_ks2_2021_22_compares_with_2018_19_and_explains_the_gap(built):
    previous, previous_value, change, note = la_row(
        built,
        "previous_time_period, previous_value, change_vs_previous, comparability_note",
        "ks2_rwm_expected",
        202122,
        "342",
    )
    assert (previous, previous_value, change) == (201819, 66.0, -10.0)
    assert "2019/20 and 2020/21" in note
    national = la_row(
        built, "national_value, national_previous_value, national_change_vs_previous", "ks2_rwm_expected", 202122, "342"
    )
    assert national == (59.0, 65.0, -6.0)


def test_ks4_comparability_and_renamed_indicator(built):
    previous = dict(
        rows(
            built,
            """SELECT time_period, previous_time_period FROM marts.fct_la_measure
                                   WHERE measure_code = 'ks4_attainment8' AND breakdown = 'all' AND old_la_code = '342'""",
        )
    )
    assert previous == {201819: None, 201920: None, 202021: None, 202122: 201819, 202425: 202122}
    # 2024/25 arrives as attainment8_average in a file without a version column
    assert la_row(built, "value, release, change_vs_previous", "ks4_attainment8", 202425, "342") == (
        43.3,
        "revised",
        -1.9,
    )


def test_comparators_rank_band_and_neighbours(built):
    (
        national,
        regional,
        diff_national,
        diff_regional,
        sn_average,
        sn_count,
        diff_sn,
        rank,
        ranked,
        band,
        region_code,
    ) = la_row(
        built,
        "national_value, regional_value, diff_vs_national, diff_vs_regional, sn_average, sn_count, diff_vs_sn, "
        "rank, ranked_count, quartile_band, region_code",
        "ks2_rwm_expected",
        202122,
        "342",
    )
    assert (national, regional, diff_national, diff_regional) == (59.0, 57.0, -3.0, -1.0)
    # neighbours 340 (51) and 343 (60) are published, 201 is suppressed: the mean 55.5, unrounded as
    # LAIT publishes it; 56 - 55.5 = 0.5 rounds half away from zero to 1 (0 dp)
    assert (sn_average, sn_count, diff_sn) == (55.5, 2, 1.0)
    # published 2021/22 LA values: 63, 60, 56, 51 -> St Helens 3rd; Q1 = 54.75, Q2 = 58 -> band C
    assert (rank, ranked, band, region_code) == (3, 4, "C", "E12000002")
    # Camden is in London, and compared with Inner London, which KS2 publishes (LAIT's rule)
    assert la_row(
        built,
        "region_code, region_name, regional_comparator_code, regional_comparator_name, regional_value, "
        "diff_vs_regional",
        "ks2_rwm_expected",
        202122,
        "202",
    ) == ("E12000007", "London", "E13000001", "Inner London", 62.0, 1.0)
    # ... and with London for a measure x breakdown that never publishes Inner London
    fallback = rows(
        built,
        """SELECT f.measure_code, f.breakdown, f.regional_comparator_code, f.regional_comparator_name,
                  f.regional_value IS NOT DISTINCT FROM london.value
           FROM marts.fct_la_measure AS f
           LEFT JOIN marts.fct_area_measure AS london
               ON london.area_code = 'E12000007' AND london.measure_code = f.measure_code
               AND london.breakdown = f.breakdown AND london.time_period = f.time_period
           WHERE f.old_la_code = '202' AND NOT EXISTS (
               SELECT 1 FROM marts.fct_area_measure AS inner_london
               WHERE inner_london.area_code = 'E13000001' AND inner_london.value IS NOT NULL
                 AND inner_london.measure_code = f.measure_code AND inner_london.breakdown = f.breakdown)""",
    )
    assert fallback and {row[2:] for row in fallback} == {("E12000007", "London", True)}, fallback


def test_dimensions_and_phase_marts(built):
    camden = rows(
        built,
        """SELECT la_code, region_code, london_subregion, statistical_neighbours, statistical_neighbour_count
                            FROM marts.dim_local_authority WHERE old_la_code = '202'""",
    )
    assert camden == [("E09000007", "E12000007", "Inner London", ["201"], 1)]
    wide = rows(
        built,
        """SELECT ks2_rwm_expected_value, ks2_rwm_expected_rank, ks2_rwm_expected_disadvantage_gap,
                                 ks2_rwm_expected_disadvantage_gap_change_vs_previous, ks2_rwm_expected_national_disadvantage_gap
                          FROM marts.mart_key_stage_2 WHERE old_la_code = '342' AND time_period = 202122""",
    )
    assert wide == [(56.0, 3, -17.0, 0.0, -23.0)]
    regions = rows(
        built,
        """SELECT area_code, value FROM marts.fct_area_measure WHERE measure_code = 'ks2_rwm_expected'
                             AND breakdown = 'all' AND time_period = 202122 ORDER BY area_code""",
    )
    assert regions == [("E12000002", 57.0), ("E12000007", 63.0), ("E13000001", 62.0), ("E92000001", 59.0)]
    # one row per breakdown of the catalogue: the comparability notes join adds none
    breakdowns = sum(row["measure_code"] == "ks4_progress8" for row in catalogue_rows())
    # all pupils; disadvantage, FSM (2 each) and SEN (3) groups; 3 social care groups; 5 ethnic groups
    assert breakdowns == 16
    assert rows(
        built, "SELECT count(*), count(DISTINCT breakdown) FROM marts.dim_measure WHERE measure_code = 'ks4_progress8'"
    ) == [(breakdowns, breakdowns)]


def test_published_marts_refuse_a_null_in_their_not_null_columns(built, tmp_path):
    """A published mart's not_null columns are constraints of its enforced contract: DuckDB refuses
    a null as the table is built, so the model (and the run) fails before any gate. No not_null
    data test repeats them: each would be one more dbt node to run."""
    manifest = json.loads((built.parent / "target" / "manifest.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"]
    contracted = {uid for uid, node in nodes.items() if (node["config"].get("contract") or {}).get("enforced")}
    declared = {
        (nodes[uid]["name"], column["name"])
        for uid in contracted
        for column in nodes[uid]["columns"].values()
        if any(constraint["type"] == "not_null" for constraint in column.get("constraints") or [])
    }
    assert ("fct_la_measure", "measure_code") in declared and len(declared) >= 70
    # dbt ignores the constraints of a model without an enforced contract: none may rely on one
    unenforced = [
        node["name"]
        for uid, node in nodes.items()
        if uid not in contracted
        for column in (node.get("columns") or {}).values()
        if column.get("constraints")
    ]
    assert unenforced == []
    repeated = [
        node["name"]
        for node in nodes.values()
        if (node.get("test_metadata") or {}).get("name") == "not_null" and node.get("attached_node") in contracted
    ]
    assert repeated == []
    not_nullable = set(
        rows(
            built,
            "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND NOT is_nullable",
        )
    )
    assert declared <= not_nullable, sorted(declared - not_nullable)
    copy = tmp_path / "build.duckdb"
    shutil.copyfile(built, copy)
    with (
        duckdb.connect(str(copy)) as con,
        pytest.raises(duckdb.ConstraintException, match="NOT NULL constraint failed: fct_la_measure.measure_code"),
    ):
        con.execute("INSERT INTO marts.fct_la_measure (breakdown) VALUES ('all')")


def test_every_model_and_seed_states_its_row_checks_in_one_test(built, tmp_path):
    """Each model's and seed's key, unique and not-null columns and accepted values are one
    row_checks test (tests/generic/row_checks.sql), not a dbt test per column: each test is a node
    of about 25 ms of dbt's own Python. Relationships and the singular tests stay their own."""
    manifest = json.loads((built.parent / "target" / "manifest.json").read_text(encoding="utf-8"))
    nodes = manifest["nodes"].values()
    tables = {node["unique_id"] for node in nodes if node["resource_type"] in ("model", "seed")}
    row_checks = [node for node in nodes if (node.get("test_metadata") or {}).get("name") == "row_checks"]
    assert sorted(node["attached_node"] for node in row_checks) == sorted(tables)
    per_column = [
        node["name"]
        for node in nodes
        if (node.get("test_metadata") or {}).get("name") in ("unique", "not_null", "accepted_values")
    ]
    assert per_column == []
    fct = next(node for node in row_checks if node["attached_node"] == "model.edu_outcomes.fct_la_measure")
    assert fct["test_metadata"]["kwargs"]["key"] == ["measure_code", "breakdown", "time_period", "old_la_code"]

    # a unique column's values occur once, its NULLs any number of times (as dbt's unique test)
    dim = next(node for node in row_checks if node["attached_node"] == "model.edu_outcomes.dim_measure")
    assert dim["test_metadata"]["kwargs"]["unique"] == ["lait_code"]
    copy = tmp_path / "build.duckdb"  # the compiled test names the database after the file
    shutil.copyfile(built, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute("SELECT count(*) FROM marts.dim_measure WHERE lait_code IS NULL").fetchone()[0] > 1
        assert con.execute(dim["compiled_code"]).fetchall() == []
        first, second = con.execute(
            "SELECT measure_code, breakdown, lait_code FROM marts.dim_measure WHERE lait_code IS NOT NULL"
            " ORDER BY 1, 2 LIMIT 2"
        ).fetchall()
        con.execute(
            "UPDATE marts.dim_measure SET lait_code = ? WHERE measure_code = ? AND breakdown = ?",
            [first[2], second[0], second[1]],
        )
        assert con.execute(dim["compiled_code"]).fetchall() == [("unique", "lait_code", first[2], 2)]


def test_a_staging_views_row_test_names_each_problem(built, tmp_path):
    """Each EES staging view's grain, period and release are one test (tests/generic/row_checks.sql),
    not four dbt nodes: it passes on the build, and on rows made bad it returns one row per
    problem, naming the check, the column and the value."""
    manifest = json.loads((built.parent / "target" / "manifest.json").read_text(encoding="utf-8"))
    [test] = [
        node
        for node in manifest["nodes"].values()
        if (node.get("test_metadata") or {}).get("name") == "row_checks"
        and node["attached_node"] == "model.edu_outcomes.stg_ees__ks2"
    ]
    staging = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test" and node.get("attached_node", "").startswith("model.edu_outcomes.stg_ees__")
    }
    assert len(staging) == len(registry.ees_datasets())  # one test per EES staging view
    copy = tmp_path / "build.duckdb"  # the compiled test names the database after the file
    shutil.copyfile(built, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute(test["compiled_code"]).fetchall() == []
        con.execute("ALTER VIEW staging.stg_ees__ks2 RENAME TO stg_ees__ks2_as_built")
        sha, line = con.execute(
            "SELECT file_sha256, source_row_number FROM staging.stg_ees__ks2_as_built ORDER BY 1, 2 LIMIT 1"
        ).fetchone()
        con.execute(
            """CREATE VIEW staging.stg_ees__ks2 AS
            WITH first_row AS (
                SELECT * FROM staging.stg_ees__ks2_as_built ORDER BY file_sha256, source_row_number LIMIT 1
            )
            SELECT * FROM staging.stg_ees__ks2_as_built
            UNION ALL SELECT * FROM first_row
            UNION ALL SELECT * REPLACE (-1 AS source_row_number, NULL AS time_period) FROM first_row
            UNION ALL SELECT * REPLACE (-4 AS source_row_number, NULL AS time_period) FROM first_row
            UNION ALL SELECT * REPLACE (-2 AS source_row_number, 'draft' AS release) FROM first_row
            UNION ALL SELECT * REPLACE (-3 AS source_row_number, NULL AS release) FROM first_row"""
        )
        assert sorted(con.execute(test["compiled_code"]).fetchall(), key=str) == sorted(
            [
                ("unique", "file_sha256, source_row_number", f"{sha}, {line}", 2),
                ("not_null", "time_period", None, 2),
                ("not_null", "release", None, 1),
                ("accepted_values", "release", "draft", 1),
            ],
            key=str,
        )
        # what the run reports as failing: duplicated keys, NULL rows and distinct values, as dbt's
        # unique, not_null and accepted_values tests counted them
        fail_calc = test["config"]["fail_calc"]
        assert con.execute(f"SELECT {fail_calc} FROM ({test['compiled_code']})").fetchone()[0] == 5
        con.execute("CREATE OR REPLACE VIEW staging.stg_ees__ks2 AS SELECT * FROM staging.stg_ees__ks2_as_built")
        assert con.execute(f"SELECT {fail_calc} FROM ({test['compiled_code']})").fetchone()[0] == 0


def test_eyfs_reform_2021_22_starts_a_new_series(built):
    assert la_row(built, "previous_time_period, change_vs_previous", "eyfs_gld", 201819, "342") == (None, None)
    previous, change, note = la_row(
        built, "previous_time_period, change_vs_previous, comparability_note", "eyfs_gld", 202122, "342"
    )
    # 2018/19 is published but belongs to the pre-reform series
    assert (previous, change) == (None, None)
    assert "reformed in 2021/22" in note
    assert la_row(built, "previous_time_period, previous_value, change_vs_previous", "eyfs_gld", 202223, "342") == (
        202122,
        61.5,
        1.5,
    )
    # 2019/20 and 2020/21 were not collected: the files have no rows, so neither has the mart
    assert rows(
        built, "SELECT DISTINCT time_period FROM marts.fct_la_measure WHERE measure_code = 'eyfs_gld' ORDER BY 1"
    ) == [(201819,), (202122,), (202223,)]


def test_early_years_mart_gap_and_disclosure(built):
    wide = rows(
        built,
        """SELECT time_period, eyfs_gld_value, eyfs_gld_change_vs_previous, eyfs_gld_disadvantage_gap,
                                 eyfs_gld_disadvantage_gap_change_vs_previous, eyfs_gld_national_disadvantage_gap,
                                 eyfs_gld_previous_time_period
                          FROM marts.mart_early_years WHERE old_la_code = '342' ORDER BY time_period""",
    )
    assert wide == [
        (201819, 68.1, None, None, None, None, None),
        (202122, 61.5, None, -17.4, None, -20.4, None),
        (202223, 63.0, 1.5, -16.0, 1.4, -19.9, 202122),
    ]
    # Camden's 2022/23 disadvantaged figure is suppressed: no gap, which would reveal it
    assert rows(
        built,
        """SELECT eyfs_gld_disadvantaged_value, eyfs_gld_not_disadvantaged_value, eyfs_gld_disadvantage_gap
                          FROM marts.mart_early_years WHERE old_la_code = '202' AND time_period = 202223""",
    ) == [(None, 72.0, None)]


def test_neet_calendar_years_headline_age_group_and_low_polarity(built):
    # 16-17 rows, not the 16 / 17 decoys (0.5); lower is better, so the lowest NEET rate ranks 1
    value, year, previous, change, rank, band, polarity = la_row(
        built,
        "value, academic_year, previous_time_period, change_vs_previous, rank, quartile_band, polarity",
        "neet_16_17",
        2023,
        "342",
    )
    assert (value, year, previous, change, polarity) == (3.1, "2023", 2022, -0.5, "low")
    assert (rank, band) == (3, "C")
    assert la_row(built, "rank, quartile_band", "neet_16_17", 2023, "202") == (1, "A")
    assert la_row(built, "value, value_status", "neet_or_not_known_16_17", 2023, "201") == (None, "not_available")
    post16 = rows(
        built,
        """SELECT academic_year, neet_16_17_value, neet_or_not_known_16_17_value, age19_l3_value
                            FROM marts.mart_post16 WHERE old_la_code = '342' AND time_period = 2023""",
    )
    assert post16 == [("2023", 3.1, 5.0, None)]


def test_exclusions_older_fixed_period_name_and_school_type_total(built):
    # 2017/18's fixed_excl_rate is the suspension rate; the State-funded primary rows (1.00) are decoys
    assert la_row(built, "value, data_source_file", "exclusions_suspension_rate", 201718, "342") == (
        5.1,
        "exclusions/exclusions_2018.csv",
    )
    assert la_row(
        built,
        "value, previous_time_period, change_vs_previous, national_value, rank",
        "exclusions_suspension_rate",
        201819,
        "342",
    ) == (5.61, 201718, 0.51, 5.36, 2)
    assert la_row(built, "value, change_vs_previous", "exclusions_permanent_rate", 201819, "342") == (0.09, -0.03)


def test_absence_2020_21_compares_with_2018_19(built):
    assert la_row(built, "value_status, previous_time_period", "absence_overall", 201920, "342") == (
        "not_available",
        None,
    )
    value, previous, change, note = la_row(
        built, "value, previous_time_period, change_vs_previous, comparability_note", "absence_overall", 202021, "342"
    )
    assert (value, previous, change) == (5.0, 201819, 0.1)
    assert "2019/20 were not published" in note
    wide = rows(
        built,
        """SELECT absence_overall_value, absence_overall_rank, absence_overall_quartile_band,
                                 absence_overall_previous_time_period
                          FROM marts.mart_attendance_behaviour WHERE old_la_code = '342' AND time_period = 202021""",
    )
    # 4.4 (343) < 5.0 < 5.6 (340): second of three
    assert wide == [(5.0, 2, "B", 201819)]


def test_age19_free_school_meals_gap(built):
    assert la_row(built, "value", "age19_l3", 202223, "342", "fsm_eligible") == (37.5,)
    wide = rows(
        built,
        """SELECT time_period, age19_l3_fsm_eligible_value, age19_l3_not_fsm_eligible_value, age19_l3_fsm_gap,
                                 age19_l3_fsm_gap_change_vs_previous, age19_l3_national_fsm_gap
                          FROM marts.mart_post16 WHERE old_la_code IN ('342', '343') AND time_period > 9999
                          ORDER BY old_la_code, time_period""",
    )
    assert wide == [
        (202122, 36.0, 59.5, -23.5, None, -24.8),
        (202223, 37.5, 60.0, -22.5, 1.0, -25.1),
        # Sefton's 2021/22 FSM figure is suppressed: no gap, and 2022/23 has nothing to compare with
        (202122, None, 64.0, None, None, -24.8),
        (202223, 40.0, 65.0, -25.0, None, -25.1),
    ]


def test_a_new_indicator_of_an_ingested_dataset_is_one_catalogue_row(built, tmp_path):
    """The NEET files also carry notknown_percent (activity not known), which the catalogue does not
    list. One seed row, and nothing else, makes it a published measure with the full treatment."""
    project = tmp_path / "dbt_project"
    shutil.copytree(DBT_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", ".user.yml"))
    catalogue = project / "seeds" / "measure_catalogue.csv"
    with catalogue.open("a", encoding="utf-8") as f:
        f.write(
            "neet_not_known_16_17,16-17 year olds whose activity is not known,neet,neet,notknown_percent,"
            "age=16-17,all,%,low,1,,,,,,,,\n"
        )
    db = tmp_path / "build.duckdb"
    shutil.copy(built, db)
    result = subprocess.run(
        # What the new seed row can change: the catalogue and the models between it and the marts
        # (staging does not read the catalogue, and the copied database already has it built).
        _dbt(
            "build",
            project,
            tmp_path,
            db,
            "--select",
            "measure_catalogue+,+fct_la_measure",
            "dim_measure",
            "--exclude",
            "test_type:unit",
            "--no-partial-parse",
        ),
        cwd=REPO_ROOT,
        env=_dbt_env(db),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert rows(built, "SELECT count(*) FROM marts.fct_la_measure WHERE measure_code = 'neet_not_known_16_17'") == [
        (0,)
    ]
    value, national, previous, change, rank, polarity, decimals = la_row(
        db,
        "value, national_value, previous_time_period, change_vs_previous, rank, polarity, decimal_places",
        "neet_not_known_16_17",
        2023,
        "342",
    )
    # 342: 1.9 in 2023 (2.3 in 2022); published LA values 1.9, 2.2, 1.6, 2.0 -> second lowest
    assert (value, national, previous, change, rank, polarity, decimals) == (1.9, 2.4, 2022, -0.4, 2, "low", 1)
    # the only difference between the two projects is that one seed row
    copied = [p.relative_to(project) for p in project.rglob("*") if p.is_file()]
    changed = [str(p) for p in copied if (project / p).read_bytes() != (DBT_PROJECT / p).read_bytes()]
    assert changed == ["seeds/measure_catalogue.csv"]


def test_values_name_the_data_set_version_they_came_from(built):
    found = rows(
        built,
        """SELECT DISTINCT time_period, data_set_id, data_set_version FROM marts.fct_la_measure
                           WHERE measure_code = 'ks4_attainment8' AND breakdown = 'all' ORDER BY 1""",
    )
    by_period = {r[0]: r[1:] for r in found}
    assert by_period[202425] == ("d1b2a3c4-0000-4000-8000-000000000425", "1.0")
    assert all(v == (None, None) for p, v in by_period.items() if p != 202425)
    national = rows(
        built,
        """SELECT data_set_version FROM marts.fct_area_measure WHERE measure_code = 'ks4_attainment8'
                               AND breakdown = 'all' AND area_level = 'national' AND time_period = 202425""",
    )
    assert national == [("1.0",)]


def test_dim_measure_carries_each_publications_release_dates_and_methodology(built):
    """What update-sources recorded of a publication reaches every measure read from it; a
    publication not yet asked about has none (never another publication's dates)."""
    found = rows(
        built,
        "SELECT DISTINCT dataset, latest_release_title, latest_release_published, next_release, methodology_url, "
        "release_dates_checked_on FROM marts.dim_measure WHERE dataset IN ('ks2', 'ks4') ORDER BY dataset",
    )
    import datetime as dt

    assert found == [
        (
            "ks2",
            "Academic year 2024/25",
            dt.date(2025, 12, 11),
            "2026-12",
            KS2_PUBLICATION["methodology_url"],
            dt.date(2026, 12, 1),
        ),
        ("ks4", None, None, None, None, None),
    ]
