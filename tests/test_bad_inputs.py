"""The bad-input catalogue (issue 7): each kind of bad file DfE or a council might drop in, and
what stops it. Every entry ends in a clear error or a failed raw gate naming the file, line,
column and value; none is silently dropped, and the landed copy is the file byte for byte.

Layers: the ingest (`PipelineInputError`, before the build database is touched) for structural
problems; the raw Great Expectations suites (`expectations/raw_*.json`, on the long frame of
`gates.raw_ees_frame`, including its row-level problem columns) for data problems; the mart suite
`mart_fct_area_measure` for implausible national changes. A failed gate never publishes: the
served database stays as it was (tests/test_pipeline_e2e.py::test_bad_input_blocks_publication_and_keeps_previous).
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib import gates
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.gates import bounds
from orchestration.lib.ingest.landing import read_manifest
from orchestration.lib.ingest.load import ACCEPTED_LARGE_FILES, ingest
from orchestration.lib.settings import load_settings
from tests.conftest import reference_file

HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,la_name,new_la_code,version,breakdown_topic,breakdown,"
    "t_rwm_eligible_pupils,t_rwm_met_expected_standard,pt_rwm_met_expected_standard"
)
AREAS = [
    # geographic_level, region_code, region_name, old_la_code, la_name, new_la_code
    ("National", "", "", "", "", ""),
    ("Regional", "E12000002", "North West", "", "", ""),
    ("Local authority", "E12000002", "North West", "340", "Knowsley", "E08000011"),
    ("Local authority", "E12000002", "North West", "342", "St. Helens", "E08000013"),
    ("Local authority", "E13000001", "Inner London", "202", "Camden", "E09000007"),
]
BREAKDOWNS = [("Total", "Total"), ("Disadvantage", "Disadvantaged"), ("Disadvantage", "Not disadvantaged")]
SN_FILE = (
    "old_la_code,la_name,region_ind,region_name,SN_1,SN_1P\n"
    "340,Knowsley,2,North West,342,Close\n"
    "342,St Helens,2,North West,340,Close\n"
    "202,Camden,7,London,340,Not close\n"
)


def base_rows() -> list[str]:
    """A small valid KS2 file body: two years x England, the North West and three LAs x three
    breakdowns; counts consistent with the percentages."""
    rows = []
    for period, shift in (("202122", 0), ("202223", 1)):
        for number, (level, region_code, region_name, old, name, new) in enumerate(AREAS):
            for topic, breakdown in BREAKDOWNS:
                eligible = 1000 + 100 * number
                met = eligible * (55 + shift + number) // 100
                rows.append(
                    f"{period},Academic year,{level},E92000001,England,{region_code},{region_name},{old},{name},{new},"
                    f"Final,{topic},{breakdown},{eligible},{met},{round(100 * met / eligible)}"
                )
    return rows


def csv_text(rows: list[str], header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def line_of(rows: list[str], *parts: str) -> int:
    """File line (header = 1) of the first body row containing every part."""
    return next(i for i, row in enumerate(rows) if all(p in row.split(",") for p in parts)) + 2


def set_cell(rows: list[str], index: int, column: str, value: str, header: str = HEADER) -> None:
    cells = rows[index].split(",")
    cells[header.split(",").index(column)] = value
    rows[index] = ",".join(cells)


def index_of(rows: list[str], *parts: str) -> int:
    return line_of(rows, *parts) - 2


class Drop:
    """A release folder with one KS2 file (and optionally the SN model), listed in sources.yml."""

    def __init__(self, tmp_path: Path, monkeypatch):
        self.folder = tmp_path / "release"
        self.folder.mkdir()
        self.db = tmp_path / "build.duckdb"
        self.monkeypatch = monkeypatch
        monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
        monkeypatch.setenv("EDU_LANDING_DIR", str(tmp_path / "landing"))

    def write(self, content: str | bytes, name: str = "ks2_la.csv", *, sn: bool = False) -> Path:
        path = self.folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        sources = f"datasets:\n  ks2: {{files: [{name}]}}\n"
        if sn:
            (self.folder / "sn.csv").write_text(SN_FILE, encoding="utf-8")
            sources += "  statistical_neighbours: {files: [sn.csv]}\n"
        (self.folder / "sources.yml").write_text(sources, encoding="utf-8")
        self.monkeypatch.setenv("EDU_SOURCES", str(self.folder / "sources.yml"))
        self.path = path
        return path

    def ingest(self):
        return ingest(load_settings(), self.db)

    def gate(self) -> gates.GateResult:
        self.ingest()
        with duckdb.connect(str(self.db), read_only=True) as con:
            return gates.validate("raw_ks2", gates.raw_ees_frame(con, "ks2"))

    def assert_not_landed(self, path: Path | None = None) -> None:
        """A file refused on its bytes, header or size leaves nothing in the landing zone: no
        manifest record, no copy (the private copy it was checked on is gone too)."""
        path = path or self.path
        landing = load_settings().landing_dir
        sha = hashlib.sha256(path.read_bytes()).hexdigest()
        assert not [r for r in read_manifest(landing) if r.sha256 == sha], f"{path.name} was landed"
        assert not [p for p in landing.rglob("*") if p.is_file() and p.read_bytes() == path.read_bytes()]
        assert not list((landing / ".incoming").iterdir())

    def assert_kept_as_received(self, path: Path | None = None) -> None:
        path = path or self.path
        landed = [r for r in read_manifest(load_settings().landing_dir) if r.listed_as == path.name]
        assert landed, f"{path.name} was not landed"
        assert Path(landed[-1].landed_path).read_bytes() == path.read_bytes()


@pytest.fixture
def drop(tmp_path, monkeypatch) -> Drop:
    return Drop(tmp_path, monkeypatch)


def failure(result: gates.GateResult, check: str) -> str:
    """The failure message of the expectation labelled ``check``."""
    assert not result.passed, "the gate passed"
    found = [f for f in result.failures if f.startswith(check)]
    assert found, f"no failure '{check}' in:\n{result.summary()}"
    return found[0]


# --- the base is valid ------------------------------------------------------------------------


def test_the_base_file_passes_every_check(drop):
    drop.write(csv_text(base_rows()), sn=True)
    result = drop.gate()
    assert result.passed, result.summary()


# --- structure: the ingest refuses the file (PipelineInputError, nothing loaded) -----------------


def test_missing_required_column(drop):
    header = HEADER.replace("country_code,", "")
    rows = [",".join(c for i, c in enumerate(r.split(",")) if i != 3) for r in base_rows()]
    drop.write(csv_text(rows, header))
    with pytest.raises(PipelineInputError) as error:
        drop.ingest()
    assert str(error.value) == (
        "ks2_la.csv: required column(s) missing: country_code (dataset 'ks2'; the file's header row has "
        f"{len(header.split(','))} other column(s))"
    )
    assert not drop.db.exists()
    drop.assert_not_landed()


def test_renamed_column_not_in_the_alias_list(drop):
    drop.write(csv_text(base_rows(), HEADER.replace("pt_rwm_met_expected_standard", "PCT_RWM_Expected")))
    with pytest.raises(PipelineInputError) as error:
        drop.ingest()
    message = str(error.value)
    assert message.startswith(
        "ks2_la.csv: none of the ks2 indicator columns the measure catalogue reads is in the file, so it would add "
        "nothing: expected pt_rwm_met_expected_standard, pt_rwm_met_higher_standard,"
    )
    assert "; the file has 5 other column(s) besides the standard EES ones." in message
    assert "PCT_RWM_Expected" not in message and "pct_rwm_expected" not in message  # nothing of the file's own
    assert "aliases in dbt_project/dbt_project.yml (vars: ees_datasets: ks2: aliases)" in message
    assert not drop.db.exists()
    drop.assert_not_landed()


def test_renamed_column_in_the_alias_list_is_read(drop, monkeypatch):
    """The counterpart: DfE's 2024/25 KS4 names are aliases, so such a file loads."""
    header = HEADER.replace(
        "t_rwm_eligible_pupils,t_rwm_met_expected_standard,pt_rwm_met_expected_standard",
        "pupil_count,t_x,attainment8_average",
    )
    drop.write(csv_text(base_rows(), header))
    (drop.folder / "sources.yml").write_text("datasets:\n  ks4: {files: [ks2_la.csv]}\n", encoding="utf-8")
    results = {r.dataset: r for r in drop.ingest()}
    assert results["ks4"].row_count == len(base_rows())


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "ks2_la.csv: the file is empty (no header row)"),
        ((HEADER + "\n").encode(), "ks2_la.csv: the file has a header but no data rows"),
    ],
    ids=["zero-bytes", "header-only"],
)
def test_empty_file(drop, content, message):
    drop.write(content)
    with pytest.raises(PipelineInputError, match=f"^{re.escape(message)}$"):
        drop.ingest()
    drop.assert_not_landed()


