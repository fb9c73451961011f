"""The closing summary, the exit code and the console of a run, from real Dagster runs of small
asset graphs shaped like the pipeline's (raw datasets -> gates -> publication -> outputs and
their checks), with the metadata the pipeline's assets write. The whole pipeline's console and
summary are checked end to end in tests/test_pipeline_e2e.py."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.defs.console import progress_console
from orchestration.lib import run_summary
from orchestration.lib.errors import PipelineInputError

# Two of the sample's datasets as its run reported them (sources.yml, raw/sample/).
KS2_FILES = (
    "- `raw/sample/ks2/ks2_la_timeseries.csv` sha256 `bb60a3504217…` 1,847,305 bytes, 11,550 rows, release from version column\n"
    "- `raw/sample/ks2/ks2_la_2022_provisional.csv` sha256 `0d4c2b7e11aa…` 184,731 bytes, 1,155 rows, release provisional"
)
KS4_FILES = "\n".join(
    f"- `raw/sample/ks4/{name}` sha256 `5e44f3a43e44…` 1,759,021 bytes, {rows:,} rows, release from version column"
    for name, rows in (
        ("ks4_la_timeseries.csv", 10_395),
        ("ks4_la_2022_provisional.csv", 1_155),
        ("ks4_la_2025.csv", 1_155),
    )
)
# A raw gate failing on many rows: its description runs past 4,000 characters.
FAILURE_LINES = [
    f"  - percentage within 0-100: pt_rwm_met_expected_standard = 140 at ks2_la_timeseries.csv line {n}, "
    f"column pt_rwm_met_expected_standard"
    for n in range(2, 122)
]
LONG_DESCRIPTION = "raw_ks2: 1 of 19 expectations failed:\n" + "\n".join(FAILURE_LINES)


def build_graph(raw_gate_passes=True, output_gate_passes=True, ingest_error: str | None = None):
    @dg.multi_asset(
        specs=[dg.AssetSpec(["raw", "ks2"]), dg.AssetSpec(["raw", "ks4"]), dg.AssetSpec(["raw", "landed_files"])],
        name="ingest_raw_files",
    )
    def ingest_raw_files(context):
        if ingest_error:
            raise PipelineInputError(ingest_error)
        context.log.info("ks2: landed ks2_la_timeseries.csv (11,550 rows)")
        yield dg.MaterializeResult(
            asset_key=["raw", "ks2"], metadata={"row_count": 12_705, "files": dg.MetadataValue.md(KS2_FILES)}
        )
        yield dg.MaterializeResult(
            asset_key=["raw", "ks4"],
            metadata={
                "row_count": 12_705,
                "files": dg.MetadataValue.md(KS4_FILES),
                "warnings": dg.MetadataValue.md("- data set 3f1c v2.0 is deprecated: DfE published v2.1"),
            },
        )
        yield dg.MaterializeResult(asset_key=["raw", "landed_files"], metadata={"file_count": 5})

    # the raw gates are one step, as defs/ingest/checks.py gate_step builds them
    @dg.multi_asset_check(
        specs=[dg.AssetCheckSpec("gx_raw_ks2", asset=dg.AssetKey(["raw", "ks2"]), blocking=True)], name="raw_gates"
    )
    def raw_gates():
        yield dg.AssetCheckResult(
            check_name="gx_raw_ks2",
            asset_key=dg.AssetKey(["raw", "ks2"]),
            passed=raw_gate_passes,
            description="raw_ks2: all 19 expectations passed" if raw_gate_passes else LONG_DESCRIPTION,
        )

    @dg.asset(key=["warehouse", "education"], deps=[dg.AssetKey(["raw", "ks2"]), dg.AssetKey(["raw", "ks4"])])
    def publication():
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path("/srv/warehouse/education.duckdb"),
                "publication_id": "run-0042",
                "gates_passed": 1,
                "table_count": 15,
            }
        )

    # every output is written in one step, its checks declared with it (defs/outputs/assets.py)
    briefings = dg.AssetKey(["outputs", "briefings"])

    @dg.multi_asset(
        name="outputs",
        specs=[dg.AssetSpec(briefings, deps=[publication])],
        check_specs=[dg.AssetCheckSpec("briefing_numbers_match_marts", asset=briefings)],
    )
    def outputs():
        yield dg.MaterializeResult(
            asset_key=briefings,
            metadata={"index": dg.MetadataValue.path("/srv/warehouse/briefings/index.html"), "briefings": 153},
        )
        yield dg.AssetCheckResult(
            check_name="briefing_numbers_match_marts",
            asset_key=briefings,
            passed=output_gate_passes,
            description="140,118 numbers in 153 briefings match the marts"
            if output_gate_passes
            else "1 numbers differ from the marts:\nst-helens/2021-22.html: ks2_rwm_expected 63 reads 64",
        )

    return [ingest_raw_files, publication, outputs], [raw_gates]


def run(**kwargs):
    assets, checks = build_graph(**kwargs)
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([*assets, *checks], instance=instance, raise_on_error=False)
    return run_summary.collect(instance.all_logs(result.run_id)), result


def test_a_clean_run():
    facts, result = run()
    assert result.success
    assert [(d.name, d.files, d.rows) for d in facts.datasets] == [("ks2", 2, 12_705), ("ks4", 3, 12_705)]
    assert facts.landed_files == 5
    assert [(g.name, g.kind, g.passed) for g in facts.gates] == [
        ("raw/ks2 / gx_raw_ks2", "raw", True),
        ("outputs/briefings / briefing_numbers_match_marts", "output", True),
    ]
    assert facts.publication == {"id": "run-0042", "path": "/srv/warehouse/education.duckdb", "tables": 15}
    assert facts.warnings == ["raw/ks4: data set 3f1c v2.0 is deprecated: DfE published v2.1"]
    assert run_summary.exit_code(facts) == 0
    text = run_summary.render(
        facts,
        sources_file="/srv/sources.yml",
        dbt_log=Path("/srv/warehouse/build/logs/dbt.log"),
        report=Path("/srv/warehouse/build/logs/run_report.txt"),
    )
    lines = text.splitlines()
    assert lines[1].endswith("published; every step and gate passed (exit 0)")
    assert "Ingest     2 datasets, 5 files, 25,410 rows" in lines
    assert "           ks2 2 files 12,705 rows; ks4 3 files 12,705 rows" in lines
    assert "Gates      2 passed, 0 failed (raw 1/1, output 1/1 passed)" in lines
    assert "Published  /srv/warehouse/education.duckdb: publication run-0042, 15 tables" in lines
    assert "Outputs    briefings   /srv/warehouse/briefings/index.html (153 briefings)" in lines
    assert "Logs       dbt /srv/warehouse/build/logs/dbt.log" in lines
    assert "  raw/ks4: data set 3f1c v2.0 is deprecated: DfE published v2.1" in lines


def test_a_failed_raw_gate_blocks_the_publication_and_is_reported_in_full(tmp_path):
    facts, _ = run(raw_gate_passes=False)
    assert not facts.published and run_summary.exit_code(facts) == 1
    [failed] = facts.failed_gates
    assert failed.description == LONG_DESCRIPTION and len(LONG_DESCRIPTION) > 4000  # nothing cut on the way
    report = tmp_path / "run_report.txt"
    text = run_summary.render(facts, published_db="/srv/warehouse/education.duckdb", report=report)
    lines = text.splitlines()
    assert len(lines) <= 40
    assert "NOT PUBLISHED (1 gate failed; exit 1)" in lines[1]
    start = lines.index("  GATE FAILED: raw/ks2 / gx_raw_ks2")
    assert lines[start + 1] == "    raw_ks2: 1 of 19 expectations failed:"
    assert lines[start + 2] == "    " + FAILURE_LINES[0]
    assert lines[start + 8] == "    " + FAILURE_LINES[6]
    assert lines[start + 9] == f"    (in full in {report}: 113 more lines)"
    assert "Published  nothing new: /srv/warehouse/education.duckdb left as it was" in lines
    assert facts.failed_steps == []  # the check's step failing is the failed gate, not a second failure
    assert facts.skipped_steps == ["outputs", "warehouse__education"]
    assert "Not run    2 steps after the failure: outputs, warehouse__education" in lines
    full = run_summary.full_report(facts, text)
    assert LONG_DESCRIPTION in full and full.startswith(text)
    assert "FAILED  raw    raw/ks2 / gx_raw_ks2: raw_ks2: 1 of 19 expectations failed:" in full


def test_a_failed_output_gate_after_publication_exits_2():
    facts, _ = run(output_gate_passes=False)
    assert facts.published
    assert [g.name for g in facts.failed_gates] == ["outputs/briefings / briefing_numbers_match_marts"]
    assert run_summary.exit_code(facts) == 2
    text = run_summary.render(facts)
    assert "published, but 1 output gate failed (exit 2)" in text.splitlines()[1]
    assert "    st-helens/2021-22.html: ks2_rwm_expected 63 reads 64" in text.splitlines()


def test_a_failed_step_is_named_with_its_error():
    facts, _ = run(
        ingest_error="ks2_la.csv: unusually large file: it has 30 data rows, more than EDU_MAX_ROWS_PER_FILE=20."
    )
    assert run_summary.exit_code(facts) == 1
    [step] = facts.failed_steps
    assert step.step == "ingest_raw_files"
    assert "ks2_la.csv: unusually large file: it has 30 data rows, more than EDU_MAX_ROWS_PER_FILE=20." in step.message
    text = run_summary.render(facts)
    assert "  STEP FAILED: ingest_raw_files" in text.splitlines()
    assert "NOT PUBLISHED (1 step failed; exit 1)" in text.splitlines()[1]


def _console_run(level: str) -> str:
    assets, checks = build_graph()

    @dg.asset(key=["raw", "chatty"])
    def chatty(context):
        context.log.info("pipeline progress: 3 of 3 files landed")
        dg.get_dagster_logger().info("a library's chatter")  # logged from outside orchestration/
        dg.get_dagster_logger().warning("a library's warning\nwith a second line")

    defs = dg.Definitions(
        assets=[*assets, chatty],
        asset_checks=checks,
        loggers={"console": progress_console},
        jobs=[dg.define_asset_job("all", selection=dg.AssetSelection.all())],
    )
    result = defs.resolve_job_def("all").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), run_config={"loggers": {"console": {"config": {"log_level": level}}}}
    )
    assert result.success
    return result


def test_console_shows_progress_not_framework_events(capsys):
    _console_run("INFO")
    lines = [line[9:] for line in capsys.readouterr().out.splitlines()]  # without the HH:MM:SS
    assert "ingest     ks2: landed ks2_la_timeseries.csv (11,550 rows)" in lines
    assert "ingest     loaded raw/ks2: 2 files, 12,705 rows" in lines
    assert "gate       passed raw/ks2 / gx_raw_ks2: raw_ks2: all 19 expectations passed" in lines
    assert "publish    published /srv/warehouse/education.duckdb (publication run-0042)" in lines
    assert "outputs    wrote outputs/briefings: /srv/warehouse/briefings/index.html" in lines
    assert "raw/chatty pipeline progress: 3 of 3 files landed" in lines
    assert "raw/chatty WARNING: a library's warning" in lines  # a library's warning, first line only
    text = "\n".join(lines)
    assert "a library's chatter" not in text and "with a second line" not in text
    assert "STEP_START" not in text and "STEP_OUTPUT" not in text and "ASSET_MATERIALIZATION" not in text


def test_console_at_debug_prints_every_event_in_dagsters_format(capsys):
    _console_run("DEBUG")
    out = capsys.readouterr().out
    assert 'STEP_START - Started execution of step "ingest_raw_files"' in out
    assert " - dagster - INFO - " in out and "a library's chatter" in out and "with a second line" in out


def test_console_at_warning_keeps_warnings_and_failures_only(capsys):
    _console_run("WARNING")
    out = capsys.readouterr().out
    assert "WARNING: a library's warning" in out
    assert "loaded raw/ks2" not in out and "pipeline progress" not in out and "gate       passed" not in out


def test_a_long_failure_line_is_wrapped_so_the_file_and_line_show():
    """A GX failure line as the sample's bad-input run wrote it: the file and line come last."""
    line = (
        '  - percentage within 0-100 {"column": "value", "condition_parser": "pandas", "min_value": 0.0, '
        '"max_value": 100.0} where is_percentage == True: 1 unexpected; rows: /srv/incoming/ks2_la_timeseries.csv '
        "line 283 (indicator=pt_rwm_met_expected_standard, value=140.0)"
    )
    facts = run_summary.RunFacts(
        run_id="13bcdb9c-0000",
        job_name="refresh_and_publish",
        gates_planned=307,
        gates=[
            run_summary.Gate("raw/ks2", "gx_raw_ks2", "raw", False, "raw_ks2: 1 of 19 expectations failed:\n" + line)
        ],
    )
    lines = run_summary.render(facts, report=Path("/srv/warehouse/build/logs/run_report.txt")).splitlines()
    start = lines.index("  GATE FAILED: raw/ks2 / gx_raw_ks2")
    assert "Gates      0 passed, 1 failed, 306 not run (raw 0/1 passed)" in lines
    assert lines[start + 1] == "    raw_ks2: 1 of 19 expectations failed:"
    assert all(len(text) <= run_summary.SCREEN_WIDTH for text in lines[start + 1 : start + 4])
    assert "".join(text[4:] for text in lines[start + 2 : start + 4]) == line
    assert lines[start + 4].startswith("Warnings")  # nothing left out: no pointer needed


