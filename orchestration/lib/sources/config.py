"""Read ``sources.yml``: which raw files feed each dataset.

Minimal form (README, "Building from real DfE downloads"), paths relative to the YAML file, globs allowed::

    datasets:
      ks2: {files: ["ks2/*.csv", {path: "ks2/2022_prov.csv", release: provisional}]}
      ks4: {ees_api: {data_set_id: "<uuid>", version: "2.*"}}
      phonics: {url: "https://.../release.zip"}

Each dataset takes any of three kinds of source, each a single entry or a list:

- ``files:`` local files (paths or ``{path:, release:}``);
- ``ees_api:`` ``{data_set_id:, version:, release:}``: a data set version from the EES public API
  (``version`` "2.1", "2.*" or "*", quoted);
- ``url:`` an address, or ``{url:, members:, release:}``: a CSV, or a ZIP (an EES release download:
  ``data/*.csv`` with ``.meta.csv`` beside them; ``members`` globs choose among them).

Remote sources are resolved, downloaded and locked by :mod:`orchestration.lib.sources.lock`.

An optional ``local:`` mapping lists the council's own school-level datasets (README "Local
datasets")::

    local:
      schools: {schema: local/schools.schema.yml, files: [local/schools.csv]}
      ofsted_inspections:
        schema: local/ofsted.schema.yml
        files: [{path: local/ofsted_2024_08_31.csv, period: "2024-08-31"}]

Their schema files are read by :mod:`orchestration.lib.ingest.local_datasets`.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.settings import DBT_PROJECT_DIR, load_settings
from orchestration.lib.sources.yaml_input import load_yaml

RELEASES = ("provisional", "revised", "final")


@dataclass(frozen=True)
class FileLayout:
    """A DfE file that is not an EES tidy file, read as one (vars.ees_datasets.<d>.layouts; how:
    orchestration.lib.ingest.layouts)."""

    detect: tuple[str, ...]  # the header columns that mark the layout (the file has no time_period)
    end_year: str  # the year column: the academic year ending in it is the time_period
    region_name: str  # the region column ("total" on England's rows)
    old_la_code: str  # the LA columns ("total" on England's and the regions' rows)
    new_la_code: str
    la_name: str
    total: str  # the value meaning "all": England and region rows, and each filter's total
    # a year in which every row has 0 in each of these counts is a cohort not yet measured: left out
    not_yet_measured_when_zero: tuple[str, ...] = ()

    def area_columns(self) -> dict[str, str]:
        """EES LA column -> the file's column."""
        return {"old_la_code": self.old_la_code, "new_la_code": self.new_la_code, "la_name": self.la_name}

    def columns_read(self) -> tuple[str, ...]:
        """The file's columns the layout turns into EES time and geography columns."""
        return (self.end_year, self.region_name, *self.area_columns().values())


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "ees" (tidy EES file) or "other"
    required_columns: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    # name -> template: a header name a file repeats, named from the column before it (DfE's
    # neighbour workbook follows each SN<k> with a closeness column headed just "SNP").
    repeated_columns: dict[str, str] = field(default_factory=dict)
    # columns that state a value in words (ees_datasets text_columns): kept, never a filter
    text_columns: tuple[str, ...] = ()
    # whether the dataset publishes National rows: then a file of England's figures alone with no
    # geography columns at all (DfE's 16-18 all_attainment_with_2025.csv) is read as them
    # (lib/ingest/layouts.py)
    has_national_rows: bool = False
    layouts: tuple[FileLayout, ...] = ()
    time_identifier: str = ""  # what the dataset's time_identifier reads (e.g. Academic year)

    def has_column(self, columns: set[str], canonical: str) -> bool:
        return canonical in columns or any(a in columns for a in self.aliases.get(canonical, ()))


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    path: Path
    listed_as: str  # the entry as written in sources.yml, for messages and lineage
    release: str | None
    # Lineage of remote sources: the EES data set and version, the address it was fetched from,
    # and whether its .meta.csv was written by the pipeline (from the API's metadata).
    data_set_id: str | None = None
    data_set_version: str | None = None
    origin_url: str | None = None
    meta_generated: bool = False

    @property
    def meta_path(self) -> Path | None:
        name = self.path.name
        stem = name[: -len(".csv")] if name.lower().endswith(".csv") else self.path.stem
        candidate = self.path.with_name(f"{stem}.meta.csv")
        if not candidate.exists():
            return None
        # beside its data file, not a link out of that folder, and a plain file
        real = candidate.resolve()
        if real.parent != self.path.parent or not stat.S_ISREG(real.stat().st_mode):
            raise PipelineInputError(f"{self.listed_as}: its {candidate.name} is a link or not a regular file")
        return real


