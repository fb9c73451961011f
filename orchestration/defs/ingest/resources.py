"""Where the pipeline reads and writes. Every field defaults to the environment (EDU_* variables,
see .env.example) when left empty, so the UI's launchpad can override one run at a time."""

from dataclasses import replace
from pathlib import Path

import dagster as dg

from orchestration.lib.settings import Settings, load_settings


class WarehouseResource(dg.ConfigurableResource):
    sources_file: str = ""
    warehouse_dir: str = ""
    landing_dir: str = ""

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
