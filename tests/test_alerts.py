"""Failure alerts: the message names the failed gates and steps, reaches a loopback webhook (as
Teams or Slack would receive it) and the alerts log, and never leaks the webhook's token."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.lib.alerts import ALERTED_TAG, ALERTS_LOG, deliver, failure_alert
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.run_summary import Gate, RunFacts, StepFailure
from orchestration.lib.settings import load_settings


def _facts(gates: int = 1) -> RunFacts:
    facts = RunFacts()
    facts.gates = [
        Gate(
            "raw/ks2",
            f"gx_raw_ks2_{n}",
            "raw",
            False,
            f"raw_ks2: 2 of 20 expectations failed\nks2.csv line {40 + n}: percentage within 0-100 (140)\nmore",
        )
        for n in range(gates)
    ] + [Gate("marts/x", "ok", "mart", True, "fine")]
    facts.failed_steps = [StepFailure("dbt_models", "DbtBuildError: dbt build failed: seed x\ntraceback...")]
    return facts


@pytest.fixture
def settings(tmp_path, monkeypatch, webhook):
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDU_ALERT_WEBHOOK_URL", webhook.url)
    return load_settings()


def test_the_alert_names_every_failed_gate_and_step(settings, webhook):
    alert = failure_alert(_facts(), "abcdef12-run", "refresh_and_publish", "/srv/run_report.txt")
    assert deliver(alert, settings) == []
    body = webhook.posts[0]["body"]
    assert body["failed_gates"] == [
        {
            "asset": "raw/ks2",
            "check": "gx_raw_ks2_0",
            "description": "raw_ks2: 2 of 20 expectations failed | ks2.csv line 40: percentage within 0-100 (140) | more",
        }
    ]
    assert body["failed_steps"] == [{"step": "dbt_models", "message": "DbtBuildError: dbt build failed: seed x"}]
    assert (
        body["text"]
        .splitlines()[0]
        .startswith("Education outcomes pipeline: run abcdef12 of refresh_and_publish FAILED")
    )
    assert (
        "- raw/ks2 / gx_raw_ks2_0: raw_ks2: 2 of 20" in body["text"] and "In full: /srv/run_report.txt" in body["text"]
    )
    assert body["text"] in (settings.log_dir / ALERTS_LOG).read_text(encoding="utf-8")


def test_a_long_list_is_cut_for_the_phone_but_counted(settings, webhook):
    deliver(failure_alert(_facts(gates=25), "run-2", "refresh_and_publish"), settings)
    text = webhook.posts[0]["body"]["text"]
    assert text.count("- raw/ks2 / ") == 10 and "... and 15 more" in text
    assert len(webhook.posts[0]["body"]["failed_gates"]) == 25  # the structured list is whole


@pytest.mark.parametrize("status", [404, 500])
def test_a_webhook_that_refuses_is_reported_and_the_log_still_has_the_alert(settings, webhook, status):
    webhook.status = status
    problems = deliver(failure_alert(_facts(), "run-3", "refresh_and_publish"), settings)
    assert problems == [f"the alert webhook answered HTTP {status}"]
    log = (settings.log_dir / ALERTS_LOG).read_text(encoding="utf-8")
    assert "gx_raw_ks2_0" in log and f"not posted: the alert webhook answered HTTP {status}" in log


def test_a_webhook_that_is_down_never_shows_its_token(tmp_path, monkeypatch):
    import socket

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDU_ALERT_WEBHOOK_URL", f"http://127.0.0.1:{port}/hook/token-SECRET123")
    settings = load_settings()
    problems = deliver(failure_alert(_facts(), "run-4", "refresh_and_publish"), settings)
    assert problems == ["the alert webhook could not be reached (ConnectionError)"]
    assert "SECRET123" not in (settings.log_dir / ALERTS_LOG).read_text(encoding="utf-8")
    assert "SECRET123" not in repr(settings)


@pytest.mark.parametrize("url", ["ftp://h/x", "teams.example/hook", "javascript:alert(1)"])
def test_a_bad_webhook_address_is_refused_without_echoing_it(url, monkeypatch):
    monkeypatch.setenv("EDU_ALERT_WEBHOOK_URL", url)
    with pytest.raises(PipelineInputError, match="EDU_ALERT_WEBHOOK_URL") as refused:
        load_settings()
    assert url not in str(refused.value)


def _failed_run(instance: dg.DagsterInstance, tags: dict | None = None):
    @dg.asset
    def gate_that_fails():
        raise dg.Failure("not published: gates failed: raw/ks2 gx_raw_ks2")

    job = dg.define_asset_job("refresh_and_publish", selection=[gate_that_fails])
    defs = dg.Definitions(assets=[gate_that_fails], jobs=[job])
    result = defs.resolve_job_def("refresh_and_publish").execute_in_process(
        instance=instance, raise_on_error=False, tags=tags or {}
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        r.dagster_event for r in instance.all_logs(result.run_id) if r.dagster_event and r.dagster_event.is_run_failure
    )
    return run, failure


def test_the_sensor_alerts_for_a_run_started_in_the_ui(settings, webhook):
    from orchestration.defs.publish.sensors import run_failure_alert

    with dg.instance_for_test() as instance:
        run, failure = _failed_run(instance)
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=run, dagster_event=failure
        ).for_run_failure()
        run_failure_alert(context)
    body = webhook.posts[0]["body"]
    assert body["run_id"] == run.run_id and body["failed_steps"][0]["step"] == "gate_that_fails"
    assert "not published: gates failed: raw/ks2 gx_raw_ks2" in body["text"]


def test_the_sensor_leaves_runs_that_make_run_alerted(settings, webhook):
    from orchestration.defs.publish.sensors import run_failure_alert

    with dg.instance_for_test() as instance:
        run, failure = _failed_run(instance, {ALERTED_TAG: "make run"})
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_alert", dagster_instance=instance, dagster_run=run, dagster_event=failure
        ).for_run_failure()
        result = run_failure_alert(context)
    assert webhook.posts == [] and "alerted by make run" in result.skip_message


def _freshness(published_at, now) -> tuple[bool, str]:
    """The publication's freshness check, evaluated at ``now`` after a publication at ``published_at``."""
    import datetime as dt  # noqa: F401 - the callers' datetimes

    from dagster._core.test_utils import freeze_time

    from orchestration.defs.publish.assets import PUBLICATION_KEY
    from orchestration.defs.publish.checks import publication_freshness_checks
    from orchestration.defs.publish.schedules import FRESHNESS_CHECK_KEY

    defs = dg.Definitions(
        assets=[dg.AssetSpec(PUBLICATION_KEY)],
        asset_checks=publication_freshness_checks(),
        jobs=[dg.define_asset_job("late", selection=dg.AssetSelection.checks(FRESHNESS_CHECK_KEY))],
    )
    with dg.instance_for_test() as instance:
        if published_at:
            with freeze_time(published_at):
                instance.report_runless_asset_event(dg.AssetMaterialization(PUBLICATION_KEY))
        with freeze_time(now):
            result = defs.resolve_job_def("late").execute_in_process(instance=instance, raise_on_error=False)
    evaluation = result.get_asset_check_evaluations()[0]
    return evaluation.passed, evaluation.description


