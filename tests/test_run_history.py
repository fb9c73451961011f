"""`make run`'s Dagster run history (orchestration/lib/run_history.py): the same files as Dagster's
stock SQLite storage writes, through one open connection per database instead of one per event."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from orchestration.lib import run_history


@dg.asset
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 7})


@dg.asset_check(asset=counted)
def counted_has_rows() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


JOB = dg.Definitions(assets=[counted], asset_checks=[counted_has_rows]).resolve_implicit_global_asset_job_def()


def _home(tmp_path, yaml_text: str = "telemetry:\n  enabled: false\n"):
    home = tmp_path / "dagster_home"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(yaml_text, encoding="utf-8")
    return home


def test_a_run_is_stored_through_two_open_connections_and_read_back_by_stock_dagster(tmp_path):
    home = _home(tmp_path)
    with run_history.open_instance(home) as instance:
        storage = instance.event_log_storage
        assert type(storage) is run_history.PooledSqliteEventLogStorage
        result = JOB.execute_in_process(instance=instance)
        assert result.success
        # every event went through the run's database and the index, each one engine with one connection
        assert set(storage._engines) == {result.run_id, "index"}
        assert all(engine.pool.checkedin() == 1 for engine in storage._engines.values())
        written = [(r.dagster_event_type, r.step_key) for r in instance.all_logs(result.run_id)]

    # The UI and daemon read the history with Dagster's own classes: same events, same asset index.
    stock = dg.DagsterInstance.from_config(str(home))
    assert type(stock.event_log_storage) is SqliteEventLogStorage
    assert [(r.dagster_event_type, r.step_key) for r in stock.all_logs(result.run_id)] == written
    assert len(written) > 10
    latest = stock.get_latest_materialization_event(dg.AssetKey("counted"))
    assert latest.run_id == result.run_id
    assert latest.asset_materialization.metadata["rows"] == dg.IntMetadataValue(7)
    check = stock.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("counted"), "counted_has_rows")]
    )
    assert [execution.run_id for execution in check.values()] == [result.run_id]


def test_the_ui_follows_a_run_as_its_events_are_stored(tmp_path):
    """The UI watches a run's database file for changes (Dagster's stock SQLite watcher); an open
    connection keeps new events in the WAL file beside it, so each stored event must still show
    there while the run is going on, not only once the run's connection closes."""
    import time

    from dagster._core.events.log import EventLogEntry

    home = _home(tmp_path)
    run_id = "abcdef12-0000-4000-8000-000000000000"

    def entry(n: int) -> EventLogEntry:
        return EventLogEntry(error_info=None, level=20, user_message=f"event {n}", run_id=run_id, timestamp=time.time())

    with run_history.open_instance(home) as writer, dg.DagsterInstance.from_config(str(home)) as ui:
        writer.event_log_storage.store_event(entry(0))
        seen: list[str] = []
        ui.event_log_storage.watch(run_id, None, lambda event, _cursor: seen.append(event.user_message))
        for n in range(1, 6):
            writer.event_log_storage.store_event(entry(n))
        deadline = time.monotonic() + 60  # the watcher's thread may be slow on a loaded machine
        while len(seen) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen == [f"event {n}" for n in range(6)]
        assert writer.event_log_storage._engines  # the connection is still open: the UI read it live


def test_connections_are_closed_with_the_instance_and_before_a_wipe(tmp_path):
    home = _home(tmp_path)
    instance = run_history.open_instance(home)
    storage = instance.event_log_storage
    run_id = JOB.execute_in_process(instance=instance).run_id
    assert storage._engines
    storage.wipe()  # deletes the run files: no connection may keep them open
    assert not (home / "history" / "runs" / f"{run_id}.db").exists()
    JOB.execute_in_process(instance=instance)
    assert storage._engines
    instance.dispose()
    assert not storage._engines


def test_only_a_few_databases_stay_open(tmp_path):
    with run_history.open_instance(_home(tmp_path)) as instance:
        for _ in range(run_history.PooledSqliteEventLogStorage.OPEN_DATABASES + 2):
            JOB.execute_in_process(instance=instance)
        assert len(instance.event_log_storage._engines) == run_history.PooledSqliteEventLogStorage.OPEN_DATABASES


def test_dagster_home_is_checked_as_dagster_checks_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(dg.DagsterInvariantViolationError, match="must be an absolute path"):
        run_history.open_instance(Path("relative_home"))
    with pytest.raises(dg.DagsterInvariantViolationError, match="is not a directory"):
        run_history.open_instance(tmp_path / "missing")


def test_a_configured_storage_is_used_as_configured(tmp_path):
    # Another base folder for the default SQLite storage: still pooled, in that folder.
    elsewhere = tmp_path / "elsewhere"
    home = _home(tmp_path, f"storage:\n  sqlite:\n    base_dir: {elsewhere}\n")
    with run_history.open_instance(home) as instance:
        assert type(instance.event_log_storage) is run_history.PooledSqliteEventLogStorage
        JOB.execute_in_process(instance=instance)
    assert list((elsewhere / "history" / "runs").glob("*.db"))

    # The legacy per-storage form names its classes itself: they are left alone.
    legacy = _home(
        tmp_path / "legacy",
        "event_log_storage:\n  module: dagster._core.storage.event_log\n  class: SqliteEventLogStorage\n"
        f"  config:\n    base_dir: {tmp_path / 'legacy_events'}\n",
    )
    with run_history.open_instance(legacy) as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage


@pytest.mark.parametrize("method", ["run_connection", "index_connection"])
def test_dagster_still_opens_its_event_databases_through_the_replaced_method(method):
    """The speed-up overrides SqliteEventLogStorage._connect, a private method: a Dagster upgrade
    that stops routing connections through it must fail here, not silently slow every run."""
    import inspect

    assert "_connect" in vars(SqliteEventLogStorage)
    assert "self._connect(" in inspect.getsource(getattr(SqliteEventLogStorage, method))
