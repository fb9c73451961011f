"""End to end on the bundled sample: build, gate and publish; bad input blocks publication."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest

from orchestration.lib.rules import registry
from tests.conftest import (
    CONSOLE_FILE,
    CONTRACT_COLUMNS,
    NETWORK_ATTEMPTS_FILE,
    PIPELINE_COMMAND,
    REPO_ROOT,
    STDERR_FILE,
    copy_publication,
    pipeline_env,
    run_pipeline,
    write_sources,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def published(sample_publication, tmp_path_factory):
    """The session's run of the whole sample (tests/conftest.py), copied: the bad-input runs below
    land files in this copy and must not touch the original."""
    return copy_publication(sample_publication, tmp_path_factory.mktemp("e2e") / "workdir")


def query(db: Path, sql: str, params=None):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_publishes_the_contract(published):
    db = published / "warehouse" / "education.duckdb"
    columns = [
        r[0]
        for r in query(
            db,
            "SELECT column_name FROM information_schema.columns WHERE table_schema='marts' AND table_name='fct_la_measure' ORDER BY ordinal_position",
        )
    ]
    assert columns[: len(CONTRACT_COLUMNS)] == CONTRACT_COLUMNS
    tables = {r[0] for r in query(db, "SELECT table_name FROM information_schema.tables WHERE table_schema='marts'")}
    assert {
        "fct_la_measure",
        "fct_area_measure",
        "fct_release_revisions",
        "dim_measure",
        "dim_local_authority",
        "mart_key_stage_2",
        "mart_key_stage_4",
    } <= tables
    # 153 LAs x (8 KS2 + 9 KS4 measure-breakdowns) x periods, every LA row present published or not
    las = query(db, "SELECT count(DISTINCT old_la_code) FROM marts.fct_la_measure")[0][0]
    assert las == 153
    measures = {r[0] for r in query(db, "SELECT DISTINCT measure_code || '/' || breakdown FROM marts.fct_la_measure")}
    assert {
        "ks2_rwm_expected/all",
        "ks2_rwm_expected/disadvantaged",
        "ks4_attainment8/not_disadvantaged",
        "ks4_progress8/all",
    } <= measures


def test_sample_values_flow_through_with_comparisons(published):
    db = published / "warehouse" / "education.duckdb"
    row = query(
        db,
        """SELECT value, release, previous_time_period, national_value, rank, quartile_band, comparability_note
                       FROM marts.fct_la_measure WHERE measure_code='ks2_rwm_expected' AND breakdown='all'
                       AND old_la_code='342' AND time_period=202122""",
    )[0]
    assert row[0] == 63 and row[1] == "final" and row[2] == 201819 and row[3] == 59
    assert row[4] >= 1 and row[5] in "ABCD" and row[6]
    revision = query(
        db,
        """SELECT earlier_value, later_value FROM marts.fct_release_revisions
                            WHERE measure_code='ks2_rwm_expected' AND breakdown='all' AND area_code='342' AND time_period=202122""",
    )
    assert revision == [(62.0, 63.0)]
    # KS4 2020/21 (teacher assessed grades) compares with nothing; 2021/22 with 2018/19
    previous = dict(
        query(
            db,
            """SELECT time_period, previous_time_period FROM marts.fct_la_measure
                                 WHERE measure_code='ks4_attainment8' AND breakdown='all' AND old_la_code='342'""",
        )
    )
    assert previous[202021] is None and previous[201920] is None and previous[202122] == 201819
    suppressed = query(
        db,
        """SELECT value, value_status, rank FROM marts.fct_la_measure
                              WHERE old_la_code='201' AND breakdown='disadvantaged' AND measure_code='ks2_rwm_expected' AND time_period=202324""",
    )
    assert suppressed == [(None, "suppressed", None)]


def test_each_measure_names_its_publication_and_latest_release(published):
    """dim_measure carries the DfE publication a measure is read from (the registry's title and EES
    page) and the release its latest figures come from; the briefing links the page."""
    db = published / "warehouse" / "education.duckdb"
    rows = query(
        db,
        """SELECT measure_code, source_publication, source_url, latest_time_period, latest_release
                         FROM marts.dim_measure WHERE breakdown = 'all'
                         AND measure_code IN ('ks2_rwm_expected', 'ks5_aps_per_entry', 'neet_16_17') ORDER BY 1""",
    )
    page = "https://explore-education-statistics.service.gov.uk/find-statistics/"
    assert rows == [
        ("ks2_rwm_expected", "Key stage 2 attainment", page + "key-stage-2-attainment", 202425, "revised"),
        (
            "ks5_aps_per_entry",
            "A level and other 16 to 18 results",
            page + "a-level-and-other-16-to-18-results",
            202425,
            "revised",
        ),
        (
            "neet_16_17",
            "Participation in education, training and NEET age 16 to 17 by local authority",
            page + "participation-in-education-training-and-neet-age-16-to-17-by-local-authority",
            2025,
            "final",
        ),
    ]
    assert query(db, "SELECT count(*) FROM marts.dim_measure WHERE source_url IS NULL") == [(0,)]
    html = (published / "warehouse" / "briefings" / "st-helens" / "2024-25.html").read_text(encoding="utf-8")
    assert f'Department for Education, <a href="{page}key-stage-2-attainment">Key stage 2 attainment</a>' in html


def test_the_ofsted_share_is_a_measure_like_any_other(published):
    """The sample's Ofsted snapshots cover England, so the share of pupils in good or outstanding
    schools is worked out for England, regions and LAs, ranked, banded (but not for secondary and
    special schools, where many LAs tie at 100%), named as Ofsted's, and written in the briefing."""
    db = published / "warehouse" / "education.duckdb"
    [(publisher, title, quartile_banded)] = query(
        db,
        "SELECT source_publisher, source_publication, quartile_banded FROM marts.dim_measure "
        "WHERE measure_code = 'inspection_pupils_good_outstanding' AND breakdown = 'all'",
    )
    assert (publisher, quartile_banded) == ("Ofsted", True) and "inspections and outcomes" in title
    # St Helens 2023/24 from the 2024-08-31 snapshot: the mart's per-LA share is the same figure
    [(value, ranked, band, england)] = query(
        db,
        "SELECT value, ranked_count, quartile_band, national_value FROM marts.fct_la_measure "
        "WHERE measure_code = 'inspection_pupils_good_outstanding' AND breakdown = 'all' "
        "AND old_la_code = '342' AND time_period = 202324",
    )
    assert query(
        db,
        "SELECT pct_pupils_good_or_outstanding FROM marts.mart_inspection_outcomes "
        "WHERE old_la_code = '342' AND phase = 'All schools' AND as_at = DATE '2024-08-31'",
    ) == [(value,)]
    assert ranked == 153 and band in {"A", "B", "C", "D"} and 80 < england < 95
    [(banded, ranked_rows, published_rows)] = query(
        db,
        "SELECT count(quartile_band), count(rank), count(*) FILTER (WHERE value_status = 'published') "
        "FROM marts.fct_la_measure WHERE measure_code = 'inspection_pupils_good_outstanding' "
        "AND breakdown = 'special'",
    )
    assert banded == 0 and ranked_rows == published_rows > 0
    html = (published / "warehouse" / "briefings" / "st-helens" / "2024-25.html").read_text(encoding="utf-8")
    assert "Schools judged good or outstanding by Ofsted: 2024/25" in html
    assert 'Ofsted, <a href="https://www.gov.uk/government/statistical-data-sets/' in html
    markdown = (published / "warehouse" / "briefings" / "st-helens" / "2024-25.md").read_text(encoding="utf-8")
    assert "because Ofsted stopped single-word judgements" in markdown
    assert "published figure (or worked out from the published data of Ofsted, where a section's source" in markdown


