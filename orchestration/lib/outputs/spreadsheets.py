"""Excel-ready exports of the publication: a CSV per table and one XLSX workbook.

Many council analysts work in Excel, which reads these as they expect:

- **CSV** in UTF-8 with a byte-order mark (without it Excel reads UTF-8 as Windows-1252 and
  garbles names such as "Bournemouth, Christchurch and Poole" typed with any non-ASCII character).
  A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return) and is
  not a plain number gets a leading ``'``: Excel would otherwise run it as a formula (CSV
  injection). Numbers stay numbers.
- **XLSX**: a sheet per published table except :data:`CSV_ONLY` (a table longer than a sheet's
  1,048,576 rows continues on "name (2)", ...) after a "read me" sheet with the publication and
  every column's type and description. Numbers are numeric cells; text cells are always stored
  as text, so a value beginning with ``=`` is shown, never evaluated, and never cut short.

In both, list columns (statistical_neighbours, ...) are plain text joined with "; ", and a
withheld value is a blank cell with its ``value_status`` beside it, as in the marts.
"""

from __future__ import annotations

import itertools
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.lib.outputs import sheet_xml
from orchestration.lib.rules import ees_cells
from orchestration.lib.sql import quote_identifier, sql_literal

CSV_BOM = b"\xef\xbb\xbf"
LIST_SEPARATOR = sheet_xml.LIST_SEPARATOR  # lists read the same in the CSV and the workbook
WORKBOOK_NAME = "education.xlsx"
README_SHEET = "read me"
XLSX_MAX_ROWS = 1_048_576  # Excel's limit per sheet, header included
XLSX_SHEET_NAME_MAX = 31
XLSX_MAX_CELL_CHARS = sheet_xml.MAX_CELL_CHARS
# Tables only in CSV (and Parquet): the long fact table's figures are in the phase sheets
# (mart_key_stage_2, ...) in wide form, and Excel takes minutes over its millions of cells;
# the audit's JSON cells are longer than an Excel cell holds.
CSV_ONLY = {
    "marts.fct_la_measure": "its figures are on the phase sheets (mart_*) in wide form; the long table is "
    "marts.fct_la_measure.csv",
    "audit.publications": "its JSON cells are longer than an Excel cell holds; see audit.publications.csv",
}
# What Excel starts a formula with (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [schema, table],
    ).fetchall()


def _is_list(data_type: str) -> bool:
    return data_type.endswith("[]")


def _csv_select(columns: list[tuple[str, str]], schema: str, table: str) -> str:
    """SELECT of the table as a CSV shows it: lists as text, formula-like text defused. The
    number pattern is the EES one (vars.ees_cells), passed as parameter $1."""
    expressions = []
    for name, data_type in columns:
        column = quote_identifier(name)
        if _is_list(data_type):
            column = f"array_to_string({column}, {sql_literal(LIST_SEPARATOR)})"
        elif data_type != "VARCHAR":
            expressions.append(column)
            continue
        starts = " OR ".join(f"starts_with({column}, {sql_literal(start)})" for start in FORMULA_STARTS)
        expressions.append(
            f"CASE WHEN ({starts}) AND NOT regexp_full_match(trim({column}), $1) "
            f"THEN '''' || {column} ELSE {column} END AS {quote_identifier(name)}"
        )
    # ORDER BY ALL: the same publication gives the same file
    return f"SELECT {', '.join(expressions)} FROM {quote_identifier(schema)}.{quote_identifier(table)} ORDER BY ALL"


def write_csv(con: duckdb.DuckDBPyConnection, schema: str, table: str, path: Path) -> int:
    """``schema.table`` as an Excel-ready CSV at ``path``; the number of data rows."""
    body = path.with_name(path.name + ".body")
    sql = _csv_select(_columns(con, schema, table), schema, table)
    # COPY takes no parameters in its query: the pattern goes in through a prepared view of it.
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _csv_export AS {sql.replace('$1', sql_literal(ees_cells.number_pattern()))}"
    )
    try:
        con.execute(f"COPY _csv_export TO {sql_literal(str(body))} (FORMAT csv, HEADER true)").fetchall()
    finally:
        con.execute("DROP VIEW IF EXISTS _csv_export")
    try:
        with path.open("wb") as out, body.open("rb") as data:
            out.write(CSV_BOM)
            while chunk := data.read(1 << 20):
                out.write(chunk)
    finally:
        body.unlink(missing_ok=True)
    return con.execute(f"SELECT count(*) FROM {quote_identifier(schema)}.{quote_identifier(table)}").fetchall()[0][0]


