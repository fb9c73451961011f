"""Ingestion: sources.yml, immutable landing, raw loading with lineage, clear errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import read_manifest
from orchestration.lib.ingest.load import ingest
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import read_sources

HEADER = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,la_name,new_la_code,version,breakdown,pt_rwm_met_expected_standard"
ROWS = [
    "202122,Academic year,National,E92000001,England,,,,,,Revised,Total,59",
    "202122,Academic year,Local authority,E92000001,England,E12000002,North West,342,St. Helens,E08000013,Revised,Total,57",
    "202122,Academic year,Local authority,E92000001,England,E12000002,North West,340,Knowsley,E08000011,Revised,Total,c",
]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def sources(tmp_path: Path, body: str, monkeypatch) -> Path:
    file = write(tmp_path / "src" / "sources.yml", body)
    monkeypatch.setenv("EDU_SOURCES", str(file))
    return file


def test_loads_text_with_lineage_and_normalised_headers(tmp_path, isolated_env, monkeypatch):
    # BOM, upper case, stray spaces and CRLF line endings, as real DfE downloads have.
    header = "\ufeff" + HEADER.replace("time_period", " Time_Period ").replace("pt_rwm", "PT_RWM")
    write(tmp_path / "src" / "ks2.csv", "\r\n".join([header, *ROWS]) + "\r\n")
    sources(tmp_path, "datasets:\n  ks2: {files: [ks2.csv]}\n", monkeypatch)
    db = tmp_path / "b.duckdb"
    results = {r.dataset: r for r in ingest(load_settings(), db)}
    assert results["ks2"].row_count == 3
    assert results["ks4"].row_count == 0  # absent from sources.yml: empty, still queryable
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT time_period, la_name, pt_rwm_met_expected_standard, _row_number, _source_file "
            "FROM raw.ks2 ORDER BY _row_number"
        ).fetchall()
        roles = dict(con.execute("SELECT column_name, role FROM raw.file_columns WHERE dataset='ks2'").fetchall())
    assert rows[0] == ("202122", "", "59", 2, "ks2.csv")
    assert rows[2][2] == "c"  # symbols stay as published
    assert roles["breakdown"] == "filter" and roles["pt_rwm_met_expected_standard"] == "indicator"
    assert roles["version"] == "version" and roles["old_la_code"] == "geography"


def test_landing_is_content_addressed_immutable_and_idempotent(tmp_path, isolated_env, monkeypatch):
    source = write(tmp_path / "src" / "ks2.csv", "\n".join([HEADER, *ROWS]) + "\n")
    sources(tmp_path, "datasets:\n  ks2: {files: ['*.csv']}\n", monkeypatch)
    settings = load_settings()
    ingest(settings, tmp_path / "b.duckdb")
    ingest(settings, tmp_path / "b.duckdb")
    records = read_manifest(settings.landing_dir)
    assert len(records) == 1  # second run landed nothing new
    landed = Path(records[0].landed_path)
    assert landed.read_bytes() == source.read_bytes()
    assert records[0].sha256 in str(landed)
    assert not os.stat(landed).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # readable by the owner only, in folders only the owner can enter
    assert stat.S_IMODE(os.stat(landed).st_mode) == stat.S_IRUSR
    assert stat.S_IMODE(os.stat(landed.parent).st_mode) == 0o700
    # A changed source is a new landing; the first copy is kept as received.
    write(source, "\n".join([HEADER, *ROWS[:2]]) + "\n")
    ingest(settings, tmp_path / "b.duckdb")
    records = read_manifest(settings.landing_dir)
    assert [r.landed_seq for r in records] == [1, 2]
    assert len(landed.read_text().splitlines()) == 4


def test_missing_required_column_names_the_file(tmp_path, isolated_env, monkeypatch):
    write(tmp_path / "src" / "bad.csv", "time_period,geographic_level,x\n202122,National,1\n")
    sources(tmp_path, "datasets:\n  ks2: {files: [bad.csv]}\n", monkeypatch)
    with pytest.raises(
        PipelineInputError, match=r"bad\.csv: required column\(s\) missing: time_identifier, country_code"
    ):
        ingest(load_settings(), tmp_path / "b.duckdb")
    assert not (tmp_path / "b.duckdb").exists()  # nothing loaded when a file is rejected


def test_ragged_row_names_file_and_line(tmp_path, isolated_env, monkeypatch):
    write(tmp_path / "src" / "ks2.csv", "\n".join([HEADER, ROWS[0], ROWS[1] + ",extra"]) + "\n")
    sources(tmp_path, "datasets:\n  ks2: {files: [ks2.csv]}\n", monkeypatch)
    with pytest.raises(PipelineInputError, match=r"ks2\.csv: line 3: 14 fields where the header has 13"):
        ingest(load_settings(), tmp_path / "b.duckdb")


def test_windows_1252_file_is_read_and_recorded(tmp_path, isolated_env, monkeypatch):
    text = "\n".join([HEADER, ROWS[0], ROWS[1].replace("St. Helens", "St. Hélens")]) + "\n"
    write(tmp_path / "src" / "ks2.csv", text, encoding="cp1252")
    sources(tmp_path, "datasets:\n  ks2: {files: [ks2.csv]}\n", monkeypatch)
    ingest(load_settings(), tmp_path / "b.duckdb")
    with duckdb.connect(str(tmp_path / "b.duckdb"), read_only=True) as con:
        assert con.execute("SELECT la_name FROM raw.ks2 WHERE old_la_code='342'").fetchone()[0] == "St. Hélens"
        assert con.execute("SELECT encoding FROM raw.landed_files").fetchone()[0] == "cp1252"


@pytest.mark.parametrize(
    "body, error, message",
    [
        ("datasets:\n  ks9: {files: [a.csv]}\n", PipelineInputError, "unknown dataset 'ks9'"),
        ("datasets:\n  ks2: {files: [nothing*.csv]}\n", PipelineInputError, "no file matches 'nothing\\*.csv'"),
        (
            "datasets:\n  ks2: {ees_api: {data_set_id: abc, version: '2.*'}}\n",
            PipelineInputError,
            "data_set_id must be the data set's UUID",
        ),
        (
            "datasets:\n  ks2: {ees_api: {data_set_id: 0a0b0c0d-0000-4000-8000-000000000001, version: 2.1}}\n",
            PipelineInputError,
            "quote the version",
        ),
        (
            "datasets:\n  ks2: {ees_api: {data_set_id: 0a0b0c0d-0000-4000-8000-000000000001, version: '2'}}\n",
            PipelineInputError,
            "version '2' is not valid",
        ),
        ("datasets:\n  ks2: {url: 'ftp://example.org/a.zip'}\n", PipelineInputError, "expected an http\\(s\\) address"),
        ("datasets:\n  ks2: {file: [a.csv]}\n", PipelineInputError, "unknown key\\(s\\) file"),
        # YAML reads an unquoted 2024 as a number; mixed with text keys it still gets the message.
        ("datasets:\n  ks2: {files: [a.csv], 2024: x, fils: y}\n", PipelineInputError, "unknown key\\(s\\) 2024, fils"),
        (
            "datasets:\n  ks2: {url: {url: 'https://example.org/a.csv', 7: x, mebers: y}}\n",
            PipelineInputError,
            "unknown key\\(s\\) 7, mebers \\(allowed: url, members, release\\)",
        ),
        ("datasets:\n  ks2: {files: [{path: a.csv, release: draft}]}\n", PipelineInputError, "release must be one of"),
    ],
)
def test_sources_errors_are_clear(tmp_path, body, error, message):
    write(tmp_path / "a.csv", "x\n1\n")
    with pytest.raises(error, match=message):
        read_sources(write(tmp_path / "sources.yml", body))


def test_release_override_and_globs(tmp_path):
    write(tmp_path / "ks2" / "a.csv", "x\n")
    write(tmp_path / "ks2" / "b.csv", "x\n")
    write(tmp_path / "ks2" / "b.meta.csv", "col_name,col_type\n")
    found = read_sources(
        write(
            tmp_path / "sources.yml",
            "datasets:\n  ks2: {files: ['ks2/*.csv', {path: ks2/b.csv, release: Provisional}]}\n",
        )
    )
    assert [(f.listed_as, f.release) for f in found] == [
        ("ks2/a.csv", None),
        ("ks2/b.csv", None),
        ("ks2/b.csv", "provisional"),
    ]
    assert found[1].meta_path == tmp_path / "ks2" / "b.meta.csv" and found[0].meta_path is None


def test_two_windows_1252_files_each_keep_their_own_rows(tmp_path, isolated_env, monkeypatch):
    """Each re-encoded (scratch) copy is named after its own file: two Windows-1252 files of one run
    are read as themselves, not one twice (both are checked from the same private folder)."""
    write(tmp_path / "src" / "a.csv", "\n".join([HEADER, ROWS[0]]).replace("England", "Englànd") + "\n", "cp1252")
    other = [r.replace("202122", "202223").replace("St. Helens", "St. Hélens") for r in ROWS[1:]]
    write(tmp_path / "src" / "b.csv", "\n".join([HEADER, *other]) + "\n", "cp1252")
    sources(tmp_path, "datasets:\n  ks2: {files: ['*.csv']}\n", monkeypatch)
    db = tmp_path / "b.duckdb"
    ingest(load_settings(), db)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT _source_file, time_period, country_name, la_name FROM raw.ks2 ORDER BY 1, 4"
        ).fetchall()
    assert rows == [
        ("a.csv", "202122", "Englànd", ""),
        ("b.csv", "202223", "England", "Knowsley"),
        ("b.csv", "202223", "England", "St. Hélens"),
    ]


def ingest_one(tmp_path: Path, monkeypatch, dataset: str, name: str, text: str) -> Path:
    """The build database after ingesting one file, listed alone under ``dataset``."""
    write(tmp_path / "src" / name, text)
    sources(tmp_path, f"datasets:\n  {dataset}: {{files: [{name}]}}\n", monkeypatch)
    db = tmp_path / "b.duckdb"
    ingest(load_settings(), db)
    return db


def test_a_file_of_englands_figures_without_geography_columns_reads_as_national(tmp_path, isolated_env, monkeypatch):
    """DfE's 16-18 series of every qualification type has no geography (nor time_identifier)
    columns: its rows are England's, with the standard columns supplied and recorded as such."""
    db = ingest_one(
        tmp_path,
        monkeypatch,
        "ks5",
        "all.csv",
        "year,time_period,establishment_type,characteristic_sex,aps,aps_grade,version,cert_type\n"
        "2025,202425,All state-funded,All students,28.82,Merit+,Revised,Tech level\n",
    )
    with duckdb.connect(str(db), read_only=True) as con:
        row = con.execute(
            "SELECT time_period, time_identifier, geographic_level, country_code, country_name, aps, cert_type "
            "FROM raw.ks5"
        ).fetchall()
        recorded = dict(
            con.execute("SELECT column_name, original_name FROM raw.file_columns WHERE dataset = 'ks5'").fetchall()
        )
    assert row == [("202425", "Academic year", "National", "E92000001", "England", "28.82", "Tech level")]
    assert recorded["geographic_level"] == "" and recorded["aps"] == "aps"  # supplied, not the file's


