"""Publication: copy the gated build into the served warehouse atomically, with an audit row."""

from pathlib import Path

import dagster as dg
import duckdb

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform.resources import dbt_project
from orchestration.lib.publish.postgres import describe_database, publish_postgres
from orchestration.lib.publish.warehouse import publish, published_copy

PUBLICATION_KEY = dg.AssetKey(["warehouse", "education"])


def _check_evaluations(context: dg.AssetExecutionContext) -> list[dict]:
    records = context.instance.all_logs(context.run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    results = []
    for record in records:
        evaluation = record.dagster_event.event_specific_data
        results.append(
            {
                "check": evaluation.check_name,
                "asset": evaluation.asset_key.to_user_string(),
                "passed": bool(evaluation.passed),
                "description": evaluation.description,
            }
        )
    return sorted(results, key=lambda r: (r["asset"], r["check"]))


def _raw_files(build_db) -> list[dict]:
    with duckdb.connect(str(build_db), read_only=True) as con:
        rows = con.execute(
            "SELECT dataset, source_file, file_sha256, size_bytes, release, landed_seq, row_count, encoding, "
            "data_set_id, data_set_version, origin_url FROM raw.landed_files ORDER BY landed_seq"
        ).fetchall()
    keys = (
        "dataset",
        "source_file",
        "sha256",
        "size_bytes",
        "release",
        "landed_seq",
        "row_count",
        "encoding",
        "data_set_id",
        "data_set_version",
        "origin_url",
    )
    return [dict(zip(keys, row)) for row in rows]


def build_publication_asset(upstream: list[dg.AssetKey], gate_count: int) -> dg.AssetsDefinition:
    @dg.asset(
        key=PUBLICATION_KEY,
        deps=upstream,
        group_name="publish",
        kinds={"duckdb"},
        description="warehouse/education.duckdb: the marts BI tools read, swapped in only when every gate passed",
    )
    def publication(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        settings = warehouse.settings()
        evaluations = _check_evaluations(context)
        failed = [e for e in evaluations if not e["passed"]]
        if failed:
            raise dg.Failure("not published: gates failed: " + "; ".join(f"{e['asset']} {e['check']}" for e in failed))
        # Blocking checks only stop this step when they ran in this run; a publication is only
        # made from a run that evaluated every gate, never from a partial selection.
        if len(evaluations) < gate_count:
            raise dg.Failure(
                f"not published: only {len(evaluations)} of {gate_count} gates ran in this run; "
                "materialize the whole graph (job refresh_and_publish) to publish"
            )
        result = publish(
            settings.build_db,
            settings.published_db,
            context.run.run_id,
            _raw_files(settings.build_db),
            evaluations,
            str(settings.sources_file),
            settings.publication_parameters(),
            manifest_path=Path(dbt_project.manifest_path),
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(result.path)),
                "publication_id": result.publication_id,
                "gates_passed": len(evaluations),
                "table_count": len(result.tables),
                "tables": dg.MetadataValue.md(
                    "\n".join(
                        f"- `{t}`: {v['rows']:,} rows, checksum `{v['checksum'][:12]}`"
                        for t, v in result.tables.items()
                    )
                ),
            }
        )

    return publication


POSTGRES_KEY = dg.AssetKey(["warehouse", "postgres"])


@dg.asset(
    key=POSTGRES_KEY,
    deps=[PUBLICATION_KEY],
    group_name="publish",
    kinds={"postgres"},
    description="The publication in PostgreSQL (EDU_PUBLISH_POSTGRES_URL): the same marts and audit tables, "
    "keys and column comments, swapped in whole in one transaction after the DuckDB publication",
)
def postgres_publication(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
    settings = warehouse.settings()
    try:
        with published_copy(settings.published_db, settings.build_dir) as publication:
            result = publish_postgres(
                publication,
                settings.publish_postgres_url,
                Path(dbt_project.manifest_path),
                settings.publish_postgres_read_role or None,
            )
    except Exception as exc:
        # psycopg's messages never carry the password; the URL itself is never shown.
        raise dg.Failure(
            f"not published to PostgreSQL at {describe_database(settings.publish_postgres_url)}: {exc}; "
            "the previous PostgreSQL publication is unchanged (the DuckDB publication stands)"
        ) from exc
    context.log.info(f"published to PostgreSQL {result.database} in {result.seconds:.1f} s")
    return dg.MaterializeResult(
        metadata={
            "database": result.database,
            "seconds": result.seconds,
            "dagster/row_count": sum(result.tables.values()),
            "tables": dg.MetadataValue.md("\n".join(f"- `{t}`: {n:,} rows" for t, n in result.tables.items())),
        }
    )
