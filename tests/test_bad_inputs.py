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

import io
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.lib import gates
from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest import ACCEPTED_LARGE_FILES, ingest
from orchestration.lib.landing import read_manifest
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
