"""Load landed CSV files into DuckDB ``raw.*`` as text, with lineage columns, through DuckDB's
CSV reader (a file is never held in Python: real DfE files run to millions of rows).

Everything stays text here: typing and symbol parsing happen in dbt staging, so the raw tables
show exactly what the file said. Header *form* is normalised (BOM, case, whitespace) because real
DfE files vary in it; header *names* (aliases) are mapped in staging.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import re
import zipfile
from array import array
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest import layouts
from orchestration.lib.ingest.landing import LandedFile
from orchestration.lib.ingest.layouts import ReadAs
from orchestration.lib.rules import ees_cells
from orchestration.lib.rules.catalogue import (
    catalogue_rows,
    filter_alternatives,
    is_carried,
    ratio_columns,
    read_columns,
)
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import DatasetSpec
from orchestration.lib.sql import quote_identifier as _quote

TIME_COLUMNS = ("time_period", "time_identifier")
GEOGRAPHY_COLUMNS = (
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "new_la_code",
    "la_name",
    # further EES geography columns some files carry
    "lad_code",
    "lad_name",
    "pcon_code",
    "pcon_name",
    "opportunity_area_code",
    "opportunity_area_name",
    "ward_code",
    "ward_name",
    "school_urn",
    "school_laestab",
    "school_name",
)
VERSION_COLUMN = "version"
LINEAGE_COLUMNS = {
    "_file_sha256": "VARCHAR",
    "_source_file": "VARCHAR",
    "_row_number": "INTEGER",
    "_release": "VARCHAR",
    "_landed_seq": "INTEGER",
    # EES API sources: the data set and version each row came from (NULL for plain files)
    "_data_set_id": "VARCHAR",
    "_data_set_version": "VARCHAR",
}
# How EES names indicator columns: counts, percentages, averages and rates.
_INDICATOR_NAME = re.compile(r"^(t|pt|avg|num)_|_(percent|percentage|rate|count|average)$")


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.replace("\ufeff", "").strip().lower()).strip("_")


@lru_cache(maxsize=1)
def catalogue_indicator_columns() -> dict[str, tuple[str, ...]]:
    """dataset -> the indicator columns the measure catalogue (dbt seed) reads from it."""
    columns: dict[str, list[str]] = {}
    for record in catalogue_rows():
        dataset = record.get("dataset", "")
        for column in map(normalise_header, read_columns(record)):
            if dataset and column and column not in columns.setdefault(dataset, []):
                columns[dataset].append(column)
    return {dataset: tuple(names) for dataset, names in columns.items()}


@lru_cache(maxsize=1)
def catalogue_filter_columns() -> dict[str, frozenset[str]]:
    """dataset -> the filter columns the measure catalogue's rows name (`breakdown_topic=...`)."""
    columns: dict[str, set[str]] = {}
    for record in catalogue_rows():
        for alternative in filter_alternatives(record.get("filters", "")):
            for name in alternative:
                columns.setdefault(record.get("dataset", ""), set()).add(normalise_header(name))
    return {dataset: frozenset(names) for dataset, names in columns.items()}


def known_indicator_names(spec: DatasetSpec) -> set[str]:
    """The catalogue's indicator columns of ``spec`` and every alias staging maps onto them."""
    names = set(catalogue_indicator_columns().get(spec.name, ()))
    for canonical, aliases in spec.aliases.items():
        names.add(canonical)
        names.update(aliases)
    return names


@dataclass
class ParsedFile:
    """A landed file as the lineage tables record it: its header, how it was read, its rows."""

    landed: LandedFile
    source_file: str
    release: str | None
    columns: list[str]
    original_names: dict[str, str]
    row_count: int
    encoding: str
    roles: dict[str, str] = field(default_factory=dict)
    dropped_rows: int = 0  # rows a layout leaves out (layouts.ReadAs.drop_when)


def _decode(raw: bytes, path_for_messages: str) -> tuple[str, str]:
    """Small files read whole (.meta.csv, the council's own files): UTF-8, else Windows-1252."""
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        # Files re-saved from Excel on Windows arrive as cp1252; names may carry accents but the
        # numbers are ASCII, so reading them as cp1252 loses nothing. Recorded in lineage.
        try:
            return raw.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            line = raw[: exc.start].count(b"\n") + 1
            raise PipelineInputError(
                f"{path_for_messages}: line {line}: not UTF-8 or Windows-1252 text (byte {exc.start})"
            ) from exc


