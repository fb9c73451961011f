"""The geography gate: every LA that existed in a period is in each measure of that period, with
reorganisations (seeds/la_boundary_changes.csv) and the LAs DfE often leaves out handled as data."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.gates import geography
from orchestration.lib.settings import DBT_PROJECT_DIR

MODEL = ["301", "302", "201", "420", "838", "839", "942", "943", "835", "836", "837", "909"]


@pytest.fixture
def con():
    con = duckdb.connect()
    for schema in ("marts", "raw", "reference"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        "CREATE TABLE marts.fct_la_measure (measure_code VARCHAR, breakdown VARCHAR, time_period INTEGER, "
        "old_la_code VARCHAR, value_status VARCHAR)"
    )
    con.execute("CREATE TABLE raw.statistical_neighbours (old_la_code VARCHAR, la_name VARCHAR)")
    con.executemany("INSERT INTO raw.statistical_neighbours VALUES (?, ?)", [(c, f"LA {c}") for c in MODEL])
    con.execute(
        "CREATE TABLE reference.la_boundary_changes AS SELECT * FROM read_csv(?, all_varchar = true)",
        [str(DBT_PROJECT_DIR / "seeds" / "la_boundary_changes.csv")],
    )
    con.execute("ALTER TABLE reference.la_boundary_changes ALTER first_year TYPE INTEGER")
    con.execute("ALTER TABLE reference.la_boundary_changes ALTER last_year TYPE INTEGER")
    yield con
    con.close()


def publish(con, measure: str, period: int, codes: list[str], status: str = "published", breakdown: str = "all"):
    con.executemany(
        "INSERT INTO marts.fct_la_measure VALUES (?, ?, ?, ?, ?)",
        [(measure, breakdown, period, c, status) for c in codes],
    )


def test_each_period_expects_the_las_that_existed_then(con):
    publish(con, "ks2_rwm", 201516, ["301", "302", "201", "420", "835", "836", "837", "909"])  # before Dorset 2019
    publish(con, "ks2_rwm", 202324, ["301", "302", "201", "420", "838", "839", "942", "943"])  # after Cumbria 2023
    result = geography.check_geography(con)
    assert result.passed and result.warnings == [] and result.checked_periods == 2


def test_either_side_of_a_reorganisation_completes_a_period(con):
    # a timeseries restating 2015/16 on today's boundaries (BCP, Dorset) is complete too
    publish(con, "ks4_att8", 201516, ["301", "302", "201", "420", "838", "839", "909"])
    assert geography.check_geography(con).passed


def test_a_missing_la_blocks_and_is_named_with_its_measure_periods(con):
    publish(con, "ks2_rwm", 202324, ["301", "201", "420", "838", "839"])  # no 302, no Cumberland/Westmorland
    result = geography.check_geography(con)
    assert not result.passed
    assert result.missing == [
        "302 LA 302: missing from 1 measure-period(s): ks2_rwm all 202324",
        "942 Cumberland: missing from 1 measure-period(s): ks2_rwm all 202324",
        "943 Westmorland and Furness: missing from 1 measure-period(s): ks2_rwm all 202324",
    ]
    text = geography.summary(result)
    assert "3 LA(s) missing" in text and "301" not in text  # the missing codes, not the whole list


def test_city_of_london_and_scilly_only_warn(con):
    publish(con, "ks2_rwm", 202324, ["301", "302", "838", "839", "942", "943"])
    result = geography.check_geography(con)
    assert result.passed
    assert [w.split(":")[0] for w in result.warnings] == ["201 LA 201", "420 LA 420"]


def test_measures_without_la_rows_expect_none_and_no_model_means_no_check(con):
    # a national-only file publishes no LA rows: its measure-periods are not in the LA facts at all
    assert geography.check_geography(con).checked_periods == 0
    con.execute("DELETE FROM raw.statistical_neighbours")
    publish(con, "ks2_rwm", 202324, ["301"])
    assert geography.check_geography(con).checked_periods == 0


def test_a_period_nothing_was_published_for_expects_nothing(con):
    """KS1 in 2019/20 was not published: a file's rows for it (some LAs, all `x`) are complete."""
    publish(con, "ks1_maths", 201920, ["301", "838"], status="not_available")
    publish(con, "ks1_maths", 201819, ["301", "302", "201", "420", "835", "836", "837", "909"])
    result = geography.check_geography(con)
    assert result.passed and result.checked_periods == 1


def test_each_breakdown_is_complete_on_its_own(con):
    """Headline and breakdown rows often come from different files: an LA in one does not stand in
    for the LA missing from the other."""
    codes = ["301", "302", "201", "420", "838", "839", "942", "943"]
    publish(con, "ks2_rwm", 202324, codes, breakdown="disadvantaged")
    publish(con, "ks2_rwm", 202324, [c for c in codes if c != "302"])
    assert geography.check_geography(con).missing == [
        "302 LA 302: missing from 1 measure-period(s): ks2_rwm all 202324"
    ]


def test_an_la_of_the_same_side_of_a_change_does_not_stand_in(con):
    """Cumberland (942) present does not excuse Westmorland and Furness (943), in any year."""
    publish(con, "ks2_rwm", 202324, ["301", "302", "201", "420", "838", "839", "942"])
    publish(con, "ks2_rwm", 203031, ["301", "302", "201", "420", "838", "942", "943"])
    assert geography.check_geography(con).missing == [
        "839 Bournemouth, Christchurch and Poole: missing from 1 measure-period(s): ks2_rwm all 203031",
        "943 Westmorland and Furness: missing from 1 measure-period(s): ks2_rwm all 202324",
    ]
