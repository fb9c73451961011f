"""The new-release sensor, ticked with dg.build_sensor_context against the loopback mock: baseline
on the first tick, exactly one run per newly published version, never twice."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.ingest.sensors import SENSOR_NAME, build_ees_sensor, sensor_interval_seconds
from orchestration.defs.publish.schedules import REFRESH_JOB_NAME
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.load import UPDATE_SOURCES_TAG, parse_update_tag
from tests.ees_mock_server import KS2_DATA_SET_ID, KS2_META, KS4_DATA_SET_ID, ks2_csv

MISSING_ID = "ffffffff-0000-4000-8000-000000000000"


@pytest.fixture
def watched(tmp_path, ees_api):
    ees_api.publish(KS2_DATA_SET_ID, "1.0", ks2_csv("202324", "Final", "61"), meta=KS2_META)
    ees_api.publish(KS4_DATA_SET_ID, "1.0", ks2_csv("202324", "Final", "44"), meta=KS2_META)
    sources = tmp_path / "sources.yml"
    sources.write_text(
        "datasets:\n"
        f"  ks2: {{ees_api: {{data_set_id: {KS2_DATA_SET_ID}, version: '1.*'}}}}\n"
        f"  ks4: {{ees_api: {{data_set_id: {KS4_DATA_SET_ID}, version: '1.0'}}}}\n"
    )
    return sources


def tick(sources, cursor: str | None):
    sensor = build_ees_sensor()
    # a context manager, as the daemon opens it: the warehouse resource has a run-scoped lock
    # (taken only inside a run, never by a sensor)
    with dg.build_sensor_context(
        cursor=cursor, sensor_name=SENSOR_NAME, resources={"warehouse": WarehouseResource(sources_file=str(sources))}
    ) as context:
        return sensor.evaluate_tick(context)


def test_sensor_is_stopped_by_default_and_targets_the_refresh_job(monkeypatch):
    monkeypatch.delenv("EDU_SENSOR_INTERVAL_SECONDS", raising=False)
    sensor = build_ees_sensor()
    assert sensor.default_status == dg.DefaultSensorStatus.STOPPED  # `make dev` polls no one until switched on
    assert sensor.job_name == REFRESH_JOB_NAME and sensor.minimum_interval_seconds == 3600
    monkeypatch.setenv("EDU_SENSOR_INTERVAL_SECONDS", "600")
    assert build_ees_sensor().minimum_interval_seconds == 600
    monkeypatch.setenv("EDU_SENSOR_INTERVAL_SECONDS", "soon")
    with pytest.raises(PipelineInputError, match="EDU_SENSOR_INTERVAL_SECONDS"):
        sensor_interval_seconds()


def test_sensor_is_in_the_code_location():
    pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")
    from orchestration.definitions import defs

    assert SENSOR_NAME in {s.name for s in defs.sensors}
    assert "termly_refresh" in {s.name for s in defs.schedules}


def test_first_tick_records_a_baseline_and_starts_nothing(watched, ees_api):
    result = tick(watched, None)
    assert result.run_requests == []
    assert json.loads(result.cursor) == {KS2_DATA_SET_ID: ["1.0"], KS4_DATA_SET_ID: ["1.0"]}
    assert all("/versions" in r for r in ees_api.requests)  # it only lists versions: no download


def test_a_new_version_fires_exactly_once(watched, ees_api):
    cursor = tick(watched, None).cursor
    quiet = tick(watched, cursor)
    assert quiet.run_requests == [] and quiet.cursor == cursor and "no new published version" in quiet.skip_message

    ees_api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Final", "62"), meta=KS2_META)  # between two ticks
    fired = tick(watched, cursor)
    (request,) = fired.run_requests
    assert request.job_name in (None, REFRESH_JOB_NAME)
    assert request.run_key == f"ees:{KS2_DATA_SET_ID}@1.1"
    assert request.tags["edu/dataset"] == "ks2"
    assert request.tags["edu/data_set_id"] == KS2_DATA_SET_ID and request.tags["edu/data_set_version"] == "1.1"
    assert parse_update_tag(request.tags[UPDATE_SOURCES_TAG]) == {"ks2"}  # the run resolves ks2 again

    after = tick(watched, fired.cursor)
    assert after.run_requests == []  # the same version never fires twice
    assert tick(watched, after.cursor).run_requests == []


def test_versions_the_rule_does_not_select_start_nothing(watched, ees_api):
    cursor = tick(watched, None).cursor
    ees_api.publish(KS2_DATA_SET_ID, "2.0", ks2_csv("202425", "Final", "63"), meta=KS2_META)  # '1.*' does not take 2.0
    ees_api.publish(KS4_DATA_SET_ID, "1.1", ks2_csv("202425", "Final", "45"), meta=KS2_META)  # ks4 is pinned to 1.0
    result = tick(watched, cursor)
    assert result.run_requests == []
    assert json.loads(result.cursor)[KS2_DATA_SET_ID] == ["1.0", "2.0"]


def test_deprecated_or_withdrawn_versions_start_nothing(watched, ees_api):
    cursor = tick(watched, None).cursor
    ees_api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Final", "62"), meta=KS2_META, status="Withdrawn")
    assert tick(watched, cursor).run_requests == []


def test_an_unreachable_data_set_keeps_its_cursor_and_the_rest_still_work(watched, ees_api, tmp_path):
    sources = tmp_path / "more.yml"
    sources.write_text(watched.read_text() + f"  phonics: {{ees_api: {{data_set_id: {MISSING_ID}, version: '*'}}}}\n")
    cursor = tick(sources, None).cursor
    assert MISSING_ID not in json.loads(cursor)
    ees_api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Final", "62"), meta=KS2_META)
    result = tick(sources, cursor)
    assert [r.tags["edu/data_set_version"] for r in result.run_requests] == ["1.1"]


def test_no_ees_api_source_nothing_to_watch(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    sources = tmp_path / "sources.yml"
    sources.write_text("datasets:\n  ks2: {files: [a.csv]}\n")
    result = tick(sources, None)
    assert result.run_requests == [] and "no ees_api: source" in result.skip_message
