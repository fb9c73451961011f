"""dbt models as Dagster assets: staging -> intermediate -> marts, with dbt tests as blocking checks."""

import contextlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform import dbt_docs, warm_dbt
from orchestration.defs.transform.dbt_log import (
    RELATION_REPORT,
    DbtProgress,
    WithoutReports,
    dbt_errors,
    dbt_log,
    dbt_log_path,
    routed,
)
from orchestration.defs.transform.resources import dbt_project, dbt_vars
from orchestration.lib.errors import DbtBuildError
from orchestration.lib.sql import quote_identifier
from orchestration.lib.transform import column_lineage, invocations


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
    built = BuiltAsReported(context, settings.build_db)
    # earlier builds' target folders: this build's makes the newest KEEP
    invocations.prune(Path(dbt_project.project_dir) / "target", context.op.name, keep=invocations.KEEP - 1)
    # dbt's Python imported while the raw tables were gated, when the run did (warm_dbt.py)
    warm = warm_dbt.take(context)
    with _closed(context, warm), dbt_log(settings, f"dbt build, run {context.run.run_id}") as sink:
        if warm is not None:
            dbt = dbt.model_copy(update={"dbt_executable": str(warm.launcher)})
        progress.start("build")
        invocation = None
        try:
            with contextlib.redirect_stdout(sink):
                # --full-refresh: seeds are re-created, not truncated and refilled, so a seed
                # that gained columns (a new catalogue column) loads into a build database an
                # older version made. Every model is a table or view rebuilt anyway.
                # dbt's unit tests check the models' logic on fixed inputs, not the data: they
                # run in `make test` and CI (tests/test_dbt_project.py builds with them), as dbt
                # advises, not before each model of every refresh, where they were on the build's
                # critical path (int_measure_series_assigned, previous_compared, la_measure_ranked).
                invocation = dbt.cli(
                    ["build", "--full-refresh", "--exclude-resource-type", "unit_test", *dbt_vars(settings)],
                    context=context,
                )
            for raw in routed(invocation.stream_raw_events(), WithoutReports(sink)):
                for event in built.events_of(raw, invocation):
                    progress.see(event)
                    if built.ready(event, invocation):
                        yield built.with_metadata(event)
        except Exception as exc:
            yield from built.held_with_reported_rows()  # what was built before the failure is recorded as built
            said = dbt_errors(invocation.target_path if invocation is not None else None)
            progress.failed(exc, said)
            if said:
                raise DbtBuildError("dbt build failed: " + "; ".join(said)) from exc
            raise
    # the docs read the build while the marts are gated and published (defs/transform/dbt_docs.py)
    dbt_docs.start_with_the_build(context, settings)
    yield from _with_table_metadata(context, built, settings.build_db, invocation)
    progress.finish()


@contextlib.contextmanager
def _closed(context: dg.AssetExecutionContext, warm: warm_dbt.WarmDbt | None):
    """The warm dbt process, closed once dbt's output is read (or the step failed). A build that
    did not run in it ran as installed, only slower: said as a warning."""
    try:
        yield
    finally:
        if warm is not None:
            took = warm.took_the_command()
            warm.close()
            if not took:
                context.log.warning("dbt build did not run in the process that imported dbt ahead of it")


