from __future__ import annotations

import http.server
import ipaddress
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
REFERENCE = SHARED / "reference"

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


# --- tiers --------------------------------------------------------------------------------------
# `make test` runs `pytest -m "not slow"`; `make test-all` runs everything. Each file marks its slow
# tests (pytestmark or per test); a backtest or browser test is full tier wherever it is.
FULL_TIER_MARKERS = ("backtest", "browser")


@pytest.hookimpl(tryfirst=True)  # before -m deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if any(item.get_closest_marker(name) for name in FULL_TIER_MARKERS):
            item.add_marker(pytest.mark.slow)
    # The shared sample publication is built in the background from the first test on
    # (_start_sample_publication): the light tests run meanwhile, then the files that read it
    # (whole, so their module fixtures are set up once), then the slow tier's heavy tests, which
    # thus never run beside the background run.
    publication_files = {item.path for item in items if _uses_sample_publication(item)}

    def group(item) -> int:
        if item.path in publication_files:
            return 1
        return 2 if item.get_closest_marker("slow") else 0

    items.sort(key=group)


# DuckDB 1.1 in an environment of its own (`make test-all` installs it; .ci/run calls that): the
# oldest DuckDB BI drivers bundle, which must open the published file.
COMPAT_DUCKDB_PYTHON = REPO_ROOT / ".tools" / "duckdb-1.1" / "bin" / "python"


def compat_duckdb_python() -> str:
    if not COMPAT_DUCKDB_PYTHON.exists():
        pytest.skip(f"no DuckDB 1.1 environment at {COMPAT_DUCKDB_PYTHON.parent.parent}: `make test-all` installs it")
    return str(COMPAT_DUCKDB_PYTHON)


