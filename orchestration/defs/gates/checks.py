"""Blocking Great Expectations gates on the published marts (one suite per mart in expectations/),
judged in one subsettable step as the raw gates are (defs/ingest/checks.py), and the geography
completeness gate."""

from dataclasses import dataclass

import dagster as dg
import duckdb
import pandas as pd

from orchestration.defs.ingest.checks import gate_result, gate_step
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


@dataclass(frozen=True)
class _MartGate:
    table: str

    @property
    def suite(self) -> str:
        return f"mart_{self.table}" if not self.table.startswith("mart_") else self.table

    @property
    def spec(self) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            f"gx_{self.suite}",
            asset=dg.AssetKey(["marts", self.table]),
            blocking=True,
            description=f"Great Expectations suite expectations/{self.suite}.json",
        )

    def read(self, settings) -> tuple[pd.DataFrame, dict, dict]:
        """(the rows the suite could fail on, the check's metadata, the suite's parameters): SQL only."""
        with duckdb.connect(str(settings.build_db), read_only=True, config=settings.duckdb_config) as con:
            parameters, not_carried = suite_parameters(con, self.table)
            rows = con.execute(f"SELECT count(*) FROM marts.{gates.quote_identifier(self.table)}").fetchall()[0][0]
            relation = f"SELECT * FROM marts.{gates.quote_identifier(self.table)}"
            if self.table in GATE_RELATIONS:
                relation = GATE_RELATIONS[self.table](con, relation)
            # Only the rows the suite could fail on reach Great Expectations (the raw gates' compiler).
            frame = gates.row_candidates(con, relation, self.suite, "ALL", parameters)
        warnings = {"warnings": "\n".join(f"- {w}" for w in not_carried)} if not_carried else {}
        return frame, {"rows": rows, "candidate_rows": len(frame), **warnings}, parameters

    def judge(self, frame: pd.DataFrame, metadata: dict, parameters: dict) -> dg.AssetCheckResult:
        result = gates.validate(self.suite, frame, parameters)
        return gate_result(result, asset_key=self.spec.asset_key, check_name=self.spec.name, **metadata)


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
    suites = [_MartGate(t) for t in mart_tables]
    suites = [gate for gate in suites if gates.suite_exists(gate.suite)]
    step = gate_step("mart_gates", "The marts' blocking gates, one Great Expectations suite each", suites)
    return [*([step] if suites else []), *([geography_complete] if "fct_la_measure" in mart_tables else [])]
