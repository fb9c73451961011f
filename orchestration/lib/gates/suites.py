"""Great Expectations gates: suites live as JSON in ``expectations/``; this module validates a frame
against one, turns failures into messages that name the check, file and rows, and compiles a
suite's expectations to SQL (:func:`compile_suite`) so DuckDB finds the few rows it could fail on
and Great Expectations judges only those. The frames themselves come from
:mod:`orchestration.lib.gates.raw` (DfE files) and :mod:`orchestration.lib.gates.local` (the
council's own datasets).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.rules import ees_cells
from orchestration.lib.settings import EXPECTATIONS_DIR
from orchestration.lib.sql import quote_identifier, sql_literal  # noqa: F401 (the gates' interface)

MAX_ROWS_IN_MESSAGE = 10
LOCATION_COLUMNS = ["_source_file", "_row_number"]
# Columns of the raw long frame that hold one indicator cell (the rest describe the file row).
CELL_COLUMNS = {"raw_value", "value"}


@dataclass
class GateResult:
    suite: str
    passed: bool
    evaluated: int
    failures: list[str] = field(default_factory=list)

    def summary(self) -> str:
        if self.passed:
            return f"{self.suite}: all {self.evaluated} expectations passed"
        return f"{self.suite}: {len(self.failures)} of {self.evaluated} expectations failed:\n" + "\n".join(
            f"  - {f}" for f in self.failures
        )


def load_suite_definition(name: str) -> dict:
    path = EXPECTATIONS_DIR / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _ranges(numbers: list[int]) -> str:
    """[11, 12, 13, 26] -> '11-13, 26'."""
    parts: list[str] = []
    numbers = sorted(set(numbers))
    start = previous = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == previous + 1:
            previous = number
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if number is not None:
            start = previous = number
    return ", ".join(parts)


def _describe_rows(result: dict, config=None, row_id_columns: list[str] | None = None) -> str:
    """'; rows: <file> line 11-13 (column=value, ...); ...': rows with the same values are given
    once, with their lines (raw frames) or identifying columns (marts)."""
    rows = result.get("unexpected_index_list") or []
    if not rows:
        values = result.get("partial_unexpected_list") or []
        return f"; unexpected values: {values[:MAX_ROWS_IN_MESSAGE]}" if values else ""
    column = config.kwargs.get("column") if config is not None else None
    row_id_columns = row_id_columns or []
    hidden = set(LOCATION_COLUMNS) | set(row_id_columns)
    if column not in CELL_COLUMNS:
        # A row-level check sees each file row once per indicator cell: the indicator is noise there.
        hidden.add("indicator")
    groups: dict[tuple[str, str], list[int]] = {}
    for row in rows:
        if not isinstance(row, dict):
            groups.setdefault((str(row), ""), [])
            continue
        values = {k: v for k, v in row.items() if k not in hidden}
        if "indicator" in values:  # name the column first: "indicator=pt_x, raw_value=n/a"
            values = {"indicator": values.pop("indicator"), **values}
        detail = ", ".join(f"{k}={v}" for k, v in values.items())
        if "_source_file" in row:
            groups.setdefault((f"{row['_source_file']} line", detail), []).append(int(row["_row_number"]))
        else:
            where = ", ".join(f"{k}={row[k]}" for k in row_id_columns if k in row)
            groups.setdefault((where, detail), [])
    shown = []
    for (where, detail), lines in groups.items():
        text = f"{where} {_ranges(lines)}" if lines else where
        shown.append(f"{text} ({detail})" if detail and text else text or detail)
    more = f" and {len(shown) - MAX_ROWS_IN_MESSAGE} more" if len(shown) > MAX_ROWS_IN_MESSAGE else ""
    return "; rows: " + "; ".join(shown[:MAX_ROWS_IN_MESSAGE]) + more


def _describe(config, result: dict, row_id_columns: list[str]) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("result_format", "batch_id")}
    condition = kwargs.pop("row_condition", None)
    if config.type in _DISTINCT and isinstance(result.get("observed_value"), list):
        # name what is missing, not the whole expected set
        expected = kwargs.pop("value_set", None) or []
        kwargs["missing"] = sorted(set(expected) - set(result["observed_value"]))
        result = {k: v for k, v in result.items() if k != "observed_value"}
    label = config.meta.get("check") if config.meta else None
    text = f"{label or config.type} {json.dumps(kwargs, default=str)}"
    if condition:
        text += (
            f" where {condition.get('pass_through_filter', condition) if isinstance(condition, dict) else condition}"
        )
    if "unexpected_count" in result:
        text += f": {result['unexpected_count']} unexpected"
    elif result.get("observed_value") is not None:
        text += f": observed {result['observed_value']}"
    why = config.meta.get("why") if config.meta else None
    return text + _describe_rows(result, config, row_id_columns) + (f" [bounds: {why}]" if why else "")


def _exception_message(info: dict | None) -> str | None:
    """GX reports an expectation's own error flat, and errors of the metrics it needed (e.g. a
    row_condition pandas cannot evaluate) keyed by metric: either way, say what went wrong."""
    if not info:
        return None
    if info.get("exception_message"):
        return info["exception_message"]
    nested = [v.get("exception_message") for v in info.values() if isinstance(v, dict) and v.get("exception_message")]
    return "; ".join(sorted(set(nested))) or None


def prepare_great_expectations() -> None:
    """No analytics and only errors logged, before Great Expectations is first imported."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)