def test_audit_records_the_publication(published):
    db = published / "warehouse" / "education.duckdb"
    rows = query(db, "SELECT raw_files, check_results, code_version FROM audit.publications")
    assert len(rows) == 1
    raw_files, checks, version = rows[0]
    assert "ks2/ks2_la_timeseries.csv" in raw_files and '"sha256"' in raw_files
    assert '"passed": false' not in checks and '"passed": true' in checks
    assert version


# A line dbt prints per model, seed and test: "12 of 331 START sql view model ...", "... OK created ...", "... PASS ..."
DBT_NODE_LINE = re.compile(r"^\d+ of \d+ (START|OK|PASS|FAIL|WARN|ERROR|SKIP)\b", re.M)


def test_console_shows_progress_and_ends_with_the_summary(sample_publication):
    """The console of the session's `make run`: the pipeline's progress, none of dbt's per-node
    lines (those are in warehouse/build/logs/dbt.log), and a closing summary of at most 40 lines
    whose counts are those of the build and the publication."""
    console = (sample_publication / CONSOLE_FILE).read_text(encoding="utf-8")
    stderr = (sample_publication / STDERR_FILE).read_text(encoding="utf-8")
    assert DBT_NODE_LINE.findall(console) == [] and DBT_NODE_LINE.findall(stderr) == []
    assert "STEP_START" not in console and "ASSET_MATERIALIZATION" not in console
    lines = console.rstrip().splitlines()
    progress = [line[9:] for line in lines]  # without the HH:MM:SS
    assert "ingest     loaded raw/ks2: 2 files, 12,705 rows" in progress
    assert "gate       passed raw/ks2 / gx_raw_ks2: raw_ks2: all 20 expectations passed" in progress
    marts = len(list((REPO_ROOT / "dbt_project" / "models" / "marts").rglob("*.sql")))
    assert f"dbt        dbt: marts built ({marts} models, " in "\n".join(progress)
    assert any(p.startswith("publish    published ") for p in progress)

    start = next(i for i, line in enumerate(lines) if " run summary " in line)
    summary = lines[start:]
    assert len(summary) <= 40, "\n".join(summary)
    assert summary[1].endswith("published; every step and gate passed (exit 0)")
    assert summary[-1].endswith(str(sample_publication / "warehouse/build/logs/run_report.txt"))
    text = "\n".join(summary)

    build = sample_publication / "warehouse/build/education_build.duckdb"
    files = query(build, "SELECT dataset, count(*) FROM raw.landed_files GROUP BY 1")
    assert f", {sum(n for _, n in files)} files, " in summary[3]
    for dataset in ("ks2", "ks4", "exclusions", "statistical_neighbours"):
        rows = query(build, f"SELECT count(*) FROM raw.{dataset}")[0][0]
        count = dict(files)[dataset]
        assert f"{dataset} {count} file{'' if count == 1 else 's'} {rows:,} rows" in text
    served = sample_publication / "warehouse/education.duckdb"
    publication_id, checks, tables = query(
        served, "SELECT publication_id, check_results, table_checksums FROM audit.publications"
    )[0]
    # every gate before the publication (recorded with it) and the two output checks after it
    # a raw suite per EES dataset, the neighbour file and the three local tables
    raw = len(registry.ees_datasets()) + 4
    assert f"Gates      {len(json.loads(checks)) + 2} passed, 0 failed (raw {raw}/{raw}, dbt " in text
    assert f"Published  {served}: publication {publication_id}, {len(json.loads(tables))} tables" in text
    assert f"Outputs    briefings   {sample_publication / 'warehouse/briefings/index.html'} (1 briefing)" in text
    assert f"Logs       dbt {sample_publication / 'warehouse/build/logs/dbt.log'}" in text
    assert "Warnings   none" in text

    dbt_log = (sample_publication / "warehouse/build/logs/dbt.log").read_text(encoding="utf-8")
    assert "OK created sql table model marts.fct_la_measure" in dbt_log
    assert "[WARNING]" not in dbt_log  # e.g. a YAML key given twice, which dbt only warns about
    # every data test of the project ran and passed; the unit tests run in the dbt tier, not here
    manifest = json.loads((REPO_ROOT / "dbt_project/target/manifest.json").read_text(encoding="utf-8"))
    data_tests = sum(node["resource_type"] == "test" for node in manifest["nodes"].values())
    assert data_tests >= 50 and len(re.findall(r"^\d+ of \d+ PASS ", dbt_log, re.M)) == data_tests
    assert "unit_test" not in dbt_log.split("=== dbt docs generate", 1)[0]
    assert "=== dbt docs generate, run " in dbt_log and "Catalog written to" in dbt_log
    report = (sample_publication / "warehouse/build/logs/run_report.txt").read_text(encoding="utf-8")
    assert (
        report.startswith(text) and "passed  raw    raw/ks2 / gx_raw_ks2: raw_ks2: all 20 expectations passed" in report
    )


