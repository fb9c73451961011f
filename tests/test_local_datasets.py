"""The council's local datasets (sources.yml ``local:``): schema files, CSV and XLSX reading, the
four raw.local_* tables, the errors that stop the ingest and the row problems the raw gates name."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.lib import gates
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import read_manifest, sha256_of
from orchestration.lib.ingest.load import ingest
from orchestration.lib.ingest.local_datasets import (
    LOCAL_LINEAGE,
    LOCAL_TABLES,
    academic_year,
    as_at_date,
    term_identifier,
)
from orchestration.lib.settings import load_settings

KS2_HEADER = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,la_name,new_la_code,version,breakdown,pt_rwm_met_expected_standard"
KS2_ROWS = [
    "202324,Academic year,National,E92000001,England,,,,,,Final,Total,61",
    "202324,Academic year,Local authority,E92000001,England,E12000002,North West,342,St. Helens,E08000013,Final,Total,60",
]
SN_FILE = (
    "old_la_code,la_name,region_ind,region_name,SN_1,SN_1P\n"
    "340,Knowsley,2,North West,342,Close\n"
    "342,St Helens,2,North West,340,Close\n"
)
REGISTER_SCHEMA = """\
kind: school_register
columns: {urn: URN, school_name: EstablishmentName, la_code: LA (code), phase: Phase, status: Status}
"""
REGISTER = """\
URN,LA (code),EstablishmentName,Phase,Status
104221,342,Kings Moss Primary,Primary,Open
104233,342,Chain Lane Primary,Primary,Open
104300,340,Knowsley Lane Primary,Primary,Open
"""
KS2_SCHEMA = """\
kind: school_measures
phase: primary
include_rows: {RECTYPE: [1]}
missing_values: [SUPP, NE]
columns: {urn: URN, la_code: LEA, school_name: SCHNAME, period: YEAR}
measures:
  - code: ks2_rwm_expected
    value_column: PTRWM_EXP
    cohort_column: TELIG
    headline: true
  - code: ks2_local_reading_score
    label: Average reading scaled score
    value_column: READ_AVERAGE
    unit: average
    polarity: high
    min: 80
    max: 120
"""
# RECTYPE 4 is the LA total row of DfE's performance tables: include_rows leaves it out.
KS2 = """\
RECTYPE,URN,LEA,SCHNAME,YEAR,TELIG,PTRWM_EXP,READ_AVERAGE
1,104221,342,Kings Moss Primary,2023/24,30,66%,105
1,104233,342,Chain Lane Primary,2023-24,8,SUPP,NE
4,,342,St. Helens,202324,1500,60%,104
"""
ATTENDANCE_SCHEMA = """\
kind: school_measures
sheet: Attendance
header_row: 3
columns: {urn: URN, school_name: School name, term: Term}
measures:
  - code: attendance_overall_absence_termly
    label: Overall absence rate (% of sessions), termly
    numerator_column: Overall absence sessions
    denominator_column: Sessions possible
    cohort_column: Enrolments
    polarity: low
    decimal_places: 1
"""
INSPECTION_SCHEMA = """\
kind: inspection_outcomes
grades: {O: Outstanding, RI: 3}
not_judged_values: [Not judged, NULL, "9", "", Not inspected]
columns:
  urn: URN
  school_name: School name
  la_name: Local authority
  pupils: Total number of pupils
  inspection_date: Inspection start date
  overall_effectiveness: Overall effectiveness