def validate(suite_name: str, frame: pd.DataFrame, parameters: dict | None = None) -> GateResult:
    """Validate ``frame`` against ``expectations/<suite_name>.json``."""
    prepare_great_expectations()
    # Imported here: great_expectations costs seconds to import and only the gates need it.
    import great_expectations as gx

    from orchestration.lib.gates.raw import ROW_PROBLEM_COLUMNS

    if suite_name.startswith("raw_") and "indicator" in frame.columns:
        # A long frame made by hand (tests) has no row-level problem columns: none found.
        frame = frame.assign(**{c: None for c in ROW_PROBLEM_COLUMNS if c not in frame.columns})
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas(f"{suite_name}_source")
    batch = (
        source.add_dataframe_asset(suite_name)
        .add_batch_definition_whole_dataframe("all")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    definition = load_suite_definition(suite_name)
    suite = gx.ExpectationSuite(**definition)
    # Failing rows are named by file and line (raw frames) or by the columns the suite's
    # meta.row_id_columns lists (marts: measure, breakdown, period, area).
    row_id_columns = [c for c in (definition.get("meta") or {}).get("row_id_columns", []) if c in frame.columns]
    index_columns = (
        [c for c in [*LOCATION_COLUMNS, "indicator"] if c in frame.columns]
        if "_source_file" in frame.columns
        else row_id_columns
    )
    result_format = (
        {"result_format": "COMPLETE", "unexpected_index_column_names": index_columns} if index_columns else "SUMMARY"
    )
    parameters = {**suite_parameters(), **(parameters or {})}
    # A pass needs no detail, and GX's detailed formats cost 2-3x the plain verdict per expectation
    # (every gate of a run passes, most on an empty or small frame). Only a failing suite is
    # validated again, in full, for the rows and values its failures name.
    outcome = batch.validate(suite, expectation_parameters=parameters, result_format="BOOLEAN_ONLY")
    if not outcome.success:
        outcome = batch.validate(suite, expectation_parameters=parameters, result_format=result_format)
    failures = []
    for item in outcome.results:
        if not item.success:
            exception = _exception_message(item.exception_info)
            failures.append(
                _describe(item.expectation_config, item.result or {}, row_id_columns)
                + (f" (error: {exception})" if exception else "")
            )
    return GateResult(suite_name, not failures, len(outcome.results), failures)


# Frames the suites validate ---------------------------------------------------------------------


_quote = quote_identifier


def suite_parameters() -> dict:
    """Rules with one home elsewhere reach the JSON suites as parameters ({"$PARAMETER": name})."""
    return {"ees_cell_regex": ees_cells.gate_cell_regex()}


# Suites compiled to SQL ---------------------------------------------------------------------------
# Each expectation of a raw suite becomes a SQL condition true on every row it could fail on (a
# superset is fine: Great Expectations then judges those rows, and rows it never sees pass every
# row-wise expectation). Table-wide expectations (row counts, distinct values) cannot be judged on
# a subset, so suites with them are validated on the whole table (only the small DfE model has one).


class _NotRowLevel(Exception):
    pass


class UnsupportedSuite(ValueError):
    pass


def _missing(name: str) -> str:
    raise _NotRowLevel(name)


_CONDITION = re.compile(r'\s*(\w+)\s*(==|!=)\s*(?:"([^"]*)"|(True|False))\s*')
_ROW_WISE = {
    "expect_column_values_to_not_be_null": "{c} IS NULL",
    "expect_column_values_to_be_null": "{c} IS NOT NULL",
    "expect_column_values_to_match_regex": "NOT regexp_matches({c}, {regex})",
    "expect_column_values_to_not_match_regex": "regexp_matches({c}, {regex})",
    "expect_column_values_to_be_in_set": "{c} IS NOT NULL AND NOT list_contains({value_set}, {c})",
    "expect_column_values_to_not_be_in_set": "list_contains({value_set}, {c})",
}
_UNIQUE = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
# Judged on the frame's columns, which every subset of the table has.
_NO_ROWS = ("expect_column_to_exist", "expect_table_columns_to_match_set")
# Judged on the column's distinct values: one row per distinct value keeps them all.
_DISTINCT = ("expect_column_distinct_values_to_contain_set",)


@dataclass
class CompiledSuite:
    failing: list  # functions ref -> SQL condition (ref: frame column name -> SQL expression)
    unique: list[list[str]]
    distinct: list[str] = field(default_factory=list)  # columns whose every distinct value GX must see
    values: dict = field(default_factory=dict)  # parameter name -> value, for con.execute
    names: dict = field(default_factory=dict)  # (repr(value), cast) -> parameter name

    def bind(self, value, cast: str | None = None) -> str:
        """A named parameter for ``value`` (the same value, the same parameter)."""
        key = (repr(value), cast)
        if key not in self.names:
            self.names[key] = f"p{len(self.names)}"
            self.values[self.names[key]] = value
        return f"${self.names[key]}" + (f"::{cast}" if cast else "")

    def unique_keys(self, row_columns: set[str]) -> list[list[str]]:
        """Uniqueness keys as row-level windows: the cell's indicator dropped (rows that repeat
        repeat every cell), so every member of a repeated group is a candidate."""
        keys = []
        for columns in self.unique:
            if not set(columns) - {"indicator"} <= row_columns:
                raise UnsupportedSuite(f"uniqueness over {columns} cannot be checked per file row")
            keys.append([c for c in columns if c != "indicator"])
        return keys


def compile_suite(suite: dict, parameters: dict) -> CompiledSuite:
    compiled = CompiledSuite([], [])

    def resolve(value):
        if isinstance(value, dict) and "$PARAMETER" in value:
            return parameters[value["$PARAMETER"]]
        return value

    for expectation in suite["expectations"]:
        kind, kwargs = expectation["type"], {k: resolve(v) for k, v in expectation["kwargs"].items()}
        if kind in _NO_ROWS:
            continue
        if kind in _UNIQUE:
            compiled.unique.append(kwargs.get("column_list") or [kwargs["column"]])
            continue
        if kind in _DISTINCT:
            compiled.distinct.append(kwargs["column"])
            continue
        compiled.failing.append(_failing_condition(compiled, kind, kwargs))
    return compiled


def _failing_condition(compiled: CompiledSuite, kind: str, kwargs: dict):
    if kwargs.get("mostly") not in (None, 1, 1.0):
        raise UnsupportedSuite(f"{kind} with mostly={kwargs['mostly']}")
    condition = kwargs.get("row_condition")

    def _with_condition(text: str, condition: str | None, ref) -> str:
        """Only rows the row_condition selects can fail; a condition beyond the compiler's
        form (pandas arithmetic) is dropped, which only adds candidates."""
        if not condition:
            return text
        try:
            return f"{_condition_sql(condition, ref, compiled)} AND {text}"
        except UnsupportedSuite:
            return text

    if kind == "expect_column_values_to_be_between":

        def test(c: str) -> str:
            parts = []
            if kwargs.get("min_value") is not None:
                parts.append(
                    f"{c} {'<=' if kwargs.get('strict_min') else '<'} {compiled.bind(float(kwargs['min_value']), 'DOUBLE')}"
                )
            if kwargs.get("max_value") is not None:
                parts.append(
                    f"{c} {'>=' if kwargs.get('strict_max') else '>'} {compiled.bind(float(kwargs['max_value']), 'DOUBLE')}"
                )
            return " OR ".join(parts) or "FALSE"
    elif kind in _ROW_WISE:
        values = kwargs.get("value_set")
        if values is not None and not all(isinstance(v, str) for v in values):
            raise UnsupportedSuite(f"{kind} with a value_set that is not all text")

        def test(c: str) -> str:
            return _ROW_WISE[kind].format(
                c=c,
                regex=compiled.bind(kwargs.get("regex"), "VARCHAR") if "regex" in kwargs else "",
                value_set=compiled.bind(list(values), "VARCHAR[]") if values is not None else "",
            )
    elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
        operator = ">=" if kwargs.get("or_equal") else ">"
        ignore = kwargs.get("ignore_row_if", "both_values_are_missing")

        def pair_test(a: str, b: str) -> str:
            if ignore == "either_value_is_missing":
                return f"{a} IS NOT NULL AND {b} IS NOT NULL AND NOT ({a} {operator} {b})"
            # a missing value fails (or errors in) the comparison: every such row is a candidate
            return f"{a} IS NULL OR {b} IS NULL OR NOT ({a} {operator} {b})"

        def failing_pair(ref) -> str:
            return _with_condition(f"({pair_test(ref(kwargs['column_A']), ref(kwargs['column_B']))})", condition, ref)

        return failing_pair
    else:
        raise UnsupportedSuite(f"{kind} cannot be compiled to a row condition")

    def failing(ref) -> str:
        return _with_condition(f"({test(ref(kwargs['column']))})", condition, ref)

    return failing


def _condition_sql(condition: str, ref, compiled: CompiledSuite) -> str:
    """A pandas row_condition of the raw suites' form (col == "text", col != True, joined by and)."""
    parts = []
    for part in re.split(r"\s+and\s+", condition):
        match = _CONDITION.fullmatch(part)
        if match is None:
            raise UnsupportedSuite(f"row_condition {condition!r}")
        column, operator, text, flag = match.groups()
        literal = compiled.bind(text, "VARCHAR") if text is not None else ("TRUE" if flag == "True" else "FALSE")
        # pandas: a missing value is never equal to anything and always unequal.
        parts.append(
            f"({ref(column)} = {literal})" if operator == "==" else f"({ref(column)} IS DISTINCT FROM {literal})"
        )
    return "(" + " AND ".join(parts) + ")"


def table_frame(con: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {relation}").df()


def suite_exists(name: str) -> bool:
    return (EXPECTATIONS_DIR / f"{name}.json").exists()


def expectations_dir() -> Path:
    return EXPECTATIONS_DIR


def row_candidates(
    con: duckdb.DuckDBPyConnection, relation: str, suite_name: str, order: str, parameters: dict | None = None
) -> pd.DataFrame:
    """The rows of ``relation`` (SQL) that suite ``suite_name`` could fail on, plus one row per
    distinct value of a column whose distinct values it checks; every row when the suite has an
    expectation that cannot be judged on such a subset."""
    columns = {d[0] for d in con.execute(f"SELECT * FROM ({relation}) LIMIT 0").description}
    try:
        compiled = compile_suite(load_suite_definition(suite_name), {**suite_parameters(), **(parameters or {})})
        keys = compiled.unique_keys(columns)
        if not set(compiled.distinct) <= columns:
            raise UnsupportedSuite("a distinct-values expectation on a missing column")
    except UnsupportedSuite:
        return con.execute(f"SELECT * FROM ({relation}) ORDER BY {order}").df()

    def ref(name: str) -> str:
        # A column the relation lacks fails the suite's column check; nothing to find rows for.
        return _quote(name) if name in columns else _missing(name)

    conditions = []
    for failing in compiled.failing:
        try:
            conditions.append(failing(ref))
        except _NotRowLevel:
            continue
    windows = [
        f"count(*) OVER (PARTITION BY {', '.join(_quote(c) for c in key)}) > 1 AS _dup{i}" for i, key in enumerate(keys)
    ]
    conditions += [f"_dup{i}" for i in range(len(windows))]
    flags = [f"_dup{i}" for i in range(len(windows))]
    for i, column in enumerate(compiled.distinct):
        windows.append(f"row_number() OVER (PARTITION BY {_quote(column)}) = 1 AS _rep{i}")
        conditions.append(f"_rep{i}")
        flags.append(f"_rep{i}")
    where = " OR ".join(f"({c})" for c in conditions) or "FALSE"
    exclude = f" EXCLUDE ({', '.join(flags)})" if flags else ""
    return con.execute(
        f"""WITH relation AS ({relation}), windowed AS (SELECT *{"".join(", " + w for w in windows)} FROM relation)
            SELECT *{exclude} FROM windowed WHERE {where} ORDER BY {order}""",
        compiled.values,
    ).df()