def test_file_ten_times_the_usual_size_stops_until_accepted(drop, monkeypatch):
    monkeypatch.delenv("EDU_ALLOW_LARGE_FILES", raising=False)
    monkeypatch.delenv("EDU_MAX_ROWS_PER_FILE", raising=False)
    rows = base_rows()
    drop.write(csv_text(rows))
    drop.ingest()
    usual = drop.path.stat().st_size
    drop.write(csv_text(rows * 11))  # e.g. every year, or school-level, instead of the usual download
    with pytest.raises(PipelineInputError) as error:
        drop.ingest()
    message = str(error.value)
    assert message.startswith(f"ks2_la.csv: unusually large file: it is {drop.path.stat().st_size:,} bytes, ")
    assert f"x the {usual:,} bytes of its previous landing (sha256 " in message
    assert "run once with EDU_ALLOW_LARGE_FILES=1 to accept it" in message
    drop.assert_not_landed()
    with duckdb.connect(str(drop.db), read_only=True) as con:  # the build database was not touched
        assert con.execute("SELECT count(*) FROM raw.ks2").fetchone()[0] == len(rows)
    # A person confirms it once; the acceptance is recorded and later runs need no override.
    monkeypatch.setenv("EDU_ALLOW_LARGE_FILES", "1")
    assert {r.dataset: r.row_count for r in drop.ingest()}["ks2"] == len(rows) * 11
    assert (load_settings().landing_dir / ACCEPTED_LARGE_FILES).exists()
    monkeypatch.delenv("EDU_ALLOW_LARGE_FILES")
    assert {r.dataset: r.row_count for r in drop.ingest()}["ks2"] == len(rows) * 11


