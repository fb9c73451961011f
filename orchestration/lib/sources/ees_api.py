"""Client for the Explore Education Statistics (EES) public API, v1.

Endpoints used (paths relative to ``EDU_EES_API_URL``, default DfE's live
``https://api.education.gov.uk/statistics/v1``):

- ``GET /data-sets/{id}/versions?page=&pageSize=`` (paged, ``pageSize`` at most 20): every public
  version (Published, Deprecated, Withdrawn), newest first, each with ``version``, ``type``,
  ``status``, ``published``, ``withdrawn``, ``notes``, ``release {title, slug}`` ...
- ``GET /data-sets/{id}/meta?dataSetVersion=``: filters and indicators (``column``, ``label``,
  indicator ``unit`` and ``decimalPlaces``), from which a ``.meta.csv`` is written so the raw
  loader can tell filters from indicators as it does for files downloaded by hand.
- ``GET /data-sets/{id}/csv?dataSetVersion=``: the whole version as CSV (served gzip-encoded).
- ``GET /data-sets/{id}/versions/{v}/changes``: what the version changed, kept with the release.

Version rules: versions are ``major.minor[.patch]``. A source's ``version`` is an exact version
(``"2.1"``), a series (``"2.*"``: the latest *published* version with major 2; ``"2.1.*"``: the
latest published patch of 2.1) or ``"*"`` (the latest published version). Wildcards never select
a deprecated or withdrawn version; an exact pin may name one, and a warning says so.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from orchestration.lib.settings import load_settings
from orchestration.lib.sources.downloads import (
    DownloadResult,
    Http,
    HttpStatusError,
    Log,
    RemoteSourceError,
    RetryPolicy,
)

PAGE_SIZE = 20  # the API's maximum page size for the versions list
PUBLISHED, DEPRECATED, WITHDRAWN = "Published", "Deprecated", "Withdrawn"
META_CSV_COLUMNS = (
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class EesApiError(RemoteSourceError):
    """The EES API could not give what a source asks for; the message says what to change."""


class WithdrawnVersionError(EesApiError):
    pass


def api_base_url() -> str:
    """EDU_EES_API_URL (validated by the settings), else DfE's live API."""
    return load_settings().ees_api_url


def valid_data_set_id(value: object) -> bool:
    return isinstance(value, str) and bool(_UUID.match(value))


# --- versions ---------------------------------------------------------------------------------


def version_key(text: str) -> tuple[int, int, int]:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?", str(text).strip())
    if not match:
        raise EesApiError(f"'{text}' is not a data set version (expected major.minor[.patch], e.g. 2.1)")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


