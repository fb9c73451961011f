"""Termly refresh: by default at 06:00 on the first day of each school term (Sept, Jan, April)."""

import dagster as dg

from orchestration.lib.settings import load_settings

REFRESH_JOB_NAME = "refresh_and_publish"

refresh_and_publish = dg.define_asset_job(
    REFRESH_JOB_NAME,
    selection=dg.AssetSelection.all(),
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
