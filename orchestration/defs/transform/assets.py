"""dbt models as Dagster assets: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import contextlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform.dbt_log import DbtProgress, dbt_errors, dbt_log, dbt_log_path, routed
from orchestration.defs.transform.resources import dbt_project, dbt_vars
from orchestration.lib.errors import DbtBuildError
from orchestration.lib.sql import quote_identifier
from orchestration.lib.transform import column_lineage


def asset_key_of(node: Mapping[str, Any]) -> dg.AssetKey | None:
    """The asset key of a dbt source (the raw table the ingest asset writes) or model/seed."""
    if node.get("resource_type") == "source":
        return dg.AssetKey(["raw", node["name"]])
    if node.get("resource_type") in ("model", "seed", "snapshot"):
        schema = (node.get("config") or {}).get("schema") or node.get("schema") or "main"
        return dg.AssetKey([schema, node["name"]])
    return None


class EducationDbtTranslator(DagsterDbtTranslator):
    """Models are keyed by schema (``marts/fct_la_measure``); dbt sources by the raw table the
    ingest asset writes (``raw/ks2``), which joins ingest and dbt into one asset graph."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["sources"].get(unique_id) or manifest["nodes"].get(unique_id) or {}
        key = asset_key_of(node)
        if key is None:
            return spec
        group = (
            "reference"
            if node.get("resource_type") == "seed"
            else (key.path[0] if node.get("resource_type") != "source" else "ingest")
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
    yield from _with_table_metadata(context, events, settings.build_db, invocation)
    progress.finish()


def _with_table_metadata(context: dg.AssetExecutionContext, events: list, build_db, invocation) -> list:
    """Each model's materialization with its row count (``dagster/row_count``) and column lineage
    (``dagster/column_lineage``), as the UI shows for any asset. Both are read from the build
    database once dbt has released it. Staging views are counted too: they read the raw tables
    already in the build database, one row per source row."""
    import duckdb

    with duckdb.connect(str(build_db), read_only=True) as con:
        # every table and view of the build, with its columns (for the lineage below)
        columns: dict[tuple[str, str], dict[str, str]] = {}
        for schema, name, column, data_type in con.execute(
            "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
            "WHERE database_name = current_database() ORDER BY schema_name, table_name, column_index"
        ).fetchall():
            columns.setdefault((schema, name), {})[column] = data_type
        outputs = []
        for event in events:
            key = context.asset_key_for_output(event.output_name).path if isinstance(event, dg.Output) else None
            if key and len(key) == 2 and tuple(key) in columns:
                rows = con.execute(f"SELECT count(*) FROM {quote_identifier(key[0])}.{quote_identifier(key[1])}")
                event = event.with_metadata({**event.metadata, "dagster/row_count": rows.fetchall()[0][0]})
            outputs.append(event)
    try:
        return _with_column_lineage(context, outputs, columns, invocation)
    except Exception as exc:  # noqa: BLE001 - lineage is documentation: it never fails a good build
        context.log.warning(f"column lineage left out of this run: {type(exc).__name__}: {exc}")
        return outputs


def _with_column_lineage(context: dg.AssetExecutionContext, events: list, columns: dict, invocation) -> list:
    manifest = invocation.manifest
    built = [_unique_id(event) for event in events]
    models = [uid for uid in built if uid and manifest["nodes"].get(uid, {}).get("resource_type") == "model"]
    lineage = column_lineage.column_lineage(
        manifest,
        Path(invocation.target_path),
        columns,
        models,
        cache_path=Path(dbt_project.project_dir) / "target" / column_lineage.CACHE_FILE,
        on_skip=lambda uid, why: context.log.debug(f"no column lineage for {uid}: {why}"),
    )
    keyed = {}
    for uid, deps in lineage.items():
        keyed[uid] = dg.TableColumnLineage(
            deps_by_column={
                column: [
                    dg.TableColumnDep(asset_key=asset_key_of(_node(manifest, parent)), column_name=parent_column)
                    for parent, parent_column in parents
                ]
                for column, parents in deps.items()
            }
        )
    out = []
    for event in events:
        uid = _unique_id(event)
        if uid in keyed:
            event = event.with_metadata({**event.metadata, "dagster/column_lineage": keyed[uid]})
        out.append(event)
    return out


def _unique_id(event) -> str | None:
    if isinstance(event, dg.Output) and "unique_id" in event.metadata:
        return str(event.metadata["unique_id"].value)
    return None


def _node(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any]:
    return manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