def test_the_termly_publication_is_flagged_when_late(monkeypatch):
    import datetime as dt

    monkeypatch.delenv("EDU_PUBLICATION_DEADLINE_CRON", raising=False)
    monkeypatch.delenv("EDU_PUBLICATION_WINDOW_DAYS", raising=False)
    utc = dt.UTC
    autumn = dt.datetime(2026, 9, 10, 12, tzinfo=utc)  # after the deadline, 8 September 18:00
    passed, said = _freshness(dt.datetime(2026, 9, 1, 7, tzinfo=utc), autumn)
    assert passed and "fresh" in said
    passed, said = _freshness(dt.datetime(2026, 4, 1, 7, tzinfo=utc), autumn)  # last term's
    assert not passed and "overdue" in said
    passed, said = _freshness(None, autumn)
    assert not passed and "never" in said
    monkeypatch.setenv("EDU_PUBLICATION_DEADLINE_CRON", "0 18 30 9 *")  # a council that publishes later
    assert _freshness(dt.datetime(2026, 9, 20, 7, tzinfo=utc), dt.datetime(2026, 10, 1, tzinfo=utc))[0]
    assert not _freshness(dt.datetime(2026, 9, 1, 7, tzinfo=utc), dt.datetime(2026, 10, 1, tzinfo=utc))[0]


@pytest.mark.parametrize("name, value", [("EDU_PUBLICATION_DEADLINE_CRON", "soon"), ("EDU_TERM_CRON", "0 6 1")])
def test_a_bad_cron_is_refused_naming_the_variable(name, value, monkeypatch):
    monkeypatch.setenv(name, value)
    with pytest.raises(PipelineInputError, match=name):
        load_settings()


def test_the_alert_and_freshness_sensors_run_by_default_and_the_job_leaves_the_freshness_check_out():
    pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")
    from orchestration.definitions import defs
    from orchestration.defs.publish.checks import FRESHNESS_SENSOR_NAME
    from orchestration.defs.publish.sensors import ALERT_SENSOR_NAME

    sensors = {s.name: s for s in defs.sensors}
    for name in (ALERT_SENSOR_NAME, FRESHNESS_SENSOR_NAME):
        assert sensors[name].default_status == dg.DefaultSensorStatus.RUNNING
    nodes = [n.name for n in defs.resolve_job_def("refresh_and_publish").graph.node_defs]
    assert nodes and not [n for n in nodes if n.startswith("freshness_check")]


@pytest.mark.parametrize("run_outputs", [True, False])
def test_make_run_never_evaluates_the_freshness_check(run_outputs):
    """With EDU_RUN_OUTPUTS=0 the run is chosen by asset, and Dagster then adds every check of
    those assets: the freshness check, left to its sensor, must stay out of the run all the same
    (it did not), and the output checks go with the outputs."""
    pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")
    from orchestration.cli import refresh_job
    from orchestration.definitions import defs
    from orchestration.defs.publish.schedules import FRESHNESS_CHECK_KEY

    checks = refresh_job(defs, run_outputs).asset_layer.asset_graph.asset_check_keys
    assert FRESHNESS_CHECK_KEY not in checks
    output_checks = {c for c in checks if c.asset_key.path[0] == "outputs"}
    assert bool(output_checks) == run_outputs
    # the dbt gates stay: one row_checks test per dbt model and seed, 52 on the sample project
    assert len([c for c in checks if c.name.startswith("row_checks_")]) > 40
