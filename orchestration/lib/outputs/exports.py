"""Open exports of the published warehouse for BI tools, and the folder swaps every output uses.

``export_published`` writes one Parquet file per published table
(``exports/<schema>.<table>.parquet``, column descriptions in the Parquet field metadata) and
``exports/data_dictionary.json``: each table's grain, row count and checksum, and its columns with
types and the descriptions from dbt's manifest. Files are written to a staging folder first and
each is moved into ``exports/`` with ``os.replace``, so a BI tool reading an export sees the old
file or the new one, never a partial one.

Folders (briefings, docs) are swapped whole with :func:`replace_directory`.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib import run_lock
from orchestration.lib.outputs import spreadsheets
from orchestration.lib.publish.documentation import AUDIT_TABLES, dbt_documentation, grain_of
from orchestration.lib.sql import quote_identifier

EXPORTED_SCHEMAS = ("marts", "audit")
DICTIONARY_NAME = "data_dictionary.json"

# --- swapping outputs in --------------------------------------------------------------------------


def staging_dir(target: Path) -> Path:
    """A fresh folder beside ``target`` (same filesystem, so the final rename is atomic). Stale
    ones left by a process that died are removed first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    prefix = f".{target.name}.staging-"
    for stale in target.parent.glob(prefix + "*"):
        match = re.match(r"(\d+)-", stale.name[len(prefix) :])
        if not match or not run_lock.pid_alive(int(match.group(1))) or int(match.group(1)) == os.getpid():
            remove_tree(stale)
    path = target.parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


def remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    if ctypes.get_errno() in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM):
        return False
    raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()), str(b))


def replace_directory(staged: Path, target: Path) -> None:
    """Put the complete folder ``staged`` at ``target``. Where the kernel can, the two are
    exchanged in one step (a reader sees the old folder or the new one, never neither);
    elsewhere the old folder is renamed aside just before the new one is renamed in."""
    if not target.exists():
        os.replace(staged, target)
        return
    if _exchange(staged, target):
        remove_tree(staged)  # now holds the previous folder
        return
    aside = target.parent / f".{target.name}.previous-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    os.replace(target, aside)
    try:
        os.replace(staged, target)
    except BaseException:
        os.replace(aside, target)
        raise
    remove_tree(aside)


def link_or_copy(source: Path, destination: Path) -> None:
    """Hard-link a file or folder tree (nothing rewritten in place ever reaches the original);
    copy where links are not possible."""
    if source.is_dir():
        destination.mkdir(exist_ok=True)
        for entry in source.iterdir():
            link_or_copy(entry, destination / entry.name)
        return
    try:
        os.link(source, destination)
    except OSError:
        shutil.copy2(source, destination)


# --- the data dictionary ------------------------------------------------------------------------


def published_tables(con: duckdb.DuckDBPyConnection, schemas=EXPORTED_SCHEMAS) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database() "
        f"AND schema_name IN ({', '.join('?' for _ in schemas)}) ORDER BY schema_name = 'audit', 1, 2",
        list(schemas),
    ).fetchall()