class BuiltAsReported:
    """Each model's materialization as dbt finishes it, while the build goes on: its row count
    and columns come from the model's own post-hook (macros/report_relation.sql), logged into dbt's
    event stream, because dbt holds the build database until it exits. Its column lineage comes from
    the lineage cache (lib/transform/column_lineage.py). Storing the build's ~700 Dagster events then
    overlaps dbt's work instead of following it. A model without a report, or whose lineage is not
    cached (its SQL or inputs changed), is held with its tests' results and finished from the build
    database once dbt has exited (_with_table_metadata): its tests must follow its materialization,
    which they are evaluated against."""

    def __init__(self, context: dg.AssetExecutionContext, build_db: Path):
        self.context = context
        # dbt's sources are the raw tables, there before dbt starts: their columns, for lineage
        self.columns = _relation_columns(build_db)
        self.rows: dict[str, int] = {}
        self.cache = column_lineage.read_cache(_lineage_cache_path())
        self.held: list = []
        self._held_keys: set[dg.AssetKey] = set()
        self._held_ids: set[str] = set()
        self._ready: dict[str, dict] = {}  # unique_id -> the metadata its Output was yielded with

    def events_of(self, raw, invocation) -> list:
        """The Dagster events of one dbt event; a relation's report is taken in and yields none."""
        info = raw.raw_event.get("info", {})
        if info.get("name") == "JinjaLogInfo" and str(info.get("msg", "")).startswith(RELATION_REPORT):
            try:
                unique_id = raw.raw_event["data"]["node_info"]["unique_id"]
                relation = column_lineage.relation_of(invocation.manifest["nodes"][unique_id])
                report = json.loads(info["msg"][len(RELATION_REPORT) :])
                columns, rows = {name: kind for name, kind in report["columns"]}, int(report["rows"])
            except (KeyError, TypeError, ValueError) as exc:  # its model is then finished when dbt exits
                self.context.log.debug(f"a relation report was not read ({type(exc).__name__}: {exc})")
                return []
            self.columns[relation], self.rows[unique_id] = columns, rows
            return []
        return list(
            raw.to_default_asset_events(
                manifest=invocation.manifest,
                dagster_dbt_translator=invocation.dagster_dbt_translator,
                context=self.context,
                target_path=invocation.target_path,
                project=invocation.project,
            )
        )

    def ready(self, event, invocation) -> bool:
        """Whether ``event`` can be yielded now; if not, it is held."""
        if isinstance(event, dg.Output) and (unique_id := _unique_id(event)):
            metadata = self._metadata_now(unique_id, invocation)
            if metadata is not None:
                self._ready[unique_id] = metadata
                return True
            self._held_keys.add(self.context.asset_key_for_output(event.output_name))
            self._held_ids.add(unique_id)
        elif not isinstance(event, dg.AssetCheckResult) or event.asset_key not in self._held_keys:
            return True
        self.held.append(event)
        return False

    def _metadata_now(self, unique_id: str, invocation) -> dict | None:
        """The row count and column lineage of a model dbt has just built, or None to hold it: no
        report, lineage not cached, or a parent held (Dagster takes a multi-asset's outputs only
        in dependency order)."""
        parents = invocation.manifest["nodes"].get(unique_id, {}).get("depends_on", {}).get("nodes", [])
        if unique_id not in self.rows or self._held_ids.intersection(parents):
            return None
        try:
            lineage = column_lineage.cached_lineage(
                invocation.manifest, Path(invocation.target_path), self.columns, unique_id, self.cache
            )
            if lineage is None:
                return None
            metadata = {"dagster/row_count": self.rows[unique_id]}
            if lineage:
                metadata["dagster/column_lineage"] = _lineage_metadata(invocation.manifest, lineage)
            return metadata
        except Exception as exc:  # noqa: BLE001 - lineage is documentation: the model is finished when dbt exits
            self.context.log.debug(f"{unique_id} is finished when dbt exits: {type(exc).__name__}: {exc}")
            return None

    def with_metadata(self, event):
        """A ready model's Output with its reported row count and cached column lineage."""
        metadata = self._ready.get(_unique_id(event))
        return event.with_metadata({**event.metadata, **metadata}) if metadata else event

    def held_with_reported_rows(self) -> list:
        """The held events, each model's with the row count its post-hook reported."""
        return [
            e.with_metadata({**e.metadata, "dagster/row_count": self.rows[uid]})
            if (uid := _unique_id(e)) in self.rows
            else e
            for e in self.held
        ]

    def served(self) -> list[str]:
        """The models materialized as dbt built them, their lineage read from the cache."""
        return list(self._ready)


