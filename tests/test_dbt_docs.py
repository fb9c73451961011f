"""`dbt docs generate` starts with the build when the run writes the docs later in the same process
(defs/transform/dbt_docs.py): the outputs step takes that process over; a run that stops before
its outputs has it stopped as the run ends, while the run still holds its warehouse folder."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.transform import dbt_docs


class _FakeGeneration:
    """Stands in for the dbt process: records what became of it."""

    started: list[_FakeGeneration] = []

    def __init__(self, settings, run_id: str):
        self.run_id = run_id
        self.stopped = False
        _FakeGeneration.started.append(self)

    def stop(self) -> None:
        self.stopped = True


@pytest.fixture
def fake_generation(monkeypatch):
    _FakeGeneration.started = []
    monkeypatch.setattr(dbt_docs, "DocsGeneration", _FakeGeneration)
    yield _FakeGeneration.started
    dbt_docs.stop_all()


def _run(selection: list[dg.AssetKey], *, outputs_fail: bool = False, tmp_path=None):
    """A stand-in dbt step that starts the docs and a stand-in outputs step that takes them over
    (or fails first), with the pipeline's own WarehouseResource: the run, what the outputs step
    took over, and the run's log messages."""
    taken = {}

    @dg.asset(key=["marts", "built"])
    def built(context):
        dbt_docs.start_with_the_build(context, settings=None)

    @dg.asset(key=dbt_docs.DBT_DOCS_KEY, deps=[built])
    def docs(context, warehouse: WarehouseResource):
        if outputs_fail:
            raise RuntimeError("the run stopped before its outputs")
        taken["docs"] = dbt_docs.take(context.run.run_id)

    instance = dg.DagsterInstance.ephemeral()
    warehouse = WarehouseResource(warehouse_dir=str(tmp_path)) if tmp_path else WarehouseResource()
    result = dg.materialize(
        [built, docs], selection=selection, instance=instance, resources={"warehouse": warehouse}, raise_on_error=False
    )
    messages = [r.user_message for r in instance.all_logs(result.run_id) if r.dagster_event is None]
    return result, taken, messages


BOTH = [dg.AssetKey(["marts", "built"]), dbt_docs.DBT_DOCS_KEY]


def test_the_outputs_step_takes_over_the_docs_the_build_started(fake_generation, tmp_path):
    result, taken, _ = _run(BOTH, tmp_path=tmp_path)
    assert result.success and [g.run_id for g in fake_generation] == [result.run_id]
    assert taken["docs"] is fake_generation[0] and not fake_generation[0].stopped  # not stopped at the run's end


def test_a_run_without_the_docs_starts_none(fake_generation, tmp_path):
    _run([dg.AssetKey(["marts", "built"])], tmp_path=tmp_path)
    assert fake_generation == []


def test_a_run_that_stops_before_its_outputs_stops_its_docs_before_freeing_the_folder(
    fake_generation, tmp_path, monkeypatch
):
    """Stopped by the WarehouseResource as the run ends, while it still holds the warehouse
    folder's run lock: the next run may write the build database at once."""
    from orchestration.lib import run_lock

    held_when_stopped = []
    monkeypatch.setattr(
        _FakeGeneration, "stop", lambda self: held_when_stopped.append(run_lock.held_here(tmp_path.resolve()))
    )
    result, taken, _ = _run(BOTH, outputs_fail=True, tmp_path=tmp_path)
    assert not result.success and "docs" not in taken
    assert [g.run_id for g in fake_generation] == [result.run_id] and held_when_stopped == [True]
    assert dbt_docs.take(result.run_id) is None


def test_a_docs_process_that_cannot_start_leaves_the_build_to_succeed(monkeypatch, tmp_path):
    def cannot(settings, run_id):
        raise dg.Failure("no build database")

    monkeypatch.setattr(dbt_docs, "DocsGeneration", cannot)
    result, taken, messages = _run(BOTH, tmp_path=tmp_path)
    assert result.success and taken["docs"] is None  # the outputs step starts its own, and fails with its error
    assert "dbt docs not started with the build (no build database): the outputs step starts them" in messages


def test_the_sample_run_generated_its_docs_with_the_build(sample_publication):
    """The session's `make run` started the docs with the build; their catalog, read through the
    read-only `docs` target, describes every model of the build database."""
    import duckdb

    instance = dg.DagsterInstance.from_config(str(sample_publication / "dagster_home"))
    event = instance.get_latest_materialization_event(dbt_docs.DBT_DOCS_KEY)
    assert event.asset_materialization.metadata["started_with"].value == "dbt build"
    catalog = json.loads((sample_publication / "warehouse/docs/dbt/catalog.json").read_text(encoding="utf-8"))
    build = sample_publication / "warehouse/build/education_build.duckdb"
    with duckdb.connect(str(build), read_only=True) as con:
        columns = {
            f"{schema}.{table}": n
            for schema, table, n in con.execute(
                "SELECT schema_name, table_name, count(*) FROM duckdb_columns() "
                "WHERE schema_name IN ('staging', 'intermediate', 'marts') GROUP BY ALL"
            ).fetchall()
        }
    described = {
        f"{node['metadata']['schema']}.{node['metadata']['name']}": len(node["columns"])
        for node in catalog["nodes"].values()
        if node["metadata"]["schema"] in ("staging", "intermediate", "marts")
    }
    assert described == columns and len(described) > 40
