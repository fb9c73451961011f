"""Helpers for driving the Dagster UI in a real browser: a `dagster dev` started on loopback and
stopped by its own process id, Dagster's GraphQL endpoint for waiting on runs, and Debian's
Chromium launched headless through Playwright (no browser download: `executable_path`)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.conftest import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TERMINAL_RUN_STATUSES = {"SUCCESS", "FAILURE", "CANCELED"}

# The test instance never shows first-visit dialogs, so nothing can open over the page mid-test.
# Dagster's only one is the "Join the Dagster community" newsletter dialog (webapp
# src/NUX/CommunityNux.tsx): it opens one second after the UI loads, unless the instance has
# `nux: {enabled: false}` (GraphQL shouldShowNux is then false) or the browser's localStorage has
# `communityNux` set (what its Skip button stores, JSON-encoded by useStateWithStorage). Open, it
# traps the focus, so a "/" typed for the page reaches the UI's global "/ or Cmd-K" search shortcut
# (app/navigation/mainNavigationItems.tsx) and the search dialog's backdrop then covers everything.
INSTANCE_CONFIG = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
FIRST_VISIT_LOCAL_STORAGE = {"communityNux": '"1"'}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reset_signals() -> None:
    # A process started from a background shell inherits SIGINT as ignored; `dagster dev` maps
    # SIGTERM onto SIGINT's handler, so it would ignore SIGTERM too.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)


def manifest_is_fresh() -> bool:
    """True when dbt_project/target/manifest.json is newer than every file of the dbt project."""
    project = REPO_ROOT / "dbt_project"
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        return False
    built = manifest.stat().st_mtime
    for path in project.rglob("*"):
        parts = path.relative_to(project).parts
        if parts and parts[0] in ("target", "logs", "dbt_packages"):
            continue
        if path.is_file() and path.stat().st_mtime > built:
            return False
    return True


class DagsterDev:
    """`dagster dev -w workspace.yaml` (code location edu_outcomes) on 127.0.0.1, in its own process group."""

    def __init__(self, workdir: Path, sources: Path, port: int | None = None):
        self.workdir = workdir
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.home = workdir / "dagster_home"
        self.warehouse = workdir / "warehouse"
        self.landing = workdir / "landing"
        self.log_path = workdir / "dagster_dev.log"
        self.sources = sources
        self.process: subprocess.Popen | None = None
        self.env = dict(os.environ)
        self.env.pop("EDU_BUILD_DB", None)
        self.env.update(
            DAGSTER_HOME=str(self.home),
            EDU_SOURCES=str(sources),
            EDU_WAREHOUSE_DIR=str(self.warehouse),
            EDU_LANDING_DIR=str(self.landing),
            DBT_SEND_ANONYMOUS_USAGE_STATS="false",
            GX_ANALYTICS_ENABLED="false",
            DAGSTER_DISABLE_TELEMETRY="true",
            DO_NOT_TRACK="1",
            PYTHONUNBUFFERED="1",
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(INSTANCE_CONFIG)
        if manifest_is_fresh():
            return
        subprocess.run(
            [sys.executable, "-m", "orchestration.cli", "prepare"],
            cwd=REPO_ROOT,
            env=self.env,
            check=True,
            capture_output=True,
            timeout=300,
        )

    def start(self) -> None:
        dagster = Path(sys.executable).with_name("dagster")
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(self.port)],
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_reset_signals,
        )

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 240) -> None:
        """Until /server_info answers and the code location has loaded."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dagster dev exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base_url + "/server_info", timeout=5) as response:
                    response.read()
                entries = self.graphql(
                    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                    "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
                )["workspaceOrError"]["locationEntries"]
            except (OSError, RuntimeError, KeyError, TypeError, ValueError):
                entries = None  # not listening yet, or the workspace is still loading
            if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                errors = [
                    e for e in entries if (e["locationOrLoadError"] or {}).get("__typename") != "RepositoryLocation"
                ]
                if errors:
                    raise RuntimeError(f"code location failed to load: {errors}\n{self.log_tail()}")
                return
            time.sleep(0.5)
        raise TimeoutError(f"dagster dev not ready on {self.base_url} after {timeout}s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to the process group of our own `dagster dev` (webserver, daemon, code servers
        and run workers are in it), then SIGKILL if it has not gone within ``timeout``."""
        process = self.process
        if process is None:
            return
        pgid = process.pid  # start_new_session: the group is led by our process
        try:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGTERM)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=timeout)
            # Whatever is left of the group (a child that outlived dagster dev) goes too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pgid, signal.SIGKILL)
            process.wait(timeout=10)
        finally:
            self._log.close()

    # --- GraphQL (waiting and facts; launches go through the browser) -------------------------

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.base_url + "/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = json.loads(response.read())
        if payload.get("errors"):
            raise RuntimeError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]

    def run(self, run_id: str) -> dict:
        return self.graphql(
            """query($id: ID!) { runOrError(runId: $id) { __typename ... on Run {
                 runId status jobName stepStats { stepKey status } } } }""",
            {"id": run_id},
        )["runOrError"]

    def wait_for_run(self, run_id: str, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        run: dict = {}
        while time.monotonic() < deadline:
            run = self.run(run_id)
            if run.get("status") in TERMINAL_RUN_STATUSES:
                return run
            time.sleep(0.5)
        raise TimeoutError(f"run {run_id} still {run.get('status')} after {timeout}s:\n{self.log_tail()}")


def first_visit_storage_state(base_url: str) -> dict:
    """A browser context's storage state with the first-visit flags already set for the UI's origin."""
    local_storage = [{"name": k, "value": v} for k, v in FIRST_VISIT_LOCAL_STORAGE.items()]
    return {"cookies": [], "origins": [{"origin": base_url, "localStorage": local_storage}]}


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def loopback_only(context, base_url: str, blocked: list[str]) -> None:
    """Abort every request the page makes outside the webserver on loopback (and record it)."""

    def route(route):
        url = route.request.url
        if url.startswith(base_url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    context.route("**/*", route)


def launched_run_id(response) -> str:
    """The run id from the UI's own LaunchPipelineExecution mutation response."""
    data = response.json()["data"]["launchPipelineExecution"]
    assert data["__typename"] == "LaunchRunSuccess", data
    return data["run"]["id"]


def is_launch_response(response) -> bool:
    if "/graphql" not in response.url or response.request.method != "POST":
        return False
    try:
        return json.loads(response.request.post_data or "{}").get("operationName") == "LaunchPipelineExecution"
    except ValueError:
        return "LaunchPipelineExecution" in response.url
