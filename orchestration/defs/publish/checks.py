"""Is the termly publication late? A freshness check on the publication, evaluated by its own
sensor in the Dagster UI (`make dev`): it warns when nothing was published in the
EDU_PUBLICATION_WINDOW_DAYS before the latest EDU_PUBLICATION_DEADLINE_CRON tick (by default a
week after each termly run is scheduled)."""

from __future__ import annotations

import warnings
from datetime import timedelta

import dagster as dg

from orchestration.defs.publish.assets import PUBLICATION_KEY
from orchestration.lib.settings import load_settings

FRESHNESS_SENSOR_NAME = "publication_freshness_sensor"


# Dagster marks freshness checks as superseded by FreshnessPolicy, which is still a preview that
# needs an instance flag and cannot be evaluated in a test; the checks are stable and testable.
def publication_freshness_checks() -> list[dg.AssetChecksDefinition]:
    settings = load_settings()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return _freshness_checks(settings)


def _freshness_checks(settings) -> list[dg.AssetChecksDefinition]:
    return list(
        dg.build_last_update_freshness_checks(
            assets=[PUBLICATION_KEY],
            lower_bound_delta=timedelta(days=settings.publication_window_days),
            deadline_cron=settings.publication_deadline_cron,
            timezone="Europe/London",
            severity=dg.AssetCheckSeverity.WARN,
        )
    )


def publication_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    # Running by default: it reads only this instance's own records, and a late publication
    # must show without anyone switching it on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return dg.build_sensor_for_freshness_checks(
            freshness_checks=checks, name=FRESHNESS_SENSOR_NAME, default_status=dg.DefaultSensorStatus.RUNNING
        )
