"""Which catalogue measures this build's files carry: what the mart gates expect to see published.

A measure is expected when a loaded file of its dataset has its indicator column (or one of the
registry's aliases for it), or both totals the catalogue says it can be worked out from, and the
filter columns its catalogue row names (A level files have no `exam_cohort`, so they carry no
tech level series). A measure none of the loaded files has is not an error (DfE's children
in need files have no higher-standard KS2 column): it is reported as a warning, so nobody expects
it in the publication. A measure whose column is there but which publishes nothing is wrong (its
rows were not recognised), and the mart gates block it.

Measures worked out from a council's local files rather than read from DfE's (the share of pupils
in good or outstanding schools, from Ofsted's snapshots) are expected only where dbt could work
them out: only Ofsted's England-wide file gives England's figure to rank against
(int_inspection_measure_values says when a snapshot is one), and an LA's own extract is reported.
"""

from __future__ import annotations

import duckdb

from orchestration.lib.gates.suites import quote_identifier
from orchestration.lib.rules import registry
from orchestration.lib.rules.catalogue import catalogue_rows, filters_can_match, is_carried


def _raw_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, lower(column_name) FROM information_schema.columns WHERE table_schema = 'raw'"
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    return columns


def _file_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[set[str]]]:
    """dataset -> each loaded file's columns as read (raw.file_columns); empty where the ingest
    recorded none."""
    recorded = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'file_columns'"
    ).fetchall()[0][0]
    if not recorded:
        return {}
    files: dict[tuple[str, str], set[str]] = {}
    for dataset, sha256, column in con.execute(
        "SELECT dataset, file_sha256, lower(column_name) FROM raw.file_columns"
    ).fetchall():
        files.setdefault((dataset, sha256), set()).add(column)
    by_dataset: dict[str, list[set[str]]] = {}
    for (dataset, _), names in sorted(files.items()):
        by_dataset.setdefault(dataset, []).append(names)
    return by_dataset


def _has_local_authority_rows(con: duckdb.DuckDBPyConnection, dataset: str, columns: set[str]) -> bool:
    if "geographic_level" not in columns:
        return True  # no level column: nothing says the file is not about LAs
    return bool(
        con.execute(
            f"SELECT 1 FROM raw.{quote_identifier(dataset)} WHERE lower(geographic_level) = 'local authority' LIMIT 1"
        ).fetchall()
    )


def carried_measures(con: duckdb.DuckDBPyConnection, local_authority: bool = False) -> tuple[list[str], list[str]]:
    """(measure codes the loaded files carry, one warning per loaded dataset naming its catalogue
    measures that no loaded file carries). With ``local_authority``, for the LA facts: a dataset
    whose files have no local-authority rows (DfE's national-only A level time series) carries
    England's values only, and its measures are said to be so."""
    loaded = {r[0] for r in con.execute("SELECT DISTINCT dataset FROM raw.landed_files").fetchall()}
    columns = _raw_columns(con)
    file_columns = _file_columns(con)
    national_only = (
        {d for d in loaded if d in columns and not _has_local_authority_rows(con, d, columns[d])}
        if local_authority
        else set()
    )
    datasets = registry.ees_datasets()
    carried: set[str] = set()
    england_only: set[str] = set()
    absent: dict[str, tuple[str, str]] = {}
    catalogue_dataset = {row["measure_code"]: row["dataset"] for row in catalogue_rows()}
    for row in catalogue_rows():
        dataset, measure, column = row["dataset"], row["measure_code"], row["indicator_column"].lower()
        if dataset not in loaded:
            continue
        entry, present = datasets.get(dataset), columns.get(dataset, set())
        # judged file by file: one file's indicator and another's filter column give no row
        files = file_columns.get(dataset) or [present]

        def has_column(name: str, file: set[str], entry=entry) -> bool:
            return bool({name, *(a.lower() for a in (entry.aliases.get(name, ()) if entry else ()))} & file)

        def headline_values(name: str, entry=entry, present=present) -> tuple[str, ...]:
            # staging gives a file without a filter column its headline value only when another
            # file of the dataset has that column; with none, no row names the filter at all
            return entry.headline_values(name)[:1] if name in present else ()  # the first: ees_headline_value

        with_indicator = [file for file in files if is_carried(row, lambda name, file=file: has_column(name, file))]
        if not with_indicator:
            absent.setdefault(measure, (dataset, column))
        elif entry is not None and not any(
            filters_can_match(row, file.__contains__, headline_values) for file in with_indicator
        ):
            absent.setdefault(measure, (dataset, f"{column} in a file with the filter columns of {row['filters']}"))
        elif dataset in national_only:
            england_only.add(measure)
        else:
            carried.add(measure)
    # one line per dataset: DfE's children-in-need files, say, lack a dozen of KS2's columns
    missing: dict[str, list[str]] = {}
    for measure, (dataset, column) in sorted(absent.items()):
        if measure not in carried | england_only:
            missing.setdefault(dataset, []).append(f"{measure} ({column})")
    warnings = [
        f"{', '.join(names)}: no loaded {dataset} file has {'the column' if len(names) == 1 else 'these columns'} "
        "(or a name it had before), so "
        f"{'it is' if len(names) == 1 else f'these {len(names)} measures are'} not published in this build"
        for dataset, names in sorted(missing.items())
    ] + [
        f"{measure}: the loaded {catalogue_dataset[measure]} files have no local-authority rows, so it has "
        "England's (and regions') values only in this build"
        for measure in sorted(england_only - carried)
    ]
    computed = _computed_measures(con)
    for measure in sorted(m for m in carried if catalogue_dataset[m] not in datasets):
        if measure not in computed:
            carried.discard(measure)
            warnings.append(
                f"{measure}: no loaded {catalogue_dataset[measure]} snapshot has schools in every region (Ofsted's "
                "England-wide file), so it has no England figure to compare or rank with and is not published in "
                "this build; each LA's figures are in mart_inspection_outcomes"
            )
    return sorted(carried), warnings


def _computed_measures(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The measures dbt worked out from local files in this build."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'intermediate' "
        "AND table_name = 'int_inspection_measure_values'"
    ).fetchall()[0][0]
    if not exists:
        return set()
    return {
        r[0]
        for r in con.execute("SELECT DISTINCT measure_code FROM intermediate.int_inspection_measure_values").fetchall()
    }
