"""A table's worksheet rows as XLSX XML, built by DuckDB in SQL.

The workbook (:mod:`.spreadsheets`) is laid out by XlsxWriter: the read-me sheet, each table
sheet's header row, styles, and the package. The data rows are the bulk of it (1.6 million
cells on the sample). Writing them cell by cell through XlsxWriter took 7.8 s of Python. Here
DuckDB builds each row's XML, in parallel and outside Python, and the rows are streamed into the
sheet. The XML is what XlsxWriter writes in its ``constant_memory`` mode, character for
character (tests/test_spreadsheets.py checks it against XlsxWriter cell by cell):

- text is an inline string: XML-escaped (``& < >``), control characters as ``_xHHHH_``, a
  literal ``_xHHHH_`` escaped as ``_x005F_xHHHH_``, and ``xml:space="preserve"`` when it begins or
  ends with white space. It is always text: nothing in it becomes a formula or a link;
- numbers are written as ``%.16G`` of the value as a double;
- booleans are ``t="b"``;
- dates and times are Excel serial numbers (the 1900 date system, with Excel's leap day) in the
  workbook's date or time format, times with a zone in UTC (Excel has no time zones);
- a NULL is no cell at all: a withheld value is a blank cell, its status beside it.

Lists are their items joined with "; " (an item that is NULL shows as nothing). Any other type
is written as text, as DuckDB casts it to VARCHAR.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import duckdb

from orchestration.lib.sql import quote_identifier, sql_literal

LIST_SEPARATOR = "; "
MAX_CELL_CHARS = 32_767  # Excel cuts a longer text short without a word: it is refused instead
_ROW = '"__edu_sheet_row"'  # the row's number in ORDER BY ALL order (no published column is named so)
_FETCH_ROWS = 4_096

# What XlsxWriter turns into _xHHHH_ (its re_control_chars_2 and non-characters).
_CONTROL = [*range(0x00, 0x09), *range(0x0B, 0x20), 0xFFFE, 0xFFFF]
_CONTROL_CLASS = "[\\x00-\\x08\\x0b-\\x1f\\x{fffe}\\x{ffff}]"
# Python's str.isspace(), which XlsxWriter's ^\s and \s$ test, less what is escaped above.
_SPACE_CLASS = "[\\t\\n \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}]"
_LITERAL_ESCAPE = "'(_x[0-9a-fA-F]{4}_)'"  # a literal _xHHHH_, which Excel would read as an escape
_PRESERVE = sql_literal("^" + _SPACE_CLASS + "|" + _SPACE_CLASS + "$")  # XlsxWriter: ^\s or \s$


class CellProblem(ValueError):
    """A value no Excel cell can hold as published (a text too long, a NaN or infinity)."""


def column_letter(index: int) -> str:
    """Excel's name of the 0-based column ``index``: A, ..., Z, AA, ..."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def kind_of(data_type: str) -> str:
    """How a column of ``data_type`` is written: text, number, boolean, date or time."""
    if data_type.endswith("]") or data_type in ("VARCHAR", "JSON", "UUID", "BLOB"):
        return "text"
    if data_type == "BOOLEAN":
        return "boolean"
    if data_type.startswith("TIMESTAMP"):
        return "time"
    if data_type == "DATE":
        return "date"
    if data_type.startswith(("DECIMAL", "DOUBLE", "FLOAT", "REAL")) or "INT" in data_type:
        return "number"
    return "text"


def _text(column: str, data_type: str) -> str:
    if data_type.endswith("]"):
        return (
            f"array_to_string(list_transform({column}, lambda item: coalesce(CAST(item AS VARCHAR), '')), "
            f"{sql_literal(LIST_SEPARATOR)})"
        )
    return column if data_type == "VARCHAR" else f"CAST({column} AS VARCHAR)"


def _controls_escaped(text: str) -> str:
    """``text`` (a literal ``_xHHHH_`` already escaped) with its control characters as _xHHHH_."""
    for code in _CONTROL:
        text = f"replace({text}, chr({code}), '_x{code:04X}_')"
    return text


