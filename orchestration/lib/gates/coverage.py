"""Which catalogue measures this build's files carry: what the mart gates expect to see published.

A measure is expected when a loaded file of its dataset has its indicator column (or one of the
registry's aliases for it), or both totals the catalogue says it can be worked out from. A measure none of the loaded files has is not an error (DfE's children
in need files have no higher-standard KS2 column): it is reported as a warning, so nobody expects
it in the publication. A measure whose column is there but which publishes nothing is wrong (its
rows were not recognised), and the mart gates block it.
"""

from __future__ import annotations

import duckdb

from orchestration.lib.rules import registry
from orchestration.lib.rules.catalogue import catalogue_rows, is_carried


def _raw_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    columns: dict[str, set[str]] = {}
    for table, column in con.execute(
        "SELECT table_name, lower(column_name) FROM information_schema.columns WHERE table_schema = 'raw'"
    ).fetchall():
        columns.setdefault(table, set()).add(column)
    return columns


def carried_measures(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """(measure codes the loaded files carry, one warning per catalogue measure of a loaded
    dataset that no loaded file carries)."""
    loaded = {r[0] for r in con.execute("SELECT DISTINCT dataset FROM raw.landed_files").fetchall()}
    columns = _raw_columns(con)
    datasets = registry.ees_datasets()
    carried: set[str] = set()
    absent: dict[str, tuple[str, str]] = {}
    for row in catalogue_rows():
        dataset, measure, column = row["dataset"], row["measure_code"], row["indicator_column"].lower()
        if dataset not in loaded:
            continue
        entry, present = datasets.get(dataset), columns.get(dataset, set())

        def has_column(name: str, entry=entry, present=present) -> bool:
            return bool({name, *(a.lower() for a in (entry.aliases.get(name, ()) if entry else ()))} & present)

        if is_carried(row, has_column):
            carried.add(measure)
        else:
            absent.setdefault(measure, (dataset, column))
    warnings = [
        f"{measure}: no loaded {dataset} file has the column {column} (or a name it had before), so it is "
        "not published in this build"
        for measure, (dataset, column) in sorted(absent.items())
        if measure not in carried
    ]
    return sorted(carried), warnings
