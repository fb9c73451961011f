"""Where the pipeline reads and writes. Every field defaults to the environment (EDU_* variables,
see .env.example) when left empty, so the UI's launchpad can override one run at a time."""

import contextlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import dagster as dg

from orchestration.defs.transform import dbt_docs, warm_dbt
from orchestration.lib import run_lock
from orchestration.lib.settings import Settings, load_settings


class WarehouseResource(dg.ConfigurableResource):
    sources_file: str = ""
    warehouse_dir: str = ""
    landing_dir: str = ""

    @contextlib.contextmanager
    def yield_for_execution(self, context: dg.InitResourceContext) -> Iterator["WarehouseResource"]:
        """A run holds its warehouse folder's run lock (<warehouse>/.run.lock) from its start to its
        end, as `make run` does: the code location's executor runs every step in one process, which
        starts this resource once per run. So a run launched in the UI stops at once, naming the
        holder, while another run (from the UI or `make run`) is using the folder. Sensors use the
        resource outside any run and take no lock; a run `make run` started holds it already."""
        folder = self.settings().warehouse_dir
        run = context.run
        with contextlib.ExitStack() as held:
            if run is not None and not run_lock.held_here(folder):
                held.enter_context(run_lock.exclusive(folder, f"Dagster run {run.run_id}"))
            try:
                yield self
            finally:
                # A run that stopped before its outputs leaves no docs process reading the build
                # database once the folder is free for the next run (defs/transform/dbt_docs.py),
                # and one that stopped before its dbt step no process waiting to build it
                # (defs/transform/warm_dbt.py).
                try:
                    dbt_docs.stop_all()
                finally:
                    warm_dbt.stop_all()

    def settings(self) -> Settings:
        settings = load_settings()
        overrides = {
            name: Path(value).expanduser().resolve()
            for name, value in (
                ("sources_file", self.sources_file),
                ("warehouse_dir", self.warehouse_dir),
                ("landing_dir", self.landing_dir),
            )
            if value
        }
        return replace(settings, **overrides)
