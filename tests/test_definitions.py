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
    assert dbt_resource()._initialize_dbt_core_adapter(["build"]) is None


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
