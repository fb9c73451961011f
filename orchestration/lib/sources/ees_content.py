"""What DfE says about each publication a dataset is read from: its latest release, when that
was published, the next release date DfE has announced, and the methodology. LAIT shows these
beside every indicator; here they reach ``dim_measure``, the exports and the briefings.

Read from the content API behind the Explore Education Statistics website (``EDU_EES_CONTENT_URL``,
default ``https://content.explore-education-statistics.service.gov.uk/api``), by `make
update-sources` only, and recorded in ``sources.lock`` (``publications:``), so `make run` stays
offline and repeatable. Endpoints (the EES content API's ``PublicationsController`` and
``ReleaseVersionsController``):

- ``GET /publications/{slug}``: ``title``, ``latestRelease {slug, title}`` and
  ``nextReleaseDate {year, month?, day?}`` (null when DfE has announced none);
- ``GET /publications/{slug}/releases/{releaseSlug}/version-summary``: ``published`` (the
  release's publication date) and ``lastUpdated``;
- ``GET /publications/{slug}/methodologies``: ``methodologies [{slug, title}]`` and an
  ``externalMethodology {title, url}``.

Every answer is treated as untrusted: sizes are capped, dates must be dates, slugs must be slugs
and links must be https.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from urllib.parse import quote, urlsplit

from orchestration.lib.sources.downloads import Http, HttpStatusError, RemoteSourceError

WEBSITE = "https://explore-education-statistics.service.gov.uk"
RESPONSE_MAX_BYTES = 1024 * 1024  # a publication's summary is a few KiB
TEXT_MAX_CHARS = 300
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# the fields of a lock entry, in the order raw.publication_releases has them
FIELDS = (
    "publication_slug",
    "publication_title",
    "latest_release_title",
    "latest_release_slug",
    "latest_release_published",
    "next_release",
    "methodology_title",
    "methodology_url",
    "checked_on",
)


class EesContentError(RemoteSourceError):
    """The content API did not give a usable answer; the message names the publication."""


def valid_slug(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 200 and bool(_SLUG.match(value))


def next_release_text(value: object) -> str | None:
    """DfE's partial date ``{year, month?, day?}`` as ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("year"), int):
        raise ValueError(f"nextReleaseDate is not a partial date: {str(value)[:100]}")
    year, month, day = value["year"], value.get("month"), value.get("day")
    if month is None:
        return f"{year:04d}"
    if day is None:
        date(year, month, 1)  # validates the month
        return f"{year:04d}-{month:02d}"
    return date(year, month, day).isoformat()


def _date(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date: {str(value)[:100]}")
    return datetime.fromisoformat(value.replace("Z", "+00:00")).date().isoformat()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    text = " ".join(value.split())
    return text if len(text) <= TEXT_MAX_CHARS else text[: TEXT_MAX_CHARS - 1] + "…"


def _https(value: object, what: str) -> str:
    url = _text(value, what)
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.netloc:
        raise ValueError(f"{what} is not an https address: {url[:100]}")
    return url


class EesContentClient:
    def __init__(self, base_url: str, *, http: Http):
        self.base_url = base_url.rstrip("/")
        self.http = http

    def _get(self, what: str, *parts: str) -> dict:
        url = "/".join([self.base_url, "publications", *(quote(p, safe="") for p in parts)])
        try:
            response = self.http.request(url, headers={"Accept": "application/json"}, stream=True, what=what)
        except HttpStatusError as exc:
            raise EesContentError(f"{what}: {exc}") from exc
        with response:
            if response.status_code != 200:
                raise EesContentError(f"{what}: {url} answered HTTP {response.status_code}")
            body = response.raw.read(RESPONSE_MAX_BYTES + 1, decode_content=True)
        if len(body) > RESPONSE_MAX_BYTES:
            raise EesContentError(f"{what}: {url} sent more than {RESPONSE_MAX_BYTES:,} bytes")
        try:
            document = json.loads(body)
        except ValueError as exc:
            raise EesContentError(f"{what}: {url} did not return JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise EesContentError(f"{what}: unexpected answer from {url}: {str(document)[:200]}")
        return document

    def publication(self, slug: str, today: date) -> dict:
        """The lock entry of publication ``slug`` (:data:`FIELDS`)."""
        if not valid_slug(slug):
            raise EesContentError(f"'{slug}' is not an EES publication slug (e.g. key-stage-2-attainment)")
        what = f"EES publication {slug}"
        summary = self._get(what, slug)
        try:
            latest = summary.get("latestRelease") or {}
            release_slug = latest.get("slug")
            if not valid_slug(release_slug):
                raise ValueError(f"latestRelease.slug {str(release_slug)[:100]!r} is not a slug")
            version = self._get(f"{what} release {release_slug}", slug, "releases", release_slug, "version-summary")
            methods = self._get(f"{what} methodologies", slug, "methodologies")
            methodology_title = methodology_url = None
            listed = [m for m in methods.get("methodologies") or [] if isinstance(m, dict)]
            if listed:
                if not valid_slug(listed[0].get("slug")):
                    raise ValueError(f"methodology slug {str(listed[0].get('slug'))[:100]!r} is not a slug")
                methodology_title = _text(listed[0].get("title"), "methodology title")
                methodology_url = f"{WEBSITE}/methodology/{listed[0]['slug']}"
            elif isinstance(methods.get("externalMethodology"), dict):
                external = methods["externalMethodology"]
                methodology_title = _text(external.get("title"), "external methodology title")
                methodology_url = _https(external.get("url"), "external methodology url")
            entry = {
                "publication_slug": slug,
                "publication_title": _text(summary.get("title"), "title"),
                "latest_release_title": _text(latest.get("title"), "latestRelease.title"),
                "latest_release_slug": release_slug,
                "latest_release_published": _date(version.get("published"), "published"),
                "next_release": next_release_text(summary.get("nextReleaseDate")),
                "methodology_title": methodology_title,
                "methodology_url": methodology_url,
                "checked_on": today.isoformat(),
            }
        except (ValueError, TypeError, AttributeError) as exc:
            raise EesContentError(f"{what}: {exc}") from exc
        return entry
