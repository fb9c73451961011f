"""The EES dataset registry: ``vars.ees_datasets`` in ``dbt_project/dbt_project.yml``.

A DfE dataset in EES tidy format is declared once, there (the keys are documented beside it).
dbt reads the registry directly where Jinja can (the staging macro, the long union in
``int_measure_values``, the headline rule). What dbt and Great Expectations only take as files is
written from it by this module::

    python -m orchestration.lib.rules.registry            # write the generated files (make generate)
    python -m orchestration.lib.rules.registry --check    # list the files that differ; exit 1 if any

It writes the ``ees`` dbt source (``models/staging/ees/_ees__sources.yml``), one
``stg_ees__<dataset>.sql`` per dataset with its entry in ``_stg_ees__models.yml``, and the raw gate
suites ``expectations/raw_<dataset>.json``. Each carries a "do not edit" header (a ``generated``
meta key in JSON). A generated file whose dataset has left the registry is removed.
``tests/test_registry.py`` fails when a committed file differs from what this module writes now.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.rules import areas, ees_cells
from orchestration.lib.rules.catalogue import read_catalogue
from orchestration.lib.settings import DBT_PROJECT_DIR, EXPECTATIONS_DIR, REPO_ROOT
from orchestration.lib.sources.config import RELEASES, FileLayout, dbt_project_vars

COMMAND = "python -m orchestration.lib.rules.registry (make generate)"
HEADER = f"generated from vars.ees_datasets by {COMMAND}; do not edit"
WHERE = "dbt_project/dbt_project.yml: vars"

STAGING_DIR = DBT_PROJECT_DIR / "models" / "staging" / "ees"
SOURCES_FILE = STAGING_DIR / "_ees__sources.yml"
MODELS_FILE = STAGING_DIR / "_stg_ees__models.yml"

# An entry's keys: (required, optional). The name doubles as a raw table and a dbt model name.
ENTRY_KEYS = (
    ("title", "publication", "periods", "geographic_levels", "required_columns", "gate"),
    (
        "description",
        "aliases",
        "headline",
        "headline_partitions",
        "partition_members_may_be_absent",
        "text_columns",
        "repeated_rows_keep_largest",
        "layouts",
    ),
)
LAYOUT_KEYS = (
    ("detect", "end_year", "region_name", "old_la_code", "new_la_code", "la_name", "total"),
    ("not_yet_measured_when_zero",),
)
GATE_KEYS = (("percentages",), ("ranges",))
RANGE_KEYS = (("min", "max"), ("why",))
PERIOD_KEYS = (("time_identifier", "time_period_regex", "check", "example"), ())
_NAME = re.compile(r"[a-z][a-z0-9_]*")
_SLUG = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
_PUBLICATION_BASE = re.compile(r"https://[a-z0-9.-]+/([a-z0-9-]+/)*")
FINITE_BOUND = 1e300  # beyond any statistic; a value past it is a double's infinity


@dataclass(frozen=True)
class PeriodType:
    """A kind of EES period (vars.ees_period_types): what time_identifier and time_period read."""

    name: str
    time_identifier: str
    time_period_regex: str
    check: str  # the raw gate's label for the time_period form
    example: str


@dataclass(frozen=True)
class Bounds:
    """The range a raw cell's value must lie in; ``indicator`` None for every percentage cell."""

    indicator: str | None
    min: float
    max: float
    why: str | None = None


