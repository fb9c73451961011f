"""Compile a snippet of SQL that calls the project's dbt macros (``dbt compile --inline``), for
tests that check a rule reads the same in dbt as in Python or the gates' SQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.lib.settings import DBT_PROJECT_DIR


def compile_inline(sql: str, workdir: Path) -> str:
    """``sql`` with its Jinja rendered by dbt; dbt's target folder and database stay in ``workdir``."""
    out = subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            "compile",
            "--quiet",
            "--inline",
            sql,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(workdir / "target"),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "EDU_BUILD_DB": str(workdir / "compile.duckdb")},
    )
    if out.returncode != 0:
        pytest.fail(f"dbt compile failed: {out.stdout}\n{out.stderr}")
    return json.loads(out.stdout[out.stdout.index("{") :])["compiled"]


def sql_values(items: list[str]) -> str:
    """A VALUES list of one text column: ('a'), ('b'), ..."""
    return ", ".join("('" + item.replace("'", "''") + "')" for item in items)