def _bad_sources(tmp_path: Path, corrupt) -> Path:
    """A copy of the sample's sources.yml whose KS2 timeseries file is corrupted by ``corrupt``."""
    original = REPO_ROOT / "raw/sample/ks2/ks2_la_timeseries.csv"
    (tmp_path / "sources").mkdir(parents=True, exist_ok=True)
    bad = tmp_path / "sources" / "ks2_la_timeseries.csv"  # inside the sources folder, where files may be
    bad.write_text(corrupt(original.read_text().splitlines()), encoding="utf-8")
    (tmp_path / "ks2_la_timeseries.meta.csv").write_bytes(original.with_name("ks2_la_timeseries.meta.csv").read_bytes())

    def swap_ks2(spec):
        files = spec["datasets"]["ks2"]["files"]
        files[files.index("raw/sample/ks2/ks2_la_timeseries.csv")] = str(bad)

    return write_sources(tmp_path / "sources", swap_ks2)


def _line_of(lines: list[str], la_code: str) -> int:
    return next(i for i, line in enumerate(lines) if f",{la_code}," in line and ",Total,Total,Total," in line)


def percentage_of_140(lines: list[str]) -> str:
    index = _line_of(lines, "342")
    cells = lines[index].split(",")
    header = lines[0].split(",")
    cells[header.index("pt_rwm_met_expected_standard")] = "140"
    lines[index] = ",".join(cells)
    return "\n".join(lines) + "\n"