# --- reading a DfE file with DuckDB -------------------------------------------------------------
# A file is read in three passes, none holding it in Python: a byte scan (encoding, line count,
# blank lines, NUL bytes), DuckDB's CSV reader into a temporary table, and an INSERT into raw.*.
# DuckDB numbers records, not lines; the byte scan tells when the two agree (no blank lines, no
# quoted line breaks), and otherwise a streaming csv pass maps each record to its line.

_SCAN_CHUNK = 1 << 22
# What Python's str.strip() removes: cells are trimmed exactly as the ingest always trimmed them.
_WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_BLANK_LINE = re.compile(rb"\n[ \t\r\x0b\x0c]*\n")


@dataclass(frozen=True)
class TextScan:
    encoding: str  # "utf-8", "cp1252", or "xlsx" (a sheet written out as UTF-8 CSV)
    lines: int  # physical lines; a last line without a line break counts
    blank_lines: bool
    readable: Path  # the landed file, or a UTF-8 CSV copy of it in the scratch folder
    # Lines of the original above the CSV's header (an XLSX sheet's title rows): added to every
    # line number so messages and lineage name the row of the sheet as Excel shows it.
    line_offset: int = 0
    sheet: str | None = None


# Formats are told by content, not by name: DfE's downloads arrive as .csv, .csv.gz, .zip and
# .xlsx, and a renamed or re-downloaded file keeps its bytes but not always its suffix.
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


def file_format(path: Path) -> str:
    """'gzip', 'xlsx', 'zip' or 'text', from the file's first bytes."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] == _GZIP_MAGIC:
        return "gzip"
    if head == _ZIP_MAGIC:
        try:
            with zipfile.ZipFile(path) as archive:
                return "xlsx" if "xl/workbook.xml" in archive.namelist() else "zip"
        except zipfile.BadZipFile:
            return "zip"
    return "text"


def _open(path: Path, mode: str = "rb", **kwargs):
    """A landed file, decompressed on the fly when it is gzipped (DuckDB is told so too)."""
    if file_format(path) == "gzip":
        return gzip.open(path, mode if "b" in mode else mode + "t", **kwargs)
    return path.open(mode, **kwargs)


def _line_of(path: Path, offset: int) -> int:
    """1-based line of byte ``offset`` of ``path``."""
    count, done = 1, 0
    with _open(path) as handle:
        while done < offset and (chunk := handle.read(min(_SCAN_CHUNK, offset - done))):
            count += chunk.count(b"\n")
            done += len(chunk)
    return count


def scan_text(path: Path, source_file: str, scratch_dir: Path, spec: DatasetSpec | None = None) -> TextScan:
    """One streaming pass over the bytes: is it UTF-8 (else Windows-1252, then transcoded to a
    UTF-8 copy DuckDB can read; the landed file is never touched), how many lines, any blank.
    An XLSX workbook is first written out as a UTF-8 CSV of its data sheet (see xlsx_to_csv)."""
    kind = file_format(path)
    if kind == "zip":
        raise PipelineInputError(
            f"{source_file}: a ZIP archive, not a data file: list the CSV inside it, or give the archive as a "
            "url: source (its data/*.csv members are taken, or those `members:` names)"
        )
    if kind == "xlsx":
        return xlsx_to_csv(path, source_file, scratch_dir, spec)
    decoder = codecs.getincrementaldecoder("utf-8")()
    newlines, blank, tail, done, failed_at = 0, False, b"", 0, None
    ends_with_newline = True
    with _open(path) as handle:
        while chunk := handle.read(_SCAN_CHUNK):
            if b"\x00" in chunk:
                line = newlines + chunk[: chunk.index(b"\x00")].count(b"\n") + 1
                raise PipelineInputError(f"{source_file}: line {line}: malformed CSV: the file contains a NUL byte")
            if failed_at is None:
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    failed_at = done + exc.start
            newlines += chunk.count(b"\n")
            blank = blank or _BLANK_LINE.search(tail + chunk) is not None
            cut = chunk.rfind(b"\n")
            tail = chunk[cut:] if cut >= 0 else tail + chunk
            ends_with_newline = chunk.endswith(b"\n")
            done += len(chunk)
    if failed_at is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            failed_at = done
    # A whitespace-only last line with no newline after it counts as blank too (the header line
    # cannot be one: it is checked). A file that ends with its newline has no such line: the
    # chunks' search already saw every line between two newlines.
    blank = blank or (newlines > 0 and not ends_with_newline and _BLANK_LINE.search(tail + b"\n") is not None)
    lines = newlines + (0 if ends_with_newline or done == 0 else 1)
    if failed_at is None:
        return TextScan("utf-8", lines, blank, path)
    scratch_dir.mkdir(parents=True, exist_ok=True)
    # unique per file: its landing folder is its sha256, a checked copy's name starts with a uuid
    copy = scratch_dir / f"{path.parent.name}.{path.name}.utf8.csv"
    try:
        with (
            _open(path, "r", encoding="cp1252", newline="") as source,
            copy.open("w", encoding="utf-8", newline="") as target,
        ):
            while text := source.read(_SCAN_CHUNK):
                target.write(text)
    except UnicodeDecodeError:
        copy.unlink(missing_ok=True)
        raise PipelineInputError(
            f"{source_file}: line {_line_of(path, failed_at)}: not UTF-8 or Windows-1252 text (byte {failed_at})"
        ) from None
    return TextScan("cp1252", lines, blank, copy)


# XLSX: EES sheets (tidy data, header on row 1) and DfE's own workbooks (title rows above the
# header, e.g. the statistical neighbour model). The data sheet is written out as a UTF-8 CSV in
# the scratch folder and read like any other file; the landed workbook is never touched.
_XLSX_HEADER_SEARCH_ROWS = 30


def _xlsx_cell(value) -> str:
    """A cell as DfE typed it: whole numbers without a decimal point, others in full."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".15g")
    return str(value).strip()


