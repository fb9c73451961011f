"""Great Expectations gates: suites live as JSON in ``expectations/``; this module builds the
frame each suite validates and turns failures into messages that name the check, file and rows.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.lib.settings import EXPECTATIONS_DIR

MAX_ROWS_IN_MESSAGE = 10
LOCATION_COLUMNS = ["_source_file", "_row_number"]


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


def _describe_rows(result: dict, frame: pd.DataFrame) -> str:
    rows = result.get("unexpected_index_list") or []
    if not rows:
        values = result.get("partial_unexpected_list") or []
        return f"; unexpected values: {values[:MAX_ROWS_IN_MESSAGE]}" if values else ""
    shown = []
    for row in rows[:MAX_ROWS_IN_MESSAGE]:
        if isinstance(row, dict) and "_source_file" in row:
            extra = {k: v for k, v in row.items() if k not in LOCATION_COLUMNS}
            detail = ", ".join(f"{k}={v}" for k, v in extra.items())
            shown.append(f"{row['_source_file']} line {row['_row_number']}" + (f" ({detail})" if detail else ""))
        else:
            shown.append(str(row))
    more = f" and {len(rows) - MAX_ROWS_IN_MESSAGE} more" if len(rows) > MAX_ROWS_IN_MESSAGE else ""
    return "; rows: " + "; ".join(shown) + more


def _describe(config, result: dict, frame: pd.DataFrame) -> str:
    kwargs = {k: v for k, v in config.kwargs.items() if k not in ("result_format", "batch_id")}
    condition = kwargs.pop("row_condition", None)
    label = config.meta.get("check") if config.meta else None
    text = f"{label or config.type} {json.dumps(kwargs, default=str)}"
    if condition:
        text += f" where {condition.get('pass_through_filter', condition) if isinstance(condition, dict) else condition}"
    if "unexpected_count" in result:
        text += f": {result['unexpected_count']} unexpected"
    elif result.get("observed_value") is not None:
        text += f": observed {result['observed_value']}"
    return text + _describe_rows(result, frame)


def validate(suite_name: str, frame: pd.DataFrame, parameters: dict | None = None) -> GateResult:
    """Validate ``frame`` against ``expectations/<suite_name>.json``."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    # Imported here: great_expectations costs seconds to import and only the gates need it.
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = {"globally": False}
    source = context.data_sources.add_pandas(f"{suite_name}_source")
    batch = source.add_dataframe_asset(suite_name).add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": frame}
    )
    suite = gx.ExpectationSuite(**load_suite_definition(suite_name))
    index_columns = [c for c in LOCATION_COLUMNS if c in frame.columns]
    result_format = {"result_format": "COMPLETE", "unexpected_index_column_names": index_columns} if index_columns else "SUMMARY"
    outcome = batch.validate(suite, expectation_parameters=parameters or {}, result_format=result_format)
    failures = []
    for item in outcome.results:
        if not item.success:
            exception = (item.exception_info or {}).get("exception_message")
            failures.append(
                _describe(item.expectation_config, item.result or {}, frame)
                + (f" (error: {exception})" if exception else "")
            )
    return GateResult(suite_name, not failures, len(outcome.results), failures)


# Frames the suites validate ---------------------------------------------------------------------

def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def raw_ees_frame(con: duckdb.DuckDBPyConnection, dataset: str) -> pd.DataFrame:
    """Long frame of an EES raw table: one row per file row x indicator cell, still as text, plus
    the number parsed from it and whether the column is a percentage."""
    roles = con.execute(
        "SELECT DISTINCT column_name, role FROM raw.file_columns WHERE dataset = ? ORDER BY column_name", [dataset]
    ).fetchall()
    indicators = [c for c, r in roles if r == "indicator"]
    filters = [c for c, r in roles if r == "filter"]
    present = {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'raw' AND table_name = ?", [dataset]
    ).fetchall()}
    standard = ["time_period", "time_identifier", "geographic_level", "country_code", "region_code",
                "old_la_code", "new_la_code", "la_name", "version"]
    select_standard = ", ".join(
        f"{_quote(c)}" if c in present else f"NULL::VARCHAR AS {_quote(c)}" for c in standard
    )
    filter_key = (
        "concat_ws('|', " + ", ".join(f"'{f}=' || coalesce({_quote(f)}, 'Total')" for f in filters) + ")"
        if filters else "''"
    )
    if not indicators:
        return pd.DataFrame(columns=[*LOCATION_COLUMNS, *standard, "filter_key", "indicator", "raw_value", "value", "is_percentage"])
    unpivot_columns = ", ".join(_quote(c) for c in indicators)
    sql = f"""
        WITH rows AS (
            SELECT _source_file, _row_number, {select_standard}, {filter_key} AS filter_key, {unpivot_columns}
            FROM raw.{_quote(dataset)}
        ), cells AS (
            UNPIVOT rows ON {unpivot_columns} INTO NAME indicator VALUE raw_value
        )
        SELECT *,
            TRY_CAST(raw_value AS DOUBLE) AS value,
            (indicator LIKE 'pt\\_%' ESCAPE '\\' OR indicator LIKE '%\\_percent' ESCAPE '\\'
             OR indicator LIKE '%\\_percentage' ESCAPE '\\') AS is_percentage
        FROM cells
    """
    return con.execute(sql).df()


def table_frame(con: duckdb.DuckDBPyConnection, relation: str) -> pd.DataFrame:
    return con.execute(f"SELECT * FROM {relation}").df()


def suite_exists(name: str) -> bool:
    return (EXPECTATIONS_DIR / f"{name}.json").exists()


def expectations_dir() -> Path:
    return EXPECTATIONS_DIR