def duplicated_la_row(lines: list[str]) -> str:
    index = _line_of(lines, "340")
    lines.insert(index + 1, lines[index])
    return "\n".join(lines) + "\n"


def both_corruptions(lines: list[str]) -> str:
    """St Helens' (342) percentage set to 140 and Knowsley's (340) headline row duplicated."""
    return duplicated_la_row(percentage_of_140(lines).splitlines())


@pytest.mark.slow  # a second whole pipeline run (~40 s); the fast tier checks the messages in test_bad_inputs.py
def test_bad_input_blocks_publication_and_keeps_previous(published, tmp_path, webhook):
    """One run on a KS2 file with both corruptions: each is named with its check and its line,
    and the failure is posted to the alert webhook and written to the alerts log."""
    served = published / "warehouse" / "education.duckdb"
    before = served.read_bytes()
    result = run_pipeline(
        published, _bad_sources(tmp_path, both_corruptions), EDU_ALERT_WEBHOOK_URL=webhook.url, NO_PROXY="127.0.0.1"
    )
    assert result.returncode == 1
    assert [p["path"] for p in webhook.posts] == ["/webhookb2/token-SECRET123"]  # one alert, once
    alert = webhook.posts[0]["body"]
    assert alert["failed_gates"][0]["asset"] == "raw/ks2" and alert["failed_gates"][0]["check"] == "gx_raw_ks2"
    assert "percentage within 0-100" in alert["text"] and "nothing new was published" in alert["text"]
    alerts_log = (published / "warehouse/build/logs/alerts.log").read_text(encoding="utf-8")
    assert alert["text"] in alerts_log
    assert "SECRET123" not in result.stdout + result.stderr + alerts_log
    console = result.stdout
    summary = console[console.rindex("\n", 0, console.index(" run summary ")) + 1 :]
    assert "NOT PUBLISHED (1 gate failed; exit 1)" in summary.splitlines()[1]
    assert "  GATE FAILED: raw/ks2 / gx_raw_ks2" in summary.splitlines()
    assert "gate       FAILED raw/ks2 / gx_raw_ks2: raw_ks2: 2 of " in console  # as it was evaluated
    # The summary shows the first lines; run_report.txt every failure in full, with file and line.
    report = (published / "warehouse/build/logs/run_report.txt").read_text(encoding="utf-8")
    assert report.startswith(summary.rstrip())
    lines = (tmp_path / "sources" / "ks2_la_timeseries.csv").read_text().splitlines()
    for expected_message, la_code in (("percentage within 0-100", "342"), ("no duplicate rows", "340")):
        assert expected_message in summary
        bad_line = _line_of(lines, la_code) + 1
        assert f"ks2_la_timeseries.csv line {bad_line}" in report
    assert f"Published  nothing new: {served} left as it was" in summary
    assert "Not run    " in summary and "dbt_models" in summary
    assert len(summary.splitlines()) <= 40
    assert served.read_bytes() == before


def test_a_run_never_contacts_the_internet(sample_publication):
    """The session's whole run (ingest, dbt, gates, publication, briefings, exports, docs) had a
    recording proxy as its HTTP(S) proxy: it tried nothing. (dagster-dbt's `dbt --version` used to
    ask PyPI for dbt's latest release on every run.)"""
    assert (sample_publication / NETWORK_ATTEMPTS_FILE).read_text(encoding="utf-8") == ""


def _no_network_namespace() -> bool:
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    return probe.returncode != 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("unshare") is None or _no_network_namespace(), reason="no network namespaces here")
def test_the_whole_pipeline_publishes_in_a_network_namespace_without_network(tmp_path):
    """`unshare -rn`: a namespace with only a loopback device, down. Nothing the run does may
    need the network."""
    env = pipeline_env(tmp_path)
    result = subprocess.run(
        ["unshare", "-rn", *PIPELINE_COMMAND], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "published; every step and gate passed (exit 0)" in result.stdout
