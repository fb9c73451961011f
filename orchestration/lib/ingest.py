"""Land every source listed in sources.yml and load it into the build database's ``raw`` schema.

Remote sources (``ees_api:``, ``url:``) are first resolved through ``sources.lock`` and downloaded
into the cache (:mod:`orchestration.lib.source_lock`); from there everything lands the same way:
content-addressed, immutable, recorded in the manifest.

Usable without Dagster (``python -m orchestration.lib.ingest``) so dbt can be developed and
debugged on its own; the Dagster ingest asset calls :func:`ingest`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.lib.downloads import Http, Log
from orchestration.lib.ees_api import EesApiClient
from orchestration.lib.landing import land_file
from orchestration.lib.raw_loader import ParsedFile, load_dataset, parse_csv, write_file_tables
from orchestration.lib.settings import Settings, load_settings
from orchestration.lib.source_lock import RemoteResult, ResolvedSources, resolve_sources
from orchestration.lib.sources import dataset_specs


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


@dataclass(frozen=True)
class DatasetIngest:
    dataset: str
    files: list[ParsedFile]
    row_count: int
    remote: list[RemoteResult] = field(default_factory=list)


@dataclass
class Landing:
    parsed: dict[str, list[ParsedFile]]
    sources: ResolvedSources


def land_and_parse(
    settings: Settings,
    *,
    update_sources: bool | Iterable[str] = False,
    client: EesApiClient | None = None,
    http: Http | None = None,
    log: Log | None = None,
) -> Landing:
    """Resolve, land and parse every listed source; fails before touching the database if any is bad."""
    specs = dataset_specs()
    resolved = resolve_sources(
        settings.sources_file, settings.landing_dir, update=update_sources, client=client, http=http, log=log
    )
    parsed: dict[str, list[ParsedFile]] = {name: [] for name in specs}
    seen: set[tuple[str, str]] = set()
    for source in resolved.files:
        landed = land_file(
            settings.landing_dir, source.dataset, source.path, source.listed_as, source.release, source.meta_path,
            data_set_id=source.data_set_id,
            data_set_version=source.data_set_version,
            origin_url=source.origin_url,
            meta_generated=source.meta_generated,
        )
        if (source.dataset, landed.sha256) in seen:
            continue  # the same bytes listed twice (e.g. overlapping globs) load once
        seen.add((source.dataset, landed.sha256))
        parsed[source.dataset].append(parse_csv(landed, source.listed_as, source.release, specs[source.dataset]))
    return Landing(parsed, resolved)


def write_data_set_versions(con: duckdb.DuckDBPyConnection, remote: list[RemoteResult]) -> None:
    """raw.data_set_versions: one row per EES API data set version used, with its release and the
    API's record of what it changed (JSON), for the revisions mart."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE OR REPLACE TABLE raw.data_set_versions (
            dataset VARCHAR, data_set_id VARCHAR, data_set_version VARCHAR, requested_version VARCHAR,
            status VARCHAR, version_type VARCHAR, published VARCHAR, withdrawn VARCHAR,
            release_title VARCHAR, release_slug VARCHAR, notes VARCHAR, file_sha256 VARCHAR,
            size_bytes BIGINT, changes_json VARCHAR)"""
    )
    for result in remote:
        info = result.version_info
        if info is None:
            continue
        con.execute(
            "INSERT INTO raw.data_set_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [info["dataset"], info["data_set_id"], info["version"], info["requested"], info["status"], info["type"],
             info["published"], info["withdrawn"], info["release_title"], info["release_slug"], info["notes"],
             result.lock_entry.get("sha256"), result.lock_entry.get("size_bytes"),
             None if info["changes"] is None else json.dumps(info["changes"], sort_keys=True)],
        )


def ingest(
    settings: Settings,
    database: Path,
    *,
    update_sources: bool | Iterable[str] = False,
    client: EesApiClient | None = None,
    http: Http | None = None,
    log: Log | None = None,
) -> list[DatasetIngest]:
    landing = land_and_parse(settings, update_sources=update_sources, client=client, http=http, log=log)
    database.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with duckdb.connect(str(database)) as con:
        con.execute("BEGIN TRANSACTION")
        for dataset, files in landing.parsed.items():
            # Datasets absent from sources.yml get an empty table so the models still build.
            rows = load_dataset(con, dataset, files)
            write_file_tables(con, dataset, files)
            remote = [r for r in landing.sources.remote if r.source.dataset == dataset]
            results.append(DatasetIngest(dataset, files, rows, remote))
        write_data_set_versions(con, landing.sources.remote)
        con.execute("COMMIT")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="DuckDB file to load (default: the build database)")
    parser.add_argument("--update-sources", action="store_true", help="resolve ees_api:/url: sources again, ignoring sources.lock")
    args = parser.parse_args(argv)
    settings = load_settings()
    database = args.db or settings.build_db
    for result in ingest(settings, database, update_sources=args.update_sources):
        print(f"raw.{result.dataset}: {result.row_count} rows from {len(result.files)} file(s)")


if __name__ == "__main__":
    main()
