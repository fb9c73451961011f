"""Parse landed CSV files and load them into DuckDB ``raw.*`` as text, with lineage columns.

Everything stays text here: typing and symbol parsing happen in dbt staging, so the raw tables
show exactly what the file said. Header *form* is normalised (BOM, case, whitespace) because real
DfE files vary in it; header *names* (aliases) are mapped in staging.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.lib import ees_cells
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.landing import LandedFile
from orchestration.lib.settings import DBT_PROJECT_DIR
from orchestration.lib.sources import DatasetSpec

TIME_COLUMNS = ("time_period", "time_identifier")
GEOGRAPHY_COLUMNS = (
    "geographic_level", "country_code", "country_name", "region_code", "region_name",
    "old_la_code", "new_la_code", "la_name",
    # further EES geography columns some files carry
    "lad_code", "lad_name", "pcon_code", "pcon_name", "opportunity_area_code",
    "opportunity_area_name", "ward_code", "ward_name", "school_urn", "school_laestab", "school_name",
)
VERSION_COLUMN = "version"
LINEAGE_COLUMNS = {
    "_file_sha256": "VARCHAR",
    "_source_file": "VARCHAR",
    "_row_number": "INTEGER",
    "_release": "VARCHAR",
    "_landed_seq": "INTEGER",
    # EES API sources: the data set and version each row came from (NULL for plain files)
    "_data_set_id": "VARCHAR",
    "_data_set_version": "VARCHAR",
}
# How EES names indicator columns: counts, percentages, averages and rates.
_INDICATOR_NAME = re.compile(r"^(t|pt|avg|num)_|_(percent|percentage|rate|count|average)$")


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


@lru_cache(maxsize=1)
def catalogue_indicator_columns() -> dict[str, tuple[str, ...]]:
    """dataset -> the indicator columns the measure catalogue (dbt seed) reads from it."""
    path = DBT_PROJECT_DIR / "seeds" / "measure_catalogue.csv"
    columns: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            dataset, column = (record.get("dataset") or "").strip(), normalise_header(record.get("indicator_column") or "")
            if dataset and column and column not in columns.setdefault(dataset, []):
                columns[dataset].append(column)
    return {dataset: tuple(names) for dataset, names in columns.items()}


def known_indicator_names(spec: DatasetSpec) -> set[str]:
    """The catalogue's indicator columns of ``spec`` and every alias staging maps onto them."""
    names = set(catalogue_indicator_columns().get(spec.name, ()))
    for canonical, aliases in spec.aliases.items():
        names.add(canonical)
        names.update(aliases)
    return names


@dataclass
class ParsedFile:
    landed: LandedFile
    source_file: str
    release: str | None
    columns: list[str]
    original_names: dict[str, str]
    rows: list[list[str]]
    row_numbers: list[int]
    encoding: str
    roles: dict[str, str] = field(default_factory=dict)


def _decode(raw: bytes, path_for_messages: str) -> tuple[str, str]:
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        # Files re-saved from Excel on Windows arrive as cp1252; names may carry accents but the
        # numbers are ASCII, so reading them as cp1252 loses nothing. Recorded in lineage.
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            line = raw[: exc.start].count(b"\n") + 1
            raise PipelineInputError(
                f"{path_for_messages}: line {line}: not UTF-8 or Windows-1252 text (byte {exc.start})"
            ) from exc


