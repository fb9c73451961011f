"""England's regions and how area names are compared, for Python (the raw gates).

The rules live once, in ``dbt_project/dbt_project.yml`` (``vars: areas``), where the dbt macros
(``macros/areas.sql``) read them too; this module only loads them and writes the same SQL, so the
gates and the marts agree on which region a London borough is compared with and on when two
spellings name the same LA. ``tests/test_areas.py`` runs both sides on the same codes and names.
"""

from __future__ import annotations

import re
from functools import lru_cache

from orchestration.lib.sources.config import dbt_project_vars


def _rules() -> dict:
    return dbt_project_vars()["areas"]


def regions() -> dict[str, str]:
    """ONS code -> name of England's nine regions."""
    return dict(_rules()["regions"])


def london() -> str:
    """London's region code: the region Inner and Outer London belong to."""
    return _rules()["london"]


def london_sub_regions() -> dict[str, str]:
    """Inner and Outer London: code -> name (the region_code EES gives London boroughs' rows)."""
    return dict(_rules()["london_sub_regions"])


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
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def region_key_sql(expression: str) -> str:
    """SQL: the region an area is in, London's sub-regions counting as London (NULL when blank)."""
    return (
        f"CASE WHEN {expression} IN ({_literals(london_sub_regions())}) THEN '{london()}' "
        f"ELSE nullif({expression}, '') END"
    )


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