def _is_header(cells: list[str], spec: DatasetSpec | None) -> bool:
    names = {normalise_header(c) for c in cells if c}
    if spec is not None and spec.required_columns:
        return all(spec.has_column(names, column) for column in spec.required_columns)
    return {"time_period", "geographic_level"} <= names


def open_workbook(path: Path, source_file: str):
    """An XLSX workbook read-only, and the file handle it reads (close both), once what it unzips
    to is within EDU_XLSX_MAX_BYTES, judged from the ZIP's directory before anything is inflated."""
    import openpyxl  # only workbooks need it

    limit = load_settings().xlsx_max_bytes
    try:
        with zipfile.ZipFile(path) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise PipelineInputError(f"{source_file}: not a readable XLSX workbook: {exc}") from None
    if inflated > limit:
        raise PipelineInputError(
            f"{source_file}: the workbook unzips to {inflated:,} bytes, more than EDU_XLSX_MAX_BYTES={limit:,}"
        )
    # opened as a file, not by name: openpyxl judges a name by its suffix, and a workbook is told
    # by its content here (a checked copy has no suffix, a download may have the wrong one)
    handle = path.open("rb")
    try:
        return openpyxl.load_workbook(handle, read_only=True, data_only=True), handle
    except Exception as exc:  # openpyxl raises zipfile, KeyError and XML errors for damaged files
        handle.close()
        raise PipelineInputError(f"{source_file}: not a readable XLSX workbook: {exc}") from exc


def xlsx_to_csv(path: Path, source_file: str, scratch_dir: Path, spec: DatasetSpec | None) -> TextScan:
    """The first sheet whose header row (within its first rows) names the dataset's required
    columns, as a UTF-8 CSV from that header down; rows above it are counted in line_offset."""
    workbook, handle = open_workbook(path, source_file)
    sheets = workbook.sheetnames
    try:
        for worksheet in workbook.worksheets:
            head = [
                [_xlsx_cell(v) for v in row]
                for row in worksheet.iter_rows(max_row=_XLSX_HEADER_SEARCH_ROWS, values_only=True)
            ]
            header_at = next((i for i, cells in enumerate(head) if _is_header(cells, spec)), None)
            if header_at is None:
                continue
            width = max((i + 1 for i, c in enumerate(head[header_at]) if c), default=0)
            scratch_dir.mkdir(parents=True, exist_ok=True)
            # one copy per dataset: the same workbook may be listed under two datasets, each its own sheet
            copy = scratch_dir / f"{path.parent.name}.{path.name}.{spec.name if spec else 'file'}.xlsx.csv"
            lines, blank = 0, False
            with copy.open("w", encoding="utf-8", newline="") as target:
                writer = csv.writer(target, lineterminator="\n")
                for row in worksheet.iter_rows(min_row=header_at + 1, values_only=True):
                    cells = [_xlsx_cell(v) for v in row[:width]]
                    cells += [""] * (width - len(cells))
                    filled = [c for c in cells if c]
                    if len(filled) == 1 and filled[0].endswith(":"):
                        # a caption between two blocks of a workbook ("Old SNs:"), not a data row:
                        # written blank, so the loader drops it and the lines below keep their numbers
                        cells = [""] * width
                    blank = blank or not any(cells)
                    writer.writerow(cells)
                    lines += 1
            return TextScan("xlsx", lines, blank, copy, line_offset=header_at, sheet=worksheet.title)
    finally:
        workbook.close()
        handle.close()
    wanted = ", ".join(spec.required_columns) if spec is not None else "time_period, geographic_level"
    raise PipelineInputError(
        f"{source_file}: none of its {len(sheets)} sheet(s) has a header row naming {wanted} in its first "
        f"{_XLSX_HEADER_SEARCH_ROWS} rows"
    )