@dataclass(frozen=True)
class EesDataset:
    name: str
    title: str
    publication: str
    description: str | None
    periods: PeriodType
    geographic_levels: tuple[str, ...]
    required_columns: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    # filter -> the values that mark its headline row, where that is not only the filter total
    headline: dict[str, tuple[str, ...]]
    # catalogue breakdowns that together are all pupils, for files with no all-pupils row
    headline_partitions: tuple[tuple[str, ...], ...]
    # True where a partition member with no row had no pupils (an LA without special schools);
    # otherwise every member must be there for a headline to be worked out
    partition_members_may_be_absent: bool
    # columns that state a value in words (A level grades beside points): neither filter nor number
    text_columns: tuple[str, ...]
    # a count column: rows repeating another's period, area and filters are read as the one with
    # the largest count (DfE labels sub-groups as the total in the level 2/3 at 19 file)
    repeated_rows_keep_largest: str | None
    percentages: Bounds
    ranges: tuple[Bounds, ...]
    # DfE files of this dataset that are not EES tidy files, read as EES (lib/ingest/layouts.py)
    layouts: tuple[FileLayout, ...] = ()

    def headline_values(self, filter_column: str) -> tuple[str, ...]:
        """The values of ``filter_column`` that mark the dataset's headline row (the macro
        ees_headline_values_sql in dbt): the entry's headline: for it, else ees_cells.filter_total."""
        return self.headline.get(filter_column.lower(), (ees_cells.filter_total(),))

    def headline_value(self, filter_column: str) -> str:
        """The headline value a file without ``filter_column`` is read as having (the macro
        ees_headline_value): the first of :meth:`headline_values`."""
        return self.headline_values(filter_column)[0]


def _keys(where: str, value: object, keys: tuple[tuple[str, ...], tuple[str, ...]]) -> dict:
    required, optional = keys
    if not isinstance(value, dict):
        raise PipelineInputError(f"{where}: expected a mapping with {', '.join(required)}, got {value!r}")
    unknown = [str(k) for k in value if k not in (*required, *optional)]
    if unknown:
        raise PipelineInputError(
            f"{where}: unknown key(s) {', '.join(unknown)}; the keys are {', '.join((*required, *optional))}"
        )
    missing = [k for k in required if value.get(k) in (None, "", [], {})]
    if missing:
        raise PipelineInputError(f"{where}: {', '.join(missing)} required")
    return value


