"""Blocking gates on the raw datasets: one Great Expectations suite per dataset, and one per
raw.local_* table holding school-level rows (the council's local datasets)."""


import dagster as dg
import duckdb

from orchestration.defs.ingest.assets import raw_asset_key
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib import gates
from orchestration.lib.sources import dataset_specs


def gate_result(result: gates.GateResult, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed,
        description=result.summary()[:4000],
        metadata={"expectations": result.evaluated, "failed": len(result.failures), **metadata},
    )


def _raw_check(dataset: str, kind: str) -> dg.AssetChecksDefinition:
    suite = f"raw_{dataset}"

    @dg.asset_check(
        asset=raw_asset_key(dataset),
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with duckdb.connect(str(warehouse.settings().build_db), read_only=True) as con:
            if kind == "ees":
                frame = gates.raw_ees_frame(con, dataset)
            else:
                frame = gates.table_frame(con, f"raw.{dataset}")
        if frame.empty:
            return dg.AssetCheckResult(passed=True, description=f"{dataset}: not in sources.yml, nothing to check")
        metadata = {"cells": len(frame)}
        if kind == "ees":
            # How many file rows each row-level check flagged (details in the description).
            metadata["rows_with_problems"] = dg.MetadataValue.json(
                {c: int(frame[c].notna().sum()) for c in gates.ROW_PROBLEM_COLUMNS if c in frame.columns}
            )
        return gate_result(gates.validate(suite, frame), **metadata)

    return _check


def _local_check(table: str) -> dg.AssetChecksDefinition:
    suite = f"raw_{table}"

    @dg.asset_check(
        asset=raw_asset_key(table),
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json (rows of the local datasets in raw.{table})",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with duckdb.connect(str(warehouse.settings().build_db), read_only=True) as con:
            frame = gates.raw_local_frame(con, table)
        if frame.empty:
            return dg.AssetCheckResult(passed=True, description=f"raw.{table}: no local dataset of this kind in sources.yml, nothing to check")
        metadata = {
            "rows": len(frame),
            "rows_with_problems": dg.MetadataValue.json(
                {c: int(frame[c].notna().sum()) for c in gates.LOCAL_PROBLEM_COLUMNS[table]}
            ),
        }
        return gate_result(gates.validate(suite, frame), **metadata)

    return _check


def raw_checks() -> list[dg.AssetChecksDefinition]:
    checks = [_raw_check(name, spec.kind) for name, spec in dataset_specs().items() if gates.suite_exists(f"raw_{name}")]
    return checks + [_local_check(table) for table in gates.LOCAL_PROBLEM_COLUMNS]