def parse_csv(landed: LandedFile, source_file: str, release: str | None, spec: DatasetSpec) -> ParsedFile:
    path = Path(landed.landed_path)
    text, encoding = _decode(path.read_bytes(), source_file)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PipelineInputError(f"{source_file}: the file is empty (no header row)") from None
    columns = [normalise_header(h) for h in header]
    for position, (original, name) in enumerate(zip(header, columns), start=1):
        if not name:
            raise PipelineInputError(f"{source_file}: header column {position} ('{original}') is blank")
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise PipelineInputError(
            f"{source_file}: header names repeat after normalising case and spaces: {', '.join(duplicated)}"
        )
    present = set(columns)
    missing = [c for c in spec.required_columns if not spec.has_column(present, c)]
    if missing:
        raise PipelineInputError(
            f"{source_file}: required column(s) missing: {', '.join(missing)} "
            f"(dataset '{spec.name}'; the file has: {', '.join(columns)})"
        )
    rows: list[list[str]] = []
    row_numbers: list[int] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise PipelineInputError(
                    f"{source_file}: line {reader.line_num}: {len(row)} fields where the header has {len(columns)}"
                )
            rows.append([cell.strip() for cell in row])
            row_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise PipelineInputError(f"{source_file}: line {reader.line_num}: malformed CSV: {exc}") from exc
    if not rows:
        raise PipelineInputError(f"{source_file}: the file has a header but no data rows")
    parsed = ParsedFile(
        landed=landed,
        source_file=source_file,
        release=release,
        columns=columns,
        original_names=dict(zip(columns, header)),
        rows=rows,
        row_numbers=row_numbers,
        encoding=encoding,
    )
    parsed.roles = classify_columns(parsed, spec)
    check_indicator_columns(parsed, spec)
    return parsed


def check_indicator_columns(parsed: ParsedFile, spec: DatasetSpec) -> None:
    """A file of a known dataset must have at least one indicator column the catalogue reads (or
    an alias of one): otherwise it adds no rows to any measure, silently. The usual cause is DfE
    renaming a column; the fix is an alias in dbt_project.yml."""
    expected = catalogue_indicator_columns().get(spec.name)
    if spec.kind != "ees" or not expected:
        return
    if any(spec.has_column(set(parsed.columns), column) for column in expected):
        return
    standard = ("time", "geography", "version")
    unknown = [c for c in parsed.columns if parsed.roles.get(c) == "indicator"] or [
        c for c in parsed.columns if parsed.roles.get(c) not in standard
    ]
    described = ", ".join(
        column + (f" (or {', '.join(spec.aliases[column])})" if spec.aliases.get(column) else "") for column in expected
    )
    raise PipelineInputError(
        f"{parsed.source_file}: none of the {spec.name} indicator columns the measure catalogue reads is in the file, "
        f"so it would add nothing: expected {described}; "
        f"indicator columns in the file that it does not read: {', '.join(unknown) or '(none)'}. "
        f"If DfE renamed a column, add the new name to its "
        f"aliases in dbt_project/dbt_project.yml (vars: ees_datasets: {spec.name}: aliases)"
    )


def _meta_roles(landed: LandedFile) -> dict[str, str]:
    if not landed.meta_landed_path:
        return {}
    text, _ = _decode(Path(landed.meta_landed_path).read_bytes(), landed.meta_landed_path)
    roles = {}
    for record in csv.DictReader(io.StringIO(text, newline="")):
        record = {normalise_header(k or ""): (v or "").strip() for k, v in record.items()}
        name, kind = normalise_header(record.get("col_name", "")), record.get("col_type", "").lower()
        if name and kind in ("filter", "indicator"):
            roles[name] = kind
    return roles


