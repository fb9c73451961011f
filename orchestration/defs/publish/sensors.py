"""The run-failure alert for runs started in the Dagster UI or by the termly schedule: the failed
gates and steps, posted to EDU_ALERT_WEBHOOK_URL and appended to the alerts log
(orchestration/lib/alerts.py). `make run` alerts for its own runs (tagged), so none is sent twice."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.publish.schedules import REFRESH_JOB_NAME, refresh_and_publish
from orchestration.lib import run_summary
from orchestration.lib.alerts import ALERTED_TAG, deliver, failure_alert
from orchestration.lib.settings import load_settings

ALERT_SENSOR_NAME = "run_failure_alert"


@dg.run_failure_sensor(
    name=ALERT_SENSOR_NAME,
    monitored_jobs=[refresh_and_publish],
    # Running by default: it only reads this instance's own runs, and a failed termly run must
    # never go unnoticed because nobody switched it on.
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts a failed run's gates and steps to EDU_ALERT_WEBHOOK_URL (Teams or Slack) and appends "
    "them to warehouse/build/logs/alerts.log",
)
def run_failure_alert(context: dg.RunFailureSensorContext) -> dg.SkipReason | None:
    run = context.dagster_run
    if ALERTED_TAG in (run.tags or {}):
        return dg.SkipReason(f"run {run.run_id[:8]} was alerted by {run.tags[ALERTED_TAG]}")
    settings = load_settings()
    facts = run_summary.collect(context.instance.all_logs(run.run_id))
    alert = failure_alert(facts, run.run_id, run.job_name or REFRESH_JOB_NAME)
    problems = deliver(alert, settings)
    for problem in problems:
        context.log.warning(problem)
    context.log.info(f"alert for run {run.run_id[:8]} written to {settings.log_dir / 'alerts.log'}")
    return None
