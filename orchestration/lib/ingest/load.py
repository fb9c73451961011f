"""Land every source listed in sources.yml and load it into the build database's ``raw`` schema.

Remote sources (``ees_api:``, ``url:``) are first resolved through ``sources.lock`` and downloaded
into the cache (:mod:`orchestration.lib.sources.lock`); from there everything lands the same way:
content-addressed, immutable, recorded in the manifest.

Usable without Dagster (``python -m orchestration.lib.ingest.load``) so dbt can be developed and
debugged on its own; the Dagster ingest asset calls :func:`ingest`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import LandedFile, incoming_copy, land_file, read_manifest
from orchestration.lib.ingest.layouts import ReadAs
from orchestration.lib.ingest.local_datasets import (
    KIND_TABLE,
    LOCAL_TABLES,
    LocalParsedFile,
    LocalSchema,
    check_local_datasets,
    create_local_tables,
    insert_records,
    landed_as,
    measure_records,
    parse_local_file,
    read_schema,
)
from orchestration.lib.ingest.reader import (
    ParsedFile,
    TextScan,
    check_indicator_columns,
    create_raw_table,
    parse_csv,
    read_header,
    scan_text,
    write_file_tables,
)
from orchestration.lib.settings import Settings, load_settings
from orchestration.lib.sources.config import SourceFile, dataset_specs
from orchestration.lib.sources.downloads import Http, Log
from orchestration.lib.sources.ees_api import EesApiClient
from orchestration.lib.sources.ees_content import FIELDS as PUBLICATION_FIELDS
from orchestration.lib.sources.lock import RemoteResult, ResolvedSources, resolve_sources

# Run tag asking the ingest to resolve remote sources again instead of honouring sources.lock:
# "all", or comma-separated dataset names. The new-release sensor sets it for the datasets whose
# data set has a new version; it can be added by hand in the Dagster UI's launchpad.
UPDATE_SOURCES_TAG = "edu/update_sources"


def parse_update_tag(value: str | None) -> bool | set[str]:
    value = (value or "").strip()
    if not value or value.lower() in ("false", "no", "0"):
        return False
    if value.lower() in ("all", "true", "yes", "1"):
        return True
    return {name.strip() for name in value.split(",") if name.strip()}


# A file this many times the size of the previous landing of the same source is stopped until a
# person confirms it (EDU_ALLOW_LARGE_FILES=1): usually the wrong download (school-level instead
# of LA-level, every year instead of one), and it would otherwise build and publish quietly.
LARGE_FILE_FACTOR = 10
ALLOW_LARGE_FILES_ENV = "EDU_ALLOW_LARGE_FILES"
MAX_ROWS_ENV = "EDU_MAX_ROWS_PER_FILE"
# Files let through with the override, so later runs of the same bytes need no override.
ACCEPTED_LARGE_FILES = "accepted_large_files.jsonl"


def _accepted_large_files(landing_dir: Path) -> set[str]:
    path = landing_dir / ACCEPTED_LARGE_FILES
    if not path.exists():
        return set()
    accepted = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            accepted.add(json.loads(line)["sha256"])
        except (json.JSONDecodeError, KeyError, TypeError):
            continue  # a half-written line only means the override is asked for again
    return accepted


def _record_accepted(landing_dir: Path, landed: LandedFile, reason: str) -> None:
    record = {
        "sha256": landed.sha256,
        "dataset": landed.dataset,
        "listed_as": landed.listed_as,
        "reason": reason,
        "accepted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with (landing_dir / ACCEPTED_LARGE_FILES).open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record, sort_keys=True) + "\n")


def previous_landing(landing_dir: Path, landed: LandedFile) -> LandedFile | None:
    """The landing this file replaces: the latest earlier landing of the same source (the same
    sources.yml entry, or the same EES data set) with different bytes."""
    earlier = [
        record
        for record in read_manifest(landing_dir)
        if record.dataset == landed.dataset
        and record.sha256 != landed.sha256
        and record.landed_seq < landed.landed_seq
        and (record.listed_as == landed.listed_as or (landed.data_set_id and record.data_set_id == landed.data_set_id))
    ]
    return max(earlier, key=lambda r: r.landed_seq, default=None)


def check_file_size(settings: Settings, landed: LandedFile, row_count: int | None) -> str | None:
    """Stop a file far larger than usual, unless EDU_ALLOW_LARGE_FILES=1 (then it is recorded as
    accepted and the reason returned for the run's log). ``landed`` may be a candidate not landed
    yet (landed_path ''): its bytes are judged before they are parsed, and its rows (``row_count``,
    None when not counted yet) before it lands."""
    landing_dir = settings.landing_dir
    problems = []
    previous = previous_landing(landing_dir, landed)
    if (
        previous is not None
        and previous.size_bytes > 0
        and landed.size_bytes >= LARGE_FILE_FACTOR * previous.size_bytes
    ):
        problems.append(
            f"it is {landed.size_bytes:,} bytes, {landed.size_bytes / previous.size_bytes:.1f}x the {previous.size_bytes:,} "
            f"bytes of its previous landing (sha256 {previous.sha256[:12]}…, landed {previous.landed_at})"
        )
    limit = settings.max_rows_per_file
    if limit is not None and row_count is not None and row_count > limit:
        problems.append(f"it has {row_count:,} data rows, more than {MAX_ROWS_ENV}={limit:,}")
    if not problems:
        return None
    reason = "; ".join(problems)
    if landed.sha256 in _accepted_large_files(landing_dir):
        return None
    if not settings.allow_large_files:
        raise PipelineInputError(
            f"{landed.listed_as}: unusually large file: {reason}. Check it is the right download (LA-level, the "
            f"expected years); if it is, run once with {ALLOW_LARGE_FILES_ENV}=1 to accept it. "
            + (f"The file is kept as received at {landed.landed_path}" if landed.landed_path else "Nothing was landed.")
        )
    _record_accepted(landing_dir, landed, reason)
    return f"{landed.listed_as}: accepted with {ALLOW_LARGE_FILES_ENV}=1: {reason}"


@dataclass(frozen=True)
class DatasetIngest:
    dataset: str  # the raw table: an EES dataset, or one of the four local_* tables
    files: list[ParsedFile]
    row_count: int
    remote: list[RemoteResult] = field(default_factory=list)
    # local_* tables: the local files loaded into it (files holds their ParsedFile lineage view),
    # and for raw.local_measures the schema files it was read from.
    local_files: list[LocalParsedFile] = field(default_factory=list)
    schemas: list[LocalSchema] = field(default_factory=list)


@dataclass(frozen=True)
class PendingFile:
    """A landed DfE file whose bytes and header have been checked, ready for DuckDB to read."""

    landed: LandedFile
    source_file: str
    release: str | None
    scan: TextScan
    columns: list[str]  # as the header names them (their count is the file's width)
    read: ReadAs  # how its columns are read (lib/ingest/layouts.py), their names as written included


@dataclass
class Landing:
    pending: dict[str, list[PendingFile]]
    sources: ResolvedSources
    # local dataset name -> its schema and files, in sources.yml order
    schemas: dict[str, LocalSchema] = field(default_factory=dict)
    local: dict[str, list[LocalParsedFile]] = field(default_factory=dict)
    # False when only some raw tables are refreshed and none of them is a local_* table
    with_local: bool = True


def _progress(log: Log | None, message: str) -> None:
    if log is not None:
        log.info(message)


def land_sources(
    settings: Settings,
    *,
    datasets: Iterable[str] | None = None,
    update_sources: bool | Iterable[str] = False,
    client: EesApiClient | None = None,
    http: Http | None = None,
    log: Log | None = None,
) -> Landing:
    """Resolve and land every listed source (of ``datasets``: raw table names, default all) and
    check each file's bytes and header; fails before touching the database if any is bad."""
    specs = dataset_specs()
    selected = set(specs) | set(LOCAL_TABLES) if datasets is None else set(datasets)
    resolved = resolve_sources(
        settings.sources_file, settings.landing_dir, update=update_sources, client=client, http=http, log=log
    )
    pending: dict[str, list[PendingFile]] = {name: [] for name in specs if name in selected}
    files = [source for source in resolved.files if source.dataset in pending]
    seen: set[tuple[str, str]] = set()
    for number, source in enumerate(files, start=1):
        meta = source.meta_path
        if meta is not None and meta.stat().st_size > settings.meta_max_bytes:
            raise PipelineInputError(
                f"{source.listed_as}: its {meta.name} is {meta.stat().st_size:,} bytes, more than "
                f"EDU_META_MAX_BYTES={settings.meta_max_bytes:,} (an EES .meta.csv is a few kilobytes)"
            )
        # Checked on a private copy before anything lands: a file that fails leaves no trace in
        # the landing zone, and the bytes checked are the bytes landed.
        # a files: entry's path is the real path its check resolved; a download is the pipeline's own
        checked = source.origin_url is None and source.data_set_id is None
        with incoming_copy(settings.landing_dir, source.path, checked_real=checked) as (copy, sha):
            if (source.dataset, sha) in seen:
                continue  # the same bytes listed twice (e.g. overlapping globs) load once
            seen.add((source.dataset, sha))
            candidate = _candidate(settings.landing_dir, source, sha, copy.stat().st_size)
            # bytes before anything is parsed; lines, not rows, from the byte scan, before DuckDB
            accepted = check_file_size(settings, candidate, None)
            spec = specs[source.dataset]
            scan = scan_text(copy, source.listed_as, scratch_dir(settings), spec)
            columns, _, read = read_header(scan, source.listed_as, spec)
            check_indicator_columns(list(read.columns), spec, source.listed_as)
            if scan.lines <= 1:
                raise PipelineInputError(f"{source.listed_as}: the file has a header but no data rows")
            accepted = check_file_size(settings, candidate, max(scan.lines - 1, 0)) or accepted
            landed = land_file(
                settings.landing_dir,
                source.dataset,
                source.path,
                source.listed_as,
                source.release,
                meta,
                copy_from=copy,
                data_set_id=source.data_set_id,
                data_set_version=source.data_set_version,
                origin_url=source.origin_url,
                meta_generated=source.meta_generated,
            )
            if scan.readable == copy:
                scan = dataclasses.replace(scan, readable=Path(landed.landed_path))
        if accepted and log is not None:
            log.warning(accepted)
        if read.note and log is not None:
            log.warning(f"{source.listed_as}: {read.note}")
        pending[source.dataset].append(PendingFile(landed, source.listed_as, source.release, scan, columns, read))
        _progress(
            log,
            f"landed {number}/{len(files)} {source.dataset}: {source.listed_as} "
            f"({landed.size_bytes:,} bytes, {scan.lines:,} lines, {scan.encoding}, sha256 {landed.sha256[:12]})",
        )
    with_local = bool(selected & set(LOCAL_TABLES))
    schemas, local = land_and_parse_local(settings, resolved, log) if with_local else ({}, {})
    return Landing(pending, resolved, schemas, local, with_local)


def _candidate(landing_dir: Path, source, sha: str, size: int) -> LandedFile:
    """The landing record a checked file would get: the earlier one for bytes already landed, else
    a new one (not written until the file lands)."""
    existing = read_manifest(landing_dir)
    same = next((r for r in existing if r.dataset == source.dataset and r.sha256 == sha), None)
    if same is not None:
        return same
    return LandedFile(
        dataset=source.dataset,
        sha256=sha,
        size_bytes=size,
        source=str(source.path),
        listed_as=source.listed_as,
        release=source.release,
        landed_path="",
        landed_at="",
        landed_seq=max((r.landed_seq for r in existing), default=0) + 1,
        data_set_id=source.data_set_id,
        data_set_version=source.data_set_version,
    )


def scratch_dir(settings: Settings) -> Path:
    """Build-only copies (Windows-1252 files re-encoded for DuckDB); removed after each ingest."""
    return settings.build_dir / "ingest_scratch"


def land_and_parse_local(
    settings: Settings, resolved: ResolvedSources, log: Log | None = None
) -> tuple[dict[str, LocalSchema], dict[str, list[LocalParsedFile]]]:
    """The local: datasets: every schema is read and checked before any of their files lands. Each
    file is then read and checked through its schema on a private copy, as a DfE file is, and lands
    only if it passes, its schema file landed beside it as DfE's .meta.csv is (so the manifest and
    raw.landed_files.meta_sha256 record which schema read it). A file that fails leaves nothing in
    the landing zone."""
    datasets = resolved.config.local
    schemas = {d.name: read_schema(d.schema_path, d.schema_listed_as, d.name) for d in datasets}
    check_local_datasets(datasets, schemas, settings.sources_file)
    local: dict[str, list[LocalParsedFile]] = {}
    for dataset in datasets:
        seen: set[tuple[str, str | None]] = set()
        local[dataset.name] = []
        for file in dataset.files:
            with incoming_copy(settings.landing_dir, file.path, checked_real=True) as (copy, sha):
                if (sha, file.period) in seen:
                    continue  # the same bytes listed twice (overlapping globs) load once
                seen.add((sha, file.period))
                source = SourceFile(dataset.name, file.path, file.listed_as, None)
                candidate = _candidate(settings.landing_dir, source, sha, copy.stat().st_size)
                accepted = check_file_size(settings, candidate, None)  # bytes, before it is parsed
                parsed = parse_local_file(
                    dataclasses.replace(candidate, landed_path=str(copy)), file, schemas[dataset.name]
                )
                accepted = check_file_size(settings, candidate, parsed.parsed.row_count) or accepted
                landed = land_file(
                    settings.landing_dir,
                    dataset.name,
                    file.path,
                    file.listed_as,
                    None,
                    dataset.schema_path,
                    copy_from=copy,
                )
            if accepted and log is not None:
                log.warning(accepted)
            local[dataset.name].append(landed_as(parsed, landed))
    return schemas, local


def load_local(con: duckdb.DuckDBPyConnection, landing: Landing) -> list[DatasetIngest]:
    """(Re)create raw.local_* (empty when nothing is listed) and load every local dataset; record
    their files in raw.landed_files / raw.file_columns like DfE files."""
    create_local_tables(con)
    files = [f for parsed in landing.local.values() for f in parsed]
    for parsed in files:
        insert_records(con, parsed.table, parsed.records)
    measures = [r for name, schema in landing.schemas.items() for r in measure_records(name, schema)]
    insert_records(con, "local_measures", measures)
    # Local datasets removed from sources.yml must not linger in the lineage tables.
    for table in ("landed_files", "file_columns"):
        con.execute(
            f"DELETE FROM raw.{table} WHERE dataset NOT IN (SELECT unnest(?::VARCHAR[]))", [list(dataset_specs())]
        )
    for name, parsed in landing.local.items():
        write_file_tables(con, name, [f.parsed for f in parsed])
    results = []
    for table in LOCAL_TABLES:
        if table == "local_measures":
            used = [landing.schemas[name] for name in landing.schemas if landing.schemas[name].measures]
            results.append(DatasetIngest(table, [], len(measures), schemas=used))
            continue
        loaded = [f for f in files if KIND_TABLE[f.kind] == table]
        results.append(
            DatasetIngest(
                table,
                [f.parsed for f in loaded],
                sum(len(f.records) for f in loaded),
                local_files=loaded,
            )
        )
    return results


def write_data_set_versions(
    con: duckdb.DuckDBPyConnection, remote: list[RemoteResult], datasets: Iterable[str]
) -> None:
    """raw.data_set_versions: one row per EES API data set version used, with its release and the
    API's record of what it changed (JSON), for the revisions mart. Rows of ``datasets`` only are
    replaced, so refreshing one dataset keeps the others' record."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.data_set_versions (
            dataset VARCHAR, data_set_id VARCHAR, data_set_version VARCHAR, requested_version VARCHAR,
            status VARCHAR, version_type VARCHAR, published VARCHAR, withdrawn VARCHAR,
            release_title VARCHAR, release_slug VARCHAR, notes VARCHAR, file_sha256 VARCHAR,
            size_bytes BIGINT, changes_json VARCHAR)"""
    )
    con.execute("DELETE FROM raw.data_set_versions WHERE dataset IN (SELECT unnest(?::VARCHAR[]))", [list(datasets)])
    for result in remote:
        info = result.version_info
        if info is None or info["dataset"] not in datasets:
            continue
        con.execute(
            "INSERT INTO raw.data_set_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info["dataset"],
                info["data_set_id"],
                info["version"],
                info["requested"],
                info["status"],
                info["type"],
                info["published"],
                info["withdrawn"],
                info["release_title"],
                info["release_slug"],
                info["notes"],
                result.lock_entry.get("sha256"),
                result.lock_entry.get("size_bytes"),
                None if info["changes"] is None else json.dumps(info["changes"], sort_keys=True),
            ],
        )


