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
