"""How a DfE file's columns are read into ``raw.<dataset>``: as they are (an EES tidy file), or
as the EES columns a file that is not one stands for.

Two kinds of DfE download are read as EES files without anybody editing them:

- **England's figures with no geography columns** (DfE's 16-18 time series
  all_attainment_with_2025.csv has time_period but no geographic_level, country or area column):
  every row is read as a National row of England (``DatasetSpec.national_file_columns``).
- **A file in one of the dataset's registered layouts** (``vars.ees_datasets.<d>.layouts``, e.g.
  the attainment-at-19 dashboard file): its columns are renamed to EES's, its year becomes an
  academic-year time_period, its "all" value marks the England and regional rows and the filter
  totals, and the results of cohorts not yet measured (every listed count 0) are read as ``x``.

Each output column is a SQL expression over the file's cells (``{name}`` stands for the cell of
the file's column ``name``) with its parameters, so every value from a file reaches DuckDB as a
parameter or a cell, never pasted into SQL. The run says how such a file was read, and the raw
gate judges the columns as read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.rules import areas, ees_cells
from orchestration.lib.sources.config import DatasetSpec, FileLayout

_CELL = re.compile(r"\{([0-9a-z_]+)\}")
# A column that looks like it names an area or a provider (la_code, region, lsip_name, urn, ...):
# a file with one is not England's alone, whatever its other columns, and is refused as before
# rather than read as National rows
_GEOGRAPHY_LIKE = re.compile(r"(^|_)(code|name|la|lad|region|urn|ukprn|laestab|lsip|pcon|ward)(_\d+)?$")


@dataclass(frozen=True)
class Column:
    """One column of ``raw.<dataset>`` as a file gives it."""

    sql: str  # over the file's cells: {name} is the cell of the file's column `name`
    params: tuple[object, ...] = ()
    original: str = ""  # the file's name for it, as written ('' when worked out)


@dataclass(frozen=True)
class ReadAs:
    """How one file's columns are read: output column -> Column, and what the run says of it."""

    columns: dict[str, Column]
    note: str | None = None


def as_written(columns: list[str], header: list[str]) -> ReadAs:
    """A tidy EES file: every column as it is."""
    return ReadAs({name: Column(f"{{{name}}}", (), original) for name, original in zip(columns, header)})


def render(column: Column, cells: dict[str, str]) -> str:
    """The column's SQL with each {name} replaced by that file column's cell expression."""
    return _CELL.sub(lambda match: cells[match.group(1)], column.sql)


def read_as(
    columns: list[str],
    header: list[str],
    spec: DatasetSpec,
    geography: tuple[str, ...],
    indicators: set[str],
    source_file: str,
) -> ReadAs:
    """How a file with these (normalised) ``columns`` is read; ``geography`` is every EES
    geography column name (reader.GEOGRAPHY_COLUMNS), ``indicators`` the names the catalogue reads
    from the dataset (reader.known_indicator_names): a file is read as England's only when it has
    one of them, so a file that is not the dataset's at all is refused as before."""
    present = set(columns)
    if spec.kind != "ees":
        return as_written(columns, header)
    for layout in spec.layouts:
        if set(layout.detect) <= present and "time_period" not in present:
            return _layout(columns, header, spec, layout, source_file)
    if (
        "time_period" in present
        and spec.national_file_columns
        and not present & set(geography)
        and not any(_GEOGRAPHY_LIKE.search(name) for name in columns)
        and present & indicators
    ):
        return _national_file(columns, header, spec)
    return as_written(columns, header)


def _national_file(columns: list[str], header: list[str], spec: DatasetSpec) -> ReadAs:
    read = as_written(columns, header).columns
    supplied = {name: value for name, value in spec.national_file_columns.items() if name not in read}
    read.update({name: Column("?", (value,)) for name, value in supplied.items()})
    note = "no geography columns, so its rows are read as England's figures (" + ", ".join(
        f"{name} {value}" for name, value in supplied.items()
    )
    return ReadAs(read, note + ")")


def _layout(columns: list[str], header: list[str], spec: DatasetSpec, layout: FileLayout, source_file: str) -> ReadAs:
    present = set(columns)
    missing = sorted(
        name for name in (*layout.columns_read(), *layout.not_yet_measured_when_zero) if name not in present
    )
    if missing:
        raise PipelineInputError(
            f"{source_file}: it has the {', '.join(layout.detect)} columns of one of {spec.name}'s layouts "
            f"(vars.ees_datasets.{spec.name}.layouts) but not its {', '.join(missing)}"
        )
    total = layout.total
    region, la_code = f"{{{layout.region_name}}}", f"{{{layout.old_la_code}}}"
    end_year = f"TRY_CAST({{{layout.end_year}}} AS INTEGER)"
    england_code, england_name = areas.england()
    # every region by name (as EES names them, compared case-insensitively), London included
    region_codes = sorted(areas.regions().items())
    region_case = " ".join("WHEN lower({" + layout.region_name + "}) = lower(?) THEN ?" for _ in region_codes)
    originals = dict(zip(columns, header))
    read: dict[str, Column] = {
        # the academic year that ends in the file's year: a cohort 19 in 2022 is 2021/22
        "time_period": Column(
            f"coalesce(CAST(({end_year} - 1) * 100 + {end_year} % 100 AS VARCHAR), {{{layout.end_year}}})",
            (),
            originals[layout.end_year],
        ),
        "time_identifier": Column("?", (spec.time_identifier,)),
        "geographic_level": Column(
            f"CASE WHEN {region} = ? THEN 'National' WHEN {la_code} = ? THEN 'Regional' ELSE 'Local authority' END",
            (total, total),
        ),
        "country_code": Column("?", (england_code,)),
        "country_name": Column("?", (england_name,)),
        "region_code": Column(
            f"CASE WHEN {region} = ? THEN NULL {region_case} END",
            (total, *(value for code, name in region_codes for value in (name, code))),
        ),
        "region_name": Column(f"NULLIF({region}, ?)", (total,), originals[layout.region_name]),
    }
    for ees_name, file_name in layout.area_columns().items():
        read[ees_name] = Column(f"NULLIF({{{file_name}}}, ?)", (total,), originals[file_name])
    measured = " AND ".join(f"TRY_CAST({{{name}}} AS DOUBLE) = 0" for name in layout.not_yet_measured_when_zero)
    for name in columns:
        if name in layout.columns_read():
            continue
        if name in layout.not_yet_measured:
            # a cohort not yet 19 has no results: DfE's zeros there are placeholders, not figures
            read[name] = Column(f"CASE WHEN {measured} THEN ? ELSE {{{name}}} END", ("x",), originals[name])
        else:
            # the layout's "all" is the EES filter total (Total)
            read[name] = Column(
                f"CASE WHEN {{{name}}} = ? THEN ? ELSE {{{name}}} END",
                (total, ees_cells.filter_total()),
                originals[name],
            )
    note = (
        f"read as an EES file from its own layout ({', '.join(layout.detect)}): {layout.end_year} is the "
        f"academic year ending then, '{total}' marks England, the regions and filter totals"
    )
    if layout.not_yet_measured:
        note += (
            f"; where {', '.join(layout.not_yet_measured_when_zero)} are all 0 the cohort is not yet measured and "
            f"its results read as x"
        )
    return ReadAs(read, note)
