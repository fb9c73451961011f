"""The operator's YAML (sources.yml, sources.lock, local schema files), read defensively: a size
limit checked before parsing, no aliases (nested aliases expand a small file into gigabytes: the
"billion laughs"), and a depth limit (a deeply nested file would end in a raw RecursionError)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.settings import load_settings

MAX_DEPTH = 50  # sources.yml and schema files nest four or five levels


class _Refused(yaml.YAMLError):
    pass


class SafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader without aliases and with at most MAX_DEPTH levels of nesting."""

    _depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise _Refused(f"line {mark.line + 1}: aliases (*name) are not accepted here; write the value out")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _Refused(f"line {mark.line + 1}: nested more than {MAX_DEPTH} levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def read_yaml(path: Path, where: str, loader: type[SafeLoader] = SafeLoader) -> tuple[object, bytes]:
    """(the document in ``path``, the bytes it was read from); a problem is a PipelineInputError
    naming ``where``."""
    limit = load_settings().yaml_max_bytes
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise PipelineInputError(f"{where}: cannot be opened ({exc.strerror})") from None
    with os.fdopen(handle, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):  # /dev/zero or a pipe would never end
            raise PipelineInputError(f"{where}: not a regular file")
        if status.st_size > limit:
            raise PipelineInputError(f"{where}: {status.st_size:,} bytes, more than EDU_YAML_MAX_BYTES={limit:,}")
        raw = file.read(limit + 1)  # a file that grew since it was measured: still no more than this
    if len(raw) > limit:
        raise PipelineInputError(f"{where}: more than EDU_YAML_MAX_BYTES={limit:,} bytes")
    try:
        return yaml.load(raw.decode("utf-8-sig"), Loader=loader), raw
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise PipelineInputError(f"{where}: not valid YAML: {exc}") from None


def load_yaml(path: Path, where: str, loader: type[SafeLoader] = SafeLoader) -> object:
    return read_yaml(path, where, loader)[0]
