"""Resolve the remote sources of sources.yml (``ees_api:``, ``url:``) to local files, and keep the lock.

``sources.lock`` (named after the sources file: ``my.yml`` -> ``my.lock``) sits beside the
``sources.yml`` in use and records, per dataset and remote entry, what was resolved: the EES data
set id and version (with its status, publication date and release), the download address, and the
sha256 and size of the bytes. A run honours it: a locked entry whose bytes are in the download
cache (``$EDU_LANDING_DIR/downloads/``) needs no network at all, and one that must be downloaded
again has to come back with the same sha256. ``make update-sources`` resolves every entry afresh
and rewrites the lock. A sources.yml entry that no longer matches its lock entry stops the run and
says to run ``make update-sources``; a dataset new to the lock is resolved and added to it.
Plain ``files:`` need no lock entries. Under ``publications:`` the lock also keeps what the EES
website said of each listed dataset's publication (latest and next release, methodology), asked
whenever that dataset's sources are resolved afresh (lib/sources/ees_content.py). A run with
neither remote sources nor recorded publications writes no lock.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import stat
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

import requests
import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.printable import printable
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import (
    EesApiSource,
    RemoteSource,
    SourceFile,
    SourcesConfig,
    UrlSource,
    read_sources_config,
)
from orchestration.lib.sources.downloads import STDERR_LOG, Http, Log, RemoteSourceError, sha256_and_size
from orchestration.lib.sources.ees_api import (
    DEPRECATED,
    WITHDRAWN,
    DataSetVersion,
    EesApiClient,
    EesApiError,
    VersionSpec,
    WithdrawnVersionError,
    meta_csv_text,
    version_key,
)
from orchestration.lib.sources.ees_content import RETRY_POLICY as CONTENT_RETRY_POLICY
from orchestration.lib.sources.ees_content import UK, EesContentClient, valid_slug, validate_entry
from orchestration.lib.sources.yaml_input import load_yaml

LOCK_VERSION = 1
LOCK_HEADER = """\
# What the remote sources (ees_api:, url:) of {sources} resolved to. Written by the pipeline.
# `make run` uses exactly these versions and bytes; `make update-sources` resolves them again and
# rewrites this file. Commit it beside {sources} so the same build can be repeated.
"""
DEFAULT_ZIP_MEMBERS = ("data/*.csv",)
ZIP_MAX_MEMBERS = 10_000
ZIP_MAX_RATIO = 1000  # uncompressed / compressed size of one member: more is a zip bomb


def lock_path_for(sources_file: Path) -> Path:
    return sources_file.with_name(sources_file.stem + ".lock")


def downloads_dir(landing_dir: Path) -> Path:
    return landing_dir / "downloads"


# --- the lock file ----------------------------------------------------------------------------


def _spec_of(entry: dict) -> dict:
    """The sources.yml entry a lock entry was resolved from."""
    if "ees_api" in entry:
        return {"ees_api": entry["ees_api"]}
    return {k: entry[k] for k in ("url", "members") if k in entry}


def _spec_text(spec: dict) -> str:
    if "ees_api" in spec:
        return f"ees_api {spec['ees_api'].get('data_set_id')} version '{spec['ees_api'].get('version')}'"
    members = f" members {spec['members']}" if spec.get("members") else ""
    return f"url {spec.get('url')}{members}"


def read_lock(path: Path) -> dict[str, list[dict]]:
    if not path.exists():
        return {}
    try:
        document = load_yaml(path, str(path)) or {}
    except PipelineInputError as exc:
        raise PipelineInputError(f"{exc}; delete it and run `make update-sources`") from None
    if not isinstance(document, dict) or document.get("lock_version") != LOCK_VERSION:
        raise PipelineInputError(
            f"{path}: not a lock file this version understands (lock_version {LOCK_VERSION} expected); "
            "delete it and run `make update-sources`"
        )
    datasets = document.get("datasets") or {}
    if not isinstance(datasets, dict) or not all(
        isinstance(v, list) and all(isinstance(e, dict) and _spec_of(e) for e in v) for v in datasets.values()
    ):
        raise PipelineInputError(f"{path}: 'datasets' is malformed; delete it and run `make update-sources`")
    return datasets


def read_publications(path: Path) -> dict[str, dict]:
    """The lock's ``publications:``: slug -> what the EES content API said of it (ees_content.FIELDS),
    judged by the rules its writer follows."""
    if not path.exists():
        return {}
    document = load_yaml(path, str(path)) or {}
    publications = (document.get("publications") or {}) if isinstance(document, dict) else {}
    if not isinstance(publications, dict):
        raise PipelineInputError(f"{path}: 'publications' is malformed; delete it and run `make update-sources`")
    for slug, entry in publications.items():
        problem = validate_entry(entry)
        if problem is None and entry["publication_slug"] != slug:
            problem = f"publication_slug {entry['publication_slug']!r} is not its key"
        if not valid_slug(slug) or problem:
            raise PipelineInputError(
                f"{path}: 'publications' is malformed at {printable(str(slug))[:100]!r}: "
                f"{problem or 'not a publication slug'}; delete that section and run `make update-sources`"
            )
    return publications


def render_lock(
    sources_file: Path, datasets: dict[str, list[dict]], publications: dict[str, dict] | None = None
) -> str:
    document = {"lock_version": LOCK_VERSION, "datasets": datasets}
    if publications:
        document["publications"] = publications
    body = yaml.safe_dump(
        document,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
    )
    return LOCK_HEADER.format(sources=sources_file.name) + body


def write_lock(
    path: Path, sources_file: Path, datasets: dict[str, list[dict]], publications: dict[str, dict] | None = None
) -> bool:
    """Write the lock atomically; False when it already says exactly this."""
    text = render_lock(sources_file, datasets, publications)
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    return True


# --- results ----------------------------------------------------------------------------------


@dataclass
class RemoteResult:
    source: RemoteSource
    lock_entry: dict
    files: list[SourceFile]
    downloaded: bool
    warnings: list[str] = field(default_factory=list)
    version_info: dict | None = None  # ees_api: the version summary and its changes

    def describe(self) -> str:
        entry = self.lock_entry
        if isinstance(self.source, EesApiSource):
            return (
                f"ees_api {entry['data_set_id']} v{entry['version']} ({entry.get('status', '?')}, "
                f"asked '{self.source.version}') sha256 {entry['sha256'][:12]}"
            )
        return f"url {entry['url']} sha256 {entry['sha256'][:12]}"


@dataclass
class ResolvedSources:
    config: SourcesConfig
    files: list[SourceFile]
    remote: list[RemoteResult]
    lock_path: Path
    lock_written: bool
    warnings: list[str]
    # EES publication slug -> its latest and next release and methodology (ees_content.FIELDS)
    publications: dict[str, dict] = field(default_factory=dict)

    @property
    def downloads(self) -> int:
        return sum(r.downloaded for r in self.remote)


# --- resolution -------------------------------------------------------------------------------


def _check_lock_matches(config: SourcesConfig, lock: dict[str, list[dict]], lock_path: Path, skip: set[str]) -> None:
    problems = []
    for dataset in config.datasets:
        if dataset in skip or dataset not in lock:
            continue
        wanted = [s.lock_spec() for s in config.remote if s.dataset == dataset]
        have = [_spec_of(e) for e in lock[dataset]]
        if wanted and sorted(map(json.dumps, wanted)) != sorted(map(json.dumps, have)):
            problems.append(
                f"  {dataset}: {config.sources_file.name} has {'; '.join(map(_spec_text, wanted))}, "
                f"{lock_path.name} has {'; '.join(map(_spec_text, have))}"
            )
    if problems:
        raise PipelineInputError(
            f"{config.sources_file}: these sources changed since {lock_path.name} was written:\n"
            + "\n".join(problems)
            + "\nRun `make update-sources` to resolve them again and rewrite the lock (or undo the change)."
        )


class _Resolver:
    def __init__(
        self,
        landing_dir: Path,
        log: Log,
        client_factory: Callable[[], EesApiClient],
        http: Http | None,
        zip_max_bytes: int,
    ):
        self.cache = downloads_dir(landing_dir)
        self.zip_max_bytes = zip_max_bytes
        self.log = log
        self._client_factory = client_factory
        self._client: EesApiClient | None = None
        self._http = http

    @property
    def client(self) -> EesApiClient:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    @property
    def http(self) -> Http:
        return self._http or self.client.http

    # ---- ees_api ----

    def ees(self, source: EesApiSource, locked: dict | None, previous: dict | None) -> RemoteResult:
        data_set_id = source.data_set_id
        warnings: list[str] = []
        if locked is not None:
            version = str(locked["version"])
            folder = self._ees_folder(data_set_id, version)
            csv_path = folder / f"{data_set_id}_v{version}.csv"
            if (
                self._cached(csv_path, locked.get("sha256"))
                and (folder / "version.json").exists()
                and (folder / "meta.json").exists()
            ):
                files, info = self._ees_files(source, folder, csv_path, version, str(locked.get("download_url") or ""))
                return RemoteResult(source, locked, files, downloaded=False, version_info=info)
            listed = [v for v in self.client.list_versions(data_set_id) if v.key == version_key(version)]
            if not listed:
                raise EesApiError(
                    f"data set {data_set_id}: version {version} (locked in sources.lock) is no longer listed by the API; "
                    "run `make update-sources`"
                )
            chosen = listed[0]
            if chosen.status == WITHDRAWN:
                raise WithdrawnVersionError(
                    f"data set {data_set_id}: version {version}, locked in sources.lock, was withdrawn"
                    + (f" on {chosen.withdrawn}" if chosen.withdrawn else "")
                    + f" and is not in the download cache ({folder}), so it cannot be rebuilt. "
                    "Run `make update-sources` to move to a published version."
                )
            if chosen.status == DEPRECATED:
                warnings.append(
                    f"data set {data_set_id}: locked version {version} is deprecated; run `make update-sources` "
                    "to move to a published version"
                )
            expected = (locked.get("sha256"), locked.get("size_bytes"))
        else:
            resolution = self.client.resolve(data_set_id, VersionSpec.parse(source.version))
            chosen = resolution.version
            warnings.extend(resolution.warnings)
            version = chosen.version
            folder = self._ees_folder(data_set_id, version)
            csv_path = folder / f"{data_set_id}_v{version}.csv"
            same = previous is not None and version_key(str(previous.get("version"))) == chosen.key
            expected = (previous.get("sha256"), previous.get("size_bytes")) if same else (None, None)
            if chosen.status == WITHDRAWN:
                if not self._cached(csv_path, expected[0]):
                    raise WithdrawnVersionError(
                        f"data set {data_set_id}: version {version} was withdrawn"
                        + (f" on {chosen.withdrawn}" if chosen.withdrawn else "")
                        + " and no copy was downloaded before; pin a published version in sources.yml"
                    )
                warnings.append(
                    f"data set {data_set_id}: using the copy of withdrawn version {version} downloaded before"
                )
        for warning in warnings:
            self.log.warning(warning)
        result = self.client.download_csv(
            data_set_id, version, csv_path, expected_sha256=expected[0], expected_size=expected[1]
        )
        if result.downloaded:
            self.log.info(
                f"data set {data_set_id} v{version}: downloaded {result.size_bytes:,} bytes, sha256 {result.sha256[:12]}"
            )
        self._write_json(folder / "version.json", chosen.raw or {"version": version, "status": chosen.status})
        if not (folder / "meta.json").exists():
            self._write_json(folder / "meta.json", self.client.get_meta(data_set_id, version))
        if not (folder / "changes.json").exists():
            self._write_json(folder / "changes.json", self.client.get_changes(data_set_id, version))
        url = self.client.csv_url(data_set_id, version)
        entry = {
            **source.lock_spec(),
            "data_set_id": data_set_id,
            "version": version,
            "status": chosen.status,
            "published": chosen.published,
            "release": {"title": chosen.release_title, "slug": chosen.release_slug},
            "download_url": url,
            "sha256": result.sha256,
            "size_bytes": result.size_bytes,
        }
        if locked is not None:
            entry = locked  # the lock already says all this; keep it byte for byte
        files, info = self._ees_files(source, folder, csv_path, version, url)
        return RemoteResult(source, entry, files, downloaded=result.downloaded, warnings=warnings, version_info=info)

    def _ees_folder(self, data_set_id: str, version: str) -> Path:
        return self.cache / "ees" / data_set_id / version

    def _ees_files(
        self, source: EesApiSource, folder: Path, csv_path: Path, version: str, url: str
    ) -> tuple[list[SourceFile], dict]:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        meta_path = csv_path.with_name(csv_path.name[: -len(".csv")] + ".meta.csv")
        text = meta_csv_text(meta)
        if not meta_path.exists() or meta_path.read_text(encoding="utf-8") != text:
            _write_atomic(meta_path, text.encode("utf-8"))
        summary = DataSetVersion.from_json(json.loads((folder / "version.json").read_text(encoding="utf-8")))
        changes_file = folder / "changes.json"
        changes = json.loads(changes_file.read_text(encoding="utf-8")) if changes_file.exists() else None
        info = {
            "dataset": source.dataset,
            "data_set_id": source.data_set_id,
            "version": version,
            "requested": source.version,
            "status": summary.status,
            "type": summary.type,
            "published": summary.published,
            "withdrawn": summary.withdrawn,
            "release_title": summary.release_title,
            "release_slug": summary.release_slug,
            "notes": summary.notes,
            "changes": changes,
        }
        file = SourceFile(
            dataset=source.dataset,
            path=csv_path,
            listed_as=f"ees_api:{source.data_set_id}@{version}",
            release=source.release,
            data_set_id=source.data_set_id,
            data_set_version=version,
            origin_url=url or None,
            meta_generated=True,
        )
        return [file], info

    # ---- url ----

    def url(self, source: UrlSource, locked: dict | None, previous: dict | None) -> RemoteResult:
        base = self.cache / "url" / hashlib.sha256(source.url.encode("utf-8")).hexdigest()[:16]
        payload = base / "payload"
        downloaded = False
        if locked is not None:
            sha, size, name = locked["sha256"], locked.get("size_bytes"), str(locked.get("file_name") or "download.csv")
            view = base / _view_name(sha, source.members)
            if not (view / ".complete").exists():
                result = self.http.download(
                    source.url,
                    payload,
                    expected_sha256=sha,
                    expected_size=size,
                    max_bytes=self.zip_max_bytes,
                    what=f"{source.dataset} url",
                )
                downloaded = result.downloaded
        else:
            result = self.http.download(
                source.url, payload, reuse_cached=False, max_bytes=self.zip_max_bytes, what=f"{source.dataset} url"
            )
            downloaded = True
            sha, size, name = result.sha256, result.size_bytes, result.suggested_name
            if previous is not None and previous.get("sha256") != sha:
                self.log.info(
                    f"{source.url}: content changed since the lock was written (sha256 {str(previous.get('sha256'))[:12]} -> {sha[:12]})"
                )
            view = base / _view_name(sha, source.members)
        listing = self._materialise(source, payload, view, name)
        files = [
            SourceFile(
                dataset=source.dataset,
                path=view / item["path"],
                listed_as=source.url if item["member"] is None else f"{source.url}#{item['member']}",
                release=source.release,
                origin_url=source.url,
            )
            for item in listing["files"]
        ]
        entry = {
            **source.lock_spec(),
            "sha256": sha,
            "size_bytes": size,
            "file_name": listing["file_name"],
            "format": listing["format"],
        }
        if listing["format"] == "zip":
            entry["files"] = [item["member"] for item in listing["files"]]
            if listing.get("data_guidance"):
                entry["data_guidance"] = listing["data_guidance"]
        if locked is not None:
            entry = locked
        return RemoteResult(source, entry, files, downloaded=downloaded)

    def _materialise(self, source: UrlSource, payload: Path, view: Path, name: str) -> dict:
        """The CSV, or the chosen members of the ZIP, in ``view`` (once per distinct payload)."""
        marker = view / ".complete"
        if marker.exists():
            return json.loads(marker.read_text(encoding="utf-8"))
        staging = view.with_name(view.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with payload.open("rb") as handle:
            head = handle.read(512)
        if zipfile.is_zipfile(payload):
            listing = extract_zip(payload, staging, source.members, source.url, self.zip_max_bytes)
            listing["file_name"] = name if name.lower().endswith(".zip") else f"{name}.zip"
        else:
            if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
                shutil.rmtree(staging, ignore_errors=True)
                raise RemoteSourceError(
                    f"{source.url} returned a web page, not a CSV or ZIP file; use the file's download address"
                )
            if source.members:
                raise RemoteSourceError(f"{source.url} is not a ZIP file, so 'members:' does not apply to it")
            file_name = name if name.lower().endswith(".csv") else f"{name}.csv"
            shutil.copyfile(payload, staging / file_name)
            listing = {"format": "csv", "file_name": file_name, "files": [{"member": None, "path": file_name}]}
        (staging / ".complete").write_text(json.dumps(listing, sort_keys=True), encoding="utf-8")
        shutil.rmtree(view, ignore_errors=True)
        os.replace(staging, view)
        return listing

    # ---- helpers ----

    @staticmethod
    def _cached(path: Path, sha256: str | None) -> bool:
        return path.exists() and (sha256 is None or sha256_and_size(path)[0] == sha256)

    @staticmethod
    def _write_json(path: Path, value: object) -> None:
        _write_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8"))


def _view_name(sha: str, members: tuple[str, ...]) -> str:
    """One folder per payload and choice of members (two entries may take different CSVs of one ZIP)."""
    if not members:
        return sha[:16]
    return f"{sha[:16]}-{hashlib.sha256(json.dumps(list(members)).encode()).hexdigest()[:8]}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _unsafe_member(name: str) -> bool:
    if not name or "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return any(part in ("..", "") for part in PurePosixPath(name).parts) or "\x00" in name


def extract_zip(archive: Path, target: Path, members: Iterable[str], origin: str, max_bytes: int) -> dict:
    """Extract the data CSVs chosen by ``members`` (default ``data/*.csv``), each with the
    ``.meta.csv`` beside it, plus the data guidance, into ``target``. Refuses paths outside
    ``target``, links, too many members, more than ``max_bytes`` unpacked (EDU_ZIP_MAX_BYTES) and
    other sizes past the limits, before writing anything."""
    patterns = tuple(members) or DEFAULT_ZIP_MEMBERS
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise RemoteSourceError(f"{origin}: not a readable ZIP file ({exc})") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > ZIP_MAX_MEMBERS:
            raise RemoteSourceError(f"{origin}: the ZIP has {len(infos):,} members (limit {ZIP_MAX_MEMBERS:,})")
        for info in infos:
            if _unsafe_member(info.filename):
                raise RemoteSourceError(
                    f"{origin}: the ZIP member '{info.filename}' would be written outside its folder; refused"
                )
            if stat.S_ISLNK(info.external_attr >> 16):
                raise RemoteSourceError(f"{origin}: the ZIP member '{info.filename}' is a link; refused")
        by_name = {i.filename: i for i in infos}
        csvs = [n for n in by_name if n.lower().endswith(".csv") and not n.lower().endswith(".meta.csv")]
        chosen = [n for n in csvs if any(fnmatch.fnmatch(n, p) for p in patterns)]
        if not chosen:
            raise RemoteSourceError(
                f"{origin}: no CSV in the ZIP matches {', '.join(patterns)}; it has: {', '.join(csvs) or 'no CSV files'}"
                + ("" if members else " (choose with members: [...] in sources.yml)")
            )
        metas = [n[: -len(".csv")] + ".meta.csv" for n in chosen]
        guidance = sorted(n for n in by_name if n.lower().startswith("data-guidance/"))
        wanted = chosen + [m for m in metas if m in by_name] + guidance
        total = sum(by_name[n].file_size for n in wanted)
        if total > max_bytes:
            raise RemoteSourceError(
                f"{origin}: the chosen ZIP members would unpack to {total:,} bytes (limit {max_bytes:,}, EDU_ZIP_MAX_BYTES)"
            )
        for name in wanted:
            info = by_name[name]
            if info.compress_size and info.file_size / info.compress_size > ZIP_MAX_RATIO and info.file_size > 1 << 20:
                raise RemoteSourceError(
                    f"{origin}: the ZIP member '{name}' expands {info.file_size // info.compress_size}x; refused as a zip bomb"
                )
            destination = (target / name).resolve()
            if not destination.is_relative_to(target.resolve()):
                raise RemoteSourceError(
                    f"{origin}: the ZIP member '{name}' would be written outside its folder; refused"
                )
            destination.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as source, destination.open("wb") as out:
                while chunk := source.read(1 << 20):
                    written += len(chunk)
                    if written > info.file_size:  # the header understated the size
                        raise RemoteSourceError(
                            f"{origin}: the ZIP member '{name}' is larger than its header says; refused"
                        )
                    out.write(chunk)
    return {
        "format": "zip",
        "files": [{"member": n, "path": n} for n in chosen],
        "data_guidance": guidance,
    }


def resolve_sources(
    sources_file: Path,
    landing_dir: Path,
    *,
    update: bool | Iterable[str] = False,
    client: EesApiClient | None = None,
    http: Http | None = None,
    log: Log | None = None,
    zip_max_bytes: int | None = None,
) -> ResolvedSources:
    """Every file a run lands: local ``files:`` plus the resolved remote sources; writes the lock.

    ``update``: False honours the lock; True resolves every remote source again; a collection of
    dataset names resolves only those again. ``zip_max_bytes``: the most bytes a url: download
    or its unpacked ZIP members may have (default: the settings' EDU_ZIP_MAX_BYTES).
    """
    log = log or (http.log if http is not None else STDERR_LOG)
    config = read_sources_config(sources_file)
    lock_path = lock_path_for(sources_file)
    lock = read_lock(lock_path)
    update_all = update is True
    updating = set(config.datasets) if update_all else set(update or ())
    _check_lock_matches(config, lock, lock_path, updating)

    def make_client() -> EesApiClient:
        return EesApiClient(http=http, log=log) if http is not None else EesApiClient(log=log)

    if zip_max_bytes is None:
        zip_max_bytes = load_settings().zip_max_bytes
    resolver = _Resolver(landing_dir, log, (lambda: client) if client is not None else make_client, http, zip_max_bytes)
    remote_results: list[RemoteResult] = []
    unlocked: set[str] = set()  # datasets with a remote source resolved for the first time
    for source in config.remote:
        entries = lock.get(source.dataset, [])
        matching = next((e for e in entries if _spec_of(e) == source.lock_spec()), None)
        if matching is None:
            unlocked.add(source.dataset)
        locked = None if source.dataset in updating else matching
        if isinstance(source, EesApiSource):
            remote_results.append(resolver.ees(source, locked, matching))
        else:
            remote_results.append(resolver.url(source, locked, matching))

    new_lock: dict[str, list[dict]] = {}
    for result in remote_results:
        new_lock.setdefault(result.source.dataset, []).append(result.lock_entry)
    try:
        recorded = read_publications(lock_path)
    except PipelineInputError as exc:
        if not updating:
            raise
        recorded = {}  # asked again now: a damaged record never stops an update
        log.warning(f"{exc}: asking the EES website again")
    publications, publication_warnings = _publications(config, recorded, updating | unlocked, http, log)
    lock_written = False
    if new_lock or publications or lock_path.exists():
        lock_written = write_lock(lock_path, sources_file, new_lock, publications)
        if lock_written:
            log.info(f"wrote {lock_path}")

    files: list[SourceFile] = []
    for dataset in config.datasets:
        files += [f for f in config.files if f.dataset == dataset]
        for result in remote_results:
            if result.source.dataset == dataset:
                files += result.files
    warnings = [w for r in remote_results for w in r.warnings] + publication_warnings
    return ResolvedSources(config, files, remote_results, lock_path, lock_written, warnings, publications)


def _publications(
    config: SourcesConfig, locked: dict[str, dict], updating: set[str], http: Http | None, log: Log
) -> tuple[dict[str, dict], list[str]]:
    """Each listed dataset's EES publication as the lock records it; the datasets being updated
    (update-sources, or a remote source resolved for the first time) ask the EES content API
    again, so a run that honours the lock stays offline. Release dates are documentation: an
    answer that cannot be used keeps the previous record, with a warning, and never stops the
    update."""
    from orchestration.lib.rules.registry import ees_datasets

    registry = ees_datasets()
    wanted = {registry[d].publication for d in config.datasets if d in registry}
    refresh = {registry[d].publication for d in config.datasets if d in registry and d in updating}
    warnings: list[str] = []
    out = {slug: locked[slug] for slug in wanted if slug in locked}
    if refresh:
        client = EesContentClient(load_settings().ees_content_url, http=http or Http(CONTENT_RETRY_POLICY, log=log))
        today = datetime.now(UK).date()
        for slug in sorted(refresh):
            try:
                out[slug] = client.publication(slug, today)
                continue
            except Exception as exc:  # noqa: BLE001 - documentation: whatever went wrong, the update goes on
                problem = exc
            kept = "kept the release dates recorded before" if slug in out else "no release dates recorded"
            warnings.append(f"{printable(str(problem))}: {kept}")
            log.warning(warnings[-1])
            if _unreachable(problem):
                skipped = sorted(s for s in refresh if s > slug)
                if skipped:  # the website is not answering: do not wait for it once per publication
                    warnings.append(f"EES website not answering: {', '.join(skipped)} not asked")
                    log.warning(warnings[-1])
                break
    return dict(sorted(out.items())), warnings


def _unreachable(problem: BaseException) -> bool:
    """No answer at all (connection refused or dropped, timed out), as opposed to a bad answer."""
    cause = problem
    while cause is not None:
        if isinstance(cause, (requests.ConnectionError, requests.Timeout)):
            return True
        cause = cause.__cause__
    return False
