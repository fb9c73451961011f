"""Adding a DfE dataset is one registry entry plus catalogue rows: in a copy of the project, a new
EES dataset (16 to 18 destination measures, whose data_type filter has no Total row: its headline is
Percentage) gets one entry in vars.ees_datasets and two measure_catalogue rows; `make generate`
and one run later its values are in the published marts.fct_la_measure."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import REPO_ROOT, pipeline_env

pytestmark = pytest.mark.slow

DATASET = "ks5_destinations"
MEASURE = "destination_ks5_sustained"
PERIODS = ("202122", "202223")

ENTRY = f"""    {DATASET}:
      title: 16 to 18 destination measures
      publication: 16-18-destination-measures
      description: Rows come as counts and as percentages (the data_type filter); the headline is Percentage.
      periods: academic_year
      geographic_levels: [National, Regional, Local authority]
      required_columns: [time_period, time_identifier, geographic_level, country_code]
      headline:
        data_type: Percentage
      gate:
        percentages: {{min: 0, max: 100}}
        ranges:
          cohort: {{min: 0, max: 1000000}}
"""
CATALOGUE_ROWS = (
    f'{MEASURE},"16 to 18 destinations: students in sustained education, apprenticeship or employment",'
    f"destinations,{DATASET},overall,,all,%,high,0,80,100,England's sustained destinations run 85-95%,,,,,\n"
    f'{MEASURE},"16 to 18 destinations: students in sustained education, apprenticeship or employment",'
    f"destinations,{DATASET},overall,characteristic=Disadvantaged,disadvantaged,%,high,0,,,,,,,,\n"
)
COLUMNS = [
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
    "la_name",
    "new_la_code",
    "version",
    "data_type",
    "characteristic",
    "cohort",
    "overall",
    "education",
]
META = """col_name,col_type,label,indicator_grouping,indicator_unit,filter_hint,filter_grouping_column
version,Filter,Version,,,,
data_type,Filter,Data type,,,Number or percentage of the cohort,
characteristic,Filter,Characteristic,,,Filter by pupil characteristic,
cohort,Indicator,Number of pupils in the cohort,,,,
overall,Indicator,"Sustained education, apprenticeship or employment",,,,
education,Indicator,Sustained education,,,,
"""


def _ignore(folder: str, names: list[str]) -> set[str]:
    """Copy the project without its environment, build artefacts, landing zone or warehouse."""
    here = Path(folder)
    skipped = {".venv", ".tools", ".git", ".dagster_home", "__pycache__", ".pytest_cache", "logs"}
    if here == REPO_ROOT:
        skipped |= {"warehouse"}
    if here == REPO_ROOT / "raw":
        skipped |= {"landing"}
    if here == REPO_ROOT / "dbt_project":
        skipped |= {"target"}
    return skipped & set(names)


def expected_percent(area: str, period: str, characteristic: str) -> float:
    """The published percentage of the synthetic file: by LA number, region or England, one point
    higher in the later year, ten lower for disadvantaged pupils."""
    base = 93.0 if area == "E92000001" else 90.0 + int(area[-1]) / 2 if area.startswith("E1") else 88 + int(area) % 9
    return base + PERIODS.index(period) - (10 if characteristic == "Disadvantaged" else 0)


def _area(row: dict) -> str:
    level = row["geographic_level"]
    return (
        row["country_code"]
        if level == "National"
        else row["region_code"]
        if level == "Regional"
        else row["old_la_code"]
    )


def write_dataset(folder: Path) -> Path:
    """An EES-format file (with its .meta.csv) for every area of the sample's KS4 file: a Number
    and a Percentage row per area, characteristic and period; City of London's disadvantaged
    figures suppressed (c)."""
    with (REPO_ROOT / "raw/sample/ks4/ks4_la_timeseries.csv").open(encoding="utf-8", newline="") as handle:
        areas = [
            r
            for r in csv.DictReader(handle)
            if r["time_period"] == "202324"
            and r["breakdown_topic"] == "Total"
            and r["breakdown"] == "Total"
            and r["sex"] == "Total"
        ]
    folder.mkdir(parents=True)
    path = folder / "ks5_destinations_la.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for period in PERIODS:
            for area in areas:
                geography = [area[c] for c in COLUMNS[2:10]]
                for characteristic in ("Total", "Disadvantaged"):
                    cohort = 1000 + (int(area["old_la_code"]) if area["old_la_code"] else 5000)
                    cohort //= 4 if characteristic == "Disadvantaged" else 1
                    percent = expected_percent(_area(area), period, characteristic)
                    cells = [
                        [str(cohort), str(round(cohort * percent / 100)), str(round(cohort * (percent - 5) / 100))],
                        [str(cohort), f"{percent:g}", f"{percent - 5:g}"],
                    ]
                    if area["old_la_code"] == "201" and characteristic == "Disadvantaged":
                        cells = [["c", "c", "c"], ["c", "c", "c"]]
                    for data_type, values in zip(("Number", "Percentage"), cells):
                        writer.writerow(
                            [period, "Academic year", *geography, "Final", data_type, characteristic, *values]
                        )
    path.with_name("ks5_destinations_la.meta.csv").write_text(META, encoding="utf-8")
    return path


def test_a_new_dataset_is_one_entry_plus_catalogue_rows(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(REPO_ROOT, project, ignore=_ignore, symlinks=True)

    # The one registry entry, and the catalogue rows.
    dbt_project = project / "dbt_project/dbt_project.yml"
    text = dbt_project.read_text(encoding="utf-8")
    anchor = "  # The kinds of EES period a dataset can have"
    assert text.count(anchor) == 1
    dbt_project.write_text(text.replace(anchor, ENTRY + anchor), encoding="utf-8")
    with (project / "dbt_project/seeds/measure_catalogue.csv").open("a", encoding="utf-8") as handle:
        handle.write(CATALOGUE_ROWS)
    data = write_dataset(tmp_path / "data")
    sources = yaml.safe_load((project / "sources.yml").read_text(encoding="utf-8"))
    sources["datasets"][DATASET] = {"files": [str(data)]}
    (project / "sources.yml").write_text(yaml.safe_dump(sources, sort_keys=False), encoding="utf-8")

    env = {
        **pipeline_env(tmp_path, project / "sources.yml", EDU_RUN_OUTPUTS="0"),
        "PYTHONPATH": str(project),
        # the new dataset's file sits beside the project copy, a folder the operator names
        "EDU_SOURCE_DIRS": os.pathsep.join([os.environ.get("EDU_SOURCE_DIRS", ""), str(tmp_path / "data")]),
    }
    generate = subprocess.run(
        [sys.executable, "-m", "orchestration.lib.rules.registry"], cwd=project, env=env, capture_output=True, text=True
    )
    assert generate.returncode == 0, generate.stderr
    assert generate.stdout.splitlines() == [
        "dbt_project/models/staging/ees/_ees__sources.yml differs from the registry",
        "dbt_project/models/staging/ees/_stg_ees__models.yml differs from the registry",
        f"dbt_project/models/staging/ees/stg_ees__{DATASET}.sql is missing",
        f"expectations/raw_{DATASET}.json is missing",
    ]

    run = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=project, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-5000:]

    with duckdb.connect(str(tmp_path / "warehouse/education.duckdb"), read_only=True) as con:
        rows = con.execute(
            "SELECT breakdown, time_period, old_la_code, value, value_status, national_value, regional_value, "
            "previous_time_period, change_vs_previous, region_code FROM marts.fct_la_measure WHERE measure_code = ? "
            "ORDER BY ALL",
            [MEASURE],
        ).fetchall()
        checks = con.execute("SELECT check_results FROM audit.publications").fetchall()[0][0]
        dim = con.execute(
            "SELECT dataset, indicator_column FROM marts.dim_measure WHERE measure_code = ?", [MEASURE]
        ).fetchall()
    by_key = {(r[0], r[1], r[2]): r[3:] for r in rows}
    assert len(rows) == 2 * len(PERIODS) * 153
    # St. Helens (342, North West): the Percentage row's value, England's and the region's beside
    # it, and the change from the year before.
    assert by_key[("all", 202223, "342")] == (88 + 342 % 9 + 1, "published", 94.0, 92.0, 202122, 1.0, "E12000002")
    assert by_key[("all", 202122, "342")][:3] == (88 + 342 % 9, "published", 93.0)
    assert by_key[("disadvantaged", 202223, "342")][:3] == (88 + 342 % 9 + 1 - 10, "published", 84.0)
    # A London borough is in London (E12000007) and compared with Inner London, which the file
    # publishes (LAIT's rule): Inner London's own figure, not London's.
    inner_london = expected_percent("E13000001", "202223", "Total")
    assert inner_london != expected_percent("E12000007", "202223", "Total")
    assert by_key[("all", 202223, "202")][3:] == (inner_london, 202122, 1.0, "E12000007")
    assert by_key[("disadvantaged", 202223, "201")][:2] == (None, "suppressed")
    assert all(r[3] is not None for r in rows if r[2] != "201" or r[0] == "all")
    assert dim == [(DATASET, "overall"), (DATASET, "overall")]
    assert f'"check": "gx_raw_{DATASET}", "description"' in checks and '"passed": false' not in checks
