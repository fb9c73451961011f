"""`dbt docs generate` starts with the build when the run writes the docs later in the same process
(defs/transform/dbt_docs.py): the outputs step takes that process over; a run that stops before
its outputs has it stopped before the build database is written again."""

from __future__ import annotations

import json

import dagster as dg
import pytest

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


def _run(selection: list[dg.AssetKey]) -> tuple[dg.ExecuteInProcessResult, dict, list[str]]:
    """A stand-in dbt step that starts the docs and a stand-in outputs step that takes them over:
    the run, what the outputs step took over, and the run's log messages."""
    taken = {}

    @dg.asset(key=["marts", "built"])
    def built(context):
        dbt_docs.stop_all()  # as the dbt step does before `dbt build`
        dbt_docs.start_with_the_build(context, settings=None)

    @dg.asset(key=dbt_docs.DBT_DOCS_KEY, deps=[built])
    def docs(context):
        taken["docs"] = dbt_docs.take(context.run.run_id)

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([built, docs], selection=selection, instance=instance)
    messages = [r.user_message for r in instance.all_logs(result.run_id) if r.dagster_event is None]
    return result, taken, messages


def test_the_outputs_step_takes_over_the_docs_the_build_started(fake_generation):
    result, taken, _ = _run([dg.AssetKey(["marts", "built"]), dbt_docs.DBT_DOCS_KEY])
    assert [g.run_id for g in fake_generation] == [result.run_id]
    assert taken["docs"] is fake_generation[0] and not fake_generation[0].stopped
    dbt_docs.stop_all()
    assert not fake_generation[0].stopped  # taken over: no longer the registry's to stop


def test_a_run_without_the_docs_starts_none(fake_generation):
    _run([dg.AssetKey(["marts", "built"])])
    assert fake_generation == []


def test_docs_no_step_took_over_are_stopped_before_the_next_build(fake_generation):
    result, _, _ = _run([dg.AssetKey(["marts", "built"]), dbt_docs.DBT_DOCS_KEY])
    # the outputs step never ran: the run stopped after its build (say, a mart gate failed)
    dbt_docs._started[result.run_id] = left = _FakeGeneration(None, result.run_id)
    _run([dg.AssetKey(["marts", "built"])])  # the next run's build stops it first
    assert left.stopped


def test_a_docs_process_that_cannot_start_leaves_the_build_to_succeed(monkeypatch):
    def cannot(settings, run_id):
        raise dg.Failure("no build database")

    monkeypatch.setattr(dbt_docs, "DocsGeneration", cannot)
    result, taken, messages = _run([dg.AssetKey(["marts", "built"]), dbt_docs.DBT_DOCS_KEY])
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