"""
INSPECTIONS = """\
URN,School name,Local authority,Total number of pupils,Inspection start date,Overall effectiveness
104221,Kings Moss Primary,St. Helens,210,14/03/2023,O
104233,Chain Lane Primary,St. Helens,"1,050",2022-11-02,RI
104300,Knowsley Lane Primary,Knowsley,NULL,,Not inspected
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def attendance_workbook(path: Path, rows: list[list[object]] | None = None) -> Path:
    """A real XLSX as councils export it: a title row and a blank row above the header, a
    percent-formatted cell and numbers Excel stores as floats."""
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active["A1"] = "Read me first"
    sheet = workbook.create_sheet("Attendance")
    sheet.append(["Termly attendance, St. Helens schools"])
    sheet.append([])
    sheet.append(
        ["URN", "School name", "Term", "Overall absence sessions", "Sessions possible", "Enrolments", "Checked", "Rate"]
    )
    for row in (
        rows
        if rows is not None
        else [
            [104221, "Kings Moss Primary", "Autumn", 1200.0, 24000, 210, dt.datetime(2024, 1, 5), 0.05],
            [104233, "Chain Lane Primary", "spring term", 900, 18000.0, 150, dt.date(2024, 4, 2), 0.053],
        ]
    ):
        sheet.append(row)
    for cell in sheet["H"][3:]:
        cell.number_format = "0.0%"
    workbook.save(path)
    return path