# Tables the ingest keeps beside the data, updated by every load (each is its own raw asset)
LINEAGE_TABLES = {
    "landed_files": "raw.landed_files: one row per landed file (dataset, sha256, source, release, landing order)",
    "file_columns": "raw.file_columns: each landed file's columns as written and as loaded",
    "data_set_versions": "raw.data_set_versions: the EES API data set versions used, with their changes",
    "publication_releases": "raw.publication_releases: each EES publication's latest and next release and "
    "methodology, as sources.lock records them (make update-sources)",
}


def write_publication_releases(con: duckdb.DuckDBPyConnection, publications: dict[str, dict]) -> None:
    """raw.publication_releases: one row per EES publication the listed datasets are read from,
    as sources.lock records what the EES content API said of it (make update-sources): the
    latest release and when it was published, the next release DfE has announced, the methodology.
    Empty until update-sources has asked."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    columns = ", ".join(f"{name} VARCHAR" for name in PUBLICATION_FIELDS)
    con.execute(f"CREATE OR REPLACE TABLE raw.publication_releases ({columns})")
    if publications:
        con.executemany(
            f"INSERT INTO raw.publication_releases VALUES ({', '.join('?' for _ in PUBLICATION_FIELDS)})",
            [[entry[name] for name in PUBLICATION_FIELDS] for _, entry in sorted(publications.items())],
        )


def load_dataset(
    con: duckdb.DuckDBPyConnection, dataset: str, files: list[PendingFile], log: Log | None = None
) -> list[ParsedFile]:
    """Replace ``raw.<dataset>`` with the rows of ``files`` (an empty table when none is listed,
    so the models still build) and record them in the lineage tables."""
    columns: list[str] = []
    for file in files:
        columns += [c for c in file.read.columns if c not in columns]
    create_raw_table(con, dataset, columns)
    specs = dataset_specs()
    parsed = []
    for number, file in enumerate(files, start=1):
        started = time.monotonic()
        parsed.append(
            parse_csv(
                con,
                dataset,
                file.landed,
                file.source_file,
                file.release,
                specs[dataset],
                file.scan,
                file.columns,
                file.read,
            )
        )
        if parsed[-1].dropped_rows and log is not None:
            log.warning(
                f"{file.source_file}: {parsed[-1].dropped_rows:,} row(s) of years not yet measured left out "
                "(every row's results 0: placeholders, not figures)"
            )
        _progress(
            log,
            f"loaded {dataset} {number}/{len(files)}: {file.source_file}: "
            f"{parsed[-1].row_count:,} rows in {time.monotonic() - started:.1f} s",
        )
    write_file_tables(con, dataset, parsed)
    return parsed


def ingest(
    settings: Settings,
    database: Path,
    *,
    datasets: Iterable[str] | None = None,
    update_sources: bool | Iterable[str] = False,
    client: EesApiClient | None = None,
    http: Http | None = None,
    log: Log | None = None,
) -> list[DatasetIngest]:
    """Land and load the raw tables ``datasets`` (default: all) into ``database`` in one
    transaction: a bad file leaves every raw table as it was."""
    landing = land_sources(
        settings, datasets=datasets, update_sources=update_sources, client=client, http=http, log=log
    )
    database.parent.mkdir(parents=True, exist_ok=True)
    existed = database.exists()
    results = []
    try:
        with duckdb.connect(str(database), config=settings.duckdb_config) as con:
            con.execute("BEGIN TRANSACTION")
            for dataset, files in landing.pending.items():
                parsed = load_dataset(con, dataset, files, log)
                remote = [r for r in landing.sources.remote if r.source.dataset == dataset]
                results.append(DatasetIngest(dataset, parsed, sum(f.row_count for f in parsed), remote))
            write_data_set_versions(con, landing.sources.remote, list(landing.pending))
            write_publication_releases(con, landing.sources.publications)
            if landing.with_local:
                results += load_local(con, landing)
            con.execute("COMMIT")
    except BaseException:
        # Rolled back; a database this ingest created is removed too, so a failed first run
        # leaves nothing that looks like a build.
        if not existed:
            for path in (database, database.with_name(database.name + ".wal")):
                path.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(scratch_dir(settings), ignore_errors=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="DuckDB file to load (default: the build database)")
    parser.add_argument(
        "--update-sources", action="store_true", help="resolve ees_api:/url: sources again, ignoring sources.lock"
    )
    args = parser.parse_args(argv)
    settings = load_settings()
    database = args.db or settings.build_db
    for result in ingest(settings, database, update_sources=args.update_sources):
        print(f"raw.{result.dataset}: {result.row_count} rows from {len(result.files)} file(s)")


if __name__ == "__main__":
    main()
