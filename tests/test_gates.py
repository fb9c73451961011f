"""The GX gates catch what they promise to catch, and say where."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.lib import gates
from orchestration.lib.gates import bounds


def area_frame(**overrides) -> pd.DataFrame:
    row = dict(
        measure_code="ks2_rwm_expected",
        breakdown="all",
        time_period=202324,
        academic_year="2023/24",
        area_level="national",
        area_code="E92000001",
        area_name="England",
        value=61.0,
        value_status="published",
        release="final",
        previous_time_period=202223,
        previous_value=60.0,
        change_vs_previous=1.0,
        polarity="high",
        unit="%",
        decimal_places=0,
        comparability_note=None,
    )
    row.update(overrides)
    # as the gate reads the area mart: each national value beside its catalogue bounds' verdict
    return bounds.flagged(pd.DataFrame([row]))


def test_area_gate_passes_plausible_values():
    result = gates.validate("mart_fct_area_measure", area_frame(), {"catalogue_measure_codes": ["ks2_rwm_expected"]})
    assert result.passed, result.summary()


def test_implausible_national_value_fails_the_gate():
    result = gates.validate(
        "mart_fct_area_measure", area_frame(value=95.0), {"catalogue_measure_codes": ["ks2_rwm_expected"]}
    )
    assert not result.passed
    failure = next(f for f in result.failures if f.startswith("plausible national value"))
    assert "1 unexpected" in failure and "measure_code=ks2_rwm_expected, breakdown=all" in failure, failure
    assert "95.0 is outside 45.0 to 75.0 (England" in failure, failure


def test_missing_catalogue_measure_fails_the_gate():
    result = gates.validate(
        "mart_fct_area_measure", area_frame(), {"catalogue_measure_codes": ["ks2_rwm_expected", "ks4_attainment8"]}
    )
    assert [f for f in result.failures if "every catalogue measure has England values" in f]


def test_disadvantage_gap_next_to_a_suppressed_value_fails_the_disclosure_gate():
    columns = [
        "ks2_rwm_expected",
        "ks2_rwm_higher",
        "ks2_reading_expected",
        "ks2_writing_expected",
        "ks2_maths_expected",
        "ks2_gps_expected",
    ]
    row = {"old_la_code": "201", "la_code": "E09000001", "time_period": 202324}
    for m in columns:
        row.update({f"{m}_value": 50.0, f"{m}_status": "published", f"{m}_quartile_band": "B"})
    row.update(
        ks2_rwm_expected_disadvantaged_value=None,
        ks2_rwm_expected_not_disadvantaged_value=70.0,
        ks2_rwm_expected_disadvantage_gap=-20.0,  # would reveal the suppressed disadvantaged value
    )
    result = gates.validate("mart_key_stage_2", pd.DataFrame([row]))
    assert [f for f in result.failures if "no disclosure" in f]
    assert len(result.failures) == 1, result.summary()


def raw_frame(**overrides) -> pd.DataFrame:
    """One cell of the long frame gates.raw_ees_frame builds."""
    row = dict(
        _source_file="neet/neet_la.csv",
        _row_number=2,
        time_period="2023",
        time_identifier="Calendar year",
        geographic_level="Local authority",
        country_code="E92000001",
        region_code="E12000002",
        old_la_code="342",
        new_la_code="E08000013",
        la_name="St. Helens",
        version="Final",
        filter_key="age=16-17",
        indicator="neet_percent",
        raw_value="3.1",
        value=3.1,
        is_percentage=True,
    )
    row.update(overrides)
    return pd.DataFrame([row])


def test_neet_raw_gate_takes_calendar_years_and_rejects_academic_ones():
    assert gates.validate("raw_neet", raw_frame()).passed
    result = gates.validate("raw_neet", raw_frame(time_period="202324", time_identifier="Academic year"))
    failed = " ".join(result.failures)
    assert "calendar-year time period" in failed and "time identifier" in failed
    # ...and the academic-year datasets the other way round
    assert not gates.validate(
        "raw_absence", raw_frame(indicator="sess_overall_percent", filter_key="school_type=Total")
    ).passed


def test_raw_gate_catches_an_impossible_rate_and_a_points_scale_slip():
    exclusions = dict(
        time_period="202223", time_identifier="Academic year", is_percentage=False, filter_key="school_type=Total"
    )
    result = gates.validate(
        "raw_exclusions", raw_frame(indicator="perm_excl_rate", raw_value="140", value=140.0, **exclusions)
    )
    assert [f for f in result.failures if "perm_excl_rate within 0-100" in f]
    # suspensions per 100 pupils do exceed 100 in small special-school cohorts (Newham 2017/18: 289.6)
    assert gates.validate(
        "raw_exclusions", raw_frame(indicator="susp_rate", raw_value="289.55224", value=289.55224, **exclusions)
    ).passed
    result = gates.validate(
        "raw_exclusions", raw_frame(indicator="susp_rate", raw_value="2895.5", value=2895.5, **exclusions)
    )
    assert [f for f in result.failures if "susp_rate within 0-1000" in f]
    result = gates.validate(
        "raw_ks5",
        raw_frame(
            time_period="202324",
            time_identifier="Academic year",
            indicator="aps_per_entry",
            raw_value="64.2",
            value=64.2,
            is_percentage=False,
            filter_key="breakdown_topic=Total|breakdown=Total|sex=Total",
        ),
    )
    assert [f for f in result.failures if "aps_per_entry within 0-60" in f]


def test_implausible_england_absence_rate_fails_the_gate():
    frame = area_frame(measure_code="absence_overall", value=45.0, polarity="low", decimal_places=1)
    result = gates.validate("mart_fct_area_measure", frame, {"catalogue_measure_codes": ["absence_overall"]})
    assert any(
        f.startswith("plausible national value") and "measure_code=absence_overall" in f for f in result.failures
    ), result.summary()
    frame = area_frame(measure_code="absence_overall", value=6.8, polarity="low", decimal_places=1)
    assert gates.validate("mart_fct_area_measure", frame, {"catalogue_measure_codes": ["absence_overall"]}).passed


def test_fsm_gap_beside_a_suppressed_group_fails_the_post16_disclosure_gate():
    measures = [
        "ks5_aps_per_entry",
        "ks5_aab",
        "ks5_three_a",
        "age19_l2_em",
        "age19_l3",
        "neet_16_17",
        "neet_or_not_known_16_17",
    ]
    row = {"old_la_code": "342", "la_code": "E08000013", "time_period": 202324}
    for m in measures:
        row.update(
            {
                f"{m}_value": 30.0,
                f"{m}_status": "published",
                f"{m}_quartile_band": "B",
                f"{m}_change_vs_previous": None,
                f"{m}_previous_time_period": None,
            }
        )
    row.update(
        ks5_aps_per_entry_disadvantaged_value=28.0,
        ks5_aps_per_entry_not_disadvantaged_value=33.0,
        ks5_aps_per_entry_disadvantage_gap=-5.0,
        age19_l2_em_fsm_eligible_value=50.0,
        age19_l2_em_not_fsm_eligible_value=75.0,
        age19_l2_em_fsm_gap=-25.0,
        age19_l3_fsm_eligible_value=None,
        age19_l3_not_fsm_eligible_value=62.0,
        age19_l3_fsm_gap=-24.0,  # would reveal the suppressed FSM-eligible value
    )
    result = gates.validate("mart_post16", pd.DataFrame([row]))
    assert len(result.failures) == 1, result.summary()
    assert "age19_l3: FSM gap only where both groups are published" in result.failures[0]


def test_mart_gates_on_candidate_rows_judge_as_on_the_whole_table(sample_publication, tmp_path):
    """The mart gates hand Great Expectations only the rows a suite could fail on (plus one row per
    distinct value a suite counts): on the published sample with failures planted (a repeated key,
    an absurd value, a rank past its count, a missing measure), every suite's
    verdict and every failure message is the one the whole table gives."""
    import shutil

    import duckdb

    from orchestration.defs.gates.checks import suite_parameters
    from orchestration.lib.rules.catalogue import catalogue_rows

    db = tmp_path / "publication_copy.duckdb"
    shutil.copy(sample_publication / "warehouse" / "education.duckdb", db)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.landed_files AS SELECT unnest(['ks2', 'ks4', 'eyfs']) AS dataset")
        # the loaded files carry every column the catalogue reads of those datasets
        for dataset in ("ks2", "ks4", "eyfs"):
            columns = sorted({r["indicator_column"] for r in catalogue_rows() if r["dataset"] == dataset})
            con.execute(f"CREATE TABLE raw.{dataset} ({', '.join(f'{c} VARCHAR' for c in columns)})")
        con.execute("INSERT INTO marts.fct_la_measure SELECT * FROM marts.fct_la_measure LIMIT 1")
        con.execute("UPDATE marts.fct_la_measure SET value = 1e9 WHERE rowid = 5")
        con.execute("UPDATE marts.fct_la_measure SET rank = ranked_count + 3 WHERE rowid = 7")
        con.execute("DELETE FROM marts.fct_area_measure WHERE measure_code LIKE 'ks4%'")
        parameters, _ = suite_parameters(con, "fct_la_measure")
        tables = [
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        ]
        failed = []
        for table in sorted(tables):
            suite = table if table.startswith("mart_") else f"mart_{table}"
            if not gates.suite_exists(suite):
                continue
            relation = f"SELECT * FROM marts.{gates.quote_identifier(table)}"
            whole = gates.validate(suite, gates.table_frame(con, f"marts.{table}"), parameters)
            candidates = gates.row_candidates(con, relation, suite, "ALL", parameters)
            subset = gates.validate(suite, candidates, parameters)
            assert (subset.passed, subset.failures) == (whole.passed, whole.failures), table
            failed += [table] * (not whole.passed)
    assert failed == ["fct_area_measure", "fct_la_measure"]


def test_a_name_cut_short_in_one_file_is_the_same_la_unless_another_la_starts_so():
    """level_2_3_sfla.csv writes 'Wals' where DfE's dashboard file writes 'Walsall' for code 335:
    the same LA. 'Bedford' on Bedfordshire's code 820 still blocks: Bedford (822) starts that way."""
    from orchestration.lib.gates import raw as raw_gates

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE t (_source_file VARCHAR, _row_number INTEGER, time_period VARCHAR, geographic_level VARCHAR, "
        "old_la_code VARCHAR, new_la_code VARCHAR, la_name VARCHAR, region_code VARCHAR)"
    )
    la = "Local authority"
    con.executemany(
        "INSERT INTO t VALUES (?, ?, '201819', ?, ?, ?, ?, ?)",
        [
            ("a.csv", 2, la, "335", "E08000030", "Wals", "E12000005"),
            ("b.csv", 2, la, "335", "E08000030", "Walsall", "E12000005"),
            ("b.csv", 3, la, "335", "E08000030", "Walsall", "E12000005"),
            ("a.csv", 3, la, "820", "E06000055", "Bedford", "E12000006"),
            ("b.csv", 4, la, "820", "E06000055", "Bedfordshire", "E12000006"),
            ("b.csv", 5, la, "820", "E06000055", "Bedfordshire", "E12000006"),
            ("b.csv", 6, la, "822", "E06000056", "Bedford", "E12000006"),
        ],
    )
    present = {
        c
        for (c,) in con.execute("SELECT column_name FROM information_schema.columns WHERE table_name = 't'").fetchall()
    }
    problems = [p for frame in raw_gates._la_problems(con, "t", present) for p in frame["problem"]]
    assert problems == [
        "old_la_code 820 in 201819: this row has E06000055 'Bedford' (region E12000006) but 2 other row(s) have "
        "E06000055 'Bedfordshire' (region E12000006), e.g. b.csv line 4"
    ]
