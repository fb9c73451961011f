"""Parquet exports of every published table with a data dictionary, the folder swaps outputs use,
and the docs (dbt docs copy, the gates' data docs)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from orchestration.lib.outputs import docs, exports
from orchestration.lib.publish import documentation
from tests.test_briefing_render import build_published_db

MANIFEST = {
    "nodes": {
        "model.edu_outcomes.fct_la_measure": {
            "resource_type": "model",
            "name": "fct_la_measure",
            "schema": "marts",
            "config": {"schema": "marts"},
            "description": "Published contract. One row per measure_code x breakdown x time_period x local authority, "
            "from the latest release of each period.",
            "columns": {
                "value": {"description": "Value as published, never recomputed."},
                "quartile_band": {"description": "A (best) to D."},
            },
        },
        "model.edu_outcomes.dim_measure": {
            "resource_type": "model",
            "name": "dim_measure",
            "schema": "marts",
            "config": {"schema": "marts"},
            "description": "One row per measure_code x breakdown: the measure catalogue.",
            "columns": {"polarity": {"description": "high or low."}},
        },
        "test.edu_outcomes.not_null": {"resource_type": "test", "name": "not_null", "schema": "marts"},
    }
}


@pytest.fixture
def published(tmp_path) -> Path:
    return build_published_db(tmp_path / "education.duckdb")


@pytest.fixture
def manifest(tmp_path) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(MANIFEST))
    return path


def test_every_published_table_is_exported_as_parquet(published, manifest, tmp_path):
    run = exports.export_published(published, tmp_path / "exports", manifest)
    with duckdb.connect(str(published), read_only=True) as con:
        tables = [
            f"{s}.{t}"
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'audit')"
            ).fetchall()
        ]
        assert sorted(run.files) == sorted(tables)
        for table, path in run.files.items():
            assert path == tmp_path / "exports" / f"{table}.parquet"
            # Same rows and values, both ways.
            difference = con.execute(
                f"SELECT count(*) FROM ((SELECT * FROM {table} EXCEPT ALL SELECT * FROM read_parquet('{path}')) "
                f"UNION ALL (SELECT * FROM read_parquet('{path}') EXCEPT ALL SELECT * FROM {table}))"
            ).fetchall()[0][0]
            assert difference == 0, table
    schema = pq.read_schema(run.files["marts.fct_la_measure"])
    assert schema.field("value").metadata[b"description"] == b"Value as published, never recomputed."
    assert schema.metadata[b"grain"] == b"One row per measure_code x breakdown x time_period x local authority"
    assert str(schema.field("time_period").type) == "int32" and str(schema.field("value").type) == "double"


def test_data_dictionary_describes_grain_columns_and_types(published, manifest, tmp_path):
    run = exports.export_published(published, tmp_path / "exports", manifest)
    dictionary = json.loads(run.dictionary.read_text())
    assert dictionary["publication"]["publication_id"] == "fixture-publication"
    tables = {t["table"]: t for t in dictionary["tables"]}
    fct = tables["marts.fct_la_measure"]
    assert fct["file"] == "marts.fct_la_measure.parquet"
    assert fct["grain"] == "One row per measure_code x breakdown x time_period x local authority"
    assert fct["rows"] == pq.read_metadata(run.files["marts.fct_la_measure"]).num_rows
    assert fct["checksum"] == "f" * 32
    columns = {c["name"]: c for c in fct["columns"]}
    assert columns["value"] == {
        "name": "value",
        "type": "DOUBLE",
        "nullable": True,
        "description": "Value as published, never recomputed.",
        "parquet_type": "double",
    }
    assert columns["time_period"]["type"] == "INTEGER"
    assert tables["marts.dim_measure"]["grain"] == "One row per measure_code x breakdown"
    audit = tables["audit.publications"]
    assert audit["grain"] == "One row per publication" and all(c["description"] for c in audit["columns"])


def test_grain_stops_at_the_first_clause():
    grain = documentation.grain_of("LA. One row per local authority (keyed by old_la_code, 3 digits), with its codes.")
    assert grain == "One row per local authority (keyed by old_la_code, 3 digits)"


def test_readers_of_old_exports_keep_complete_files_and_stale_exports_go(published, manifest, tmp_path):
    out = tmp_path / "exports"
    exports.export_published(published, out, manifest)
    (out / "marts.retired_table.parquet").write_bytes(b"old")
    old_path = out / "marts.fct_la_measure.parquet"
    old_bytes = old_path.read_bytes()
    with old_path.open("rb") as reader, duckdb.connect(str(published)) as con:
        con.execute("DELETE FROM marts.fct_la_measure WHERE old_la_code = '201'")
        con.close()
        exports.export_published(published, out, manifest)
        assert reader.read() == old_bytes  # the old file, whole, for a reader that had it open
    # The path now holds the new export.
    assert pq.read_metadata(old_path).num_rows < pq.read_metadata(io.BytesIO(old_bytes)).num_rows
    assert not (out / "marts.retired_table.parquet").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_failed_export_leaves_the_previous_exports(published, manifest, tmp_path, monkeypatch):
    out = tmp_path / "exports"
    exports.export_published(published, out, manifest)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    calls = []
    real_write = pq.write_table

    def failing(table, where, **kwargs):
        calls.append(where)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_write(table, where, **kwargs)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        exports.export_published(published, out, manifest)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "rename-aside"])
def test_replace_directory_swaps_a_whole_folder(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(exports, "_exchange", lambda a, b: False)
    target = tmp_path / "briefings"
    target.mkdir()
    (target / "old.html").write_text("old")
    staged = exports.staging_dir(target)
    (staged / "new.html").write_text("new")
    exports.replace_directory(staged, target)
    assert [p.name for p in target.iterdir()] == ["new.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["briefings"]
    # First publication: nothing to replace.
    fresh = tmp_path / "docs"
    staged = exports.staging_dir(fresh)
    (staged / "index.html").write_text("x")
    exports.replace_directory(staged, fresh)
    assert (fresh / "index.html").read_text() == "x"


def test_staging_left_by_a_dead_process_is_cleared(tmp_path):
    target = tmp_path / "exports"
    stale = tmp_path / ".exports.staging-999999999-deadbeef"
    stale.mkdir()
    (stale / "half.parquet").write_bytes(b"x")
    staged = exports.staging_dir(target)
    assert not stale.exists() and staged.exists()


def test_gate_report_lists_every_check_of_the_publication(published, tmp_path):
    report = docs.write_gate_report(published, tmp_path / "docs" / "gx")
    html = report.path.read_text(encoding="utf-8")
    assert report.publication_id == "fixture-publication" and report.checks == 2 and report.failed == 0
    assert "gx_mart_fct_la_measure" in html and "not_null_fct_la_measure_measure_code" in html
    assert "Great Expectations suite" in html and "dbt test" in html
    # The suites' own expectations are documented from expectations/.
    assert report.suites >= 1 and "mart_fct_la_measure" in html and "expect_" in html
    results = json.loads((tmp_path / "docs/gx/check_results.json").read_text())
    assert results["publication_id"] == "fixture-publication" and len(results["checks"]) == 2


def test_dbt_docs_are_copied_from_the_generate_target(tmp_path):
    target = tmp_path / "target"
    target.mkdir()
    for name in ("index.html", "static_index.html", "manifest.json", "catalog.json", "run_results.json"):
        (target / name).write_text(name)
    copied = docs.publish_dbt_docs(target, tmp_path / "docs" / "dbt")
    assert sorted(p.name for p in (tmp_path / "docs/dbt").iterdir()) == [
        "catalog.json",
        "index.html",
        "manifest.json",
        "static_index.html",
    ]
    assert copied["static_index.html"].read_text() == "static_index.html"
    (target / "catalog.json").unlink()
    with pytest.raises(FileNotFoundError, match="catalog.json"):
        docs.publish_dbt_docs(target, tmp_path / "docs" / "dbt")
    assert (tmp_path / "docs/dbt/catalog.json").exists()  # the previous docs stay


def _materialize_outputs(published: Path, tmp_path: Path, selection):
    import shutil

    import dagster as dg

    from orchestration.defs.ingest.resources import WarehouseResource
    from orchestration.defs.outputs.assets import outputs

    warehouse = tmp_path / "warehouse"
    warehouse.mkdir(exist_ok=True)
    shutil.copy(published, warehouse / "education.duckdb")
    result = dg.materialize(
        [outputs],
        selection=selection,
        resources={"warehouse": WarehouseResource(warehouse_dir=str(warehouse))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    written = {e.asset_key for e in result.get_asset_materialization_events()}
    failures = [_with_causes(e.step_failure_data.error) for e in result.all_events if e.is_step_failure]
    return warehouse, result, written, failures


def _with_causes(error) -> str:
    return error.message + (_with_causes(error.cause) if error.cause else "")


def test_an_output_that_fails_leaves_the_others_of_its_step_written(published, tmp_path, monkeypatch):
    """The exports and the gate report share a step: the exports failing still writes the report,
    and the step fails with the exports' error."""
    from orchestration.defs.outputs import assets

    def full_disk(*args, **kwargs):
        raise OSError("No space left on device")

    monkeypatch.setattr(assets.exports, "export_published", full_disk)
    warehouse, result, written, failures = _materialize_outputs(
        published, tmp_path, [assets.EXPORTS_KEY, assets.GX_DOCS_KEY]
    )
    assert not result.success and written == {assets.GX_DOCS_KEY}
    assert (warehouse / "docs/gx/index.html").exists() and not (warehouse / "exports").exists()
    assert len(failures) == 1 and "No space left on device" in failures[0]


