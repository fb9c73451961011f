"""The raw EES tables' gates: the long frame of indicator cells each raw suite validates, and the
row-level checks (periods, regions, LAs, headline rows, counts) whose findings it carries."""

from __future__ import annotations

import duckdb
import pandas as pd

from orchestration.lib.gates.suites import (
    LOCATION_COLUMNS,
    _missing,
    _NotRowLevel,
    compile_suite,
    load_suite_definition,
    suite_parameters,
)
from orchestration.lib.gates.suites import quote_identifier as _quote
from orchestration.lib.gates.suites import sql_literal as _literal
from orchestration.lib.rules import areas, ees_cells, registry


def _headline_values(dataset: str, filter_column: str) -> tuple[str, ...]:
    """The filter's values that mark the dataset's headline row (registry), Total for other datasets."""
    entry = registry.ees_datasets().get(dataset)
    return entry.headline_values(filter_column) if entry is not None else (ees_cells.filter_total(),)


def _headline_value(dataset: str, filter_column: str) -> str:
    """The headline value a file without the filter column is read as having (the first)."""
    return _headline_values(dataset, filter_column)[0]


def _is_headline_sql(dataset: str, filter_column: str) -> str:
    """SQL: whether the filter column holds one of its headline values."""
    listed = ", ".join(_literal(v) for v in _headline_values(dataset, filter_column))
    return f"{_quote(filter_column)} IN ({listed})"


def _headline_text(dataset: str, filter_column: str) -> str:
    return " or ".join(f"{filter_column}={v}" for v in _headline_values(dataset, filter_column))


def raw_cell_count(con: duckdb.DuckDBPyConnection, dataset: str) -> int:
    """How many indicator cells the raw table holds (what the suite checks, in effect)."""
    indicators, _ = gated_indicators(con, dataset)
    if not indicators:
        return 0
    return (
        con.execute(
            "SELECT " + " + ".join(f"count({_quote(c)})" for c in indicators) + f" FROM {gated_relation(con, dataset)}"
        ).fetchall()[0][0]
        or 0
    )


def _roles(con: duckdb.DuckDBPyConnection, dataset: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT DISTINCT column_name, role FROM raw.file_columns WHERE dataset = ? ORDER BY column_name", [dataset]
    ).fetchall()


RAW_STANDARD_COLUMNS = (
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "region_code",
    "old_la_code",
    "new_la_code",
    "la_name",
    "version",
)
# Cell attributes of the long frame, and the row-level problems attached to a row's first cell.
_CELL_ATTRIBUTES = ("indicator", "raw_value", "value", "is_percentage")


# What the gates judge: rows at the geographic levels the dataset publishes (its registry entry's
# geographic_levels), and indicator columns the measure catalogue reads. Everything else in a DfE
# file (School and LA district rows, columns no measure reads) is kept in raw.* as landed, never
# published, and only warned about: a quirk in data nothing publishes must not stop a publication.


def _levels(dataset: str) -> tuple[str, ...] | None:
    entry = registry.ees_datasets().get(dataset)
    return entry.geographic_levels if entry is not None else None


def gated_relation(con: duckdb.DuckDBPyConnection, dataset: str, repeated_rows: bool = False) -> str:
    """SQL relation of the raw table's rows at published levels (all rows for other datasets);
    with ``repeated_rows``, also the rows the registry's repeated_rows_keep_largest leaves unread."""
    table = f"raw.{_quote(dataset)}"
    levels = _levels(dataset)
    present = _table_columns(con, dataset)
    if levels is None or "geographic_level" not in present:
        return table
    listed = ", ".join(_literal(level) for level in levels)
    # Inner/Outer London rows coded with London's code are the sub-region's, as staging reads them.
    region = (
        f" REPLACE ({areas.area_region_code_sql('region_code', 'region_name')} AS region_code)"
        if {"region_code", "region_name"} <= present
        else ""
    )
    # Compared as staging compares them (int_measure_values: case-insensitive).
    return (
        f"(SELECT *{region} FROM {table} WHERE lower(geographic_level) IN (SELECT lower(unnest([{listed}])))"
        f"{'' if repeated_rows else _repeated_rows_qualify(con, dataset, present)})"
    )


def _repeated_rows_qualify(con: duckdb.DuckDBPyConnection, dataset: str, present: set[str]) -> str:
    """The registry's repeated_rows_keep_largest, as staging applies it (macros/ees_staging.sql):
    of the rows of a file that share period, area, version and every filter, the one with the
    largest count. DfE's level 2/3 at 19 file repeats each area's all-Total row three times: the
    cohort, and its pupils with and without SEN labelled as the total."""
    entry = registry.ees_datasets().get(dataset)
    cohort = entry.repeated_rows_keep_largest if entry is not None else None
    if cohort is None or cohort not in present:
        return ""
    standard = [c for c in RAW_STANDARD_COLUMNS if c in present and c != "la_name"]
    filters = [c for c, r in _roles(con, dataset) if r == "filter" and c in present]
    key = ", ".join(_quote(c) for c in ["_file_sha256", *standard, *filters])
    count = f"TRY_CAST(replace({_quote(cohort)}, ',', '') AS DOUBLE)"
    # where some repeated rows' counts are withheld ('c') and others are not, which one is the whole
    # cohort is unknown: all stay, and the uniqueness check blocks. Where every count is withheld
    # (the Isles of Scilly) the first row is read: DfE lists the total first in every such group.
    return (
        f" QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY {count} DESC NULLS LAST, _row_number) = 1"
        f" OR (bool_or({count} IS NULL) OVER (PARTITION BY {key}) AND bool_or({count} IS NOT NULL) OVER (PARTITION BY {key}))"
    )


