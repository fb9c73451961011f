"""How EES cells are read, for Python: the number syntax and the symbols.

The rules themselves live once, in ``dbt_project/dbt_project.yml`` (``vars: ees_cells``), where the
dbt macros (``macros/ees_values.sql``) read them too; this module only loads them, so the ingest's
column heuristic, the raw gates and dbt staging cannot disagree on what a number is.
"""

from __future__ import annotations

import re
from functools import lru_cache

from orchestration.lib.sources.config import dbt_project_vars


def _rules() -> dict:
    return dbt_project_vars()["ees_cells"]


def number_pattern() -> str:
    """The number syntax as a regular expression to match in full (Python re and DuckDB RE2 alike)."""
    return _rules()["number_pattern"]


@lru_cache(maxsize=1)
def symbols() -> frozenset[str]:
    """The EES symbols, lower case (dbt's ees_value_status maps each to its value_status)."""
    return frozenset(str(symbol).lower() for symbol in _rules()["symbols"])


@lru_cache(maxsize=1)
def _number() -> re.Pattern[str]:
    return re.compile(number_pattern())


def filter_total() -> str:
    """The filter cell meaning "all of them" (Total): every filter of a headline row holds it,
    except those a dataset's registry entry gives another headline value (registry.EesDataset.headline)."""
    return _rules()["filter_total"]


def number_text(cell: str) -> str:
    """The cell as number text: trimmed, thousands separators dropped (EES never uses decimal commas)."""
    return cell.strip().replace(",", "")


def is_number(cell: str) -> bool:
    return _number().fullmatch(number_text(cell)) is not None


def is_number_or_symbol(cell: str) -> bool:
    """A cell an indicator column may hold: a number, an EES symbol, or empty."""
    text = cell.strip().lower()
    return not text or text in symbols() or is_number(text)


def gate_cell_regex() -> str:
    """The raw gates' cell check: a number or a symbol, as written (no thousands separators: the
    gate asks DfE's own form), or empty. Symbols in any case, as staging reads them ('NA', 'C')."""
    alternatives = [number_pattern(), *(re.escape(s) for s in sorted(symbols()))]
    return "(?i)^(" + "|".join(alternatives) + "|)$"