@lru_cache(maxsize=1)
def dbt_project_vars() -> dict:
    """The ``vars:`` of dbt_project.yml: rules shared by the Python code and the dbt models."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return project.get("vars", {})


@lru_cache(maxsize=1)
def dataset_specs() -> dict[str, DatasetSpec]:
    """Dataset definitions live in dbt_project.yml vars, shared with the staging models: the EES
    datasets' registry (vars.ees_datasets, checked by orchestration.lib.rules.registry) and the other
    DfE files (vars.other_datasets)."""
    from orchestration.lib.rules.registry import ees_datasets  # imports this module

    specs = {
        name: DatasetSpec(
            name=name,
            kind="ees",
            required_columns=d.required_columns,
            aliases=d.aliases,
            text_columns=d.text_columns,
            has_national_rows="National" in d.geographic_levels,
            layouts=d.layouts,
            time_identifier=d.periods.time_identifier,
        )
        for name, d in ees_datasets().items()
    }
    for name, spec in (dbt_project_vars().get("other_datasets") or {}).items():
        spec = spec or {}
        specs[name] = DatasetSpec(
            name=name,
            kind="other",
            required_columns=tuple(spec.get("required_columns", ())),
            aliases={k: tuple(v) for k, v in (spec.get("aliases") or {}).items()},
            repeated_columns=dict(spec.get("repeated_columns") or {}),
        )
    return specs


_GLOB_MAGIC = re.compile(r"[*?[]")
# Kernel and device filesystems: nothing there is a data file, whatever folders are allowed.
_SPECIAL_ROOTS = tuple(Path(p) for p in ("/proc", "/sys", "/dev", "/run"))


def _glob(pattern: Path, max_entries: int, where: str) -> list[Path]:
    """The paths ``pattern`` names: `*`, `?`, `[...]` within a name and `**` for any depth of
    folders, as glob does, but never following a link to a folder while descending (a folder that
    links to itself would never end) and refusing after ``max_entries`` directory entries."""
    parts = pattern.parts
    first = next((i for i, part in enumerate(parts) if _GLOB_MAGIC.search(part)), None)
    if first is None:
        return [pattern] if os.path.lexists(pattern) else []
    root, rest = Path(*parts[:first]), parts[first:]
    visited = 0

    def entries(folder: Path) -> list[os.DirEntry]:
        nonlocal visited
        try:
            with os.scandir(folder) as listing:
                found = sorted(listing, key=lambda e: e.name)
        except OSError:
            return []
        visited += len(found)
        if visited > max_entries:
            raise PipelineInputError(
                f"{where}: the pattern visits more than {max_entries:,} folder entries under {root} "
                "(EDU_GLOB_MAX_ENTRIES); name the files more narrowly"
            )
        return found

    def match(folder: Path, remaining: tuple[str, ...]) -> list[Path]:
        part, later = remaining[0], remaining[1:]
        if part == "**":
            found = match(folder, later) if later else []
            for entry in entries(folder):
                if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False):
                    found += match(Path(entry.path), remaining)
            return found
        if not _GLOB_MAGIC.search(part):
            path = folder / part
            if not later:
                return [path] if os.path.lexists(path) else []
            return match(path, later) if path.is_dir() else []
        found = []
        for entry in entries(folder):
            if entry.name.startswith(".") and not part.startswith("."):
                continue  # as glob: a wildcard does not match hidden names
            if fnmatch.fnmatchcase(entry.name, part):
                if not later:
                    found.append(Path(entry.path))
                elif entry.is_dir():
                    found += match(Path(entry.path), later)
        return found

    return sorted(set(match(root, rest)))


def source_roots(base: Path) -> tuple[Path, ...]:
    """The folders sources may be read from: the one holding sources.yml, and EDU_SOURCE_DIRS."""
    roots = [base.resolve()]
    for folder in load_settings().source_dirs:
        if not folder.is_dir():
            raise PipelineInputError(f"EDU_SOURCE_DIRS names {folder}, which is not a folder")
        roots.append(folder.resolve())
    return tuple(roots)


def checked_source(path: Path, roots: tuple[Path, ...], where: str) -> Path:
    """``path`` resolved, if it is a regular file inside one of ``roots``; links are followed only
    to check where they lead. Says nothing of the file's contents."""
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise PipelineInputError(f"{where}: {path} cannot be opened (a missing target or a link loop)") from None
    if any(real.is_relative_to(special) for special in _SPECIAL_ROOTS) or not any(
        real.is_relative_to(root) for root in roots
    ):
        plain = Path(os.path.normpath(path.absolute()))
        raise PipelineInputError(
            f"{where}: {plain} is {'a link to ' + str(real) + ', ' if real != plain else ''}outside the "
            f"folders sources may be read from ({', '.join(map(str, roots))}); name its folder in EDU_SOURCE_DIRS "
            "to allow it"
        )
    if not stat.S_ISREG(real.stat().st_mode):
        raise PipelineInputError(f"{where}: {path} is not a regular file (a folder, device, pipe or socket)")
    return real


