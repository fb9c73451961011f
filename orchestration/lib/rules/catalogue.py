"""The measure catalogue (dbt_project/seeds/measure_catalogue.csv) as Python reads it: one reader
for the ingest's column rules and the generated plausibility bounds, so they read it alike."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from orchestration.lib.settings import DBT_PROJECT_DIR


def read_catalogue(path: Path) -> list[dict[str, str]]:
    """The catalogue's rows, every cell trimmed."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [{k: (v or "").strip() for k, v in record.items()} for record in csv.DictReader(handle)]


@lru_cache(maxsize=1)
def catalogue_rows() -> tuple[dict[str, str], ...]:
    return tuple(read_catalogue(DBT_PROJECT_DIR / "seeds" / "measure_catalogue.csv"))


def filter_alternatives(filters: str) -> list[dict[str, str]]:
    """A catalogue row's `filters` cell as int_measure_values reads it: the ways DfE's files mark
    the series, separated by `|`, each `column=value` pairs separated by `;` (column names lower
    case). An empty cell is one alternative with no pairs: the headline row."""
    alternatives = []
    for alternative in (filters or "").split("|"):
        pairs = {}
        for pair in alternative.split(";"):
            if pair.strip():
                name, _, value = pair.partition("=")
                pairs[name.strip().lower()] = value.strip()
        alternatives.append(pairs)
    return alternatives
