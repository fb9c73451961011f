"""dbt with its Python already imported: a process that imports dbt ahead of the build, then runs
the one dbt command a launcher hands it, as that command's own process would have.

Importing dbt and its DuckDB adapter takes about 2.5 s of a `dbt build` (of 17-19 s on the sample),
before dbt reads a file, and it is on the build's critical path. The run starts this process while
the raw tables are gated, on the core the gates leave idle. dagster-dbt then starts the launcher
(a script in the build folder, the dbt executable it is given) as it would start dbt: the
launcher hands its command line, environment, working folder and its stdin, stdout and stderr to
the waiting process over a Unix socket, forwards Ctrl-C and termination to it, and exits with its
exit code. dbt sees exactly what it would have seen, so dagster-dbt's event stream, dbt's log
file and its exit codes are unchanged.

The process serves one command and exits, so no dbt state outlives a command. When it is gone
or never became ready (it failed to import dbt, or exited having waited too long), the launcher
starts the installed dbt instead: nothing fails for want of it. The socket's folder is private to
the user (mode 0700), and the process also refuses a peer of another user.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import sys
import time
import traceback
from pathlib import Path

# A request is one datagram: the command line and the environment (dagster-dbt's, a few KB).
MAX_REQUEST_BYTES = 1024 * 1024

LAUNCHER = """\
#!{python} -IS
# Written by orchestration/lib/transform/warm_dbt.py for one dbt command of one run.
import json, os, signal, socket, sys

SOCKET = {socket!r}
INSTALLED_DBT = {installed!r}


def installed_dbt():
    os.execvp(INSTALLED_DBT, [INSTALLED_DBT, *sys.argv[1:]])


# A Ctrl-C or termination before the process has taken the command is kept, and passed on.
pending = []
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda number, frame: pending.append(number))
try:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    server.connect(SOCKET)
    request = {{"argv": sys.argv[1:], "env": dict(os.environ), "cwd": os.getcwd()}}
    socket.send_fds(server, [json.dumps(request).encode()], [0, 1, 2])
    ready = server.recv(4096)
except OSError:
    ready = b""
if not ready:  # no process waiting, or it ended before taking the command: dbt runs as installed
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    if pending:
        os.kill(os.getpid(), pending[0])
    installed_dbt()
pid = json.loads(ready)["pid"]
for sig in (signal.SIGINT, signal.SIGTERM):
    signal.signal(sig, lambda number, frame: os.kill(pid, number))
for number in pending:
    os.kill(pid, number)
while True:
    try:
        code = server.recv(64)
        break
    except InterruptedError:
        continue
if not code:
    sys.stderr.write("dbt's process ended without an exit code\\n")
    sys.exit(2)
sys.exit(int(code))
"""


def write_launcher(path: Path, socket_path: Path, installed_dbt: str) -> Path:
    """The launcher for the process listening at ``socket_path``, as an executable at ``path``."""
    path.write_text(
        LAUNCHER.format(python=sys.executable, socket=str(socket_path), installed=installed_dbt), encoding="utf-8"
    )
    path.chmod(0o700)
    return path


def _peer_uid(connection: socket.socket) -> int:
    pid_uid_gid = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", pid_uid_gid)[1]


def _run_dbt(argv: list[str]) -> int:
    """dbt's console script, in this process: `dbt <argv>`, its exit code."""
    from dbt.cli.main import cli

    sys.argv = ["dbt", *argv]
    try:
        cli()
    except SystemExit as exit:
        code = exit.code
        if isinstance(code, int) or code is None:
            return code or 0
        print(code, file=sys.stderr)  # as the interpreter says a message it exits with
        return 1
    return 0


def listen(socket_path: Path) -> socket.socket:
    """The socket a launcher connects to, listening from now on: a launcher that comes before
    the process has imported dbt waits for it, and one cannot come before the process exists."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(socket_path))
    listener.listen(1)
    return listener


def _accept(listener: socket.socket, wait_seconds: float, parent: int) -> socket.socket | None:
    """The first launcher's connection; None after ``wait_seconds``, or once ``parent``, the
    process that started this one, has gone (killed, say: nobody will hand a command over then)."""
    deadline = time.monotonic() + wait_seconds
    listener.settimeout(1.0)
    while time.monotonic() < deadline and os.getppid() == parent:
        try:
            return listener.accept()[0]
        except TimeoutError:
            continue
    return None


def serve(listener: socket.socket, socket_path: Path, wait_seconds: float, parent: int, run=_run_dbt) -> int:
    """Import dbt, then run the first command a launcher hands over at ``listener``; give up
    after ``wait_seconds`` without one, or when ``parent`` (the process that started this one)
    has gone."""
    try:
        if run is _run_dbt:
            import dbt.adapters.duckdb  # noqa: F401 - the import this process exists to make early
            import dbt.cli.main  # noqa: F401
        connection = _accept(listener, wait_seconds, parent)
    finally:
        listener.close()
        socket_path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # its folder, when nothing else is in it
            socket_path.parent.rmdir()
    if connection is None:
        return 0
    with connection:
        if _peer_uid(connection) != os.getuid():
            return 1
        message, fds, _, _ = socket.recv_fds(connection, MAX_REQUEST_BYTES, 3)
        request = json.loads(message)
        for target, fd in zip((0, 1, 2), fds):
            os.dup2(fd, target)
            os.close(fd)
        # each line out as it is written, as the launcher's environment (PYTHONUNBUFFERED, which
        # dagster-dbt sets) asks of an interpreter that starts with it
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        connection.sendall(json.dumps({"pid": os.getpid()}).encode())
        try:
            code = run(request["argv"])
        except KeyboardInterrupt:  # dbt stopped by Ctrl-C before it could say so itself
            code = 130
        except Exception:  # noqa: BLE001 - said on dbt's stderr, as its own process would
            traceback.print_exc()
            code = 2
        sys.stdout.flush()
        sys.stderr.flush()
        connection.sendall(str(code).encode())
    return code


if __name__ == "__main__":
    # Started as a script (orchestration/defs/transform/warm_dbt.py): its own folder leaves the
    # import path, so dbt imports what its console script would.
    del sys.path[0]
    # the listening socket is inherited: its file descriptor, its path, the wait, the parent's pid
    sys.exit(serve(socket.socket(fileno=int(sys.argv[1])), Path(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
