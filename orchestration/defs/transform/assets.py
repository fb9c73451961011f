"""dbt models as Dagster assets: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import contextlib
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform.dbt_log import DbtProgress, dbt_errors, dbt_log, dbt_log_path, routed
from orchestration.defs.transform.resources import dbt_project, dbt_vars
from orchestration.lib.errors import DbtBuildError
from orchestration.lib.sql import quote_identifier


class EducationDbtTranslator(DagsterDbtTranslator):
    """Models are keyed by schema (``marts/fct_la_measure``); dbt sources by the raw table the
    ingest asset writes (``raw/ks2``), which joins ingest and dbt into one asset graph."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["sources"].get(unique_id) or manifest["nodes"].get(unique_id) or {}
        if node.get("resource_type") == "source":
            key = dg.AssetKey(["raw", node["name"]])
        elif node.get("resource_type") in ("model", "seed", "snapshot"):
            schema = (node.get("config") or {}).get("schema") or node.get("schema") or "main"
            key = dg.AssetKey([schema, node["name"]])
        else:
            return spec
        group = (
            "reference"
            if node.get("resource_type") == "seed"
            else (schema if node.get("resource_type") != "source" else "ingest")
        )
        spec = spec.replace_attributes(key=key, group_name=group)
        columns = node.get("columns") or {}
        if columns:  # the YAML's columns, types and descriptions, shown in the UI's column table
            schema_metadata = dg.TableSchema(
                columns=[
                    dg.TableColumn(
                        name=name,
                        type=(column.get("data_type") or "unknown"),
                        description=" ".join((column.get("description") or "").split()) or None,
                    )
                    for name, column in columns.items()
                ]
            )
            spec = spec.merge_attributes(metadata={"dagster/column_schema": schema_metadata})
        return spec

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        # Every dbt test is a gate: a failing one stops the publication.
        return spec._replace(blocking=True) if spec is not None else None


translator = EducationDbtTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))


@dbt_assets(
    manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=translator, name="dbt_models"
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    settings = warehouse.settings()
    progress = DbtProgress(context, dbt_log_path(settings))
    with dbt_log(settings, f"dbt build, run {context.run_id}") as sink:
        progress.start("build")
        invocation = None
        # dbt holds the build database open until it exits, so row counts are read afterwards:
        # the events are kept (the console shows progress as they come) and handed on in order.
        events = []
        try:
            with contextlib.redirect_stdout(sink):
                # --full-refresh: seeds are re-created, not truncated and refilled, so a seed
                # that gained columns (a new catalogue column) loads into a build database an
                # older version made. Every model is a table or view rebuilt anyway.
                invocation = dbt.cli(["build", "--full-refresh", *dbt_vars(settings)], context=context)
            for event in routed(invocation.stream(), sink):
                progress.see(event)
                events.append(event)
        except Exception as exc:
            yield from events  # what was built before the failure is recorded as built
            said = dbt_errors(invocation.target_path if invocation is not None else None)
            progress.failed(exc, said)
            if said:
                raise DbtBuildError("dbt build failed: " + "; ".join(said)) from exc
            raise
    yield from _with_row_counts(context, events, settings.build_db)
    progress.finish()


def _with_row_counts(context: dg.AssetExecutionContext, events: list, build_db) -> list:
    """Each table model's materialization with its row count (dagster/row_count), as the UI
    shows for any asset; views (staging) are not counted, which would re-read the raw files."""
    import duckdb

    with duckdb.connect(str(build_db), read_only=True) as con:
        tables = {
            (schema, name)
            for schema, name in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        }
        counted = []
        for event in events:
            if isinstance(event, dg.Output):
                key = context.asset_key_for_output(event.output_name).path
                if len(key) == 2 and tuple(key) in tables:
                    rows = con.execute(f"SELECT count(*) FROM {quote_identifier(key[0])}.{quote_identifier(key[1])}")
                    event = event.with_metadata({**event.metadata, "dagster/row_count": rows.fetchall()[0][0]})
            counted.append(event)
    return counted
