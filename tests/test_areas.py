"""England's regions and LA-name matching (vars.areas in dbt_project.yml) read the same by the raw
gates (Python and the SQL they build) and by dbt's macros, and no copy of either rule is left."""

from __future__ import annotations

import duckdb
import pytest

from orchestration.lib.gates import raw as gates
from orchestration.lib.rules import areas
from orchestration.lib.settings import DBT_PROJECT_DIR, REPO_ROOT
from tests.dbt_inline import compile_inline, sql_values

NAMES = [
    "St. Helens",
    "St Helens",
    "Bristol, City of",
    "City of Bristol",
    "County Durham",
    "Durham",
    "Brighton & Hove",
    "Brighton and Hove",
    "Kingston upon Hull, City of",
    "Herefordshire, County of",
    "  County Durham ",
    "Isles Of Scilly",
    "Telford and Wrekin",
    "City of London",
    "Yorkshire and The Humber",
    "Inner London",
    "Bournemouth, Christchurch and Poole",
    "King's Lynn",
    "Southend-on-Sea",
    "Countyshire",
    "",
]
CODES = ["E12000001", "E12000002", "E12000007", "E12000009", "E13000001", "E13000002", "E92000001", "E08000013", ""]


@pytest.fixture(scope="module")
def dbt_side():
    """dbt's own macros, compiled by dbt and run in DuckDB: name keys of NAMES, and for CODES the
    comparator region and whether it is a London sub-region; plus London's code and name."""
    sql = (
        "select 'name' as kind, x, {{ la_name_key('x') }} as a, null::boolean as b from (values "
        + sql_values(NAMES)
        + ") as t(x) union all "
        "select 'code', x, {{ comparator_region('x') }}, {{ is_london_sub_region('x') }} from (values "
        + sql_values(CODES)
        + ") as t(x) union all "
        "select 'london', {{ london_code() }}, {{ london_name() }}, null"
    )
    rows = duckdb.sql(compile_inline(sql)).fetchall()
    return {kind: [(x, a, b) for k, x, a, b in rows if k == kind] for kind in ("name", "code", "london")}


def test_name_keys_agree_in_python_gate_sql_and_dbt(dbt_side):
    python = [areas.name_key(n) for n in NAMES]
    gate_sql = [
        r[0] for r in duckdb.sql(f"select {gates._name_key('x')} from (values {sql_values(NAMES)}) as t(x)").fetchall()
    ]
    assert [a for _, a, _ in dbt_side["name"]] == python == gate_sql == [gates._plain(n) for n in NAMES]
    keys = dict(zip(NAMES, python))
    assert keys["St. Helens"] == keys["St Helens"] == "sthelens"
    assert keys["Bristol, City of"] == keys["City of Bristol"] == "bristol"
    assert keys["County Durham"] == keys["  County Durham "] == keys["Durham"] == "durham"
    assert keys["Brighton & Hove"] == keys["Brighton and Hove"] == "brightonandhove"
    assert keys["Kingston upon Hull, City of"] == "kingstonuponhull"
    assert keys["Herefordshire, County of"] == "herefordshire"
    assert keys["Countyshire"] == "countyshire"  # "county" only as a word
    assert keys["King's Lynn"] == "kingslynn" and keys[""] == ""
    # The gates read a missing name as '' (dbt keeps NULL): both mean "no name to compare".
    assert duckdb.sql(f"select {gates._name_key('NULL::VARCHAR')}").fetchall()[0][0] == ""


def test_regions_agree_in_python_gate_sql_and_dbt(dbt_side):
    assert gates.ENGLISH_REGIONS == {
        "E12000001": "North East",
        "E12000002": "North West",
        "E12000003": "Yorkshire and The Humber",
        "E12000004": "East Midlands",
        "E12000005": "West Midlands",
        "E12000006": "East of England",
        "E12000007": "London",
        "E12000008": "South East",
        "E12000009": "South West",
        "E13000001": "Inner London",
        "E13000002": "Outer London",
    }
    assert gates.LONDON == "E12000007"
    assert dbt_side["london"] == [("E12000007", "London", None)]
    gate_sql = [
        r[0]
        for r in duckdb.sql(f"select {gates._region_key('x')} from (values {sql_values(CODES)}) as t(x)").fetchall()
    ]
    python = [areas.region_of(c) for c in CODES]
    assert python == [
        "E12000001",
        "E12000002",
        "E12000007",
        "E12000009",
        "E12000007",
        "E12000007",
        "E92000001",
        "E08000013",
        None,
    ]
    assert gate_sql == python
    # dbt's comparator_region keeps a blank code blank (staging has already made blanks NULL).
    assert [a or None for _, a, _ in dbt_side["code"]] == python
    assert (
        [c for c, _, sub in dbt_side["code"] if sub] == list(areas.london_sub_regions()) == ["E13000001", "E13000002"]
    )


