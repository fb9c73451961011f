"""The publication in PostgreSQL, for BI servers (Power BI gateway, Tableau Server, Metabase,
Superset) that read PostgreSQL natively and a DuckDB file poorly.

After the DuckDB publication, its tables (every schema it publishes: marts and audit) are loaded
into a PostgreSQL database with the same contract: the same columns and types, the keys the dbt
tests prove (primary keys), the dbt descriptions as comments. Readers never see a half-loaded
publication: in one transaction the tables are created and filled in loading schemas
(``marts__loading``), counted against the DuckDB file, and the loading schemas are renamed over
the published ones (the old ones renamed aside first). The previous publication stays whole and
readable until that transaction commits; a failure at any point rolls it all back and leaves the
previous publication as it was. Publications to the same database never interleave (an advisory
lock). The old schemas are dropped afterwards, in a transaction of their own, so a reader's
long query delays only that clean-up, never the swap.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.publish.documentation import comment_statements, table_documentation, table_keys
from orchestration.lib.sql import quote_identifier

LOADING_SUFFIX = "__loading"
RETIRED_SUFFIX = "__retired"
ADVISORY_LOCK_KEY = 7_120_191_615  # any fixed number: "a publication of this project is loading"
CONNECT_TIMEOUT_SECONDS = 15
BATCH_ROWS = 10_000

# DuckDB type -> PostgreSQL type; DECIMAL(p,s) and lists (T[]) are handled below.
PG_TYPES = {
    "VARCHAR": "text",
    "BOOLEAN": "boolean",
    "TINYINT": "smallint",
    "SMALLINT": "smallint",
    "INTEGER": "integer",
    "BIGINT": "bigint",
    "UTINYINT": "smallint",
    "USMALLINT": "integer",
    "UINTEGER": "bigint",
    "UBIGINT": "numeric",
    "HUGEINT": "numeric",
    "FLOAT": "real",
    "DOUBLE": "double precision",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}


@dataclass(frozen=True)
class PostgresPublication:
    database: str  # host:port/dbname, never the password
    tables: dict[str, int]  # schema.table -> rows
    seconds: float


def pg_type(duckdb_type: str, where: str) -> str:
    if duckdb_type.endswith("[]"):
        return pg_type(duckdb_type[:-2], where) + "[]"
    decimal = re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", duckdb_type)
    if decimal:
        return f"numeric({decimal.group(1)}, {decimal.group(2)})"
    if duckdb_type in PG_TYPES:
        return PG_TYPES[duckdb_type]
    raise ValueError(f"{where}: DuckDB type {duckdb_type} has no PostgreSQL equivalent here")


def describe_database(url: str) -> str:
    """Where a URL points, without its password (for logs and metadata)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - an unreadable URL is described, never printed
        return "an unreadable EDU_PUBLISH_POSTGRES_URL"
    return f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


def _tables(duck: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return duck.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "ORDER BY schema_name, table_name"
    ).fetchall()