class Council:
    """A sources.yml with a tiny KS2 LA file and the council's local datasets, in tmp_path."""

    def __init__(self, tmp_path: Path, monkeypatch):
        self.folder = tmp_path / "council"
        self.db = tmp_path / "build.duckdb"
        monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
        monkeypatch.setenv("EDU_LANDING_DIR", str(tmp_path / "landing"))
        monkeypatch.setenv("EDU_SOURCES", str(self.folder / "sources.yml"))
        write(self.folder / "ks2_la.csv", "\n".join([KS2_HEADER, *KS2_ROWS]) + "\n")
        write(self.folder / "sn.csv", SN_FILE)
        self.files = {
            "local/schools.schema.yml": REGISTER_SCHEMA,
            "local/schools.csv": REGISTER,
            "local/ks2.schema.yml": KS2_SCHEMA,
            "local/ks2.csv": KS2,
            "local/attendance.schema.yml": ATTENDANCE_SCHEMA,
            "local/ofsted.schema.yml": INSPECTION_SCHEMA,
            "local/ofsted_2024_08_31.csv": INSPECTIONS,
        }
        self.local = {
            "schools": "{schema: local/schools.schema.yml, files: [local/schools.csv]}",
            "school_ks2": "{schema: local/ks2.schema.yml, files: [local/ks2.csv]}",
            "termly_attendance": "{schema: local/attendance.schema.yml, files: [{path: local/attendance.xlsx, period: 2023/24}]}",
            "ofsted_inspections": "{schema: local/ofsted.schema.yml, files: [{path: local/ofsted_2024_08_31.csv, period: 31/08/2024}]}",
        }
        self.workbook_rows: list[list[object]] | None = None

    def write(self) -> None:
        for name, text in self.files.items():
            write(self.folder / name, text)
        attendance_workbook(self.folder / "local" / "attendance.xlsx", self.workbook_rows)
        body = "datasets:\n  ks2: {files: [ks2_la.csv]}\n  statistical_neighbours: {files: [sn.csv]}\n"
        if self.local:
            body += "local:\n" + "".join(f"  {name}: {entry}\n" for name, entry in self.local.items())
        write(self.folder / "sources.yml", body)

    def ingest(self):
        self.write()
        return {r.dataset: r for r in ingest(load_settings(), self.db)}

    def error(self) -> str:
        with pytest.raises(PipelineInputError) as caught:
            self.ingest()
        return str(caught.value)

    def rows(self, sql: str) -> list[tuple]:
        with duckdb.connect(str(self.db), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture
def council(tmp_path, monkeypatch) -> Council:
    return Council(tmp_path, monkeypatch)


# --- the happy path -------------------------------------------------------------------------------


def test_loads_register_measures_xlsx_and_inspections(council):
    results = council.ingest()
    assert {t: results[t].row_count for t in LOCAL_TABLES} == {
        "local_schools": 3,
        "local_school_values": 6,
        "local_measures": 3,
        "local_inspections": 3,
    }
    assert council.rows(
        "SELECT dataset, urn, school_name, la_code, phase, laestab, status, _row_number, _sheet "
        "FROM raw.local_schools ORDER BY _row_number"
    )[0] == ("schools", "104221", "Kings Moss Primary", "342", "Primary", None, "Open", 2, None)

    values = council.rows(
        "SELECT urn, la_code, period_as_written, time_period, time_identifier, measure_code, source_column, value, cohort, "
        "numerator, denominator, _source_file, _row_number, _sheet FROM raw.local_school_values "
        "WHERE dataset = 'school_ks2' ORDER BY _row_number, measure_code"
    )
    # The LA total row (RECTYPE 4, line 4) is left out by include_rows; cells stay as written.
    assert values == [
        (
            "104221",
            "342",
            "2023/24",
            "202324",
            "Academic year",
            "ks2_local_reading_score",
            "READ_AVERAGE",
            "105",
            None,
            None,
            None,
            "local/ks2.csv",
            2,
            None,
        ),
        (
            "104221",
            "342",
            "2023/24",
            "202324",
            "Academic year",
            "ks2_rwm_expected",
            "PTRWM_EXP",
            "66%",
            "30",
            None,
            None,
            "local/ks2.csv",
            2,
            None,
        ),
        (
            "104233",
            "342",
            "2023-24",
            "202324",
            "Academic year",
            "ks2_local_reading_score",
            "READ_AVERAGE",
            "NE",
            None,
            None,
            None,
            "local/ks2.csv",
            3,
            None,
        ),
        (
            "104233",
            "342",
            "2023-24",
            "202324",
            "Academic year",
            "ks2_rwm_expected",
            "PTRWM_EXP",
            "SUPP",
            "8",
            None,
            None,
            "local/ks2.csv",
            3,
            None,
        ),
    ]
    # The XLSX: header on row 3 of sheet Attendance, period from the file entry, floats shown as Excel shows them.
    assert council.rows(
        "SELECT urn, period_as_written, time_period, time_identifier, source_column, value, numerator, denominator, cohort, "
        "_row_number, _sheet FROM raw.local_school_values WHERE dataset = 'termly_attendance' ORDER BY _row_number"
    ) == [
        (
            "104221",
            "2023/24",
            "202324",
            "Autumn term",
            "Overall absence sessions / Sessions possible",
            None,
            "1200",
            "24000",
            "210",
            4,
            "Attendance",
        ),
        (
            "104233",
            "2023/24",
            "202324",
            "Spring term",
            "Overall absence sessions / Sessions possible",
            None,
            "900",
            "18000",
            "150",
            5,
            "Attendance",
        ),
    ]

    measures = {
        r[0]: r[1:]
        for r in council.rows(
            "SELECT measure_code, label, unit, polarity, decimal_places, headline, value_min, value_max, phase, value_column, "
            "numerator_column, cohort_column, missing_values, schema_file, schema_sha256, _row_number FROM raw.local_measures"
        )
    }
    schema_sha = sha256_of(council.folder / "local" / "ks2.schema.yml")
    assert measures["ks2_rwm_expected"] == (
        "Key stage 2: pupils meeting the expected standard in reading, writing and maths",
        "percent",
        "high",
        "0",
        "true",
        "0",
        "100",
        "primary",
        "PTRWM_EXP",
        None,
        "TELIG",
        json.dumps(["SUPP", "NE"]),
        "local/ks2.schema.yml",
        schema_sha,
        7,
    )
    assert measures["ks2_local_reading_score"][1:8] == ("average", "high", "1", "false", "80", "120", "primary")
    assert measures["attendance_overall_absence_termly"][1:4] == ("percent", "low", "1")

    inspections = council.rows(
        "SELECT urn, la_code, la_name, pupils, inspection_date, overall_effectiveness, as_at FROM raw.local_inspections "
        "ORDER BY _row_number"
    )
    # The schema's own codings become grades / Not judged; other cells stay as written.
    assert inspections == [
        ("104221", None, "St. Helens", "210", "14/03/2023", "1", "2024-08-31"),
        ("104233", None, "St. Helens", "1,050", "2022-11-02", "3", "2024-08-31"),
        ("104300", None, "Knowsley", "NULL", "", "Not judged", "2024-08-31"),
    ]

    # Every table has the README columns, all text except the two integer lineage columns.
    with duckdb.connect(str(council.db), read_only=True) as con:
        for table, columns in LOCAL_TABLES.items():
            described = con.execute(f"DESCRIBE raw.{table}").fetchall()
            assert [(r[0], r[1]) for r in described] == [(c, "VARCHAR") for c in columns] + list(LOCAL_LINEAGE.items())

    # Landed like DfE files: content-addressed, schema beside them, in the lineage tables; sources untouched.
    manifest = {r.listed_as: r for r in read_manifest(load_settings().landing_dir)}
    for name in ("local/schools.csv", "local/ks2.csv", "local/attendance.xlsx", "local/ofsted_2024_08_31.csv"):
        source = council.folder / name
        assert Path(manifest[name].landed_path).read_bytes() == source.read_bytes()
    assert manifest["local/ks2.csv"].dataset == "school_ks2" and manifest["local/ks2.csv"].meta_sha256 == schema_sha
    assert council.rows(
        "SELECT dataset, source_file, row_count, encoding FROM raw.landed_files WHERE dataset = 'termly_attendance'"
    ) == [("termly_attendance", "local/attendance.xlsx", 2, "xlsx")]
    assert ("ptrwm_exp", "PTRWM_EXP", "indicator") in council.rows(
        "SELECT column_name, original_name, role FROM raw.file_columns WHERE dataset = 'school_ks2'"
    )
    for name, text in council.files.items():
        assert (council.folder / name).read_text(encoding="utf-8") == text

    # A local dataset dropped from sources.yml leaves no lineage behind.
    del council.local["termly_attendance"]
    council.ingest()
    assert council.rows("SELECT count(*) FROM raw.landed_files WHERE dataset = 'termly_attendance'") == [(0,)]


def test_no_local_section_gives_empty_tables(council):
    council.local = {}
    results = council.ingest()
    for table in LOCAL_TABLES:
        assert results[table].row_count == 0
        assert council.rows(f"SELECT count(*) FROM raw.{table}") == [(0,)]
    with duckdb.connect(str(council.db), read_only=True) as con:
        for table in ("local_schools", "local_school_values", "local_inspections"):
            assert gates.raw_local_frame(con, table).empty  # the checks then pass: "not in sources.yml"


def test_xlsx_cells_are_text_as_excel_shows_them(council):
    council.files["local/attendance.schema.yml"] = ATTENDANCE_SCHEMA.replace(
        "    decimal_places: 1\n",
        "    decimal_places: 1\n  - {code: attendance_rate_local, label: Rate, value_column: Rate, unit: percent, polarity: low}\n",
    ).replace("term: Term}", "term: Term, la_code: Checked}")
    council.ingest()
    rows = council.rows(
        "SELECT la_code, value FROM raw.local_school_values WHERE measure_code = 'attendance_rate_local' ORDER BY _row_number"
    )
    assert rows == [("2024-01-05", "5.0%"), ("2024-04-02", "5.3%")]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2023/24", "202324"),
        ("2023-24", "202324"),
        ("202324", "202324"),
        ("2023/2024", "202324"),
        (" 2023 / 24 ", "202324"),
        ("2023/25", None),
        ("2023", None),
        ("24/25", None),
    ],
)
def test_academic_year_forms(text, expected):
    assert academic_year(text) == expected


