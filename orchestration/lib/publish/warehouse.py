"""Atomic publication of the build database to the served warehouse.

The served file ``education.duckdb`` is only ever replaced by ``os.replace`` of a complete,
checkpointed copy written beside it, so a reader (or a crash) sees either the old publication or
the new one, never a mixture; a failed run never reaches this code at all.

The pipeline never opens the served file itself. DuckDB locks a file it opens, so a BI tool holding
it read-write would stop every other process from opening it, even read-only; the pipeline reads a
private byte copy instead (:func:`published_copy`), which is a whole publication because the
served file is only ever replaced, never written in place. The file is written in DuckDB's
storage format of version 1.1, which BI drivers bundling an older DuckDB than the pipeline's open.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib import run_lock
from orchestration.lib.publish.documentation import comment_statements, table_documentation
from orchestration.lib.settings import REPO_ROOT
from orchestration.lib.sql import quote_identifier, sql_literal

PUBLISHED_SCHEMAS = ("marts",)
# The oldest DuckDB still common inside BI drivers (ODBC/JDBC for Power BI, Tableau, Metabase,
# Superset) is 1.1; a file in a newer storage format is refused by it. The README states this promise.
PUBLISHED_STORAGE_VERSION = "v1.1.0"
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
    manifest_path: Path | None = None,
) -> Publication:
    """Publish under the folder's publication lock, so two publications never race (one would
    delete the other's partial file as a crashed run's leftover)."""
    with run_lock.publishing(published_db.parent):
        return _publish(
            build_db, published_db, publication_id, raw_files, check_results, sources_file, parameters, manifest_path
        )


def _private_copy(source: Path, destination: Path) -> Path:
    """A byte copy of ``source`` readable only by this user."""
    with source.open("rb") as reader:
        fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    return destination


@contextmanager
def published_copy(published_db: Path, scratch_dir: Path) -> Iterator[Path]:
    """A private copy of the served publication for the pipeline's own readers (outputs, the
    PostgreSQL load, the audit history), so a BI tool holding the served file open, even
    read-write, never stops them; removed afterwards."""
    if not published_db.exists():
        raise FileNotFoundError(f"no published database at {published_db}: run `make run` first")
    scratch_dir.mkdir(parents=True, exist_ok=True)
    for stale in scratch_dir.glob(".reading-*.duckdb*"):  # left by a process that was killed
        pid = stale.name.split("-")[1]
        if not (pid.isdigit() and run_lock.pid_alive(int(pid))):
            stale.unlink(missing_ok=True)
    copy = scratch_dir / f".reading-{os.getpid()}-{uuid.uuid4().hex[:8]}.duckdb"
    try:
        yield _private_copy(published_db, copy)
    finally:
        copy.unlink(missing_ok=True)
        copy.with_name(copy.name + ".wal").unlink(missing_ok=True)


def _comment(con: duckdb.DuckDBPyConnection, docs: dict[str, dict]) -> int:
    """Put dbt's descriptions on the published tables and columns as database comments (what
    a BI tool shows beside a field). COMMENT takes no parameters: the text is a quoted literal."""
    count = 0
    for schema, table in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() ORDER BY 1, 2"
    ).fetchall():
        columns = [
            c
            for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, table],
            ).fetchall()
        ]
        for target, text in comment_statements(f"{schema}.{table}", columns, docs):
            con.execute(f"COMMENT ON {target} IS {sql_literal(text)}")
            count += 1
    return count


def _previous_publications(con: duckdb.DuckDBPyConnection, previous: Path) -> str | None:
    """Carry the audit history over from the publication being replaced (read from a private
    copy); the id of the latest one."""
    con.execute(f"ATTACH {sql_literal(str(previous))} AS previous (READ_ONLY)")
    try:
        has_audit = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'previous' "
            "AND schema_name = 'audit' AND table_name = 'publications'"
        ).fetchone()[0]
        if not has_audit:
            return None
        con.execute("INSERT INTO audit.publications BY NAME SELECT * FROM previous.audit.publications")
        latest = con.execute(
            "SELECT publication_id FROM audit.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchone()
        return latest[0] if latest else None
    finally:
        con.execute("DETACH previous")


def _publish(
    build_db: Path,
    published_db: Path,
    publication_id: str,
    raw_files: list[dict],
    check_results: list[dict],
    sources_file: str | None,
    parameters: dict | None,
    manifest_path: Path | None,
) -> Publication:
    for stale in published_db.parent.glob(f".{published_db.name}.*.partial*"):
        stale.unlink()  # left by a publication that crashed: none other is running (the lock)
    partial = published_db.parent / f".{published_db.name}.{publication_id}.partial"
    previous = partial.with_name(partial.name + ".previous")
    try:
        with duckdb.connect() as con:
            # DuckDB takes no parameter for ATTACH's path: a quoted literal (a folder may be named
            # "council's data")
            con.execute(
                f"ATTACH {sql_literal(str(partial))} AS publication "
                f"(STORAGE_VERSION {sql_literal(PUBLISHED_STORAGE_VERSION)})"
            )
            con.execute("USE publication")
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
            checksums = table_checksums(con, "publication")
            con.execute("CREATE SCHEMA audit")
            con.execute(PUBLICATIONS_DDL)
            previous_id = None
            if published_db.exists():
                previous_id = _previous_publications(con, _private_copy(published_db, previous))
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
            _comment(con, table_documentation(manifest_path))
            con.execute("CHECKPOINT publication")
            con.execute("USE memory")
            con.execute("DETACH publication")
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, published_db)
        _fsync_dir(published_db.parent)
    finally:
        for leftover in (partial, previous):
            for path in (leftover, leftover.with_name(leftover.name + ".wal")):
                path.unlink(missing_ok=True)
    return Publication(publication_id, published_db, checksums)
