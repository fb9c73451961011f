"""Column-level lineage of the dbt models: which upstream columns each published column is made
from, shown in the Dagster UI's column lineage view (``dagster/column_lineage``).

dagster-dbt can work this out while dbt runs (``fetch_column_metadata``), but it asks dbt's
adapter for every parent's columns while dbt still holds the build database, and it runs
sqlglot's whole optimizer once per column. Here the columns are those each model's
post-hook reports as dbt builds it (macros/report_relation.sql), or the finished build
database's, each model's compiled SQL is qualified once for all its columns, and the answer is
kept in a cache keyed by what it depends on (the compiled SQL, the parents' columns and
sqlglot's version), so a run only works out the models whose SQL or inputs changed
(:func:`cached_lineage` reads one model's entry while dbt still runs).

Lineage is documentation, never a gate: a model sqlglot cannot follow simply has no column
lineage, and the reason goes to the log.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DIALECT = "duckdb"
CACHE_FILE = "column_lineage.json"
# Part of every cache key: change it when model_lineage changes what it works out.
LINEAGE_VERSION = 1
CACHE_LIMIT = 2000  # entries: each is one model's lineage for one version of its SQL and inputs
PARALLEL_FROM = 4  # models to work out before a second process is worth its start-up

# (schema, relation) -> {column: data type}, as the build database has them
Columns = Mapping[tuple[str, str], Mapping[str, str]]
# column -> [(parent unique_id, parent column)]
Lineage = dict[str, list[tuple[str, str]]]


def relation_of(node: Mapping[str, Any]) -> tuple[str, str]:
    """Where a dbt node (model, seed or source) lives in the build database."""
    return node["schema"], node.get("alias") or node.get("identifier") or node["name"]


def _parents(manifest: Mapping[str, Any], node: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    for unique_id in node.get("depends_on", {}).get("nodes", []):
        parent = manifest["nodes"].get(unique_id) or manifest["sources"].get(unique_id)
        if parent is not None:
            found.append(parent)
    return found


def _compiled_sql(target_path: Path, node: Mapping[str, Any]) -> str | None:
    path = target_path / "compiled" / node["package_name"] / node["original_file_path"]
    return path.read_text(encoding="utf-8") if path.is_file() else None


def _job(manifest: Mapping[str, Any], target_path: Path, columns: Columns, unique_id: str) -> dict | None:
    """What working out one model's lineage needs, and the cache key it is stored under."""
    node = manifest["nodes"][unique_id]
    sql = _compiled_sql(target_path, node)
    if sql is None:
        return None
    parents = [
        {
            "unique_id": parent["unique_id"],
            "database": parent.get("database") or "",
            "schema": relation_of(parent)[0],
            "name": relation_of(parent)[1],
            "columns": dict(columns.get(relation_of(parent), {})),
        }
        for parent in _parents(manifest, node)
    ]
    key_material = json.dumps(
        {
            "version": LINEAGE_VERSION,
            "sqlglot": importlib.metadata.version("sqlglot"),
            "sql": sql,
            "parents": parents,
        },
        sort_keys=True,
    )
    return {
        "unique_id": unique_id,
        "key": hashlib.sha256(key_material.encode("utf-8")).hexdigest(),
        "sql": sql,
        "parents": parents,
        "columns": list(columns.get(relation_of(node), {})),
    }


def model_lineage(job: Mapping[str, Any]) -> Lineage:
    """One model's columns and the parent columns each is computed from (sqlglot, run in a worker
    process when several models are worked out)."""
    from sqlglot import exp
    from sqlglot.lineage import lineage
    from sqlglot.schema import MappingSchema

    # sqlglot warns on stderr of each scope it cannot follow; the reason of a failure is logged
    logging.getLogger("sqlglot").setLevel(logging.ERROR)

    schema = MappingSchema(dialect=DIALECT)
    by_relation = {}
    for parent in job["parents"]:
        table = exp.Table(
            this=exp.to_identifier(parent["name"]),
            db=exp.to_identifier(parent["schema"]),
            catalog=exp.to_identifier(parent["database"]) if parent["database"] else None,
        )
        if parent["columns"]:
            schema.add_table(table, parent["columns"], dialect=DIALECT)
        by_relation[(parent["schema"].lower(), parent["name"].lower())] = parent["unique_id"]
    wanted = {c.lower() for c in job["columns"]}
    out: Lineage = {}
    for column, node in lineage(None, job["sql"], schema, dialect=DIALECT).items():
        if column.lower() not in wanted:
            continue
        deps = set()
        for leaf in node.walk():
            if leaf.downstream:
                continue
            table = leaf.expression.find(exp.Table)
            parent = by_relation.get((table.db.lower(), table.name.lower())) if table else None
            if parent:
                deps.add((parent, exp.to_column(leaf.name).name.lower()))
        out[column.lower()] = sorted(deps)
    return out


