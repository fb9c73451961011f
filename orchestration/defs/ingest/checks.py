"""Blocking gates on the raw datasets: one Great Expectations suite per dataset, and one per
raw.local_* table holding school-level rows (the council's local datasets). One subsettable step
judges them (each a check of its raw table, as the UI shows it), reading the tables side by side."""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dagster as dg
import duckdb
import pandas as pd

from orchestration.defs.ingest.assets import raw_asset_key
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform import warm_dbt
from orchestration.lib import gates
from orchestration.lib.sources.config import dataset_specs


def gate_result(
    result: gates.GateResult, asset_key: dg.AssetKey | None = None, check_name: str | None = None, **metadata
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key,
        check_name=check_name,
        passed=result.passed,
        description=result.summary(),
        metadata={"expectations": result.evaluated, "failed": len(result.failures), **metadata},
    )


@dataclass(frozen=True)
class _RawGate:
    """Suite raw_<table> on the rows ``read_frame(con)`` reads from the build DB (the rows the
    suite could fail on); an empty table passes (nothing of that kind is configured)."""

    table: str
    suite_note: str
    read_frame: Callable[[duckdb.DuckDBPyConnection], pd.DataFrame]
    empty_note: str
    metadata_of: Callable[[duckdb.DuckDBPyConnection, pd.DataFrame], dict]

    @property
    def suite(self) -> str:
        return f"raw_{self.table}"

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            f"gx_{self.suite}",
            asset=raw_asset_key(self.table),
            blocking=True,
            description=f"Great Expectations suite expectations/{self.suite}.json{self.suite_note}",
        )

    def read(self, settings) -> tuple[pd.DataFrame | None, dict]:
        """(the rows the suite could fail on, or None for an empty table; the check's metadata): SQL only."""
        with duckdb.connect(str(settings.build_db), read_only=True, config=settings.duckdb_config) as con:
            rows = con.execute(f"SELECT count(*) FROM raw.{gates.quote_identifier(self.table)}").fetchall()[0][0]
            if not rows:
                return None, {}
            frame = self.read_frame(con)
            return frame, {"rows": rows, **self.metadata_of(con, frame)}

    def judge(self, frame: pd.DataFrame | None, metadata: dict) -> dg.AssetCheckResult:
        if frame is None:
            return dg.AssetCheckResult(
                asset_key=self.spec.asset_key, check_name=self.spec.name, passed=True, description=self.empty_note
            )
        return gate_result(
            gates.validate(self.suite, frame), asset_key=self.spec.asset_key, check_name=self.spec.name, **metadata
        )


def _problem_counts(frame, columns) -> dg.MetadataValue:
    """How many rows each row-level check flagged (details in the description)."""
    return dg.MetadataValue.json({c: int(frame[c].notna().sum()) for c in columns if c in frame.columns})


def _raw_gate(dataset: str, kind: str) -> _RawGate:
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

    return _RawGate(dataset, "", read_frame, f"{dataset}: not in sources.yml, nothing to check", metadata_of)


def _local_gate(table: str) -> _RawGate:
    return _RawGate(
        table,
        f" (rows of the local datasets in raw.{table})",
        lambda con: gates.raw_local_frame(con, table),
        f"raw.{table}: no local dataset of this kind in sources.yml, nothing to check",
        lambda con, frame: {"rows_with_problems": _problem_counts(frame, gates.LOCAL_PROBLEM_COLUMNS[table])},
    )


class GatesNotRun(RuntimeError):
    """Gates that could not be judged (a read or Great Expectations failed), each named."""


def judged_in_order(context, chosen: list, settings):
    """Each gate's check result, in order: ``gate.read(settings)`` (SQL) runs on READ_THREADS
    threads, at most READ_AHEAD gates ahead, and ``gate.judge(*read)`` (Great Expectations) in the
    step's thread as each read is done. A gate that cannot run is logged and the others are still
    judged; the step then fails naming every gate that could not run."""
    gates.prepare_great_expectations()  # its environment set before any thread reads
    failed: list[str] = []
    first: BaseException | None = None
    pool = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="gate-read")
    try:
        reads = {}
        for index, gate in enumerate(chosen):
            for ahead in range(index, min(index + READ_AHEAD, len(chosen))):
                if ahead not in reads:
                    reads[ahead] = pool.submit(chosen[ahead].read, settings)
            started = time.monotonic()
            try:
                found = reads.pop(index).result()  # dropped once judged: one frame held at a time
                result = gate.judge(*found)
            except Exception as exc:
                context.log.error(f"gate {gate.suite} could not run: {exc}")
                failed.append(f"{gate.suite}: {type(exc).__name__}: {exc}")
                first = first or exc
                continue
            frame, metadata = found[:2]  # every read() gives the frame and the check's metadata first
            if frame is not None:
                context.log.info(
                    f"gate {gate.suite}: {'passed' if result.passed else 'FAILED'} ({metadata['rows']:,} rows, "
                    f"{len(frame):,} candidate row(s) for Great Expectations, judged in "
                    f"{time.monotonic() - started:.1f} s)"
                )
            yield result
    finally:  # an interrupt does not wait for reads not yet started
        pool.shutdown(wait=True, cancel_futures=True)
    if failed:
        raise GatesNotRun(f"{len(failed)} gate(s) could not run:\n" + "\n".join(failed)) from first


# Tables read at once for the gates, each through its own connection: DuckDB runs without
# Python's lock, so the reads overlap each other and Great Expectations judging the tables already
# read (in the step's own thread, one at a time, as its first import is not safe to race).
READ_THREADS = 2
READ_AHEAD = 3  # gates whose candidate rows may be held at once (each read is a table's candidates)


def raw_checks() -> list[dg.AssetChecksDefinition]:
    raw_gates = [
        _raw_gate(name, spec.kind) for name, spec in dataset_specs().items() if gates.suite_exists(f"raw_{name}")
    ] + [_local_gate(table) for table in gates.LOCAL_PROBLEM_COLUMNS]

    return [
        gate_step(
            "raw_gates",
            "The raw tables' blocking gates, one Great Expectations suite each",
            raw_gates,
            # dbt's import overlaps the gates (defs/transform/warm_dbt.py)
            before=warm_dbt.start_for_the_build,
        )
    ]


def gate_step(name: str, description: str, chosen_from: list, before=None) -> dg.AssetChecksDefinition:
    """One subsettable step judging these gates (each a blocking check of its own table); it first
    calls ``before`` with its context and settings, if given."""

    @dg.multi_asset_check(
        specs=[gate.spec for gate in chosen_from], name=name, can_subset=True, description=description
    )
    def _gates(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        if before is not None:
            before(context, warehouse.settings())
        selected = set(context.selected_asset_check_keys)
        yield from judged_in_order(
            context, [gate for gate in chosen_from if gate.spec.key in selected], warehouse.settings()
        )

    return _gates
