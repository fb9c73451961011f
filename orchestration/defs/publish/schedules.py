"""Termly refresh: by default at 06:00 on the first day of each school term (Sept, Jan, April)."""

import dagster as dg

from orchestration.lib.settings import load_settings

REFRESH_JOB_NAME = "refresh_and_publish"
# The name dg.build_last_update_freshness_checks gives its check (tests/test_alerts.py checks it).
FRESHNESS_CHECK_KEY = dg.AssetCheckKey(dg.AssetKey(["warehouse", "education"]), "freshness_check")

refresh_and_publish = dg.define_asset_job(
    REFRESH_JOB_NAME,
    # Every asset and gate; not the freshness check, which asks whether a run happened on time
    # and is evaluated by its own sensor (defs/publish/checks.py).
    selection=dg.AssetSelection.all() - dg.AssetSelection.checks(FRESHNESS_CHECK_KEY),
    description="Land every source, build all models, run every gate, publish if all pass",
)


def termly_schedule() -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="termly_refresh",
        job=refresh_and_publish,
        cron_schedule=load_settings().term_cron,  # EDU_TERM_CRON
        execution_timezone="Europe/London",
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description="Full refresh at the start of each school term (EDU_TERM_CRON)",
    )