def test_file_over_the_row_limit(drop, monkeypatch):
    monkeypatch.delenv("EDU_ALLOW_LARGE_FILES", raising=False)
    monkeypatch.setenv("EDU_MAX_ROWS_PER_FILE", "20")
    drop.write(csv_text(base_rows()))
    with pytest.raises(
        PipelineInputError,
        match=r"^ks2_la\.csv: unusually large file: it has 30 data rows, more than EDU_MAX_ROWS_PER_FILE=20\.",
    ):
        drop.ingest()
    drop.assert_not_landed()


def test_zip_with_a_path_traversal_member(tmp_path):
    """Refused before anything is written. The whole path (url: source through the mock EES API,
    nothing landed) is tests/test_sources_lock.py::test_unsafe_zip_members_are_refused."""
    from orchestration.lib.sources.lock import RemoteSourceError, extract_zip

    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/ks2_la.csv", csv_text(base_rows()))
        zf.writestr("data/../../evil.csv", "x\n")
    target = tmp_path / "unzipped"
    target.mkdir()
    with pytest.raises(
        RemoteSourceError,
        match=r"^https://example\.org/release\.zip: the ZIP member 'data/\.\./\.\./evil\.csv' would be written outside its folder; refused$",
    ):
        extract_zip(archive, target, [], "https://example.org/release.zip", max_bytes=1 << 20)
    assert not list(tmp_path.rglob("evil.csv")) and not list(target.iterdir())


# --- form of the text: read correctly, recorded, kept as received --------------------------------


@pytest.mark.parametrize(
    "encode, encoding",
    [
        (lambda text: text.encode("cp1252"), "cp1252"),  # re-saved from Excel on Windows
        (lambda text: ("\ufeff" + text).encode("utf-8"), "utf-8"),  # byte order mark
        (lambda text: text.replace("\n", "\r\n").encode("utf-8"), "utf-8"),  # CRLF line endings
    ],
    ids=["cp1252", "bom", "crlf"],
)
def test_encoding_bom_and_line_endings(drop, encode, encoding):
    rows = [r.replace("St. Helens", "St. Hélens") for r in base_rows()]
    drop.write(encode(csv_text(rows)))
    result = drop.gate()
    assert result.passed, result.summary()
    first = index_of(rows, "202122", "342", "Total")
    with duckdb.connect(str(drop.db), read_only=True) as con:
        assert con.execute("SELECT encoding FROM raw.landed_files").fetchone()[0] == encoding
        assert con.execute(
            "SELECT la_name, _row_number FROM raw.ks2 WHERE old_la_code = '342' ORDER BY _row_number"
        ).fetchone() == ("St. Hélens", first + 2)
        assert con.execute("SELECT count(*) FROM raw.ks2").fetchone()[0] == len(rows)
        # the BOM is not part of the first column's name
        assert con.execute("SELECT original_name FROM raw.file_columns WHERE column_name = 'time_period'").fetchone()[
            0
        ] in ("time_period", "\ufefftime_period")
    drop.assert_kept_as_received()


# --- data: the raw gate fails and names file, line, column and value -----------------------------


def test_unknown_la_code(drop):
    rows = base_rows()
    for i in (
        index_of(rows, "202223", "342", "Total"),
        index_of(rows, "202223", "342", "Disadvantaged"),
        index_of(rows, "202223", "342", "Not disadvantaged"),
    ):
        set_cell(rows, i, "old_la_code", "999")
        set_cell(rows, i, "la_name", "Nowhere")
        set_cell(rows, i, "new_la_code", "E08000099")
    drop.write(csv_text(rows), sn=True)
    message = failure(
        drop.gate(), "LA code, name and region agree across rows and with the statistical neighbour model"
    )
    line = line_of(rows, "202223", "999", "Total")
    assert (
        f"rows: ks2_la.csv line {line}-{line + 2} (la_problem=old_la_code 999 ('Nowhere') is not an LA in "
        "the statistical neighbour model (sn.csv))"
    ) in message
    drop.assert_kept_as_received()


def test_la_name_that_does_not_match_its_code(drop):
    rows = base_rows()
    i = index_of(rows, "202122", "342", "Total")
    set_cell(rows, i, "la_name", "Knowsley")
    drop.write(csv_text(rows), sn=True)
    message = failure(drop.gate(), "LA code, name and region agree")
    assert (
        f"ks2_la.csv line {i + 2} (la_problem=old_la_code 342 in 202122: this row has E08000013 'Knowsley' "
        f"(region E12000002) but 2 other row(s) have E08000013 'St. Helens' (region E12000002), e.g. ks2_la.csv line {i + 3}; "
        "old_la_code 342 is 'St Helens' in the statistical neighbour model (sn.csv), not 'Knowsley')"
    ) in message


