"""The mart gates through their Dagster step (defs/gates/checks.py), on the sample's own build:
a mart that breaks its suite blocks, the marts beside it are still judged, and the failure names
what it found. The raw gates' step is tested the same way in tests/test_bad_inputs.py."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb

from orchestration.defs.gates.checks import mart_checks
from orchestration.defs.ingest.resources import WarehouseResource

MARTS = ["mart_key_stage_2", "mart_key_stage_4"]


def _judge(build_db) -> dg.ExecuteInProcessResult:
    """The mart gates of MARTS over ``build_db``, after a stand-in for dbt's materialisation of
    the marts (the gates read the build database, not what the step before them returned)."""
    keys = [dg.AssetKey(["marts", table]) for table in MARTS]

    @dg.multi_asset(specs=[dg.AssetSpec(key) for key in keys], name="dbt_models")
    def built_marts():
        for key in keys:
            yield dg.MaterializeResult(asset_key=key)

    return dg.materialize(
        [built_marts, *[c for c in mart_checks(MARTS) if c.node_def.name == "mart_gates"]],
        resources={"warehouse": WarehouseResource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def test_a_mart_breaking_its_suite_blocks_and_the_others_are_still_judged(sample_publication, tmp_path, monkeypatch):
    build_db = tmp_path / "warehouse" / "build" / "education_build.duckdb"
    build_db.parent.mkdir(parents=True)
    shutil.copy(sample_publication / "warehouse" / "build" / "education_build.duckdb", build_db)
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))

    passing = _judge(build_db)
    assert passing.success
    assert [(c.check_name, c.passed) for c in passing.get_asset_check_evaluations()] == [
        ("gx_mart_key_stage_2", True),
        ("gx_mart_key_stage_4", True),
    ]

    with duckdb.connect(str(build_db)) as con:  # one LA's published KS2 figure made impossible
        la, period = con.execute(
            "SELECT old_la_code, time_period FROM marts.mart_key_stage_2 "
            "WHERE ks2_rwm_expected_value IS NOT NULL ORDER BY ALL LIMIT 1"
        ).fetchone()
        con.execute(
            "UPDATE marts.mart_key_stage_2 SET ks2_rwm_expected_value = 140 WHERE old_la_code = ? AND time_period = ?",
            [la, period],
        )
    failing = _judge(build_db)
    assert not failing.success
    evaluations = {c.check_name: c for c in failing.get_asset_check_evaluations()}
    assert not evaluations["gx_mart_key_stage_2"].passed and evaluations["gx_mart_key_stage_4"].passed
    description = evaluations["gx_mart_key_stage_2"].description
    assert "ks2_rwm_expected_value" in description and "140" in description
    failures = [e for e in failing.all_events if e.is_step_failure]
    assert [f.step_key for f in failures] == ["mart_gates"]
    assert failures[0].step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"