def _expand(entry: str, base: Path, dataset: str, sources_file: Path) -> list[tuple[Path, Path]]:
    """(each path the entry names, as matched, and where it resolves to, checked)."""
    where = f"{sources_file}: dataset '{dataset}': '{entry}'"
    pattern = Path(entry) if Path(entry).is_absolute() else base / entry
    roots = source_roots(base)
    matches = [p for p in _glob(pattern, load_settings().glob_max_entries, where) if not p.name.endswith(".meta.csv")]
    # a folder a ** pattern passes is no match; anything else it names must be a file it may read
    checked = [(p, checked_source(p, roots, where)) for p in matches if not (p.is_dir() and _GLOB_MAGIC.search(entry))]
    if not checked:
        raise PipelineInputError(f"{sources_file}: dataset '{dataset}': no file matches '{entry}' (looked in {base})")
    return checked


def _listed_files(pattern: str, dataset: str, sources_file: Path) -> list[tuple[Path, str]]:
    """The files a pattern names: each resolved, and as listed (relative to the folder of
    sources.yml when inside it, so a lock or a record reads the same on any machine)."""
    base = sources_file.parent
    return [
        (real, str(path.relative_to(base)) if path.is_relative_to(base) else str(path))
        for path, real in _expand(pattern, base, dataset, sources_file)
    ]


@dataclass(frozen=True)
class EesApiSource:
    """``ees_api: {data_set_id:, version:}``: one data set of the EES public API."""

    dataset: str
    data_set_id: str
    version: str  # as written: "2.1", "2.*", "*"
    release: str | None = None

    def lock_spec(self) -> dict:
        return {"ees_api": {"data_set_id": self.data_set_id, "version": self.version}}

    def describe(self) -> str:
        return f"ees_api data set {self.data_set_id} version '{self.version}'"


@dataclass(frozen=True)
class UrlSource:
    """``url:``: a CSV or ZIP address (EES release downloads and data catalogue CSV links)."""

    dataset: str
    url: str
    members: tuple[str, ...] = ()
    release: str | None = None

    def lock_spec(self) -> dict:
        spec: dict = {"url": self.url}
        if self.members:
            spec["members"] = list(self.members)
        return spec

    def describe(self) -> str:
        return f"url {self.url}"


RemoteSource = EesApiSource | UrlSource


@dataclass(frozen=True)
class LocalFile:
    """One file of a local dataset; ``period`` as written on its sources.yml entry (a year such as
    2023/24, or an inspection snapshot's as-at date) for files that carry no period column."""

    dataset: str
    path: Path
    listed_as: str
    period: str | None = None


@dataclass(frozen=True)
class LocalDataset:
    name: str
    schema_path: Path
    schema_listed_as: str  # as written in sources.yml, for messages and lineage
    files: tuple[LocalFile, ...]


@dataclass(frozen=True)
class SourcesConfig:
    sources_file: Path
    datasets: tuple[str, ...]
    files: list[SourceFile] = field(default_factory=list)
    remote: list[RemoteSource] = field(default_factory=list)
    local: list[LocalDataset] = field(default_factory=list)


DATASET_KEYS = ("files", "ees_api", "url")


