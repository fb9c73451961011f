"""Immutable, content-addressed landing of raw files.

Each file is copied byte for byte to ``<landing>/<dataset>/<sha256[:2]>/<sha256>/<name>`` and made
read-only; a manifest (JSON lines, append-only) records what landed, from where and when. Landing
the same bytes again reuses the first landing, so a re-run lands nothing new and the landing order
(``landed_seq``) stays stable. Remote sources land the same way from the download cache, with their
EES data set id and version, the address they came from, and whether their ``.meta.csv`` was
generated from the API's metadata rather than published.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestration.lib.errors import PipelineInputError

MANIFEST_NAME = "manifest.jsonl"
_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class LandedFile:
    dataset: str
    sha256: str
    size_bytes: int
    source: str  # absolute path it was copied from
    listed_as: str  # entry in sources.yml
    release: str | None
    landed_path: str
    landed_at: str
    landed_seq: int
    meta_sha256: str | None = None
    meta_landed_path: str | None = None
    data_set_id: str | None = None
    data_set_version: str | None = None
    origin_url: str | None = None
    meta_generated: bool = False


@contextlib.contextmanager
def _locked_manifest(landing_dir: Path):
    landing_dir.mkdir(parents=True, exist_ok=True)
    lock_path = landing_dir / ".manifest.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield landing_dir / MANIFEST_NAME
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_manifest(landing_dir: Path) -> list[LandedFile]:
    manifest = landing_dir / MANIFEST_NAME
    if not manifest.exists():
        return []
    records = []
    with manifest.open(encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(LandedFile(**json.loads(line)))
            except (json.JSONDecodeError, TypeError) as exc:
                # A half-written last line (crash mid-append) is skipped, never trusted.
                if line.endswith("\n"):
                    raise PipelineInputError(f"{manifest}: line {line_number} is corrupt: {exc}") from exc
    return records


def _copy_immutable(source: Path, target: Path, expected_sha: str) -> None:
    if target.exists():
        if sha256_of(target) != expected_sha:
            raise PipelineInputError(
                f"landing area corrupted: {target} no longer has sha256 {expected_sha}; "
                "restore it or remove that folder so it can be landed again"
            )
        return
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(source, partial)
    with partial.open("rb") as handle:
        os.fsync(handle.fileno())
    if sha256_of(partial) != expected_sha:
        partial.unlink()
        raise PipelineInputError(f"{source} changed while it was being copied; run again")
    # read-only, and only for the owner: a landed file may hold what the council would not share
    os.chmod(partial, stat.S_IRUSR)
    os.replace(partial, target)


def _open_without_links(source: Path, checked_real: bool) -> int:
    """``source`` opened for reading with no link followed on the way: each folder from the root
    is opened relative to the one before with O_NOFOLLOW, so a file or a parent folder swapped for
    a link after the path was checked is refused, not followed. ``checked_real``: the path is the
    one a check resolved (checked_source), so it must still be its own real path."""
    real = Path(os.path.realpath(source))
    if checked_real and real != source:
        raise PipelineInputError(f"{source}: changed since it was checked (a folder on its path is now a link)")
    parts = real.parts
    folder = os.open(parts[0], os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name in parts[1:-1]:
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            os.close(folder)
            folder = inner
        # O_NONBLOCK: opening a pipe swapped in for the file must not wait for a writer
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    finally:
        os.close(folder)


@contextlib.contextmanager
def incoming_copy(landing_dir: Path, source: Path, *, checked_real: bool = False) -> Iterator[tuple[Path, str]]:
    """A private copy of ``source`` (owner-only, outside the landing zone proper) and its sha256,
    for the checks a file must pass before it lands; removed afterwards, passed or not. Read from
    the source without following a link anywhere on its path (it was checked where it leads) and
    only if it is a regular file, so a path swapped for a link or a device after that check is
    refused."""
    folder = landing_dir / ".incoming"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    copy = folder / uuid.uuid4().hex  # formats are told by content, never by name
    digest = hashlib.sha256()
    try:
        handle = _open_without_links(source, checked_real)
    except OSError as exc:
        raise PipelineInputError(f"{source}: cannot be opened ({exc.strerror})") from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise PipelineInputError(f"{source}: not a regular file")
        with (
            os.fdopen(os.dup(handle), "rb") as reader,
            os.fdopen(os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as writer,
        ):
            while chunk := reader.read(_CHUNK):
                digest.update(chunk)
                writer.write(chunk)
    except BaseException:
        copy.unlink(missing_ok=True)  # a copy cut short (disk full) is never left behind
        raise
    finally:
        os.close(handle)
    try:
        yield copy, digest.hexdigest()
    finally:
        copy.unlink(missing_ok=True)


def land_file(
    landing_dir: Path,
    dataset: str,
    source: Path,
    listed_as: str,
    release: str | None,
    meta: Path | None = None,
    *,
    copy_from: Path | None = None,
    data_set_id: str | None = None,
    data_set_version: str | None = None,
    origin_url: str | None = None,
    meta_generated: bool = False,
) -> LandedFile:
    """Land ``source`` (and its ``.meta.csv``) unless these exact bytes already landed for ``dataset``
    (from the same data set version, for EES API sources). ``copy_from``: the bytes to land, when
    they were copied from ``source`` and checked before landing (incoming_copy)."""
    data = copy_from or source
    sha = sha256_of(data)
    meta_sha = sha256_of(meta) if meta else None
    with _locked_manifest(landing_dir) as manifest:
        existing = read_manifest(landing_dir)
        for record in existing:
            if (
                record.dataset == dataset
                and record.sha256 == sha
                and record.meta_sha256 == meta_sha
                and (record.data_set_id, record.data_set_version) == (data_set_id, data_set_version)
            ):
                _copy_immutable(data, Path(record.landed_path), sha)
                return record
        folder = landing_dir / dataset / sha[:2] / sha
        target = folder / source.name
        _copy_immutable(data, target, sha)
        meta_target = None
        if meta is not None and meta_sha is not None:
            meta_target = folder / meta.name
            _copy_immutable(meta, meta_target, meta_sha)
        record = LandedFile(
            dataset=dataset,
            sha256=sha,
            size_bytes=data.stat().st_size,
            source=str(source),
            listed_as=listed_as,
            release=release,
            landed_path=str(target),
            landed_at=datetime.now(UTC).isoformat(timespec="seconds"),
            landed_seq=max((r.landed_seq for r in existing), default=0) + 1,
            meta_sha256=meta_sha,
            meta_landed_path=str(meta_target) if meta_target else None,
            data_set_id=data_set_id,
            data_set_version=data_set_version,
            origin_url=origin_url,
            meta_generated=meta_generated,
        )
        with manifest.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(asdict(record), sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return record
