"""Geography completeness of the published LA facts: every LA that existed in a period is in
every measure of that period in which DfE published LA values at all.

Which LAs existed when is data: the statistical neighbour model's LAs, with the years of the
reorganisations from seeds/la_boundary_changes.csv (Bournemouth, Poole and Dorset became BCP and
Dorset in 2019/20, and so on), per measure, breakdown and period. An LA missing from a headline
blocks; one missing from a breakdown only warns (Rutland has no special school, so no special
schools' absence). The other side of a change
stands in for an LA: DfE's publications after April of the change year use the new LAs, and some
timeseries restate earlier years on today's boundaries; an LA's own side never does (Cumberland
does not stand in for Westmorland and Furness). LAs
DfE often leaves out altogether (vars.areas.often_unpublished: City of London, Scilly) warn and
never block. A measure-period with no published LA value (a national-only file, a year DfE did not
publish) expects none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from orchestration.lib.rules import areas

# Missing LAs named per message, and measure-periods named per LA, before "and N more".
_SHOWN = 6


@dataclass
class GeographyResult:
    checked_periods: int
    model_loaded: bool = True
    missing: list[str] = field(default_factory=list)  # blocking, one line per missing LA
    warnings: list[str] = field(default_factory=list)  # LAs DfE often leaves out
    breakdown_gaps: list[str] = field(default_factory=list)  # LAs without a row in a breakdown (warn)

    @property
    def passed(self) -> bool:
        return not self.missing


_MISSING_SQL = """
WITH present AS (
    SELECT DISTINCT measure_code, breakdown, time_period, old_la_code FROM marts.fct_la_measure
),
-- a period in which DfE published no LA value of the measure (KS1 in 2019/20, absence in 2019/20)
-- holds whatever rows a file keeps for it: nothing is published, so nothing must be complete
periods AS (
    SELECT DISTINCT measure_code, breakdown, time_period,
        CAST(left(CAST(time_period AS VARCHAR), 4) AS INTEGER) AS year
    FROM marts.fct_la_measure
    WHERE value_status = 'published'
),
model AS (
    SELECT trim(old_la_code) AS old_la_code, any_value(trim(la_name)) AS la_name
    FROM raw.statistical_neighbours
    WHERE coalesce(trim(old_la_code), '') <> ''
    GROUP BY ALL
),
-- a reorganisation counts when the model knows any of its LAs (an older model lacks the new ones,
-- a newer one the old ones); an LA with a first year is on its new side, one with a last year on its old
changes AS (
    SELECT *, first_year IS NOT NULL AS new_side FROM reference.la_boundary_changes
    WHERE reorganisation IN (
        SELECT reorganisation FROM reference.la_boundary_changes WHERE old_la_code IN (SELECT old_la_code FROM model)
    )
),
universe AS (
    SELECT coalesce(model.old_la_code, changes.old_la_code) AS old_la_code,
        coalesce(changes.la_name, model.la_name) AS la_name,
        changes.first_year, changes.last_year, changes.reorganisation, changes.new_side
    FROM model FULL JOIN changes ON changes.old_la_code = model.old_la_code
),
expected AS (
    SELECT periods.measure_code, periods.breakdown, periods.time_period, periods.year, universe.*
    FROM periods CROSS JOIN universe
    WHERE periods.year BETWEEN coalesce(universe.first_year, 0) AND coalesce(universe.last_year, 9999)
),
-- the other side of a change stands in for an LA (a timeseries restating earlier years on today's
-- boundaries, or a publication after April of the change year); its own side never does
side_present AS (
    SELECT DISTINCT present.measure_code, present.breakdown, present.time_period, changes.reorganisation,
        changes.new_side
    FROM present JOIN changes ON changes.old_la_code = present.old_la_code
)
SELECT expected.old_la_code, any_value(expected.la_name) AS la_name, expected.breakdown = 'all' AS headline,
    list(
        expected.measure_code || ' ' || expected.breakdown || ' ' || expected.time_period
        ORDER BY expected.measure_code, expected.breakdown, expected.time_period
    ) AS measure_periods
FROM expected
LEFT JOIN present USING (measure_code, breakdown, time_period, old_la_code)
LEFT JOIN side_present ON side_present.measure_code = expected.measure_code
    AND side_present.breakdown = expected.breakdown
    AND side_present.time_period = expected.time_period
    AND side_present.reorganisation = expected.reorganisation
    AND side_present.new_side <> expected.new_side
WHERE present.old_la_code IS NULL AND side_present.reorganisation IS NULL
GROUP BY expected.old_la_code, headline
ORDER BY expected.old_la_code, headline DESC
"""


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}


def check_geography(con: duckdb.DuckDBPyConnection) -> GeographyResult:
    """Missing LAs of marts.fct_la_measure, against the neighbour model and the boundary changes."""
    tables = _tables(con)
    needed = {"marts.fct_la_measure", "raw.statistical_neighbours", "reference.la_boundary_changes"}
    if not needed <= tables or not con.execute("SELECT count(*) FROM raw.statistical_neighbours").fetchall()[0][0]:
        return GeographyResult(0, model_loaded=False)  # no neighbour model: no list of LAs to hold the facts to
    periods = con.execute(
        "SELECT count(DISTINCT (measure_code, breakdown, time_period)) FROM marts.fct_la_measure "
        "WHERE value_status = 'published'"
    ).fetchall()
    result = GeographyResult(periods[0][0])
    often_left_out = areas.often_unpublished()
    for code, name, headline, measure_periods in con.execute(_MISSING_SQL).fetchall():
        shown = ", ".join(measure_periods[:_SHOWN])
        more = f" and {len(measure_periods) - _SHOWN} more" if len(measure_periods) > _SHOWN else ""
        line = f"{code} {name}: missing from {len(measure_periods)} measure-period(s): {shown}{more}"
        if code in often_left_out:
            result.warnings.append(line)
        elif headline:
            result.missing.append(line)
        else:
            # A group an LA may not have at all (Rutland has no special school) or too few of to
            # publish: the LA's headline is checked, its absence from a breakdown only reported.
            result.breakdown_gaps.append(line)
    return result


def summary(result: GeographyResult) -> str:
    if not result.model_loaded:
        return "geography: no statistical neighbour model loaded, so no list of LAs to check against"
    if not result.checked_periods:
        return "geography: no measure has LA rows in this build (national-only files), nothing to check"
    if result.passed:
        text = f"geography complete: every LA of each period in all {result.checked_periods:,} measure-periods"
    else:
        text = f"geography incomplete: {len(result.missing)} LA(s) missing from periods they existed in:\n" + "\n".join(
            f"  - {line}" for line in result.missing
        )
    if result.warnings:
        text += f"\n{len(result.warnings)} LA(s) DfE often leaves out are missing (warning):\n" + "\n".join(
            f"  - {line}" for line in result.warnings
        )
    if result.breakdown_gaps:
        text += (
            f"\n{len(result.breakdown_gaps)} LA(s) have no row in some breakdowns, e.g. a phase they have no "
            "school of (warning):\n" + "\n".join(f"  - {line}" for line in result.breakdown_gaps)
        )
    return text