def gated_indicators(con: duckdb.DuckDBPyConnection, dataset: str) -> tuple[list[str], list[str]]:
    """(indicator columns the catalogue reads, the file's other indicator columns)."""
    from orchestration.lib.ingest.reader import known_indicator_names
    from orchestration.lib.sources.config import dataset_specs

    present = _table_columns(con, dataset)
    indicators = [c for c, r in _roles(con, dataset) if r == "indicator" and c in present]
    spec = dataset_specs().get(dataset)
    if spec is None or spec.kind != "ees":
        return indicators, []
    read = known_indicator_names(spec)
    return [c for c in indicators if c in read], [c for c in indicators if c not in read]


def raw_warnings(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """What the gate leaves unjudged because nothing publishes it, counted so nobody is surprised:
    rows at other geographic levels, and junk or out-of-range cells in columns no measure reads."""
    warnings = []
    table = f"raw.{_quote(dataset)}"
    levels = _levels(dataset)
    if levels is not None and "geographic_level" in _table_columns(con, dataset):
        others = con.execute(
            f"SELECT coalesce(geographic_level, '(blank)'), count(*) FROM {table} "
            f"WHERE coalesce(lower(geographic_level), '') NOT IN (SELECT lower(unnest(?::VARCHAR[]))) "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            [list(levels)],
        ).fetchall()
        if others:
            counted = ", ".join(f"{level} {n:,}" for level, n in others)
            warnings.append(
                f"{sum(n for _, n in others):,} row(s) at levels no measure publishes ({counted}): "
                f"kept in raw.{dataset}, not checked, not published"
            )
    warnings += _unreadable_files(con, dataset)
    warnings += _shortened_name_warnings(con, dataset)
    warnings += _repeated_row_warnings(con, dataset)
    warnings += _uncoded_area_warnings(con, dataset)
    warnings += _headline_gap_warnings(con, dataset)
    _, unread = gated_indicators(con, dataset)
    if unread:
        relation = gated_relation(con, dataset)
        regex = ees_cells.gate_cell_regex()
        checks = []
        for column in unread:
            cell = _quote(column)
            percentage = _is_percentage(_literal(column))
            checks.append(
                f"SELECT {_literal(column)} AS indicator, "
                f"count(*) FILTER (WHERE NOT regexp_matches(coalesce({cell}, ''), $regex)) AS junk, "
                f"count(*) FILTER (WHERE {percentage} AND (TRY_CAST({cell} AS DOUBLE) < 0 "
                f"OR TRY_CAST({cell} AS DOUBLE) > 100)) AS out_of_range, "
                f"arg_min(_source_file || ' line ' || _row_number || ': ' || {cell}, _row_number) FILTER "
                f"(WHERE NOT regexp_matches(coalesce({cell}, ''), $regex) OR ({percentage} AND "
                f"(TRY_CAST({cell} AS DOUBLE) < 0 OR TRY_CAST({cell} AS DOUBLE) > 100))) AS example "
                f"FROM {relation}"
            )
        for column, junk, out_of_range, example in con.execute(" UNION ALL ".join(checks), {"regex": regex}).fetchall():
            if junk or out_of_range:
                found = " and ".join(
                    part
                    for part in (
                        f"{junk:,} cell(s) neither a number nor an EES symbol" if junk else "",
                        f"{out_of_range:,} percentage(s) outside 0-100" if out_of_range else "",
                    )
                    if part
                )
                warnings.append(f"column {column} (no measure reads it): {found}, e.g. {example}")
    return warnings


def _file_filters(con: duckdb.DuckDBPyConnection, dataset: str, sha: str, present: set[str]) -> list[str]:
    """The filter columns of one landed file (raw.file_columns), in name order."""
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM raw.file_columns WHERE dataset = ? AND file_sha256 = ? AND role = 'filter' "
            "ORDER BY column_name",
            [dataset, sha],
        ).fetchall()
        if r[0] in present
    ]


def _holds_headline(con: duckdb.DuckDBPyConnection, table: str, dataset: str, sha: str, column: str) -> bool:
    """Whether any row of the file has ``column`` at its headline value (Total, or the registry's)."""
    return bool(
        con.execute(
            f"SELECT bool_or({_is_headline_sql(dataset, column)}) FROM {table} WHERE _file_sha256 = ?",
            [sha],
        ).fetchall()[0][0]
    )