def test_dbt_docs_that_fail_name_the_log_and_leave_the_exports_written(published, tmp_path, monkeypatch):
    """`dbt docs generate` runs beside the exports: its failure fails the step, naming dbt.log,
    which holds dbt's own lines; the exports written meanwhile stay."""
    from orchestration.defs.outputs import assets
    from orchestration.defs.transform import dbt_docs

    fake_dbt = tmp_path / "dbt"
    fake_dbt.write_text("#!/bin/sh\necho 'Runtime Error: catalog query failed'\nexit 2\n")
    fake_dbt.chmod(0o755)
    monkeypatch.setattr(dbt_docs, "dbt_executable", lambda: str(fake_dbt))
    (tmp_path / "warehouse/build").mkdir(parents=True)
    (tmp_path / "warehouse/build/education_build.duckdb").write_bytes(b"")
    warehouse, result, written, failures = _materialize_outputs(
        published, tmp_path, [assets.EXPORTS_KEY, assets.DBT_DOCS_KEY]
    )
    assert not result.success and written == {assets.EXPORTS_KEY}
    assert (warehouse / "exports/marts.fct_la_measure.parquet").exists() and not (warehouse / "docs/dbt").exists()
    log = warehouse / "build/logs/dbt.log"
    assert len(failures) == 1 and f"dbt docs generate failed (exit code 2): {log} says why" in failures[0]
    assert "Runtime Error: catalog query failed" in log.read_text(encoding="utf-8")


