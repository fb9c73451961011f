"""What DfE says about each publication a dataset is read from: its latest release, when that
was published, the next release date DfE has announced, and the methodology. LAIT shows these
beside every indicator; here they reach ``dim_measure``, the exports and the briefings.

Read from the content API behind the Explore Education Statistics website (``EDU_EES_CONTENT_URL``,
default ``https://content.explore-education-statistics.service.gov.uk/api``) whenever a dataset's
sources are resolved afresh (`make update-sources`, the new-release sensor's runs, a remote source
new to the lock) and recorded in ``sources.lock`` (``publications:``); a run that honours the lock
reads them from there, offline. Endpoints (the EES content API's ``PublicationsController`` and
``ReleaseVersionsController``):

- ``GET /publications/{slug}``: ``title``, ``latestRelease {slug, title}`` and
  ``nextReleaseDate {year, month?, day?}`` (null when DfE has announced none);
- ``GET /publications/{slug}/releases/{releaseSlug}/version-summary``: ``published`` (the
  release's publication date) and ``lastUpdated``;
- ``GET /publications/{slug}/methodologies``: ``methodologies [{slug, title}]`` and an
  ``externalMethodology {title, url}``.

Every answer is treated as untrusted: sizes are capped, dates must be dates, slugs must be slugs,
links plain https addresses, texts short and free of control characters; the same rules
(:func:`validate_entry`) judge the lock's record when it is read back.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests
import urllib3

from orchestration.lib.printable import plain_https, printable
from orchestration.lib.sources.downloads import Http, RemoteSourceError, RetryPolicy

WEBSITE = "https://explore-education-statistics.service.gov.uk"
RESPONSE_MAX_BYTES = 1024 * 1024  # a publication's summary is a few KiB
TEXT_MAX_CHARS = 300
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NEXT_RELEASE = re.compile(r"^[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?$")
# EES shows release dates in UK time: a release published at UK midnight in summer is that day
UK = ZoneInfo("Europe/London")
# Release dates are documentation: a slow or absent website is asked briefly, not for hours
RETRY_POLICY = RetryPolicy(max_retries=1, backoff_seconds=1.0, connect_timeout=10.0, read_timeout=30.0)
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
    parts = [value.get(k) for k in ("year", "month", "day")] if isinstance(value, dict) else []
    given = [p for p in parts if p is not None]
    if (
        not parts
        or type(parts[0]) is not int
        or not all(type(p) is int for p in given)
        or parts[: len(given)] != given  # a day without a month
        or not 2000 <= parts[0] <= 2100
    ):
        raise ValueError(f"nextReleaseDate is not a partial date: {printable(str(value))[:100]}")
    year, month, day = parts
    date(year, month or 1, day or 1)  # a real month and day
    return "-".join([f"{year:04d}", *(f"{p:02d}" for p in given[1:])])


def _date(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{what} is not a date: {printable(str(value))[:100]}")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (moment.astimezone(UK) if moment.tzinfo else moment).date().isoformat()


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} is missing")
    text = printable(" ".join(value.split()))
    if len(text) > TEXT_MAX_CHARS:
        raise ValueError(f"{what} is longer than {TEXT_MAX_CHARS} characters")
    return text


def _https(value: object, what: str) -> str:
    if not plain_https(value):
        raise ValueError(f"{what} is not a plain https address: {printable(str(value))[:100]}")
    return value


def validate_entry(entry: object) -> str | None:
    """What is wrong with a lock record (:data:`FIELDS`), or None: the writer's rules, applied again
    to what is read back (a hand-edited lock must not reach dbt or the briefings unchecked)."""
    if not isinstance(entry, dict) or set(entry) != set(FIELDS):
        return f"expected the fields {', '.join(FIELDS)}"
    bad = [name for name, value in entry.items() if value is not None and not isinstance(value, str)]
    if bad:
        return f"{bad[0]} is not a text"
    checks = {
        "publication_slug": valid_slug,
        "latest_release_slug": valid_slug,
        "latest_release_published": _iso_date,
        "checked_on": _iso_date,
        "next_release": lambda v: v is None or bool(_NEXT_RELEASE.match(v)) and _valid_partial(v),
        "methodology_url": lambda v: v is None or plain_https(v),
        "publication_title": _short_text,
        "latest_release_title": _short_text,
        "methodology_title": lambda v: v is None or _short_text(v),
    }
    for name, check in checks.items():
        if not check(entry[name]):
            return f"{name} {printable(str(entry[name]))[:100]!r} is not valid"
    return None


def _iso_date(value: object) -> bool:
    try:
        return isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    except ValueError:
        return False


def _valid_partial(value: str) -> bool:
    numbers = [int(p) for p in value.split("-")]
    try:
        next_release_text(dict(zip(("year", "month", "day"), numbers, strict=False)))
    except ValueError:
        return False
    return True


def _short_text(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= TEXT_MAX_CHARS and printable(value) == value


class EesContentClient:
    def __init__(self, base_url: str, *, http: Http):
        self.base_url = base_url.rstrip("/")
        self.http = http

    def _get(self, what: str, *parts: str) -> dict:
        url = "/".join([self.base_url, "publications", *(quote(p, safe="") for p in parts)])
        try:
            response = self.http.request(url, headers={"Accept": "application/json"}, stream=True, what=what)
            with response:
                if response.status_code != 200:
                    raise EesContentError(f"{what}: {url} answered HTTP {response.status_code}")
                # decoded bytes, capped: urllib3 (>= 2.6) decompresses no more than it is asked for
                body = response.raw.read(RESPONSE_MAX_BYTES + 1, decode_content=True)
            if len(body) > RESPONSE_MAX_BYTES:
                raise EesContentError(f"{what}: {url} sent more than {RESPONSE_MAX_BYTES:,} bytes")
            document = json.loads(body)
        except RemoteSourceError:  # Http's own: no answer after its retries, already worded
            raise
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise EesContentError(f"{what}: {url}: {type(exc).__name__}: {exc}") from exc
        except (ValueError, RecursionError) as exc:  # not JSON, or nested past Python's limit
            raise EesContentError(f"{what}: {url} did not return usable JSON: {type(exc).__name__}") from exc
        if not isinstance(document, dict):
            raise EesContentError(f"{what}: unexpected answer from {url}: {printable(str(document))[:200]}")
        return document

    def publication(self, slug: str, today: date) -> dict:
        """The lock entry of publication ``slug`` (:data:`FIELDS`)."""
        if not valid_slug(slug):
            raise EesContentError(f"{printable(slug)!r} is not an EES publication slug (e.g. key-stage-2-attainment)")
        what = f"EES publication {slug}"
        summary = self._get(what, slug)
        try:
            latest = summary.get("latestRelease") or {}
            release_slug = latest.get("slug")
            if not valid_slug(release_slug):
                raise ValueError(f"latestRelease.slug {printable(str(release_slug))[:100]!r} is not a slug")
            version = self._get(f"{what} release {release_slug}", slug, "releases", release_slug, "version-summary")
            methods = self._get(f"{what} methodologies", slug, "methodologies")
            methodology_title = methodology_url = None
            listed = [m for m in methods.get("methodologies") or [] if isinstance(m, dict)]
            if listed:
                if not valid_slug(listed[0].get("slug")):
                    raise ValueError(f"methodology slug {printable(str(listed[0].get('slug')))[:100]!r} is not a slug")
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
            raise EesContentError(f"{what}: {printable(str(exc))}") from exc
        problem = validate_entry(entry)
        if problem:
            raise EesContentError(f"{what}: {problem}")
        return entry
