"""HTTP for remote sources: retries with backoff, resumable downloads, checks before anything lands.

A download is written to ``<target>.download`` (the bytes as transferred, appended to when the
server honours ``Range``), decoded to ``<target>.partial`` and only renamed to ``<target>`` once
its size and sha256 are known and, when a lock names them, match. A broken transfer therefore
never leaves a file that looks complete, and the next attempt resumes where the last stopped.
"""

from __future__ import annotations

import email.utils
import gzip
import hashlib
import http.client
import os
import re
import shutil
import sys
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import requests
import urllib3

from orchestration.lib.errors import PipelineInputError

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
USER_AGENT = "edu-outcomes-pipeline/0.1 (+python-requests)"
_CHUNK = 1 << 16


class Log(Protocol):
    def info(self, msg: str) -> None: ...
    def warning(self, msg: str) -> None: ...


class _StderrLog:
    def info(self, msg: str) -> None:
        print(msg, file=sys.stderr)

    def warning(self, msg: str) -> None:
        print(f"WARNING: {msg}", file=sys.stderr)


STDERR_LOG: Log = _StderrLog()


class RemoteSourceError(PipelineInputError):
    """A remote source could not be fetched or did not match what was expected of it."""


class HttpStatusError(RemoteSourceError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class ChangedContentError(RemoteSourceError):
    """The bytes behind a locked source are not the bytes the lock recorded."""


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    # A server asking for a longer pause than this is waited for this long, then asked again.
    max_retry_after_seconds: float = 300.0
    connect_timeout: float = 10.0
    read_timeout: float = 120.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * (2**attempt), self.max_backoff_seconds)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds: either a number of seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def problem_title(response: requests.Response) -> str:
    """The API's ProblemDetails title (``{"title": ..., "status": ...}``) when there is one."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if isinstance(body, dict):
        title = str(body.get("title") or "").strip()
        detail = str(body.get("detail") or "").strip()
        return f"{title} {detail}".strip()
    return ""


# Errors that mean "the connection or the body broke", worth another attempt.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
)


class _Truncated(Exception):
    pass


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    url: str
    sha256: str
    size_bytes: int
    downloaded: bool  # False when the cached copy was used
    content_type: str = ""
    suggested_name: str = ""


def sha256_and_size(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def filename_from(response: requests.Response | None, url: str) -> str:
    """The server's file name (Content-Disposition) or the last part of the URL path, made safe."""
    name = ""
    if response is not None:
        disposition = response.headers.get("Content-Disposition", "")
        match = re.search(r"filename\*=(?:UTF-8'')?([^;]+)", disposition, re.I) or re.search(
            r'filename="?([^";]+)"?', disposition, re.I
        )
        if match:
            name = unquote(match.group(1).strip().strip('"'))
    if not name:
        name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._")
    return name or "download"