def test_term_and_as_at_forms():
    assert [term_identifier(t) for t in ("Autumn", "spring term", "SUMMER Term", "", "Academic year", "Autumn 1")] == [
        "Autumn term",
        "Spring term",
        "Summer term",
        "Academic year",
        "Academic year",
        None,
    ]
    assert [as_at_date(t) for t in ("2024-08-31", "31/08/2024", "1/9/2024", "2024-02-30", "31.08.2024")] == [
        "2024-08-31",
        "2024-08-31",
        "2024-09-01",
        None,
        None,
    ]


# --- errors that stop the ingest ------------------------------------------------------------------


def test_mapped_column_missing_from_the_file(council):
    council.files["local/ks2.csv"] = KS2.replace("PTRWM_EXP", "PT_RWM_EXPECTED")
    message = council.error()
    assert message.startswith(
        "local/ks2.csv: line 1: value_column of measure 'ks2_rwm_expected' is mapped to 'PTRWM_EXP' "
        "in local/ks2.schema.yml, but the file has no such column (the file has: RECTYPE, URN, LEA,"
    )
    assert "PT_RWM_EXPECTED" in message
    assert not council.db.exists()
    # checked on a private copy before it lands: the refused file is not in the landing zone
    landed = [r.listed_as for r in read_manifest(load_settings().landing_dir)]
    assert "local/ks2.csv" not in landed
    assert not [p for p in (load_settings().landing_dir / ".incoming").iterdir()]