def _release(sources_file: Path, dataset: str, what: object, release: object) -> str | None:
    if release is None:
        return None
    if str(release).lower() not in RELEASES:
        raise PipelineInputError(
            f"{sources_file}: dataset '{dataset}', {what}: release must be one of "
            f"{', '.join(RELEASES)}, got '{release}'"
        )
    return str(release).lower()


def _as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def _ees_api_sources(sources_file: Path, dataset: str, value: object) -> list[EesApiSource]:
    from orchestration.lib.sources.ees_api import EesApiError, VersionSpec, valid_data_set_id

    result = []
    for item in _as_list(value):
        where = f"{sources_file}: dataset '{dataset}', ees_api"
        if not isinstance(item, dict):
            raise PipelineInputError(f'{where}: expected {{data_set_id: <uuid>, version: "2.*"}}, got {item!r}')
        _reject_unknown_keys(where, item, ("data_set_id", "version", "release"))
        data_set_id, version = item.get("data_set_id"), item.get("version")
        if not valid_data_set_id(data_set_id):
            raise PipelineInputError(
                f"{where}: data_set_id must be the data set's UUID (shown on its EES data catalogue page), got {data_set_id!r}"
            )
        if version is None:
            raise PipelineInputError(f'{where}: version is required: an exact version ("2.1"), a series ("2.*") or "*"')
        if not isinstance(version, str):
            raise PipelineInputError(
                f'{where}: quote the version (version: "{version}"): YAML reads an unquoted {version} as a number, '
                "and 2.10 would become 2.1"
            )
        try:
            VersionSpec.parse(version)
        except EesApiError as exc:
            raise PipelineInputError(f"{where}: {exc}") from None
        release = _release(sources_file, dataset, f"ees_api {data_set_id}", item.get("release"))
        result.append(EesApiSource(dataset, data_set_id.lower(), version.strip(), release))
    return result


def _url_sources(sources_file: Path, dataset: str, value: object) -> list[UrlSource]:
    result = []
    for item in _as_list(value):
        where = f"{sources_file}: dataset '{dataset}', url"
        members: object = ()
        release = None
        if isinstance(item, dict):
            _reject_unknown_keys(where, item, ("url", "members", "release"))
            address, members = item.get("url"), item.get("members") or ()
            release = _release(sources_file, dataset, f"url {address}", item.get("release"))
        else:
            address = item
        if not isinstance(address, str) or not address.lower().startswith(("http://", "https://")):
            raise PipelineInputError(f"{where}: expected an http(s) address of a CSV or ZIP file, got {address!r}")
        members = tuple(_as_list(members)) if members else ()
        if not all(isinstance(m, str) and m for m in members):
            raise PipelineInputError(
                f"{where}: members must be a list of paths or globs inside the ZIP (e.g. data/*.csv)"
            )
        result.append(UrlSource(dataset, address.strip(), members, release))
    return result


def _file_sources(sources_file: Path, dataset: str, files: object) -> list[SourceFile]:
    result: list[SourceFile] = []
    for item in _as_list(files):
        release = None
        if isinstance(item, dict):
            pattern = item.get("path")
            release = _release(sources_file, dataset, f"file '{pattern}'", item.get("release"))
        else:
            pattern = item
        if not isinstance(pattern, str) or not pattern:
            raise PipelineInputError(f"{sources_file}: dataset '{dataset}': bad file entry {item!r}")
        result += [
            SourceFile(dataset, path, listed, release) for path, listed in _listed_files(pattern, dataset, sources_file)
        ]
    return result


LOCAL_DATASET_KEYS = ("schema", "files")
LOCAL_FILE_KEYS = ("path", "period")
_LOCAL_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


def _reject_unknown_keys(where: str, entry: dict, allowed: tuple[str, ...]) -> None:
    # str(): YAML reads a key such as 2024 as a number, which still deserves the message.
    unknown = sorted(map(str, set(entry) - set(allowed)))
    if unknown:
        raise PipelineInputError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})")