def test_an_la_recoded_by_ons_agrees_across_files_but_not_within_one(drop):
    """ONS gives an LA a new code when its status changes (North Yorkshire E10000023 became
    E06000065 in 2023): a timeseries restates earlier years with today's code while that year's own
    file keeps the code of its day. Across files that is one LA; within one file, a contradiction."""
    rows = base_rows()
    (drop.folder / "ks2_timeseries.csv").write_text(
        csv_text([r.replace("E08000013", "E06000099") for r in rows]), encoding="utf-8"
    )
    drop.write(csv_text(rows))
    sources = drop.folder / "sources.yml"
    sources.write_text("datasets:\n  ks2: {files: [ks2_la.csv, ks2_timeseries.csv]}\n", encoding="utf-8")
    assert drop.gate().passed
    i = index_of(rows, "202122", "342", "Total")
    set_cell(rows, i, "new_la_code", "E06000099")
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "LA code, name and region agree")
    assert f"ks2_la.csv line {i + 2} (la_problem=old_la_code 342 in 202122: this row has E06000099" in message


def test_new_la_code_that_belongs_to_another_la(drop):
    rows = base_rows()
    i = index_of(rows, "202122", "342", "Disadvantaged")
    set_cell(rows, i, "new_la_code", "E08000011")  # Knowsley's
    drop.write(csv_text(rows))  # no statistical neighbour model: the other rows are the reference
    message = failure(drop.gate(), "LA code, name and region agree")
    assert (
        f"ks2_la.csv line {i + 2} (la_problem=old_la_code 342 in 202122: this row has E08000011 'St. Helens' "
        "(region E12000002) but 2 other row(s) have E08000013 'St. Helens' (region E12000002)"
    ) in message
    assert (
        "new_la_code E08000011 in 202122: this row gives old_la_code 342 but 3 other row(s) give 340, "
        f"e.g. ks2_la.csv line {line_of(rows, '202122', '340', 'Total')})"
    ) in message


def test_la_listed_under_the_wrong_region(drop):
    rows = base_rows()
    for i, row in enumerate(rows):
        if row.split(",")[7] == "202":  # Camden, an Inner London borough, listed in the South East
            set_cell(rows, i, "region_code", "E12000008")
            set_cell(rows, i, "region_name", "South East")
    drop.write(csv_text(rows), sn=True)
    message = failure(drop.gate(), "LA code, name and region agree")
    first, last = line_of(rows, "202122", "202", "Total"), line_of(rows, "202223", "202", "Not disadvantaged")
    assert (
        f"rows: ks2_la.csv line {first}-{first + 2}, {last - 2}-{last} (la_problem=Camden (202) is in London "
        "(E12000007) according to the statistical neighbour model (sn.csv), not in region E12000008)"
    ) in message


def test_region_code_and_name_that_disagree(drop):
    rows = base_rows()
    i = index_of(rows, "202122", "Regional", "Total")
    set_cell(rows, i, "region_name", "North East")
    j = index_of(rows, "202223", "342", "Total")
    set_cell(rows, j, "region_code", "E12000010")
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "region code is an English region and matches its name")
    assert f"ks2_la.csv line {i + 2} (region_problem=region_code E12000002 is North West, not 'North East')" in message
    assert (
        f"ks2_la.csv line {j + 2} (region_problem=region_code E12000010 is not an English region "
        "(E12000001-E12000009, or E13000001/E13000002 for Inner/Outer London))"
    ) in message


def test_duplicate_rows(drop):
    rows = base_rows()
    i = index_of(rows, "202122", "340", "Disadvantaged")
    rows.insert(i + 1, rows[i])
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "no duplicate rows (time x geography x filters x version in a file)")
    assert (
        f"rows: ks2_la.csv line {i + 2}-{i + 3} (time_period=202122, time_identifier=Academic year, "
        "geographic_level=Local authority, region_code=E12000002, old_la_code=340, new_la_code=E08000011, "
        "filter_key=breakdown=Disadvantaged|breakdown_topic=Disadvantage, version=Final)"
    ) in message


def test_percentage_outside_0_to_100(drop):
    rows = base_rows()
    i = index_of(rows, "202122", "342", "Total")
    set_cell(rows, i, "pt_rwm_met_expected_standard", "140")
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "percentage within 0-100")
    assert f"rows: ks2_la.csv line {i + 2} (indicator=pt_rwm_met_expected_standard, value=140.0)" in message


def test_numerator_above_denominator(drop):
    rows = base_rows()
    i = index_of(rows, "202223", "Regional", "Disadvantaged")
    set_cell(rows, i, "t_rwm_met_expected_standard", "1200")  # out of 1100 eligible pupils
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "no count above the count it is out of")
    assert (
        f"rows: ks2_la.csv line {i + 2} (count_problem=t_rwm_met_expected_standard 1200 is more than "
        "t_rwm_eligible_pupils 1100)"
    ) in message


