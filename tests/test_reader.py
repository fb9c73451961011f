"""The DuckDB CSV path of the ingest: every row keeps its file line, cells are trimmed exactly as
str.strip() trims, odd but valid CSV reads as Python's csv module reads it, and bad bytes or
shapes stop with the file and line named."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest import reader as raw_loader
from orchestration.lib.ingest.load import ingest
from orchestration.lib.settings import load_settings

HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,la_name,new_la_code,version,breakdown,pt_rwm_met_expected_standard"
)


def la_row(code: int, value: str, name: str | None = None) -> str:
    return (
        f"202122,Academic year,Local authority,E92000001,England,E12000002,North West,{code},"
        f"{name or f'LA {code}'},E0800{code:04d},Revised,Total,{value}"
    )


def load(tmp_path: Path, monkeypatch, content: bytes) -> list[tuple]:
    source = tmp_path / "src" / "ks2.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(content)
    (tmp_path / "src" / "sources.yml").write_text("datasets:\n  ks2: {files: [ks2.csv]}\n", encoding="utf-8")
    monkeypatch.setenv("EDU_SOURCES", str(tmp_path / "src" / "sources.yml"))
    db = tmp_path / "b.duckdb"
    ingest(load_settings(), db)
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "SELECT _row_number, old_la_code, la_name, pt_rwm_met_expected_standard FROM raw.ks2 ORDER BY _row_number"
        ).fetchall()


def python_lines(content: bytes) -> list[int]:
    """The line each non-blank record ends on, as csv.reader counts (what the ingest always recorded)."""
    reader = csv.reader(io.StringIO(content.decode("utf-8"), newline=""))
    next(reader)
    return [reader.line_num for row in reader if row and any(cell.strip() for cell in row)]


@pytest.mark.parametrize(
    "cell",
    [
        "",
        " ",
        "x",
        " x ",
        "\u00a0x\u2003",
        "é",
        " é ",
        "\tx\r",
        "x\x1c",
        "~",
        "a b",
        "\u3000z",
        "1,234",
        "\u2028c\u2029",
    ],
)
def test_cells_are_trimmed_as_str_strip_trims(cell):
    con = duckdb.connect()
    raw_loader.create_raw_table(con, "t", ["a"])
    assert con.execute("SELECT _clean(?)", [cell]).fetchall() == [(cell.strip(),)]


def test_lines_survive_blank_lines_quoted_line_breaks_and_whitespace_lines(tmp_path, isolated_env, monkeypatch):
    content = (
        "\n".join(
            [
                HEADER,
                la_row(340, "57"),
                "",
                la_row(341, "58", '"Halton\nand District"'),  # a quoted line break: one record over two lines
                "   ",
                la_row(342, "59"),
                ",,,,,,,,,,,,",  # every cell empty: no row
                la_row(343, " 60 "),
            ]
        ).encode("utf-8")
        + b"\n"
    )
    rows = load(tmp_path, monkeypatch, content)
    assert [r[0] for r in rows] == python_lines(content) == [2, 5, 7, 9]
    assert [r[1] for r in rows] == ["340", "341", "342", "343"]
    assert rows[1][2] == "Halton\nand District"
    assert rows[3][3] == "60"


@pytest.mark.parametrize(
    ("content", "blank"),
    [
        (b"a,b\n1,2\n", False),  # the file's last newline ends its last line: no blank line after it
        (b"a,b\r\n1,2\r\n", False),
        (b"a,b\n1,2", False),
        (b"a,b\n1,2\n\n", True),
        (b"a,b\n\n1,2\n", True),
        (b"a,b\n1,2\n \t\n", True),
        (b"a,b\n1,2\n  ", True),  # a whitespace-only last line with no newline
    ],
)
def test_the_byte_scan_finds_blank_lines_and_only_those(tmp_path, content, blank):
    # A file without blank lines (most of DfE's) numbers its rows from DuckDB's records; one with
    # them pays a second, Python csv pass to map records to lines.
    path = tmp_path / "f.csv"
    path.write_bytes(content)
    assert raw_loader.scan_text(path, "f.csv", tmp_path / "scratch").blank_lines is blank


def test_lines_of_a_large_file_read_in_parallel_stay_in_order(tmp_path, isolated_env, monkeypatch):
    # DuckDB reads big files in parallel; each row's line must still be its own. The value is the line.
    lines = [la_row(100 + (n % 800), str(n + 2)).replace("Revised,Total", f"Revised,B{n}") for n in range(60_000)]
    rows = load(tmp_path, monkeypatch, ("\n".join([HEADER, *lines]) + "\n").encode("utf-8"))
    assert len(rows) == 60_000
    assert all(line == int(value) for line, _, _, value in rows)


def test_windows_1252_is_read_as_written_and_the_landed_file_is_untouched(tmp_path, isolated_env, monkeypatch):
    content = ("\r\n".join([HEADER, la_row(340, "57", "Bromley – Côte"), la_row(341, "58")]) + "\r\n").encode("cp1252")
    rows = load(tmp_path, monkeypatch, content)
    assert rows[0][:3] == (2, "340", "Bromley – Côte")
    landed = next((tmp_path / "landing" / "ks2").rglob("ks2.csv"))
    assert landed.read_bytes() == content
    assert not (load_settings().build_dir / "ingest_scratch").exists()  # the UTF-8 copy is build-only


def lines_of(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            lines_of(la_row(340, "57"), la_row(341, "5\x008")),
            r"ks2\.csv: line 3: malformed CSV: the file contains a NUL byte",
        ),
        # the short row comes after a record over two lines: the error names the physical line
        (
            lines_of(la_row(340, "57", '"A\nB"'), la_row(341, "58") + ",x"),
            r"ks2\.csv: line 4: 14 fields where the header has 13",
        ),
        (lines_of(la_row(340, "57"), la_row(341, '"58')), r"ks2\.csv: line 3: malformed CSV"),
        (lines_of(la_row(340, "57")).rstrip(b"\n") + b"\xff\xfe\x81\n", r"ks2\.csv: line 2: not UTF-8 or Windows-1252"),
        (lines_of(",,,,,,,,,,,,"), r"ks2\.csv: the file has a header but no data rows"),
        (b"", r"ks2\.csv: the file is empty"),
    ],
    ids=["nul", "short-after-multiline", "open-quote", "bad-bytes", "no-rows", "empty"],
)
def test_bad_bytes_and_shapes_name_the_file_and_line(tmp_path, isolated_env, monkeypatch, content, message):
    with pytest.raises(PipelineInputError, match=message):
        load(tmp_path, monkeypatch, content)
    assert not (tmp_path / "b.duckdb").exists()  # nothing was built from it