def canonical_columns(columns: list[str], spec: DatasetSpec) -> list[str]:
    """DfE files other than tidy EES files (the neighbour model) are renamed to the dataset's
    canonical names here, as their staging model reads them: the first alias present takes the
    name; a repeated name the spec lists is named from the column before it."""
    renamed = list(columns)
    for canonical, aliases in spec.aliases.items():
        if canonical in renamed:
            continue
        position = next((i for i, name in enumerate(renamed) if name in aliases), None)
        if position is not None:
            renamed[position] = canonical
    for position, name in enumerate(renamed):
        if name in spec.repeated_columns and position > 0:
            renamed[position] = spec.repeated_columns[name].format(previous=renamed[position - 1])
    return renamed


def read_header(scan: TextScan, source_file: str, spec: DatasetSpec) -> tuple[list[str], list[str], ReadAs]:
    """(normalised names, names as written, how the file's columns are read: lib/ingest/layouts.py)
    of the header row, checked."""
    with _open(scan.readable, "r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader)
        except StopIteration:
            raise PipelineInputError(f"{source_file}: the file is empty (no header row)") from None
        except csv.Error as exc:
            raise PipelineInputError(f"{source_file}: line {reader.line_num}: malformed CSV: {exc}") from exc
        if reader.line_num != 1:
            raise PipelineInputError(
                f"{source_file}: the header row runs over {reader.line_num} lines (a quoted line break)"
            )
    # before any check that compares names (a header of a million names would take hours)
    limit = load_settings().max_columns
    if len(header) > limit:
        raise PipelineInputError(
            f"{source_file}: the header has {len(header):,} columns, more than EDU_MAX_COLUMNS={limit:,}"
        )
    columns = [normalise_header(h) for h in header]
    for position, name in enumerate(columns, start=1):
        if not name:
            raise PipelineInputError(f"{source_file}: header column {position} is blank")
    if spec.kind == "other":
        columns = canonical_columns(columns, spec)
    duplicated = sorted(name for name, count in Counter(columns).items() if count > 1)
    if duplicated:
        raise PipelineInputError(
            f"{source_file}: header names repeat after normalising case and spaces: {', '.join(duplicated)}"
        )
    read = layouts.read_as(columns, header, spec, GEOGRAPHY_COLUMNS, known_indicator_names(spec), source_file)
    present = set(read.columns)
    missing = [c for c in spec.required_columns if not spec.has_column(present, c)]
    if missing:
        # The file's own names are not repeated: a refused file's contents are never printed (its
        # first line could be anything, a password included).
        raise PipelineInputError(
            f"{source_file}: required column(s) missing: {', '.join(missing)} "
            f"(dataset '{spec.name}'; the file's header row has {len(columns):,} other column(s))"
        )
    return columns, header, read


def _fields_on_line(scan: TextScan, line_offset: int) -> int:
    with _open(scan.readable) as handle:
        handle.seek(line_offset)
        first = handle.readline().decode("utf-8", errors="replace")
    return len(next(csv.reader([first]), []))


def _record_lines(scan: TextScan, width: int) -> pa.Array:
    """The line each record DuckDB emits ends on (as csv.reader counts), for files where records
    and lines differ. DuckDB skips blank lines and rejects whitespace-only short lines; so does this."""
    lines = array("i")
    with _open(scan.readable, "r", encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            if not row or (len(row) != width and all(not cell.strip() for cell in row)):
                continue
            lines.append(reader.line_num)
    return pa.array(lines, pa.int32())


def _read_records(con: duckdb.DuckDBPyConnection, scan: TextScan, source_file: str, width: int) -> int:
    """DuckDB's CSV reader: the file's records into temp table _file (c0..cN, _record)."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    for table in ("_rejects", "_reject_scans"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _file AS
            SELECT row_number() OVER () AS _record, *
            FROM read_csv(?, header = false, skip = 1, columns = {columns}, auto_detect = false,
                          compression = '{"gzip" if file_format(scan.readable) == "gzip" else "none"}',
                          delim = ',', quote = '"', escape = '"', store_rejects = true,
                          rejects_table = '_rejects', rejects_scan = '_reject_scans')""",
        [str(scan.readable)],
    )
    rejects = con.execute(
        "SELECT line_byte_position, error_type, csv_line FROM _rejects ORDER BY line_byte_position"
    ).fetchall()
    for offset, error_type, text in rejects:
        if (text or "").strip():
            line = _line_of(scan.readable, offset) + scan.line_offset
            if error_type in ("MISSING COLUMNS", "TOO MANY COLUMNS"):
                found = _fields_on_line(scan, offset)
                raise PipelineInputError(f"{source_file}: line {line}: {found} fields where the header has {width}")
            raise PipelineInputError(f"{source_file}: line {line}: malformed CSV: {error_type.lower()}")
    return con.execute("SELECT count(*) FROM _file").fetchall()[0][0]


def parse_csv(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    landed: LandedFile,
    source_file: str,
    release: str | None,
    spec: DatasetSpec,
    scan: TextScan,
    columns: list[str],
    read: ReadAs,
) -> ParsedFile:
    """Read one landed file into ``raw.<dataset>`` (which must have the columns it is ``read``
    as: read_header), trimmed, blank rows dropped, each row with its file line and lineage."""
    records = _read_records(con, scan, source_file, len(columns))
    if scan.blank_lines or records != scan.lines - 1:
        con.register(
            "_lines",
            pa.table(
                {"_record": pa.array(range(1, records + 1), pa.int64()), "_line": _record_lines(scan, len(columns))}
            ),
        )
        line, join = f"(_lines._line + {int(scan.line_offset)})::INTEGER", "JOIN _lines USING (_record)"
    else:
        line, join = f"(_record + 1 + {int(scan.line_offset)})::INTEGER", ""
    cells = [f"_clean(c{i})" for i in range(len(columns))]
    cell_of = dict(zip(columns, cells))
    select = ", ".join(
        f"CAST({layouts.render(column, cell_of)} AS VARCHAR) AS {_quote(name)}" for name, column in read.columns.items()
    )
    blank = " AND ".join(f"{cell} = ''" for cell in cells)
    drop = f"coalesce({layouts.render(read.drop_when, cell_of)}, false)" if read.drop_when else None
    dropped = 0
    if drop:
        (dropped,) = con.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM _file WHERE NOT ({blank}) QUALIFY {drop})",
            list(read.drop_when.params),
        ).fetchone()
    try:
        inserted = con.execute(
            f"""INSERT INTO raw.{_quote(dataset)} BY NAME
                SELECT {select}, ?::VARCHAR AS _file_sha256, ?::VARCHAR AS _source_file, {line} AS _row_number,
                    ?::VARCHAR AS _release, ?::INTEGER AS _landed_seq, ?::VARCHAR AS _data_set_id,
                    ?::VARCHAR AS _data_set_version
                FROM _file {join} WHERE NOT ({blank}){f" QUALIFY NOT {drop}" if drop else ""}""",
            [
                *(param for column in read.columns.values() for param in column.params),
                landed.sha256,
                source_file,
                release,
                landed.landed_seq,
                landed.data_set_id,
                landed.data_set_version,
                *(read.drop_when.params if read.drop_when else ()),
            ],
        ).fetchall()[0][0]
    finally:
        if join:
            con.unregister("_lines")
        con.execute("DROP TABLE _file")
    if not inserted:
        raise PipelineInputError(f"{source_file}: the file has a header but no data rows")
    parsed = ParsedFile(
        landed=landed,
        source_file=source_file,
        release=release,
        columns=list(read.columns),
        # a column worked out rather than read has no name in the file: lineage shows it blank
        original_names={name: column.original for name, column in read.columns.items()},
        row_count=inserted,
        encoding=scan.encoding,
        dropped_rows=dropped,
    )
    parsed.roles = classify_columns(con, dataset, parsed, spec)
    return parsed


