"""Runtime configuration, read from environment variables (documented in .env.example).

The one place the pipeline reads ``EDU_*`` variables: everything else takes a :class:`Settings`
(assets through ``WarehouseResource.settings()``). Read lazily through :func:`load_settings`, so
nothing happens at import time and tests can point each run at its own folders; a malformed value
is refused there with a message naming the variable, before anything runs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from orchestration.lib.errors import PipelineInputError

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

DEFAULT_TERM_CRON = "0 6 1 9,1,4 *"  # 06:00 on 1 September, 1 January and 1 April: each term's start
# A week after the termly run: a publication older than the window before this is late.
DEFAULT_PUBLICATION_DEADLINE_CRON = "0 18 8 9,1,4 *"
DEFAULT_PUBLICATION_WINDOW_DAYS = 14
DEFAULT_ASSET_OWNERS = "team:education-data"
# School-level values about fewer pupils are withheld (dbt macro school_min_cohort reads the same
# variable); stricter than DfE's performance tables, which withhold 5 or fewer.
DEFAULT_SCHOOL_MIN_COHORT = 11
# How far secondary suppression lets a withheld school value be narrowed (dbt macros
# school_min_possibilities and school_min_interval_percent read the same variables): at least this
# many pupil counts stay possible, and an interval of at least this share of the measure's range.
DEFAULT_SCHOOL_MIN_POSSIBILITIES = 3
DEFAULT_SCHOOL_MIN_INTERVAL_PERCENT = 10
DEFAULT_EES_API_URL = "https://api.education.gov.uk/statistics/v1"
DEFAULT_EES_CONTENT_URL = "https://content.explore-education-statistics.service.gov.uk/api"
DEFAULT_SENSOR_INTERVAL_SECONDS = 3600
MIN_SENSOR_INTERVAL_SECONDS = 30
DEFAULT_ZIP_MAX_BYTES = 8 * 1024**3
DEFAULT_GLOB_MAX_ENTRIES = 100_000
DEFAULT_META_MAX_BYTES = 1024**2
DEFAULT_YAML_MAX_BYTES = 1024**2
DEFAULT_MAX_COLUMNS = 2_000
DEFAULT_XLSX_MAX_BYTES = 512 * 1024**2
# DuckDB keeps as much as it may in memory (80% of RAM by default) and spills the rest to disk:
# a cap keeps a run on a million-row characteristics file within a modest machine's memory.
DEFAULT_DUCKDB_MEMORY_MIB = 1024
MIN_DUCKDB_MEMORY_MIB = 256
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _text(name: str) -> str:
    return os.environ.get(name, "").strip()


def _path(name: str, default: Path) -> Path:
    value = _text(name)
    return Path(value).expanduser().resolve() if value else default


def _flag(name: str, default: bool) -> bool:
    value = _text(name).lower()
    if not value:
        return default
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise PipelineInputError(f"{name} must be 1 or 0 (true/false, yes/no), got '{_text(name)}'")


def _whole_number(name: str, what: str, minimum: int) -> int | None:
    """A whole number of at least ``minimum`` (thousands separators allowed: 1,000,000 or
    1_000_000), or None when the variable is unset or empty."""
    value = _text(name)
    if not value:
        return None
    digits = value.replace(",", "").replace("_", "")
    if not digits.isdigit() or int(digits) < minimum:
        raise PipelineInputError(f"{name} must be a whole number of {what}, at least {minimum:,}; got '{value}'")
    return int(digits)


def _log_level(name: str) -> str:
    value = _text(name).upper() or "INFO"
    value = "WARNING" if value == "WARN" else value
    if value not in LOG_LEVELS:
        raise PipelineInputError(f"{name} must be one of {', '.join(LOG_LEVELS)}; got '{_text(name)}'")
    return value


def _http_address(name: str, default: str) -> str:
    value = _text(name) or default
    if urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise PipelineInputError(f"{name} must be an http(s) address, got '{value}'")
    return value.rstrip("/")


def _cron(name: str, default: str) -> str:
    value = _text(name) or default
    # Five fields of numbers, names, ranges, steps and lists; Dagster checks the values themselves.
    if not re.fullmatch(r"\s*([0-9A-Za-z*,/\-]+\s+){4}[0-9A-Za-z*,/\-]+\s*", value):
        raise PipelineInputError(f"{name} must be a cron expression such as '{default}', got '{value}'")
    return value


def _postgres_url(name: str) -> str:
    """A PostgreSQL URL, or "" when unset. Never echoed: it may hold a password."""
    value = _text(name)
    if value and (urlsplit(value).scheme not in ("postgresql", "postgres") or not urlsplit(value).netloc):
        raise PipelineInputError(f"{name} must be a postgresql://user:password@host:port/database address")
    return value


def _optional_http_address(name: str) -> str:
    """An http(s) address, or "" when unset. Never echoed: a webhook address carries its token."""
    value = _text(name)
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise PipelineInputError(f"{name} must be an http(s) address")
    return value


def _owners(name: str, default: str) -> tuple[str, ...]:
    """Dagster asset owners: e-mail addresses or team:<name>."""
    owners = tuple(o.strip() for o in (_text(name) or default).split(",") if o.strip())
    for owner in owners:
        if not re.fullmatch(r"team:[A-Za-z0-9_-]{1,63}|[^@\s,]{1,64}@[^@\s,]{1,190}\.[A-Za-z]{2,}", owner):
            raise PipelineInputError(f"{name}: '{owner}' is neither an e-mail address nor team:<name>")
    return owners


def _choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first when unset)."""
    value = _text(name).lower() or choices[0]
    if value not in choices:
        raise PipelineInputError(f"{name} must be one of {', '.join(choices)}, got '{value}'")
    return value


