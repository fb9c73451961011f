"""dbt's Python imported ahead of the build (lib/transform/warm_dbt.py, defs/transform/warm_dbt.py):
the launcher dagster-dbt starts hands its command, environment, folder and output to the waiting
process, forwards Ctrl-C and exits with dbt's code; without that process dbt runs as installed."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration.defs.transform import warm_dbt
from orchestration.defs.transform.resources import dbt_executable
from orchestration.lib.settings import DBT_PROJECT_DIR, Settings, load_settings
from orchestration.lib.transform.warm_dbt import listen, write_launcher
from tests.conftest import REPO_ROOT

# A process that serves one command as warm_dbt.serve does, running this instead of dbt: it says
# what it was handed, then exits with code 3 (or waits for Ctrl-C when asked to).
FAKE_SERVER = """
import json, os, signal, socket, sys, time
from pathlib import Path
from orchestration.lib.transform.warm_dbt import serve

# Ctrl-C raises KeyboardInterrupt, as in dbt started from a terminal, even where this test runs
# as a background job (which starts with SIGINT ignored, and so would every dbt it started)
signal.signal(signal.SIGINT, signal.default_int_handler)

def run(argv):
    if argv == ["wait"]:
        print("waiting", flush=True)
        time.sleep(60)
    print(json.dumps({"argv": argv, "cwd": os.getcwd(), "marker": os.environ.get("WARM_DBT_TEST"),
                      "stdin": sys.stdin.read()}))
    return 3

sys.exit(serve(socket.socket(fileno=int(sys.argv[1])), Path(sys.argv[2]), 60, int(sys.argv[3]), run=run))
"""


def _serve_fake(folder: Path) -> tuple[subprocess.Popen, Path]:
    socket_path = folder / "dbt.sock"
    with listen(socket_path) as listener:
        server = subprocess.Popen(
            [sys.executable, "-c", FAKE_SERVER, str(listener.fileno()), str(socket_path), str(os.getpid())],
            pass_fds=[listener.fileno()],
            cwd=REPO_ROOT,
        )
    return server, socket_path


def test_the_launcher_hands_its_command_to_the_waiting_process(tmp_path):
    server, socket_path = _serve_fake(tmp_path)
    launcher = write_launcher(tmp_path / "dbt", socket_path, "/nonexistent/dbt")
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [str(launcher), "build", "--vars", '{"a": "b c"}'],
        cwd=work,
        env={**os.environ, "WARM_DBT_TEST": "handed over"},
        input="from stdin",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stderr
    said = __import__("json").loads(done.stdout)
    assert said == {
        "argv": ["build", "--vars", '{"a": "b c"}'],
        "cwd": str(work),
        "marker": "handed over",
        "stdin": "from stdin",
    }
    assert server.wait(10) == 3
    assert not socket_path.exists()  # one command only


def test_ctrl_c_reaches_dbt_through_the_launcher(tmp_path):
    server, socket_path = _serve_fake(tmp_path)
    launcher = write_launcher(tmp_path / "dbt", socket_path, "/nonexistent/dbt")
    running = subprocess.Popen([str(launcher), "wait"], stdout=subprocess.PIPE, text=True)
    assert running.stdout.readline() == "waiting\n"
    running.send_signal(signal.SIGINT)  # what dagster-dbt sends its dbt process when the run stops
    assert running.wait(30) == 130
    assert server.wait(10) == 130


def test_without_a_waiting_process_dbt_runs_as_installed(tmp_path):
    installed = tmp_path / "installed-dbt"
    installed.write_text('#!/bin/sh\necho installed dbt: "$@"\nexit 4\n', encoding="utf-8")
    installed.chmod(0o700)
    launcher = write_launcher(tmp_path / "dbt", tmp_path / "nobody.sock", str(installed))
    done = subprocess.run([str(launcher), "build", "-s", "x"], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (4, "installed dbt: build -s x\n")


def _settings(tmp_path: Path) -> Settings:
    settings = dataclasses.replace(load_settings(), warehouse_dir=tmp_path / "warehouse")
    settings.build_dir.mkdir(parents=True)
    return settings


def test_a_warm_dbt_answers_as_the_installed_dbt(tmp_path):
    """The real process, with dbt: `dbt ls` through it lists what the installed dbt lists."""
    pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")
    command = ["ls", "--resource-type", "seed", "--quiet", "--vars", f'{{"edu_build_db": "{tmp_path / "b.duckdb"}"}}']
    # dbt's files of these commands stay out of the project's target folder, which the tests read
    written = ["--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")]
    warm = warm_dbt.WarmDbt(_settings(tmp_path))
    try:
        through = subprocess.run(
            [str(warm.launcher), *command, *written],
            cwd=DBT_PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert warm.took_the_command() and warm.process.wait(60) == 0  # dbt did not run as installed
    finally:
        warm.close()
    installed = subprocess.run(
        [dbt_executable(), *command, *written], cwd=DBT_PROJECT_DIR, capture_output=True, text=True, timeout=300
    )
    assert through.returncode == installed.returncode == 0, through.stderr
    assert through.stdout == installed.stdout and "edu_outcomes.measure_catalogue" in through.stdout
    assert not warm.folder.exists()


def test_a_process_no_dbt_step_took_is_stopped_with_its_folder(tmp_path):
    warm = warm_dbt.WarmDbt(_settings(tmp_path))
    warm_dbt._started.add("a-run", warm)
    warm_dbt.stop_all()
    assert warm.process.poll() is not None and not warm.folder.exists()
    assert "a-run" not in warm_dbt._started and warm_dbt._started.take("a-run") is None


def test_the_process_gives_up_when_the_run_that_started_it_is_gone(tmp_path):
    """A run killed outright leaves no process waiting for an hour: it sees its parent go."""
    starter = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, subprocess; from pathlib import Path; from orchestration.lib.transform.warm_dbt import listen;"
            "l = listen(Path(sys.argv[1]));"
            "p = subprocess.Popen([sys.executable, '-c', sys.argv[2], str(l.fileno()), sys.argv[1], str(os.getpid())],"
            " pass_fds=[l.fileno()], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL);"
            "print(p.pid)",
            str(tmp_path / "dbt.sock"),
            FAKE_SERVER,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(starter.stdout) > 0  # the process it started, now without its parent
    deadline = time.monotonic() + 60  # it waits 60 s for a command while its parent lives
    while (tmp_path / "dbt.sock").exists():  # it removes its socket as it gives up
        assert time.monotonic() < deadline - 50, "the process still waits for a command"
        time.sleep(0.1)
