"""A throwaway PostgreSQL server on loopback for the tests: Debian's `postgresql` package
(`.ci/run` installs it), a fresh cluster made with initdb in a temporary folder, started with
pg_ctl on a free port and stopped by its PID. As root (CI) the server runs as the package's
`postgres` user, since PostgreSQL refuses to run as root."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "edu_publisher"
PASSWORD = "pw-for-tests-only"


@dataclass
class PostgresServer:
    port: int
    pid: int
    folder: Path

    def url(self, database: str = "postgres", user: str = USER, password: str = PASSWORD) -> str:
        return f"postgresql://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def sqlalchemy_url(self, database: str = "postgres") -> str:
        return self.url(database).replace("postgresql://", "postgresql+psycopg://", 1)


def _bindir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


def start_postgres() -> PostgresServer:
    bindir = _bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL server binaries (Debian's postgresql package; .ci/run installs it)")
    # Not under pytest's own tmp folder: as root that folder is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="edu-pg-"))
    folder.chmod(0o755)
    data, sockets = folder / "data", folder / "sockets"
    sockets.mkdir()
    (folder / "pwfile").write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(sockets, "postgres")
        shutil.chown(folder / "pwfile", "postgres")
    subprocess.run(
        _as_server_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                "--pwfile",
                str(folder / "pwfile"),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
                "--locale=C",
            ]
        ),
        check=True,
        capture_output=True,
    )
    for attempt in range(5):
        port = _free_port()
        started = subprocess.run(
            _as_server_user(
                [
                    str(bindir / "pg_ctl"),
                    "-D",
                    str(data),
                    "-l",
                    str(folder / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-o",
                    f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off",
                    "start",
                ]
            ),
            capture_output=True,
            text=True,
        )
        if started.returncode == 0:
            pid = int((data / "postmaster.pid").read_text().split()[0])
            return PostgresServer(port, pid, folder)
        time.sleep(0.5 * (attempt + 1))  # the port was taken meanwhile: another one
    log = (folder / "server.log").read_text() if (folder / "server.log").exists() else ""
    raise RuntimeError(f"PostgreSQL did not start: {started.stderr}\n{log[-2000:]}")


def stop_postgres(server: PostgresServer) -> None:
    try:
        os.kill(server.pid, signal.SIGINT)  # fast shutdown
        for _ in range(300):
            os.kill(server.pid, 0)
            time.sleep(0.1)
        os.kill(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    shutil.rmtree(server.folder, ignore_errors=True)