def test_headers_match_ignoring_case_and_spacing(council):
    council.files["local/schools.csv"] = REGISTER.replace("LA (code)", " la  (CODE) ").replace("URN,", "urn,")
    assert council.ingest()["local_schools"].row_count == 3


def test_xlsx_column_missing_names_sheet_and_row(council):
    council.files["local/attendance.schema.yml"] = ATTENDANCE_SCHEMA.replace("Sessions possible", "Possible sessions")
    message = council.error()
    assert message.startswith(
        "local/attendance.xlsx: sheet 'Attendance' row 3: denominator_column of measure "
        "'attendance_overall_absence_termly' is mapped to 'Possible sessions'"
    )
    assert (
        "(the file has: URN, School name, Term, Overall absence sessions, Sessions possible, Enrolments, Checked, Rate)"
        in message
    )


def test_unknown_sheet(council):
    council.files["local/attendance.schema.yml"] = ATTENDANCE_SCHEMA.replace("sheet: Attendance", "sheet: Attendence")
    assert council.error() == "local/attendance.xlsx: no sheet 'Attendence' (the workbook has: Notes, Attendance)"


def test_unknown_kind(council):
    council.files["local/ks2.schema.yml"] = KS2_SCHEMA.replace("kind: school_measures", "kind: school_results")
    assert council.error() == (
        "local/ks2.schema.yml (schema of local dataset 'school_ks2'): unknown kind 'school_results'; "
        "expected one of school_register, school_measures, inspection_outcomes"
    )


@pytest.mark.parametrize(
    "schema, message",
    [
        (
            KS2_SCHEMA + "header_rows: 2\n",
            "unknown key(s) header_rows in a school_measures schema (allowed: kind, description,",
        ),
        (
            KS2_SCHEMA.replace("    headline: true", "    headline: true\n    colour: red"),
            "line 7, measure 'ks2_rwm_expected': unknown key(s) colour in the measure (allowed: code, label,",
        ),
        (
            KS2_SCHEMA.replace("period: YEAR}", "period: YEAR, ward: WARD}"),
            "unknown key(s) ward in columns of a school_measures schema (allowed: urn, period, la_code, school_name, term)",
        ),
        (
            REGISTER_SCHEMA.replace("kind: school_register", "kind: school_register\nmeasures: []"),
            "unknown key(s) measures in a school_register schema",
        ),
    ],
)
def test_unknown_schema_keys(council, schema, message):
    path, dataset = (
        ("local/schools.schema.yml", "schools")
        if "school_register" in schema
        else ("local/ks2.schema.yml", "school_ks2")
    )
    council.files[path] = schema
    error = council.error()
    assert error.startswith(f"{path} (schema of local dataset '{dataset}')")
    assert message in error


def test_local_code_not_in_the_catalogue_needs_label_and_polarity(council):
    council.files["local/ks2.schema.yml"] = KS2_SCHEMA.replace("    label: Average reading scaled score\n", "").replace(
        "    polarity: high\n", ""
    )
    assert council.error() == (
        "local/ks2.schema.yml (schema of local dataset 'school_ks2') line 11, measure 'ks2_local_reading_score': "
        "'ks2_local_reading_score' is not in dbt_project/seeds/measure_catalogue.csv, so it is a local measure and "
        "needs label and polarity (polarity: high or low, whichever is better)"
    )


