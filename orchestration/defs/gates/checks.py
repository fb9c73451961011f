"""Blocking Great Expectations gates on the published marts (one suite per mart in expectations/)."""

import dagster as dg
import duckdb

from orchestration.defs.ingest.checks import gate_result
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib import gates
from orchestration.lib.gates import bounds, coverage, geography

# Marts whose gate reads more than the table: the area facts gain each national value's check
# against its catalogue bounds.
GATE_RELATIONS = {"fct_area_measure": bounds.with_national_bounds}


def suite_parameters(con: duckdb.DuckDBPyConnection, table: str) -> tuple[dict, list[str]]:
    """Values the mart suites compare against, read from this build's own inputs: the catalogue
    measures whose columns the loaded files carry (for the LA facts, in files with LA rows); and,
    said once, on the LA facts, the measures of loaded datasets that are not published there."""
    measures, not_carried = coverage.carried_measures(con, local_authority=table == "fct_la_measure")
    return {"catalogue_measure_codes": measures}, not_carried if table == "fct_la_measure" else []


def _mart_check(table: str) -> dg.AssetChecksDefinition:
    suite = f"mart_{table}" if not table.startswith("mart_") else table

    @dg.asset_check(
        asset=dg.AssetKey(["marts", table]),
        name=f"gx_{suite}",
        blocking=True,
        description=f"Great Expectations suite expectations/{suite}.json",
    )
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with duckdb.connect(
            str(warehouse.settings().build_db), read_only=True, config=warehouse.settings().duckdb_config
        ) as con:
            parameters, not_carried = suite_parameters(con, table)
            rows = con.execute(f"SELECT count(*) FROM marts.{gates.quote_identifier(table)}").fetchall()[0][0]
            relation = f"SELECT * FROM marts.{gates.quote_identifier(table)}"
            if table in GATE_RELATIONS:
                relation = GATE_RELATIONS[table](con, relation)
            # Only the rows the suite could fail on reach Great Expectations (the raw gates' compiler).
            frame = gates.row_candidates(con, relation, suite, "ALL", parameters)
        warnings = {"warnings": "\n".join(f"- {w}" for w in not_carried)} if not_carried else {}
        return gate_result(gates.validate(suite, frame, parameters), rows=rows, candidate_rows=len(frame), **warnings)

    return _check


@dg.asset_check(
    asset=dg.AssetKey(["marts", "fct_la_measure"]),
    name="geography_complete",
    blocking=True,
    description="Every LA that existed in a period (the statistical neighbour model's LAs, with the years of "
    "seeds/la_boundary_changes.csv) is in each measure of that period that has LA rows; City of London and "
    "the Isles of Scilly only warn (vars.areas.often_unpublished).",
)
def geography_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with duckdb.connect(
        str(warehouse.settings().build_db), read_only=True, config=warehouse.settings().duckdb_config
    ) as con:
        result = geography.check_geography(con)
    return dg.AssetCheckResult(
        passed=result.passed,
        description=geography.summary(result),
        metadata={
            "measure_periods": result.checked_periods,
            "missing_las": len(result.missing),
            "warnings": "\n".join(f"- {w}" for w in [*result.warnings, *result.breakdown_gaps]),
        },
    )


def mart_checks(mart_tables: list[str]) -> list[dg.AssetChecksDefinition]:
    suites = [
        _mart_check(t) for t in mart_tables if gates.suite_exists(f"mart_{t}" if not t.startswith("mart_") else t)
    ]
    return [*suites, *([geography_complete] if "fct_la_measure" in mart_tables else [])]