def _safe_lineage(job: Mapping[str, Any]) -> tuple[str, Lineage | None, str | None]:
    try:
        return job["unique_id"], model_lineage(job), None
    except Exception as exc:  # noqa: BLE001 - lineage is documentation: a model it cannot follow goes without
        return job["unique_id"], None, f"{type(exc).__name__}: {str(exc)[:200]}"


def read_cache(path: Path) -> dict:
    """The lineage cache (empty when there is none or it cannot be read)."""
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return cached if isinstance(cached, dict) else {}


def _write_cache(path: Path, cache: dict) -> None:
    # replaced whole, so a reader (another run sharing the dbt project) never sees half a file
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(cache, out, sort_keys=True)
    os.replace(temporary, path)


def cached_lineage(
    manifest: Mapping[str, Any], target_path: Path, columns: Columns, unique_id: str, cache: Mapping[str, Any]
) -> Lineage | None:
    """One model's lineage from ``cache`` (:func:`read_cache`) when nothing it depends on has
    changed: {} for a node with none (a seed, a model sqlglot cannot follow); None when it has to
    be worked out (:func:`column_lineage`)."""
    if manifest["nodes"].get(unique_id, {}).get("resource_type") != "model":
        return {}
    job = _job(manifest, target_path, columns, unique_id)
    if job is None:
        return {}
    return _from_cache(cache.get(job["key"]))


def _from_cache(hit) -> Lineage | None:
    """A cache entry as a model's lineage (its pairs back to tuples); None for no entry."""
    return {c: [tuple(d) for d in deps] for c, deps in hit.items()} if isinstance(hit, dict) else None


def column_lineage(
    manifest: Mapping[str, Any],
    target_path: Path,
    columns: Columns,
    unique_ids: Iterable[str],
    cache_path: Path,
    workers: int = 2,
    on_skip: Callable[[str, str], None] | None = None,
    keep: Iterable[str] = (),
) -> dict[str, Lineage]:
    """The lineage of each model in ``unique_ids`` that sqlglot can follow, from the cache where
    nothing it depends on has changed. ``keep``: models of the same build whose cached entries
    (read with :func:`cached_lineage`) must outlive a prune of the cache."""
    jobs = [job for uid in unique_ids if (job := _job(manifest, target_path, columns, uid)) is not None]
    cache = read_cache(cache_path)
    results: dict[str, Lineage] = {}
    todo = []
    for job in jobs:
        hit = _from_cache(cache.get(job["key"]))
        if hit is not None:
            results[job["unique_id"]] = hit
        else:
            todo.append(job)
    if todo:
        if workers > 1 and len(todo) >= PARALLEL_FROM:
            # spawned, not forked: the parent may be a Dagster process with threads
            with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
                worked = list(pool.map(_safe_lineage, todo))
        else:
            worked = [_safe_lineage(job) for job in todo]
        keys = {job["unique_id"]: job["key"] for job in todo}
        for unique_id, result, problem in worked:
            if result is None:
                logger.info("no column lineage for %s: %s", unique_id, problem)
                if on_skip:
                    on_skip(unique_id, problem or "")
                result = {}  # cached too: the same SQL and inputs fail the same way
            cache[keys[unique_id]] = result
            if result:
                results[unique_id] = result
        if len(cache) > CACHE_LIMIT:  # only models of today's SQL are kept once the cache grows large
            kept = (_job(manifest, target_path, columns, uid) for uid in keep)
            live = {job["key"] for job in [*jobs, *kept] if job is not None}
            cache = {k: v for k, v in cache.items() if k in live}
        _write_cache(cache_path, cache)
    return {uid: lineage for uid, lineage in results.items() if lineage}