def test_unreadable_period_in_a_csv(council):
    council.files["local/ks2.csv"] = KS2.replace("2023-24", "2023-25")
    assert council.error() == (
        "local/ks2.csv: line 3: column 'YEAR': '2023-25' is not an academic year (2023/24, 2023-24, 202324 or 2023/2024)"
    )


def test_unreadable_term_in_an_xlsx(council):
    council.workbook_rows = [[104221, "Kings Moss Primary", "Autumn 2", 1, 2, 3, None, None]]
    assert council.error() == (
        "local/attendance.xlsx: sheet 'Attendance' row 4: column 'Term': term 'Autumn 2' is not Autumn, Spring or "
        "Summer (optionally followed by 'term')"
    )


def test_unreadable_per_file_as_at_date(council):
    council.local["ofsted_inspections"] = council.local["ofsted_inspections"].replace("31/08/2024", "August 2024")
    assert council.error() == (
        "local/ofsted_2024_08_31.csv: period: 'August 2024' (its sources.yml entry, local dataset 'ofsted_inspections') "
        "is not an as-at date (2024-08-31 or 31/08/2024)"
    )


def test_period_needed_from_a_column_or_the_file_entry(council):
    council.local["termly_attendance"] = "{schema: local/attendance.schema.yml, files: [local/attendance.xlsx]}"
    message = council.error()
    assert message.startswith(
        f"{council.folder / 'sources.yml'}: local dataset 'termly_attendance', file local/attendance.xlsx: "
        "no period: the schema local/attendance.schema.yml maps no period column"
    )
    assert "{path: local/attendance.xlsx, period: ...}" in message


def test_school_measures_need_a_register(council):
    del council.local["schools"]
    message = council.error()
    assert message.startswith(
        f"{council.folder / 'sources.yml'}: local dataset 'school_ks2' holds school-level measures, "
        "but no school_register dataset is listed under local:"
    )


@pytest.mark.parametrize(
    "name, entry, message",
    [
        (
            "School_KS2",
            "{schema: local/ks2.schema.yml, files: [local/ks2.csv]}",
            "a local dataset name must be lower snake case",
        ),
        ("ks4", "{schema: local/ks2.schema.yml, files: [local/ks2.csv]}", "the name is taken by a DfE dataset"),
        (
            "extra",
            "{schema: local/ks2.schema.yml, files: [local/ks2.csv], sheet: X}",
            "unknown key(s) sheet (allowed: schema, files)",
        ),
        (
            "extra",
            "{schema: local/ks2.schema.yml, files: [{path: local/ks2.csv, year: 2023}]}",
            "unknown key(s) year (allowed: path, period)",
        ),
        (
            "extra",
            "{schema: local/nope.schema.yml, files: [local/ks2.csv]}",
            "schema file 'local/nope.schema.yml' not found",
        ),
        ("extra", "{schema: local/ks2.schema.yml, files: [local/nope_*.csv]}", "no file matches 'local/nope_*.csv'"),
    ],
)
def test_sources_yml_local_entries(council, name, entry, message):
    council.local[name] = entry
    error = council.error()
    assert error.startswith(f"{council.folder / 'sources.yml'}: ")
    assert f"'{name}'" in error and message in error


# --- row problems: the raw gates ------------------------------------------------------------------


