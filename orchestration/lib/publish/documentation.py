"""What each published table and column means, from dbt's manifest (the models' YAML), for the
places a reader meets it: database comments in the published DuckDB file and in PostgreSQL, the
data dictionary, the Excel read-me sheet and Parquet field metadata."""

from __future__ import annotations

import json
from pathlib import Path

# audit.publications is written by the publication step, not dbt: its documentation lives here.
AUDIT_TABLES = {
    "audit.publications": {
        "description": "One row per publication of the warehouse: when it happened, what it was built from and "
        "which checks passed.",
        "grain": "One row per publication",
        "columns": {
            "publication_id": "Dagster run id of the run that published.",
            "published_at": "When the new database was swapped in (UTC).",
            "code_version": "Git commit of the pipeline code (suffix -dirty when it had uncommitted changes).",
            "sources_file": "The sources.yml the run read.",
            "raw_files": "JSON list of the raw files: dataset, source_file, sha256, size_bytes, release, landed_seq.",
            "check_results": "JSON list of every gate: check, asset, passed, description.",
            "table_checksums": "JSON object: table -> {rows, checksum} (order-independent content checksum).",
            "previous_publication_id": "The publication this one replaced.",
            "parameters": (
                "JSON object: the settings that shape the published values (EDU_SCHOOL_MIN_COHORT, "
                "EDU_SCHOOL_MIN_POSSIBILITIES, EDU_SCHOOL_MIN_INTERVAL_PERCENT)."
            ),
        },
    }
}


def grain_of(description: str) -> str | None:
    """ "One row per local authority (keyed by old_la_code), with ..." -> "One row per local
    authority (keyed by old_la_code)": up to the first , : ; or . outside brackets."""
    start = (description or "").find("One row per ")
    if start < 0:
        return None
    depth = 0
    for end in range(start, len(description)):
        char = description[end]
        depth += char == "("
        depth -= char == ")"
        if depth == 0 and char in ",:;." and not (char == "." and description[end + 1 : end + 2].isalnum()):
            return description[start:end].strip()
    return description[start:].strip()


def dbt_documentation(manifest_path: Path | None) -> dict[str, dict]:
    """``schema.table`` -> {description, columns: {name: description}} from dbt's manifest."""
    docs: dict[str, dict] = {}
    if not manifest_path or not Path(manifest_path).exists():
        return docs
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") not in ("model", "seed", "snapshot"):
            continue
        schema = (node.get("config") or {}).get("schema") or node.get("schema")
        name = node.get("alias") or node.get("name")
        docs[f"{schema}.{name}"] = {
            "description": " ".join((node.get("description") or "").split()),
            "columns": {
                c: " ".join((v.get("description") or "").split()) for c, v in (node.get("columns") or {}).items()
            },
        }
    return docs


def table_documentation(manifest_path: Path | None) -> dict[str, dict]:
    """Every published table's documentation: dbt's models and the audit tables."""
    return {**dbt_documentation(manifest_path), **AUDIT_TABLES}


def comment_statements(
    table: str, columns: list[str], docs: dict[str, dict], schema: str | None = None
) -> list[tuple[str, str]]:
    """(object, comment) pairs for ``COMMENT ON TABLE/COLUMN <object> IS <comment>``, quoted for
    SQL: the same statements serve DuckDB and PostgreSQL. ``schema`` names the schema the table
    is in now when that is not its published one (PostgreSQL's loading schema). Undocumented
    objects get none."""
    from orchestration.lib.sql import quote_identifier

    doc = docs.get(table) or {}
    published_schema, name = table.split(".", 1)
    schema = schema or published_schema
    qualified = f"{quote_identifier(schema)}.{quote_identifier(name)}"
    pairs = []
    if doc.get("description"):
        pairs.append((f"TABLE {qualified}", doc["description"]))
    for column in columns:
        text = (doc.get("columns") or {}).get(column)
        if text:
            pairs.append((f"COLUMN {qualified}.{quote_identifier(column)}", text))
    return pairs


def table_keys(manifest_path: Path | None) -> dict[str, list[str]]:
    """``schema.table`` -> the columns its dbt row checks prove unique together (the ``key`` of its
    row_checks test, tests/generic/row_checks.sql): the key a database can declare."""
    keys: dict[str, list[str]] = {"audit.publications": ["publication_id"]}
    if not manifest_path or not Path(manifest_path).exists():
        return keys
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    nodes = manifest.get("nodes", {})
    for node in nodes.values():
        test = node.get("test_metadata") or {}
        model = nodes.get(node.get("attached_node") or "")
        if node.get("resource_type") != "test" or not model or test.get("name") != "row_checks":
            continue
        kwargs = test.get("kwargs") or {}
        key = (kwargs.get("arguments") or kwargs).get("key")
        if key:
            schema = (model.get("config") or {}).get("schema") or model.get("schema")
            keys[f"{schema}.{model.get('alias') or model['name']}"] = list(key)
    return keys