def _columns(duck: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str, bool]]:
    return duck.execute(
        "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()


def publish_postgres(
    source_db: Path, url: str, manifest_path: Path | None = None, read_role: str | None = None
) -> PostgresPublication:
    """Load the publication in ``source_db`` (a private copy of the served DuckDB file) into the
    PostgreSQL database at ``url`` and swap it in atomically."""
    import psycopg
    from psycopg import sql

    started = time.perf_counter()
    docs, keys = table_documentation(manifest_path), table_keys(manifest_path)
    loaded: dict[str, int] = {}
    with (
        duckdb.connect(str(source_db), read_only=True) as duck,
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name="edu_outcomes publish") as pg,
    ):
        pg.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK_KEY])
        pg.commit()
        try:
            tables = _tables(duck)
            schemas = sorted({schema for schema, _ in tables})
            _drop_retired(pg, schemas)  # left by a clean-up a reader held up last time
            for schema in schemas:
                loading = sql.Identifier(schema + LOADING_SUFFIX)
                pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(loading))
                pg.execute(sql.SQL("CREATE SCHEMA {}").format(loading))
            for schema, table in tables:
                loaded[f"{schema}.{table}"] = _load_table(duck, pg, schema, table, docs, keys.get(f"{schema}.{table}"))
            for schema in schemas:
                if read_role:
                    _grant(pg, schema + LOADING_SUFFIX, read_role)
                # The swap: the new schema takes the published name in this same transaction.
                if _schema_exists(pg, schema):
                    pg.execute(
                        sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                            sql.Identifier(schema), sql.Identifier(schema + RETIRED_SUFFIX)
                        )
                    )
                pg.execute(
                    sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                        sql.Identifier(schema + LOADING_SUFFIX), sql.Identifier(schema)
                    )
                )
            pg.commit()
            _drop_retired(pg, schemas)
        except BaseException:
            pg.rollback()
            raise
        finally:
            pg.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK_KEY])
            pg.commit()
    return PostgresPublication(describe_database(url), loaded, round(time.perf_counter() - started, 2))


def _schema_exists(pg, schema: str) -> bool:
    return pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", [schema]).fetchone()[0] > 0


def _drop_retired(pg, schemas: list[str]) -> None:
    from psycopg import sql

    for schema in schemas:
        pg.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema + RETIRED_SUFFIX)))
    pg.commit()


def _grant(pg, schema: str, role: str) -> None:
    from psycopg import sql

    pg.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role)))
    pg.execute(
        sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(sql.Identifier(schema), sql.Identifier(role))
    )


def _load_table(duck, pg, schema: str, table: str, docs: dict, key: list[str] | None) -> int:
    from psycopg import sql

    name = f"{schema}.{table}"
    target = sql.Identifier(schema + LOADING_SUFFIX, table)
    columns = _columns(duck, schema, table)
    types = [pg_type(data_type, f"{name}.{column}") for column, data_type, _ in columns]
    definitions = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(column), sql.SQL(pg_type_sql), sql.SQL("" if nullable else " NOT NULL")
        )
        for (column, _, nullable), pg_type_sql in zip(columns, types)
    ]
    pg.execute(sql.SQL("CREATE TABLE {} ({})").format(target, sql.SQL(", ").join(definitions)))
    column_list = sql.SQL(", ").join(sql.Identifier(column) for column, _, _ in columns)
    result = duck.execute(f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(table)}")
    rows = 0
    with pg.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, column_list)) as copy:
        copy.set_types([re.sub(r"\(.*\)", "", t) for t in types])
        while batch := result.fetchmany(BATCH_ROWS):
            for row in batch:
                copy.write_row(row)
            rows += len(batch)
    counted = pg.execute(sql.SQL("SELECT count(*) FROM {}").format(target)).fetchone()[0]
    if counted != rows:
        raise RuntimeError(f"{name}: {counted:,} rows arrived in PostgreSQL of {rows:,} published")
    if key and all(k in {c for c, _, _ in columns} for k in key):
        has_nulls = pg.execute(
            sql.SQL("SELECT count(*) FROM {} WHERE {}").format(
                target, sql.SQL(" OR ").join(sql.SQL("{} IS NULL").format(sql.Identifier(k)) for k in key)
            )
        ).fetchone()[0]
        # A key with a blank part cannot be a primary key; it is unique all the same.
        constraint = "UNIQUE NULLS NOT DISTINCT ({})" if has_nulls else "PRIMARY KEY ({})"
        pg.execute(
            sql.SQL("ALTER TABLE {} ADD " + constraint).format(
                target, sql.SQL(", ").join(sql.Identifier(k) for k in key)
            )
        )
    for statement_target, text in comment_statements(
        name, [c for c, _, _ in columns], docs, schema=schema + LOADING_SUFFIX
    ):
        pg.execute(sql.SQL("COMMENT ON {} IS {}").format(sql.SQL(statement_target), sql.Literal(text)))
    return rows
