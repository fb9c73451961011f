"""Backtest on DfE's real downloads as published (../shared/data), each from a plain `files:`
entry: no per-file settings, no hand edits. One pipeline run on five real files together, then
one test per quirk they carry and the published values against DfE's own LAIT figures.

- ``statistical_neighbours/sn_may_2025.xlsx``: DfE's workbook (title rows, SNP columns, a block
  of predecessor LAs under a caption)
- ``ees/exclusions/exclusions_by_geographic_level.csv.gz``: gzipped, 235,050 School rows with
  `z` codes, `.` cells, LAs abolished in 2009 with no ONS code
- ``ees/eyfsp/1_eyfsp_headline_measures_2022.csv``: characteristic columns, LA district rows,
  Cumbria (909) where the 2025 model has Cumberland and Westmorland and Furness
- ``ees/eyfsp/EYFSP_APS_GLD_ELG_underlying_data_2013_2018.csv``: `gld_percent`, England's 51.7
  in 2012/13
- ``ees/neet/UD_NEETNK_LA_dashboard_2023_final.csv``: 100.2 in a column no measure reads, no City
  of London or Isles of Scilly

Skipped cleanly when ../shared is absent.
"""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from tests.conftest import REPO_ROOT, pipeline_env

pytestmark = [pytest.mark.backtest, pytest.mark.e2e]

DATA = REPO_ROOT.parent / "shared" / "data"
LAIT = REPO_ROOT.parent / "shared" / "reference" / "lait" / "bds_long.parquet"
FILES = {
    "statistical_neighbours": "statistical_neighbours/sn_may_2025.xlsx",
    "exclusions": "ees/exclusions/exclusions_by_geographic_level.csv.gz",
    "eyfs": [
        "ees/eyfsp/1_eyfsp_headline_measures_2022.csv",
        "ees/eyfsp/EYFSP_APS_GLD_ELG_underlying_data_2013_2018.csv",
    ],
    "neet": "ees/neet/UD_NEETNK_LA_dashboard_2023_final.csv",
}


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    paths = [DATA / p for v in FILES.values() for p in ([v] if isinstance(v, str) else v)]
    if not all(p.exists() for p in paths) or not LAIT.exists():
        pytest.skip("../shared/data (DfE's real downloads) not available")
    workdir = tmp_path_factory.mktemp("real_files")
    lines = ["datasets:"]
    for dataset, entry in FILES.items():
        listed = [entry] if isinstance(entry, str) else entry
        lines.append(f"  {dataset}:\n    files:")
        lines += [f"      - {DATA / p}" for p in listed]
    sources = workdir / "sources.yml"
    sources.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"],
        cwd=REPO_ROOT,
        env=pipeline_env(workdir, sources, EDU_RUN_OUTPUTS="0"),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-3000:]
    report = (workdir / "warehouse" / "build" / "logs" / "run_report.txt").read_text(encoding="utf-8")
    con = duckdb.connect(str(workdir / "warehouse" / "education.duckdb"), read_only=True)
    yield result.stdout, report, con
    con.close()


def published(con, measure: str, breakdown: str = "all") -> dict[tuple[int, str], float]:
    return {
        (period, code): value
        for period, code, value in con.execute(
            "SELECT time_period, old_la_code, value FROM marts.fct_la_measure "
            "WHERE measure_code = ? AND breakdown = ? AND value_status = 'published'",
            [measure, breakdown],
        ).fetchall()
    }


def lait(code: str, period_of) -> dict[tuple[int, str], float]:
    rows = duckdb.execute(
        'SELECT "Years", CAST("LA Number" AS INTEGER), "Values" FROM read_parquet(?) '
        'WHERE "Short Desc" = ? AND "LA Number" IS NOT NULL',
        [str(LAIT), code],
    ).fetchall()
    out = {}
    for years, number, value in rows:
        try:
            out[(period_of(years), f"{number:03d}")] = float(value)
        except (TypeError, ValueError):
            continue  # LAIT's '-' and 'c'
    return out


def match_rate(ours: dict, theirs: dict, places: int) -> tuple[float, int]:
    common = sorted(set(ours) & set(theirs))
    same = sum(round(ours[k], places) == round(theirs[k], places) for k in common)
    return (same / len(common) if common else 0.0), len(common)


def test_every_file_publishes_from_a_plain_files_entry(real_run):
    stdout, _, con = real_run
    assert "published; every step and gate passed (exit 0)" in stdout
    series = con.execute(
        "SELECT measure_code, breakdown FROM marts.fct_la_measure WHERE value_status = 'published' GROUP BY ALL"
    ).fetchall()
    assert {("eyfs_gld", "all"), ("neet_16_17", "all"), ("exclusions_permanent_rate", "all")} <= set(series)


def test_school_rows_and_district_rows_warn_with_their_counts(real_run):
    _, report, con = real_run
    assert "235,050 row(s) at levels no measure publishes (School 235,050)" in report
    assert "row(s) at levels no measure publishes (Local authority district 1,860)" in report
    # its `characteristic` has eight values, Total the last in order: the file is read, and said to be
    assert "no measure reads this file" not in report
    # kept in raw as landed, never published
    assert con.execute("SELECT count(*) FROM marts.fct_la_measure WHERE old_la_code IS NULL").fetchall() == [(0,)]


def test_an_unread_column_out_of_range_warns_and_the_file_publishes(real_run):
    _, report, con = real_run
    assert "column september_guarantee_offer_made_percent (no measure reads it)" in report
    assert "1 percentage(s) outside 0-100" in report
    assert len(published(con, "neet_16_17")) >= 148


def test_city_of_london_and_scilly_missing_only_warn(real_run):
    _, report, _ = real_run
    assert "201 City of London: missing from" in report and "420 Isles of Scilly: missing from" in report


def test_cumbria_before_its_split_completes_the_geography(real_run):
    _, _, con = real_run
    rows = con.execute("SELECT DISTINCT old_la_code FROM marts.fct_la_measure WHERE time_period = 202122").fetchall()
    codes = {c for (c,) in rows}
    assert "909" in codes and not {"942", "943"} & codes


def test_englands_gld_of_51_7_in_2012_13_passes_the_catalogues_bounds(real_run):
    _, _, con = real_run
    england = con.execute(
        "SELECT value FROM marts.fct_area_measure WHERE measure_code = 'eyfs_gld' AND breakdown = 'all' "
        "AND area_level = 'national' AND time_period = 201213"
    ).fetchall()
    assert england == [(51.7,)]


def test_older_symbols_read_as_symbols(real_run):
    _, _, con = real_run
    statuses = dict(
        con.execute(
            "SELECT value_status, count(*) FROM marts.fct_la_measure WHERE measure_code LIKE 'exclusions%' GROUP BY 1"
        ).fetchall()
    )
    assert statuses.get("published", 0) > 0 and "missing" not in statuses


def test_values_match_lait(real_run):
    """Every overlapping LA x year value equals DfE's LAIT figure at the published decimals."""
    _, _, con = real_run
    checks = [
        ("eyfs_gld", "FSP_NEW_GOODDEV", lambda y: (int(y) - 1) * 100 + int(y) % 100, 1),
        ("exclusions_permanent_rate", "TotPermEx", lambda y: int(y[:4]) * 100 + int(y[5:]), 2),
    ]
    for measure, code, period_of, places in checks:
        rate, common = match_rate(published(con, measure), lait(code, period_of), places)
        assert common >= 100, (measure, common)
        assert rate >= 0.99, (measure, rate, common)
