"""England's plausible values: the area mart's gate checks each national value against its
catalogue row's bounds (measure_catalogue.csv national_min, national_max and national_bounds_why,
read by orchestration/lib/rules/registry.py national_bounds).

One expectation of the suite (expect_column_values_to_be_null on ``outside_national_bounds``)
covers every catalogue row: the gate's relation gains that column, which names the value, the
bounds and their reason where a national value falls outside them. Great Expectations then lists
the failing rows by measure, breakdown, period and area, as for any other mart check.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from orchestration.lib.rules.registry import national_bounds

BOUNDS_COLUMN = "outside_national_bounds"
_TABLE = "_national_bounds"


def _bounds_table() -> pa.Table:
    bounds = national_bounds()
    return pa.table(
        {
            "measure_code": pa.array([key[0] for key in bounds], pa.string()),
            "breakdown": pa.array([key[1] for key in bounds], pa.string()),
            "low": pa.array([b.low for b in bounds.values()], pa.float64()),
            "high": pa.array([b.high for b in bounds.values()], pa.float64()),
            "why": pa.array([b.why for b in bounds.values()], pa.string()),
        }
    )


def with_national_bounds(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    """SQL: ``relation`` (an area mart's rows) with ``outside_national_bounds``. Registers the
    catalogue's bounds on ``con`` for as long as the connection is open."""
    con.register(_TABLE, _bounds_table())
    return f"""
        SELECT r.*,
            CASE WHEN r.area_level = 'national' AND (r.value < b.low OR r.value > b.high) THEN
                format('{{}} is outside {{}} to {{}} ({{}})', r.value, coalesce(b.low::VARCHAR, 'no minimum'),
                       coalesce(b.high::VARCHAR, 'no maximum'), b.why)
            END AS {BOUNDS_COLUMN}
        FROM ({relation}) AS r
        LEFT JOIN {_TABLE} AS b ON b.measure_code = r.measure_code AND b.breakdown = r.breakdown
    """


def flagged(frame):
    """A pandas frame of area rows with ``outside_national_bounds`` (for a frame made by hand)."""
    with duckdb.connect() as con:
        con.register("_rows", frame)
        return con.execute(with_national_bounds(con, "SELECT * FROM _rows")).df()
