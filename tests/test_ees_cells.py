"""The EES cell rules (vars.ees_cells in dbt_project.yml) read the same in Python, in dbt's SQL
and in the raw gates' GX regex: a cell is a number to all of them or to none."""

import re

import duckdb

from orchestration.lib.rules import ees_cells
from orchestration.lib.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR
from tests.dbt_inline import compile_inline, sql_values

CELLS = [
    "12",
    "-3.5",
    "+4",
    ".5",
    "5.",
    "1e-05",
    "2E3",
    "1,234",
    " 7 ",
    "nan",
    "inf",
    "-inf",
    "1 05",
    "1.2.3",
    "e5",
    "",
    "c",
    "C",
    "x",
    ":",
    "z",
    "low",
    "k",
    "~",
    "u",
    "n/a",
    "NA",
    ".",
    "--1",
    "0x1F",
]


def _compiled_is_number(cells: list[str]) -> list[bool]:
    """dbt's own macro, compiled by dbt and run in DuckDB on each cell."""
    sql = f"select {{{{ is_ees_number('cell') }}}} as is_number from (values {sql_values(cells)}) as t(cell)"
    return [row[0] for row in duckdb.sql(compile_inline(sql)).fetchall()]


def test_python_and_duckdb_read_the_same_numbers():
    pattern = ees_cells.number_pattern()
    sql = duckdb.sql(
        "select regexp_full_match(replace(trim(cell), ',', ''), ?) from unnest(?::varchar[]) as t(cell)",
        params=[pattern, CELLS],
    ).fetchall()
    assert [row[0] for row in sql] == [ees_cells.is_number(c) for c in CELLS]
    numbers = [c for c in CELLS if ees_cells.is_number(c)]
    assert numbers == ["12", "-3.5", "+4", ".5", "5.", "1e-05", "2E3", "1,234", " 7 "]


def test_dbt_macro_reads_the_same_rule():
    assert _compiled_is_number(CELLS) == [ees_cells.is_number(c) for c in CELLS]


def test_gate_regex_accepts_numbers_and_symbols_as_written():
    regex = re.compile(ees_cells.gate_cell_regex())
    accepted = [c for c in CELLS if regex.match(c)]
    # The gate asks for DfE's own form: no padding or thousands commas (the ingest trims cells);
    # symbols in any case, as staging reads them, older files' '.' and 'NA' among them.
    assert accepted == [
        "12", "-3.5", "+4", ".5", "5.", "1e-05", "2E3", "", "c", "C", "x", ":", "z", "low", "k", "~", "u", "NA", ".",
    ]  # fmt: skip
    assert all(ees_cells.is_number_or_symbol(c) for c in accepted)


def test_no_copy_of_the_rules_is_left():
    """The number syntax and symbol list are written once (dbt_project.yml): suites take them as a
    parameter, code reads them through ees_cells or var('ees_cells')."""
    copies = []
    sql = [p for folder in ("macros", "models", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*.sql")]
    for path in [*EXPECTATIONS_DIR.glob("*.json"), *sql, *(DBT_PROJECT_DIR.parent / "orchestration").rglob("*.py")]:
        text = path.read_text(encoding="utf-8")
        if "[eE][+-]?" in text or "[eE][-+]?" in text or "'low', 'k'" in text or "c|x|z" in text:
            copies.append(str(path))
    assert copies == []