class Http:
    """A requests session with the retry policy every remote source uses."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        log: Log | None = None,
        progress: bool | None = None,
    ):
        self.policy = policy or RetryPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self.sleep = sleep
        self.log = log or STDERR_LOG
        self.progress = progress  # None: a bar only when stderr is a terminal
        self.requests_made = 0

    def _wait(self, seconds: float, why: str, attempt: int) -> None:
        self.log.info(f"{why}; retrying in {seconds:g} s (attempt {attempt + 2} of {self.policy.max_retries + 1})")
        self.sleep(seconds)

    def request(
        self,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        what: str = "",
    ) -> requests.Response:
        """GET with retries on 429/5xx and on connection errors and timeouts, honouring Retry-After.
        Any other status is returned for the caller to judge."""
        what = what or url
        attempt = 0
        while True:
            self.requests_made += 1
            try:
                response = self.session.get(
                    url,
                    params=params,
                    headers=dict(headers or {}),
                    stream=stream,
                    timeout=(self.policy.connect_timeout, self.policy.read_timeout),
                )
            except _TRANSIENT as exc:
                if attempt >= self.policy.max_retries:
                    raise RemoteSourceError(
                        f"{what}: no answer from {url} after {attempt + 1} attempts: {exc}"
                    ) from exc
                self._wait(self.policy.backoff(attempt), f"{what}: {type(exc).__name__}", attempt)
                attempt += 1
                continue
            if response.status_code not in RETRY_STATUSES:
                return response
            reason = problem_title(response) if not stream else ""
            response.close()
            if attempt >= self.policy.max_retries:
                raise HttpStatusError(
                    f"{what}: {url} answered HTTP {response.status_code}"
                    + (f" ({reason})" if reason else "")
                    + f" on all {attempt + 1} attempts; try again later",
                    response.status_code,
                )
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if wait is None:
                wait = self.policy.backoff(attempt)
            wait = min(wait, self.policy.max_retry_after_seconds)
            self._wait(wait, f"{what}: HTTP {response.status_code}", attempt)
            attempt += 1

    def get_json(self, url: str, *, params: Mapping[str, str] | None = None, what: str = "") -> object:
        response = self.request(url, params=params, headers={"Accept": "application/json"}, what=what)
        if response.status_code != 200:
            raise status_error(response, what or url)
        try:
            return response.json()
        except ValueError as exc:
            raise RemoteSourceError(f"{what or url}: {response.url} did not return JSON: {exc}") from exc

    def download(
        self,
        url: str,
        target: Path,
        *,
        params: Mapping[str, str] | None = None,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
        reuse_cached: bool = True,
        max_bytes: int | None = None,
        what: str = "",
    ) -> DownloadResult:
        """Fetch ``url`` into ``target`` unless a cached copy with the expected sha256 is there."""
        what = what or url
        if reuse_cached and target.exists():
            sha, size = sha256_and_size(target)
            if expected_sha256 is None or sha == expected_sha256:
                return DownloadResult(target, url, sha, size, downloaded=False, suggested_name=target.name)
            # The cache no longer holds the locked bytes (edited or corrupted): fetch them again.
            self.log.warning(f"{what}: cached {target} does not match the lock; downloading it again")
        target.parent.mkdir(parents=True, exist_ok=True)
        transferred = target.with_name(target.name + ".download")
        partial = target.with_name(target.name + ".partial")
        if not reuse_cached:
            transferred.unlink(missing_ok=True)
        restarts = 0
        while True:
            response_info = self._transfer(url, transferred, params=params, max_bytes=max_bytes, what=what)
            try:
                _decode(transferred, partial, response_info["encoding"])
                break
            except (EOFError, OSError, zlib.error) as exc:
                # A body that ended early can pass the length check when the server sent none;
                # gzip's own end-of-stream check catches it here.
                transferred.unlink(missing_ok=True)
                partial.unlink(missing_ok=True)
                if restarts >= self.policy.max_retries:
                    raise RemoteSourceError(
                        f"{what}: {url} kept sending an incomplete or corrupt body ({exc}); nothing was landed"
                    ) from exc
                self._wait(self.policy.backoff(restarts), f"{what}: incomplete body ({exc})", restarts)
                restarts += 1
        sha, size = sha256_and_size(partial)
        if (expected_size is not None and size != expected_size) or (
            expected_sha256 is not None and sha != expected_sha256
        ):
            partial.unlink(missing_ok=True)
            transferred.unlink(missing_ok=True)
            raise ChangedContentError(
                f"{what}: the bytes now served at {url} are not the ones recorded in the lock "
                f"(lock: sha256 {expected_sha256}, {expected_size} bytes; now: sha256 {sha}, {size} bytes). "
                "The publisher replaced the file behind the same version; nothing was landed. "
                "Run `make update-sources` to accept the new content, or restore the old file."
            )
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        transferred.unlink(missing_ok=True)
        return DownloadResult(
            target,
            url,
            sha,
            size,
            downloaded=True,
            content_type=response_info["content_type"],
            suggested_name=response_info["name"],
        )

    def _transfer(self, url: str, transferred: Path, *, params, max_bytes: int | None, what: str) -> dict[str, str]:
        """Stream the body as sent (still gzip-encoded if it was) into ``transferred``, resuming a
        previous partial transfer with ``Range`` when the server supports it."""
        failures = 0
        while True:
            have = transferred.stat().st_size if transferred.exists() else 0
            headers = {"Accept-Encoding": "gzip"}
            if have:
                headers["Range"] = f"bytes={have}-"
            response = self.request(url, params=params, headers=headers, stream=True, what=what)
            if response.status_code == 416:  # the partial transfer is not a prefix of this body
                response.close()
                transferred.unlink(missing_ok=True)
                continue
            if response.status_code not in (200, 206):
                raise status_error(response, what)
            append = response.status_code == 206 and have > 0 and _range_start(response) == have
            if not append:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length and length.isdigit() else None
            info = {
                "encoding": response.headers.get("Content-Encoding", "").lower(),
                "content_type": response.headers.get("Content-Type", ""),
                "name": filename_from(response, url),
            }
            written = have
            try:
                with transferred.open("ab" if append else "wb") as out, self._bar(total, have, what) as bar:
                    for chunk in response.raw.stream(_CHUNK, decode_content=False):
                        out.write(chunk)
                        written += len(chunk)
                        bar.update(len(chunk))
                        if max_bytes is not None and written > max_bytes:
                            response.close()
                            transferred.unlink(missing_ok=True)
                            raise RemoteSourceError(
                                f"{what}: {url} is larger than the {max_bytes:,}-byte limit; nothing was landed"
                            )
                if total is not None and written != total:
                    raise _Truncated(f"body ended after {written:,} of {total:,} bytes")
                return info
            except (_Truncated, *_TRANSIENT) as exc:
                response.close()
                if failures >= self.policy.max_retries:
                    raise RemoteSourceError(
                        f"{what}: the download from {url} kept breaking off ({exc}); nothing was landed. "
                        "Run again to resume from the partial download."
                    ) from exc
                self._wait(self.policy.backoff(failures), f"{what}: transfer broke off ({exc})", failures)
                failures += 1
            finally:
                response.close()

    def _bar(self, total: int | None, initial: int, what: str):
        from tqdm import tqdm

        return tqdm(
            total=total,
            initial=initial,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=what[:40],
            disable=None if self.progress is None else not self.progress,
            file=sys.stderr,
            leave=False,
        )


def _range_start(response: requests.Response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


def _decode(source: Path, target: Path, encoding: str) -> None:
    if encoding in ("gzip", "x-gzip"):
        with gzip.open(source, "rb") as packed, target.open("wb") as out:
            shutil.copyfileobj(packed, out, 1 << 20)
    elif encoding in ("", "identity"):
        shutil.copyfile(source, target)
    else:
        raise RemoteSourceError(f"{source}: unsupported Content-Encoding '{encoding}'")


def status_error(response: requests.Response, what: str) -> HttpStatusError:
    reason = problem_title(response)
    detail = f" ({reason})" if reason else ""
    if response.status_code == 404:
        message = f"{what}: not found at {response.url} (HTTP 404{detail}); check the address or id in sources.yml"
    else:
        message = f"{what}: {response.url} answered HTTP {response.status_code}{detail}"
    return HttpStatusError(message, response.status_code)
