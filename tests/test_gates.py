"""The GX gates catch what they promise to catch, and say where."""

from __future__ import annotations

import pandas as pd

from orchestration.lib import gates


def area_frame(**overrides) -> pd.DataFrame:
    row = dict(
        measure_code="ks2_rwm_expected", breakdown="all", time_period=202324, academic_year="2023/24",
        area_level="national", area_code="E92000001", area_name="England", value=61.0, value_status="published",
        release="final", previous_time_period=202223, previous_value=60.0, change_vs_previous=1.0,
        polarity="high", unit="%", decimal_places=0, comparability_note=None,
    )
    row.update(overrides)
    return pd.DataFrame([row])


def test_area_gate_passes_plausible_values():
    result = gates.validate("mart_fct_area_measure", area_frame(), {"catalogue_measure_codes": ["ks2_rwm_expected"]})
    assert result.passed, result.summary()


def test_implausible_national_value_fails_the_gate():
    result = gates.validate("mart_fct_area_measure", area_frame(value=95.0), {"catalogue_measure_codes": ["ks2_rwm_expected"]})
    assert not result.passed
    assert any("plausible national value: ks2_rwm_expected (all)" in f and "1 unexpected" in f for f in result.failures)


def test_missing_catalogue_measure_fails_the_gate():
    result = gates.validate(
        "mart_fct_area_measure", area_frame(), {"catalogue_measure_codes": ["ks2_rwm_expected", "ks4_attainment8"]}
    )
    assert [f for f in result.failures if "every catalogue measure has England values" in f]


def test_disadvantage_gap_next_to_a_suppressed_value_fails_the_disclosure_gate():
    columns = ["ks2_rwm_expected", "ks2_rwm_higher", "ks2_reading_expected", "ks2_writing_expected",
               "ks2_maths_expected", "ks2_gps_expected"]
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
