"""One run at a time per warehouse folder: a run holds ``<warehouse>/.run.lock`` (an OS lock,
released when the process ends, however it ends) and writes who holds it, so a second run stops
at once and says which run holds it and since when, instead of failing later on DuckDB's own lock
or racing the first run's publication."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.errors import PipelineInputError

LOCK_NAME = ".run.lock"
PUBLISH_LOCK_NAME = ".publish.lock"


class RunLockedError(PipelineInputError):
    """Another run holds the folder."""


# Folders whose run lock this process holds: a run the CLI started holds it already when Dagster
# starts the run's resources in the same process (defs/ingest/resources.py).
_HELD: set[Path] = set()


def held_here(folder: Path) -> bool:
    return folder.resolve() in _HELD


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (one owned by another user counts as running): the
    owner of a leftover file named after its pid may still be using it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def exclusive(folder: Path, what: str) -> Iterator[None]:
    """Hold ``folder``/.run.lock for ``what`` (e.g. "make run"), or raise naming its holder."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)  # never truncate a link's target
    except OSError as exc:
        raise PipelineInputError(f"{path}: cannot be used as the run's lock ({exc.strerror})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLockedError(f"another run is using {folder}: {_holder(path)}; wait for it to finish") from None
        holder = {
            "what": what,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv)[:200],
        }
        os.ftruncate(handle, 0)
        os.pwrite(handle, json.dumps(holder).encode("utf-8"), 0)
        _HELD.add(folder.resolve())
        try:
            yield
        finally:
            _HELD.discard(folder.resolve())
            os.ftruncate(handle, 0)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)


def _holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"{holder['what']} (pid {holder['pid']} on {holder['host']}, since {holder['since']})"
    except (OSError, ValueError, KeyError, TypeError):
        return "a run that has not said who it is yet"


@contextlib.contextmanager
def publishing(folder: Path) -> Iterator[None]:
    """One publication at a time into ``folder`` (waits for another to finish: it takes seconds).
    While it is held, a leftover partial file there is a crashed publication's, never a live one's."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / PUBLISH_LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)