@pytest.mark.parametrize("column", ["la_code", "region", "provider_ukprn"])
def test_a_file_naming_areas_its_own_way_is_refused_not_read_as_england(tmp_path, isolated_env, monkeypatch, column):
    write(tmp_path / "src" / "odd.csv", f"time_period,{column},aps\n202425,x,30\n")
    sources(tmp_path, "datasets:\n  ks5: {files: [odd.csv]}\n", monkeypatch)
    with pytest.raises(PipelineInputError, match=r"odd\.csv: required column\(s\) missing: time_identifier"):
        ingest(load_settings(), tmp_path / "b.duckdb")


def test_a_file_in_a_registered_layout_reads_as_ees(tmp_path, isolated_env, monkeypatch):
    """The attainment-at-19 dashboard layout (vars.ees_datasets.age19.layouts): its year is the
    academic year ending then; 'ALL' in the region and every LA column is England, in the LA
    columns only a region, and each filter's total; any other mix is passed on for the raw gate to
    name. A year whose listed counts are 0 on every row (a cohort not yet 19) is left out, a small
    group with no achievers in a measured year is kept. A file with the layout's marker columns
    but not the rest is refused, naming what it lacks."""
    header = (
        "cohort_19_in,number_in_ss_cohort,region,la_code_9,la_code_3,la_name,gender,fsm,sen,l2_by19,"
        "l2_with_em_by19,l3_by19,l2_em_by16,l2_em_by19_belowat16,l2_by19_rate,l2_with_em_by19_rate,l3_by19_rate,"
        "l2_em_by19_belowat16_rate"
    )
    db = ingest_one(
        tmp_path,
        monkeypatch,
        "age19",
        "dashboard.csv",
        "\n".join(
            [
                header,
                "2022,600000,ALL,ALL,ALL,ALL,ALL,ALL,ALL,480000,400000,360000,350000,50000,80,66.7,60,20",
                "2022,80000,Yorkshire and the Humber,ALL,ALL,ALL,ALL,ALL,ALL,60000,50000,40000,45000,5000,75,62.5,50,14",
                "2022,1720,North West,E08000013,342,St. Helens,ALL,Eligible for FSM,ALL,1304,1171,844,970,305,75.8,68.1,49.1,40.7",
                "2022,4,North West,E08000013,342,St. Helens,Male,ALL,SEN with statements or EHC plans,0,0,0,0,0,0,0,0,0",
                "2022,9,ALL,E08000013,342,St. Helens,ALL,ALL,ALL,5,4,3,3,1,55.6,44.4,33.3,11.1",
                "2024,1890,North West,E08000013,342,St. Helens,ALL,ALL,ALL,0,0,0,1238,0,0,0,0,0",
                "2024,600000,ALL,ALL,ALL,ALL,ALL,ALL,ALL,0,0,0,350000,0,0,0,0,0",
            ]
        )
        + "\n",
    )
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT _row_number, time_period, time_identifier, geographic_level, country_code, region_code, "
            "region_name, old_la_code, new_la_code, la_name, gender, fsm, sen, l3_by19_rate FROM raw.age19 "
            "ORDER BY _row_number"
        ).fetchall()
    la = ("E12000002", "North West", "342", "E08000013", "St. Helens")
    assert rows == [
        (
            2,
            "202122",
            "Academic year",
            "National",
            "E92000001",
            None,
            None,
            None,
            None,
            None,
            "Total",
            "Total",
            "Total",
            "60",
        ),
        (
            3,
            "202122",
            "Academic year",
            "Regional",
            "E92000001",
            "E12000003",
            "Yorkshire and the Humber",
            None,
            None,
            None,
        )
        + ("Total", "Total", "Total", "50"),
        (
            4,
            "202122",
            "Academic year",
            "Local authority",
            "E92000001",
            *la,
            "Total",
            "Eligible for FSM",
            "Total",
            "49.1",
        ),
        (5, "202122", "Academic year", "Local authority", "E92000001", *la, "Male", "Total")
        + ("SEN with statements or EHC plans", "0"),
        # 'ALL' as region beside an LA: no level the gate accepts, so it names the line
        (6, "202122", "Academic year", "no level: region ALL, LA 342", "E92000001", None, None, "342", "E08000013")
        + ("St. Helens", "Total", "Total", "Total", "33.3"),
    ]
    write(tmp_path / "src" / "dashboard.csv", "cohort_19_in,la_code_3,l3_by19_rate\n2022,342,49.1\n")
    with pytest.raises(
        PipelineInputError,
        match=r"dashboard\.csv: it has the cohort_19_in, la_code_3 columns of one of age19's layouts .* but not its ",
    ):
        ingest(load_settings(), tmp_path / "b2.duckdb")
