"""Checks on the publication outputs: the briefings say what the marts say (here), and the exports
hold what was published (``exports_match_publication``, declared by the step that writes them in
assets.py). They run after the publication, so they warn (they cannot and need not block it); a
failure is reported by `make run` like any other check."""

import dagster as dg

from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.defs.outputs.assets import BRIEFINGS_KEY, published
from orchestration.lib.outputs.briefing import render


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


output_checks = [briefing_numbers_match_marts]