def data_dictionary(con: duckdb.DuckDBPyConnection, manifest_path: Path | None) -> dict:
    docs = {**dbt_documentation(manifest_path), **AUDIT_TABLES}
    checksums, publication = {}, {}
    if ("audit", "publications") in published_tables(con):
        rows = con.execute(
            "SELECT publication_id, published_at, code_version, table_checksums FROM audit.publications "
            "ORDER BY published_at DESC LIMIT 1"
        ).fetchall()
        if rows:
            row = rows[0]
            publication = {"publication_id": row[0], "published_at": str(row[1]), "code_version": row[2]}
            checksums = json.loads(row[3] or "{}")
    tables = []
    for schema, table in published_tables(con):
        name = f"{schema}.{table}"
        doc = docs.get(name, {})
        columns = con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_catalog = current_database() AND table_schema = ? AND table_name = ? ORDER BY ordinal_position",
            [schema, table],
        ).fetchall()
        entry = {
            "table": name,
            "file": f"{name}.parquet",
            "description": doc.get("description") or None,
            "grain": doc.get("grain") or grain_of(doc.get("description", "")),
            "rows": con.execute(
                f"SELECT count(*) FROM {quote_identifier(schema)}.{quote_identifier(table)}"
            ).fetchall()[0][0],
            "columns": [
                {
                    "name": column,
                    "type": data_type,
                    "nullable": nullable == "YES",
                    "description": (doc.get("columns") or {}).get(column) or None,
                }
                for column, data_type, nullable in columns
            ],
        }
        if name in checksums:
            entry["checksum"] = checksums[name]["checksum"]
        tables.append(entry)
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "publication": publication,
        "format": "Per table: exports/<schema>.<table>.parquet (column descriptions also in each file's Parquet "
        "field metadata, key 'description') and exports/<schema>.<table>.csv (UTF-8 with a byte-order mark, for "
        f"Excel); every table in exports/{spreadsheets.WORKBOOK_NAME}, a sheet each after a 'read me' sheet. In "
        "CSV and XLSX, list columns are text joined with '; ', a withheld value is a blank cell beside its "
        "value_status, and text that Excel would run as a formula is never one.",
        "tables": tables,
    }


# --- Parquet ------------------------------------------------------------------------------------


@dataclass
class ExportRun:
    out_dir: Path
    files: dict[str, Path]  # table -> parquet
    dictionary: Path
    csv_files: dict[str, Path]  # table -> csv
    workbook: Path
    rows: dict[str, int]


def _arrow(con: duckdb.DuckDBPyConnection, sql: str):
    relation = con.sql(sql)
    for method in ("to_arrow_table", "fetch_arrow_table", "arrow"):
        if hasattr(relation, method):
            table = getattr(relation, method)()
            return table.read_all() if hasattr(table, "read_all") else table
    raise RuntimeError("this DuckDB cannot return Arrow tables")