def classify_columns(parsed: ParsedFile, spec: DatasetSpec) -> dict[str, str]:
    """Role of each column: the file's .meta.csv says which are filters and which indicators;
    without one, a column whose values are all numbers or EES symbols is an indicator."""
    meta = _meta_roles(parsed.landed)
    # A catalogue indicator is an indicator even when a cell holds junk: read as a filter, its
    # rows would silently drop out of every measure instead of failing the raw gate.
    indicators = known_indicator_names(spec) if spec.kind == "ees" else set()
    roles = {}
    for index, column in enumerate(parsed.columns):
        if spec.kind != "ees":
            roles[column] = "other"
        elif column in TIME_COLUMNS:
            roles[column] = "time"
        elif column in GEOGRAPHY_COLUMNS:
            roles[column] = "geography"
        elif column == VERSION_COLUMN:
            roles[column] = "version"
        elif column in meta:
            roles[column] = meta[column]
        elif column in indicators:
            roles[column] = "indicator"
        else:
            values = [row[index] for row in parsed.rows]
            numeric = sum(1 for v in values if ees_cells.is_number_or_symbol(v))
            # An indicator-named column (t_*, pt_*, avg_*, *_percent, *_rate) that is mostly numbers
            # stays an indicator when a few cells hold junk, so the raw gate names those cells;
            # read as a filter it would silently drop every row of the file from every measure.
            looks_numeric = numeric == len(values) or (_INDICATOR_NAME.search(column) and numeric * 2 >= len(values))
            roles[column] = "indicator" if looks_numeric else "filter"
    return roles


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_dataset(con: duckdb.DuckDBPyConnection, dataset: str, files: list[ParsedFile]) -> int:
    """Replace ``raw.<dataset>`` with the rows of ``files``; returns the row count."""
    columns: list[str] = []
    for parsed in files:
        columns += [c for c in parsed.columns if c not in columns]
    if not columns:
        columns = list(TIME_COLUMNS) + ["geographic_level"]
    ddl = [f"{_quote(c)} VARCHAR" for c in columns] + [f"{c} {t}" for c, t in LINEAGE_COLUMNS.items()]
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"CREATE OR REPLACE TABLE raw.{_quote(dataset)} ({', '.join(ddl)})")
    total = 0
    for parsed in files:
        data = {c: pa.array([row[i] for row in parsed.rows], pa.string()) for i, c in enumerate(parsed.columns)}
        count = len(parsed.rows)
        data["_file_sha256"] = pa.array([parsed.landed.sha256] * count, pa.string())
        data["_source_file"] = pa.array([parsed.source_file] * count, pa.string())
        data["_row_number"] = pa.array(parsed.row_numbers, pa.int32())
        data["_release"] = pa.array([parsed.release] * count, pa.string())
        data["_landed_seq"] = pa.array([parsed.landed.landed_seq] * count, pa.int32())
        data["_data_set_id"] = pa.array([parsed.landed.data_set_id] * count, pa.string())
        data["_data_set_version"] = pa.array([parsed.landed.data_set_version] * count, pa.string())
        batch = pa.table(data)
        con.register("_incoming", batch)
        try:
            con.execute(f"INSERT INTO raw.{_quote(dataset)} BY NAME SELECT * FROM _incoming")
        finally:
            con.unregister("_incoming")
        total += count
    return total


def write_file_tables(con: duckdb.DuckDBPyConnection, dataset: str, files: list[ParsedFile]) -> None:
    """Per-file lineage tables: which files landed and the role of each of their columns."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.landed_files (
            dataset VARCHAR, file_sha256 VARCHAR, source_file VARCHAR, landed_path VARCHAR,
            size_bytes BIGINT, release VARCHAR, landed_seq INTEGER, landed_at VARCHAR,
            encoding VARCHAR, row_count INTEGER, meta_sha256 VARCHAR)"""
    )
    for column in ("data_set_id", "data_set_version", "origin_url"):  # build databases made before them
        con.execute(f"ALTER TABLE raw.landed_files ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.file_columns (
            dataset VARCHAR, file_sha256 VARCHAR, column_name VARCHAR, original_name VARCHAR, role VARCHAR)"""
    )
    con.execute("DELETE FROM raw.landed_files WHERE dataset = ?", [dataset])
    con.execute("DELETE FROM raw.file_columns WHERE dataset = ?", [dataset])
    for parsed in files:
        landed = parsed.landed
        con.execute(
            "INSERT INTO raw.landed_files (dataset, file_sha256, source_file, landed_path, size_bytes, release, "
            "landed_seq, landed_at, encoding, row_count, meta_sha256, data_set_id, data_set_version, origin_url) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [dataset, landed.sha256, parsed.source_file, landed.landed_path, landed.size_bytes,
             parsed.release, landed.landed_seq, landed.landed_at, parsed.encoding, len(parsed.rows),
             landed.meta_sha256, landed.data_set_id, landed.data_set_version, landed.origin_url],
        )
        con.executemany(
            "INSERT INTO raw.file_columns VALUES (?, ?, ?, ?, ?)",
            [[dataset, landed.sha256, c, parsed.original_names[c], parsed.roles[c]] for c in parsed.columns]
            # Recorded so staging, which treats unlisted columns by heuristic, never reads them as data.
            + [[dataset, landed.sha256, c, c, "lineage"] for c in ("_data_set_id", "_data_set_version")],
        )