@pytest.mark.parametrize("column", ["pt_rwm_met_expected_standard", "t_rwm_eligible_pupils"])
def test_non_numeric_junk_that_is_not_an_ees_symbol(drop, column):
    """Without a .meta.csv too: an indicator column with a junk cell stays an indicator (read as a
    filter, it would silently drop the whole file from every measure). In a column a measure reads
    it blocks, naming the line; in one no measure reads it is a warning naming the line."""
    rows = base_rows()
    i = index_of(rows, "202122", "340", "Total")
    set_cell(rows, i, column, "n/a")
    drop.write(csv_text(rows))
    result = drop.gate()
    with duckdb.connect(str(drop.db), read_only=True) as con:
        role = con.execute("SELECT role FROM raw.file_columns WHERE column_name = ?", [column]).fetchall()
        warnings = gates.raw_warnings(con, "ks2")
    assert role == [("indicator",)]
    if column == "pt_rwm_met_expected_standard":
        message = failure(result, "cell is a number or an EES symbol")
        assert f"1 unexpected; rows: ks2_la.csv line {i + 2} (indicator={column}, raw_value=n/a)" in message
    else:
        assert result.passed
        assert warnings == [
            f"column {column} (no measure reads it): 1 cell(s) neither a number nor an EES symbol, "
            f"e.g. ks2_la.csv line {i + 2}: n/a"
        ]


def test_mixed_time_identifiers(drop):
    rows = base_rows()
    i = index_of(rows, "202223", "342", "Disadvantaged")
    set_cell(rows, i, "time_identifier", "Calendar year")
    drop.write(csv_text(rows))
    result = drop.gate()
    assert f"ks2_la.csv line {i + 2} (time_identifier=Calendar year)" in failure(result, "time identifier")
    assert (
        f"ks2_la.csv line {i + 2} (time_problem=the file mixes time identifiers: 'Academic year' on 29 rows, "
        "'Calendar year' on this one; time_period 202223 does not fit time_identifier 'Calendar year': "
        "expected a four-digit year)"
    ) in failure(result, "time period fits its time identifier")


@pytest.mark.parametrize(
    "period, problem",
    [
        (
            "2022",
            "time_period 2022 does not fit time_identifier 'Academic year': expected six digits, the two years (e.g. 202122)",
        ),
        ("202123", "time_period 202123 is not a year and the next (expected 202122)"),
    ],
)
def test_four_digit_time_period_in_an_academic_year_file(drop, period, problem):
    rows = base_rows()
    i = index_of(rows, "202122", "Regional", "Disadvantaged")
    set_cell(rows, i, "time_period", period)
    drop.write(csv_text(rows))
    result = drop.gate()
    assert f"ks2_la.csv line {i + 2} (time_problem={problem})" in failure(
        result, "time period fits its time identifier"
    )
    if period == "2022":
        assert f"ks2_la.csv line {i + 2} (time_period=2022)" in failure(result, "academic-year time period (YYYYYY)")


def test_headline_total_row_missing_for_a_filter(drop):
    rows = base_rows()
    i = index_of(rows, "202223", "342", "Total")
    del rows[i]
    drop.write(csv_text(rows))
    message = failure(drop.gate(), "headline row (every totalled filter = Total) present for each period and area")
    assert (
        f"rows: ks2_la.csv line {i + 2} (headline_problem=no headline row (breakdown=Total, breakdown_topic=Total) "
        f"for 202223 342 St. Helens: its 2 row(s), lines {i + 2}-{i + 3}, are all breakdowns)"
    ) in message


def test_filter_without_any_total_is_not_a_missing_headline(drop):
    """DfE files split by a filter with no Total value (e.g. social_care_group, or a filter nothing
    selects on) have no headline row to miss: each value is its own series."""
    groups = {
        ",Total,Total,": ",CINO at 31 March,Total,",
        ",Disadvantage,Disadvantaged,": ",CLA 12 months at 31 March,Total,",
        ",Disadvantage,Not disadvantaged,": ",CPPO at 31 March,Total,",
    }
    for column, read in (("social_care_group", True), ("care_status", False)):
        rows = []
        for row in base_rows():
            for before, after in groups.items():
                row = row.replace(before, after)
            rows.append(row)
        drop.write(csv_text(rows, HEADER.replace("breakdown_topic,breakdown", f"{column},breakdown")))
        assert drop.gate().passed
        with duckdb.connect(str(drop.db), read_only=True) as con:
            warnings = gates.raw_warnings(con, "ks2")
        if read:  # the catalogue's children-in-need rows read each group
            assert warnings == []
        else:  # nothing of it can be published: a warning says so
            assert warnings == [
                f"ks2_la.csv: no measure reads this file, as no row of it is a headline row: {column} never "
                "holds 'Total' (it holds CINO at 31 March, CLA 12 months at 31 March, CPPO at 31 March) (a "
                "catalogue row naming one of those values would read it)"
            ]


# --- marts: national value implausibly far from last year's (mart_fct_area_measure) --------------


