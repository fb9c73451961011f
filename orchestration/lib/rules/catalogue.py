"""The measure catalogue (dbt_project/seeds/measure_catalogue.csv) as Python reads it: one reader
for the ingest's column rules and the generated plausibility bounds, so they read it alike."""

from __future__ import annotations

import csv
from collections.abc import Callable
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


def ratio_columns(record: dict[str, str]) -> tuple[str, str] | None:
    """(numerator, denominator) a catalogue row's value can be worked out from where a file
    publishes totals instead of the measure (int_measure_values), or None."""
    numerator, denominator = record.get("numerator_column", ""), record.get("denominator_column", "")
    return (numerator.lower(), denominator.lower()) if numerator and denominator else None


def read_columns(record: dict[str, str]) -> tuple[str, ...]:
    """Every indicator column a catalogue row reads: its own, and the totals of its ratio."""
    return (record.get("indicator_column", "").lower(), *(ratio_columns(record) or ()))


def is_carried(record: dict[str, str], has_column: Callable[[str], bool]) -> bool:
    """True when a file (``has_column`` answers for its columns, aliases included) can give this
    catalogue row values: it has the row's indicator column, or both totals of its ratio."""
    ratio = ratio_columns(record)
    return has_column(record.get("indicator_column", "").lower()) or (
        ratio is not None and all(has_column(column) for column in ratio)
    )


def filters_can_match(
    record: dict[str, str], has_column: Callable[[str], bool], headline_values: Callable[[str], tuple[str, ...]]
) -> bool:
    """True when some way the row's `filters` cell marks its series can match a file's rows: each
    filter it names is a column of the file, or asks for the value staging gives a file without
    that column (its headline value). A file of A level results has no `exam_cohort` column, so
    the tech level series (`exam_cohort=Tech level`) cannot come out of it."""
    return any(
        all(has_column(name) or value in headline_values(name) for name, value in alternative.items())
        for alternative in filter_alternatives(record.get("filters", ""))
    )
