"""Runtime configuration, read from environment variables (documented in .env.example).

Read lazily through :func:`load_settings` so nothing happens at import time and tests can point
each run at its own folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

DEFAULT_TERM_CRON = "0 6 1 9,1,4 *"  # 06:00 on 1 September, 1 January and 1 April: each term's start


def _path(name: str, default: Path) -> Path:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser().resolve() if value else default


@dataclass(frozen=True)
class Settings:
    sources_file: Path
    warehouse_dir: Path
    landing_dir: Path
    term_cron: str

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / "education.duckdb"

    @property
    def build_dir(self) -> Path:
        # Inside the warehouse folder so the final rename stays on one filesystem (atomic).
        return self.warehouse_dir / "build"

    @property
    def build_db(self) -> Path:
        return self.build_dir / "education_build.duckdb"


def load_settings() -> Settings:
    return Settings(
        sources_file=_path("EDU_SOURCES", REPO_ROOT / "sources.yml"),
        warehouse_dir=_path("EDU_WAREHOUSE_DIR", REPO_ROOT / "warehouse"),
        landing_dir=_path("EDU_LANDING_DIR", REPO_ROOT / "raw" / "landing"),
        term_cron=os.environ.get("EDU_TERM_CRON", "").strip() or DEFAULT_TERM_CRON,
    )