def national(measure: str, unit: str, value: float, previous: float | None, **extra) -> dict:
    return dict(
        measure_code=measure,
        breakdown="all",
        time_period=202324,
        academic_year="2023/24",
        area_level="national",
        area_code="E92000001",
        area_name="England",
        value=value,
        value_status="published",
        release="final",
        previous_time_period=202223 if previous is not None else None,
        previous_value=previous,
        change_vs_previous=None if previous is None else round(value - previous, 2),
        polarity="high",
        unit=unit,
        decimal_places=1,
        comparability_note=None,
        **extra,
    )


def area_gate(*rows: dict) -> gates.GateResult:
    frame = bounds.flagged(pd.DataFrame(list(rows)).astype({"previous_value": float, "change_vs_previous": float}))
    return gates.validate(
        "mart_fct_area_measure", frame, {"catalogue_measure_codes": sorted({r["measure_code"] for r in rows})}
    )


def test_national_value_implausibly_far_from_last_year():
    result = area_gate(
        national("ks2_rwm_expected", "%", 74.0, 58.0),  # +16 points in a year
        national("ks4_attainment8", "score", 55.0, 42.0),  # +31%
        national("ks4_progress8", "score", 0.45, -0.2),  # a score near zero: +0.65
        # a group's score near zero may move up to 1, not 1.4: SEN support's Progress 8 of -1.2 is judged
        # by that rule (-1.2 to -0.5 passes), not by 25% of itself
        national("ks4_progress8", "score", -0.5, -1.2) | {"breakdown": "sen_support"},
        national("ks4_progress8", "score", -1.1, 0.3) | {"breakdown": "white"},
        national(
            "ks2_rwm_expected",
            "%",
            59.0,
            58.0,
        )
        | {
            "area_level": "regional",
            "area_code": "E12000002",
            "value": 40.0,
            "change_vs_previous": -18.0,
        },  # regions may move more
    )
    assert (
        "national change vs last comparable year within 15 points (percentages and rates)" in result.summary()
        and "rows: measure_code=ks2_rwm_expected, breakdown=all, time_period=202324, area_code=E92000001 "
        "(change_vs_previous=16.0)"
        in result.summary()
    )
    assert (
        "rows: measure_code=ks4_attainment8, breakdown=all, time_period=202324, area_code=E92000001 "
        "(change_vs_previous=13.0)"
        in failure(
            result, "national change vs last comparable year within 25% of the previous value (scores of 2 or more)"
        )
    )
    assert (
        "measure_code=ks4_progress8, breakdown=all, time_period=202324, area_code=E92000001 (change_vs_previous=0.65)"
        in failure(result, "national change vs last comparable year within 0.5 (scores near zero")
    )
    assert (
        "measure_code=ks4_progress8, breakdown=white, time_period=202324, area_code=E92000001 (change_vs_previous=-1.4)"
        in failure(result, "national change of a group vs last comparable year within 1 (scores near zero")
    )
    assert "breakdown=sen_support" not in result.summary()
    assert len(result.failures) == 4, result.summary()


def test_national_change_is_not_checked_where_a_new_series_starts():
    # previous_value is null when the period starts a new comparable series (e.g. EYFS 2021/22)
    assert area_gate(
        national("ks2_rwm_expected", "%", 59.0, None), national("ks4_attainment8", "score", 46.0, 45.5)
    ).passed


# --- real DfE files pass every new check ---------------------------------------------------------


