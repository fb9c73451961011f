"""Whether ``dbt_project/target/manifest.json`` still describes the project on disk, so `make run`
can skip `dbt parse` (3 s of every run) when nothing dbt reads has changed.

The fingerprint covers every file of the dbt project except dbt's own output folders (``target``,
``logs``) and the linter's context, the args the parse was given (its vars: dbt parses from scratch
when they change, and the build that follows reuses this parse's state only if they match), the
values of the environment variables the project's files read with ``env_var()`` and of every
``DBT_*`` variable, and the versions of dbt-core, dbt-duckdb and dbt-adapters. Beside it is recorded a hash of
the manifest and partial-parse state the parse wrote, so a manifest rewritten since (a ``dbt
build`` run by hand) is parsed again. An input the fingerprint missed would let a stale manifest
through, so it errs towards parsing: an extra input costs only a parse.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from pathlib import Path

FINGERPRINT_FILE = "edu_parse_fingerprint.txt"
STATE_FILES = ("manifest.json", "partial_parse.msgpack")
# dbt's output folders and the sqlfluff templater's context (read by the linter, never by dbt)
_NOT_INPUTS = {"target", "logs", "lint_context"}
_ENV_VAR = re.compile(rb"""env_var\s*\(\s*['"]([^'"]+)['"]""")
_VERSIONED = ("dbt-core", "dbt-duckdb", "dbt-adapters")


def fingerprint(project_dir: Path, parse_args: list[str]) -> str:
    digest = hashlib.sha256()
    for package in _VERSIONED:
        try:
            digest.update(f"{package} {importlib.metadata.version(package)}\0".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{package} absent\0".encode())
    digest.update(("\0".join(parse_args) + "\0").encode())
    env_names = {name for name in os.environ if name.startswith("DBT_")}
    for path in sorted(_project_files(project_dir)):
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # an editor's temporary file gone while walking: not an input
            continue
        digest.update(f"{path.relative_to(project_dir).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
        env_names.update(name.decode(errors="replace") for name in _ENV_VAR.findall(content))
    for name in sorted(env_names):
        value = os.environ.get(name)
        digest.update(f"{name}={'<unset>' if value is None else value}\0".encode())
    return digest.hexdigest()


def _project_files(project_dir: Path):
    for root, dirs, files in os.walk(project_dir):
        if Path(root) == project_dir:
            dirs[:] = [d for d in dirs if d not in _NOT_INPUTS]
        for name in files:
            yield Path(root) / name


def _state_hash(target_dir: Path) -> str | None:
    digest = hashlib.sha256()
    for name in STATE_FILES:
        try:
            digest.update(f"{name}\0".encode() + (target_dir / name).read_bytes())
        except OSError:
            return None
    return digest.hexdigest()


def current_fingerprint(project_dir: Path, target_dir: Path, parse_args: list[str]) -> tuple[str, bool]:
    """(the project's fingerprint now, whether the manifest in ``target_dir`` was parsed from
    exactly that and not rewritten since)."""
    now = fingerprint(project_dir, parse_args)
    try:
        recorded = (target_dir / FINGERPRINT_FILE).read_text(encoding="utf-8").split()
    except OSError:
        return now, False
    state = _state_hash(target_dir)
    return now, state is not None and recorded == [now, state]


def record(target_dir: Path, value: str) -> None:
    """Record ``value`` (the fingerprint taken before a parse that has just succeeded, so a file
    edited during the parse makes the next run parse again) with the state the parse wrote."""
    state = _state_hash(target_dir)
    if state is not None:
        (target_dir / FINGERPRINT_FILE).write_text(f"{value} {state}\n", encoding="utf-8")


def forget(target_dir: Path) -> None:
    (target_dir / FINGERPRINT_FILE).unlink(missing_ok=True)
