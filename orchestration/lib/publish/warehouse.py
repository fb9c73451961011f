"""Atomic publication of the build database to the served warehouse.

The served file ``education.duckdb`` is only ever replaced by ``os.replace`` of a complete,
checkpointed copy written beside it, so a reader (or a crash) sees either the old publication or
the new one, never a mixture; a failed run never reaches this code at all.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib import run_lock
from orchestration.lib.settings import REPO_ROOT
from orchestration.lib.sql import quote_identifier, sql_literal

PUBLISHED_SCHEMAS = ("marts",)
PUBLICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS audit.publications (
    publication_id VARCHAR PRIMARY KEY,
    published_at TIMESTAMP WITH TIME ZONE NOT NULL,
    code_version VARCHAR NOT NULL,
    sources_file VARCHAR,
    raw_files VARCHAR NOT NULL,        -- JSON list: dataset, source_file, sha256, size, release, landed_seq
    check_results VARCHAR NOT NULL,    -- JSON list: check, asset, passed, description
    table_checksums VARCHAR NOT NULL,  -- JSON object: table -> {rows, checksum}
    previous_publication_id VARCHAR,
    parameters VARCHAR                 -- JSON object: settings that shape the published values
)
"""


@dataclass(frozen=True)
class Publication:
    publication_id: str
    path: Path
    tables: dict[str, dict]


def code_version() -> str:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True
        ).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def table_checksums(con: duckdb.DuckDBPyConnection, catalog: str, schemas=PUBLISHED_SCHEMAS) -> dict[str, dict]:
    """Order-independent content checksum per table, so two runs on the same inputs can be compared."""
    result = {}
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name IN "
        f"({', '.join('?' for _ in schemas)}) ORDER BY 1, 2",
        [catalog, *schemas],
    ).fetchall()
    for schema, table in tables:
        rows, checksum = con.execute(
            f"SELECT count(*), md5(coalesce(string_agg(h, '' ORDER BY h), '')) "
            f"FROM (SELECT md5(t::VARCHAR) AS h FROM {quote_identifier(catalog)}.{quote_identifier(schema)}.{quote_identifier(table)} AS t)"
        ).fetchone()
        result[f"{schema}.{table}"] = {"rows": rows, "checksum": checksum}
    return result


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    build_db: Path,
    published_db: Path,
    publication_id: str,
    raw_files: list[dict],
    check_results: list[dict],
    sources_file: str | None = None,
    parameters: dict | None = None,
) -> Publication:
    """Publish under the folder's publication lock, so two publications never race (one would
    delete the other's partial file as a crashed run's leftover)."""
    with run_lock.publishing(published_db.parent):
        return _publish(build_db, published_db, publication_id, raw_files, check_results, sources_file, parameters)


def _publish(
    build_db: Path,
    published_db: Path,
    publication_id: str,
    raw_files: list[dict],
    check_results: list[dict],
    sources_file: str | None,
    parameters: dict | None,
) -> Publication:
    for stale in published_db.parent.glob(f".{published_db.name}.*.partial*"):
        stale.unlink()  # left by a publication that crashed: none other is running (the lock)
    partial = published_db.parent / f".{published_db.name}.{publication_id}.partial"
    try:
        with duckdb.connect(str(partial)) as con:
            # DuckDB takes no parameter for ATTACH's path: a quoted literal (a folder may be named
            # "council's data")
            con.execute(f"ATTACH {sql_literal(str(build_db))} AS build (READ_ONLY)")
            for schema in PUBLISHED_SCHEMAS:
                con.execute(f"CREATE SCHEMA {quote_identifier(schema)}")
                for (table,) in con.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = 'build' AND schema_name = ? ORDER BY 1",
                    [schema],
                ).fetchall():
                    name = f"{quote_identifier(schema)}.{quote_identifier(table)}"
                    con.execute(f"CREATE TABLE {name} AS SELECT * FROM build.{name}")
            con.execute("DETACH build")
            checksums = table_checksums(con, con.execute("SELECT current_database()").fetchone()[0])
            con.execute("CREATE SCHEMA audit")
            con.execute(PUBLICATIONS_DDL)
            previous_id = None
            if published_db.exists():
                con.execute(f"ATTACH {sql_literal(str(published_db))} AS previous (READ_ONLY)")
                has_audit = con.execute(
                    "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' "
                    "AND schema_name = 'audit' AND table_name = 'publications'"
                ).fetchone()[0]
                if has_audit:
                    con.execute("INSERT INTO audit.publications BY NAME SELECT * FROM previous.audit.publications")
                    previous_id = con.execute(
                        "SELECT publication_id FROM audit.publications ORDER BY published_at DESC LIMIT 1"
                    ).fetchone()
                    previous_id = previous_id[0] if previous_id else None
                con.execute("DETACH previous")
            con.execute(
                "INSERT INTO audit.publications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    publication_id,
                    datetime.now(UTC),
                    code_version(),
                    sources_file,
                    json.dumps(raw_files, sort_keys=True),
                    json.dumps(check_results, sort_keys=True),
                    json.dumps(checksums, sort_keys=True),
                    previous_id,
                    json.dumps(parameters or {}, sort_keys=True),
                ],
            )
            con.execute("CHECKPOINT")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, published_db)
        _fsync_dir(published_db.parent)
    finally:
        for leftover in (partial, partial.with_name(partial.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
    return Publication(publication_id, published_db, checksums)