@dataclass(frozen=True)
class VersionSpec:
    """What a source asks for: ``*``, ``2.*``, ``2.1.*`` or an exact ``2.1`` / ``2.1.3``."""

    text: str
    prefix: tuple[int, ...]  # the fixed parts
    wildcard: bool

    @classmethod
    def parse(cls, text: object) -> VersionSpec:
        value = str(text).strip() if text is not None else ""
        if value in ("*", "latest"):
            return cls("*", (), True)
        match = re.fullmatch(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(\.\*)?", value)
        if not match or (match.group(2) is None and not match.group(4)) or (match.group(3) and match.group(4)):
            raise EesApiError(
                f"version '{value}' is not valid: use an exact version (e.g. \"2.1\"), "
                'a series ("2.*") or "*" for the latest'
            )
        parts = tuple(int(p) for p in match.groups()[:3] if p is not None)
        return cls(value, parts, bool(match.group(4)))

    def matches(self, version: str) -> bool:
        key = version_key(version)
        if self.wildcard:
            return key[: len(self.prefix)] == self.prefix
        return key == (self.prefix + (0, 0, 0))[:3]


@dataclass(frozen=True)
class DataSetVersion:
    """One entry of ``GET /data-sets/{id}/versions`` (DataSetVersionViewModel)."""

    version: str
    status: str
    type: str = ""
    published: str | None = None
    withdrawn: str | None = None
    notes: str = ""
    release_title: str = ""
    release_slug: str = ""
    raw: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def key(self) -> tuple[int, int, int]:
        return version_key(self.version)

    @classmethod
    def from_json(cls, item: dict) -> DataSetVersion:
        release = item.get("release") or {}
        return cls(
            version=str(item["version"]),
            status=str(item.get("status") or ""),
            type=str(item.get("type") or ""),
            published=item.get("published"),
            withdrawn=item.get("withdrawn"),
            notes=str(item.get("notes") or ""),
            release_title=str(release.get("title") or ""),
            release_slug=str(release.get("slug") or ""),
            raw=item,
        )


@dataclass(frozen=True)
class Resolution:
    version: DataSetVersion
    warnings: tuple[str, ...]


def resolve_version(data_set_id: str, spec: VersionSpec, versions: list[DataSetVersion]) -> Resolution:
    """Pick the version ``spec`` names from the versions the API lists."""
    listed = ", ".join(f"{v.version} ({v.status})" for v in sorted(versions, key=lambda v: v.key, reverse=True))
    if spec.wildcard:
        candidates = [v for v in versions if v.status == PUBLISHED and spec.matches(v.version)]
        if not candidates:
            raise EesApiError(
                f"data set {data_set_id}: no published version matches '{spec.text}' "
                f"(the API lists: {listed or 'no versions'})"
            )
        return Resolution(max(candidates, key=lambda v: v.key), ())
    exact = [v for v in versions if spec.matches(v.version)]
    if not exact:
        raise EesApiError(
            f"data set {data_set_id}: version {spec.text} does not exist (the API lists: {listed or 'no versions'})"
        )
    chosen = exact[0]
    warnings: list[str] = []
    if chosen.status == DEPRECATED:
        warnings.append(
            f"data set {data_set_id}: pinned version {chosen.version} is deprecated and will stop being "
            "available; move to a published version and run `make update-sources`"
        )
    elif chosen.status == WITHDRAWN:
        warnings.append(
            f"data set {data_set_id}: pinned version {chosen.version} was withdrawn"
            + (f" on {chosen.withdrawn}" if chosen.withdrawn else "")
            + "; its figures should no longer be used"
        )
    elif chosen.status != PUBLISHED:
        warnings.append(f"data set {data_set_id}: pinned version {chosen.version} has status '{chosen.status}'")
    return Resolution(chosen, tuple(warnings))


# --- metadata ---------------------------------------------------------------------------------


def meta_csv_text(meta: dict) -> str:
    """An EES ``.meta.csv`` equivalent of ``GET /meta``: one row per filter and indicator column."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(META_CSV_COLUMNS)
    for item in meta.get("filters") or []:
        writer.writerow([item["column"], "Filter", item.get("label", ""), "", "", "", item.get("hint", ""), ""])
    for item in meta.get("indicators") or []:
        dp = item.get("decimalPlaces")
        writer.writerow(
            [
                item["column"],
                "Indicator",
                item.get("label", ""),
                "",
                item.get("unit") or "",
                "" if dp is None else str(dp),
                "",
                "",
            ]
        )
    return out.getvalue()


# --- client -----------------------------------------------------------------------------------


class EesApiClient:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        http: Http | None = None,
        policy: RetryPolicy | None = None,
        log: Log | None = None,
    ):
        self.base_url = (base_url or api_base_url()).rstrip("/")
        self.http = http or Http(policy, log=log)

    @property
    def log(self) -> Log:
        return self.http.log

    def _url(self, data_set_id: str, *parts: str) -> str:
        if not valid_data_set_id(data_set_id):
            raise EesApiError(
                f"'{data_set_id}' is not an EES data set id (a UUID such as 'd7329101-f275-d277-bbfe-d8cfaa709833')"
            )
        return "/".join([self.base_url, "data-sets", data_set_id, *(quote(p, safe="") for p in parts)])

    def _get_json(self, url: str, what: str, params: dict | None = None) -> dict:
        try:
            body = self.http.get_json(url, params=params, what=what)
        except HttpStatusError as exc:
            if exc.status == 404:
                raise EesApiError(
                    f"{what}: the EES API has no such data set or version ({url}, HTTP 404); "
                    "check the data_set_id and version in sources.yml"
                ) from exc
            raise EesApiError(str(exc)) from exc
        if not isinstance(body, dict):
            raise EesApiError(f"{what}: unexpected response from {url}: {str(body)[:200]}")
        return body

    def list_versions(self, data_set_id: str) -> list[DataSetVersion]:
        """Every public version of the data set, following the pages."""
        url = self._url(data_set_id, "versions")
        versions: list[DataSetVersion] = []
        page, total_pages = 1, 1
        while page <= total_pages:
            body = self._get_json(
                url, f"data set {data_set_id} versions", {"page": str(page), "pageSize": str(PAGE_SIZE)}
            )
            try:
                versions += [DataSetVersion.from_json(item) for item in body["results"]]
                total_pages = int(body["paging"]["totalPages"])
            except (KeyError, TypeError, ValueError) as exc:
                raise EesApiError(f"data set {data_set_id}: unexpected versions response from {url}: {exc}") from exc
            page += 1
        return versions

    def resolve(self, data_set_id: str, spec: VersionSpec | str) -> Resolution:
        spec = spec if isinstance(spec, VersionSpec) else VersionSpec.parse(spec)
        return resolve_version(data_set_id, spec, self.list_versions(data_set_id))

    def get_meta(self, data_set_id: str, version: str) -> dict:
        return self._get_json(
            self._url(data_set_id, "meta"), f"data set {data_set_id} v{version} metadata", {"dataSetVersion": version}
        )

    def get_changes(self, data_set_id: str, version: str) -> dict | None:
        """The version's changes; None for a first version, which has nothing to compare with."""
        try:
            return self._get_json(
                self._url(data_set_id, "versions", version, "changes"), f"data set {data_set_id} v{version} changes"
            )
        except EesApiError as exc:
            if isinstance(exc.__cause__, HttpStatusError) and exc.__cause__.status == 404:
                return None
            raise

    def csv_url(self, data_set_id: str, version: str) -> str:
        return f"{self._url(data_set_id, 'csv')}?dataSetVersion={quote(version, safe='')}"

    def download_csv(
        self,
        data_set_id: str,
        version: str,
        target: Path,
        *,
        expected_sha256: str | None = None,
        expected_size: int | None = None,
    ) -> DownloadResult:
        what = f"data set {data_set_id} v{version}"
        try:
            return self.http.download(
                self.csv_url(data_set_id, version),
                target,
                expected_sha256=expected_sha256,
                expected_size=expected_size,
                what=what,
            )
        except HttpStatusError as exc:
            if exc.status == 404:
                raise EesApiError(
                    f"{what}: the EES API has no CSV for this data set version (HTTP 404); "
                    "check the data_set_id and version in sources.yml"
                ) from exc
            raise
