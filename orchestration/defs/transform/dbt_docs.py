"""`dbt docs generate` as a process of its own, started as soon as the build it describes is done.

The docs' catalog reads only the build database's tables and columns, through a read-only
connection (the `docs` target of dbt_project/profiles.yml). The steps between the build and the
outputs read that database read-only too (the mart gates, the publication's copy), so nothing
stops the docs from being generated while they run. In a run that writes `outputs/dbt_docs` with
every step in one process (`make run`, and the code location's in-process executor), the dbt step
therefore starts the docs process the moment `dbt build` has succeeded
(:func:`start_with_the_build`), it runs on the cores the mart gates and the publication leave
idle, and the outputs step takes it over (:func:`take`) and only publishes its files once the run
has got there. Under an executor that runs each step in a process of its own, the outputs step
starts the docs itself.

Only the outputs step publishes the docs (into the warehouse's docs folder): a run that stops
before it leaves them in the build folder, and its docs process is stopped (:func:`stop_all`) when
the run ends, before its warehouse folder's run lock is released (the WarehouseResource), so the
next run can write the build database at once; and when the process exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import dagster as dg

from orchestration.defs.transform.dbt_log import dbt_log
from orchestration.defs.transform.resources import dbt_executable, dbt_global_flags, dbt_project, dbt_vars
from orchestration.lib.run_processes import RunProcesses, stop_process
from orchestration.lib.settings import DBT_PROJECT_DIR, Settings

DBT_DOCS_KEY = dg.AssetKey(["outputs", "dbt_docs"])
# profiles.yml's target that opens the build database read-only
DOCS_TARGET = "docs"
# Executors that run every step of a run in the orchestrating process (make run's is the first).
ONE_PROCESS_EXECUTORS = frozenset({"execute_in_process_executor", "in_process"})


def build_manifest(run_id: str) -> Path:
    """The manifest `dbt build` wrote in this run (dagster-dbt gives each invocation its own
    target folder, named after the op and run), else the parsed one the definitions load."""
    runs = sorted(
        Path(dbt_project.project_dir, "target").glob(f"dbt_models-{run_id[:7]}-*/manifest.json"),
        key=lambda p: p.stat().st_mtime,
    )
    return runs[-1] if runs else Path(dbt_project.manifest_path)


class DocsGeneration:
    """`dbt docs generate` running, its lines copied to dbt.log as dbt writes them; the catalog
    describes the build this run made (dbt_vars: the build database)."""

    # After an interrupt dbt gets this long to stop as it does on Ctrl-C, then it is killed.
    STOP_SECONDS = 10

    def __init__(self, settings: Settings, run_id: str):
        if not settings.build_db.exists():
            raise dg.Failure(f"no build database at {settings.build_db}: run the whole pipeline first (make run)")
        self.target = settings.build_dir / "dbt_docs_target"
        self.target.mkdir(parents=True, exist_ok=True)
        # `dbt build` in this run already compiled every model: its manifest (compiled SQL
        # included) goes into the docs as is, and `--no-compile` skips compiling it all again.
        shutil.copy2(build_manifest(run_id), self.target / "manifest.json")
        with contextlib.ExitStack() as opened:
            sink = opened.enter_context(dbt_log(settings, f"dbt docs generate, run {run_id}", append=True))
            self.process = subprocess.Popen(
                [
                    dbt_executable(),
                    *dbt_global_flags(settings),
                    "docs",
                    "generate",
                    "--static",
                    "--no-compile",
                    *("--target", DOCS_TARGET),
                    *dbt_vars(settings),
                    *("--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)),
                    *("--target-path", str(self.target), "--log-path", str(self.target)),
                ],
                cwd=DBT_PROJECT_DIR,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each line to dbt.log as dbt writes it
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
            self._log = opened.pop_all()  # closed once dbt has exited and its lines are copied
        self._copier = threading.Thread(target=self._copy, args=(sink,), daemon=True)
        self._copier.start()

    def _copy(self, sink) -> None:
        # Every line is read, whatever becomes of the log file: dbt must never block on a full pipe.
        for line in self.process.stdout:
            with contextlib.suppress(OSError, ValueError):
                sink.write(line)
                sink.flush()

    def wait(self) -> int:
        """dbt's exit code, once it has exited and its lines are in dbt.log."""
        code = self.process.wait()
        self._copier.join()
        self._log.close()
        return code

    def stop(self) -> None:
        """Stop dbt (its run failed or was interrupted): its docs are not published."""
        stop_process(self.process, signal.SIGINT, self.STOP_SECONDS)
        self.wait()


_started: RunProcesses[DocsGeneration] = RunProcesses(lambda generation: generation.stop())


def start_with_the_build(context: dg.AssetExecutionContext, settings: Settings) -> None:
    """Start the docs of the build just made, if this run writes them later in this process."""
    if context.job_def.executor_def.name not in ONE_PROCESS_EXECUTORS:
        return
    if DBT_DOCS_KEY not in context.job_def.asset_layer.selected_asset_keys:
        return
    try:
        generation = DocsGeneration(settings, context.run.run_id)
    except Exception as exc:  # noqa: BLE001 - the docs are an output: the outputs step tries again, and fails
        context.log.warning(f"dbt docs not started with the build ({exc}): the outputs step starts them")
        return
    _started.add(context.run.run_id, generation)


def take(run_id: str) -> DocsGeneration | None:
    """The docs process this run's dbt step started, for the outputs step to finish."""
    return _started.take(run_id)


def stop_all() -> None:
    """Stop every docs process no outputs step took over (its read-only connection would hold off
    the next run's writes to the build database): as a run ends, and when this process exits."""
    _started.stop_all()
