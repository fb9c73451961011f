"""The column lineage cache (orchestration/lib/transform/column_lineage.py): a model is read from it
when neither its SQL nor its parents' columns changed, and a prune keeps what the build read."""

from __future__ import annotations

from orchestration.lib.transform import column_lineage


def _project(tmp_path):
    """A source and two models over it, compiled into ``tmp_path``, with their columns."""
    source = {"unique_id": "source.p.raw.ks2", "schema": "raw", "name": "ks2", "resource_type": "source"}
    nodes = {}
    for name, sql in (
        ("first", "select value, la as area from raw.ks2"),
        ("second", "select value * 2 as doubled from raw.ks2"),
    ):
        path = tmp_path / "compiled/p/models" / f"{name}.sql"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql, encoding="utf-8")
        nodes[f"model.p.{name}"] = {
            "unique_id": f"model.p.{name}",
            "resource_type": "model",
            "package_name": "p",
            "original_file_path": f"models/{name}.sql",
            "schema": "marts",
            "name": name,
            "depends_on": {"nodes": ["source.p.raw.ks2"]},
        }
    nodes["seed.p.codes"] = {"unique_id": "seed.p.codes", "resource_type": "seed", "schema": "reference", "name": "c"}
    manifest = {"nodes": nodes, "sources": {"source.p.raw.ks2": source}}
    columns = {
        ("raw", "ks2"): {"value": "DOUBLE", "la": "VARCHAR"},
        ("marts", "first"): {"value": "DOUBLE", "area": "VARCHAR"},
        ("marts", "second"): {"doubled": "DOUBLE"},
    }
    return manifest, columns


def test_a_model_is_read_from_the_cache_until_its_inputs_change(tmp_path):
    manifest, columns = _project(tmp_path)
    cache_path = tmp_path / "cache.json"
    worked = column_lineage.column_lineage(manifest, tmp_path, columns, ["model.p.first"], cache_path, workers=1)
    assert worked["model.p.first"] == {"value": [("source.p.raw.ks2", "value")], "area": [("source.p.raw.ks2", "la")]}
    cache = column_lineage.read_cache(cache_path)
    assert column_lineage.cached_lineage(manifest, tmp_path, columns, "model.p.first", cache) == worked["model.p.first"]
    assert column_lineage.cached_lineage(manifest, tmp_path, columns, "model.p.second", cache) is None  # not worked out
    assert column_lineage.cached_lineage(manifest, tmp_path, columns, "seed.p.codes", cache) == {}  # none to have
    changed = {**columns, ("raw", "ks2"): {**columns[("raw", "ks2")], "la": "INTEGER"}}
    assert column_lineage.cached_lineage(manifest, tmp_path, changed, "model.p.first", cache) is None


def test_a_prune_keeps_the_entries_the_build_read(tmp_path, monkeypatch):
    """A build reads most models' lineage from the cache as dbt builds them and works out the rest
    when dbt exits; pruning the grown cache then must not drop the entries it read."""
    manifest, columns = _project(tmp_path)
    cache_path = tmp_path / "cache.json"
    column_lineage.column_lineage(manifest, tmp_path, columns, ["model.p.first"], cache_path, workers=1)
    monkeypatch.setattr(column_lineage, "CACHE_LIMIT", 1)
    column_lineage.column_lineage(
        manifest, tmp_path, columns, ["model.p.second"], cache_path, workers=1, keep=["model.p.first"]
    )
    cache = column_lineage.read_cache(cache_path)
    assert len(cache) == 2
    assert column_lineage.cached_lineage(manifest, tmp_path, columns, "model.p.first", cache) is not None
    (tmp_path / "compiled/p/models/second.sql").write_text("select value as doubled from raw.ks2", encoding="utf-8")
    column_lineage.column_lineage(manifest, tmp_path, columns, ["model.p.second"], cache_path, workers=1)
    assert len(column_lineage.read_cache(cache_path)) == 1  # without keep: only today's SQL of that model