@pytest.mark.backtest
@pytest.mark.slow
def test_real_dfe_files_pass_the_raw_checks(tmp_path, monkeypatch):
    ks2, ks4 = reference_file("ees_real", "ks2_la.csv"), reference_file("ees_real", "ks4_la.csv")
    sn = reference_file("ees_real", "sn_model_2025_wide.csv")
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDU_LANDING_DIR", str(tmp_path / "landing"))
    sources = tmp_path / "sources.yml"
    sources.write_text(
        f"datasets:\n  ks2: {{files: ['{ks2}']}}\n  ks4: {{files: ['{ks4}']}}\n  statistical_neighbours: {{files: ['{sn}']}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("EDU_SOURCES", str(sources))
    ingest(load_settings(), tmp_path / "build.duckdb")
    with duckdb.connect(str(tmp_path / "build.duckdb"), read_only=True) as con:
        for dataset in ("ks2", "ks4"):
            frame = gates.raw_ees_frame(con, dataset)
            assert frame[list(gates.ROW_PROBLEM_COLUMNS)].isna().all().all(), (
                gates.raw_row_problems(con, dataset).head().to_string()
            )
            result = gates.validate(f"raw_{dataset}", frame)
            assert result.passed, result.summary()


# Gate policy: block what would be published wrong, warn about what nothing publishes ------------


def test_rows_at_levels_nothing_publishes_warn_and_never_block(drop):
    """DfE's files carry School and LA district rows (with `z` country codes, repeated LA codes and
    cells no check expects); they stay in raw as landed, are counted, and block nothing."""
    rows = base_rows()
    extra = [
        "202223,Academic year,School,z,Outside England,,,340,Knowsley,E08000011,Final,Total,Total,10,5,..",
        "202223,Academic year,School,z,Outside England,,,340,Knowsley,E08000011,Final,Total,Total,10,5,..",
        "202223,Academic year,Local authority district,E92000001,England,E12000002,North West,340,Knowsley,E08000011,"
        "Final,Total,Total,10,5,50",
    ]
    drop.write(csv_text(rows + extra))
    result = drop.gate()
    assert result.passed, result.summary()
    with duckdb.connect(str(drop.db), read_only=True) as con:
        warnings = gates.raw_warnings(con, "ks2")
        kept = con.execute("SELECT count(*) FROM raw.ks2 WHERE geographic_level <> 'Local authority'").fetchall()
    assert warnings == [
        "3 row(s) at levels no measure publishes (School 2, Local authority district 1): kept in raw.ks2, "
        "not checked, not published"
    ]
    assert kept[0][0] == 3 + sum(1 for r in rows if ",National," in r or ",Regional," in r)


def test_area_rows_without_a_code_column_warn_with_the_first_line(drop):
    """A file with Regional rows and no region_code column: the rows name no area they could be
    published under, so they are left out, and said (a blank code cell in the column stops the
    gate at the suites' code check)."""
    columns = HEADER.split(",")
    keep = [i for i, c in enumerate(columns) if c not in ("region_code", "region_name")]
    rows = [",".join(row.split(",")[i] for i in keep) for row in base_rows()]
    regional = [i for i, row in enumerate(rows) if ",Regional," in row]
    drop.write(csv_text(rows, ",".join(columns[i] for i in keep)))
    result = drop.gate()
    assert result.passed, result.summary()
    with duckdb.connect(str(drop.db), read_only=True) as con:
        warnings = gates.raw_warnings(con, "ks2")
    assert warnings == [
        f"{len(regional)} regional row(s) without region_code (first: ks2_la.csv line {regional[0] + 2}): "
        "kept in raw.ks2, not published",
    ]
    # a blank cell in the column blocks
    rows = base_rows()
    set_cell(rows, next(i for i, row in enumerate(rows) if ",Regional," in row), "region_code", "")
    drop.write(csv_text(rows))
    result = drop.gate()
    assert not result.passed and "region code valid" in result.summary()


def test_a_column_no_measure_reads_warns_where_a_read_column_blocks(drop):
    """NEET's september_guarantee_offer_made_percent held 100.2 (Thurrock): no measure reads it."""
    header = HEADER + ",september_guarantee_offer_made_percent"
    rows = [row + ",97.5" for row in base_rows()]
    set_cell(
        rows,
        index_of(rows, "342", "Disadvantaged", "202223"),
        "september_guarantee_offer_made_percent",
        "100.2",
        header,
    )
    set_cell(
        rows, index_of(rows, "340", "Disadvantaged", "202122"), "september_guarantee_offer_made_percent", "n/a", header
    )
    drop.write(csv_text(rows, header))
    assert drop.gate().passed
    with duckdb.connect(str(drop.db), read_only=True) as con:
        (warning,) = gates.raw_warnings(con, "ks2")
    assert warning.startswith(
        "column september_guarantee_offer_made_percent (no measure reads it): 1 cell(s) neither a number nor an EES "
        "symbol and 1 percentage(s) outside 0-100, e.g. ks2_la.csv line "
    )
    # the same value in the column the measures read stops the file, naming the line
    rows = base_rows()
    index = index_of(rows, "342", "Disadvantaged", "202223")
    set_cell(rows, index, "pt_rwm_met_expected_standard", "100.2")
    drop.write(csv_text(rows))
    result = drop.gate()
    assert not result.passed and f"line {index + 2}" in result.summary()


@pytest.mark.parametrize("cell", [".", "NA", "na", "C", "x"])
def test_older_dfe_symbols_and_symbols_in_capitals_pass_the_gate(drop, cell):
    rows = base_rows()
    set_cell(rows, index_of(rows, "342", "Disadvantaged", "202223"), "pt_rwm_met_expected_standard", cell)
    drop.write(csv_text(rows))
    assert drop.gate().passed


def test_a_filter_with_many_values_and_its_total_is_readable(drop):
    """EYFSP 2022's characteristic has eight values, Total sorting last: not a file nothing reads."""
    header = HEADER.replace(",breakdown_topic,", ",characteristic,breakdown_topic,")
    rows = []
    for row in base_rows():
        cells = row.split(",")
        for value in ("Asian", "Black", "Boys", "Girls", "Mixed", "Other", "SEN", "Total"):
            rows.append(",".join([*cells[:11], value, *cells[11:]]))
    drop.write(csv_text(rows, header))
    drop.gate()
    with duckdb.connect(str(drop.db), read_only=True) as con:
        assert gates.raw_warnings(con, "ks2") == []


# --- absurd numbers: every number a measure reads is finite and within its bounds -------------

KS4_HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,la_name,new_la_code,version,t_pupils,avg_att8,avg_p8score,avg_ebaccaps,pt_l2basics_95"
)


