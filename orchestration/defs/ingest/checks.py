"""Blocking gates on the raw datasets: one Great Expectations suite per dataset, and one per
raw.local_* table holding school-level rows (the council's local datasets)."""

import time

import dagster as dg
import duckdb

from orchestration.defs.ingest.assets import raw_asset_key
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib import gates
from orchestration.lib.sources.config import dataset_specs


def gate_result(result: gates.GateResult, **metadata) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        passed=result.passed,
        description=result.summary(),
        metadata={"expectations": result.evaluated, "failed": len(result.failures), **metadata},
    )


def _gx_check(table: str, suite_note: str, read_frame, empty_note: str, metadata_of) -> dg.AssetChecksDefinition:
    """A blocking check running suite raw_<table> on the rows `read_frame(con)` reads from the
    build DB (the rows the suite could fail on); an empty table passes (nothing of that kind is
    configured)."""
    suite = f"raw_{table}"

    @dg.asset_check(
        asset=raw_asset_key(table),
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json{suite_note}",
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
        started = time.monotonic()
        with duckdb.connect(
            str(warehouse.settings().build_db), read_only=True, config=warehouse.settings().duckdb_config
        ) as con:
            rows = con.execute(f"SELECT count(*) FROM raw.{gates.quote_identifier(table)}").fetchall()[0][0]
            if not rows:
                return dg.AssetCheckResult(passed=True, description=empty_note)
            frame = read_frame(con)
            metadata = {"rows": rows, **metadata_of(con, frame)}
        result = gates.validate(suite, frame)
        context.log.info(
            f"gate {suite}: {'passed' if result.passed else 'FAILED'} ({rows:,} rows, {len(frame):,} candidate "
            f"row(s) for Great Expectations, {time.monotonic() - started:.1f} s)"
        )
        return gate_result(result, **metadata)

    return _check


def _problem_counts(frame, columns) -> dg.MetadataValue:
    """How many rows each row-level check flagged (details in the description)."""
    return dg.MetadataValue.json({c: int(frame[c].notna().sum()) for c in columns if c in frame.columns})


def _raw_check(dataset: str, kind: str) -> dg.AssetChecksDefinition:
    def read_frame(con):
        return gates.raw_ees_frame(con, dataset) if kind == "ees" else gates.table_frame(con, f"raw.{dataset}")

    def metadata_of(con, frame) -> dict:
        if kind != "ees":
            return {}
        warnings = gates.raw_warnings(con, dataset)
        return {
            "cells": gates.raw_cell_count(con, dataset),
            "rows_with_problems": _problem_counts(frame, gates.ROW_PROBLEM_COLUMNS),
            **({"warnings": "\n".join(f"- {w}" for w in warnings)} if warnings else {}),
        }

    return _gx_check(dataset, "", read_frame, f"{dataset}: not in sources.yml, nothing to check", metadata_of)


def _local_check(table: str) -> dg.AssetChecksDefinition:
    return _gx_check(
        table,
        f" (rows of the local datasets in raw.{table})",
        lambda con: gates.raw_local_frame(con, table),
        f"raw.{table}: no local dataset of this kind in sources.yml, nothing to check",
        lambda con, frame: {"rows_with_problems": _problem_counts(frame, gates.LOCAL_PROBLEM_COLUMNS[table])},
    )


def raw_checks() -> list[dg.AssetChecksDefinition]:
    checks = [
        _raw_check(name, spec.kind) for name, spec in dataset_specs().items() if gates.suite_exists(f"raw_{name}")
    ]
    return checks + [_local_check(table) for table in gates.LOCAL_PROBLEM_COLUMNS]
