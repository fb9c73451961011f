"""One .env, read the same way by `make run`, the CLI and the Dagster UI."""

from __future__ import annotations

import subprocess
import sys

import pytest

from orchestration.lib.env_file import load_env_file, read_env_file
from orchestration.lib.errors import PipelineInputError
from tests.conftest import REPO_ROOT


def test_values_fill_in_what_the_environment_leaves_unset(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# settings\nEDU_TERM_CRON=0 7 1 9,1,4 *\nexport EDU_BRIEFING_LAS='St. Helens, 341'\n"
        'EDU_LOG_LEVEL="WARNING"\nEDU_SOURCES=sources.yml # the sample\nEDU_SOURCE_DIRS=\n'
        "EDU_EES_API_URL=https://example.invalid/$HOME\n",
        encoding="utf-8",
    )
    environ = {"EDU_ENV_FILE": str(env_file), "EDU_LOG_LEVEL": "DEBUG"}
    filled = load_env_file(tmp_path, environ)
    assert environ["EDU_TERM_CRON"] == "0 7 1 9,1,4 *"
    assert environ["EDU_BRIEFING_LAS"] == "St. Helens, 341"
    assert environ["EDU_LOG_LEVEL"] == "DEBUG" and "EDU_LOG_LEVEL" not in filled  # exported wins
    assert environ["EDU_SOURCES"] == "sources.yml" and environ["EDU_SOURCE_DIRS"] == ""
    assert environ["EDU_EES_API_URL"] == "https://example.invalid/$HOME"  # nothing is expanded


def test_the_default_file_is_the_repos_and_an_empty_name_means_none(tmp_path):
    (tmp_path / ".env").write_text("EDU_TERM_CRON=0 8 1 9 *\n", encoding="utf-8")
    environ: dict[str, str] = {}
    load_env_file(tmp_path, environ)
    assert environ["EDU_TERM_CRON"] == "0 8 1 9 *"
    environ = {"EDU_ENV_FILE": ""}
    assert load_env_file(tmp_path, environ) == {} and "EDU_TERM_CRON" not in environ


@pytest.mark.parametrize("line", ["EDU_TERM_CRON", "1BAD=x", "EDU X=1", "$(rm -rf /)"])
def test_a_line_that_is_not_a_setting_is_named(tmp_path, line):
    env_file = tmp_path / ".env"
    env_file.write_text(f"EDU_LOG_LEVEL=INFO\n{line}\n", encoding="utf-8")
    with pytest.raises(PipelineInputError, match=r"\.env line 2: not a KEY=VALUE setting"):
        read_env_file(env_file)


def test_an_oversized_env_file_is_refused_before_it_is_read(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_bytes(b"A=" + b"x" * (2 << 20))
    with pytest.raises(PipelineInputError, match="larger than"):
        read_env_file(env_file)


@pytest.mark.parametrize("reader", ["cli", "definitions"])
def test_make_run_and_the_ui_see_the_same_settings(tmp_path, reader):
    """The CLI (`make run`) and the code location `make dev` loads both read EDU_ENV_FILE's
    file: the termly schedule's cron and a setting only the run reads come out the same."""
    env_file = tmp_path / "team.env"
    env_file.write_text("EDU_TERM_CRON=15 5 2 9,1,4 *\nEDU_BRIEFING_LAS=Wigan\n", encoding="utf-8")
    script = {
        "cli": "from orchestration.cli import configure_environment; configure_environment(); "
        "from orchestration.lib.settings import load_settings; s = load_settings(); print(s.term_cron, s.briefing_las)",
        "definitions": "from orchestration.definitions import defs; from orchestration.lib.settings import load_settings; "
        "s = next(x for x in defs.schedules if x.name == 'termly_refresh'); "
        "print(s.cron_schedule, load_settings().briefing_las)",
    }[reader]
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("EDU_TERM_CRON", "EDU_BRIEFING_LAS")}
    env["EDU_ENV_FILE"] = str(env_file)
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "15 5 2 9,1,4 * Wigan"
