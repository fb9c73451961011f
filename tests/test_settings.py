"""Settings: every EDU_* variable is read in orchestration/lib/settings.py, validated there with a
message naming it, and documented in .env.example."""

from __future__ import annotations

import re

import pytest

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.settings import REPO_ROOT, load_settings

SETTINGS_FILE = REPO_ROOT / "orchestration" / "lib" / "settings.py"
EDU_NAME = re.compile(r"\bEDU_[A-Z0-9_]+\b")


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "EDU_ALLOW_LARGE_FILES",
        "EDU_MAX_ROWS_PER_FILE",
        "EDU_LOG_LEVEL",
        "EDU_RUN_OUTPUTS",
        "EDU_BRIEFING_LAS",
        "EDU_EES_API_URL",
        "EDU_SENSOR_INTERVAL_SECONDS",
        "EDU_ZIP_MAX_BYTES",
        "EDU_DUCKDB_MEMORY_MIB",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_defaults(clean_env):
    settings = load_settings()
    assert settings.allow_large_files is False and settings.max_rows_per_file is None
    assert settings.log_level == "INFO" and settings.run_outputs is True and settings.briefing_las == ""
    assert settings.ees_api_url == "https://api.education.gov.uk/statistics/v1"
    assert settings.sensor_interval_seconds == 3600 and settings.zip_max_bytes == 8 * 1024**3
    assert settings.log_dir == settings.warehouse_dir / "build" / "logs"


@pytest.mark.parametrize(
    "value, expected", [("1", True), ("true", True), (" YES ", True), ("0", False), ("no", False), ("", False)]
)
def test_allow_large_files(clean_env, value, expected):
    clean_env.setenv("EDU_ALLOW_LARGE_FILES", value)
    assert load_settings().allow_large_files is expected


def test_allow_large_files_refuses_other_words(clean_env):
    clean_env.setenv("EDU_ALLOW_LARGE_FILES", "please")
    with pytest.raises(
        PipelineInputError, match=r"^EDU_ALLOW_LARGE_FILES must be 1 or 0 \(true/false, yes/no\), got 'please'$"
    ):
        load_settings()


@pytest.mark.parametrize("value, expected", [("20", 20), (" 1 ", 1), ("1,000,000", 1_000_000), ("2_500", 2500)])
def test_max_rows_per_file(clean_env, value, expected):
    clean_env.setenv("EDU_MAX_ROWS_PER_FILE", value)
    assert load_settings().max_rows_per_file == expected


@pytest.mark.parametrize("value", ["abc", "0", "-3", "10.5", "1e6", "ten"])
def test_max_rows_per_file_must_be_a_positive_whole_number(clean_env, value):
    clean_env.setenv("EDU_MAX_ROWS_PER_FILE", value)
    with pytest.raises(
        PipelineInputError,
        match=rf"^EDU_MAX_ROWS_PER_FILE must be a whole number of rows, at least 1; got '{re.escape(value)}'$",
    ):
        load_settings()


def test_log_level_run_outputs_and_briefings(clean_env):
    clean_env.setenv("EDU_LOG_LEVEL", "debug")
    clean_env.setenv("EDU_RUN_OUTPUTS", "0")
    clean_env.setenv("EDU_BRIEFING_LAS", " St. Helens, 342 ")
    settings = load_settings()
    assert (settings.log_level, settings.run_outputs, settings.briefing_las) == ("DEBUG", False, "St. Helens, 342")
    clean_env.setenv("EDU_LOG_LEVEL", "loud")
    with pytest.raises(
        PipelineInputError, match="^EDU_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'loud'$"
    ):
        load_settings()


def test_zip_limit_and_sensor_interval(clean_env):
    clean_env.setenv("EDU_ZIP_MAX_BYTES", "1_048_576")
    clean_env.setenv("EDU_SENSOR_INTERVAL_SECONDS", "30")
    assert (load_settings().zip_max_bytes, load_settings().sensor_interval_seconds) == (1_048_576, 30)
    clean_env.setenv("EDU_SENSOR_INTERVAL_SECONDS", "29")
    with pytest.raises(
        PipelineInputError,
        match="^EDU_SENSOR_INTERVAL_SECONDS must be a whole number of seconds, at least 30; got '29'$",
    ):
        load_settings()
    clean_env.delenv("EDU_SENSOR_INTERVAL_SECONDS")
    clean_env.setenv("EDU_ZIP_MAX_BYTES", "8 GiB")
    with pytest.raises(PipelineInputError, match="^EDU_ZIP_MAX_BYTES must be a whole number of bytes"):
        load_settings()


# Runs as dbt's own process (started ahead of the build), whose environment it sets to the one
# dagster-dbt gave the dbt command: it writes no variable of the orchestrator's process.
DBT_PROCESS_FILE = REPO_ROOT / "orchestration/lib/transform/warm_dbt.py"


def test_only_settings_reads_edu_variables():
    """No module but settings.py reads an EDU_* variable from the environment, and nothing under
    orchestration/ writes one (the build database reaches dbt as a var, not through os.environ)."""
    readers, writers = [], []
    for path in sorted((REPO_ROOT / "orchestration").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for number, line in enumerate(text.splitlines(), 1):
            reads_env = re.search(r"os\.environ|os\.getenv|getenv\(", line)
            if not reads_env:
                continue
            if re.search(r"os\.environ\[[^\]]+\]\s*=|environ\.setdefault\(\s*[\"']EDU_|environ\.update", line):
                if path != DBT_PROCESS_FILE:
                    writers.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
            elif path != SETTINGS_FILE and (EDU_NAME.search(line) or re.search(r"environ\.get\(\s*[A-Z_]+_ENV", line)):
                readers.append(f"{path.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    assert readers == [], "read EDU_* through orchestration.lib.settings.load_settings():\n" + "\n".join(readers)
    assert writers == [], "\n".join(writers)


def test_every_setting_is_documented_in_env_example():
    read = set(EDU_NAME.findall(SETTINGS_FILE.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^(EDU_[A-Z0-9_]+)=", (REPO_ROOT / ".env.example").read_text(encoding="utf-8"), re.M))
    assert read >= {
        "EDU_ALLOW_LARGE_FILES",
        "EDU_MAX_ROWS_PER_FILE",
        "EDU_LOG_LEVEL",
        "EDU_EES_API_URL",
        "EDU_ZIP_MAX_BYTES",
    }
    assert read - documented == set()


def test_duckdb_memory_cap_reaches_every_duckdb_process(clean_env):
    from orchestration.defs.transform.resources import dbt_vars

    assert load_settings().duckdb_config == {"memory_limit": "1024MiB"}
    clean_env.setenv("EDU_DUCKDB_MEMORY_MIB", "2,048")
    settings = load_settings()
    assert settings.duckdb_config == {"memory_limit": "2048MiB"}
    # dbt's connection reads it through its profile
    assert '"edu_duckdb_memory_limit": "2048MiB"' in dbt_vars(settings)[1]
    for bad in ("100", "1GB", "-5"):
        clean_env.setenv("EDU_DUCKDB_MEMORY_MIB", bad)
        with pytest.raises(
            PipelineInputError, match="EDU_DUCKDB_MEMORY_MIB must be a whole number of MiB, at least 256"
        ):
            load_settings()
