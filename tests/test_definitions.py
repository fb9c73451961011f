"""The code location as the operator meets it in the Dagster UI: it loads, it is named after the
project, every asset has owners and a stage tag, dbt assets show their columns, row counts and column lineage,
and no metadata is a link a browser refuses."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT

pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")


def test_the_code_location_is_named_after_the_project():
    workspace = yaml.safe_load((REPO_ROOT / "workspace.yaml").read_text(encoding="utf-8"))
    location = workspace["load_from"][0]["python_module"]
    assert location == {"module_name": "orchestration.definitions", "location_name": "edu_outcomes"}
    assert "dagster dev -w workspace.yaml" in (REPO_ROOT / "Makefile").read_text(encoding="utf-8")


def test_every_asset_has_owners_and_a_stage(monkeypatch):
    from orchestration.definitions import build_definitions

    monkeypatch.setenv("EDU_ASSET_OWNERS", "data.team@council.gov.uk, team:bi")
    graph = build_definitions().resolve_asset_graph()
    stages = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.owners == ["data.team@council.gov.uk", "team:bi"], key
        assert node.tags["domain"] == "education"
        stages[key.to_user_string()] = node.tags["stage"]
    assert stages["raw/ks2"] == "ingest" and stages["marts/fct_la_measure"] == "transform"
    assert stages["warehouse/education"] == "publish" and stages["outputs/briefings"] == "outputs"
    assert "other" not in stages.values()


@pytest.mark.parametrize("owners", ["nobody", "team:", "a@b", "team:x y"])
def test_a_bad_owner_is_refused(owners, monkeypatch):
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.settings import load_settings

    monkeypatch.setenv("EDU_ASSET_OWNERS", owners)
    with pytest.raises(PipelineInputError, match="EDU_ASSET_OWNERS"):
        load_settings()


def test_dbt_assets_show_the_yaml_columns():
    from orchestration.definitions import defs

    node = defs.resolve_asset_graph().get(dg.AssetKey(["marts", "fct_la_measure"]))
    columns = {c.name: c for c in node.metadata["dagster/column_schema"].columns}
    assert columns["value"].type == "double"
    assert columns["value"].description.startswith("Value as published")
    assert "quartile_band" in columns and "value_derivation" in columns


def test_no_dbt_adapter_is_opened_in_the_orchestrator():
    """The dbt resource skips dagster-dbt's in-process adapter (opened before each dbt command,
    1.5 s, for features the project does not use) by overriding the method that opens it. The
    method is dagster-dbt's own, not public: should an upgrade rename it or stop calling it from
    cli(), the override would go quietly unused, so this says so."""
    import inspect

    from dagster_dbt import DbtCliResource

    from orchestration.defs.transform.resources import dbt_resource

    assert "_initialize_dbt_core_adapter" in vars(DbtCliResource)
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)
    from orchestration.lib.settings import load_settings

    assert dbt_resource(load_settings())._initialize_dbt_core_adapter(["build"]) is None


def test_dbt_writes_its_own_log_file_at_info_unless_the_run_logs_debug(monkeypatch):
    """dbt's debug log file held every statement it sent and cost 3 s of the sample's build."""
    from orchestration.defs.transform.resources import dbt_global_flags, dbt_resource
    from orchestration.lib.settings import load_settings

    monkeypatch.setenv("EDU_LOG_LEVEL", "INFO")
    assert dbt_resource(load_settings()).global_config_flags == ["--no-use-colors", "--log-level-file", "info"]
    monkeypatch.setenv("EDU_LOG_LEVEL", "DEBUG")
    assert dbt_global_flags(load_settings())[-2:] == ["--log-level-file", "debug"]


class _Raw:
    """A dbt event as dagster-dbt streams it: its JSON, and the Dagster events it converts to."""

    def __init__(self, raw_event: dict, converted: list | None = None):
        self.raw_event = raw_event
        self.converted = converted or []

    def to_default_asset_events(self, **_):
        return iter(self.converted)


def _report(unique_id: str, rows: int) -> _Raw:
    from orchestration.defs.transform.dbt_log import RELATION_REPORT

    message = RELATION_REPORT + json.dumps({"rows": rows, "columns": [["value", "DOUBLE"]]})
    return _Raw({"info": {"name": "JinjaLogInfo", "msg": message}, "data": {"node_info": {"unique_id": unique_id}}})


def test_a_model_is_materialized_as_dbt_reports_it_or_held_until_dbt_exits(tmp_path, monkeypatch):
    """dbt's asset yields a model's materialization as soon as the model's post-hook has reported
    its rows and columns and its column lineage is cached, with both as metadata; one without a
    report, or whose lineage must be worked out, is held with its tests' results (a test's result
    must follow the materialization it is evaluated against) and with the models built from it
    (Dagster takes a multi-asset's outputs in dependency order), and the others go on."""
    from orchestration.defs.transform import assets
    from orchestration.defs.transform.dbt_log import RELATION_REPORT
    from orchestration.lib.transform import column_lineage

    assert f"'{RELATION_REPORT}'" in (REPO_ROOT / "dbt_project/macros/report_relation.sql").read_text(encoding="utf-8")
    nodes = {
        f"model.p.{name}": {"unique_id": f"model.p.{name}", "resource_type": "model", "schema": "marts", "name": name}
        for name in ("reported", "uncached", "unreported", "child")
    }
    nodes["model.p.child"]["depends_on"] = {"nodes": ["model.p.uncached"]}
    nodes["model.p.parent"] = {"resource_type": "model", "schema": "intermediate", "name": "parent"}
    manifest = {"nodes": nodes, "sources": {}}
    invocation = type(
        "Invocation",
        (),
        {"manifest": manifest, "target_path": tmp_path, "dagster_dbt_translator": None, "project": None},
    )()
    lineage = {"value": [("model.p.parent", "value")]}
    monkeypatch.setattr(
        column_lineage, "cached_lineage", lambda m, t, c, uid, cache: None if uid == "model.p.uncached" else lineage
    )
    context = type("Context", (), {"asset_key_for_output": lambda self, name: dg.AssetKey(["marts", name])})()
    built = assets.BuiltAsReported(context, tmp_path / "none.duckdb")

    def output(name: str) -> dg.Output:
        return dg.Output(None, output_name=name, metadata={"unique_id": f"model.p.{name}"})

    def check(name: str) -> dg.AssetCheckResult:
        return dg.AssetCheckResult(asset_key=dg.AssetKey(["marts", name]), check_name=f"not_null_{name}", passed=True)

    stream = [
        _report("model.p.reported", 12),
        _Raw({"info": {"name": "NodeFinished"}}, [output("reported"), check("reported")]),
        _report("model.p.uncached", 7),
        _Raw({"info": {"name": "NodeFinished"}}, [output("uncached"), output("unreported")]),
        _Raw({"info": {"name": "NodeFinished"}}, [check("uncached"), check("unreported"), check("reported")]),
        # reported, its lineage cached, but built from a held model: held, as Dagster takes a
        # multi-asset's outputs in dependency order only
        _report("model.p.child", 3),
        _Raw({"info": {"name": "NodeFinished"}}, [output("child")]),
    ]
    ready = [
        built.with_metadata(event)
        for raw in stream
        for event in built.events_of(raw, invocation)
        if built.ready(event, invocation)
    ]
    assert [(type(e).__name__, getattr(e, "output_name", None) or e.asset_key.path[-1]) for e in ready] == [
        ("Output", "reported"),
        ("AssetCheckResult", "reported"),
        ("AssetCheckResult", "reported"),
    ]
    assert ready[0].metadata["dagster/row_count"].value == 12
    [dep] = ready[0].metadata["dagster/column_lineage"].value.deps_by_column["value"]
    assert (dep.asset_key, dep.column_name) == (dg.AssetKey(["intermediate", "parent"]), "value")
    held = [getattr(e, "output_name", None) or f"check {e.asset_key.path[-1]}" for e in built.held]
    assert held == ["uncached", "unreported", "check uncached", "check unreported", "child"]
    assert built.rows == {"model.p.reported": 12, "model.p.uncached": 7, "model.p.child": 3}
    # finished after dbt exits (or on a failure) with the row counts already reported
    counts = [e.metadata.get("dagster/row_count") for e in built.held_with_reported_rows()]
    assert [c.value if c else None for c in counts] == [7, None, None, None, 3]
    assert built.served() == ["model.p.reported"]
    assert built.columns[("marts", "uncached")] == {"value": "DOUBLE"}


def test_descriptions_have_no_markup_the_ui_would_swallow():
    """`<la>` outside backticks renders as an empty HTML tag: "warehouse/briefings//.html"."""
    import re

    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        text = re.sub(r"`[^`]*`", "", graph.get(key).description or "")
        assert not re.search(r"<[a-z_]+>", text), (key, text)


def test_the_run_records_row_counts_and_no_file_links(sample_publication):
    """From the session's `make run`: dbt's models, staging views included, carry dagster/row_count
    equal to the build's rows; no metadata is a file:// link (browsers refuse them from the UI)."""
    instance = dg.DagsterInstance.from_config(str(sample_publication / "dagster_home"))
    build = sample_publication / "warehouse" / "build" / "education_build.duckdb"
    with duckdb.connect(str(build), read_only=True) as con:
        for key in (
            ["marts", "fct_la_measure"],
            ["intermediate", "int_measure_values"],
            ["marts", "dim_measure"],
            ["staging", "stg_ees__ks2"],
            ["staging", "stg_local__schools"],
        ):
            event = instance.get_latest_materialization_event(dg.AssetKey(key))
            rows = con.execute(f"SELECT count(*) FROM {key[0]}.{key[1]}").fetchall()[0][0]
            assert event.asset_materialization.metadata["dagster/row_count"].value == rows > 0, key
    for key in (["outputs", "briefings"], ["outputs", "exports"], ["outputs", "dbt_docs"], ["outputs", "gx_docs"]):
        metadata = instance.get_latest_materialization_event(dg.AssetKey(key)).asset_materialization.metadata
        assert not [name for name, value in metadata.items() if "file://" in str(value.value)], key
        assert any(isinstance(v, dg.PathMetadataValue) for v in metadata.values()), key  # a path to copy


def test_the_run_records_column_lineage_of_the_published_marts(sample_publication):
    """dbt models carry dagster/column_lineage worked out from their compiled SQL: the contract's
    statistical-neighbour average is worked out from the neighbours' values, the LA's value comes
    from the intermediate models, and staging's columns from the raw tables."""
    instance = dg.DagsterInstance.from_config(str(sample_publication / "dagster_home"))

    def lineage(*key: str) -> dict[str, set[tuple[str, str]]]:
        metadata = instance.get_latest_materialization_event(dg.AssetKey(list(key))).asset_materialization.metadata
        deps = metadata["dagster/column_lineage"].value.deps_by_column
        return {column: {(d.asset_key.to_user_string(), d.column_name) for d in ds} for column, ds in deps.items()}

    fct = lineage("marts", "fct_la_measure")
    assert ("intermediate/int_measure_previous_compared", "value") in fct["sn_average"]
    assert fct["value"] and all(key.startswith("intermediate/") for key, _ in fct["value"])
    assert set(fct) >= {"measure_code", "breakdown", "old_la_code", "time_period", "value", "rank", "quartile_band"}
    schools = lineage("staging", "stg_local__schools")
    assert schools["urn"] == {("raw/local_schools", "urn")}
    # the cache beside dbt's target folder holds what was worked out, so the next run reads it
    cache = json.loads((REPO_ROOT / "dbt_project/target/column_lineage.json").read_text(encoding="utf-8"))
    assert cache and all(isinstance(v, dict) for v in cache.values())