def _serial(value: str, kind: str) -> str:
    """Excel's serial number of a date or time, computed as XlsxWriter computes it (days since
    1899-12-31 plus the fraction of the day, one day more from 1900-03-01 for Excel's 29 February
    1900)."""
    if kind == "date":
        serial = f"CAST(date_diff('day', DATE '1899-12-31', {value}) AS DOUBLE)"
    else:
        micros = f"(epoch_us({value}) - epoch_us(date_trunc('day', {value})))"
        serial = (
            f"(CAST(date_diff('day', TIMESTAMP '1899-12-31', {value}) AS DOUBLE) + "
            f"(CAST({micros} // 1000000 AS DOUBLE) + CAST({micros} % 1000000 AS DOUBLE) / 1e6) / 86400"
            f" - CASE WHEN CAST({value} AS DATE) = DATE '1900-01-01' THEN 1 ELSE 0 END)"
        )
    return f"({serial} + CASE WHEN {serial} > 59 THEN 1 ELSE 0 END)"


def _time_value(column: str, data_type: str) -> str:
    if "WITH TIME ZONE" in data_type:
        return f"timezone('UTC', {column})"
    return column if data_type == "TIMESTAMP" else f"CAST({column} AS TIMESTAMP)"


def _value(name: str, data_type: str) -> str:
    """SQL of column ``name``'s value as its cell holds it: the text (its literal _xHHHH_ escaped),
    or the number, serial date or boolean as written in ``<v>``."""
    column = quote_identifier(name)
    kind = kind_of(data_type)
    if kind == "text":
        text = _text(column, data_type)
        # the pattern only where it can match: most texts have no "_x"
        return f"CASE WHEN contains({text}, '_x') THEN regexp_replace({text}, {_LITERAL_ESCAPE}, '_x005F\\1', 'g') ELSE {text} END"
    if kind in ("date", "time"):
        value = column if kind == "date" else _time_value(column, data_type)
        return f"printf('%.16G', {_serial(value, kind)})"
    if kind == "number":
        return f"printf('%.16G', CAST({column} AS DOUBLE))"
    return f"CASE WHEN {column} THEN '1' WHEN NOT {column} THEN '0' END"


def _cell(data_type: str, i: int, styles: dict[str, int]) -> str:
    """SQL of column ``i``'s cell (its value is ``_v<i>``): NULL, no cell, for a NULL value."""
    start = f"'<c r=\"{column_letter(i)}', _r, '\""
    kind = kind_of(data_type)
    if kind == "text":
        escaped = f"replace(replace(replace(_v{i}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
        preserve = f"CASE WHEN regexp_matches(_v{i}, {_PRESERVE}) THEN ' xml:space=\"preserve\"' ELSE '' END"
        pieces = f"{start} t=\"inlineStr\"><is><t', {preserve}, '>', {escaped}, '</t></is></c>'"
    elif kind == "boolean":
        pieces = f"{start} t=\"b\"><v>', _v{i}, '</v></c>'"
    else:
        # a date or time column with no style has no value to write (check_cells, TableCells.dated)
        style = f' s="{styles[kind]}"' if kind in styles else ""
        pieces = f"{start}{style}><v>', _v{i}, '</v></c>'"
    # one concat a cell: each || would make a string of its own
    return f"CASE WHEN _v{i} IS NOT NULL THEN concat({pieces}) END"


def _ordered(columns: list[tuple[str, str]], table: str) -> str:
    # ORDER BY ALL: the same publication gives the same workbook
    # DuckDB's default order, stated: rows where every value is NULL come last (TableCells)
    order = ", ".join(f"{quote_identifier(name)} ASC NULLS LAST" for name, _ in columns)
    return f"SELECT *, row_number() OVER (ORDER BY {order}) AS {_ROW} FROM {table}"


@dataclass(frozen=True)
class TableCells:
    rows: int
    last_written: int  # the last row with a value (rows where every value is NULL sort last, unwritten)
    dated: list[str]  # "date" and "time", in the order of the first column of each that has a value


def _utf16_length(text: str) -> str:
    # Excel's limit counts UTF-16 units: a character past U+FFFF is two. A text's UTF-8 bytes are
    # never fewer than its UTF-16 units, so only a text of more bytes than the limit is counted.
    return (
        f"CASE WHEN strlen({text}) > {MAX_CELL_CHARS} THEN length({text}) + "
        f"length(regexp_replace({text}, '[^\\x{{10000}}-\\x{{10ffff}}]', '', 'g')) ELSE 0 END"
    )