def test_dbt_docs_that_cannot_start_leave_the_exports_and_gate_report_written(published, tmp_path):
    """No build database for dbt docs: the exports (checked) and the gate report are still written."""
    from orchestration.defs.outputs import assets

    warehouse, result, written, failures = _materialize_outputs(
        published, tmp_path, [assets.EXPORTS_KEY, assets.DBT_DOCS_KEY, assets.GX_DOCS_KEY]
    )
    assert not result.success and written == {assets.EXPORTS_KEY, assets.GX_DOCS_KEY}
    [check] = result.get_asset_check_evaluations()
    assert check.check_name == "exports_match_publication" and check.passed
    assert (
        check.description
        == f"{len(exports.published_tables(duckdb.connect(str(published), read_only=True)))} tables exported"
    )
    assert len(failures) == 1 and f"no build database at {warehouse / 'build/education_build.duckdb'}" in failures[0]


def test_the_exports_check_alone_reads_the_exports_on_disk(published, tmp_path):
    """Selected alone (say, from the UI), the check judges the exports already written: here one
    Parquet file removed since."""
    from orchestration.defs.outputs import assets

    warehouse, result, _, _ = _materialize_outputs(published, tmp_path, [assets.EXPORTS_KEY])
    assert result.success
    (warehouse / "exports/marts.dim_measure.parquet").unlink()
    import dagster as dg

    from orchestration.defs.ingest.resources import WarehouseResource

    again = dg.materialize(
        [assets.outputs],
        selection=dg.AssetSelection.checks(assets.exports_check_spec.key),
        resources={"warehouse": WarehouseResource(warehouse_dir=str(warehouse))},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    assert again.get_asset_materialization_events() == []
    [check] = again.get_asset_check_evaluations()
    assert not check.passed and check.description == "marts.dim_measure.parquet missing"


def test_briefings_that_fail_leave_the_other_outputs_written(published, tmp_path, monkeypatch):
    """The briefings are written beside the exports and gate report: an EDU_BRIEFING_LAS naming no
    LA fails the step, naming the setting, and the other outputs are written and checked."""
    from orchestration.defs.outputs import assets

    monkeypatch.setenv("EDU_BRIEFING_LAS", "Atlantis")
    warehouse, result, written, failures = _materialize_outputs(
        published, tmp_path, [assets.BRIEFINGS_KEY, assets.EXPORTS_KEY, assets.GX_DOCS_KEY]
    )
    assert not result.success and written == {assets.EXPORTS_KEY, assets.GX_DOCS_KEY}
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [
        ("exports_match_publication", True)
    ]
    assert len(failures) == 1 and "EDU_BRIEFING_LAS='Atlantis': no local authority matches 'Atlantis'" in failures[0]
    assert not (warehouse / "briefings").exists()
