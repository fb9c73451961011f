"""Compile a snippet of SQL that calls the project's dbt macros (``dbt compile --inline``), for
tests that check a rule reads the same in dbt as in Python or the gates' SQL; and run dbt on a
test's own build database (``run_dbt``)."""

from __future__ import annotations

import atexit
import json
import shutil
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

import pytest

from orchestration.lib.settings import DBT_PROJECT_DIR


def run_dbt(command: str, arguments: list[str], workdir: Path, build_db: Path) -> subprocess.CompletedProcess:
    """``dbt <command>`` of the project with ``arguments``; dbt's target and log folders stay in
    ``workdir``, its database is ``build_db``. The test fails with dbt's output if dbt does."""
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            command,
            "--quiet",
            *arguments,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--log-path",
            str(workdir / "logs"),
            "--vars",
            json.dumps({"edu_build_db": str(build_db)}),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.fail(f"dbt {command} failed: {out.stdout[-5000:]}\n{out.stderr[-3000:]}")
    return out


@cache
def _inline_workdir() -> Path:
    """One folder for every inline compile of the test session: dbt keeps its parsed project there
    (partial parsing), so each compile after the first skips a full parse of the project."""
    workdir = Path(tempfile.mkdtemp(prefix="dbt-inline-"))
    atexit.register(shutil.rmtree, workdir, ignore_errors=True)
    return workdir


def compile_inline(sql: str) -> str:
    """``sql`` with its Jinja rendered by dbt (its target folder and database in a temporary folder)."""
    workdir = _inline_workdir()
    out = run_dbt("compile", ["--inline", sql, "--output", "json"], workdir, workdir / "compile.duckdb")
    return json.loads(out.stdout[out.stdout.index("{") :])["compiled"]


def compile_model(model: str, workdir: Path, build_db: Path) -> str:
    """``model``'s SQL as dbt compiles it (with this environment's settings), reading ``build_db``."""
    run_dbt("compile", ["--select", model], workdir, build_db)
    return next((workdir / "target" / "compiled").rglob(f"{model}.sql")).read_text(encoding="utf-8")


def sql_values(items: list[str]) -> str:
    """A VALUES list of one text column: ('a'), ('b'), ..."""
    return ", ".join("('" + item.replace("'", "''") + "')" for item in items)
