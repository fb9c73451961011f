"""Whether ``dbt_project/target/manifest.json`` still describes the project on disk, so `make run`
can skip `dbt parse` (3 s of every run) when nothing dbt reads has changed.

The fingerprint covers every file of the dbt project except dbt's own output folders, the vars
the parse was given (dbt parses from scratch when they change, and the build that follows reuses
this parse's state only if they match), the values of the environment variables the project's
files read with ``env_var()``, and dbt's version. Anything it misses would only cost a parse: the
fingerprint is written after a parse succeeds and compared before the next one.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
from pathlib import Path

FINGERPRINT_FILE = "edu_parse_fingerprint.txt"
# dbt's own output and state, and the linter's scratch context: never inputs of a parse
_NOT_INPUTS = {"target", "logs", "dbt_packages", "lint_context", ".user.yml"}
_ENV_VAR = re.compile(rb"""env_var\(\s*['"]([A-Za-z_][A-Za-z0-9_]*)['"]""")


def fingerprint(project_dir: Path, parse_args: list[str]) -> str:
    digest = hashlib.sha256()
    digest.update(f"dbt-core {importlib.metadata.version('dbt-core')}\0".encode())
    digest.update(("\0".join(parse_args) + "\0").encode())
    env_names: set[str] = set()
    for path in sorted(_project_files(project_dir)):
        content = path.read_bytes()
        digest.update(f"{path.relative_to(project_dir).as_posix()}\0{len(content)}\0".encode())
        digest.update(content)
        env_names.update(name.decode() for name in _ENV_VAR.findall(content))
    for name in sorted(env_names):
        value = os.environ.get(name)
        digest.update(f"{name}={'<unset>' if value is None else value}\0".encode())
    return digest.hexdigest()


def _project_files(project_dir: Path):
    for root, dirs, files in os.walk(project_dir):
        if Path(root) == project_dir:
            dirs[:] = [d for d in dirs if d not in _NOT_INPUTS]
            files = [f for f in files if f not in _NOT_INPUTS]
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            yield Path(root) / name


def is_current(project_dir: Path, target_dir: Path, parse_args: list[str]) -> bool:
    """True when the manifest in ``target_dir`` was parsed from exactly this project and args."""
    recorded = target_dir / FINGERPRINT_FILE
    if not (target_dir / "manifest.json").exists() or not (target_dir / "partial_parse.msgpack").exists():
        return False
    try:
        return recorded.read_text(encoding="utf-8").strip() == fingerprint(project_dir, parse_args)
    except OSError:
        return False


def record(project_dir: Path, target_dir: Path, parse_args: list[str], value: str | None = None) -> None:
    """Record the fingerprint of a parse that has just succeeded (``value``: computed before it ran,
    so a file edited during the parse makes the next run parse again)."""
    (target_dir / FINGERPRINT_FILE).write_text(value or fingerprint(project_dir, parse_args), encoding="utf-8")


def forget(target_dir: Path) -> None:
    (target_dir / FINGERPRINT_FILE).unlink(missing_ok=True)
