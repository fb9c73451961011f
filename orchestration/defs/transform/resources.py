"""dbt wiring: one DbtProject for the whole pipeline."""

import importlib.metadata
import json
import shutil
import sys
from functools import cached_property
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from orchestration.lib.settings import DBT_PROJECT_DIR, Settings

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def dbt_executable() -> str:
    # The dbt installed beside this interpreter, so `make run` works without activating the venv.
    beside = Path(sys.executable).with_name("dbt")
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_vars(settings: Settings) -> list[str]:
    """The ``--vars`` of every dbt invocation: the build database dbt_project/profiles.yml
    connects to. A var rather than an environment variable, so an asset never writes os.environ
    to reach the dbt subprocess. `dbt parse` (cli.prepare) passes the same vars, as dbt parses
    again from scratch when they change."""
    return [
        "--vars",
        json.dumps({"edu_build_db": str(settings.build_db), "edu_duckdb_memory_limit": settings.duckdb_memory_limit}),
    ]


class OfflineDbtCliResource(DbtCliResource):
    """dagster-dbt learns dbt's version by running `dbt --version`, and dbt answers that by asking
    PyPI for the latest release: a call to the internet on every run. A run never contacts the
    internet, so the version is read from the installed dbt-core's package metadata instead."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        """dagster-dbt opens a dbt adapter in this process before each dbt command (1.5 s the
        first time, 0.6 s after) for its fetch_row_counts and fetch_column_metadata, which this
        project does not call: row counts come from each model's post-hook, column lineage from
        the compiled SQL (defs/transform/assets.py). dbt itself runs as before, in its own process."""
        return None


def dbt_global_flags(settings: Settings) -> list[str]:
    """Flags of every dbt invocation. No colour codes: dbt's per-node lines go to a log file
    (orchestration/defs/transform/dbt_log.py). dbt's own log file (dbt.log in the invocation's
    target folder) at info, as the console shows it, unless EDU_LOG_LEVEL=DEBUG: at debug it
    holds every statement dbt sends (8 MB for the sample) and writing it took 3 s of a 20 s build,
    on the build's critical path. The SQL of each node is also in the folder's compiled/ and run/."""
    return ["--no-use-colors", "--log-level-file", "debug" if settings.log_level == "DEBUG" else "info"]


def dbt_resource(settings: Settings) -> DbtCliResource:
    return OfflineDbtCliResource(
        project_dir=dbt_project, dbt_executable=dbt_executable(), global_config_flags=dbt_global_flags(settings)
    )
