"""Formats are told by content, not by name: gzip under any name, EES sheets in XLSX, and DfE's
statistical neighbour workbook (title rows above the header, 'SNP' after each 'SN<k>', a caption
row and a block of predecessor LAs below the current ones). Row numbers are the sheet's own."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import openpyxl
import pytest

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest import reader
from orchestration.lib.ingest.load import ingest
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import dataset_specs

SHARED = Path(__file__).resolve().parents[2] / "shared"
HEADER = [
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name", "region_code",
    "region_name", "old_la_code", "la_name", "new_la_code", "version", "breakdown", "pt_rwm_met_expected_standard",
]  # fmt: skip


def la_row(code: int, value) -> list:
    return [202122, "Academic year", "Local authority", "E92000001", "England", "E12000002", "North West",
            code, f"LA {code}", f"E0800{code:04d}", "Revised", "Total", value]  # fmt: skip


def ingest_one(tmp_path: Path, monkeypatch, name: str, dataset: str = "ks2") -> duckdb.DuckDBPyConnection:
    (tmp_path / "sources.yml").write_text(f"datasets:\n  {dataset}: {{files: [{name}]}}\n", encoding="utf-8")
    monkeypatch.setenv("EDU_SOURCES", str(tmp_path / "sources.yml"))
    db = tmp_path / "b.duckdb"
    ingest(load_settings(), db)
    return duckdb.connect(str(db), read_only=True)


def write_xlsx(path: Path, rows: list[list], title_rows: int = 0) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Notes"
    sheet.append(["This workbook holds KS2 data"])
    data = workbook.create_sheet("Data")
    for i in range(title_rows):
        data.append([f"title row {i + 1}"])
    for row in rows:
        data.append(row)
    workbook.save(path)


def test_gzip_is_read_by_content_whatever_the_name(tmp_path, isolated_env, monkeypatch):
    text = ",".join(HEADER) + "\n" + "\n".join(",".join(map(str, la_row(c, v))) for c, v in [(340, 61), (341, "c")])
    (tmp_path / "ks2_download.csv").write_bytes(gzip.compress(text.encode()))
    with ingest_one(tmp_path, monkeypatch, "ks2_download.csv") as con:
        rows = con.execute(
            "SELECT old_la_code, pt_rwm_met_expected_standard, _row_number FROM raw.ks2 ORDER BY 3"
        ).fetchall()
    assert rows == [("340", "61", 2), ("341", "c", 3)]


def test_an_ees_sheet_in_xlsx_loads_with_the_sheets_row_numbers(tmp_path, isolated_env, monkeypatch):
    write_xlsx(tmp_path / "ks2.xlsx", [HEADER, la_row(340, 61.5), la_row(341, "c"), [], la_row(342, 70)], title_rows=2)
    with ingest_one(tmp_path, monkeypatch, "ks2.xlsx") as con:
        rows = con.execute(
            "SELECT old_la_code, time_period, pt_rwm_met_expected_standard, _row_number FROM raw.ks2 ORDER BY 4"
        ).fetchall()
        encoding = con.execute("SELECT encoding FROM raw.landed_files").fetchall()
    # title rows 1-2, header on row 3, a blank row 6: numbers as Excel shows them; whole numbers
    # without a decimal point, as DfE typed them
    assert rows == [("340", "202122", "61.5", 4), ("341", "202122", "c", 5), ("342", "202122", "70", 7)]
    assert encoding == [("xlsx",)]


def test_a_workbook_without_the_datasets_header_names_what_it_looked_for(tmp_path, isolated_env, monkeypatch):
    write_xlsx(tmp_path / "ks2.xlsx", [["a", "b"], [1, 2]])
    with pytest.raises(
        PipelineInputError, match=r"ks2.xlsx: none of its 2 sheet\(s\) has a header row naming .*time_period"
    ):
        ingest_one(tmp_path, monkeypatch, "ks2.xlsx")


def test_a_zip_archive_listed_as_a_file_says_what_to_do(tmp_path, isolated_env, monkeypatch):
    import zipfile

    with zipfile.ZipFile(tmp_path / "release.csv", "w") as archive:
        archive.writestr("data/ks2.csv", ",".join(HEADER) + "\n")
    with pytest.raises(PipelineInputError, match=r"release.csv: a ZIP archive.*url: source"):
        ingest_one(tmp_path, monkeypatch, "release.csv")


def test_dfes_neighbour_workbook_layout_is_renamed_to_the_wide_layout(tmp_path):
    """The layout of DfE's sn_<month>_<year>.xlsx, written here by hand."""
    path = tmp_path / "sn.xlsx"
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "LA SN Groups"
    sheet.append(["A", "B", "C", "D", "E", 3, 4, 5, 6])
    sheet.append([1, 2, 3, 4, 5, 6, 7, 8, 9])
    sheet.append(["LA num", "LA Name", "LA number", "GOInd", "GOReg", "SN1", "SNP", "SN2", "SNP"])
    sheet.append([301, "Barking and Dagenham", 301, 3, "London (Outer)", 308, "Close", 821, "Close"])
    sheet.append([None] * 9)
    sheet.append([None, "Old SNs:"])
    sheet.append([835, "Dorset (Pre LG)", 835, 7, "South West", 893, "Extremely Close", 878, "Very Close"])
    workbook.save(path)
    spec = dataset_specs()["statistical_neighbours"]
    scan = reader.scan_text(path, "sn.xlsx", tmp_path / "scratch", spec)
    columns, header, _ = reader.read_header(scan, "sn.xlsx", spec)
    assert columns == [
        "old_la_code",
        "la_name",
        "la_number",
        "region_ind",
        "region_name",
        "sn_1",
        "sn_1p",
        "sn_2",
        "sn_2p",
    ]
    assert header[:2] == ["LA num", "LA Name"] and scan.line_offset == 2 and scan.sheet == "LA SN Groups"
    lines = scan.readable.read_text(encoding="utf-8").splitlines()
    # the caption row is blanked (dropped by the loader) so the rows below keep their numbers
    assert lines[1].startswith("301,Barking and Dagenham,301,3,London (Outer),308,Close,821,Close")
    assert lines[3] == ",,,,,,,," and lines[4].startswith("835,Dorset (Pre LG)")


@pytest.mark.skipif(
    not (SHARED / "data" / "statistical_neighbours" / "sn_may_2025.xlsx").exists(), reason="../shared absent"
)
def test_dfes_real_2025_neighbour_workbook_loads_every_la(tmp_path, isolated_env, monkeypatch):
    (tmp_path / "sn.xlsx").symlink_to(SHARED / "data" / "statistical_neighbours" / "sn_may_2025.xlsx")
    with ingest_one(tmp_path, monkeypatch, "sn.xlsx", "statistical_neighbours") as con:
        codes = {
            r[0]: r[1:]
            for r in con.execute(
                "SELECT old_la_code, la_name, sn_1, sn_1p, _row_number FROM raw.statistical_neighbours"
            ).fetchall()
        }
    # 153 current LAs and the five predecessors of the 2019-2023 reorganisations
    assert len(codes) == 158
    assert codes["301"] == ("Barking and Dagenham", "308", "Close", 4)
    assert {"835", "836", "837", "928", "909"} <= set(codes) and {"838", "839", "940", "941", "942", "943"} <= set(
        codes
    )
    assert codes["909"][0] == "Cumbria" and codes["909"][3] == 164  # the sheet's row, below the caption