def _unreadable_files(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Files no measure can read: a filter never holds its headline value and no catalogue row
    selects on it (DfE's children-in-need outcome files: social_care_group is CINO, CPPO or CLA,
    never Total). Nothing of them is published; said once per file, naming the filter."""
    from orchestration.lib.ingest.reader import catalogue_filter_columns

    selected = catalogue_filter_columns().get(dataset, frozenset())
    table = gated_relation(con, dataset)
    present = _table_columns(con, dataset)
    warnings = []
    for sha, source in con.execute(f"SELECT DISTINCT _file_sha256, _source_file FROM {table} ORDER BY 2").fetchall():
        filters = [f for f in _file_filters(con, dataset, sha, present) if f not in selected]
        described = []
        for f in filters:
            headline = " or ".join(repr(v) for v in _headline_values(dataset, f))
            if not _holds_headline(con, table, dataset, sha, f):
                values = (
                    con.execute(
                        f"SELECT list(DISTINCT {_quote(f)} ORDER BY {_quote(f)}) FROM {table} WHERE _file_sha256 = ?",
                        [sha],
                    ).fetchall()[0][0]
                    or []
                )
                shown = ", ".join(map(str, values[:6])) + (", ..." if len(values) > 6 else "")
                described.append(f"{f} never holds {headline} (it holds {shown})")
        if described:
            warnings.append(
                f"{source}: no measure reads this file, as no row of it is a headline row: "
                + "; ".join(described)
                + " (a catalogue row naming one of those values would read it)"
            )
    return warnings


def _is_percentage(indicator: str) -> str:
    """SQL: whether the indicator column (a SQL text expression) holds a percentage."""
    return (
        f"({indicator} LIKE 'pt\\_%' ESCAPE '\\' OR {indicator} LIKE '%\\_percent' ESCAPE '\\' "
        f"OR {indicator} LIKE '%\\_percentage' ESCAPE '\\')"
    )


def raw_ees_frame(
    con: duckdb.DuckDBPyConnection, dataset: str, suite_name: str | None = None, parameters: dict | None = None
) -> pd.DataFrame:
    """The long frame suite ``raw_<dataset>`` validates: one row per file row x indicator cell,
    still as text, plus the number parsed from it, whether the column is a percentage, and the
    row-level problems :func:`raw_row_problems` found (on the row's first cell only, so each is
    reported once), but only the cells the suite could fail on: its expectations are compiled to
    SQL (:func:`compile_suite`) that DuckDB runs over the whole table, so Great Expectations sees
    a few rows instead of every cell of a file of millions and gives the same verdict and report."""
    suite = load_suite_definition(suite_name or f"raw_{dataset}")
    present = _table_columns(con, dataset)
    roles = _roles(con, dataset)
    indicators, _ = gated_indicators(con, dataset)
    filters = [c for c, r in roles if r == "filter"]
    select_standard = ", ".join(
        f"{_quote(c)}" if c in present else f"NULL::VARCHAR AS {_quote(c)}" for c in RAW_STANDARD_COLUMNS
    )
    # A filter a file lacks reads as its headline value, as staging reads it.
    filter_key = (
        "concat_ws('|', "
        + ", ".join(
            f"{_literal(f + '=')} || coalesce({_quote(f)}, {_literal(_headline_value(dataset, f))})" for f in filters
        )
        + ")"
        if filters
        else "''"
    )
    if not indicators:
        return pd.DataFrame(
            columns=[*LOCATION_COLUMNS, *RAW_STANDARD_COLUMNS, "filter_key", *_CELL_ATTRIBUTES, *ROW_PROBLEM_COLUMNS]
        )
    row_columns = {*LOCATION_COLUMNS, *RAW_STANDARD_COLUMNS, "filter_key"}
    compiled = compile_suite(suite, {**suite_parameters(), **(parameters or {})})
    problems = raw_row_problems(con, dataset)

    def row_ref(name: str) -> str:
        if name in row_columns:
            return f"w.{_quote(name)}"
        raise _NotRowLevel(name)

    def cell_of(indicator: str):
        # The expectation as it applies to one indicator column of the wide row.
        def ref(name: str) -> str:
            if name == "indicator":
                return compiled.bind(indicator)
            if name == "raw_value":
                return f"w.{_quote(indicator)}"
            if name == "value":
                return f"TRY_CAST(w.{_quote(indicator)} AS DOUBLE)"
            if name == "is_percentage":
                return _is_percentage(compiled.bind(indicator))
            if name in ROW_PROBLEM_COLUMNS:
                return f"_p_{name}"
            return row_ref(name)

        return ref

    def cell_ref(name: str) -> str:
        return (
            _quote(name)
            if name in row_columns or name in _CELL_ATTRIBUTES or name in ROW_PROBLEM_COLUMNS
            else _missing(name)
        )

    row_level, cell_level = [], []
    for failing in compiled.failing:
        try:
            row_level.append(failing(row_ref))
        except _NotRowLevel:
            cell_level.append(failing)
    windows = [
        f"count(*) OVER (PARTITION BY {', '.join('b.' + _quote(c) for c in key)}) > 1 AS _dup{i}"
        for i, key in enumerate(compiled.unique_keys(row_columns))
    ]
    row_level += [f"w._dup{i}" for i in range(len(windows))]
    row_fails = " OR ".join(f"({p})" for p in row_level) or "FALSE"
    per_indicator = list(
        dict.fromkeys(failing(cell_of(indicator)) for failing in cell_level for indicator in indicators)
    )
    candidate = " OR ".join(f"({p})" for p in [row_fails, *per_indicator])
    cell_fails = " OR ".join(f"({failing(cell_ref)})" for failing in cell_level) or "FALSE"
    if problems.empty:
        problem_columns = ", ".join(f"NULL::VARCHAR AS _p_{c}" for c in ROW_PROBLEM_COLUMNS)
        problem_join = ""
    else:
        con.register("_row_problems", problems)
        problem_columns = ", ".join(f"p.{c} AS _p_{c}" for c in ROW_PROBLEM_COLUMNS)
        problem_join = "LEFT JOIN _row_problems p ON p._source_file = w._source_file AND p._row_number = w._row_number"
    exclude = f" EXCLUDE ({', '.join(f'_dup{i}' for i in range(len(windows)))})" if windows else ""
    columns = ", ".join(_quote(c) for c in indicators)
    # A row's first cell (by indicator name, as UNPIVOT leaves out empty columns) carries its problems.
    first = "CASE " + " ".join(f"WHEN {_quote(c)} IS NOT NULL THEN {_literal(c)}" for c in sorted(indicators)) + " END"
    sql = f"""
        WITH base AS (
            SELECT _source_file, _row_number, {select_standard}, {filter_key} AS filter_key, {columns},
                {first} AS _first_indicator
            FROM {gated_relation(con, dataset)}
        ), windowed AS (
            SELECT b.*{"".join(", " + w for w in windows)} FROM base b
        ), flagged AS (
            SELECT w.*, {problem_columns}
            FROM windowed w {problem_join}
        ), candidates AS (
            SELECT w.*{exclude}, {row_fails} AS _row_fails
            FROM flagged w WHERE {candidate}
        ), unpivoted AS (
            UNPIVOT candidates ON {columns} INTO NAME indicator VALUE raw_value
        ), cells AS (
            SELECT _source_file, _row_number, {", ".join(_quote(c) for c in RAW_STANDARD_COLUMNS)}, filter_key,
                indicator, raw_value, TRY_CAST(raw_value AS DOUBLE) AS value, {_is_percentage("indicator")} AS is_percentage,
                {", ".join(f"CASE WHEN indicator = _first_indicator THEN _p_{c} END AS {c}" for c in ROW_PROBLEM_COLUMNS)},
                _row_fails
            FROM unpivoted
        )
        SELECT * EXCLUDE (_row_fails) FROM cells WHERE _row_fails OR {cell_fails}
        ORDER BY _source_file, _row_number, indicator
    """
    try:
        return con.execute(sql, compiled.values).df()
    finally:
        if not problems.empty:
            con.unregister("_row_problems")


# Row-level checks of the raw EES tables ----------------------------------------------------------
# Each gives (_source_file, _row_number, kind, problem) rows; raw_ees_frame puts them in one column
# per kind, which the raw suites expect to be empty, so a failure names the file, line and values.

ROW_PROBLEM_COLUMNS = ("time_problem", "region_problem", "la_problem", "headline_problem", "count_problem")

# ONS codes of England's nine regions, and the Inner/Outer London codes DfE files give London LAs
# (vars.areas in dbt_project.yml, which the marts read too).
ENGLISH_REGIONS = areas.english_regions()
LONDON = areas.london()

# LAs created or retired by reorganisations (old_la_code -> name, region code), from
# seeds/la_boundary_changes.csv: a statistical neighbour model of one year lacks the codes of the
# others, and timeseries files carry both.
REORGANISED_LAS = {code: (c.la_name, c.region_code) for code, c in areas.boundary_changes().items()}

# Cohort columns a count behind a percentage is out of, when no `t_<stem>_eligible_pupils` exists.
COHORT_COLUMNS = (
    "t_pupils",
    "t_students",
    "t_children",
    "t_enrolments",
    "t_headcount",
    "headcount",
    "number_in_ss_cohort",
)

# How each time_identifier writes its time_period (EES standard: 201920 for an academic, financial
# or tax year or a term; 2019 for a calendar or reporting year).
SIX_DIGIT_PERIODS = ("academic year", "financial year", "tax year")
FOUR_DIGIT_PERIODS = ("calendar year", "reporting year")


def _table_columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    """The columns of raw.<table> (none when it does not exist). Read from the relation's binding,
    not information_schema: a gate asks about 20 times, and that view costs ~4 ms a query."""
    try:
        return set(con.table(f"raw.{_quote(table)}").columns)
    except duckdb.CatalogException:
        return set()


def _name_key(expression: str) -> str:
    """SQL: an LA or region name reduced to what identifies it, so "St. Helens" = "St Helens" and
    "Bristol, City of" = "Bristol" (vars.areas.name_key, as dbt's la_name_key); NULL reads ''."""
    return areas.name_key_sql(f"coalesce({expression}, '')")


# DfE's level 2/3 at 19 file cuts some names short ('Wals' for Walsall, 'Cornw' for Cornwall): a
# name that starts the model's name, this long or longer, names the same LA (its code decides).
SHORTENED_NAME_MIN_LENGTH = 4


def _same_la_name(key: str, reference_key: str) -> str:
    """SQL: whether a row's name key names the reference's LA: equal, or the reference's name cut
    short and no other LA's name (current or predecessor) starts the same way, so 'Bedford' on
    Bedfordshire's code (820) or 'Bournemouth' on BCP's still blocks. Needs _la_reference registered."""
    others = f"(SELECT count(*) FROM _la_reference o WHERE starts_with({_name_key('o.la_name')}, {key}))"
    return (
        f"({key} = {reference_key} OR (length({key}) >= {SHORTENED_NAME_MIN_LENGTH} "
        f"AND starts_with({reference_key}, {key}) AND {others} = 1))"
    )


def _repeated_row_warnings(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Rows the registry's repeated_rows_keep_largest leaves unread, counted with an example."""
    if not _repeated_rows_qualify(con, dataset, _table_columns(con, dataset)):
        return []
    dropped, example = con.execute(
        f"SELECT count(*), arg_min(_source_file || ' line ' || _row_number, _row_number) FROM ("
        f"SELECT _source_file, _row_number FROM {gated_relation(con, dataset, repeated_rows=True)} "
        f"EXCEPT SELECT _source_file, _row_number FROM {gated_relation(con, dataset)})"
    ).fetchall()[0]
    cohort = registry.ees_datasets()[dataset].repeated_rows_keep_largest
    return (
        [
            f"{dropped:,} row(s) repeat another row's period, area and filters with a smaller {cohort} "
            f"(e.g. {example}): read as sub-groups DfE labelled as the total; the row with the largest {cohort} "
            "is the one read"
        ]
        if dropped
        else []
    )


def _uncoded_area_warnings(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """Rows at a published level without the code their area is published under (Regional rows
    of a file with no region_code column), counted per level with the lowest line. A blank cell
    in a code column stops the suites' code checks; a missing column passes them unnoticed."""
    present = _table_columns(con, dataset)
    if "geographic_level" not in present:
        return []
    published = areas.published_levels()  # the code each level's rows are published under
    registered = _levels(dataset)
    levels = set(published) if registered is None else {level.lower() for level in registered}
    warnings = []
    for level, area in published.items():
        if level not in levels:
            continue
        column = area.code
        count, example = con.execute(
            f"SELECT count(*), arg_min(_source_file || ' line ' || _row_number, _row_number) "
            f"FROM raw.{_quote(dataset)} WHERE lower(geographic_level) = ? AND trim(coalesce({_col(present, column)}, '')) = ''",
            [level],
        ).fetchall()[0]
        if count:
            warnings.append(
                f"{count:,} {level} row(s) without {column} (first: {example}): kept in raw.{dataset}, not published"
            )
    return warnings


def _shortened_name_warnings(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """LA names a file cuts short, said once per name: they pass, and the published name is the model's."""
    present = _table_columns(con, dataset)
    reference = _la_reference(con)
    if reference is None or not {"geographic_level", "old_la_code", "la_name"} <= present:
        return []
    con.register("_la_reference", reference)
    try:
        shortened = con.execute(
            f"""
            SELECT DISTINCT raw.old_la_code, raw.la_name, ref.la_name,
                count(*) OVER (PARTITION BY raw.old_la_code, raw.la_name)
            FROM {gated_relation(con, dataset)} raw JOIN _la_reference ref ON ref.old_la_code = raw.old_la_code
            WHERE lower(raw.geographic_level) = 'local authority' AND coalesce(raw.la_name, '') <> ''
                AND {_name_key("raw.la_name")} <> {_name_key("ref.la_name")}
                AND {_same_la_name(_name_key("raw.la_name"), _name_key("ref.la_name"))}
            ORDER BY 1
            """
        ).fetchall()
    finally:
        con.unregister("_la_reference")
    return [
        f"old_la_code {code} is named '{name}' on {rows:,} row(s), short for '{full}': read as {full}"
        for code, name, full, rows in shortened
    ]


def _plain(text: str) -> str:
    """The same key in Python."""
    return areas.name_key(text)


def _region_key(expression: str) -> str:
    """SQL: the region an area is in, London's sub-regions counting as London."""
    return areas.region_key_sql(expression)


def _col(present: set[str], name: str) -> str:
    return _quote(name) if name in present else "NULL::VARCHAR"


def _time_problems(con, table: str, present: set[str]) -> list[pd.DataFrame]:
    if not {"time_period", "time_identifier"} <= present:
        return []
    mixed = con.execute(f"""
        WITH counted AS (
            SELECT _source_file, time_identifier, count(*) AS n FROM {table} GROUP BY ALL
        ), usual AS (
            SELECT _source_file, arg_max(time_identifier, n) AS identifier, max(n) AS n, count(*) AS variants
            FROM counted GROUP BY ALL
        )
        SELECT r._source_file, r._row_number, 'time_problem' AS kind,
            format('the file mixes time identifiers: ''{{}}'' on {{}} rows, ''{{}}'' on this one',
                   u.identifier, u.n, coalesce(r.time_identifier, '')) AS problem
        FROM {table} r JOIN usual u USING (_source_file)
        WHERE u.variants > 1 AND r.time_identifier IS DISTINCT FROM u.identifier
    """).df()
    six = ", ".join(f"'{t}'" for t in SIX_DIGIT_PERIODS)
    four = ", ".join(f"'{t}'" for t in FOUR_DIGIT_PERIODS)
    next_year = "lpad(((TRY_CAST(substr(time_period, 3, 2) AS INTEGER) + 1) % 100)::VARCHAR, 2, '0')"
    form = con.execute(f"""
        SELECT _source_file, _row_number, 'time_problem' AS kind,
            CASE WHEN NOT regexp_full_match(coalesce(time_period, ''), '[0-9]{{6}}') THEN
                    format('time_period {{}} does not fit time_identifier ''{{}}'': expected six digits, the two years (e.g. 202122)',
                           coalesce(nullif(time_period, ''), '(blank)'), time_identifier)
                 ELSE format('time_period {{}} is not a year and the next (expected {{}})',
                             time_period, left(time_period, 4) || {next_year})
            END AS problem
        FROM {table}
        WHERE (lower(time_identifier) IN ({six}) OR lower(time_identifier) LIKE '%term%')
          AND (NOT regexp_full_match(coalesce(time_period, ''), '[0-9]{{6}}') OR right(time_period, 2) <> {next_year})
        UNION ALL
        SELECT _source_file, _row_number, 'time_problem',
            format('time_period {{}} does not fit time_identifier ''{{}}'': expected a four-digit year',
                   coalesce(nullif(time_period, ''), '(blank)'), time_identifier)
        FROM {table}
        WHERE lower(time_identifier) IN ({four}) AND NOT regexp_full_match(coalesce(time_period, ''), '[0-9]{{4}}')
    """).df()
    return [mixed, form]


def _region_problems(con, table: str, present: set[str]) -> list[pd.DataFrame]:
    if "region_code" not in present:
        return []
    regions = pd.DataFrame({"code": list(ENGLISH_REGIONS), "name": list(ENGLISH_REGIONS.values())})
    con.register("_english_regions", regions)
    row_name = f"r.{_quote('region_name')}" if "region_name" in present else "NULL::VARCHAR"
    try:
        return [
            con.execute(f"""
            WITH codes AS (
                SELECT DISTINCT region_code, {_col(present, "region_name")} AS region_name
                FROM {table} WHERE coalesce(region_code, '') <> ''
            ), wrong AS (
                SELECT c.region_code, c.region_name,
                    CASE WHEN e.code IS NULL THEN format('region_code {{}} is not an English region '
                            || '(E12000001-E12000009, or E13000001/E13000002 for Inner/Outer London)', c.region_code)
                         ELSE format('region_code {{}} is {{}}, not ''{{}}''', c.region_code, e.name, c.region_name)
                    END AS problem
                FROM codes c LEFT JOIN _english_regions e ON e.code = c.region_code
                WHERE e.code IS NULL OR (coalesce(c.region_name, '') <> ''
                                         AND {_name_key("c.region_name")} <> {_name_key("e.name")})
            )
            -- checked once per distinct code and name, then the rows that carry a wrong pair
            SELECT r._source_file, r._row_number, 'region_problem' AS kind, w.problem
            FROM {table} r JOIN wrong w
                ON r.region_code = w.region_code AND {row_name} IS NOT DISTINCT FROM w.region_name
        """).df()
        ]
    finally:
        con.unregister("_english_regions")


def _la_reference(con) -> pd.DataFrame | None:
    """LAs of the statistical neighbour model when it is loaded (old_la_code, name, region code),
    plus the reorganisations' codes it may not know."""
    present = _table_columns(con, "statistical_neighbours")
    if not {"old_la_code", "la_name", "_source_file"} <= present:
        return None
    model = con.execute(
        f"SELECT old_la_code, la_name, {_col(present, 'region_name')} AS region_name, _source_file "
        "FROM raw.statistical_neighbours WHERE coalesce(old_la_code, '') <> ''"
    ).df()
    if model.empty:
        return None
    by_name = {_plain(name): code for code, name in ENGLISH_REGIONS.items()}
    model["region_code"] = [by_name.get(_plain(n)) if isinstance(n, str) else None for n in model["region_name"]]
    model["source"] = "the statistical neighbour model (" + model["_source_file"] + ")"
    known = set(model["old_la_code"])
    extra = [
        {"old_la_code": code, "la_name": name, "region_code": region, "source": "the list of LA reorganisations"}
        for code, (name, region) in REORGANISED_LAS.items()
        if code not in known
    ]
    columns = ["old_la_code", "la_name", "region_code", "source"]
    frame = pd.concat([model[columns], pd.DataFrame(extra, columns=columns)], ignore_index=True)
    frame["region_name"] = [ENGLISH_REGIONS.get(c) if isinstance(c, str) else None for c in frame["region_code"]]
    return frame.astype(object).where(frame.notna(), None)


def _la_problems(con, table: str, present: set[str]) -> list[pd.DataFrame]:
    if not {"geographic_level", "old_la_code"} <= present:
        return []
    # The name and region keys are worked out once per distinct name and code, not per row: a
    # characteristics file repeats each LA's name on thousands of rows.
    la = f"""
        WITH la_rows AS (
            SELECT _source_file, _row_number, {_col(present, "time_period")} AS time_period, old_la_code,
                coalesce({_col(present, "new_la_code")}, '') AS new_la_code,
                coalesce({_col(present, "la_name")}, '') AS la_name,
                coalesce({_col(present, "region_code")}, '') AS region_code
            FROM {table}
            WHERE geographic_level = 'Local authority' AND coalesce(old_la_code, '') <> ''
        ), name_keys AS (
            SELECT la_name, {_name_key("la_name")} AS name_key FROM (SELECT DISTINCT la_name FROM la_rows)
        ), region_keys AS (
            SELECT region_code, coalesce({_region_key("region_code")}, '') AS region_key
            FROM (SELECT DISTINCT region_code FROM la_rows)
        )
        SELECT la_rows.*, name_keys.name_key, region_keys.region_key
        FROM la_rows JOIN name_keys USING (la_name) JOIN region_keys USING (region_code)
    """
    # Within the dataset, a period's LA rows must agree on who an old code (and a new code) is. The
    # ONS code is compared within a file only: ONS recodes an LA when its status changes (North
    # Yorkshire and Somerset became unitary in 2023, E10 -> E06), and a timeseries restates earlier
    # years with today's code while that year's own file has the code of its day.
    identity_check = """
        WITH la AS ({la}), identity AS (
            SELECT {scope} time_period, old_la_code, {code} name_key, region_key, count(*) AS n,
                min(la_name) AS la_name, min(region_code) AS region_code,
                arg_min(_source_file || ' line ' || _row_number, _row_number) AS example
            FROM la GROUP BY ALL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY {scope} time_period, old_la_code ORDER BY n DESC, example) AS rank,
                count(*) OVER (PARTITION BY {scope} time_period, old_la_code) AS variants
            FROM identity
        )
        SELECT la._source_file, la._row_number, 'la_problem' AS kind,
            format('old_la_code {{}} in {{}}: this row has {{}} ''{{}}'' (region {{}}) but {{}} other row(s) have {{}} ''{{}}'' (region {{}}), e.g. {{}}',
                   la.old_la_code, la.time_period, la.new_la_code, la.la_name, la.region_code,
                   u.n, u.new_la_code, u.la_name, u.region_code, u.example) AS problem
        FROM la JOIN ranked u ON u.time_period IS NOT DISTINCT FROM la.time_period AND u.old_la_code = la.old_la_code
            AND u.rank = 1 AND u.variants > 1 {same_file}
        WHERE NOT ({agree})
    """
    # one file may cut a name short ('Wals' in level_2_3_sfla.csv) where another has it in full:
    # the same LA when no other LA's name in the dataset starts that way ('Bedford' on Bedfordshire's
    # code still blocks); the short name is also judged against the model (_shortened_name_warnings)
    shortened = " OR ".join(
        f"(length({a}) >= {SHORTENED_NAME_MIN_LENGTH} AND starts_with({b}, {a}) AND NOT EXISTS ("
        f"SELECT 1 FROM la other WHERE other.old_la_code <> la.old_la_code AND starts_with(other.name_key, {a})))"
        for a, b in (("la.name_key", "u.name_key"), ("u.name_key", "la.name_key"))
    )
    across_files = {
        "scope": "",
        "code": "min(new_la_code) AS new_la_code,",
        "same_file": "",
        "agree": f"(la.name_key = u.name_key OR {shortened}) AND la.region_key = u.region_key",
    }
    within_a_file = {
        "scope": "_source_file,",
        "code": "new_la_code,",
        "same_file": "AND u._source_file = la._source_file",
        "agree": "la.new_la_code = u.new_la_code",
    }
    frames = [con.execute(identity_check.format(la=la, **scope)).df() for scope in (across_files, within_a_file)]
    frames += [
        con.execute(f"""
        WITH la AS ({la}), identity AS (
            SELECT time_period, new_la_code, old_la_code, count(*) AS n,
                arg_min(_source_file || ' line ' || _row_number, _row_number) AS example
            FROM la WHERE new_la_code <> '' GROUP BY ALL
        ), ranked AS (
            SELECT *, row_number() OVER (PARTITION BY time_period, new_la_code ORDER BY n DESC, example) AS rank,
                count(*) OVER (PARTITION BY time_period, new_la_code) AS variants
            FROM identity
        )
        SELECT la._source_file, la._row_number, 'la_problem' AS kind,
            format('new_la_code {{}} in {{}}: this row gives old_la_code {{}} but {{}} other row(s) give {{}}, e.g. {{}}',
                   la.new_la_code, la.time_period, la.old_la_code, u.n, u.old_la_code, u.example) AS problem
        FROM la JOIN ranked u ON u.time_period IS NOT DISTINCT FROM la.time_period AND u.new_la_code = la.new_la_code
            AND u.rank = 1 AND u.variants > 1
        WHERE la.old_la_code <> u.old_la_code
    """).df(),
    ]
    # Against the statistical neighbour model, when loaded: the code exists, with this name and region.
    reference = _la_reference(con)
    if reference is not None:
        model = next(
            (s for s in reference["source"] if s.startswith("the statistical")), "the statistical neighbour model"
        )
        con.register("_la_reference", reference)
        try:
            frames.append(
                con.execute(
                    f"""
                WITH la AS ({la}), identities AS (
                    SELECT DISTINCT old_la_code, la_name, region_code, name_key, region_key FROM la
                ), reference AS (
                    SELECT *, {_name_key("la_name")} AS name_key FROM _la_reference
                ), checked AS (
                    -- once per distinct code, name and region, then the rows that carry a wrong one
                    SELECT la.old_la_code, la.la_name, la.region_code,
                        CASE WHEN ref.old_la_code IS NULL THEN
                            format('old_la_code {{}} (''{{}}'') is not an LA in {{}}', la.old_la_code, la.la_name, ?)
                        ELSE concat_ws('; ',
                            CASE WHEN la.la_name <> '' AND NOT {_same_la_name("la.name_key", "ref.name_key")} THEN
                                format('old_la_code {{}} is ''{{}}'' in {{}}, not ''{{}}''',
                                       la.old_la_code, ref.la_name, ref.source, la.la_name) END,
                            CASE WHEN la.region_key <> '' AND ref.region_code IS NOT NULL AND la.region_key <> ref.region_code THEN
                                format('{{}} ({{}}) is in {{}} ({{}}) according to {{}}, not in region {{}}', ref.la_name,
                                       la.old_la_code, ref.region_name, ref.region_code, ref.source, la.region_code) END)
                        END AS problem
                    FROM identities la LEFT JOIN reference ref ON ref.old_la_code = la.old_la_code
                )
                SELECT la._source_file, la._row_number, 'la_problem' AS kind, checked.problem
                FROM la JOIN checked USING (old_la_code, la_name, region_code)
                WHERE coalesce(checked.problem, '') <> ''
            """,
                    [model],
                ).df()
            )
        finally:
            con.unregister("_la_reference")
    return frames


def _headline_gaps(con, table: str, dataset: str, present: set[str]) -> list[pd.DataFrame]:
    """Every period x area (x version, x each filter the file never totals) needs its headline row,
    where every filter the file does total holds its headline value (Total, or what the dataset's
    registry entry names): without it the headline silently vanishes. One row per group without
    one; `publishes` says whether any of its cells in a column a measure reads is a number (DfE's
    A level series has no state-funded total for 2012/13, whose points are all NA)."""
    read, _ = gated_indicators(con, dataset)
    pattern = _literal(ees_cells.number_pattern())
    publishes = (
        " OR ".join(f"regexp_full_match(replace(coalesce({_quote(c)}, ''), ',', ''), {pattern})" for c in read)
        if read
        else "true"
    )
    frames = []
    for (sha,) in con.execute(f"SELECT DISTINCT _file_sha256 FROM {table} ORDER BY 1").fetchall():
        filters = _file_filters(con, dataset, sha, present)
        totalled = [f for f in filters if _holds_headline(con, table, dataset, sha, f)]
        if not totalled:
            continue
        others = [f for f in filters if f not in totalled]
        area = [
            c
            for c in ("time_period", "geographic_level", "region_code", "old_la_code", "new_la_code", "version")
            if c in present
        ]
        group = ", ".join(_quote(c) for c in [*area, *others])
        # Most files have every headline: the groups are found first with a plain GROUP BY, and
        # only the rows of groups without one are read again (the number test is costly per cell).
        same_group = " AND ".join(f"t.{_quote(c)} IS NOT DISTINCT FROM l.{_quote(c)}" for c in [*area, *others])
        headline = " AND ".join(_is_headline_sql(dataset, f) for f in totalled)
        wanted = ", ".join(_headline_text(dataset, f) for f in totalled).replace("'", "''")
        other_values = (
            "concat(' with ', concat_ws(', ', "
            + ", ".join(f"'{f}=' || coalesce({_quote(f)}, '')" for f in others)
            + "))"
            if others
            else "''"
        )
        area_name = (
            (
                "CASE geographic_level WHEN 'National' THEN 'England' "
                f"WHEN 'Regional' THEN concat_ws(' ', region_code, {_col(present, 'region_name')}) "
                f"ELSE concat_ws(' ', old_la_code, {_col(present, 'la_name')}) END"
            )
            if {"geographic_level", "region_code", "old_la_code"} <= present
            else "'the area'"
        )
        frames.append(
            con.execute(
                f"""
            WITH lacking AS (
                SELECT {group} FROM {table} WHERE _file_sha256 = ? GROUP BY ALL HAVING NOT bool_or({headline})
            ), lacking_rows AS (
                SELECT t.* FROM {table} t JOIN lacking l ON {same_group} WHERE t._file_sha256 = ?
            ), grouped AS (
                SELECT *, bool_or({publishes}) OVER w AS _publishes, count(*) OVER w AS _n,
                    min(_row_number) OVER w AS _first, max(_row_number) OVER w AS _last,
                    row_number() OVER (PARTITION BY {group} ORDER BY _row_number) AS _position
                FROM lacking_rows
                WINDOW w AS (PARTITION BY {group})
            )
            SELECT _source_file, _row_number, 'headline_problem' AS kind, _publishes AS publishes,
                format('no headline row ({{}}) for {{}} {{}}{{}}: its {{}} row(s), lines {{}}-{{}}, are all breakdowns',
                       '{wanted}', {_col(present, "time_period")}, {area_name}, {other_values}, _n, _first, _last) AS problem
            FROM grouped WHERE _position = 1
        """,
                [sha, sha],
            ).df()
        )
    return frames


def _headline_partitions(dataset: str) -> tuple[tuple[str, ...], ...]:
    entry = registry.ees_datasets().get(dataset)
    return entry.headline_partitions if entry else ()


def _headline_problems(con, table: str, dataset: str, present: set[str]) -> list[pd.DataFrame]:
    """The headline gaps that would lose a published headline: none where the registry names
    headline_partitions (dbt works the headline out from a complete partition, and the geography
    gate on the published marts blocks an LA left with neither)."""
    if _headline_partitions(dataset):
        return []
    return [g[g["publishes"]].drop(columns="publishes") for g in _headline_gaps(con, table, dataset, present)]


def _headline_gap_warnings(con: duckdb.DuckDBPyConnection, dataset: str) -> list[str]:
    """The headline gaps that do not block, counted: groups with nothing a measure would publish,
    and every gap of a dataset with headline_partitions."""
    partitions = _headline_partitions(dataset)
    frames = [
        g if partitions else g[~g["publishes"]]
        for g in _headline_gaps(con, gated_relation(con, dataset), dataset, _table_columns(con, dataset))
    ]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return []
    gaps = pd.concat(frames, ignore_index=True).sort_values(["_source_file", "_row_number"])
    first = gaps.iloc[0]
    why = (
        f"the headline is worked out from a complete partition ({'; '.join(' + '.join(p) for p in partitions)}) "
        "where the file publishes one; an LA left without a headline blocks at the geography gate"
        if partitions
        else "no column a measure reads has a number there, so nothing is published for them"
    )
    return [
        f"{len(gaps):,} group(s) of rows have no headline row, e.g. {first['_source_file']} line "
        f"{first['_row_number']}: {first['problem']}. Not blocked: {why}"
    ]


def count_pairs(indicators: list[str]) -> list[tuple[str, str]]:
    """(count, the count it is out of) for each count behind a published percentage: `t_<x>` with
    `pt_<x>` beside it, out of `t_<stem>_eligible_pupils` (or `_possible`) for the longest stem of
    <x> that has one (t_rwm_met_expected_standard / t_rwm_eligible_pupils), else the cohort column."""
    names = set(indicators)
    pairs = []
    for column in sorted(names):
        if not column.startswith("t_") or f"pt_{column[2:]}" not in names:
            continue
        parts = column[2:].split("_")
        denominator = None
        for length in range(len(parts) - 1, 0, -1):
            stem = "_".join(parts[:length])
            denominator = next((c for c in (f"t_{stem}_eligible_pupils", f"t_{stem}_possible") if c in names), None)
            if denominator:
                break
        if denominator is None:
            denominator = next((c for c in COHORT_COLUMNS if c in names and c != column), None)
        if denominator and denominator != column:
            pairs.append((column, denominator))
    return pairs


def _count_problems(con, table: str, dataset: str, present: set[str]) -> list[pd.DataFrame]:
    indicators = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT column_name FROM raw.file_columns WHERE dataset = ? AND role = 'indicator'", [dataset]
        ).fetchall()
        if r[0] in present
    ]
    # Only counts behind what a measure reads (t_x behind a read pt_x, or a read count) can publish
    # something wrong; the rest of a file's counts are DfE's business, not this publication's.
    read, _ = gated_indicators(con, dataset)
    pairs = [(n, d) for n, d in count_pairs(indicators) if n in read or f"p{n}" in read]
    if not pairs:
        return []

    def number(column: str) -> str:
        return f"TRY_CAST(replace({_quote(column)}, ',', '') AS DOUBLE)"

    checks = (
        "concat_ws('; ', "
        + ", ".join(
            f"CASE WHEN {number(n)} > {number(d)} THEN format('{n} {{}} is more than {d} {{}}', {_quote(n)}, {_quote(d)}) END"
            for n, d in pairs
        )
        + ")"
    )
    return [
        con.execute(f"""
        SELECT * FROM (SELECT _source_file, _row_number, 'count_problem' AS kind, {checks} AS problem FROM {table})
        WHERE problem <> ''
    """).df()
    ]


def raw_row_problems(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    """One row per raw file row with a problem: _source_file, _row_number and one column per kind
    (ROW_PROBLEM_COLUMNS, None where that kind found nothing; several problems joined with '; ')."""
    table = gated_relation(con, dataset)
    present = _table_columns(con, dataset)
    frames = [
        *_time_problems(con, table, present),
        *_region_problems(con, table, present),
        *_la_problems(con, table, present),
        *_headline_problems(con, table, dataset, present),
        *_count_problems(con, table, dataset, present),
    ]
    frames = [f for f in frames if not f.empty]
    columns = [*LOCATION_COLUMNS, *ROW_PROBLEM_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    long = pd.concat(frames, ignore_index=True)
    wide = long.groupby([*LOCATION_COLUMNS, "kind"], sort=True)["problem"].agg("; ".join).unstack("kind").reset_index()
    for column in ROW_PROBLEM_COLUMNS:
        if column not in wide.columns:
            wide[column] = None
    wide = wide[columns].astype({c: object for c in ROW_PROBLEM_COLUMNS})
    return wide.where(wide.notna(), None)