def _role_name(name: str) -> str:
    value = _text(name)
    if value and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", value):
        raise PipelineInputError(f"{name} must be a PostgreSQL role name (letters, digits, _), got '{value}'")
    return value


@dataclass(frozen=True)
class Settings:
    sources_file: Path  # EDU_SOURCES
    warehouse_dir: Path  # EDU_WAREHOUSE_DIR
    landing_dir: Path  # EDU_LANDING_DIR
    term_cron: str = DEFAULT_TERM_CRON  # EDU_TERM_CRON
    # The publication is late when none was made in the window_days before the deadline's last tick.
    publication_deadline_cron: str = DEFAULT_PUBLICATION_DEADLINE_CRON  # EDU_PUBLICATION_DEADLINE_CRON
    publication_window_days: int = DEFAULT_PUBLICATION_WINDOW_DAYS  # EDU_PUBLICATION_WINDOW_DAYS
    # Console of `make run`: INFO shows the pipeline's progress; DEBUG every Dagster event and
    # dbt's per-node lines (otherwise only in log_dir/dbt.log).
    log_level: str = "INFO"  # EDU_LOG_LEVEL
    run_outputs: bool = True  # EDU_RUN_OUTPUTS: False stops `make run` after the publication
    briefing_las: str = ""  # EDU_BRIEFING_LAS: comma-separated LA names or codes; empty = every LA
    ees_api_url: str = DEFAULT_EES_API_URL  # EDU_EES_API_URL, without a trailing slash
    # The EES website's content API: publications' release dates, asked when sources are resolved afresh
    ees_content_url: str = DEFAULT_EES_CONTENT_URL  # EDU_EES_CONTENT_URL, without a trailing slash
    sensor_interval_seconds: int = DEFAULT_SENSOR_INTERVAL_SECONDS  # EDU_SENSOR_INTERVAL_SECONDS
    zip_max_bytes: int = DEFAULT_ZIP_MAX_BYTES  # EDU_ZIP_MAX_BYTES: a url: download or unpacked ZIP
    # Accept, for this run, a file far larger than its previous landing (recorded in the landing).
    allow_large_files: bool = False  # EDU_ALLOW_LARGE_FILES
    max_rows_per_file: int | None = None  # EDU_MAX_ROWS_PER_FILE: None = no limit
    duckdb_memory_mib: int = DEFAULT_DUCKDB_MEMORY_MIB  # EDU_DUCKDB_MEMORY_MIB: per DuckDB process
    # Folders besides the one holding sources.yml that its files: entries may read (os.pathsep-separated)
    source_dirs: tuple[Path, ...] = ()  # EDU_SOURCE_DIRS
    # Directory entries a files: glob may visit before it is refused (a ** over a huge or looping tree)
    glob_max_entries: int = DEFAULT_GLOB_MAX_ENTRIES  # EDU_GLOB_MAX_ENTRIES
    meta_max_bytes: int = DEFAULT_META_MAX_BYTES  # EDU_META_MAX_BYTES: a file's .meta.csv
    yaml_max_bytes: int = DEFAULT_YAML_MAX_BYTES  # EDU_YAML_MAX_BYTES: sources.yml, sources.lock, schemas
    max_columns: int = DEFAULT_MAX_COLUMNS  # EDU_MAX_COLUMNS: a data file's header
    xlsx_max_bytes: int = DEFAULT_XLSX_MAX_BYTES  # EDU_XLSX_MAX_BYTES: a workbook once unzipped
    # After the DuckDB publication, publish to this PostgreSQL database too ("" = off); kept out
    # of repr, logs and metadata (a password).
    publish_postgres_url: str = field(default="", repr=False)  # EDU_PUBLISH_POSTGRES_URL
    publish_postgres_read_role: str = ""  # EDU_PUBLISH_POSTGRES_READ_ROLE: granted SELECT on what is published
    # Where a failed run's alert is posted (a Teams or Slack incoming webhook; "" = the log file only)
    alert_webhook_url: str = field(default="", repr=False)  # EDU_ALERT_WEBHOOK_URL
    # Who the Dagster UI names as owning every asset (e-mail addresses or team:<name>)
    asset_owners: tuple[str, ...] = (DEFAULT_ASSET_OWNERS,)  # EDU_ASSET_OWNERS
    # Quartile band colours in briefings: lait (A green, D red, as LAIT) or diverging (blue to red)
    briefing_band_palette: str = "lait"  # EDU_BRIEFING_BAND_PALETTE

    @property
    def school_min_cohort(self) -> int:
        value = _text("EDU_SCHOOL_MIN_COHORT")
        if not value:
            return DEFAULT_SCHOOL_MIN_COHORT
        if not value.isdigit() or int(value) < 1:
            raise PipelineInputError(
                f"EDU_SCHOOL_MIN_COHORT must be a whole number of pupils, 1 or more, got '{value}'"
            )
        return int(value)

    @property
    def school_min_possibilities(self) -> int:
        value = _whole_number("EDU_SCHOOL_MIN_POSSIBILITIES", "pupil counts", 2)
        return DEFAULT_SCHOOL_MIN_POSSIBILITIES if value is None else value

    @property
    def school_min_interval_percent(self) -> int:
        value = _whole_number("EDU_SCHOOL_MIN_INTERVAL_PERCENT", "per cent of the measure's range", 1)
        if value is not None and value > 100:
            raise PipelineInputError(f"EDU_SCHOOL_MIN_INTERVAL_PERCENT must be at most 100; got '{value}'")
        return DEFAULT_SCHOOL_MIN_INTERVAL_PERCENT if value is None else value

    def validate(self) -> None:
        """Refuse settings that would only fail (or, worse, quietly change published values) later."""
        # the properties raise on a bad value
        _ = self.school_min_cohort, self.school_min_possibilities, self.school_min_interval_percent

    def publication_parameters(self) -> dict:
        """Settings that change published values, recorded with each publication."""
        return {
            "EDU_SCHOOL_MIN_COHORT": self.school_min_cohort,
            "EDU_SCHOOL_MIN_POSSIBILITIES": self.school_min_possibilities,
            "EDU_SCHOOL_MIN_INTERVAL_PERCENT": self.school_min_interval_percent,
        }

    @property
    def duckdb_config(self) -> dict:
        """Every DuckDB connection of a run (ingest, gates, publication; dbt through its profile)."""
        return {"memory_limit": self.duckdb_memory_limit}

    @property
    def duckdb_memory_limit(self) -> str:
        # MiB, as the variable says: DuckDB reads "MB" as 10^6 bytes
        return f"{self.duckdb_memory_mib}MiB"

    @property
    def published_db(self) -> Path:
        return self.warehouse_dir / "education.duckdb"

    @property
    def build_dir(self) -> Path:
        # Inside the warehouse folder so the final rename stays on one filesystem (atomic).
        return self.warehouse_dir / "build"

    @property
    def build_db(self) -> Path:
        # Handed to dbt as the var edu_build_db (dbt_project/profiles.yml), never through os.environ.
        return self.build_dir / "education_build.duckdb"

    @property
    def log_dir(self) -> Path:
        # dbt.log (dbt's per-node lines) and gates.txt (every gate of the last run, in full).
        return self.build_dir / "logs"