# (region_code, region_name) as DfE files write them; the KS4 characteristics file of 2018/19 gives
# Inner and Outer London's own rows, and London boroughs', London's code and the sub-region's name.
REGION_ROWS = [
    ("E12000007", "Inner London"),
    ("E12000007", "Outer London"),
    ("E12000007", " inner  london "),
    ("E12000007", "London"),
    ("E12000007", None),
    ("E13000001", "Inner London"),
    ("E12000002", "Inner London"),
    ("E12000002", "North West"),
    (None, None),
]


def test_london_sub_regions_coded_as_london_agree_in_python_gate_sql_and_dbt():
    values = ", ".join(
        "(" + ", ".join("NULL::VARCHAR" if v is None else "'" + v + "'" for v in row) + ")" for row in REGION_ROWS
    )
    expected = ["E13000001", "E13000002", "E13000001", "E12000007", "E12000007", "E13000001", "E12000002", "E12000002"]
    python = [areas.area_region_code(c, n) for c, n in REGION_ROWS]
    assert python == [*expected, None]
    gate_sql = [
        r[0]
        for r in duckdb.sql(
            f"select {areas.area_region_code_sql('c', 'n')} from (values {values}) as t(c, n)"
        ).fetchall()
    ]
    dbt = [
        r[0]
        for r in duckdb.sql(
            compile_inline(f"select {{{{ area_region_code('c', 'n') }}}} from (values {values}) as t(c, n)")
        ).fetchall()
    ]
    assert gate_sql == dbt == python


LEVELS = ["National", "Regional", "Local authority", "LOCAL AUTHORITY", "Local authority district", "School", ""]


def test_published_levels_agree_in_python_gate_and_dbt():
    """Which EES levels are published, as what area and under which code and name column: the
    long union (macro published_area) and the raw gate's uncoded-row warning read one rule."""
    published = areas.published_levels()
    assert {level: (a.area_level, a.code, a.name) for level, a in published.items()} == {
        "national": ("national", "country_code", "country_name"),
        "regional": ("regional", "region_code", "region_name"),
        "local authority": ("local_authority", "old_la_code", "la_name"),
    }
    columns = "country_code, country_name, region_code, region_name, old_la_code, la_name"
    row = "'E92000001', 'England', 'E12000001', 'North East', '841', 'Darlington'"
    values = ", ".join(f"('{level}', {row})" for level in LEVELS)
    dbt = duckdb.sql(
        compile_inline(
            "select {{ published_area('l', 'area_level') }}, {{ published_area('l', 'code') }}, "
            f"{{{{ published_area('l', 'name') }}}} from (values {values}) as t(l, {columns})"
        )
    ).fetchall()
    by_column = dict(zip(columns.split(", "), row.replace("'", "").split(", "), strict=True))
    python = [
        (a.area_level, by_column[a.code], by_column[a.name]) if (a := published.get(level.lower())) else (None,) * 3
        for level in LEVELS
    ]
    assert dbt == python
    assert python[2] == ("local_authority", "841", "Darlington") and python[4] == (None, None, None)


def test_no_copy_of_the_area_rules_is_left():
    """Region codes, the name-key patterns and the published levels are written once (dbt_project.yml): SQL reads them
    through macros/areas.sql, Python through orchestration/lib/rules/areas.py. The sample generator
    (tools/sample_data) is left out: its geography is the synthetic data itself."""
    copies = []
    sql = [p for folder in ("macros", "models", "tests") for p in (DBT_PROJECT_DIR / folder).rglob("*.sql")]
    python = [p for p in (REPO_ROOT / "orchestration").rglob("*.py") if "sample_data" not in p.parts]
    for path in [*sql, *python]:
        text = path.read_text(encoding="utf-8")
        quoted = [f"{q}{code}{q}" for code in ("E13000001", "E13000002", "E12000007") for q in "'\""]
        level_case = "when 'local authority' then" in text.lower()  # published_levels, written out again
        if any(q in text for q in quoted) or "(city|county)" in text or "'[^a-z0-9]'" in text or level_case:
            copies.append(str(path.relative_to(REPO_ROOT)))
    assert copies == []