def ks4_rows() -> list[str]:
    """The KS2 rows' areas and years as a KS4 file: headline rows with plausible scores."""
    rows = []
    for row in base_rows():
        cells = row.split(",")
        if cells[12] == "Total":
            rows.append(",".join([*cells[:11], cells[13], "46.1", "-0.05", "4.05", "45.2"]))
    return rows


@pytest.mark.parametrize(
    "column, value, check",
    [
        ("avg_p8score", "1e27", "avg_p8score within -5-5"),
        ("avg_p8score", "-7.5", "avg_p8score within -5-5"),
        ("avg_ebaccaps", "99999", "avg_ebaccaps within 0-9"),
        ("avg_att8", "91", "avg_att8 within 0-90"),
        ("avg_att8", "1e400", "number is finite"),
        ("avg_p8score", "-1e400", "number is finite"),
        ("pt_l2basics_95", "1e400", "number is finite"),
    ],
)
def test_an_absurd_score_stops_at_the_raw_gate_naming_file_line_and_column(drop, column, value, check):
    rows = ks4_rows()
    index = index_of(rows, "202223", "342")
    set_cell(rows, index, column, value, KS4_HEADER)
    drop.write(csv_text(rows, KS4_HEADER))
    (drop.folder / "sources.yml").write_text("datasets:\n  ks4: {files: [ks2_la.csv]}\n", encoding="utf-8")
    drop.ingest()
    with duckdb.connect(str(drop.db), read_only=True) as con:
        result = gates.validate("raw_ks4", gates.raw_ees_frame(con, "ks4"))
    assert not result.passed
    message = failure(result, check)
    assert f"ks2_la.csv line {index + 2} (indicator={column}, value=" in message


@pytest.mark.parametrize(
    "name, passes",
    [
        ("St Hel", True),  # DfE's level 2/3 file cuts names short ('Wals', 'Cornw')
        ("St", False),  # too short to name anyone
        ("Saint Helens", False),  # not a shortening
        ("Knowsley", False),  # another LA's name
    ],
)
def test_an_la_name_cut_short_passes_only_when_it_names_one_la(drop, name, passes):
    rows = [r.replace("St. Helens", name) for r in base_rows()]
    drop.write(csv_text(rows), sn=True)
    result = drop.gate()
    assert result.passed is passes, result.summary()


def test_a_shortening_that_starts_two_las_names_blocks(drop):
    """'St' + 'Hel...' is unique; 'Knows' is not when the model also has a 'Knowsley Vale'."""
    rows = [r.replace("Knowsley", "Knows") for r in base_rows()]
    drop.write(csv_text(rows), sn=True)
    assert drop.gate().passed
    (drop.folder / "sn.csv").write_text(SN_FILE + "341,Knowsley Vale,2,North West,342,Close\n", encoding="utf-8")
    message = failure(drop.gate(), "LA code, name and region agree")
    assert "old_la_code 340 is 'Knowsley' in the statistical neighbour model (sn.csv), not 'Knows'" in message


def _gate_run(drop: Drop):
    """Ingest and raw gates of ks2 and the SN model through Dagster, as the UI's materialisation of
    those two raw tables runs them: their gates are judged in one step."""
    import dagster as dg

    from orchestration.defs.ingest.assets import ingest_raw_files, raw_asset_key
    from orchestration.defs.ingest.checks import raw_checks
    from orchestration.defs.ingest.resources import WarehouseResource

    result = dg.materialize(
        [ingest_raw_files, *raw_checks()],
        selection=[raw_asset_key("ks2"), raw_asset_key("statistical_neighbours")],
        resources={"warehouse": WarehouseResource()},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    checks = [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()]
    failures = [e for e in result.all_events if e.is_step_failure]
    return result, checks, failures


def test_a_failed_raw_gate_blocks_and_the_others_are_still_judged(drop):
    rows = base_rows()
    set_cell(rows, index_of(rows, "202122", "342", "Total"), "pt_rwm_met_expected_standard", "140")
    drop.write(csv_text(rows), sn=True)
    result, checks, failures = _gate_run(drop)
    # the SN model's gate is judged too (this three-LA model is too small to pass it)
    assert [name for name, _ in checks] == ["gx_raw_ks2", "gx_raw_statistical_neighbours"] and not checks[0][1]
    assert not result.success and [f.step_key for f in failures] == ["raw_gates"]
    assert failures[0].step_failure_data.error.cls_name == "DagsterAssetCheckFailedError"


def test_a_raw_gate_that_cannot_run_fails_its_step_after_the_others_are_judged(drop, monkeypatch):
    drop.write(csv_text(base_rows()), sn=True)

    def broken(con, dataset):
        raise RuntimeError(f"cannot read raw.{dataset}")

    monkeypatch.setattr(gates, "raw_ees_frame", broken)
    result, checks, failures = _gate_run(drop)
    assert [name for name, _ in checks] == ["gx_raw_statistical_neighbours"]
    assert [f.step_key for f in failures] == ["raw_gates"]
    assert "1 gate(s) could not run:\nraw_ks2: RuntimeError: cannot read raw.ks2" in (
        failures[0].step_failure_data.error.cause.message
    )
