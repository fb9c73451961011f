"""New-release sensor: polls the EES API for new versions of every ``ees_api:`` data set and starts
the refresh when DfE publishes one.

- Stopped by default, so ``make dev`` calls no one until it is switched on in the UI
  (Automation > ees_new_version_sensor). It polls at most every ``EDU_SENSOR_INTERVAL_SECONDS``
  (default 3600).
- Cursor: per data set id, every version the API listed when last asked.
- First tick for a data set (no cursor entry): records what is there as the baseline and starts no
  run. The data already published is what ``make run`` and the termly schedule build; switching
  the sensor on does not trigger a refresh by itself.
- A newly *published* version that an entry's version rule selects (``2.*`` or ``*``) starts one
  ``refresh_and_publish`` run, tagged with the dataset, data set id and version, which resolves
  those datasets again (tag ``edu/update_sources``) and rewrites sources.lock. A version the rule
  does not select (an exact pin, or 3.0 for ``2.*``) is only logged. The run key is the data set
  id and version, so the same version never starts a second run even if the cursor is reset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import dagster as dg

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.publish.schedules import refresh_and_publish
from orchestration.lib.ingest.load import UPDATE_SOURCES_TAG
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import EesApiSource, read_sources_config
from orchestration.lib.sources.downloads import RemoteSourceError, RetryPolicy
from orchestration.lib.sources.ees_api import PUBLISHED, EesApiClient, VersionSpec

SENSOR_NAME = "ees_new_version_sensor"
# A tick should finish well inside Dagster's sensor timeout: fewer, shorter retries than a run.
SENSOR_RETRY_POLICY = RetryPolicy(max_retries=2, backoff_seconds=2.0, max_retry_after_seconds=20.0, read_timeout=30.0)


def sensor_interval_seconds() -> int:
    """EDU_SENSOR_INTERVAL_SECONDS (default 3600, at least 30), validated by the settings."""
    return load_settings().sensor_interval_seconds


@dataclass
class Tick:
    cursor: dict[str, list[str]]
    new: list[tuple[EesApiSource, str]] = field(default_factory=list)  # (source, version) to refresh
    messages: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def check_for_new_versions(sources: list[EesApiSource], cursor: dict[str, list[str]], client: EesApiClient) -> Tick:
    """Compare what the API lists now with the cursor; the pure part of the sensor."""
    tick = Tick(cursor=dict(cursor))
    by_id: dict[str, list[EesApiSource]] = {}
    for source in sources:
        by_id.setdefault(source.data_set_id, []).append(source)
    for data_set_id, entries in by_id.items():
        try:
            versions = client.list_versions(data_set_id)
        except RemoteSourceError as exc:
            tick.errors.append(f"{data_set_id}: {exc}")
            continue  # its cursor entry stays as it was, so nothing is missed
        listed = sorted({v.version for v in versions}, key=lambda v: tuple(int(p) for p in v.split(".")))
        if data_set_id not in cursor:
            tick.cursor[data_set_id] = listed
            tick.messages.append(f"{data_set_id}: baseline recorded ({', '.join(listed) or 'no versions'})")
            continue
        seen = set(cursor[data_set_id])
        fresh = [v for v in versions if v.status == PUBLISHED and v.version not in seen]
        tick.cursor[data_set_id] = sorted(seen | set(listed), key=lambda v: tuple(int(p) for p in v.split(".")))
        if not fresh:
            continue
        for source in entries:
            spec = VersionSpec.parse(source.version)
            selected = [v for v in fresh if spec.wildcard and spec.matches(v.version)]
            if selected:
                latest = max(selected, key=lambda v: v.key)
                tick.new.append((source, latest.version))
                tick.messages.append(f"{source.dataset}: data set {data_set_id} published version {latest.version}")
            else:
                tick.messages.append(
                    f"{source.dataset}: data set {data_set_id} published {', '.join(v.version for v in fresh)}, which "
                    f"sources.yml's version '{source.version}' does not select; change it there to use it"
                )
    return tick


def run_request_for(new: list[tuple[EesApiSource, str]]) -> dg.RunRequest:
    datasets = sorted({source.dataset for source, _ in new})
    pairs = sorted({(source.data_set_id, version) for source, version in new})
    return dg.RunRequest(
        run_key="ees:" + ";".join(f"{i}@{v}" for i, v in pairs),
        tags={
            "edu/trigger": SENSOR_NAME,
            "edu/dataset": ",".join(datasets),
            "edu/data_set_id": ",".join(i for i, _ in pairs),
            "edu/data_set_version": ",".join(v for _, v in pairs),
            UPDATE_SOURCES_TAG: ",".join(datasets),
        },
    )


def build_ees_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name=SENSOR_NAME,
        job=refresh_and_publish,
        minimum_interval_seconds=sensor_interval_seconds(),
        default_status=dg.DefaultSensorStatus.STOPPED,
        description=(
            "Starts refresh_and_publish when DfE publishes a new version of an ees_api: data set in "
            "sources.yml (polls the EES API; EDU_EES_API_URL, EDU_SENSOR_INTERVAL_SECONDS)"
        ),
    )
    def ees_new_version_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
        settings = warehouse.settings()
        sources = [s for s in read_sources_config(settings.sources_file).remote if isinstance(s, EesApiSource)]
        if not sources:
            return dg.SkipReason(f"{settings.sources_file} has no ees_api: source to watch")
        cursor = json.loads(context.cursor) if context.cursor else {}
        tick = check_for_new_versions(sources, cursor, EesApiClient(policy=SENSOR_RETRY_POLICY, log=context.log))
        for message in tick.messages:
            context.log.info(message)
        for error in tick.errors:
            context.log.warning(error)
        new_cursor = json.dumps(tick.cursor, sort_keys=True)
        if tick.new:
            return dg.SensorResult(run_requests=[run_request_for(tick.new)], cursor=new_cursor)
        reason = "; ".join(tick.errors) if tick.errors else "no new published version"
        return dg.SensorResult(skip_reason=reason, cursor=new_cursor)

    return ees_new_version_sensor