def test_row_problems_fail_the_local_gates_naming_file_and_line(council):
    council.files["local/schools.csv"] = (
        REGISTER
        + "104221,342,Kings Moss Primary (again),Primary,Open\n104400,,No LA,Primary,Open\n104500,999,Nowhere,Primary,Open\n"
    )
    council.files["local/ks2.csv"] = KS2 + (
        "1,123456,342,Unknown School,2023/24,20,50%,100\n"  # line 5: not in the register
        "1,104233,342,Chain Lane Primary,2023/24,8,70%,101\n"  # line 6: Chain Lane again for 2023/24 (line 3)
        "1,104300,342,Knowsley Lane Primary,2023/24,12.5,n/a,130\n"  # line 7: LA, junk value, cohort, above max
        "1,104233,342,Chain Lane Primary,2022/23,8,104%,100\n"  # line 8: a percentage above 100
        "1,104221,342,Kings Moss Primary,2021/22,30,nan,1 05\n"  # line 9: read as numbers by Python, not by staging
    )
    council.files["local/ofsted_2024_08_31.csv"] = INSPECTIONS + (
        "104221,Kings Moss Primary,St. Helens,about 200,,Excellent\n"
        # line 6: an older Ofsted wording staging reads as grade 4: not a problem
        "104999,Parr Primary,St. Helens,200,,Special  Measures\n"
    )
    council.ingest()
    with duckdb.connect(str(council.db), read_only=True) as con:
        results = {
            t: gates.validate(f"raw_{t}", gates.raw_local_frame(con, t))
            for t in ("local_schools", "local_school_values", "local_inspections")
        }
    register = "\n".join(results["local_schools"].failures)
    assert (
        "local/schools.csv line 2, 5 (urn_problem=URN 104221 is in the school register 2 times (dataset schools): "
        "local/schools.csv line 2 and local/schools.csv line 5)"
    ) in register
    assert "local/schools.csv line 6 (la_problem=la_code is blank for URN 104400)" in register
    assert (
        "local/schools.csv line 7 (la_problem=la_code 999 is not an LA in the statistical neighbour model (sn.csv))"
        in register
    )

    values = "\n".join(results["local_school_values"].failures)
    assert "local/ks2.csv line 5 (urn_problem=URN 123456 is not in the school register (dataset schools))" in values
    assert (
        "local/ks2.csv line 3, 6 (duplicate_problem=URN 104233 has 2 rows for ks2_rwm_expected in 202324 Academic year: "
        "local/ks2.csv line 3 and local/ks2.csv line 6)"
    ) in values
    assert (
        "local/ks2.csv line 7 (la_problem=URN 104300 is in LA 342 here but in LA 340 in the school register "
        "(local/schools.csv line 4))"
    ) in values
    assert (
        "local/ks2.csv line 7 (value_problem=value 'n/a' of ks2_rwm_expected is neither a number nor one of the "
        "missing values (SUPP, NE))"
    ) in values
    assert "local/ks2.csv line 7 (value_problem=value '130' of ks2_local_reading_score is outside 80-120)" in values
    assert (
        "local/ks2.csv line 8 (value_problem=percentage '104%' of ks2_rwm_expected is outside 0-100 (a percentage))"
        in values
    )
    # The gate accepts exactly what dbt staging reads as a number: 'nan' or '1 05' would otherwise
    # pass here and be published as withheld at source.
    assert (
        "local/ks2.csv line 9 (value_problem=value 'nan' of ks2_rwm_expected is neither a number nor one of the "
        "missing values (SUPP, NE))"
    ) in values
    assert "value '1 05' of ks2_local_reading_score is neither a number" in values
    assert (
        "local/ks2.csv line 7 (cohort_problem=cohort '12.5' of ks2_rwm_expected (TELIG) is not a whole number of "
        "pupils (0 or more))"
    ) in values

    inspections = "\n".join(results["local_inspections"].failures)
    assert (
        "local/ofsted_2024_08_31.csv line 5 (judgement_problem=overall_effectiveness 'Excellent' is not a grade"
        in inspections
    )
    assert "local/ofsted_2024_08_31.csv line 5 (pupils_problem=pupils 'about 200' is not a whole number)" in inspections
    assert "line 6 (judgement_problem" not in inspections and "line 6" not in inspections
    assert (
        "(duplicate_problem=URN 104221 is listed 2 times in the snapshot as at 2024-08-31: "
        "local/ofsted_2024_08_31.csv line 2 and local/ofsted_2024_08_31.csv line 5)"
    ) in inspections
    # The termly XLSX rows are fine: nothing flagged there.
    assert "attendance.xlsx" not in values