def check_indicator_columns(columns: list[str], spec: DatasetSpec, source_file: str) -> None:
    """A file of a known dataset must have at least one indicator column the catalogue reads (or
    an alias of one, or the totals it is worked out from): otherwise it adds no rows to any
    measure, silently. The usual cause is DfE renaming a column; the fix is an alias in
    dbt_project.yml. Judged on the header, before the file lands."""
    records = [r for r in catalogue_rows() if r.get("dataset") == spec.name]
    if spec.kind != "ees" or not records:
        return
    present = set(columns)
    if any(is_carried(record, lambda column: spec.has_column(present, column)) for record in records):
        return
    expected = list(dict.fromkeys(record["indicator_column"].lower() for record in records))
    totals = list(dict.fromkeys(" and ".join(ratio) for ratio in map(ratio_columns, records) if ratio))
    described = ", ".join(
        column + (f" (or {', '.join(spec.aliases[column])})" if spec.aliases.get(column) else "") for column in expected
    )
    others = [c for c in columns if c not in (*TIME_COLUMNS, *GEOGRAPHY_COLUMNS, VERSION_COLUMN)]
    # the file's own names are not repeated: a refused file's contents are never printed
    raise PipelineInputError(
        f"{source_file}: none of the {spec.name} indicator columns the measure catalogue reads is in the file, "
        f"so it would add nothing: expected {described}"
        + (f", or the totals they are worked out from ({'; '.join(totals)})" if totals else "")
        + f"; the file has {len(others):,} other column(s) besides the standard EES ones. "
        f"If DfE renamed a column, add the new name to its "
        f"aliases in dbt_project/dbt_project.yml (vars: ees_datasets: {spec.name}: aliases)"
    )