def _text_list(where: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PipelineInputError(f"{where}: expected a list of names, got {value!r}")
    return tuple(value)


def _column_name(where: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise PipelineInputError(f"{where}: expected a lower-case column name, got {value!r}")
    return value


def _number(where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PipelineInputError(f"{where}: expected a number, got {value!r}")
    return value


def _bounds(where: str, indicator: str | None, value: object) -> Bounds:
    spec = _keys(where, value, RANGE_KEYS)
    low, high = _number(f"{where}.min", spec["min"]), _number(f"{where}.max", spec["max"])
    if low > high:
        raise PipelineInputError(f"{where}: min {low} is above max {high}")
    why = spec.get("why")
    if why is not None and not isinstance(why, str):
        raise PipelineInputError(f"{where}.why: expected text, got {why!r}")
    return Bounds(indicator, low, high, why)


def _period_types(variables: dict) -> dict[str, PeriodType]:
    block = variables.get("ees_period_types")
    if not isinstance(block, dict) or not block:
        raise PipelineInputError(f"{WHERE}.ees_period_types: expected a mapping of period kinds")
    types = {}
    for name, spec in block.items():
        spec = _keys(f"{WHERE}.ees_period_types.{name}", spec, PERIOD_KEYS)
        re.compile(spec["time_period_regex"])
        types[name] = PeriodType(
            name, spec["time_identifier"], spec["time_period_regex"], spec["check"], str(spec["example"])
        )
    return types


def _dataset(name: object, spec: object, period_types: dict[str, PeriodType]) -> EesDataset:
    where = f"{WHERE}.ees_datasets.{name}"
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise PipelineInputError(f"{where}: a dataset name must be lower snake case (it names a raw table and a model)")
    spec = _keys(where, spec, ENTRY_KEYS)
    for key in ("title", "publication", "description"):
        if spec.get(key) is not None and not isinstance(spec[key], str):
            raise PipelineInputError(f"{where}.{key}: expected text, got {spec[key]!r}")
    if not _SLUG.fullmatch(spec["publication"].strip()):
        raise PipelineInputError(
            f"{where}.publication: expected the EES publication's slug (lower case, digits and hyphens, as in its "
            f"address), got {spec['publication']!r}"
        )
    if spec["periods"] not in period_types:
        raise PipelineInputError(
            f"{where}.periods: '{spec['periods']}' is not one of ees_period_types ({', '.join(period_types)})"
        )
    aliases = spec.get("aliases") or {}
    if not isinstance(aliases, dict):
        raise PipelineInputError(f"{where}.aliases: expected canonical name -> [older names], got {aliases!r}")
    headline = spec.get("headline") or {}
    if not isinstance(headline, dict) or not all(
        isinstance(k, str)
        and k == k.lower()
        and (isinstance(v, str) or (isinstance(v, list) and v and all(isinstance(x, str) for x in v)))
        for k, v in headline.items()
    ):
        raise PipelineInputError(
            f"{where}.headline: expected lower-case filter column -> its headline value or a list of them "
            f"(quoted), got {headline!r}"
        )
    partitions = spec.get("headline_partitions") or []
    if not isinstance(partitions, list) or not all(
        isinstance(p, list) and len(p) >= 2 and all(isinstance(b, str) and _NAME.fullmatch(b) for b in p)
        for p in partitions
    ):
        raise PipelineInputError(
            f"{where}.headline_partitions: expected a list of lists of two or more catalogue breakdowns "
            f"(e.g. [[disadvantaged, not_disadvantaged]]), got {partitions!r}"
        )
    gate = _keys(f"{where}.gate", spec["gate"], GATE_KEYS)
    ranges = gate.get("ranges") or {}
    if not isinstance(ranges, dict):
        raise PipelineInputError(f"{where}.gate.ranges: expected indicator -> {{min, max, why}}, got {ranges!r}")
    return EesDataset(
        name=name,
        title=spec["title"].strip(),
        publication=spec["publication"].strip(),
        description=(spec.get("description") or "").strip() or None,
        periods=period_types[spec["periods"]],
        geographic_levels=_text_list(f"{where}.geographic_levels", spec["geographic_levels"]),
        required_columns=_text_list(f"{where}.required_columns", spec["required_columns"]),
        aliases={k: _text_list(f"{where}.aliases.{k}", v) for k, v in aliases.items()},
        headline={k: (v,) if isinstance(v, str) else tuple(v) for k, v in headline.items()},
        headline_partitions=tuple(tuple(p) for p in partitions),
        partition_members_may_be_absent=spec.get("partition_members_may_be_absent") is True,
        text_columns=_text_list(f"{where}.text_columns", spec.get("text_columns") or []),
        repeated_rows_keep_largest=_column_name(
            f"{where}.repeated_rows_keep_largest", spec.get("repeated_rows_keep_largest")
        ),
        percentages=_bounds(f"{where}.gate.percentages", None, gate["percentages"]),
        ranges=tuple(_bounds(f"{where}.gate.ranges.{k}", k, v) for k, v in ranges.items()),
        layouts=_layouts(f"{where}.layouts", spec.get("layouts") or []),
    )


def _layouts(where: str, layouts: object) -> tuple[FileLayout, ...]:
    if not isinstance(layouts, list):
        raise PipelineInputError(f"{where}: expected a list of layouts, got {layouts!r}")
    read = []
    for number, layout in enumerate(layouts):
        at = f"{where}[{number}]"
        layout = _keys(at, layout, LAYOUT_KEYS)
        names = {
            key: _column_name(f"{at}.{key}", layout[key])
            for key in ("end_year", "region_name", "old_la_code", "new_la_code", "la_name")
        }
        if None in names.values():
            raise PipelineInputError(f"{at}: every column of {', '.join(names)} must be named")
        if not isinstance(layout["total"], str) or not layout["total"].strip():
            raise PipelineInputError(f"{at}.total: expected the text meaning 'all', got {layout['total']!r}")
        lists = {
            key: tuple(_column_name(f"{at}.{key}", name) for name in _text_list(f"{at}.{key}", layout.get(key) or []))
            for key in ("detect", "not_yet_measured_when_zero")
        }
        read.append(FileLayout(total=layout["total"], **names, **lists))
    return tuple(read)


def read_registry(variables: dict) -> dict[str, EesDataset]:
    """The registry in ``variables`` (dbt_project.yml's vars), checked: a typo in a key or a
    missing title is an error naming the entry, not a generated file missing a check."""
    period_types = _period_types(variables)
    base = variables.get("ees_publication_url")
    if not isinstance(base, str) or not _PUBLICATION_BASE.fullmatch(base):
        raise PipelineInputError(f"{WHERE}.ees_publication_url: expected an https address ending in '/', got {base!r}")
    block = variables.get("ees_datasets")
    if not isinstance(block, dict) or not block:
        raise PipelineInputError(f"{WHERE}.ees_datasets: expected one entry per EES dataset")
    return {name: _dataset(name, spec, period_types) for name, spec in block.items()}


@lru_cache(maxsize=1)
def ees_datasets() -> dict[str, EesDataset]:
    return read_registry(dbt_project_vars())


# What is generated ------------------------------------------------------------------------------


def _bound(value: float) -> str:
    """A bound as the gate's label writes it: 0, 100, 1000000, 2.5."""
    return str(int(value)) if float(value).is_integer() else str(value)


def raw_suite(dataset: EesDataset) -> dict:
    """The raw gate's suite: the checks every EES dataset gets, with the dataset's periods,
    geographic levels and bounds. The EES cell syntax reaches it as a parameter (ees_cells)."""
    la = 'geographic_level == "Local authority"'

    def check(kind: str, kwargs: dict, label: str, condition: str | None = None) -> dict:
        if condition is not None:
            kwargs = {**kwargs, "row_condition": condition, "condition_parser": "pandas"}
        return {"type": kind, "kwargs": kwargs, "meta": {"check": label}}

    def within(bounds: Bounds, label: str, condition: str) -> dict:
        return check(
            "expect_column_values_to_be_between",
            {"column": "value", "min_value": bounds.min, "max_value": bounds.max},
            label,
            condition,
        )

    percentages = dataset.percentages
    expectations = [
        check("expect_column_to_exist", {"column": "time_period"}, "schema: time_period column"),
        check("expect_column_to_exist", {"column": "geographic_level"}, "schema: geographic_level column"),
        check("expect_column_values_to_not_be_null", {"column": "time_period"}, "time period present"),
        check(
            "expect_column_values_to_match_regex",
            {"column": "time_period", "regex": dataset.periods.time_period_regex},
            dataset.periods.check,
        ),
        check(
            "expect_column_values_to_be_in_set",
            {"column": "time_identifier", "value_set": [dataset.periods.time_identifier]},
            "time identifier",
        ),
        check(
            "expect_column_values_to_be_in_set",
            {"column": "geographic_level", "value_set": list(dataset.geographic_levels)},
            "geographic level",
        ),
        check(
            "expect_column_values_to_be_in_set",
            {"column": "country_code", "value_set": [areas.england()[0]]},
            "country is England",
        ),
        check(
            "expect_column_values_to_match_regex",
            # blank in DfE's files for years before ONS codes (2011) and LAs abolished before them
            {"column": "new_la_code", "regex": r"^(E(06|07|08|09|10)\d{6})?$"},
            "LA new code valid or blank",
            la,
        ),
        check(
            "expect_column_values_to_match_regex",
            {"column": "old_la_code", "regex": r"^\d{3}$"},
            "LA old code valid",
            la,
        ),
        check("expect_column_values_to_not_be_null", {"column": "la_name"}, "LA name present", la),
        check(
            "expect_column_values_to_match_regex",
            {"column": "region_code", "regex": r"^E1[23]\d{6}$"},
            "region code valid",
            'geographic_level != "National"',
        ),
        check(
            "expect_column_values_to_match_regex",
            {"column": "raw_value", "regex": {"$PARAMETER": "ees_cell_regex"}},
            "cell is a number or an EES symbol",
        ),
        # 1e400 is a number to the EES syntax but infinite as a double (dbt's cast would fail with
        # no file or line): every number a measure reads must be finite
        check(
            "expect_column_values_to_be_between",
            {"column": "value", "min_value": -FINITE_BOUND, "max_value": FINITE_BOUND},
            "number is finite",
        ),
        within(
            percentages,
            f"percentage within {_bound(percentages.min)}-{_bound(percentages.max)}",
            "is_percentage == True",
        ),
        *(
            within(
                b,
                f"{b.indicator} within {_bound(b.min)}-{_bound(b.max)}" + (f" ({b.why})" if b.why else ""),
                f'indicator == "{b.indicator}"',
            )
            for b in dataset.ranges
        ),
        check(
            "expect_compound_columns_to_be_unique",
            {
                "column_list": [
                    "_source_file",
                    "time_period",
                    "time_identifier",
                    "geographic_level",
                    "region_code",
                    "old_la_code",
                    "new_la_code",
                    "filter_key",
                    "version",
                    "indicator",
                ]
            },
            "no duplicate rows (time x geography x filters x version in a file)",
        ),
        # Row-level problems the gate's SQL finds (orchestration/lib/gates/raw.py raw_row_problems).
        check(
            "expect_column_values_to_be_null",
            {"column": "time_problem"},
            "time period fits its time identifier, one time identifier per file",
        ),
        check(
            "expect_column_values_to_be_null",
            {"column": "region_problem"},
            "region code is an English region and matches its name",
        ),
        check(
            "expect_column_values_to_be_null",
            {"column": "la_problem"},
            "LA code, name and region agree across rows and with the statistical neighbour model",
        ),
        check(
            "expect_column_values_to_be_null",
            {"column": "headline_problem"},
            "headline row (every totalled filter = Total) present for each period and area",
        ),
        check(
            "expect_column_values_to_be_null",
            {"column": "count_problem"},
            "no count above the count it is out of (e.g. t_rwm_met_expected_standard <= t_rwm_eligible_pupils)",
        ),
    ]
    notes = (
        f"Gate on the raw {dataset.name} files ({dataset.title}) as landed (text), one row per file row x "
        f"indicator cell; {dataset.periods.time_identifier.lower()} periods (time_period {dataset.periods.example})."
    )
    return {"name": f"raw_{dataset.name}", "meta": {"generated": HEADER, "notes": notes}, "expectations": expectations}


def _quoted(text: str) -> str:
    """A YAML scalar: JSON's double-quoted strings are valid YAML."""
    return json.dumps(text, ensure_ascii=False)


def _folded(text: str, indent: int) -> str:
    """A YAML folded block (``>``) holding ``text``, wrapped to stay within 110 columns."""
    pad = " " * indent
    return ">\n" + "\n".join(
        textwrap.wrap(
            text,
            width=110 - indent,
            initial_indent=pad,
            subsequent_indent=pad,
            break_on_hyphens=False,
            break_long_words=False,
        )
    )


def _source_description(dataset: EesDataset) -> str:
    text = f"{dataset.title} (EES publication {dataset.publication}), one row per data row of every landed file."
    return f"{text} {dataset.description}" if dataset.description else text


def sources_yml(datasets: dict[str, EesDataset]) -> str:
    lines = [
        f"# {HEADER}",
        "# Schema `raw` is written by the ingest step: every data column VARCHAR with a lower snake-case",
        "# header, plus the lineage columns _file_sha256, _source_file, _row_number, _release, _landed_seq.",
        "version: 2",
        "",
        "sources:",
        "  - name: ees",
        "    description: Explore Education Statistics tidy CSVs, one table per dataset (all landed files unioned).",
        "    schema: raw",
        "    tables:",
    ]
    for d in datasets.values():
        lines += [
            f"      - name: {d.name}",
            f"        description: {_folded(_source_description(d), 10)}",
            "        config:",
            "          meta:",
            f"            publication: {_quoted(d.publication)}",
            f"            url: {_quoted(publication_url(d))}",
            f"            periods: {d.periods.name}",
        ]
    return "\n".join(lines) + "\n"


def publication_url(dataset: EesDataset) -> str:
    """The dataset's publication page on EES (vars.ees_publication_url + its slug; dim_measure's
    source_url is built from the same var)."""
    return dbt_project_vars()["ees_publication_url"] + dataset.publication


def staging_sql(dataset: EesDataset) -> str:
    return (
        f"-- {HEADER}\n"
        f"-- {dataset.title}.\n"
        f"-- One row per {dataset.name} source row, one column per indicator (macros/ees_staging.sql).\n"
        f"{{{{ ees_staging('{dataset.name}') }}}}\n"
    )


# The columns every stg_ees__<dataset> view has besides its indicator columns (macros/ees_staging.sql,
# ees_staging_row_columns).
STAGING_COLUMNS: tuple[tuple[str, str], ...] = (
    ("dataset", "Dataset key in sources.yml and vars.ees_datasets (ks2, ks4, ...)."),
    ("time_period", "EES period as an integer, e.g. 202122 for the academic year 2021/22."),
    ("academic_year", "The period written the usual way, e.g. `2021/22`."),
    ("time_identifier", "EES time identifier, e.g. `Academic year`."),
    ("geographic_level", "EES geographic level as published (National, Regional, Local authority, ...)."),
    ("country_code", "ONS country code (E92000001 for England)."),
    ("country_name", "Country name."),
    ("region_code", "Region code as published; London LAs carry Inner/Outer London (E13...)."),
    ("region_name", "Region name as published."),
    ("old_la_code", "Three-digit DfE LA number."),
    ("new_la_code", "ONS LA code (E06, E08, E09, E10...)."),
    ("la_name", "LA name as published."),
    ("version", "The file's version cell as published (Provisional, Revised, Final), if any."),
    (
        "release",
        "Normalised release the row belongs to; the file's version, else the release given in sources.yml, else final.",
    ),
    (
        "filters",
        "MAP of every filter column of the dataset to this row's value; a column the file lacks reads "
        "its headline value (ees_cells.filter_total, or the dataset's headline: in vars.ees_datasets).",
    ),
    ("filters_key", "The filters map as text: what int_ees_measure_values matches rows to catalogue rows on."),
    ("source_file", "The file as listed in sources.yml."),
    ("file_sha256", "SHA-256 of the landed file."),
    ("source_row_number", "Line number of the row in its file (header = 1)."),
    ("landed_seq", "Landing order of the file; larger = landed later."),
)
# Each view's row checks, as one test (tests/generic/row_checks.sql): its grain, and its period
# and release on every row.
STAGING_ROW_TESTS = (
    "      - row_checks:",
    "          arguments:",
    "            key: [file_sha256, source_row_number]",
    "            not_null: [time_period, release]",
    f"            accepted_values: {{release: [{', '.join(RELEASES)}]}}",
)


def _column_lines() -> list[str]:
    lines = []
    for name, description in STAGING_COLUMNS:
        lines += [f"      - name: {name}", f"        description: {_quoted(description)}"]
    return lines


def staging_models_yml(datasets: dict[str, EesDataset]) -> str:
    lines = [
        f"# {HEADER}",
        "# Every EES staging view comes from one macro (macros/ees_staging.sql), so their standard columns",
        "# are identical; each then has one column per canonical indicator of its dataset. Each is tested",
        "# on its grain, period and release, in one test (tests/generic/row_checks.sql). The cells' EES",
        "# status is tested where cells are made (int_ees_measure_values), and lineage columns downstream",
        "# (int_measure_values).",
        "version: 2",
        "",
        "models:",
    ]
    for index, d in enumerate(datasets.values()):
        description = (
            f"{d.title} (EES publication {d.publication}): one row per source row of every landed file, "
            "one VARCHAR column per canonical indicator holding the cell as published (trimmed; NULL where the "
            "row's file has no such column). Staging only renames and casts (macros/ees_staging.sql): aliases "
            "are folded onto canonical names and the filter columns gathered into a map."
        )
        if index:
            lines.append("")
        lines += [
            f"  - name: stg_ees__{d.name}",
            f"    description: {_folded(description, 6)}",
            "    data_tests:",
            *STAGING_ROW_TESTS,
        ]
        lines += ["    columns: &ees_columns", *_column_lines()] if index == 0 else ["    columns: *ees_columns"]
    return "\n".join(lines) + "\n"


# The measure catalogue's plausibility bounds (national_min, national_max, national_bounds_why): the
# area mart's gate reads them from the catalogue itself (orchestration/lib/gates/bounds.py), so they
# are data anyone can read and change with their reason, not numbers in a JSON suite. Checked here
# with the generated files (`make run` refuses a catalogue whose bound has no reason).
@dataclass(frozen=True)
class NationalBounds:
    low: float | None
    high: float | None
    why: str


def national_bounds() -> dict[tuple[str, str], NationalBounds]:
    """(measure_code, breakdown) -> England's plausible range, for the catalogue rows that set one."""
    bounds = {}
    for row in read_catalogue(DBT_PROJECT_DIR / "seeds" / "measure_catalogue.csv"):
        low, high = row.get("national_min", ""), row.get("national_max", "")
        if not low and not high:
            continue
        where = f"measure_catalogue.csv {row['measure_code']} ({row['breakdown']})"
        if not row.get("national_bounds_why"):
            raise PipelineInputError(f"{where}: national bounds need national_bounds_why (the reason for them)")
        bounds[(row["measure_code"], row["breakdown"])] = NationalBounds(
            _catalogue_number(f"{where}.national_min", low) if low else None,
            _catalogue_number(f"{where}.national_max", high) if high else None,
            row["national_bounds_why"],
        )
    return bounds


def _catalogue_number(where: str, text: str) -> float | int:
    try:
        value = float(text)
    except ValueError:
        raise PipelineInputError(f"{where}: expected a number, got '{text}'") from None
    return int(value) if value.is_integer() else value


def generated_files(datasets: dict[str, EesDataset] | None = None) -> dict[Path, str]:
    """Every generated file (absolute path) -> the text the registry gives it now."""
    datasets = ees_datasets() if datasets is None else datasets
    files = {SOURCES_FILE: sources_yml(datasets), MODELS_FILE: staging_models_yml(datasets)}
    for d in datasets.values():
        files[STAGING_DIR / f"stg_ees__{d.name}.sql"] = staging_sql(d)
        files[EXPECTATIONS_DIR / f"raw_{d.name}.json"] = json.dumps(raw_suite(d), indent=2, ensure_ascii=False) + "\n"
    return files


def _is_generated(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    if path.suffix == ".json":
        try:
            return (json.loads(text).get("meta") or {}).get("generated") == HEADER
        except (json.JSONDecodeError, AttributeError):
            return False
    return HEADER in text.split("\n", 1)[0]


def stale_files(datasets: dict[str, EesDataset] | None = None) -> list[Path]:
    """Generated files no registry entry gives any more (a dataset removed or renamed)."""
    wanted = set(generated_files(datasets))
    candidates = [*STAGING_DIR.glob("stg_ees__*.sql"), *EXPECTATIONS_DIR.glob("raw_*.json")]
    return sorted(p for p in candidates if p not in wanted and _is_generated(p))


def differences(datasets: dict[str, EesDataset] | None = None) -> list[str]:
    """What a `make generate` would change, relative to the repository root (empty: all current)."""
    national_bounds()  # a catalogue bound without its reason stops here, before any build
    found = []
    for path, text in generated_files(datasets).items():
        if not path.exists():
            found.append(f"{path.relative_to(REPO_ROOT)} is missing")
        elif path.read_text(encoding="utf-8") != text:
            found.append(f"{path.relative_to(REPO_ROOT)} differs from the registry")
    found += [
        f"{p.relative_to(REPO_ROOT)} is left from a dataset no longer in the registry" for p in stale_files(datasets)
    ]
    return found


def write(datasets: dict[str, EesDataset] | None = None) -> list[str]:
    """Write every generated file that differs and remove stale ones; returns what changed."""
    changed = differences(datasets)
    for path, text in generated_files(datasets).items():
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    for path in stale_files(datasets):
        path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the files generated from vars.ees_datasets (dbt_project.yml).")
    parser.add_argument("--check", action="store_true", help="only list the files that differ; exit 1 if any")
    args = parser.parse_args(argv)
    try:
        changes = differences() if args.check else write()
    except PipelineInputError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    for change in changes:
        print(change)
    if args.check and changes:
        print("run `make generate` and commit the result", file=sys.stderr)
        return 1
    if not changes:
        print(f"generated files match vars.ees_datasets ({len(ees_datasets())} datasets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