def test_a_dbt_failure_names_the_model_and_dbts_own_message(tmp_path):
    """dagster-dbt says only "The dbt CLI process ... failed"; the step's error names each node that
    errored or failed, from dbt's run_results.json, so the run summary shows the cause."""
    import json

    from orchestration.defs.transform.dbt_log import dbt_errors

    assert dbt_errors(None) == [] and dbt_errors(tmp_path) == []
    (tmp_path / "run_results.json").write_text(
        json.dumps(
            {
                "results": [
                    {"unique_id": "model.edu_outcomes.stg_ees__ks2", "status": "success", "message": "OK"},
                    {
                        "unique_id": "model.edu_outcomes.int_measure_values",
                        "status": "error",
                        "message": "Runtime Error in model int_measure_values "
                        "(models/intermediate/int_measure_values.sql)\n"
                        "  Binder Error: Cannot mix aggregates with non-aggregated columns!",
                    },
                    {"unique_id": "model.edu_outcomes.fct_la_measure", "status": "skipped", "message": None},
                    *(
                        {"unique_id": f"unit_test.edu_outcomes.int_x.case_{n}", "status": "fail", "message": "differs"}
                        for n in range(6)
                    ),
                ]
            }
        ),
        encoding="utf-8",
    )
    said = dbt_errors(tmp_path)
    assert said[0] == "model int_measure_values: Binder Error: Cannot mix aggregates with non-aggregated columns!"
    assert said[1:5] == [f"unit_test int_x.case_{n}: differs" for n in range(4)]
    assert said[5] == "and 2 more"
    (tmp_path / "run_results.json").write_text("{not json", encoding="utf-8")
    assert dbt_errors(tmp_path) == []