def _meta_roles(landed: LandedFile) -> dict[str, str]:
    if not landed.meta_landed_path:
        return {}
    text, _ = _decode(Path(landed.meta_landed_path).read_bytes(), landed.meta_landed_path)
    roles = {}
    for record in csv.DictReader(io.StringIO(text, newline="")):
        record = {normalise_header(k or ""): (v or "").strip() for k, v in record.items()}
        name, kind = normalise_header(record.get("col_name", "")), record.get("col_type", "").lower()
        if name and kind in ("filter", "indicator"):
            roles[name] = kind
    return roles


def classify_columns(
    con: duckdb.DuckDBPyConnection, dataset: str, parsed: ParsedFile, spec: DatasetSpec
) -> dict[str, str]:
    """Role of each column: the file's .meta.csv says which are filters and which indicators;
    without one, a column whose values are all numbers or EES symbols is an indicator."""
    meta = _meta_roles(parsed.landed)
    # A catalogue indicator is an indicator even when a cell holds junk: read as a filter, its
    # rows would silently drop out of every measure instead of failing the raw gate.
    indicators = known_indicator_names(spec) if spec.kind == "ees" else set()
    roles: dict[str, str] = {}
    undecided: list[str] = []
    for column in parsed.columns:
        if spec.kind != "ees":
            roles[column] = "other"
        elif column in TIME_COLUMNS:
            roles[column] = "time"
        elif column in GEOGRAPHY_COLUMNS:
            roles[column] = "geography"
        elif column == VERSION_COLUMN:
            roles[column] = "version"
        elif column in spec.text_columns:
            # a grade beside its points (aps_per_entry_grade = 'B-'): read as a filter, it would
            # leave the file with no headline row; no measure reads it
            roles[column] = "text"
        elif column in meta:
            roles[column] = meta[column]
        elif column in indicators:
            roles[column] = "indicator"
        else:
            undecided.append(column)
    if undecided:
        # How many of the file's cells in each column are a number, a symbol or empty: one scan.
        pattern = ees_cells.number_pattern()
        symbols = sorted(ees_cells.symbols())
        counts = con.execute(
            "SELECT count(*), "
            + ", ".join(
                f"count(*) FILTER (WHERE {_quote(c)} = '' OR lower({_quote(c)}) IN (SELECT unnest(?::VARCHAR[])) "
                f"OR regexp_full_match(replace({_quote(c)}, ',', ''), ?))"
                for c in undecided
            )
            + f" FROM raw.{_quote(dataset)} WHERE _file_sha256 = ?",
            [value for _ in undecided for value in (symbols, pattern)] + [parsed.landed.sha256],
        ).fetchall()[0]
        total = counts[0]
        for column, numeric in zip(undecided, counts[1:]):
            # An indicator-named column (t_*, pt_*, avg_*, *_percent, *_rate) that is mostly numbers
            # stays an indicator when a few cells hold junk, so the raw gate names those cells;
            # read as a filter it would silently drop every row of the file from every measure.
            looks_numeric = numeric == total or (_INDICATOR_NAME.search(column) and numeric * 2 >= total)
            roles[column] = "indicator" if looks_numeric else "filter"
    return {column: roles[column] for column in parsed.columns}


