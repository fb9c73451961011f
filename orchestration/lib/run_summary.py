"""The closing summary of a run, built from the run's event log alone.

:func:`collect` reads the records Dagster stored for one run (``instance.all_logs(run_id)``):
materialization metadata (raw datasets, the publication, the outputs), asset check evaluations
(every gate: raw GX suites, dbt tests, mart GX suites, output checks), step failures and skips,
and the warnings logged. :func:`render` turns those facts into one screen of text;
:func:`full_report` into the text of ``warehouse/build/logs/run_report.txt`` (the summary, then
every failed gate and step in full, then every gate); :func:`exit_code` into ``make run``'s exit
code. All three are pure: no database, no file, no clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from orchestration.lib.ingest.load import LINEAGE_TABLES

PUBLICATION_ASSET = "warehouse/education"
POSTGRES_ASSET = "warehouse/postgres"
SCHEMA_ONLY_TABLES = {"local_measures"}  # rows are the measures its schema files declare; no data file
OUTPUT_LABELS = {"briefings": "briefings", "exports": "exports", "dbt_docs": "dbt docs", "gx_docs": "gate report"}
GATE_KINDS = ("raw", "dbt", "mart", "output", "other")

# One screen: what the summary shows of the failures before pointing at the report file. The
# failures shown (at most FAILURES_SHOWN) share EXCERPT_LINES screen lines, at most
# LINES_PER_FAILURE each; a long line of a description (a GX failure lists the file, line and
# value at its end) is wrapped to at most WRAPS_PER_LINE screen lines of SCREEN_WIDTH.
FAILURES_SHOWN = 4
EXCERPT_LINES = 16
LINES_PER_FAILURE = 8
WRAPS_PER_LINE = 3
SCREEN_WIDTH = 150
LINE_WIDTH = 220  # a warning, on one line

EXIT_OK, EXIT_NOT_PUBLISHED, EXIT_PUBLISHED_WITH_FAILURES = 0, 1, 2
# The step of a blocking check fails with this error when the check fails: that is a failed gate,
# reported as such, not a failed step.
CHECK_FAILED_ERROR = "DagsterAssetCheckFailedError"


@dataclass(frozen=True)
class Gate:
    asset: str
    check: str
    kind: str  # raw | dbt | mart | output | other
    passed: bool
    description: str  # in full, as the check reported it

    @property
    def name(self) -> str:
        return f"{self.asset} / {self.check}"


@dataclass(frozen=True)
class Dataset:
    name: str
    files: int | None
    rows: int | None


@dataclass(frozen=True)
class StepFailure:
    step: str
    message: str  # in full


@dataclass
class RunFacts:
    run_id: str = ""
    job_name: str = ""
    seconds: float = 0.0
    datasets: list[Dataset] = field(default_factory=list)
    landed_files: int | None = None
    gates: list[Gate] = field(default_factory=list)
    gates_planned: int = 0
    warnings: list[str] = field(default_factory=list)
    steps_planned: list[str] = field(default_factory=list)
    steps_started: list[str] = field(default_factory=list)
    failed_steps: list[StepFailure] = field(default_factory=list)
    publication: dict | None = None  # id, path, tables
    postgres: str | None = None  # where the PostgreSQL publication went, and how long it took
    outputs: dict[str, dict] = field(default_factory=dict)  # name -> {"path": ..., "count": ...}
    outputs_planned: list[str] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]

    @property
    def published(self) -> bool:
        return self.publication is not None

    @property
    def skipped_steps(self) -> list[str]:
        """Steps the run planned but never started (downstream of a failure), by name."""
        return sorted(s for s in self.steps_planned if s not in self.steps_started)


# --- reading the events ----------------------------------------------------------------------


def _value(metadata: dict, key: str):
    entry = metadata.get(key)
    return getattr(entry, "value", entry)


def _int(metadata: dict, key: str) -> int | None:
    value = _value(metadata, key)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def bullets(metadata: dict, key: str) -> list[str]:
    """The ``- item`` lines of a markdown metadata value (the ingest lists one file per line)."""
    text = _value(metadata, key)
    return [line[2:] for line in str(text or "").splitlines() if line.startswith("- ")]


def file_count(metadata: dict) -> int | None:
    """Files one raw asset loaded: its ``file_count`` metadata, else the lines of its ``files`` list."""
    count = _int(metadata, "file_count")
    if count is not None:
        return count
    if "files" not in metadata:
        return None
    return sum(1 for line in bullets(metadata, "files") if line.startswith("`"))


def _gate_kind(evaluation) -> str:
    if str(_value(evaluation.metadata, "unique_id") or "").startswith(("test.", "unit_test.")):
        return "dbt"
    return {"raw": "raw", "marts": "mart", "outputs": "output"}.get(evaluation.asset_key.path[0], "other")


def _gate_description(evaluation) -> str:
    if evaluation.description:
        return evaluation.description
    metadata = evaluation.metadata
    if _value(metadata, "unique_id"):  # a dbt test: dagster-dbt reports it in metadata only
        rows = _int(metadata, "dagster_dbt/failed_row_count")
        status = _value(metadata, "status") or ("pass" if evaluation.passed else "fail")
        return f"dbt {_value(metadata, 'unique_id')}: {status}" + (f", {rows:,} failing rows" if rows else "")
    return "passed" if evaluation.passed else "failed"


def _failure_message(data) -> str:
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description.strip()
    error = data.error
    if error is None:
        return "unknown error"
    # A user-code error is wrapped ("Error occurred while executing op ..."); its cause says what.
    while error.cause is not None and error.message.startswith(
        "dagster._core.errors.DagsterExecutionStepExecutionError"
    ):
        error = error.cause
    return error.message.strip()


def collect(records: Iterable) -> RunFacts:
    """The facts of one run from its event log records (``EventLogEntry``, in order)."""
    facts = RunFacts()
    first = last = None
    datasets: dict[str, Dataset] = {}
    for record in records:
        first = record.timestamp if first is None else first
        last = record.timestamp
        facts.run_id = facts.run_id or record.run_id
        facts.job_name = facts.job_name or (record.job_name or "")
        event = record.dagster_event
        if event is None:
            if logging.WARNING <= record.level < logging.ERROR:
                text = record.user_message.strip()
                facts.warnings.append(f"{record.step_key or 'run'}: {text}")
            continue
        kind = event.event_type
        if (
            event.step_key
            and kind
            in (
                dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
                dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
            )
            and event.step_key not in facts.steps_planned
        ):
            facts.steps_planned.append(event.step_key)
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            key = event.asset_key.path
            metadata = event.event_specific_data.materialization.metadata
            name = "/".join(key)
            if key[0] == "raw" and key[-1] in LINEAGE_TABLES:
                facts.landed_files = _int(metadata, "file_count") if facts.landed_files is None else facts.landed_files
            elif key[0] == "raw":
                files = 0 if key[-1] in SCHEMA_ONLY_TABLES else file_count(metadata)
                datasets[key[-1]] = Dataset(key[-1], files, _int(metadata, "row_count"))
                facts.warnings += [f"{name}: {w}" for w in bullets(metadata, "warnings")]
            elif name == PUBLICATION_ASSET:
                tables = _int(metadata, "table_count")
                facts.publication = {
                    "id": str(_value(metadata, "publication_id") or ""),
                    "path": str(_value(metadata, "path") or ""),
                    "tables": tables if tables is not None else len(bullets(metadata, "tables")),
                }
            elif name == POSTGRES_ASSET:
                facts.postgres = f"{_value(metadata, 'database')} in {_value(metadata, 'seconds')} s"
            elif key[0] == "outputs":
                path = _value(metadata, "index") or _value(metadata, "path")
                count = _int(metadata, "briefings") if key[-1] == "briefings" else None
                facts.outputs[key[-1]] = {"path": str(path or ""), "count": count}
        elif kind == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            if event.asset_key.path[0] == "outputs":
                facts.outputs_planned.append(event.asset_key.path[-1])
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            facts.gates_planned += 1
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            facts.warnings += [
                f"{evaluation.asset_key.to_user_string()} / {evaluation.check_name}: {w}"
                for w in bullets(evaluation.metadata or {}, "warnings")
            ]
            facts.gates.append(
                Gate(
                    evaluation.asset_key.to_user_string(),
                    evaluation.check_name,
                    _gate_kind(evaluation),
                    bool(evaluation.passed),
                    _gate_description(evaluation),
                )
            )
        elif kind == dg.DagsterEventType.STEP_START:
            facts.steps_started.append(event.step_key or "?")
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            data = event.event_specific_data
            if data.error is None or data.error.cls_name != CHECK_FAILED_ERROR:
                facts.failed_steps.append(StepFailure(event.step_key or "?", _failure_message(data)))
    facts.datasets = sorted(datasets.values(), key=lambda d: d.name)
    facts.seconds = (last - first) if first is not None else 0.0
    return facts


# --- exit code and text ----------------------------------------------------------------------


def exit_code(facts: RunFacts) -> int:
    """1 when nothing was published; 2 when it was but a later step or check (an output gate)
    failed; 0 when every step and every gate passed."""
    if not facts.published:
        return EXIT_NOT_PUBLISHED
    if facts.failed_gates or facts.failed_steps:
        return EXIT_PUBLISHED_WITH_FAILURES
    return EXIT_OK


def _duration(seconds: float) -> str:
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest} s" if minutes else f"{seconds:.0f} s"


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _wrapped(label: str, items: list[str], width: int = 100) -> list[str]:
    """``items`` joined by "; " into lines of at most ``width`` characters, never splitting one."""
    lines = [""]
    for item in items:
        candidate = f"{lines[-1]}; {item}" if lines[-1] else item
        if len(candidate) + 11 > width and lines[-1]:
            lines[-1] += ";"
            lines.append(item)
        else:
            lines[-1] = candidate
    return [f"{label:<11}{lines[0]}"] + [" " * 11 + line for line in lines[1:]]


def _clip(line: str) -> str:
    return line if len(line) <= LINE_WIDTH else line[: LINE_WIDTH - 1] + "…"


def _screen_lines(line: str) -> tuple[list[str], bool]:
    """One line of a description as screen lines (indented), and whether any of it was left out."""
    width = SCREEN_WIDTH - 4
    pieces = [line[i : i + width] for i in range(0, len(line), width)] or [""]
    cut = len(pieces) > WRAPS_PER_LINE
    pieces = pieces[:WRAPS_PER_LINE]
    if cut:
        pieces[-1] = pieces[-1][:-1] + "…"
    return [f"    {piece}" for piece in pieces], cut


def _excerpt(text: str, report: Path | None, budget: int) -> list[str]:
    """The first lines of a failure's text in at most ``budget`` screen lines (one more points
    at the report when anything was left out)."""
    lines = text.rstrip().splitlines() or [""]
    shown: list[str] = []
    used = 0
    cut = False
    for line in lines:
        screen, clipped = _screen_lines(line)
        if shown and len(shown) + len(screen) > budget:
            break
        shown += screen[: max(budget - len(shown), 1)]
        cut = cut or clipped or len(screen) > budget
        used += 1
    more = len(lines) - used
    if cut or more:
        where = f" in {report}" if report else ""
        shown.append(f"    (in full{where}" + (f": {_plural(more, 'more line')})" if more else ")"))
    return shown


def _outcome(facts: RunFacts) -> str:
    code = exit_code(facts)
    failed = len(facts.failed_gates)
    if code == EXIT_NOT_PUBLISHED:
        why = (
            f"{_plural(failed, 'gate')} failed"
            if failed
            else (
                f"{_plural(len(facts.failed_steps), 'step')} failed"
                if facts.failed_steps
                else "the publication did not run"
            )
        )
        return f"NOT PUBLISHED ({why}; exit {code})"
    if code == EXIT_PUBLISHED_WITH_FAILURES:
        parts = ([f"{_plural(failed, 'output gate')} failed"] if failed else []) + (
            [f"{_plural(len(facts.failed_steps), 'step')} failed"] if facts.failed_steps else []
        )
        return f"published, but {' and '.join(parts)} (exit {code})"
    return "published; every step and gate passed (exit 0)"


def render(
    facts: RunFacts,
    *,
    sources_file: Path | str | None = None,
    published_db: Path | str | None = None,
    dbt_log: Path | None = None,
    report: Path | None = None,
) -> str:
    """The closing summary, one screen: what ran, what was loaded, gated, published and written."""
    out = [f"{'=' * 30} run summary {'=' * 57}"]
    out.append(f"{'Run':<11}{facts.run_id[:8]} {facts.job_name}, {_duration(facts.seconds)}: {_outcome(facts)}")
    if sources_file:
        out.append(f"{'Sources':<11}{sources_file}")

    # Ingest
    files = facts.landed_files if facts.landed_files is not None else sum(d.files or 0 for d in facts.datasets)
    rows = sum(d.rows or 0 for d in facts.datasets)
    if facts.datasets:
        out.append(
            f"{'Ingest':<11}{_plural(len(facts.datasets), 'dataset')}, {_plural(files, 'file')}, {_plural(rows, 'row')}"
        )
        items = [
            f"{d.name} {d.rows or 0:,} rows from schema files"
            if d.name in SCHEMA_ONLY_TABLES
            else f"{d.name} {'?' if d.files is None else d.files} file{'' if d.files == 1 else 's'} {d.rows or 0:,} rows"
            for d in facts.datasets
        ]
        out += _wrapped("", items)
    else:
        out.append(f"{'Ingest':<11}nothing loaded")

    # Gates
    by_kind = {k: [g for g in facts.gates if g.kind == k] for k in GATE_KINDS}
    passed = sum(g.passed for g in facts.gates)
    failed = facts.failed_gates
    not_run = max(facts.gates_planned - len(facts.gates), 0)
    kinds = ", ".join(f"{k} {sum(g.passed for g in gates)}/{len(gates)}" for k, gates in by_kind.items() if gates)
    line = f"{'Gates':<11}{passed:,} passed, {len(failed):,} failed" + (f", {not_run:,} not run" if not_run else "")
    out.append(line + (f" ({kinds} passed)" if kinds else ""))
    shown = len(failed[:FAILURES_SHOWN]) + len(facts.failed_steps[:FAILURES_SHOWN])
    budget = max(1, min(LINES_PER_FAILURE, EXCERPT_LINES // max(shown, 1)))
    for gate in failed[:FAILURES_SHOWN]:
        out.append(f"  GATE FAILED: {gate.name}")
        out += _excerpt(gate.description, report, budget)
    if len(failed) > FAILURES_SHOWN:
        rest = [g.name for g in failed[FAILURES_SHOWN:]]
        out += _wrapped("", [f"and {len(rest)} more failed gates: " + ", ".join(rest)])[:3]
        if report:
            out.append(f"           (every failed gate in full: {report})")

    # Steps
    for step in facts.failed_steps[:FAILURES_SHOWN]:
        out.append(f"  STEP FAILED: {step.step}")
        out += _excerpt(step.message, report, budget)
    skipped = facts.skipped_steps
    if skipped:
        out.append(
            f"{'Not run':<11}{_plural(len(skipped), 'step')} after the failure: "
            f"{', '.join(skipped[:3])}{f' and {len(skipped) - 3} more' if len(skipped) > 3 else ''}"
        )

    # Warnings
    if facts.warnings:
        out.append(f"{'Warnings':<11}{len(facts.warnings)}")
        for warning in facts.warnings[:4]:
            out.append(f"  {_clip(warning.splitlines()[0])}")
        if len(facts.warnings) > 4:
            out.append(f"  ... and {len(facts.warnings) - 4} more" + (f" (in {report})" if report else ""))
    else:
        out.append(f"{'Warnings':<11}none")

    # Publication and outputs
    if facts.publication:
        p = facts.publication
        out.append(f"{'Published':<11}{p['path']}: publication {p['id']}, {_plural(p['tables'], 'table')}")
        if facts.postgres:
            out.append(f"{'':<11}and to PostgreSQL {facts.postgres}")
    else:
        where = f"{published_db} left as it was" if published_db else "the published database left as it was"
        out.append(f"{'Published':<11}nothing new: {where}")
    if facts.outputs:
        first = True
        # in one order, whatever order the outputs step wrote them in
        rank = {name: i for i, name in enumerate(OUTPUT_LABELS)}
        for name, output in sorted(facts.outputs.items(), key=lambda item: rank.get(item[0], len(rank))):
            label = OUTPUT_LABELS.get(name, name)
            count = f" ({_plural(output['count'], 'briefing')})" if output.get("count") is not None else ""
            out.append(f"{'Outputs' if first else '':<11}{label:<12}{output['path']}{count}")
            first = False
        missing = [n for n in facts.outputs_planned if n not in facts.outputs]
        if missing:
            out.append(f"{'':<11}not written: {', '.join(OUTPUT_LABELS.get(n, n) for n in missing)}")
    elif facts.outputs_planned:
        out.append(f"{'Outputs':<11}none written" + ("" if facts.published else " (nothing new was published)"))
    else:
        out.append(f"{'Outputs':<11}not part of this run (EDU_RUN_OUTPUTS=0)")

    logs = ([f"dbt {dbt_log}"] if dbt_log else []) + ([f"gates and failures in full {report}"] if report else [])
    if logs:
        out.append(f"{'Logs':<11}" + logs[0])
        out += [f"{'':<11}{line}" for line in logs[1:]]
    return "\n".join(out)


def full_report(facts: RunFacts, summary: str) -> str:
    """The summary, then every failed gate and step with its description in full, then every
    gate and warning: nothing here is shortened."""
    out = [summary, ""]
    failed = facts.failed_gates
    if failed or facts.failed_steps:
        out.append(f"{'=' * 30} failures in full {'=' * 52}")
        for gate in failed:
            out += [f"GATE FAILED: {gate.name} ({gate.kind})", gate.description.rstrip(), ""]
        for step in facts.failed_steps:
            out += [f"STEP FAILED: {step.step}", step.message.rstrip(), ""]
    if facts.warnings:
        out.append(f"{'=' * 30} warnings {'=' * 61}")
        out += facts.warnings + [""]
    out.append(f"{'=' * 30} every gate {'=' * 59}")
    for gate in sorted(facts.gates, key=lambda g: (g.passed, g.kind, g.asset, g.check)):
        first = gate.description.splitlines()[0] if gate.description else ""
        out.append(f"{'passed' if gate.passed else 'FAILED'}  {gate.kind:<6} {gate.name}: {first}")
    return "\n".join(out) + "\n"
