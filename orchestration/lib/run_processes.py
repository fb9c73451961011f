"""Processes a step starts for a later step of the same run (`dbt docs generate`, dbt's import),
kept by run id in this process: the later step takes its own; any no step took are stopped as a
run ends (the WarehouseResource) and when this process exits."""

from __future__ import annotations

import atexit
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

Started = TypeVar("Started")


class RunProcesses(Generic[Started]):
    def __init__(self, stop: Callable[[Started], None]):
        self._stop = stop
        self._started: dict[str, Started] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def __contains__(self, run_id: str) -> bool:
        with self._lock:
            return run_id in self._started

    def add(self, run_id: str, started: Started) -> None:
        with self._lock:
            self._started[run_id] = started

    def take(self, run_id: str) -> Started | None:
        with self._lock:
            return self._started.pop(run_id, None)

    def stop_all(self) -> None:
        """Stop every process no step took."""
        with self._lock:
            left = list(self._started.values())
            self._started.clear()
        for started in left:
            self._stop(started)


def stop_process(process: subprocess.Popen, how: signal.Signals, seconds: float) -> None:
    """Stop ``process`` if it still runs: ``how`` first (it may clean up), killed after
    ``seconds``; returns once it has exited."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(seconds)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()
