"""Land every file listed in sources.yml and load it into the build database's ``raw`` schema.

Usable without Dagster (``python -m orchestration.lib.ingest``) so dbt can be developed and
debugged on its own; the Dagster ingest asset calls :func:`ingest`.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.landing import land_file
from orchestration.lib.raw_loader import ParsedFile, load_dataset, parse_csv, write_file_tables
from orchestration.lib.settings import Settings, load_settings
from orchestration.lib.sources import dataset_specs, read_sources


@dataclass(frozen=True)
class DatasetIngest:
    dataset: str
    files: list[ParsedFile]
    row_count: int


def land_and_parse(settings: Settings) -> dict[str, list[ParsedFile]]:
    """Land and parse every listed file; fails before touching the database if any file is bad."""
    specs = dataset_specs()
    parsed: dict[str, list[ParsedFile]] = {name: [] for name in specs}
    seen: set[tuple[str, str]] = set()
    for source in read_sources(settings.sources_file):
        landed = land_file(
            settings.landing_dir, source.dataset, source.path, source.listed_as, source.release, source.meta_path
        )
        if (source.dataset, landed.sha256) in seen:
            continue  # the same bytes listed twice (e.g. overlapping globs) load once
        seen.add((source.dataset, landed.sha256))
        parsed[source.dataset].append(parse_csv(landed, source.listed_as, source.release, specs[source.dataset]))
    return parsed


def ingest(settings: Settings, database: Path) -> list[DatasetIngest]:
    parsed = land_and_parse(settings)
    database.parent.mkdir(parents=True, exist_ok=True)
    results = []
    with duckdb.connect(str(database)) as con:
        con.execute("BEGIN TRANSACTION")
        for dataset, files in parsed.items():
            # Datasets absent from sources.yml get an empty table so the models still build.
            rows = load_dataset(con, dataset, files)
            write_file_tables(con, dataset, files)
            results.append(DatasetIngest(dataset, files, rows))
        con.execute("COMMIT")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, help="DuckDB file to load (default: the build database)")
    args = parser.parse_args(argv)
    settings = load_settings()
    database = args.db or settings.build_db
    for result in ingest(settings, database):
        print(f"raw.{result.dataset}: {result.row_count} rows from {len(result.files)} file(s)")


if __name__ == "__main__":
    main()
