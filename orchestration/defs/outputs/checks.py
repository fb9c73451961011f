"""Checks on the publication outputs: the briefings say what the marts say, and the exports hold
what was published. They run after the publication, so they warn (they cannot and need not block
it); a failure is reported by `make run` like any other check."""

import dagster as dg
import duckdb
import pyarrow.parquet as pq

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.outputs.assets import BRIEFINGS_KEY, EXPORTS_KEY, published
from orchestration.lib.outputs import spreadsheets
from orchestration.lib.outputs.briefing import render
from orchestration.lib.outputs.exports import DICTIONARY_NAME
from orchestration.lib.sql import quote_identifier


@dg.asset_check(
    asset=BRIEFINGS_KEY,
    name="briefing_numbers_match_marts",
    description="Every number in the briefings written from this publication reads back as the "
    "mart value it is tagged with: LA figures from fct_la_measure, school figures from "
    "mart_school_outcomes, mart_inspection_outcomes and mart_schools_causing_concern",
)
def briefing_numbers_match_marts(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings()
    with published(warehouse) as publication:
        files, numbers, problems = render.verify_briefings(publication, settings.warehouse_dir / "briefings")
    return dg.AssetCheckResult(
        passed=not problems and files > 0,
        description=(
            f"{numbers:,} numbers in {files} briefings match the marts"
            if not problems
            else f"{len(problems)} numbers differ from the marts:\n" + "\n".join(problems[:20])
        ),
        metadata={"briefings": files, "numbers": numbers, "mismatches": len(problems)},
    )


@dg.asset_check(
    asset=EXPORTS_KEY,
    name="exports_match_publication",
    description="One Parquet per published table with the table's rows and columns, a CSV beside it, and the "
    "Excel workbook with a sheet for every table it holds",
)
def exports_match_publication(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    settings = warehouse.settings()
    out = settings.warehouse_dir / "exports"
    problems = []
    with published(warehouse) as publication, duckdb.connect(str(publication), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name, column_count FROM duckdb_tables() WHERE schema_name IN ('marts', 'audit')"
        ).fetchall()
        for schema, table, column_count in tables:
            path = out / f"{schema}.{table}.parquet"
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
    if not (out / DICTIONARY_NAME).exists():
        problems.append(f"{DICTIONARY_NAME} missing")
    problems += _workbook_problems(out / spreadsheets.WORKBOOK_NAME, tables)
    return dg.AssetCheckResult(
        passed=not problems,
        description=f"{len(tables)} tables exported" if not problems else "; ".join(problems),
        metadata={"tables": len(tables)},
    )


def _workbook_problems(path, tables) -> list[str]:
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


output_checks = [briefing_numbers_match_marts, exports_match_publication]