def load_settings() -> Settings:
    return Settings(
        sources_file=_path("EDU_SOURCES", REPO_ROOT / "sources.yml"),
        warehouse_dir=_path("EDU_WAREHOUSE_DIR", REPO_ROOT / "warehouse"),
        landing_dir=_path("EDU_LANDING_DIR", REPO_ROOT / "raw" / "landing"),
        term_cron=_cron("EDU_TERM_CRON", DEFAULT_TERM_CRON),
        publication_deadline_cron=_cron("EDU_PUBLICATION_DEADLINE_CRON", DEFAULT_PUBLICATION_DEADLINE_CRON),
        publication_window_days=_whole_number("EDU_PUBLICATION_WINDOW_DAYS", "days", 1)
        or DEFAULT_PUBLICATION_WINDOW_DAYS,
        log_level=_log_level("EDU_LOG_LEVEL"),
        run_outputs=_flag("EDU_RUN_OUTPUTS", True),
        briefing_las=_text("EDU_BRIEFING_LAS"),
        ees_api_url=_http_address("EDU_EES_API_URL", DEFAULT_EES_API_URL),
        ees_content_url=_http_address("EDU_EES_CONTENT_URL", DEFAULT_EES_CONTENT_URL),
        sensor_interval_seconds=_whole_number("EDU_SENSOR_INTERVAL_SECONDS", "seconds", MIN_SENSOR_INTERVAL_SECONDS)
        or DEFAULT_SENSOR_INTERVAL_SECONDS,
        zip_max_bytes=_whole_number("EDU_ZIP_MAX_BYTES", "bytes", 1) or DEFAULT_ZIP_MAX_BYTES,
        allow_large_files=_flag("EDU_ALLOW_LARGE_FILES", False),
        max_rows_per_file=_whole_number("EDU_MAX_ROWS_PER_FILE", "rows", 1),
        duckdb_memory_mib=_whole_number("EDU_DUCKDB_MEMORY_MIB", "MiB", MIN_DUCKDB_MEMORY_MIB)
        or DEFAULT_DUCKDB_MEMORY_MIB,
        source_dirs=tuple(Path(p).expanduser() for p in _text("EDU_SOURCE_DIRS").split(os.pathsep) if p.strip()),
        glob_max_entries=_whole_number("EDU_GLOB_MAX_ENTRIES", "entries", 1) or DEFAULT_GLOB_MAX_ENTRIES,
        meta_max_bytes=_whole_number("EDU_META_MAX_BYTES", "bytes", 1) or DEFAULT_META_MAX_BYTES,
        yaml_max_bytes=_whole_number("EDU_YAML_MAX_BYTES", "bytes", 1) or DEFAULT_YAML_MAX_BYTES,
        max_columns=_whole_number("EDU_MAX_COLUMNS", "columns", 1) or DEFAULT_MAX_COLUMNS,
        xlsx_max_bytes=_whole_number("EDU_XLSX_MAX_BYTES", "bytes", 1) or DEFAULT_XLSX_MAX_BYTES,
        publish_postgres_url=_postgres_url("EDU_PUBLISH_POSTGRES_URL"),
        publish_postgres_read_role=_role_name("EDU_PUBLISH_POSTGRES_READ_ROLE"),
        alert_webhook_url=_optional_http_address("EDU_ALERT_WEBHOOK_URL"),
        asset_owners=_owners("EDU_ASSET_OWNERS", DEFAULT_ASSET_OWNERS),
        briefing_band_palette=_choice("EDU_BRIEFING_BAND_PALETTE", ("lait", "diverging")),
    )
