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
