"""dbt's console output goes to a log file, and the run's log gets a few progress lines instead.

dagster-dbt re-prints every line of the dbt subprocess (one START and one OK/PASS line per model,
seed and test: over 500 lines on the sample) with ``sys.stdout.write``. :func:`routed` sends them to
``Settings.log_dir / "dbt.log"`` (also to the console at ``EDU_LOG_LEVEL=DEBUG``), redirecting
stdout only while dagster-dbt produces the next event, never while Dagster handles it. `dbt docs
generate` runs as a plain process whose lines a thread copies into the same file
(defs/transform/dbt_docs.py).
:class:`DbtProgress` logs one line per layer built (seeds, staging, intermediate, marts) and the
totals, through ``context.log`` like every step of the pipeline.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import dagster as dg

from orchestration.lib.settings import Settings

DBT_LOG_NAME = "dbt.log"
# How each built relation's report starts in dbt's event stream (macros/report_relation.sql):
# read by the dbt asset, kept out of dbt.log.
RELATION_REPORT = "edu_relation "


def dbt_log_path(settings: Settings) -> Path:
    return settings.log_dir / DBT_LOG_NAME


class _Tee(io.TextIOBase):
    def __init__(self, *targets: IO[str]):
        self.targets = targets

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        for target in self.targets:
            target.write(text)
        return len(text)

    def flush(self) -> None:
        for target in self.targets:
            target.flush()


@contextlib.contextmanager
def dbt_log(settings: Settings, title: str, *, append: bool = False) -> Iterator[IO[str]]:
    """The stream dbt's lines are written to: the log file (new for ``dbt build``, appended to by
    later invocations of the same run), and the console too at EDU_LOG_LEVEL=DEBUG."""
    path = dbt_log_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as handle:
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"=== {title} ({stamp})\n")
        handle.flush()
        yield _Tee(handle, sys.stdout) if settings.log_level == "DEBUG" else handle


class WithoutReports(io.TextIOBase):
    """``target`` without the lines of relation reports (dagster-dbt writes each line whole)."""

    def __init__(self, target: IO[str]):
        self.target = target

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not text.startswith(RELATION_REPORT):
            self.target.write(text)
        return len(text)

    def flush(self) -> None:
        self.target.flush()


def routed(events: Iterable, sink: IO[str]) -> Iterator:
    """``events`` (a dagster-dbt stream), with whatever dagster-dbt prints while producing each
    one written to ``sink``. An error of the dbt command propagates unchanged."""
    iterator = iter(events)
    while True:
        with contextlib.redirect_stdout(sink):
            try:
                event = next(iterator)
            except StopIteration:
                return
        yield event


LAYER_NAMES = {"reference": "seeds", "staging": "staging", "intermediate": "intermediate", "marts": "marts"}


class DbtProgress:
    """Counts the models and tests ``dbt build`` finished (from the events dagster-dbt yields)
    and logs a line when a layer is complete and at the end."""

    def __init__(self, context: dg.AssetExecutionContext, log_path: Path):
        self.context = context
        self.log = context.log
        self.log_path = log_path
        self.expected = Counter(key.path[0] for key in context.selected_asset_keys)
        self.built: Counter = Counter()
        self.tests_expected = len(context.selected_asset_check_keys)
        self.tests_passed = 0
        self.failed_tests: list[str] = []
        self.started = time.monotonic()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.1f} s"

    def start(self, command: str) -> None:
        models = sum(self.expected.values())
        self.log.info(
            f"dbt {command}: {models} models and seeds, {self.tests_expected} tests; "
            f"dbt's per-node lines: {self.log_path}"
        )

    def see(self, event) -> None:
        if isinstance(event, dg.Output):
            key = self.context.asset_key_for_output(event.output_name)
        elif isinstance(event, dg.AssetMaterialization):
            key = event.asset_key
        elif isinstance(event, dg.AssetCheckResult):
            if event.passed:
                self.tests_passed += 1
            else:  # the console shows each failed check as it is evaluated
                self.failed_tests.append(event.check_name or "?")
            return
        else:
            return
        layer = key.path[0]
        self.built[layer] += 1
        if self.built[layer] == self.expected[layer]:
            name = LAYER_NAMES.get(layer, layer)
            self.log.info(
                f"dbt: {name} built ({self.built[layer]} {'seeds' if layer == 'reference' else 'models'}, "
                f"{self._elapsed()})"
            )

    def finish(self) -> None:
        models = sum(self.built.values())
        tests = f"{self.tests_passed} of {self.tests_expected} tests passed"
        if self.failed_tests:
            tests += f", {len(self.failed_tests)} FAILED ({', '.join(self.failed_tests[:5])}"
            tests += f" and {len(self.failed_tests) - 5} more)" if len(self.failed_tests) > 5 else ")"
        self.log.info(
            f"dbt build finished in {self._elapsed()}: {models} of {sum(self.expected.values())} "
            f"models and seeds built, {tests}"
        )

    def failed(self, error: Exception, dbt_errors: list[str]) -> None:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        said = "; ".join(dbt_errors) if dbt_errors else first
        self.log.error(f"dbt build failed after {self._elapsed()}: {said} (dbt's output: {self.log_path})")


def dbt_errors(target_path: Path | None, limit: int = 5) -> list[str]:
    """What dbt itself said about each node that errored or failed (its run_results.json), e.g.
    "model int_measure_values: Binder Error: ...", so the run summary names the model and the
    cause instead of dagster-dbt's "The dbt CLI process ... failed"."""
    results = (target_path / "run_results.json") if target_path else None
    if results is None or not results.is_file():
        return []
    try:
        nodes = json.loads(results.read_text(encoding="utf-8")).get("results", [])
    except (OSError, ValueError):
        return []
    said = []
    for node in nodes:
        if node.get("status") not in ("error", "fail"):
            continue
        kind, _, name = str(node.get("unique_id", "?")).partition(".")
        lines = [line.strip() for line in str(node.get("message") or "").splitlines() if line.strip()]
        # dbt's first line repeats the node ("Runtime Error in model x (path)"); the cause follows
        cause = " ".join(lines[1:] if len(lines) > 1 else lines)
        said.append(f"{kind} {name.partition('.')[2] or name}: {cause}")
    return said[:limit] + ([f"and {len(said) - limit} more"] if len(said) > limit else [])
