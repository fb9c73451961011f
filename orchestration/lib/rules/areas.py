"""England's regions and how area names are compared, for Python (the raw gates).

The rules live once, in ``dbt_project/dbt_project.yml`` (``vars: areas``), where the dbt macros
(``macros/areas.sql``) read them too; this module only loads them and writes the same SQL, so the
gates and the marts agree on which region a London borough is compared with and on when two
spellings name the same LA. ``tests/test_areas.py`` runs both sides on the same codes and names.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache

from orchestration.lib.settings import DBT_PROJECT_DIR
from orchestration.lib.sources.config import dbt_project_vars
from orchestration.lib.sql import sql_literal


def _rules() -> dict:
    return dbt_project_vars()["areas"]


def regions() -> dict[str, str]:
    """ONS code -> name of England's nine regions."""
    return dict(_rules()["regions"])


def often_unpublished() -> dict[str, str]:
    """old_la_code -> name of the LAs DfE often leaves out of a file (City of London, Scilly)."""
    return {str(code): name for code, name in (_rules().get("often_unpublished") or {}).items()}


def england() -> tuple[str, str]:
    """England's ONS code and name, as country_code and country_name hold them on National rows."""
    rules = _rules()["england"]
    return str(rules["code"]), str(rules["name"])


def london() -> str:
    """London's region code: the region Inner and Outer London belong to."""
    return _rules()["london"]


def london_sub_regions() -> dict[str, str]:
    """Inner and Outer London: code -> name (the region_code EES gives London boroughs' rows)."""
    return dict(_rules()["london_sub_regions"])


@dataclass(frozen=True)
class PublishedLevel:
    """An EES geographic level whose rows are published as areas (vars.areas.published_levels)."""

    area_level: str  # what the marts call it: national, regional, local_authority
    code: str  # the column holding the area's code
    name: str  # the column holding the area's name


def published_levels() -> dict[str, PublishedLevel]:
    """EES geographic level, lower-cased -> the area its rows are published as, in the order the
    registry lists them; as the macro ``published_area`` writes them into the long union."""
    return {
        str(level): PublishedLevel(str(a["area_level"]), str(a["code"]), str(a["name"]))
        for level, a in _rules()["published_levels"].items()
    }


def english_regions() -> dict[str, str]:
    """Every region code an English area's row may carry (the nine, then London's sub-regions)."""
    return {**regions(), **london_sub_regions()}


def region_of(code: str | None) -> str | None:
    """The region an area is compared with: London for Inner/Outer London, else the code itself
    (None for none or blank), as the SQL of :func:`region_key_sql`."""
    if not code:
        return None
    return london() if code in london_sub_regions() else code


def _literals(values) -> str:
    return ", ".join(sql_literal(v) for v in values)


def region_key_sql(expression: str) -> str:
    """SQL: the region an area is in, London's sub-regions counting as London (NULL when blank)."""
    return (
        f"CASE WHEN {expression} IN ({_literals(london_sub_regions())}) THEN '{london()}' "
        f"ELSE nullif({expression}, '') END"
    )


def area_region_code(code: str | None, name: str | None) -> str | None:
    """The region code a row stands for, as :func:`area_region_code_sql`: some DfE files (KS4
    characteristics 2018/19) code Inner and Outer London's rows, and London boroughs' rows, with
    London's code and the sub-region's name; the name says which area the row is."""
    if code == london() and name:
        by_name = {name_key(n): c for c, n in london_sub_regions().items()}
        return by_name.get(name_key(name), code)
    return code


def area_region_code_sql(code: str, name: str) -> str:
    """SQL (DuckDB) of :func:`area_region_code` on the expressions ``code`` and ``name``."""
    cases = " ".join(
        f"WHEN {name_key_sql(name)} = {sql_literal(name_key(n))} THEN {sql_literal(c)}"
        for c, n in london_sub_regions().items()
    )
    return f"CASE WHEN {code} = {sql_literal(london())} THEN CASE {cases} ELSE {code} END ELSE {code} END"


@lru_cache(maxsize=1)
def _name_steps() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    return tuple((re.compile(pattern, re.ASCII), replacement, pattern) for pattern, replacement in _rules()["name_key"])


def name_key(text: str) -> str:
    """An LA or region name reduced to what identifies it: 'St. Helens' -> 'sthelens',
    'Bristol, City of' -> 'bristol' (vars.areas.name_key)."""
    key = text.strip().lower()
    for pattern, replacement, _ in _name_steps():
        key = pattern.sub(replacement, key)
    return key


def name_key_sql(expression: str) -> str:
    """SQL (DuckDB) of :func:`name_key` on ``expression``; NULL stays NULL."""
    sql = f"lower(trim({expression}))"
    for _, replacement, pattern in _name_steps():
        sql = f"regexp_replace({sql}, '{pattern.replace(chr(39), chr(39) * 2)}', '{replacement.replace(chr(39), chr(39) * 2)}', 'g')"
    return sql


@dataclass(frozen=True)
class BoundaryChange:
    """One LA of a reorganisation (a row of seeds/la_boundary_changes.csv)."""

    old_la_code: str
    new_la_code: str | None
    la_name: str
    region_code: str
    first_year: int | None
    last_year: int | None
    reorganisation: str


@lru_cache(maxsize=1)
def boundary_changes() -> dict[str, BoundaryChange]:
    """old_la_code -> its row of the seed dbt builds into reference.la_boundary_changes: the one
    home of which LAs replaced which, read here by the raw gates before dbt has run."""
    path = DBT_PROJECT_DIR / "seeds" / "la_boundary_changes.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))

    def year(text: str) -> int | None:
        return int(text) if text.strip() else None

    return {
        r["old_la_code"]: BoundaryChange(
            r["old_la_code"],
            r["new_la_code"] or None,
            r["la_name"],
            r["region_code"],
            year(r["first_year"]),
            year(r["last_year"]),
            r["reorganisation"],
        )
        for r in rows
    }