def reference_file(*parts: str) -> Path:
    """A file of ../shared/reference, or skip the test cleanly when it is not beside the repo."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


@pytest.fixture
def isolated_env(tmp_path, monkeypatch):
    """Point every EDU_* location at tmp_path so a test never touches the repo's warehouse."""
    monkeypatch.setenv("EDU_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    monkeypatch.setenv("EDU_LANDING_DIR", str(tmp_path / "landing"))
    return tmp_path


# --- no network beyond loopback -----------------------------------------------------------------
# Every test runs offline: a connection to anything but 127.0.0.0/8 or ::1 (and any name lookup
# other than localhost) fails at once, so nothing can reach the internet by accident. The mock EES
# API (tests/ees_mock_server.py) listens on 127.0.0.1. Subprocesses are not covered; the pipeline
# runs they make only read local files.

BLOCKED_MESSAGE = "network access outside loopback is blocked in the test suite"


class NetworkBlockedError(ConnectionRefusedError):
    pass


def _is_loopback(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _guard_address(family: int, address: object) -> None:
    if family == getattr(socket, "AF_UNIX", None):
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_loopback(host):
        raise NetworkBlockedError(f"{BLOCKED_MESSAGE}: connect to {address!r}")


# Folders a test's sources.yml may read besides its own: the bundled sample (linked beside it)
# and DfE's real files. Tests of the rule itself set EDU_SOURCE_DIRS themselves.
TEST_SOURCE_DIRS = os.pathsep.join(str(p) for p in (REPO_ROOT / "raw", REPO_ROOT.parent / "shared"))


@pytest.fixture(autouse=True, scope="session")
def _no_env_file():
    """A developer's .env must not change what the tests (and the runs they start) see."""
    previous = os.environ.get("EDU_ENV_FILE")
    os.environ["EDU_ENV_FILE"] = ""
    yield
    if previous is None:
        os.environ.pop("EDU_ENV_FILE", None)
    else:
        os.environ["EDU_ENV_FILE"] = previous


@pytest.fixture(autouse=True, scope="session")
def _source_dirs():
    previous = os.environ.get("EDU_SOURCE_DIRS")
    os.environ["EDU_SOURCE_DIRS"] = TEST_SOURCE_DIRS
    yield
    if previous is None:
        os.environ.pop("EDU_SOURCE_DIRS", None)
    else:
        os.environ["EDU_SOURCE_DIRS"] = previous


@pytest.fixture(autouse=True, scope="session")
def _offline():
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex
    real_getaddrinfo, real_create_connection = socket.getaddrinfo, socket.create_connection

    def connect(self, address):
        _guard_address(self.family, address)
        return real_connect(self, address)

    def connect_ex(self, address):
        _guard_address(self.family, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host is not None and not _is_loopback(host):
            raise NetworkBlockedError(f"{BLOCKED_MESSAGE}: name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    def create_connection(address, *args, **kwargs):
        if not _is_loopback(address[0]):
            raise NetworkBlockedError(f"{BLOCKED_MESSAGE}: connect to {address!r}")
        return real_create_connection(address, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket, "create_connection", create_connection)
        yield


# --- the mock EES API ---------------------------------------------------------------------------


@pytest.fixture
def ees_api(monkeypatch):
    """A mock EES public API (and the website's content API) on 127.0.0.1; EDU_EES_API_URL and
    EDU_EES_CONTENT_URL point at it for the test."""
    from tests.ees_mock_server import MockEes

    with MockEes() as api:
        monkeypatch.setenv("EDU_EES_API_URL", api.base_url)
        monkeypatch.setenv("EDU_EES_CONTENT_URL", api.content_url)
        yield api


class RecordingSleep:
    """Stands in for time.sleep: records the waits a retry policy asked for, without waiting."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fast_http():
    """An Http client whose retries do not wait (the waits are recorded on ``.sleep.waits``)."""
    from orchestration.lib.sources.downloads import Http, RetryPolicy

    class _Quiet:
        def __init__(self):
            self.messages: list[str] = []

        def info(self, msg):
            self.messages.append(msg)

        def warning(self, msg):
            self.messages.append("WARNING: " + msg)

    return Http(
        RetryPolicy(max_retries=3, backoff_seconds=0.5, read_timeout=5),
        sleep=RecordingSleep(),
        log=_Quiet(),
        progress=False,
    )


PIPELINE_COMMAND = [sys.executable, "-m", "orchestration.cli", "run"]
# The sample_publication run's console (stdout) and stderr, kept in its workdir for the tests.
CONSOLE_FILE, STDERR_FILE = "console.txt", "stderr.txt"


def pipeline_env(workdir: Path, sources: Path | None = None, **overrides: str) -> dict:
    """Environment for a `make run` in ``workdir``: its own warehouse, landing zone and Dagster
    home, so a test never touches the repo's warehouse; one LA's briefing (all 153 are covered by
    the briefing tests and the make run path)."""
    env = dict(os.environ)
    env.update(
        EDU_WAREHOUSE_DIR=str(workdir / "warehouse"),
        EDU_LANDING_DIR=str(workdir / "landing"),
        DAGSTER_HOME=str(workdir / "dagster_home"),
        EDU_SOURCES=str(sources or REPO_ROOT / "sources.yml"),
        EDU_BRIEFING_LAS="342",
        EDU_LOG_LEVEL="INFO",  # the console the tests read; a developer's DEBUG would change it
    )
    env.update(overrides)
    env.pop("EDU_BUILD_DB", None)
    return env


def run_pipeline(workdir: Path, sources: Path | None = None, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        PIPELINE_COMMAND, cwd=REPO_ROOT, env=pipeline_env(workdir, sources, **overrides), capture_output=True, text=True
    )


def write_sources(folder: Path, edit=None) -> Path:
    """``folder``/sources.yml: the repo's sources.yml, changed by ``edit(spec)`` if given. ``raw``
    is linked beside it, so every relative path of the repo's file (datasets: and local:, or any
    section added later) still resolves, and is listed as in a run of the repo's own file."""
    folder.mkdir(parents=True, exist_ok=True)
    spec = yaml.safe_load((REPO_ROOT / "sources.yml").read_text(encoding="utf-8"))
    if edit is not None:
        spec = edit(spec) or spec
    link = folder / "raw"
    if not link.is_symlink():
        link.symlink_to(REPO_ROOT / "raw", target_is_directory=True)
    path = folder / "sources.yml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def copy_publication(source: Path, target: Path) -> Path:
    """A copy of a pipeline workdir (warehouse, landing zone, Dagster home) at ``target``; the
    landing manifest's absolute paths are pointed at the copy, so the copy stands alone."""
    shutil.copytree(source, target, symlinks=True)
    manifest = target / "landing" / "manifest.jsonl"
    if manifest.exists():
        text = manifest.read_text(encoding="utf-8")
        manifest.write_text(text.replace(f'"{source}/', f'"{target}/'), encoding="utf-8")
    return target


# What the sample_publication run tried to reach through the recording proxy (one line each).
NETWORK_ATTEMPTS_FILE = "network_attempts.txt"


class _RecordingProxy(http.server.BaseHTTPRequestHandler):
    """An HTTP(S) proxy on loopback that refuses every request and remembers it: a run whose
    environment names it as its proxy shows each internet call it tries (requests, urllib and
    pip all honour HTTP(S)_PROXY), instead of failing quietly offline."""

    seen: list[str] = []

    def _refuse(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        self.send_error(403, "no internet during a run")

    do_CONNECT = do_GET = do_POST = do_HEAD = _refuse

    def log_message(self, *args) -> None:
        pass


def recording_proxy_env(proxy: http.server.HTTPServer) -> dict[str, str]:
    address = f"http://127.0.0.1:{proxy.server_address[1]}"
    return {
        **{name: address for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy")},
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


class _SamplePublicationRun:
    """The one `make run` on the bundled sample, started in the background as soon as the session
    knows a selected test needs it: the run (a subprocess) then uses the second core while the
    tests that need no publication go on, instead of holding up the first test that needs one.
    Every internet call the run tries goes to a proxy that records it (tests/test_pipeline_e2e.py
    checks there were none)."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RecordingProxy)
        # The console goes straight to files, so a full pipe can never stall the run.
        with (workdir / CONSOLE_FILE).open("w") as out, (workdir / STDERR_FILE).open("w") as err:
            self.process = subprocess.Popen(
                PIPELINE_COMMAND,
                cwd=REPO_ROOT,
                env=pipeline_env(workdir, **recording_proxy_env(self.proxy)),
                stdout=out,
                stderr=err,
                text=True,
                start_new_session=True,  # stop() ends its dbt and briefing processes with it
                preexec_fn=_die_with_parent,  # before the proxy's thread starts: no other thread yet
            )
        threading.Thread(target=self.proxy.serve_forever, daemon=True).start()
        self.returncode: int | None = None
        self.stopped = False

    def wait(self) -> Path:
        if self.returncode is None:
            try:
                self.returncode = self.process.wait(timeout=1800)
            finally:
                self.stop()
            (self.workdir / NETWORK_ATTEMPTS_FILE).write_text(
                "".join(f"{line}\n" for line in _RecordingProxy.seen), encoding="utf-8"
            )
        console = (self.workdir / CONSOLE_FILE).read_text(encoding="utf-8")
        stderr = (self.workdir / STDERR_FILE).read_text(encoding="utf-8")
        assert self.returncode == 0, console[-3000:] + stderr[-5000:]
        assert (self.workdir / "warehouse" / "education.duckdb").exists()
        return self.workdir

    def stop(self) -> None:
        # Once only: after the wait its process group id may be another process's
        if self.stopped:
            return
        self.stopped = True
        try:  # a session cut short: the run and everything it started
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.proxy.shutdown()
        self.proxy.server_close()


_SAMPLE_RUN = pytest.StashKey[_SamplePublicationRun]()


def _uses_sample_publication(item: pytest.Item) -> bool:
    return "sample_publication" in item.fixturenames


def _sample_run(request, tmp_path_factory) -> _SamplePublicationRun:
    """The session's one sample run, started by the first call."""
    if _SAMPLE_RUN not in request.config.stash:
        request.config.stash[_SAMPLE_RUN] = _SamplePublicationRun(tmp_path_factory.mktemp("sample_publication"))
    return request.config.stash[_SAMPLE_RUN]


def _die_with_parent() -> None:
    """In the child, before exec: the kernel kills it when the test session's process dies, even
    by SIGKILL (no teardown runs then), so no run is left writing dbt_project/target."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


@pytest.fixture(autouse=True, scope="session")
def _start_sample_publication(request, tmp_path_factory, _no_env_file, _source_dirs):
    """Starts the sample run before the first test when any selected test uses
    ``sample_publication``; a selection without one never starts it. (After the fixtures that set
    the environment the run inherits.)"""
    if any(_uses_sample_publication(item) for item in request.session.items):
        _sample_run(request, tmp_path_factory)
    yield
    if _SAMPLE_RUN in request.config.stash:
        request.config.stash[_SAMPLE_RUN].stop()


@pytest.fixture(scope="session")
def sample_publication(request, tmp_path_factory) -> Path:
    """ONE `make run` on the bundled sample (the repo's sources.yml): the workdir (warehouse/,
    landing/, dagster_home/) of a good publication, for every test that needs one. Never change
    it: tests that run the pipeline again take a `copy_publication`. The outputs run too (one LA's
    briefing, exports, docs; a few seconds): this is the suite's only whole `make run`, and exit
    code 0 means none of them failed after the publication. Its console is kept in the workdir
    (CONSOLE_FILE, STDERR_FILE)."""
    return _sample_run(request, tmp_path_factory).wait()  # started already, unless reached by getfixturevalue


# marts.fct_la_measure's contracted columns, in order (models/marts/core/_core__models.yml), as the
# end-to-end and briefing tests state them independently of the YAML they check.
CONTRACT_COLUMNS = [
    "measure_code",
    "breakdown",
    "time_period",
    "academic_year",
    "la_code",
    "old_la_code",
    "la_name",
    "region_code",
    "region_name",
    "value",
    "value_status",
    "release",
    "national_value",
    "regional_value",
    "regional_comparator_code",
    "regional_comparator_name",
    "sn_average",
    "sn_count",
    "diff_vs_national",
    "diff_vs_regional",
    "diff_vs_sn",
    "previous_time_period",
    "previous_value",
    "change_vs_previous",
    "national_previous_value",
    "national_change_vs_previous",
    "rank",
    "ranked_count",
    "quartile_band",
    "polarity",
    "unit",
    "decimal_places",
    "comparability_note",
]


class _Webhook(http.server.BaseHTTPRequestHandler):
    """A Teams/Slack-style incoming webhook on loopback: records each JSON body posted to it and
    answers with the status the test sets."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        self.server.posts.append({"path": self.path, "body": json.loads(self.rfile.read(length) or b"null")})
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"1")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def webhook():
    """A loopback webhook: ``.url`` to post to (with a secret-looking token), ``.posts`` received,
    ``.status`` to answer with."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.posts, server.status = [], 200
    server.url = f"http://127.0.0.1:{server.server_address[1]}/webhookb2/token-SECRET123"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


# A BI tool in its own process: opens the served file the way it is told (read_only or
# read_write), prints the query's answer, then answers again on every line it reads, holding the
# file open until stdin closes.
_BI_TOOL = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "read_only")
print(con.execute(sys.argv[3]).fetchone()[0], flush=True)
for _ in sys.stdin:
    print(con.execute(sys.argv[3]).fetchone()[0], flush=True)
"""


class BiTool:
    """``with BiTool(path, mode, query) as tool``: ``tool.first`` is its first answer (the file is
    held from then on); ``tool.ask()`` asks again on the same connection."""

    def __init__(self, path: Path, mode: str, query: str):
        self.args = [sys.executable, "-c", _BI_TOOL, str(path), mode, query]

    def __enter__(self) -> BiTool:
        self.process = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.first = self.process.stdout.readline().strip()
        assert self.first, self.process.stderr.read()
        return self

    def ask(self) -> str:
        self.process.stdin.write("again\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def __exit__(self, *exc) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)
        assert self.process.returncode == 0 or exc[0] is not None, self.process.stderr.read()
