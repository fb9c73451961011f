"""The gates of the council's local datasets (raw.local_*): one problem column per kind of check,
computed in SQL, which the raw_local_* suites expect to be empty."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.lib.gates.raw import _la_reference
from orchestration.lib.gates.suites import row_candidates
from orchestration.lib.rules import ees_cells

# Row-level checks of the council's local datasets (raw.local_*) ----------------------------------
# As for the EES tables: each problem kind is a column the raw_local_* suites expect to be null, so
# a failure names the file, line and what is wrong. The tables exist (empty) when no local dataset
# is listed; the checks then pass with nothing to check.

LOCAL_PROBLEM_COLUMNS = {
    "local_schools": ("urn_problem", "la_problem"),
    "local_school_values": ("urn_problem", "duplicate_problem", "la_problem", "value_problem", "cohort_problem"),
    "local_inspections": ("urn_problem", "judgement_problem", "pupils_problem", "duplicate_problem"),
}
# What a whole number of pupils looks like once thousands separators are dropped.
_WHOLE = r"regexp_full_match(replace(trim({0}), ',', ''), '[0-9]+')"


def _blank(expression: str) -> str:
    return f"coalesce(trim({expression}), '') = ''"


def _number_of(expression: str) -> str:
    """SQL: a cell as a number once thousands commas and a % sign are dropped (else NULL)."""
    # The number test dbt staging applies to local cells (macros is_ees_number, local_number_text):
    # the gate must accept exactly what staging will read as a value, or a cell such as 'nan' or
    # '1 234' would pass the gate and then be published as withheld instead of failing here.
    text = f"trim(replace(replace(trim({expression}), ',', ''), '%', ''))"
    pattern = ees_cells.number_pattern().replace("'", "''")
    return f"CASE WHEN regexp_full_match({text}, '{pattern}') THEN TRY_CAST({text} AS DOUBLE) END"


def raw_local_frame(con: duckdb.DuckDBPyConnection, table: str) -> pd.DataFrame:
    """The rows of ``raw.<table>`` (local_schools, local_school_values or local_inspections), with
    one problem column per kind of LOCAL_PROBLEM_COLUMNS[table], that suite ``raw_<table>`` could
    fail on (see :func:`compile_suite`)."""
    builders = {
        "local_schools": _local_schools_sql,
        "local_school_values": _local_values_sql,
        "local_inspections": _local_inspections_sql,
    }
    reference = _la_reference(con) if table == "local_schools" else None
    if reference is not None:
        con.register("_la_reference", reference)
    try:
        order = "_source_file, _row_number" + (", measure_code" if table == "local_school_values" else "")
        return row_candidates(con, builders[table](reference is not None), f"raw_{table}", order)
    finally:
        if reference is not None:
            con.unregister("_la_reference")


def _local_schools_sql(with_reference: bool) -> str:
    if with_reference:
        la_join = "LEFT JOIN _la_reference ref ON ref.old_la_code = trim(s.la_code)"
        known_la = """CASE WHEN ref.old_la_code IS NULL THEN format('la_code {} is not an LA in {}', trim(s.la_code),
                            (SELECT min(source) FROM _la_reference WHERE source LIKE 'the statistical%')) END"""
    else:
        # Without DfE's statistical neighbour model loaded, the form is all that can be checked.
        la_join = ""
        known_la = """CASE WHEN NOT regexp_full_match(trim(s.la_code), '[0-9]{3}') THEN
                            format('la_code ''{}'' is not a 3-digit LA number (old_la_code)', s.la_code) END"""
    return f"""
        WITH occurrences AS (
            SELECT trim(urn) AS urn_key, count(*) AS n,
                string_agg(_source_file || ' line ' || _row_number, ' and ' ORDER BY _source_file, _row_number) AS lines,
                string_agg(DISTINCT dataset, ', ' ORDER BY dataset) AS datasets
            FROM raw.local_schools WHERE NOT {_blank("urn")} GROUP BY 1
        )
        SELECT s.*,
            CASE WHEN {_blank("s.urn")} THEN 'URN is blank'
                 WHEN o.n > 1 THEN format('URN {{}} is in the school register {{}} times (dataset {{}}): {{}}',
                                          trim(s.urn), o.n, o.datasets, o.lines)
                 WHEN NOT regexp_full_match(trim(s.urn), '[0-9]{{6}}') THEN
                      format('URN ''{{}}'' is not a 6-digit number', s.urn)
            END AS urn_problem,
            CASE WHEN {_blank("s.la_code")} THEN format('la_code is blank for URN {{}}', coalesce(trim(s.urn), '(blank)'))
                 ELSE {known_la}
            END AS la_problem
        FROM raw.local_schools s
        LEFT JOIN occurrences o ON o.urn_key = trim(s.urn)
        {la_join}
        ORDER BY s._source_file, s._row_number
    """


def _local_values_sql(_: bool) -> str:
    value, numerator, denominator = _number_of("v.value"), _number_of("v.numerator"), _number_of("v.denominator")
    missing = "list_contains(from_json(m.missing_values, '[\"VARCHAR\"]'), trim({0}))"
    markers = "array_to_string(from_json(m.missing_values, '[\"VARCHAR\"]'), ', ')"

    def junk(cell: str, label: str) -> str:
        return f"""CASE WHEN NOT {_blank(cell)} AND {_number_of(cell)} IS NULL AND NOT {missing.format(cell)} THEN
            format('{label} ''{{}}'' of {{}} is neither a number nor one of the missing values ({{}})',
                   {cell}, v.measure_code, {markers}) END"""

    computed = f"CASE WHEN m.value_column IS NOT NULL THEN {value} WHEN {denominator} > 0 THEN {numerator} / {denominator} * 100 END"
    return f"""
        WITH register AS (
            SELECT trim(urn) AS urn_key, arg_min(trim(la_code), _source_file || lpad(_row_number::VARCHAR, 10, '0')) AS la_code,
                arg_min(_source_file || ' line ' || _row_number, _source_file || lpad(_row_number::VARCHAR, 10, '0')) AS at
            FROM raw.local_schools WHERE NOT {_blank("urn")} GROUP BY 1
        ), registers AS (
            SELECT coalesce(string_agg(DISTINCT dataset, ', ' ORDER BY dataset), 'none listed') AS names FROM raw.local_schools
        ), occurrences AS (
            SELECT trim(urn) AS urn_key, measure_code, time_period, time_identifier, count(*) AS n,
                string_agg(_source_file || ' line ' || _row_number, ' and ' ORDER BY _source_file, _row_number) AS lines
            FROM raw.local_school_values WHERE NOT {_blank("urn")} GROUP BY ALL HAVING count(*) > 1
        ), cells AS (
            SELECT *, row_number() OVER (PARTITION BY _source_file, _row_number ORDER BY measure_code) AS _cell
            FROM raw.local_school_values
        )
        SELECT v.* EXCLUDE (_cell),
            CASE WHEN v._cell > 1 THEN NULL
                 WHEN {_blank("v.urn")} THEN 'URN is blank'
                 WHEN r.urn_key IS NULL THEN format('URN {{}} is not in the school register (dataset {{}})',
                                                    trim(v.urn), (SELECT names FROM registers))
            END AS urn_problem,
            CASE WHEN o.n > 1 THEN format('URN {{}} has {{}} rows for {{}} in {{}} {{}}: {{}}', trim(v.urn), o.n,
                                          v.measure_code, v.time_period, v.time_identifier, o.lines)
            END AS duplicate_problem,
            CASE WHEN v._cell = 1 AND NOT {_blank("v.la_code")} AND r.la_code IS NOT NULL AND trim(v.la_code) <> r.la_code THEN
                format('URN {{}} is in LA {{}} here but in LA {{}} in the school register ({{}})',
                       trim(v.urn), trim(v.la_code), r.la_code, r.at)
            END AS la_problem,
            coalesce(
                {junk("v.value", "value")},
                {junk("v.numerator", "numerator")},
                {junk("v.denominator", "denominator")},
                CASE WHEN {numerator} IS NOT NULL AND {denominator} = 0 THEN
                    format('denominator of {{}} is 0 (numerator {{}})', v.measure_code, v.numerator) END,
                CASE WHEN {computed} < TRY_CAST(m.value_min AS DOUBLE) OR {computed} > TRY_CAST(m.value_max AS DOUBLE) THEN
                    format('{{}} {{}} of {{}} is outside {{}}-{{}}{{}}',
                           CASE WHEN m.unit = 'percent' THEN 'percentage' ELSE 'value' END,
                           CASE WHEN m.value_column IS NOT NULL THEN '''' || v.value || ''''
                                ELSE format('{{}} ({{}} / {{}} x 100)', round({computed}, 2), v.numerator, v.denominator) END,
                           v.measure_code, m.value_min, m.value_max,
                           CASE WHEN m.unit = 'percent' THEN ' (a percentage)' ELSE '' END) END
            ) AS value_problem,
            CASE WHEN NOT {_blank("v.cohort")} AND NOT {missing.format("v.cohort")} AND NOT {_WHOLE.format("v.cohort")} THEN
                format('cohort ''{{}}'' of {{}} ({{}}) is not a whole number of pupils (0 or more)',
                       v.cohort, v.measure_code, m.cohort_column)
            END AS cohort_problem
        FROM cells v
        LEFT JOIN register r ON r.urn_key = trim(v.urn)
        LEFT JOIN raw.local_measures m ON m.dataset = v.dataset AND m.measure_code = v.measure_code
        LEFT JOIN occurrences o ON o.urn_key = trim(v.urn) AND o.measure_code = v.measure_code
            AND o.time_period IS NOT DISTINCT FROM v.time_period AND o.time_identifier IS NOT DISTINCT FROM v.time_identifier
        ORDER BY v._source_file, v._row_number, v.measure_code
    """


def _local_inspections_sql(_: bool) -> str:
    # The words staging maps to a grade (stg_local__inspections), older Ofsted wordings included.
    grades = ", ".join(
        f"'{g}'"
        for g in (
            "1",
            "2",
            "3",
            "4",
            "outstanding",
            "good",
            "requires improvement",
            "satisfactory",
            "inadequate",
            "serious weaknesses",
            "special measures",
            "not judged",
            "",
        )
    )
    return f"""
        WITH occurrences AS (
            SELECT dataset, as_at, trim(urn) AS urn_key, count(*) AS n,
                string_agg(_source_file || ' line ' || _row_number, ' and ' ORDER BY _source_file, _row_number) AS lines
            FROM raw.local_inspections WHERE NOT {_blank("urn")} GROUP BY ALL HAVING count(*) > 1
        )
        SELECT i.*,
            CASE WHEN {_blank("i.urn")} THEN 'URN is blank' END AS urn_problem,
            CASE WHEN regexp_replace(lower(trim(coalesce(i.overall_effectiveness, ''))), '\\s+', ' ', 'g') NOT IN ({grades}) THEN
                format('overall_effectiveness ''{{}}'' is not a grade (1-4, Outstanding, Good, Requires improvement, '
                       || 'Satisfactory, Inadequate, Serious weaknesses, Special measures) nor a not-judged value '
                       || '(add it to grades: or not_judged_values: in the schema)',
                       i.overall_effectiveness) END AS judgement_problem,
            CASE WHEN NOT {_blank("i.pupils")} AND upper(trim(i.pupils)) <> 'NULL' AND NOT {_WHOLE.format("i.pupils")} THEN
                format('pupils ''{{}}'' is not a whole number', i.pupils) END AS pupils_problem,
            CASE WHEN o.n > 1 THEN format('URN {{}} is listed {{}} times in the snapshot as at {{}}: {{}}',
                                          trim(i.urn), o.n, i.as_at, o.lines) END AS duplicate_problem
        FROM raw.local_inspections i
        LEFT JOIN occurrences o ON o.dataset = i.dataset AND o.as_at IS NOT DISTINCT FROM i.as_at AND o.urn_key = trim(i.urn)
        ORDER BY i._source_file, i._row_number
    """
