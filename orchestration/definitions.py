"""The Dagster code location: assembles the stages in orchestration/defs/ into one asset graph
(raw files -> dbt models -> gates -> publication). Nothing here does work at import time beyond
reading the dbt manifest, which `make run` / `make dev` prepare first."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.console import progress_console
from orchestration.defs.gates.checks import mart_checks
from orchestration.defs.ingest.assets import ingest_raw_files
from orchestration.defs.ingest.checks import raw_checks
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.ingest.sensors import build_ees_sensor
from orchestration.defs.outputs.assets import output_assets
from orchestration.defs.publish.assets import build_publication_asset, postgres_publication
from orchestration.defs.publish.checks import publication_freshness_checks, publication_freshness_sensor
from orchestration.defs.publish.schedules import refresh_and_publish, termly_schedule
from orchestration.defs.publish.sensors import run_failure_alert
from orchestration.defs.transform.assets import dbt_models
from orchestration.defs.transform.resources import dbt_resource
from orchestration.lib.env_file import load_env_file
from orchestration.lib.settings import REPO_ROOT, load_settings

# The stage an asset belongs to, from the first part of its key, as a tag the UI can filter on.
STAGES = {
    "raw": "ingest",
    "reference": "transform",
    "staging": "transform",
    "intermediate": "transform",
    "marts": "transform",
    "warehouse": "publish",
    "outputs": "outputs",
}


def _owned_and_tagged(spec: dg.AssetSpec, owners: tuple[str, ...]) -> dg.AssetSpec:
    return spec.merge_attributes(
        owners=[o for o in owners if o not in spec.owners],
        tags={"domain": "education", "stage": STAGES.get(spec.key.path[0], "other")},
    )


def build_definitions() -> dg.Definitions:
    load_env_file(REPO_ROOT)  # the same .env, read the same way, as `make run` (orchestration/cli.py)
    mart_keys = sorted((k for k in dbt_models.keys if k.path[0] == "marts"), key=lambda k: k.path)
    checks = raw_checks() + mart_checks([k.path[-1] for k in mart_keys])
    gate_count = len(dbt_models.check_keys) + sum(len(c.check_keys) for c in checks)
    publication = build_publication_asset(mart_keys, gate_count)
    # PostgreSQL is an optional second target: its asset exists only when a database is named.
    settings = load_settings()
    postgres = [postgres_publication] if settings.publish_postgres_url else []
    freshness = publication_freshness_checks()
    assets = dg.map_asset_specs(
        lambda spec: _owned_and_tagged(spec, settings.asset_owners),
        [ingest_raw_files, dbt_models, publication, *postgres, *output_assets],
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=[*checks, *freshness],
        jobs=[refresh_and_publish],
        schedules=[termly_schedule()],
        sensors=[build_ees_sensor(), run_failure_alert, publication_freshness_sensor(freshness)],
        resources={"warehouse": WarehouseResource(), "dbt": dbt_resource(settings)},
        executor=dg.in_process_executor,
        # The console shows the pipeline's progress, not every Dagster event (EDU_LOG_LEVEL).
        loggers={"console": progress_console},
    )


defs = build_definitions()
