"""The council's own school-level datasets (sources.yml ``local:``; README "Local datasets").

Each dataset has a schema file (YAML) saying what kind of file it is and which of the file's
columns is which. This module reads and checks the schema, reads the CSV or XLSX file through it
and turns its rows into records of the four fixed raw tables:

- ``raw.local_schools`` (kind ``school_register``): one row per register row;
- ``raw.local_school_values`` (kind ``school_measures``): one row per file row x declared measure,
  cells as written, periods normalised (``202324``, ``Academic year`` / ``Autumn term`` ...);
- ``raw.local_measures``: one row per dataset x declared measure (the schema's declarations);
- ``raw.local_inspections`` (kind ``inspection_outcomes``): one row per file row.

Structural problems (a schema naming a column the file lacks, an unknown kind, a period that
cannot be read, school-level data without a register) stop the ingest here with the file, line
and column; problems in the data itself (unknown URNs, duplicates, junk cells) are left to the
blocking raw gates (:mod:`orchestration.lib.gates`), which name the file and line.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa
import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import LandedFile
from orchestration.lib.ingest.reader import ParsedFile, _decode, file_format, normalise_header, open_workbook
from orchestration.lib.settings import DBT_PROJECT_DIR
from orchestration.lib.sources.config import LocalDataset, LocalFile, _as_list
from orchestration.lib.sources.yaml_input import SafeLoader, read_yaml

SCHOOL_REGISTER = "school_register"
SCHOOL_MEASURES = "school_measures"
INSPECTION_OUTCOMES = "inspection_outcomes"
KINDS = (SCHOOL_REGISTER, SCHOOL_MEASURES, INSPECTION_OUTCOMES)

# Canonical columns per kind: (required, optional). `period` of school_measures and inspections
# may instead be given per file in sources.yml; inspections need la_code or la_name.
KIND_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    SCHOOL_REGISTER: (("urn", "school_name", "la_code", "phase"), ("laestab", "status")),
    SCHOOL_MEASURES: (("urn",), ("period", "la_code", "school_name", "term")),
    INSPECTION_OUTCOMES: (
        ("urn", "overall_effectiveness"),
        ("school_name", "la_code", "la_name", "phase", "pupils", "inspection_date", "period"),
    ),
}
COMMON_KEYS = ("kind", "description", "sheet", "header_row", "include_rows", "missing_values", "columns")
KIND_KEYS = {
    SCHOOL_REGISTER: COMMON_KEYS,
    SCHOOL_MEASURES: (*COMMON_KEYS, "phase", "measures"),
    INSPECTION_OUTCOMES: (*COMMON_KEYS, "grades", "not_judged_values"),
}
MEASURE_KEYS = (
    "code",
    "label",
    "value_column",
    "numerator_column",
    "denominator_column",
    "cohort_column",
    "unit",
    "polarity",
    "decimal_places",
    "headline",
    "min",
    "max",
)
UNITS = ("percent", "average")
POLARITIES = ("high", "low")
# What DfE's performance tables and EES files write for a figure not published at source; a
# schema's `missing_values:` replaces the list. A blank cell always means "no figure".
DEFAULT_MISSING_VALUES = ("SUPP", "NE", "NP", "NA", "LOWCOV", "NEW", "x", "c", "z", "u", "low", ":")
GRADE_WORDS = {"outstanding": "1", "good": "2", "requires improvement": "3", "inadequate": "4"}
DEFAULT_NOT_JUDGED = ("Not judged", "NULL", "9", "")
NOT_JUDGED = "Not judged"
ACADEMIC_YEAR = "Academic year"
TERMS = ("Autumn", "Spring", "Summer")
_CODE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_ACADEMIC_YEAR = re.compile(r"^(\d{4})\s*(?:/|-|–|\s|to)?\s*(\d{2}|\d{4})$", re.IGNORECASE)
_TERM = re.compile(r"^(autumn|spring|summer)(\s+term)?$", re.IGNORECASE)
_WHOLE_YEAR = re.compile(r"^(academic year|full year|year|all year)$", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

LOCAL_LINEAGE = {
    "_file_sha256": "VARCHAR",
    "_source_file": "VARCHAR",
    "_row_number": "INTEGER",
    "_landed_seq": "INTEGER",
    "_sheet": "VARCHAR",
}
LOCAL_TABLES: dict[str, tuple[str, ...]] = {
    "local_schools": ("dataset", "urn", "school_name", "la_code", "phase", "laestab", "status"),
    "local_school_values": (
        "dataset",
        "urn",
        "la_code",
        "school_name",
        "period_as_written",
        "time_period",
        "time_identifier",
        "measure_code",
        "source_column",
        "value",
        "cohort",
        "numerator",
        "denominator",
    ),
    "local_measures": (
        "dataset",
        "measure_code",
        "label",
        "unit",
        "polarity",
        "decimal_places",
        "headline",
        "value_min",
        "value_max",
        "phase",
        "value_column",
        "numerator_column",
        "denominator_column",
        "cohort_column",
        "missing_values",
        "schema_file",
        "schema_sha256",
    ),
    "local_inspections": (
        "dataset",
        "urn",
        "school_name",
        "la_code",
        "la_name",
        "phase",
        "pupils",
        "inspection_date",
        "overall_effectiveness",
        "as_at",
    ),
}
KIND_TABLE = {
    SCHOOL_REGISTER: "local_schools",
    SCHOOL_MEASURES: "local_school_values",
    INSPECTION_OUTCOMES: "local_inspections",
}


# --- the measure catalogue ------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueMeasure:
    code: str
    label: str
    unit: str
    polarity: str
    decimal_places: str


@lru_cache(maxsize=1)
def catalogue_measures() -> dict[str, CatalogueMeasure]:
    """The DfE measures (dbt seed): a local file giving one of these codes needs no label or
    polarity, and gets DfE's LA and England figures as comparators."""
    measures: dict[str, CatalogueMeasure] = {}
    with (DBT_PROJECT_DIR / "seeds" / "measure_catalogue.csv").open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            code = (record.get("measure_code") or "").strip()
            if code and code not in measures:
                unit = "percent" if (record.get("unit") or "").strip() == "%" else "average"
                measures[code] = CatalogueMeasure(
                    code,
                    (record.get("measure_name") or "").strip(),
                    unit,
                    (record.get("polarity") or "").strip(),
                    (record.get("decimal_places") or "").strip(),
                )
    return measures


