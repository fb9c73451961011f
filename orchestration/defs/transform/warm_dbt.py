"""The run's `dbt build` in a process that imported dbt while the raw tables were gated.

In a run whose steps all run in one process (`make run`, the code location's in-process executor)
and that builds the dbt models, the raw gates step starts a process that imports dbt
(:func:`start_for_the_build`; orchestration/lib/transform/warm_dbt.py says how it works), and the
dbt step hands `dbt build` to it (:func:`take`) through a launcher that dagster-dbt starts as its
dbt executable. dbt's import (about 2.5 s) then overlaps the gates instead of starting the build.
A run whose gates fail, or that stops, has the process stopped as the run ends (the
WarehouseResource, :func:`stop_all`), and at process exit.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import dagster as dg

from orchestration.defs.transform.dbt_docs import ONE_PROCESS_EXECUTORS
from orchestration.defs.transform.resources import dbt_executable
from orchestration.lib.run_processes import RunProcesses, stop_process
from orchestration.lib.settings import DBT_PROJECT_DIR, Settings
from orchestration.lib.transform import warm_dbt as lib_warm_dbt

DBT_STEP = "dbt_models"
# How long the process waits for its command: the raw gates of DfE's largest files take minutes.
WAIT_SECONDS = 3600
STOP_SECONDS = 10
LAUNCHER_NAME = "dbt_launcher"


class WarmDbt:
    """A process importing dbt, listening for one command, and the launcher that hands it over."""

    def __init__(self, settings: Settings) -> None:
        # The launcher is a script dagster-dbt executes: it lives in the build folder, as the
        # system's temporary folder may be mounted noexec. Its first line names this interpreter,
        # which a kernel reads only up to a space or about 127 bytes.
        if " " in sys.executable or len(sys.executable) > 120:
            raise ValueError(f"the interpreter's path cannot start a script: {sys.executable}")
        self.launcher = settings.build_dir / LAUNCHER_NAME
        # The socket is in a folder of this user's alone (mkdtemp: mode 0700) under the system's
        # temporary folder, as a socket's path must be short (108 bytes) and a warehouse's may not be.
        self.folder = Path(tempfile.mkdtemp(prefix="edu-dbt-"))
        self.socket = self.folder / "dbt.sock"
        try:
            lib_warm_dbt.write_launcher(self.launcher, self.socket, dbt_executable())
            if not os.access(self.launcher, os.X_OK):
                raise PermissionError(f"{self.launcher} cannot be executed (a noexec file system?)")
            with lib_warm_dbt.listen(self.socket) as listener:  # the process inherits it
                self.process = subprocess.Popen(
                    [
                        sys.executable,
                        lib_warm_dbt.__file__,
                        str(listener.fileno()),
                        str(self.socket),
                        str(WAIT_SECONDS),
                        str(os.getpid()),  # it stops waiting once this process has gone
                    ],
                    pass_fds=[listener.fileno()],
                    cwd=DBT_PROJECT_DIR,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    def took_the_command(self) -> bool:
        """Whether the process took a launcher's command (it removes its socket as it does)."""
        return not self.socket.exists()

    def close(self) -> None:
        """Remove the process's folder once it has exited: having taken dbt's command, it exits
        by itself once dbt has; otherwise (still waiting, or its run stopped) it is stopped."""
        try:
            if self.took_the_command():
                try:
                    self.process.wait(STOP_SECONDS)
                except subprocess.TimeoutExpired:
                    pass
            stop_process(self.process, signal.SIGTERM, STOP_SECONDS)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


_started: RunProcesses[WarmDbt] = RunProcesses(lambda warm: warm.close())


def start_for_the_build(context: dg.AssetCheckExecutionContext, settings: Settings) -> None:
    """Start dbt's import for this run's dbt step, if that step runs later in this process."""
    job = context.job_def
    if job.executor_def.name not in ONE_PROCESS_EXECUTORS or not job.graph.has_node_named(DBT_STEP):
        return
    run_id = context.run.run_id
    if run_id in _started:
        return
    try:
        warm = WarmDbt(settings)
    except Exception as exc:  # noqa: BLE001 - dbt then starts as it always did
        context.log.warning(f"dbt not imported ahead of the build ({exc}): the dbt step starts it")
        return
    _started.add(run_id, warm)


def take(context: dg.AssetExecutionContext) -> WarmDbt | None:
    """The process started for this run's dbt step, still waiting for its command; the step closes
    it once dbt has finished."""
    warm = _started.take(context.run.run_id)
    if warm is not None and warm.process.poll() is not None:  # it could not import dbt, say
        warm.close()
        context.log.warning(
            f"dbt's process started ahead of the build exited (code {warm.process.returncode}): dbt starts as usual"
        )
        return None
    return warm


def stop_all() -> None:
    """Stop every process no dbt step took: as a run ends, and when this process exits."""
    _started.stop_all()
