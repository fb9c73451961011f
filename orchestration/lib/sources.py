"""Read ``sources.yml``: which raw files feed each dataset.

Minimal form (DESIGN.md section 9), paths relative to the YAML file, globs allowed::

    datasets:
      ks2: {files: ["ks2/*.csv", {path: "ks2/2022_prov.csv", release: provisional}]}
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from orchestration.lib.errors import NotYetSupportedError, PipelineInputError
from orchestration.lib.settings import DBT_PROJECT_DIR

RELEASES = ("provisional", "revised", "final")


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    kind: str  # "ees" (tidy EES file) or "other"
    required_columns: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]

    def has_column(self, columns: set[str], canonical: str) -> bool:
        return canonical in columns or any(a in columns for a in self.aliases.get(canonical, ()))


@dataclass(frozen=True)
class SourceFile:
    dataset: str
    path: Path
    listed_as: str  # the entry as written in sources.yml, for messages and lineage
    release: str | None

    @property
    def meta_path(self) -> Path | None:
        name = self.path.name
        stem = name[: -len(".csv")] if name.lower().endswith(".csv") else self.path.stem
        candidate = self.path.with_name(f"{stem}.meta.csv")
        return candidate if candidate.exists() else None


@lru_cache(maxsize=1)
def dataset_specs() -> dict[str, DatasetSpec]:
    """Dataset definitions live in dbt_project.yml vars, shared with the staging models."""
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    variables = project.get("vars", {})
    specs: dict[str, DatasetSpec] = {}
    for kind, block in (("ees", "ees_datasets"), ("other", "other_datasets")):
        for name, spec in (variables.get(block) or {}).items():
            spec = spec or {}
            specs[name] = DatasetSpec(
                name=name,
                kind=kind,
                required_columns=tuple(spec.get("required_columns", ())),
                aliases={k: tuple(v) for k, v in (spec.get("aliases") or {}).items()},
            )
    return specs


def _expand(entry: str, base: Path, dataset: str, sources_file: Path) -> list[Path]:
    pattern = entry if Path(entry).is_absolute() else str(base / entry)
    matches = sorted(Path(p) for p in glob.glob(pattern, recursive=True))
    matches = [p for p in matches if p.is_file() and not p.name.endswith(".meta.csv")]
    if not matches:
        raise PipelineInputError(
            f"{sources_file}: dataset '{dataset}': no file matches '{entry}' (looked in {base})"
        )
    return matches


def read_sources(sources_file: Path) -> list[SourceFile]:
    if not sources_file.exists():
        raise PipelineInputError(f"sources file not found: {sources_file} (set EDU_SOURCES)")
    try:
        document = yaml.safe_load(sources_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PipelineInputError(f"{sources_file}: not valid YAML: {exc}") from exc
    datasets = document.get("datasets")
    if not isinstance(datasets, dict) or not datasets:
        raise PipelineInputError(f"{sources_file}: expected a 'datasets:' mapping with at least one dataset")

    specs = dataset_specs()
    base = sources_file.parent
    result: list[SourceFile] = []
    for dataset, entry in datasets.items():
        if dataset not in specs:
            raise PipelineInputError(
                f"{sources_file}: unknown dataset '{dataset}'; known datasets: {', '.join(sorted(specs))}"
            )
        entry = entry or {}
        for remote in ("ees_api", "url"):
            if remote in entry:
                raise NotYetSupportedError(
                    f"{sources_file}: dataset '{dataset}' uses '{remote}:', which is not yet supported; "
                    "download the CSV and list it under 'files:' instead"
                )
        files = entry.get("files")
        if not files:
            raise PipelineInputError(f"{sources_file}: dataset '{dataset}' has no 'files:' list")
        for item in files:
            release = None
            if isinstance(item, dict):
                pattern, release = item.get("path"), item.get("release")
                if release is not None and str(release).lower() not in RELEASES:
                    raise PipelineInputError(
                        f"{sources_file}: dataset '{dataset}', file '{pattern}': release must be one of "
                        f"{', '.join(RELEASES)}, got '{release}'"
                    )
                release = str(release).lower() if release else None
            else:
                pattern = item
            if not isinstance(pattern, str) or not pattern:
                raise PipelineInputError(f"{sources_file}: dataset '{dataset}': bad file entry {item!r}")
            for path in _expand(pattern, base, dataset, sources_file):
                listed = str(path.relative_to(base)) if path.is_relative_to(base) else str(path)
                result.append(SourceFile(dataset, path.resolve(), listed, release))
    return result