# --- schema files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    unit: str
    polarity: str
    decimal_places: str
    headline: bool
    value_min: str | None
    value_max: str | None
    value_column: str | None
    numerator_column: str | None
    denominator_column: str | None
    cohort_column: str | None
    line: int  # where it is declared in the schema file


@dataclass(frozen=True)
class LocalSchema:
    path: Path
    listed_as: str
    sha256: str
    kind: str
    description: str | None
    phase: str | None
    sheet: str | None
    header_row: int
    include_rows: dict[str, tuple[str, ...]]
    missing_values: tuple[str, ...]
    columns: dict[str, str]  # canonical name -> the file's header as written in the schema
    measures: tuple[Measure, ...] = ()
    grades: dict[str, str] = field(default_factory=dict)  # coding (lower case) -> grade 1-4
    not_judged_values: tuple[str, ...] = DEFAULT_NOT_JUDGED

    def needs_period(self) -> bool:
        return self.kind in (SCHOOL_MEASURES, INSPECTION_OUTCOMES)


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _number(where: str, key: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PipelineInputError(f"{where}: {key} must be a number, got {value!r}")
    return _text(int(value) if float(value).is_integer() else value)


class _LineLoader(SafeLoader):
    """Records the line of every mapping, so a measure's row in raw.local_measures and messages
    about it point at its place in the schema file."""


def _mapping_with_line(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def _line_of(mapping: dict) -> int:
    return mapping.get("__line__", 0) if isinstance(mapping, dict) else 0


def _strip_lines(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    return value


def _unknown_keys(where: str, mapping: dict, allowed: tuple[str, ...], what: str) -> None:
    unknown = sorted(str(k) for k in mapping if k != "__line__" and k not in allowed)
    if unknown:
        raise PipelineInputError(
            f"{where}: unknown key(s) {', '.join(unknown)} in {what} (allowed: {', '.join(allowed)})"
        )


def _string_list(where: str, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
        raise PipelineInputError(f"{where}: {key} must be a list of values, got {_strip_lines(value)!r}")
    return tuple("" if v is None else _text(v) for v in value)


def _header_name(where: str, key: str, value: object) -> str:
    if not isinstance(value, (str, int)) or isinstance(value, bool) or not str(value).strip():
        raise PipelineInputError(f"{where}: {key} must be the file's column header, got {_strip_lines(value)!r}")
    return str(value).strip()


def _read_measure(where: str, item: object, seen: set[str]) -> Measure:
    if not isinstance(item, dict):
        raise PipelineInputError(
            f"{where}: each entry of measures must be a mapping (code:, value_column: ...), got {item!r}"
        )
    line = _line_of(item)
    code = item.get("code")
    at = f"{where} line {line}, measure '{code}'"
    _unknown_keys(at, item, MEASURE_KEYS, "the measure")
    if not isinstance(code, str) or not _CODE.match(code):
        raise PipelineInputError(f"{at}: code must be lower snake case (e.g. ks2_rwm_expected)")
    if code in seen:
        raise PipelineInputError(f"{at}: the code is declared twice in this schema")
    seen.add(code)
    value_column, numerator, denominator = (
        item.get(k) for k in ("value_column", "numerator_column", "denominator_column")
    )
    if value_column is not None and (numerator is not None or denominator is not None):
        raise PipelineInputError(
            f"{at}: give either value_column, or numerator_column and denominator_column, not both"
        )
    if value_column is None and (numerator is None or denominator is None):
        raise PipelineInputError(
            f"{at}: value_column (or numerator_column and denominator_column) is required: which column holds the figure"
        )
    catalogue = catalogue_measures().get(code)
    label, polarity = item.get("label"), item.get("polarity")
    if catalogue is None and (label is None or polarity is None):
        missing = " and ".join(k for k, v in (("label", label), ("polarity", polarity)) if v is None)
        raise PipelineInputError(
            f"{at}: '{code}' is not in dbt_project/seeds/measure_catalogue.csv, so it is a local measure and "
            f"needs {missing} (polarity: high or low, whichever is better)"
        )
    unit = item.get("unit")
    if unit is None:
        # A numerator over a denominator is a percentage by definition (value = n / d x 100).
        unit = "percent" if value_column is None else (catalogue.unit if catalogue else None)
    if unit not in UNITS:
        raise PipelineInputError(f"{at}: unit must be one of {', '.join(UNITS)}, got {unit!r}")
    polarity = polarity if polarity is not None else catalogue.polarity
    if polarity not in POLARITIES:
        raise PipelineInputError(f"{at}: polarity must be high or low (which is better), got {polarity!r}")
    places = item.get("decimal_places")
    if places is None:
        places = catalogue.decimal_places if catalogue and catalogue.decimal_places else 1
    if isinstance(places, bool) or not isinstance(places, (int, str)) or not str(places).isdigit():
        raise PipelineInputError(f"{at}: decimal_places must be a whole number >= 0, got {places!r}")
    headline = item.get("headline", False)
    if not isinstance(headline, bool):
        raise PipelineInputError(f"{at}: headline must be true or false, got {headline!r}")
    low, high = _number(at, "min", item.get("min")), _number(at, "max", item.get("max"))
    if unit == "percent":
        low, high = low if low is not None else "0", high if high is not None else "100"
    if low is not None and high is not None and float(low) >= float(high):
        raise PipelineInputError(f"{at}: min {low} must be below max {high}")
    return Measure(
        code=code,
        label=_text(label) if label is not None else catalogue.label,
        unit=unit,
        polarity=polarity,
        decimal_places=str(places),
        headline=headline,
        value_min=low,
        value_max=high,
        value_column=_header_name(at, "value_column", value_column) if value_column is not None else None,
        numerator_column=_header_name(at, "numerator_column", numerator) if numerator is not None else None,
        denominator_column=_header_name(at, "denominator_column", denominator) if denominator is not None else None,
        cohort_column=_header_name(at, "cohort_column", item["cohort_column"])
        if item.get("cohort_column") is not None
        else None,
        line=line,
    )


def _grade(where: str, coding: object, target: object) -> str:
    text = _text(target).lower()
    if text in GRADE_WORDS.values():
        return text
    if text in GRADE_WORDS:
        return GRADE_WORDS[text]
    raise PipelineInputError(
        f"{where}: grades: '{coding}' maps to {target!r}; a grade is 1-4 or Outstanding, Good, Requires improvement, Inadequate"
    )


def read_schema(path: Path, listed_as: str, dataset: str) -> LocalSchema:
    """Read and check a schema file; every problem names the file (and line) and the key."""
    where = f"{listed_as} (schema of local dataset '{dataset}')"
    document, raw = read_yaml(path, where, _LineLoader)
    if not isinstance(document, dict):
        raise PipelineInputError(f"{where}: expected a mapping with kind:, columns: ...")
    kind = document.get("kind")
    if kind not in KINDS:
        raise PipelineInputError(f"{where}: unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    _unknown_keys(where, document, KIND_KEYS[kind], f"a {kind} schema")

    sheet = document.get("sheet")
    if sheet is not None and (not isinstance(sheet, (str, int)) or isinstance(sheet, bool)):
        raise PipelineInputError(f"{where}: sheet must be the sheet's name, got {sheet!r}")
    header_row = document.get("header_row", 1)
    if isinstance(header_row, bool) or not isinstance(header_row, int) or header_row < 1:
        raise PipelineInputError(f"{where}: header_row must be the header's row number (1 or more), got {header_row!r}")

    include = document.get("include_rows") or {}
    if not isinstance(include, dict):
        raise PipelineInputError(f"{where}: include_rows must map a column to the values to keep, got {include!r}")
    include_rows = {
        _header_name(where, "include_rows", column): _string_list(where, f"include_rows: {column}", _as_list(values))
        for column, values in include.items()
        if column != "__line__"
    }
    missing = document.get("missing_values")
    missing_values = DEFAULT_MISSING_VALUES if missing is None else _string_list(where, "missing_values", missing)

    columns_entry = document.get("columns")
    if not isinstance(columns_entry, dict):
        raise PipelineInputError(f"{where}: columns: is required (canonical name: the file's header)")
    required, optional = KIND_COLUMNS[kind]
    _unknown_keys(where, columns_entry, (*required, *optional), f"columns of a {kind} schema")
    columns = {
        str(k): _header_name(where, f"columns: {k}", v)
        for k, v in columns_entry.items()
        if k != "__line__" and v is not None
    }
    absent = [c for c in required if c not in columns]
    if kind == INSPECTION_OUTCOMES and not ({"la_code", "la_name"} & set(columns)):
        absent.append("la_code or la_name")
    if absent:
        raise PipelineInputError(f"{where}: columns: {', '.join(absent)} required for kind {kind}")

    phase = document.get("phase")
    measures: tuple[Measure, ...] = ()
    if kind == SCHOOL_MEASURES:
        entries = document.get("measures")
        if not isinstance(entries, list) or not entries:
            raise PipelineInputError(f"{where}: measures: is required (a list of code:, value_column: ...)")
        seen: set[str] = set()
        measures = tuple(_read_measure(where, item, seen) for item in entries)
    grades: dict[str, str] = {}
    not_judged = DEFAULT_NOT_JUDGED
    if kind == INSPECTION_OUTCOMES:
        grade_entry = document.get("grades") or {}
        if not isinstance(grade_entry, dict):
            raise PipelineInputError(
                f"{where}: grades must map a coding to a grade (e.g. {{O: 1, G: 2}}), got {grade_entry!r}"
            )
        grades = {_text(k).lower(): _grade(where, k, v) for k, v in grade_entry.items() if k != "__line__"}
        if document.get("not_judged_values") is not None:
            not_judged = _string_list(where, "not_judged_values", document["not_judged_values"])
    description = document.get("description")
    return LocalSchema(
        path=path,
        listed_as=listed_as,
        sha256=hashlib.sha256(raw).hexdigest(),
        kind=kind,
        description=_text(description) if description is not None else None,
        phase=_text(phase) if phase is not None else None,
        sheet=_text(sheet) if sheet is not None else None,
        header_row=header_row,
        include_rows=include_rows,
        missing_values=missing_values,
        columns=columns,
        measures=measures,
        grades=grades,
        not_judged_values=not_judged,
    )


def check_local_datasets(datasets: list[LocalDataset], schemas: dict[str, LocalSchema], sources_file: Path) -> None:
    """Checks across datasets: school-level files are checked against a register, so one must be listed;
    a dataset without a period column needs `period:` on each of its files."""
    registers = [d.name for d in datasets if schemas[d.name].kind == SCHOOL_REGISTER]
    for dataset in datasets:
        schema = schemas[dataset.name]
        if schema.kind == SCHOOL_MEASURES and not registers:
            raise PipelineInputError(
                f"{sources_file}: local dataset '{dataset.name}' holds school-level measures, but no school_register "
                "dataset is listed under local: (add the council's school register: every school-level file is checked "
                "against it)"
            )
        if schema.needs_period() and "period" not in schema.columns:
            for file in dataset.files:
                if file.period is None:
                    what = (
                        "academic year (e.g. 2023/24)"
                        if schema.kind == SCHOOL_MEASURES
                        else "as-at date (e.g. 2024-08-31)"
                    )
                    raise PipelineInputError(
                        f"{sources_file}: local dataset '{dataset.name}', file {file.listed_as}: no period: the schema "
                        f"{schema.listed_as} maps no period column, so give the file's {what} as "
                        f"{{path: {file.listed_as}, period: ...}}"
                    )


# --- periods --------------------------------------------------------------------------------------


def academic_year(text: str) -> str | None:
    """'2023/24', '2023-24', '202324', '2023/2024' -> '202324'; None when it is not one."""
    match = _ACADEMIC_YEAR.match(text.strip())
    if not match:
        return None
    start, end = int(match.group(1)), match.group(2)
    following = start + 1
    if (len(end) == 4 and int(end) != following) or (len(end) == 2 and int(end) != following % 100):
        return None
    return f"{start}{following % 100:02d}"


def term_identifier(text: str) -> str | None:
    """'Autumn', 'autumn term' -> 'Autumn term'; blank or 'Academic year' -> 'Academic year'."""
    text = text.strip()
    if not text or _WHOLE_YEAR.match(text):
        return ACADEMIC_YEAR
    match = _TERM.match(text)
    return f"{match.group(1).capitalize()} term" if match else None


def as_at_date(text: str) -> str | None:
    """'2024-08-31' or '31/08/2024' -> '2024-08-31'; None when it is not a date."""
    text = text.strip()
    iso, uk = _ISO_DATE.match(text), _UK_DATE.match(text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif uk:
        day, month, year = (int(g) for g in uk.groups())
    else:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


# --- reading files --------------------------------------------------------------------------------


@dataclass
class Table:
    """A file's header and data rows, every cell as text as the file shows it."""

    header: list[str]
    rows: list[list[str]]
    row_numbers: list[int]  # CSV: the line; XLSX: the sheet's row
    sheet: str | None
    encoding: str


def _cell_text(value: object, number_format: str | None) -> str:
    """An XLSX cell as Excel shows it: 66 not 66.0, dates as ISO, percent-formatted cells as 66%."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return _text(value) if not isinstance(value, dt.time) else value.isoformat()
    if isinstance(value, (int, float)):
        if number_format and "%" in number_format:
            decimals = len(number_format.split("%")[0].partition(".")[2].rstrip("_)\\ ").replace("#", "0"))
            return f"{value * 100:.{decimals}f}%"
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else format(value, ".15g")
        return str(value)
    return str(value).strip()


def _xlsx_rows(path: Path, source_file: str, sheet: str | None) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    workbook, handle = open_workbook(path, source_file)
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        names = ", ".join(workbook.sheetnames)
        workbook.close()
        handle.close()
        raise PipelineInputError(f"{source_file}: no sheet '{sheet}' (the workbook has: {names})")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, cells in enumerate(worksheet.iter_rows(min_row=1), start=1):
                yield number, [_cell_text(c.value, getattr(c, "number_format", None)) for c in cells]
        finally:
            workbook.close()
            handle.close()

    return worksheet.title, rows()


def _csv_rows(path: Path, source_file: str) -> tuple[str, Iterator[tuple[int, list[str]]]]:
    text, encoding = _decode(path.read_bytes(), source_file)
    reader = csv.reader(io.StringIO(text, newline=""))

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for row in reader:
                yield reader.line_num, [cell.strip() for cell in row]
        except csv.Error as exc:
            raise PipelineInputError(f"{source_file}: line {reader.line_num}: malformed CSV: {exc}") from exc

    return encoding, rows()


def is_xlsx(path: Path) -> bool:
    """Told by content, as DfE files are: a checked private copy has no suffix."""
    return file_format(path) == "xlsx"


def read_table(path: Path, source_file: str, schema: LocalSchema) -> Table:
    """The header (at the schema's header_row) and the non-blank rows below it."""
    if is_xlsx(path):
        sheet, rows = _xlsx_rows(path, source_file, schema.sheet)
        encoding = "xlsx"
    else:
        sheet = None
        encoding, rows = _csv_rows(path, source_file)
    header: list[str] | None = None
    data: list[list[str]] = []
    numbers: list[int] = []
    records = 0
    for number, cells in rows:
        records += 1
        if header is None:
            # CSV lines and sheet rows count alike here: title rows above a header are one line each.
            if records == schema.header_row:
                header = cells
            continue
        if not any(cells):
            continue
        data.append(cells)
        numbers.append(number)
    if header is None:
        place = f"sheet '{sheet}'" if sheet else "the file"
        raise PipelineInputError(
            f"{source_file}: {place} has {records} row(s), so no header at row {schema.header_row} "
            f"(header_row in {schema.listed_as})"
        )
    while header and not header[-1]:
        header.pop()
    return Table(header, data, numbers, sheet, encoding)


# --- parsing a file through its schema ------------------------------------------------------------


@dataclass
class LocalParsedFile:
    dataset: str
    kind: str
    schema: LocalSchema
    parsed: ParsedFile  # for raw.landed_files / raw.file_columns, like a DfE file
    sheet: str | None
    records: list[dict[str, object]]  # rows of the kind's raw table, lineage included

    @property
    def table(self) -> str:
        return KIND_TABLE[self.kind]


class _Locator:
    def __init__(self, source_file: str, sheet: str | None):
        self.source_file, self.sheet = source_file, sheet

    def at(self, number: int) -> str:
        return (
            f"{self.source_file}: sheet '{self.sheet}' row {number}"
            if self.sheet
            else f"{self.source_file}: line {number}"
        )


def _column_index(table: Table, header: str, what: str, schema: LocalSchema, source_file: str) -> int:
    wanted = normalise_header(header)
    matches = [i for i, h in enumerate(table.header) if normalise_header(h) == wanted]
    if len(matches) == 1:
        return matches[0]
    place = f"sheet '{table.sheet}' row {schema.header_row}" if table.sheet else f"line {schema.header_row}"
    if matches:
        raise PipelineInputError(
            f"{source_file}: {place}: {what} '{header}' (from {schema.listed_as}) matches {len(matches)} columns "
            f"({', '.join(str(i + 1) for i in matches)}) once case and spacing are ignored"
        )
    raise PipelineInputError(
        f"{source_file}: {place}: {what} is mapped to '{header}' in {schema.listed_as}, but the file has no such "
        f"column (the file has: {', '.join(h for h in table.header if h) or '(nothing)'})"
    )


def _cell(row: list[str], index: int | None) -> str | None:
    if index is None:
        return None
    return row[index] if index < len(row) else ""


def landed_as(parsed: LocalParsedFile, landed: LandedFile) -> LocalParsedFile:
    """A file parsed from its private copy, recorded as the file that then landed: the landing's
    sequence number (the copy was read under the one it would get) in its lineage."""
    for record in parsed.records:
        record["_landed_seq"] = landed.landed_seq
    return dataclasses.replace(parsed, parsed=dataclasses.replace(parsed.parsed, landed=landed))


def parse_local_file(landed: LandedFile, file: LocalFile, schema: LocalSchema) -> LocalParsedFile:
    """Read a landed local file through its schema into records of the kind's raw table."""
    source_file = file.listed_as
    table = read_table(Path(landed.landed_path), source_file, schema)
    locate = _Locator(source_file, table.sheet)

    def index(header: str, what: str) -> int:
        return _column_index(table, header, what, schema, source_file)

    columns = {name: index(header, f"column '{name}'") for name, header in schema.columns.items()}
    include = {index(header, "include_rows column"): set(values) for header, values in schema.include_rows.items()}
    roles = {i: "unused" for i in range(len(table.header))}
    for name, i in columns.items():
        roles[i] = "time" if name in ("period", "term") else "school"
    for i in include:
        roles[i] = "filter"
    measure_columns = []
    for measure in schema.measures:
        found = {
            key: index(getattr(measure, key), f"{key} of measure '{measure.code}'") if getattr(measure, key) else None
            for key in ("value_column", "numerator_column", "denominator_column", "cohort_column")
        }
        for i in found.values():
            if i is not None:
                roles[i] = "indicator"
        measure_columns.append((measure, found))

    # Rows the schema's include_rows leaves out are not loaded (e.g. DfE's national and LA total rows).
    kept = [
        (number, row)
        for number, row in zip(table.row_numbers, table.rows)
        if all(_cell(row, i) in values for i, values in include.items())
    ]
    if not kept:
        reason = f" once include_rows ({schema.listed_as}) is applied" if include else ""
        raise PipelineInputError(f"{source_file}: no data rows below the header{reason}")
    for number, row in kept:
        if len(row) > len(table.header) and any(row[len(table.header) :]):
            raise PipelineInputError(f"{locate.at(number)}: {len(row)} cells where the header has {len(table.header)}")

    lineage = {
        "_file_sha256": landed.sha256,
        "_source_file": source_file,
        "_landed_seq": landed.landed_seq,
        "_sheet": table.sheet,
    }
    records: list[dict[str, object]] = []
    for number, row in kept:
        base = {"dataset": file.dataset, **lineage, "_row_number": number}
        cell = {name: _cell(row, i) for name, i in columns.items()}
        if schema.kind == SCHOOL_REGISTER:
            records.append(
                {**base, **{c: cell.get(c) for c in ("urn", "school_name", "la_code", "phase", "laestab", "status")}}
            )
            continue
        period_as_written, period = _period(schema, file, cell.get("period"), locate.at(number), columns, table)
        if schema.kind == INSPECTION_OUTCOMES:
            records.append(
                {
                    **base,
                    **{
                        c: cell.get(c)
                        for c in ("urn", "school_name", "la_code", "la_name", "phase", "pupils", "inspection_date")
                    },
                    "overall_effectiveness": _judgement(schema, cell["overall_effectiveness"]),
                    "as_at": period,
                }
            )
            continue
        identifier = ACADEMIC_YEAR
        if "term" in columns:
            identifier = term_identifier(cell["term"] or "")
            if identifier is None:
                raise PipelineInputError(
                    f"{locate.at(number)}: column '{table.header[columns['term']]}': term '{cell['term']}' is not "
                    "Autumn, Spring or Summer (optionally followed by 'term')"
                )
        for measure, found in measure_columns:
            records.append(
                {
                    **base,
                    "urn": cell["urn"],
                    "la_code": cell.get("la_code"),
                    "school_name": cell.get("school_name"),
                    "period_as_written": period_as_written,
                    "time_period": period,
                    "time_identifier": identifier,
                    "measure_code": measure.code,
                    "source_column": (
                        table.header[found["value_column"]]
                        if found["value_column"] is not None
                        else f"{table.header[found['numerator_column']]} / {table.header[found['denominator_column']]}"
                    ),
                    "value": _cell(row, found["value_column"]),
                    "cohort": _cell(row, found["cohort_column"]),
                    "numerator": _cell(row, found["numerator_column"]),
                    "denominator": _cell(row, found["denominator_column"]),
                }
            )
    names: list[str] = []
    for position, header in enumerate(table.header, start=1):
        name = normalise_header(header) or f"column_{position}"
        # Unmapped columns may repeat or be blank (merged title cells); lineage needs unique names.
        names.append(name if name not in names else f"{name}_{position}")
    parsed = ParsedFile(
        landed=landed,
        source_file=source_file,
        release=None,
        columns=names,
        original_names=dict(zip(names, table.header)),
        row_count=len(kept),
        encoding=table.encoding,
        roles={names[i]: role for i, role in roles.items()},
    )
    return LocalParsedFile(file.dataset, schema.kind, schema, parsed, table.sheet, records)


def _period(
    schema: LocalSchema, file: LocalFile, cell: str | None, where: str, columns: dict[str, int], table: Table
) -> tuple[str, str]:
    """(period as written, normalised): from the row's period column, else the file entry's period:."""
    if schema.kind == SCHOOL_MEASURES:
        parse, expected = academic_year, "an academic year (2023/24, 2023-24, 202324 or 2023/2024)"
    else:
        parse, expected = as_at_date, "an as-at date (2024-08-31 or 31/08/2024)"
    if "period" in columns:
        value = parse(cell or "")
        if value is None:
            raise PipelineInputError(f"{where}: column '{table.header[columns['period']]}': '{cell}' is not {expected}")
        if file.period is not None and parse(file.period) != value:
            raise PipelineInputError(
                f"{where}: column '{table.header[columns['period']]}': '{cell}' differs from the period: "
                f"'{file.period}' given for the file in sources.yml"
            )
        return cell or "", value
    value = parse(file.period or "")
    if value is None:
        raise PipelineInputError(
            f"{file.listed_as}: period: '{file.period}' (its sources.yml entry, local dataset '{file.dataset}') is not {expected}"
        )
    return file.period or "", value


def _judgement(schema: LocalSchema, cell: str | None) -> str:
    """Overall effectiveness with the schema's own codings applied: a `grades:` coding becomes its
    grade (1-4) and a `not_judged_values:` entry 'Not judged', so the models need only the README's
    forms; anything else stays as written for the raw gate to name."""
    text = (cell or "").strip()
    if text.lower() in schema.grades:
        return schema.grades[text.lower()]
    if text and text.lower() in {v.lower() for v in schema.not_judged_values}:
        return NOT_JUDGED
    return text


# --- loading --------------------------------------------------------------------------------------


def measure_records(dataset: str, schema: LocalSchema) -> list[dict[str, object]]:
    """raw.local_measures rows; lineage points at the schema file and the measure's line in it."""
    return [
        {
            "dataset": dataset,
            "measure_code": m.code,
            "label": m.label,
            "unit": m.unit,
            "polarity": m.polarity,
            "decimal_places": m.decimal_places,
            "headline": "true" if m.headline else "false",
            "value_min": m.value_min,
            "value_max": m.value_max,
            "phase": schema.phase,
            "value_column": m.value_column,
            "numerator_column": m.numerator_column,
            "denominator_column": m.denominator_column,
            "cohort_column": m.cohort_column,
            "missing_values": json.dumps(list(schema.missing_values)),
            "schema_file": schema.listed_as,
            "schema_sha256": schema.sha256,
            "_file_sha256": schema.sha256,
            "_source_file": schema.listed_as,
            "_row_number": m.line,
            "_landed_seq": None,
            "_sheet": None,
        }
        for m in schema.measures
    ]


def create_local_tables(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the four tables empty: they exist even when no local dataset is listed, because
    the dbt models read them."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    for table, columns in LOCAL_TABLES.items():
        ddl = [f"{c} VARCHAR" for c in columns] + [f"{c} {t}" for c, t in LOCAL_LINEAGE.items()]
        con.execute(f"CREATE OR REPLACE TABLE raw.{table} ({', '.join(ddl)})")


def insert_records(con: duckdb.DuckDBPyConnection, table: str, records: list[dict[str, object]]) -> None:
    if not records:
        return
    columns = [*LOCAL_TABLES[table], *LOCAL_LINEAGE]
    data = {
        c: pa.array([r.get(c) for r in records], pa.int32() if LOCAL_LINEAGE.get(c) == "INTEGER" else pa.string())
        for c in columns
    }
    con.register("_local_incoming", pa.table(data))
    try:
        con.execute(f"INSERT INTO raw.{table} BY NAME SELECT * FROM _local_incoming")
    finally:
        con.unregister("_local_incoming")