def _sheet_names(table: str, rows: int, taken: set[str]) -> list[str]:
    """One name per sheet the table needs (Excel: at most 31 characters, unique ignoring case)."""
    sheets = max(1, -(-rows // (XLSX_MAX_ROWS - 1)))
    names = []
    for part in range(1, sheets + 1):
        suffix = "" if part == 1 else f" ({part})"
        base = table[: XLSX_SHEET_NAME_MAX - len(suffix)] + suffix
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            tail = f"~{n}"
            name = base[: XLSX_SHEET_NAME_MAX - len(tail)] + tail
        taken.add(name.lower())
        names.append(name)
    return names


def _checked_text(text: str) -> str:
    # Excel truncates a longer cell silently: a value is never shown cut short.
    if (length := len(text.encode("utf-16-le")) // 2) > XLSX_MAX_CELL_CHARS:  # Excel counts UTF-16 units
        raise ValueError(f"a text of {length:,} characters (as Excel counts them) is longer than an Excel cell holds")
    return text


def new_workbook(path: Path):
    """An XlsxWriter workbook at ``path`` in constant-memory mode (inline strings, rows written in
    order) that never turns text into a formula, link or number, and its cell formats."""
    import xlsxwriter

    options = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    workbook = xlsxwriter.Workbook(str(path), {**options, "strings_to_numbers": False})
    formats = {
        "bold": workbook.add_format({"bold": True}),
        "time": workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
        "date": workbook.add_format({"num_format": "yyyy-mm-dd"}),
        "wrap": workbook.add_format({"text_wrap": True, "valign": "top"}),
    }
    return workbook, formats


def sheets_of(dictionary: dict) -> dict[str, list[str]]:
    """Each table the workbook holds (not :data:`CSV_ONLY`) -> its sheets' names."""
    taken = {README_SHEET}
    return {
        entry["table"]: _sheet_names(entry["table"].split(".", 1)[1], entry["rows"], taken)
        for entry in dictionary["tables"]
        if entry["table"] not in CSV_ONLY
    }


def write_workbook(con: duckdb.DuckDBPyConnection, dictionary: dict, path: Path) -> dict[str, list[str]]:
    """One workbook of the tables in ``dictionary`` (the export's data dictionary) that it holds
    (not :data:`CSV_ONLY`), after a read-me sheet; table -> the sheets it went to.

    XlsxWriter lays the workbook out (the read-me sheet, each sheet's header row, the styles) in a
    file beside ``path``. The package is then copied to ``path`` with each table sheet's data
    rows, which DuckDB writes as XML (:mod:`.sheet_xml`), after its header row."""
    layout = path.with_name(path.name + ".layout")
    workbook, formats = new_workbook(layout)
    placed = sheets_of(dictionary)
    parts: dict[str, _SheetPart] = {}  # the package's file of each table sheet -> what goes in it
    try:
        try:
            _write_readme(workbook.add_worksheet(README_SHEET), dictionary, placed, formats)
            for entry in dictionary["tables"]:
                if entry["table"] in placed:
                    try:
                        parts.update(_lay_out_table(workbook, con, entry, placed[entry["table"]], formats))
                    except sheet_xml.CellProblem as exc:
                        raise ValueError(f"{path.name}: {entry['table']}: {exc}") from exc
        finally:
            workbook.close()
        _fill_sheets(con, layout, path, parts)
    finally:
        layout.unlink(missing_ok=True)
    return placed


class _TableRows:
    """A table's rows as sheet XML, from one query (sheet_xml.sheet_rows), handed out sheet by
    sheet: each sheet takes the rows up to its last."""

    def __init__(self, relation: str, columns: list[tuple[str, str]], styles: dict[str, int]):
        self.relation, self.columns, self.styles = relation, columns, styles
        self._rows: Iterator[tuple[int, str]] | None = None
        self._next: tuple[int, str] | None = None

    def until(self, con: duckdb.DuckDBPyConnection, last: int) -> Iterator[str]:
        if self._rows is None:
            self._rows = sheet_xml.sheet_rows(con, self.relation, self.columns, XLSX_MAX_ROWS - 1, self.styles)
        if self._next is not None:
            if self._next[0] > last:
                return
            yield self._next[1]
            self._next = None
        for number, row in self._rows:
            if number > last:
                self._next = (number, row)
                return
            yield row


@dataclass(frozen=True)
class _SheetPart:
    rows: _TableRows
    last: int  # the last row of the table on this sheet (1-based, in ORDER BY ALL order)
    used_rows: int  # the sheet's rows with a value, its header included


def _lay_out_table(
    workbook, con: duckdb.DuckDBPyConnection, entry: dict, sheets: list[str], formats: dict
) -> dict[str, _SheetPart]:
    """The table's sheets with their header row; the package file of each -> the rows it gets."""
    schema, table = entry["table"].split(".", 1)
    columns = _columns(con, schema, table)
    relation = f"{quote_identifier(schema)}.{quote_identifier(table)}"
    cells = sheet_xml.check_cells(con, relation, columns)
    if cells.rows != entry["rows"]:  # the sheets were counted from the row count: nothing may be left out
        raise RuntimeError(f"{entry['table']} changed while it was exported")
    # The date and time formats get their index in the workbook's styles now (XlsxWriter gives one
    # on a format's first use; these rows are not written through it): only one a cell will use.
    styles = {kind: formats[kind]._get_xf_index() for kind in cells.dated}
    rows = _TableRows(relation, columns, styles)
    parts = {}
    per_sheet = XLSX_MAX_ROWS - 1
    for part, name in enumerate(sheets):
        sheet = workbook.add_worksheet(name)
        for col, (column, _) in enumerate(columns):
            sheet.write_string(0, col, column, formats["bold"])
        sheet.freeze_panes(1, 0)
        first, last = part * per_sheet + 1, min(cells.rows, (part + 1) * per_sheet)
        # XlsxWriter names the package's sheet files in the order the sheets are added
        parts[f"xl/worksheets/sheet{len(workbook.worksheets())}.xml"] = _SheetPart(
            rows, last, 1 + max(0, min(last, cells.last_written) - first + 1)
        )
    return parts


_DIMENSION = re.compile(r'<dimension ref="([A-Z]+)1(?::([A-Z]+)1)?"/>')
_SHEET_DATA_END = "</sheetData>"


def _around_rows(name: str, laid_out: str, used_rows: int) -> tuple[str, str]:
    """The sheet's XML before and after where its rows go (the end of sheetData), the range it
    uses stated as XlsxWriter states it: the header's columns, down to the last row with a value."""
    end = laid_out.rfind(_SHEET_DATA_END)
    found = _DIMENSION.search(laid_out, 0, max(end, 0))
    if end < 0 or found is None:
        raise RuntimeError(f"{name}: XlsxWriter laid the sheet out in a way this writer does not know")
    head, tail = laid_out[:end], laid_out[end:]
    if used_rows == 1:
        return head, tail
    used = f'<dimension ref="A1:{found.group(2) or found.group(1)}{used_rows}"/>'
    return head[: found.start()] + used + head[found.end() :], tail


def _fill_sheets(con: duckdb.DuckDBPyConnection, layout: Path, path: Path, parts: dict[str, _SheetPart]) -> None:
    """Copy the package at ``layout`` to ``path``, each table sheet with its rows after the header."""
    with zipfile.ZipFile(layout) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as out:
        for info in source.infolist():
            part = parts.pop(info.filename, None)
            if part is None:
                out.writestr(info, source.read(info))
                continue
            head, tail = _around_rows(info.filename, source.read(info).decode("utf-8"), part.used_rows)
            entry = zipfile.ZipInfo(info.filename, info.date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            with out.open(entry, "w", force_zip64=True) as sheet:
                sheet.write(head.encode("utf-8"))
                rows = part.rows.until(con, part.last)
                while chunk := "".join(itertools.islice(rows, 1024)):
                    sheet.write(chunk.encode("utf-8"))
                sheet.write(tail.encode("utf-8"))
    if parts:
        raise RuntimeError(f"the workbook has no sheet file {sorted(parts)[0]}: XlsxWriter named its sheets otherwise")


def _write_readme(sheet, dictionary: dict, placed: dict[str, list[str]], formats: dict) -> None:
    bold = formats["bold"]
    publication = dictionary.get("publication") or {}
    row = 0
    for label in ("publication_id", "published_at", "code_version"):
        sheet.write_string(row, 0, label, bold)
        sheet.write_string(row, 1, str(publication.get(label) or ""))
        row += 1
    row += 1
    for table, why in CSV_ONLY.items():
        sheet.write_string(row, 0, f"{table} is not in this workbook: {why}")
        row += 1
    row += 1
    headers = ("table", "sheets", "column", "type", "description", "table grain")
    for col, header in enumerate(headers):
        sheet.write_string(row, col, header, bold)
    sheet.set_column(0, 3, 24)
    sheet.set_column(4, 4, 80, formats["wrap"])
    sheet.set_column(5, 5, 40)
    for entry in dictionary["tables"]:
        for column in entry["columns"]:
            row += 1
            cells = (
                entry["table"],
                ", ".join(placed.get(entry["table"], [])) or f"{entry['table']}.csv",
                column["name"],
                column["type"],
                column["description"] or "",
                entry.get("grain") or "",
            )
            for col, text in enumerate(cells):
                sheet.write_string(row, col, _checked_text(str(text)))
