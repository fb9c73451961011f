"""The project's `.env` file, read the same way by `make run`, the CLI and the Dagster UI
(`make dev`): KEY=VALUE lines fill in variables the environment does not already set, so an
exported variable always wins, as in Dagster's own reading of `.env`. EDU_ENV_FILE names another
file, or none when set empty (the tests do, so a developer's `.env` never reaches them)."""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path

from orchestration.lib.errors import PipelineInputError

ENV_FILE_VARIABLE = "EDU_ENV_FILE"
MAX_BYTES = 1 << 20  # a .env is a few kilobytes
_LINE = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)")


def env_file_path(repo_root: Path, environ: MutableMapping[str, str] = os.environ) -> Path | None:
    named = environ.get(ENV_FILE_VARIABLE)
    if named is None:
        return repo_root / ".env"
    return Path(named).expanduser() if named.strip() else None


def _value(raw: str) -> str:
    raw = raw.strip()
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return raw.split(" #", 1)[0].rstrip()  # an unquoted value may end with a comment


def read_env_file(path: Path) -> dict[str, str]:
    """The variables a .env file sets, without expanding anything in them."""
    if path.stat().st_size > MAX_BYTES:
        raise PipelineInputError(f"{path}: larger than {MAX_BYTES:,} bytes; a .env file holds a few settings")
    values = {}
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        match = _LINE.fullmatch(text)
        if not match:
            raise PipelineInputError(f"{path} line {number}: not a KEY=VALUE setting")
        values[match.group(1)] = _value(match.group(2))
    return values


def load_env_file(repo_root: Path, environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Fill ``environ`` from the .env file where it has no value; what was filled in."""
    path = env_file_path(repo_root, environ)
    if path is None or not path.is_file():
        return {}
    filled = {key: value for key, value in read_env_file(path).items() if key not in environ}
    environ.update(filled)
    return filled
