"""Benchmark: wall time and peak memory of a full build (land, dbt, gates, publish) on the sample.

Runs `python -m orchestration.cli run` in a child process against throwaway folders, so the
repo's own warehouse is untouched, and prints figures; it asserts nothing.
Usage: make bench  [BENCH_RUNS=3]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def one_run(workdir: Path) -> tuple[float, int, int]:
    env = dict(os.environ)
    env.update(
        EDU_WAREHOUSE_DIR=str(workdir / "warehouse"),
        EDU_LANDING_DIR=str(workdir / "landing"),
        DAGSTER_HOME=str(workdir / "dagster_home"),
    )
    env.pop("EDU_BUILD_DB", None)
    started = time.perf_counter()
    completed = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-4000:] + completed.stderr[-4000:])
        raise SystemExit(f"benchmark run failed with exit code {completed.returncode}")
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    size = (workdir / "warehouse" / "education.duckdb").stat().st_size
    return elapsed, peak_kib, size


def main() -> None:
    runs = int(os.environ.get("BENCH_RUNS", "1"))
    print(f"full build on the sample ({runs} run(s), in-process executor, {os.cpu_count()} cores)")
    for index in range(runs):
        with tempfile.TemporaryDirectory(prefix="edu-bench-") as tmp:
            elapsed, peak_kib, size = one_run(Path(tmp))
        print(
            f"run {index + 1}: wall {elapsed:6.1f} s | peak RSS of largest process {peak_kib / 1024:7.1f} MiB"
            f" | published database {size / 1024 / 1024:.1f} MiB"
        )


if __name__ == "__main__":
    main()
