"""Which catalogue measures a build is expected to publish (orchestration.lib.gates.coverage):
the Ofsted share is expected only where dbt worked it out from an England-wide snapshot."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.gates import coverage

INSPECTION = "inspection_pupils_good_outstanding"


@pytest.fixture
def con():
    con = duckdb.connect()
    for schema in ("raw", "intermediate"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute("CREATE TABLE raw.landed_files (dataset VARCHAR)")
    con.execute("INSERT INTO raw.landed_files VALUES ('local_inspections')")
    con.execute("CREATE TABLE raw.local_inspections (urn VARCHAR, la_name VARCHAR, overall_effectiveness VARCHAR)")
    con.execute("INSERT INTO raw.local_inspections VALUES ('104221', 'St. Helens', '2')")
    con.execute("CREATE TABLE intermediate.int_inspection_measure_values (measure_code VARCHAR)")
    yield con
    con.close()


def test_a_councils_own_extract_is_reported_not_expected(con):
    carried, warnings = coverage.carried_measures(con, local_authority=True)
    assert INSPECTION not in carried
    [warning] = [w for w in warnings if w.startswith(INSPECTION)]
    assert "no loaded local_inspections snapshot has schools in every region" in warning
    assert "mart_inspection_outcomes" in warning


def test_an_england_wide_snapshot_is_expected(con):
    con.execute(f"INSERT INTO intermediate.int_inspection_measure_values VALUES ('{INSPECTION}')")
    carried, warnings = coverage.carried_measures(con, local_authority=True)
    assert INSPECTION in carried
    assert not [w for w in warnings if w.startswith(INSPECTION)]


def test_no_ofsted_file_expects_nothing_and_says_nothing(con):
    con.execute("DELETE FROM raw.landed_files")
    carried, warnings = coverage.carried_measures(con, local_authority=True)
    assert INSPECTION not in carried and warnings == []


def _ks5(con, files: dict[str, list[str]]):
    """raw.ks5 and raw.file_columns as the ingest leaves them for files with these columns."""
    union = sorted({c for columns in files.values() for c in columns})
    con.execute(f"CREATE OR REPLACE TABLE raw.ks5 ({', '.join(f'{c} VARCHAR' for c in union)})")
    con.execute("INSERT INTO raw.ks5 (geographic_level) VALUES ('Local authority')")
    con.execute("CREATE OR REPLACE TABLE raw.file_columns (dataset VARCHAR, file_sha256 VARCHAR, column_name VARCHAR)")
    con.execute("DELETE FROM raw.landed_files WHERE dataset = 'ks5'")
    for sha256, columns in files.items():
        con.execute("INSERT INTO raw.landed_files VALUES ('ks5')")
        con.executemany("INSERT INTO raw.file_columns VALUES ('ks5', ?, ?)", [[sha256, c] for c in columns])


STANDARD = ["time_period", "time_identifier", "geographic_level", "country_code"]


def test_a_series_marked_by_a_filter_no_file_has_is_reported_not_expected(con):
    """An A level file (no exam_cohort) carries the A level measures, not the tech level series."""
    _ks5(con, {"a-level": [*STANDARD, "aps_per_entry", "aab_percent"]})
    carried, warnings = coverage.carried_measures(con)
    assert "ks5_aps_per_entry" in carried and "ks5_vocational_tech_level_aps" not in carried
    [warning] = [w for w in warnings if "ks5_vocational_tech_level_aps" in w]
    assert "aps_per_entry in a file with the filter columns of exam_cohort=Tech level|cert_type=Tech level" in warning


def test_the_indicator_and_the_filter_must_be_in_the_same_file(con):
    _ks5(con, {"a-level": [*STANDARD, "aps_per_entry"], "entries": [*STANDARD, "exam_cohort", "t_entries"]})
    carried, _ = coverage.carried_measures(con)
    assert "ks5_aps_per_entry" in carried and "ks5_vocational_tech_level_aps" not in carried
    _ks5(con, {"a-level": [*STANDARD, "aps_per_entry"], "vocational": [*STANDARD, "exam_cohort", "aps_per_entry"]})
    carried, warnings = coverage.carried_measures(con)
    assert {"ks5_vocational_tech_level_aps", "ks5_vocational_applied_general_aps"} <= set(carried)
    # DfE's all-qualifications series names the type cert_type and the points aps (an alias)
    _ks5(con, {"all": ["time_period", "cert_type", "aps", "geographic_level"]})
    carried, _ = coverage.carried_measures(con)
    assert "ks5_vocational_tech_level_aps" in carried