def _period_text(value: object) -> str | None:
    """A per-file period as written; YAML reads an unquoted 2024-08-31 as a date, 202324 as a number."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip() or None


def _local_files(sources_file: Path, dataset: str, files: object) -> tuple[LocalFile, ...]:
    where = f"{sources_file}: local dataset '{dataset}'"
    result: list[LocalFile] = []
    for item in _as_list(files):
        period = None
        if isinstance(item, dict):
            _reject_unknown_keys(f"{where}: file entry {item!r}", item, LOCAL_FILE_KEYS)
            pattern, period = item.get("path"), _period_text(item.get("period"))
        else:
            pattern = item
        if not isinstance(pattern, str) or not pattern:
            raise PipelineInputError(f"{where}: bad file entry {item!r} (expected a path, or {{path:, period:}})")
        result += [
            LocalFile(dataset, path, listed, period) for path, listed in _listed_files(pattern, dataset, sources_file)
        ]
    return tuple(result)


def _local_datasets(sources_file: Path, local: object, specs: dict[str, DatasetSpec]) -> list[LocalDataset]:
    if local is None:
        return []
    if not isinstance(local, dict):
        raise PipelineInputError(
            f"{sources_file}: 'local:' must map dataset names to {{schema:, files:}}, got {local!r}"
        )
    result = []
    for name, entry in local.items():
        where = f"{sources_file}: local dataset '{name}'"
        if not isinstance(name, str) or not _LOCAL_NAME.match(name):
            raise PipelineInputError(f"{where}: a local dataset name must be lower snake case (e.g. school_ks2)")
        if name in specs:
            raise PipelineInputError(
                f"{where}: the name is taken by a DfE dataset; choose another (DfE datasets: {', '.join(sorted(specs))})"
            )
        if not isinstance(entry, dict):
            raise PipelineInputError(f"{where}: expected {{schema: <schema file>, files: [...]}}, got {entry!r}")
        _reject_unknown_keys(where, entry, LOCAL_DATASET_KEYS)
        schema = entry.get("schema")
        if not isinstance(schema, str) or not schema.strip():
            raise PipelineInputError(f"{where}: 'schema:' (the path of its schema file) is required")
        schema_path = Path(schema) if Path(schema).is_absolute() else sources_file.parent / schema
        if not os.path.lexists(schema_path):
            raise PipelineInputError(f"{where}: schema file '{schema}' not found (looked for {schema_path})")
        schema_path = checked_source(schema_path, source_roots(sources_file.parent), f"{where}: schema file")
        if not entry.get("files"):
            raise PipelineInputError(f"{where}: 'files:' (its CSV or XLSX files) is required")
        files = _local_files(sources_file, name, entry["files"])
        result.append(LocalDataset(name, schema_path, schema, files))
    return result


def read_sources_config(sources_file: Path) -> SourcesConfig:
    """Every source of every dataset; local globs expanded, remote sources not yet resolved."""
    if not sources_file.exists():
        raise PipelineInputError(f"sources file not found: {sources_file} (set EDU_SOURCES)")
    document = load_yaml(sources_file, str(sources_file)) or {}
    datasets = document.get("datasets") if isinstance(document, dict) else None
    if not isinstance(datasets, dict) or not datasets:
        raise PipelineInputError(f"{sources_file}: expected a 'datasets:' mapping with at least one dataset")

    specs = dataset_specs()
    local = _local_datasets(sources_file, document.get("local"), specs)
    config = SourcesConfig(sources_file, tuple(datasets), local=local)
    for dataset, entry in datasets.items():
        if dataset not in specs:
            raise PipelineInputError(
                f"{sources_file}: unknown dataset '{dataset}'; known datasets: {', '.join(sorted(specs))}"
            )
        entry = entry or {}
        if not isinstance(entry, dict):
            raise PipelineInputError(
                f"{sources_file}: dataset '{dataset}': expected files:, ees_api: or url:, got {entry!r}"
            )
        _reject_unknown_keys(f"{sources_file}: dataset '{dataset}'", entry, DATASET_KEYS)
        if not any(entry.get(key) for key in DATASET_KEYS):
            raise PipelineInputError(
                f"{sources_file}: dataset '{dataset}' has no 'files:' list (nor 'ees_api:' or 'url:' source)"
            )
        if entry.get("files"):
            config.files.extend(_file_sources(sources_file, dataset, entry["files"]))
        if entry.get("ees_api"):
            config.remote.extend(_ees_api_sources(sources_file, dataset, entry["ees_api"]))
        if entry.get("url"):
            config.remote.extend(_url_sources(sources_file, dataset, entry["url"]))
    return config


def read_sources(sources_file: Path) -> list[SourceFile]:
    """The local files of ``files:`` entries (remote sources: see source_lock.resolve_sources)."""
    return read_sources_config(sources_file).files