def create_raw_table(con: duckdb.DuckDBPyConnection, dataset: str, columns: list[str]) -> None:
    """(Re)create ``raw.<dataset>``: every column any of its files has, as text, plus lineage."""
    columns = columns or [*TIME_COLUMNS, "geographic_level"]
    ddl = [f"{_quote(c)} VARCHAR" for c in columns] + [f"{c} {t}" for c, t in LINEAGE_COLUMNS.items()]
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(f"CREATE OR REPLACE TABLE raw.{_quote(dataset)} ({', '.join(ddl)})")
    # Trimmed as str.strip() trims; an empty cell is '' (a column a file lacks stays NULL). Trimming
    # with a character list is slow, so only cells that start or end outside printable ASCII pay it.
    whitespace = _WHITESPACE.replace("'", "''")
    con.execute(
        f"""CREATE OR REPLACE TEMP MACRO _clean(cell) AS coalesce(
                CASE WHEN ascii(cell) BETWEEN 33 AND 126 AND ascii(right(cell, 1)) BETWEEN 33 AND 126 THEN cell
                     ELSE trim(cell, '{whitespace}') END, '')"""
    )


def write_file_tables(con: duckdb.DuckDBPyConnection, dataset: str, files: list[ParsedFile]) -> None:
    """Per-file lineage tables: which files landed and the role of each of their columns."""
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.landed_files (
            dataset VARCHAR, file_sha256 VARCHAR, source_file VARCHAR, landed_path VARCHAR,
            size_bytes BIGINT, release VARCHAR, landed_seq INTEGER, landed_at VARCHAR,
            encoding VARCHAR, row_count INTEGER, meta_sha256 VARCHAR)"""
    )
    for column in ("data_set_id", "data_set_version", "origin_url"):  # build databases made before them
        con.execute(f"ALTER TABLE raw.landed_files ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    con.execute(
        """CREATE TABLE IF NOT EXISTS raw.file_columns (
            dataset VARCHAR, file_sha256 VARCHAR, column_name VARCHAR, original_name VARCHAR, role VARCHAR)"""
    )
    con.execute("DELETE FROM raw.landed_files WHERE dataset = ?", [dataset])
    con.execute("DELETE FROM raw.file_columns WHERE dataset = ?", [dataset])
    for parsed in files:
        landed = parsed.landed
        con.execute(
            "INSERT INTO raw.landed_files (dataset, file_sha256, source_file, landed_path, size_bytes, release, "
            "landed_seq, landed_at, encoding, row_count, meta_sha256, data_set_id, data_set_version, origin_url) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                dataset,
                landed.sha256,
                parsed.source_file,
                landed.landed_path,
                landed.size_bytes,
                parsed.release,
                landed.landed_seq,
                landed.landed_at,
                parsed.encoding,
                parsed.row_count,
                landed.meta_sha256,
                landed.data_set_id,
                landed.data_set_version,
                landed.origin_url,
            ],
        )
        con.executemany(
            "INSERT INTO raw.file_columns VALUES (?, ?, ?, ?, ?)",
            [[dataset, landed.sha256, c, parsed.original_names[c], parsed.roles[c]] for c in parsed.columns]
            # Recorded so staging, which treats unlisted columns by heuristic, never reads them as data.
            + [[dataset, landed.sha256, c, c, "lineage"] for c in ("_data_set_id", "_data_set_version")],
        )