def _relation_columns(build_db) -> dict[tuple[str, str], dict[str, str]]:
    """(schema, relation) -> {column: data type} of every table and view in the build database
    (none before the first build)."""
    import duckdb

    if not Path(build_db).exists():
        return {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        return _columns_of(con)


def _columns_of(con) -> dict[tuple[str, str], dict[str, str]]:
    columns: dict[tuple[str, str], dict[str, str]] = {}
    for schema, name, column, data_type in con.execute(
        "SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() ORDER BY schema_name, table_name, column_index"
    ).fetchall():
        columns.setdefault((schema, name), {})[column] = data_type
    return columns


def _lineage_cache_path() -> Path:
    return Path(dbt_project.project_dir) / "target" / column_lineage.CACHE_FILE


def _with_table_metadata(context: dg.AssetExecutionContext, built: BuiltAsReported, build_db, invocation) -> list:
    """The held models' materializations (BuiltAsReported) with their row count
    (``dagster/row_count``, as reported, else counted) and column lineage
    (``dagster/column_lineage``), read from the build database once dbt has released it. Staging
    views are counted too: they read the raw tables already in the build database, one row per
    source row."""
    import duckdb

    events = built.held_with_reported_rows()
    if not events:
        return []
    with duckdb.connect(str(build_db), read_only=True) as con:
        columns = _columns_of(con)  # every relation of the build, for the lineage below
        outputs = []
        for event in events:
            key = context.asset_key_for_output(event.output_name).path if isinstance(event, dg.Output) else None
            if key and len(key) == 2 and tuple(key) in columns and "dagster/row_count" not in event.metadata:
                rows = con.execute(f"SELECT count(*) FROM {quote_identifier(key[0])}.{quote_identifier(key[1])}")
                event = event.with_metadata({**event.metadata, "dagster/row_count": rows.fetchall()[0][0]})
            outputs.append(event)
    try:
        return _with_column_lineage(context, outputs, columns, invocation, keep=built.served())
    except Exception as exc:  # noqa: BLE001 - lineage is documentation: it never fails a good build
        context.log.warning(f"column lineage left out of this run: {type(exc).__name__}: {exc}")
        return outputs


def _with_column_lineage(
    context: dg.AssetExecutionContext, events: list, columns: dict, invocation, keep: list[str]
) -> list:
    manifest = invocation.manifest
    built = [_unique_id(event) for event in events]
    models = [uid for uid in built if uid and manifest["nodes"].get(uid, {}).get("resource_type") == "model"]
    lineage = column_lineage.column_lineage(
        manifest,
        Path(invocation.target_path),
        columns,
        models,
        cache_path=_lineage_cache_path(),
        keep=keep,
        on_skip=lambda uid, why: context.log.debug(f"no column lineage for {uid}: {why}"),
    )
    out = []
    for event in events:
        uid = _unique_id(event)
        if uid in lineage:
            event = event.with_metadata(
                {**event.metadata, "dagster/column_lineage": _lineage_metadata(manifest, lineage[uid])}
            )
        out.append(event)
    return out


def _lineage_metadata(manifest: Mapping[str, Any], deps: dict) -> dg.TableColumnLineage:
    """A model's lineage (column -> [(parent unique_id, parent column)]) as the UI shows it."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [
                dg.TableColumnDep(asset_key=asset_key_of(_node(manifest, parent)), column_name=parent_column)
                for parent, parent_column in parents
            ]
            for column, parents in deps.items()
        }
    )


def _unique_id(event) -> str | None:
    if isinstance(event, dg.Output) and "unique_id" in event.metadata:
        return str(event.metadata["unique_id"].value)
    return None


def _node(manifest: Mapping[str, Any], unique_id: str) -> Mapping[str, Any]:
    return manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
