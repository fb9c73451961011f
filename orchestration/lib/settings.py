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
# School-level values about fewer pupils are withheld (dbt macro school_min_cohort reads the same
# variable); stricter than DfE's performance tables, which withhold 5 or fewer.
DEFAULT_SCHOOL_MIN_COHORT = 11


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
    def school_min_cohort(self) -> int:
        value = os.environ.get("EDU_SCHOOL_MIN_COHORT", "").strip()
        if not value:
            return DEFAULT_SCHOOL_MIN_COHORT
        if not value.isdigit() or int(value) < 1:
            from orchestration.lib.errors import PipelineInputError

            raise PipelineInputError(f"EDU_SCHOOL_MIN_COHORT must be a whole number of pupils, 1 or more, got '{value}'")
        return int(value)

    def validate(self) -> None:
        """Refuse settings that would only fail (or, worse, quietly change published values) later."""
        self.school_min_cohort

    def publication_parameters(self) -> dict:
        """Settings that change published values, recorded with each publication."""
        return {"EDU_SCHOOL_MIN_COHORT": self.school_min_cohort}

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