def check_cells(con: duckdb.DuckDBPyConnection, table: str, columns: list[tuple[str, str]]) -> TableCells:
    """What the sheets of ``table`` (a quoted name) will hold; raises CellProblem naming the first
    row of the table (in the workbook's order, 1-based) and the column whose value no cell can
    hold: a text longer than Excel's limit (which Excel would cut short), a NaN or an infinity."""
    if any(name == _ROW.strip('"') for name, _ in columns):
        raise CellProblem(f"a column is named {_ROW}, the name the workbook's row numbers take")
    tests = []  # (column, SQL true when its value cannot be written, SQL of what is wrong)
    dated = []  # (kind, column) of the date and time columns
    for name, data_type in columns:
        column, kind = quote_identifier(name), kind_of(data_type)
        if kind == "text":
            length = _utf16_length(_text(column, data_type))
            tests.append((name, f"{length} > {MAX_CELL_CHARS}", length))
        elif kind in ("date", "time") or data_type in ("DOUBLE", "FLOAT", "REAL"):
            nan = f"isnan({column}) OR " if kind == "number" else ""
            tests.append((name, f"({nan}isinf({column}))", f"CAST({column} AS VARCHAR)"))
            if kind != "number":
                dated.append((kind, column))
    found = " OR ".join(f"coalesce({test}, false)" for _, test, _ in tests) or "false"
    empty = " AND ".join(f"{quote_identifier(name)} IS NULL" for name, _ in columns)
    counts = "".join(f", count({column})" for _, column in dated)
    rows, bad, empty_rows, *filled = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {found}), count(*) FILTER (WHERE {empty}){counts} FROM {table}"
    ).fetchall()[0]
    if bad:
        wrong = ", ".join(f"CASE WHEN {test} THEN {what} END" for _, test, what in tests)
        first = con.execute(
            f"SELECT {_ROW}, {wrong} FROM ({_ordered(columns, table)}) WHERE {found} ORDER BY {_ROW} LIMIT 1"
        ).fetchall()[0]
        name, what = next((name, what) for (name, _, _), what in zip(tests, first[1:]) if what is not None)
        if isinstance(what, int):
            raise CellProblem(
                f"row {first[0]} of the table, column {name}: a text of {what:,} characters (as Excel counts "
                f"them) is longer than an Excel cell holds"
            )
        raise CellProblem(f"row {first[0]} of the table, column {name}: {what} is not a value an Excel cell holds")
    kinds = list(dict.fromkeys(kind for (kind, _), count in zip(dated, filled) if count))
    return TableCells(rows, rows - empty_rows, kinds)


def sheet_rows(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[tuple[str, str]],
    rows_per_sheet: int,
    styles: dict[str, int],
) -> Iterator[tuple[int, str]]:
    """(row of the table, its ``<row>`` element) for every row of ``table`` (a quoted name) in
    ORDER BY ALL order, numbered on its sheet from 2 (row 1 is the header), ``rows_per_sheet``
    rows a sheet. A row whose every value is NULL is not written, as XlsxWriter writes no empty
    row. ``styles``: the workbook's format index of "date" and "time" cells. One query for the
    whole table, so its rows are ordered once whatever the sheets it fills."""
    kinds = [kind_of(data_type) for _, data_type in columns]
    values = ", ".join(f"{_value(name, data_type)} AS _v{i}" for i, (name, data_type) in enumerate(columns))
    texts = [f"_v{i}" for i, kind in enumerate(kinds) if kind == "text"]
    # Control characters are escaped after a literal _xHHHH_ is (as XlsxWriter does), and only in
    # a row that has one: they are rare, and one test a row costs less than one a cell.
    controlled = f"regexp_matches(concat({', '.join(texts)}), {sql_literal(_CONTROL_CLASS)})" if texts else "false"
    escaped = ", ".join(
        f"CASE WHEN _controlled THEN {_controls_escaped(f'_v{i}')} ELSE _v{i} END AS _v{i}"
        if kind == "text"
        else f"_v{i}"
        for i, kind in enumerate(kinds)
    )
    cells = ", ".join(_cell(data_type, i, styles) for i, (_, data_type) in enumerate(columns))
    sql = (
        f"WITH ordered AS ({_ordered(columns, table)}), "
        f"valued AS (SELECT {_ROW}, CAST(({_ROW} - 1) % $1 + 2 AS VARCHAR) AS _r, {values} FROM ordered), "
        f"checked AS (SELECT *, {controlled} AS _controlled FROM valued), "
        f"escaped AS (SELECT {_ROW}, _r, {escaped} FROM checked), "
        f"rows AS (SELECT {_ROW}, _r, concat({cells}) AS cells FROM escaped) "
        f"SELECT {_ROW}, concat('<row r=\"', _r, '\">', cells, '</row>') FROM rows WHERE cells <> '' "
        f"ORDER BY {_ROW}"
    )
    result = con.execute(sql, [rows_per_sheet])
    while batch := result.fetchmany(_FETCH_ROWS):
        yield from batch