def _write_tables(con: duckdb.DuckDBPyConnection, dictionary: dict, stage: Path) -> dict[str, Path]:
    """Each table of ``dictionary`` as Parquet (column descriptions in its field metadata) and CSV
    in ``stage``; table -> its Parquet file. Adds each entry's csv_file and columns' parquet_type."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staged: dict[str, Path] = {}
    for entry in dictionary["tables"]:
        schema, table = entry["table"].split(".", 1)
        arrow = _arrow(con, f"SELECT * FROM {quote_identifier(schema)}.{quote_identifier(table)}")
        descriptions = {c["name"]: c["description"] for c in entry["columns"]}
        fields = [
            f.with_metadata({b"description": descriptions[f.name].encode()}) if descriptions.get(f.name) else f
            for f in arrow.schema
        ]
        metadata = {b"table": entry["table"].encode()}
        if entry["description"]:
            metadata[b"description"] = entry["description"].encode()
        if entry["grain"]:
            metadata[b"grain"] = entry["grain"].encode()
        arrow = arrow.cast(pa.schema(fields, metadata=metadata))
        for column, arrow_field in zip(entry["columns"], arrow.schema):
            column["parquet_type"] = str(arrow_field.type)
        path = stage / entry["file"]
        pq.write_table(arrow, path, compression="zstd")
        staged[entry["table"]] = path
        entry["csv_file"] = f"{entry['table']}.csv"
        spreadsheets.write_csv(con, schema, table, stage / entry["csv_file"])
    return staged


def _write_files(
    con: duckdb.DuckDBPyConnection, dictionary: dict, stage: Path
) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """The Parquet and CSV files (_write_tables) and the workbook, in ``stage``."""
    return _write_tables(con, dictionary, stage), spreadsheets.write_workbook(
        con, dictionary, stage / spreadsheets.WORKBOOK_NAME
    )


def export_published(published_db: Path, out_dir: Path, manifest_path: Path | None = None) -> ExportRun:
    """One Parquet per published table plus the data dictionary, swapped into ``out_dir`` file
    by file; exports of tables no longer published are removed afterwards."""
    if not published_db.exists():
        raise FileNotFoundError(f"no published database at {published_db}: run `make run` first")
    stage = staging_dir(out_dir)
    try:
        with duckdb.connect(str(published_db), read_only=True) as con:
            con.execute("SET enable_progress_bar = false")
            dictionary = data_dictionary(con, manifest_path)
            staged, sheets = _write_files(con, dictionary, stage)
            for entry in dictionary["tables"]:
                entry["xlsx_sheets"] = sheets.get(entry["table"], [])
        dictionary_path = stage / DICTIONARY_NAME
        dictionary_path.write_text(json.dumps(dictionary, indent=1, default=str) + "\n", encoding="utf-8")
        out_dir.mkdir(parents=True, exist_ok=True)
        final: dict[str, Path] = {}
        csv_files: dict[str, Path] = {}
        for table, path in staged.items():
            os.replace(path, out_dir / path.name)
            final[table] = out_dir / path.name
            csv_name = f"{table}.csv"
            os.replace(stage / csv_name, out_dir / csv_name)
            csv_files[table] = out_dir / csv_name
        os.replace(stage / spreadsheets.WORKBOOK_NAME, out_dir / spreadsheets.WORKBOOK_NAME)
        os.replace(dictionary_path, out_dir / DICTIONARY_NAME)  # last: it describes the files above
        keep = {p.name for p in [*final.values(), *csv_files.values()]} | {DICTIONARY_NAME}
        for old in [*out_dir.glob("*.parquet"), *out_dir.glob("*.csv")]:
            if old.name not in keep:
                old.unlink()
    finally:
        remove_tree(stage)
    return ExportRun(
        out_dir,
        final,
        out_dir / DICTIONARY_NAME,
        csv_files,
        out_dir / spreadsheets.WORKBOOK_NAME,
        {t["table"]: t["rows"] for t in dictionary["tables"]},
    )


def export_problems(published_db: Path, out_dir: Path) -> tuple[int, list[str]]:
    """What the exports in ``out_dir`` lack against the publication they were written from: (the
    tables published, problems). One Parquet per published table with its rows and columns, a CSV
    beside it, the data dictionary, and the workbook with a sheet for every table it holds."""
    import pyarrow.parquet as pq

    problems = []
    with duckdb.connect(str(published_db), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name, column_count FROM duckdb_tables() WHERE schema_name IN ('marts', 'audit')"
        ).fetchall()
        for schema, table, column_count in tables:
            path = out_dir / f"{schema}.{table}.parquet"
            if not path.exists():
                problems.append(f"{path.name} missing")
                continue
            rows = con.execute(f"SELECT count(*) FROM {quote_identifier(schema)}.{quote_identifier(table)}").fetchall()[
                0
            ][0]
            metadata = pq.read_metadata(path)
            if (metadata.num_rows, metadata.num_columns) != (rows, column_count):
                problems.append(
                    f"{path.name}: {metadata.num_rows} rows x {metadata.num_columns} columns, "
                    f"published {rows} x {column_count}"
                )
            if not path.with_suffix(".csv").exists():
                problems.append(f"{path.with_suffix('.csv').name} missing")
    if not (out_dir / DICTIONARY_NAME).exists():
        problems.append(f"{DICTIONARY_NAME} missing")
    return len(tables), problems + _workbook_problems(out_dir / spreadsheets.WORKBOOK_NAME, tables)


def _workbook_problems(path: Path, tables) -> list[str]:
    if not path.exists():
        return [f"{path.name} missing"]
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True)
    try:
        sheets = set(workbook.sheetnames)
    finally:
        workbook.close()
    return [
        f"{path.name} has no sheet {table}"
        for schema, table, _ in tables
        if f"{schema}.{table}" not in spreadsheets.CSV_ONLY and table[: spreadsheets.XLSX_SHEET_NAME_MAX] not in sheets
    ]
