"""How a DfE file's columns are read into ``raw.<dataset>``: as they are (an EES tidy file), or
as the EES columns a file that is not one stands for.

Two kinds of DfE download are read as EES files without anybody editing them:

- **England's figures with no geography columns** (DfE's 16-18 time series
  all_attainment_with_2025.csv has time_period but no geographic_level, country or area column):
  every row is read as a National row of England (``_england_columns``), for a dataset that
  publishes National rows (``DatasetSpec.has_national_rows``).
- **A file in one of the dataset's registered layouts** (``vars.ees_datasets.<d>.layouts``, e.g.
  the attainment-at-19 dashboard file): its columns are renamed to EES's, its year becomes an
  academic-year time_period, its "all" value marks the England and regional rows and the filter
  totals, and a year of cohorts not yet measured (every listed count 0 on every row) is left out.

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
_GEOGRAPHY_LIKE = re.compile(
    r"(^|_)(code|name|la|lad|lea|local_authority|area|district|region|urn|ukprn|laestab|lsip|pcon|ward)(_\d+)?$"
)


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
    # rows left out (a SQL condition over the file's cells, window functions allowed): a registered
    # layout's years of cohorts not yet measured, whose zeros are placeholders, not figures
    drop_when: Column | None = None


def as_written(columns: list[str], header: list[str]) -> ReadAs:
    """A tidy EES file: every column as it is."""
    return ReadAs({name: Column(f"{{{name}}}", (), original) for name, original in zip(columns, header)})


def render(column: Column, cells: dict[str, str]) -> str:
    """The column's SQL with each {name} replaced by that file column's cell expression; a brace
    left over (a name that is not a plain column name) is refused, never passed to DuckDB."""
    sql = _CELL.sub(lambda match: cells[match.group(1)], column.sql)
    if "{" in sql or "}" in sql:
        raise ValueError(f"a column expression names something that is not a file column: {column.sql!r}")
    return sql


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
        and spec.has_national_rows
        and not present & set(geography)
        and not any(_GEOGRAPHY_LIKE.search(name) for name in columns)
        and present & indicators
    ):
        return _national_file(columns, header, spec)
    return as_written(columns, header)


def _england_columns(spec: DatasetSpec, level: str | None = None) -> dict[str, str]:
    """The standard columns every row of a file that names no area this way gets: the dataset's
    time_identifier, the geographic level when it is one for every row, and England's code and
    name (vars.areas.england)."""
    england_code, england_name = areas.england()
    return {
        "time_identifier": spec.time_identifier,
        **({"geographic_level": level} if level else {}),
        "country_code": england_code,
        "country_name": england_name,
    }


def _national_file(columns: list[str], header: list[str], spec: DatasetSpec) -> ReadAs:
    read = as_written(columns, header).columns
    every_row = _england_columns(spec, "National")
    supplied = {name: value for name, value in every_row.items() if name not in read}
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
    region = f"{{{layout.region_name}}}"
    la_cells = [f"{{{name}}}" for name in layout.area_columns().values()]
    end_year = f"TRY_CAST({{{layout.end_year}}} AS INTEGER)"
    # England's rows have 'all' in the region and every LA column, a region's in every LA column
    # only, an LA's in none of them; any other mix is passed on as written, so the raw gate's
    # geographic level check names the row instead of it being read as the wrong area
    every_la_total = " AND ".join(f"{cell} = ?" for cell in la_cells)
    no_la_total = " AND ".join(f"{cell} <> ?" for cell in la_cells)
    level = Column(
        f"CASE WHEN {region} = ? AND {every_la_total} THEN 'National' "
        f"WHEN {region} <> ? AND {every_la_total} THEN 'Regional' "
        f"WHEN {region} <> ? AND {no_la_total} THEN 'Local authority' "
        f"ELSE concat('no level: region ', {region}, ', LA ', {la_cells[0]}) END",
        (total, *[total] * 3, total, *[total] * 3, total, *[total] * 3),
    )
    # every English region and London sub-region by name, compared case-insensitively; a name
    # none matches is kept as written, so the raw gate reports it as no English region's code
    named = sorted(areas.english_regions().items())
    region_case = " ".join(f"WHEN lower({region}) = lower(?) THEN ?" for _ in named)
    originals = dict(zip(columns, header))
    read: dict[str, Column] = {
        # the academic year that ends in the file's year: a cohort 19 in 2022 is 2021/22
        "time_period": Column(
            f"coalesce(CAST(({end_year} - 1) * 100 + {end_year} % 100 AS VARCHAR), {{{layout.end_year}}})",
            (),
            originals[layout.end_year],
        ),
        "geographic_level": level,
        **{name: Column("?", (value,)) for name, value in _england_columns(spec).items()},
        "region_code": Column(
            f"CASE WHEN {region} = ? THEN NULL {region_case} ELSE {region} END",
            (total, *(value for code, name in named for value in (name, code))),
        ),
        "region_name": Column(f"NULLIF({region}, ?)", (total,), originals[layout.region_name]),
    }
    for ees_name, file_name in layout.area_columns().items():
        read[ees_name] = Column(f"NULLIF({{{file_name}}}, ?)", (total,), originals[file_name])
    for name in columns:
        if name in layout.columns_read() or name in read:
            continue  # read above; a file column of an EES name the layout works out is not read twice
        # the layout's "all" is the EES filter total (Total)
        read[name] = Column(
            f"CASE WHEN {{{name}}} = ? THEN ? ELSE {{{name}}} END",
            (total, ees_cells.filter_total()),
            originals[name],
        )
    drop_when = None
    if layout.not_yet_measured_when_zero:
        # a year in which every row's listed counts are 0 is a cohort not yet measured (DfE's
        # dashboard carries the cohorts 19 in 2023 to 2025 so): judged per year, so a small group
        # with genuinely no achievers in a measured year is kept
        drop_when = Column(
            " AND ".join(
                f"max(abs(coalesce(TRY_CAST({{{name}}} AS DOUBLE), 1))) OVER (PARTITION BY {{{layout.end_year}}}) = 0"
                for name in layout.not_yet_measured_when_zero
            )
        )
    note = (
        f"read as an EES file from its own layout ({', '.join(layout.detect)}): {layout.end_year} is the "
        f"academic year ending then, '{total}' marks England, the regions and filter totals"
    )
    if drop_when is not None:
        note += (
            f"; a year whose {', '.join(layout.not_yet_measured_when_zero)} are 0 on every row is a cohort not yet "
            "measured, and its rows are left out"
        )
    return ReadAs(read, note, drop_when)
