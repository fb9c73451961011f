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
        return spec.replace_attributes(key=key, group_name=group)

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
        try:
            with contextlib.redirect_stdout(sink):
                # --full-refresh: seeds are re-created, not truncated and refilled, so a seed
                # that gained columns (a new catalogue column) loads into a build database an
                # older version made. Every model is a table or view rebuilt anyway.
                invocation = dbt.cli(["build", "--full-refresh", *dbt_vars(settings)], context=context)
            for event in routed(invocation.stream(), sink):
                progress.see(event)
                yield event
        except Exception as exc:
            said = dbt_errors(invocation.target_path if invocation is not None else None)
            progress.failed(exc, said)
            if said:
                raise DbtBuildError("dbt build failed: " + "; ".join(said)) from exc
            raise
    progress.finish()
