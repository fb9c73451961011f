"""Kill `make run`'s process (SIGKILL) at several points: the published database must stay
byte-identical and readable, and the next run must succeed and publish identical marts."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import PIPELINE_COMMAND, REPO_ROOT, pipeline_env, run_pipeline, write_sources

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# (stage, a console line that shows the run has reached it)
KILL_POINTS = [
    ("ingest", 'Started execution of step "ingest_raw_files"'),
    ("dbt", 'Started execution of step "dbt_models"'),
    ("gates", "mart_gates - STEP_START"),
    ("publish", None),  # killed while the new publication is being written beside the served file
]


def _small_sources(workdir: Path) -> Path:
    """KS2, KS4 and neighbours only: crash safety does not depend on how many datasets a run has,
    and a smaller run keeps the suite fast (a run of the whole sample takes much longer, more than
    sharing the session's sample publication would save)."""

    def keep_three(spec):
        spec["datasets"] = {name: spec["datasets"][name] for name in ("ks2", "ks4", "statistical_neighbours")}
        spec.pop("local", None)

    path = workdir / "sources" / "sources.yml"
    return path if path.exists() else write_sources(path.parent, keep_three)


def _env(workdir: Path) -> dict:
    # Crash safety is about the publication; briefings and docs are tested elsewhere.
    return pipeline_env(workdir, _small_sources(workdir), EDU_RUN_OUTPUTS="0", EDU_LOG_LEVEL="DEBUG")


def _run(workdir: Path) -> subprocess.CompletedProcess:
    return run_pipeline(workdir, _small_sources(workdir), EDU_RUN_OUTPUTS="0")


def _run_and_kill(workdir: Path, marker: str | None) -> bool:
    """Start a run and SIGKILL its whole process group at ``marker`` (or at the first sign of a
    publication being written). Returns whether the kill happened before the run ended."""
    warehouse = workdir / "warehouse"
    process = subprocess.Popen(
        PIPELINE_COMMAND,
        cwd=REPO_ROOT,
        env=_env(workdir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    os.set_blocking(process.stdout.fileno(), False)
    buffer, deadline = b"", time.time() + 600
    # A console marker arrives on the pipe (wait for it); a publication file must be looked for.
    wait = 0.005 if marker is None else 0.5
    try:
        while process.poll() is None and time.time() < deadline:
            if marker is None and any(p.name.endswith(".partial") for p in warehouse.glob(".*")):
                os.killpg(process.pid, signal.SIGKILL)
                return True
            if selector.select(timeout=wait):
                buffer += process.stdout.read() or b""
                if marker and marker.encode() in buffer:
                    os.killpg(process.pid, signal.SIGKILL)
                    return True
        return False
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        process.stdout.close()


def _checksums(served: Path) -> tuple[int, dict]:
    with duckdb.connect(str(served), read_only=True) as con:
        count = con.execute("SELECT count(*) FROM audit.publications").fetchone()[0]
        latest = con.execute(
            "SELECT table_checksums FROM audit.publications ORDER BY published_at DESC LIMIT 1"
        ).fetchone()[0]
        con.execute("SELECT count(*) FROM marts.fct_la_measure").fetchone()
    return count, json.loads(latest)


def test_killed_runs_leave_publication_intact_and_rerun_is_identical(tmp_path):
    first = _run(tmp_path)
    assert first.returncode == 0, first.stderr[-4000:]
    served = tmp_path / "warehouse" / "education.duckdb"
    before = served.read_bytes()
    publications, checksums = _checksums(served)

    killed = []
    for stage, marker in KILL_POINTS:
        if _run_and_kill(tmp_path, marker):
            killed.append(stage)
        assert served.read_bytes() == before, f"published database changed after a kill at {stage}"
        assert _checksums(served) == (publications, checksums)
    print(f"killed at: {killed}")
    assert killed == [stage for stage, _ in KILL_POINTS]

    again = _run(tmp_path)
    assert again.returncode == 0, again.stderr[-4000:]
    count, rerun_checksums = _checksums(served)
    assert count == publications + 1
    # Idempotence: the same inputs give the same mart contents, table by table.
    assert rerun_checksums == checksums
    # no partial file left behind (the run's and the publication's lock files stay, empty or not)
    assert sorted(p.name for p in served.parent.iterdir() if p.name.startswith(".")) == [".publish.lock", ".run.lock"]
