"""A mock of DfE's Explore Education Statistics public API (v1) on 127.0.0.1, for the tests.

Response shapes follow the API's documented view models (DataSetVersionPaginatedListViewModel,
DataSetVersionViewModel, DataSetMetaViewModel, DataSetVersionChangesViewModel, ProblemDetails):
camelCase JSON, ``paging {page, pageSize, totalResults, totalPages}`` beside ``results``, versions
newest first, ``pageSize`` at most 20 (default 10), the CSV served gzip-encoded with a
``{dataSetId}_v{version}.csv`` file name. It also serves plain files (``/files/<name>``) for
``url:`` sources, honours ``Range``, and injects faults on request: 429 with ``Retry-After``, 503,
a body cut short, a dropped connection, a stall past the client's timeout.

Under ``/content-api`` it serves the EES website's content API for the publications set up with
``publication()``, in the shapes of its PublicationDto, ReleaseVersionSummaryDto and
PublicationMethodologiesDto (camelCase; ``nextReleaseDate`` a partial date or null).
"""

from __future__ import annotations

import gzip
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_PREFIX = "/statistics/v1"
CONTENT_PREFIX = "/content-api"


def version_key(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split("."))


@dataclass
class MockVersion:
    version: str
    csv: bytes
    status: str = "Published"
    published: str = "2025-06-12T09:30:00+00:00"
    withdrawn: str | None = None
    notes: str = ""
    release_title: str = "Academic year 2024/25"
    release_slug: str = "2024-25"
    meta: dict = field(default_factory=dict)
    changes: dict | None = None

    def summary(self) -> dict:
        header = self.csv.decode("utf-8").splitlines()[0].split(",")
        body = {
            "version": self.version,
            "type": "Major" if self.version.split(".")[1] == "0" else "Minor",
            "status": self.status,
            "published": self.published,
            "notes": self.notes,
            "totalResults": max(0, len(self.csv.decode("utf-8").strip().splitlines()) - 1),
            "file": {"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"},
            "release": {"title": self.release_title, "slug": self.release_slug},
            "timePeriods": {"start": "2021/22", "end": "2024/25"},
            "geographicLevels": ["National", "Regional", "Local authority"],
            "filters": [f["label"] for f in self.meta.get("filters", [])],
            "indicators": [i["label"] for i in self.meta.get("indicators", []) if i["column"] in header],
        }
        if self.withdrawn:
            body["withdrawn"] = self.withdrawn
        return body


@dataclass
class Fault:
    path_contains: str
    kind: str  # "429", "503", "truncate", "drop", "stall"
    retry_after: str | None = None


def problem(status: int, title: str) -> dict:
    return {
        "type": f"https://tools.ietf.org/html/rfc9110#section-15.{5 if status < 500 else 6}.{status % 100 + 1}",
        "title": title,
        "status": status,
        "traceId": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
    }


class MockEes:
    """``with MockEes() as api:`` starts the server; ``api.base_url`` is what EDU_EES_API_URL takes."""

    def __init__(self):
        self.data_sets: dict[str, dict[str, MockVersion]] = {}
        self.files: dict[str, tuple[bytes, str]] = {}
        # content API: publication slug -> (PublicationDto, ReleaseVersionSummaryDto, PublicationMethodologiesDto)
        self.publications: dict[str, tuple[dict, dict, dict]] = {}
        self.faults: list[Fault] = []
        self.requests: list[str] = []
        self.ranges: list[str] = []  # Range headers received
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- set-up ----

    def publish(self, data_set_id: str, version: str, csv_text: str, **kwargs) -> MockVersion:
        with self._lock:
            entry = MockVersion(version, csv_text.encode("utf-8"), **kwargs)
            self.data_sets.setdefault(data_set_id, {})[version] = entry
            return entry

    def publication(
        self,
        slug: str,
        title: str,
        *,
        release: tuple[str, str] = ("2024-25", "Academic year 2024/25"),
        published: str = "2025-12-11T09:30:00+00:00",
        next_release: dict | None = None,
        methodologies: list[dict] | None = None,
        external_methodology: dict | None = None,
    ) -> None:
        summary = {
            "id": "8d4f4cc1-0b9c-4a6c-9a3c-5e0d7b1c2a11",
            "slug": slug,
            "summary": f"{title}: summary",
            "title": title,
            "contact": {"id": "c1", "contactName": "Team", "contactTelNo": None, "teamEmail": "t@x", "teamName": "T"},
            "latestRelease": {"id": "r1", "slug": release[0], "title": release[1]},
            "nextReleaseDate": next_release,
            "supersededByPublication": None,
            "theme": {"id": "t1", "summary": "", "title": "Pupils and schools"},
        }
        version = {"slug": release[0], "title": release[1], "published": published, "lastUpdated": published}
        methods = {"methodologies": methodologies or [], "externalMethodology": external_methodology}
        with self._lock:
            self.publications[slug] = (summary, version, methods)

    def set_status(self, data_set_id: str, version: str, status: str, withdrawn: str | None = None) -> None:
        with self._lock:
            entry = self.data_sets[data_set_id][version]
            entry.status = status
            entry.withdrawn = withdrawn

    def serve_file(self, name: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        self.files[name] = (data, content_type)
        return f"{self.root_url}/files/{name}"

    def fail(self, path_contains: str, kind: str, times: int = 1, retry_after: str | None = None) -> None:
        with self._lock:
            self.faults += [Fault(path_contains, kind, retry_after) for _ in range(times)]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    @property
    def root_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return self.root_url + API_PREFIX

    @property
    def content_url(self) -> str:
        """What EDU_EES_CONTENT_URL takes."""
        return self.root_url + CONTENT_PREFIX

    def __enter__(self) -> MockEes:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    # ---- behaviour ----

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self.faults):
                if fault.path_contains in path:
                    return self.faults.pop(index)
        return None

    def versions_page(self, data_set_id: str, page: int, page_size: int) -> dict:
        versions = sorted(self.data_sets[data_set_id].values(), key=lambda v: version_key(v.version), reverse=True)
        chunk = versions[(page - 1) * page_size : page * page_size]
        total = len(versions)
        return {
            "paging": {
                "page": page,
                "pageSize": page_size,
                "totalResults": total,
                "totalPages": max(1, (total - 1) // page_size + 1),
            },
            "results": [v.summary() for v in chunk],
        }

    def find(self, data_set_id: str, version: str | None) -> MockVersion | None:
        versions = self.data_sets.get(data_set_id, {})
        if version in (None, "*"):
            live = [v for v in versions.values() if v.status == "Published"]
            return max(live, key=lambda v: version_key(v.version)) if live else None
        return versions.get(version)


def _handler(api: MockEes):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, body: object, extra: dict[str, str] | None = None) -> None:
            self._send(
                status,
                json.dumps(body).encode("utf-8"),
                {"Content-Type": "application/json; charset=utf-8", **(extra or {})},
            )

        def _bytes(self, body: bytes, headers: dict[str, str]) -> None:
            """200, or 206 for a Range request, honouring the fault queue."""
            match = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
            start = int(match.group(1)) if match else 0
            if start >= len(body) and start:
                self._send(416, b"", {"Content-Range": f"bytes */{len(body)}"})
                return
            part = body[start:]
            headers = {**headers, "Accept-Ranges": "bytes"}
            status = 200
            if start:
                status = 206
                headers["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
            if self.body_fault is not None and self.body_fault.kind == "truncate":
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(part)))
                self.end_headers()
                self.wfile.write(part[: max(1, len(part) // 2)])
                self.wfile.flush()
                self.close_connection = True
                return
            self._send(status, part, headers)

        def _content(self, rest: str) -> None:
            parts = rest.split("/")
            found = api.publications.get(parts[0])
            if found is None:
                self._json(404, problem(404, "Not Found"))
            elif len(parts) == 1:
                self._json(200, found[0])
            elif parts[1:] == ["methodologies"]:
                self._json(200, found[2])
            elif (
                len(parts) == 4
                and parts[1] == "releases"
                and parts[3] == "version-summary"
                and parts[2] == found[1]["slug"]
            ):
                self._json(200, found[1])
            else:
                self._json(404, problem(404, "Not Found"))

        def do_GET(self) -> None:  # noqa: N802
            with api._lock:
                api.requests.append(self.path)
                if self.headers.get("Range"):
                    api.ranges.append(self.headers["Range"])
            self.body_fault = None
            fault = api.take_fault(self.path)
            if fault is not None:
                if fault.kind == "429":
                    self._json(429, problem(429, "Too Many Requests"), {"Retry-After": fault.retry_after or "1"})
                    return
                if fault.kind == "503":
                    self._json(503, problem(503, "Service Unavailable"))
                    return
                if fault.kind == "drop":
                    self.close_connection = True
                    return
                if fault.kind == "stall":  # answer only after the client's read timeout
                    time.sleep(float(fault.retry_after or "2"))
                    self.close_connection = True
                    return
                self.body_fault = fault  # a body fault: applied when the body is sent
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            path = url.path
            if path.startswith("/files/"):
                name = path[len("/files/") :]
                if name not in api.files:
                    self._json(404, problem(404, "Not Found"))
                    return
                data, content_type = api.files[name]
                self._bytes(data, {"Content-Type": content_type})
                return
            if path.startswith(CONTENT_PREFIX + "/publications/"):
                self._content(path[len(CONTENT_PREFIX + "/publications/") :])
                return
            match = re.fullmatch(API_PREFIX + r"/data-sets/([0-9a-f-]{36})(/.*)?", path)
            if not match or match.group(1) not in api.data_sets:
                self._json(404, problem(404, "Not Found"))
                return
            data_set_id, rest = match.group(1), match.group(2) or ""
            if rest == "/versions":
                page, size = int(query.get("page", "1")), int(query.get("pageSize", "10"))
                if size > 20 or size < 1 or page < 1:
                    self._json(
                        400,
                        {
                            **problem(400, "There are validation errors with the request."),
                            "errors": [
                                {"message": "Must be between 1 and 20.", "path": "pageSize", "code": "InclusiveBetween"}
                            ],
                        },
                    )
                    return
                self._json(200, api.versions_page(data_set_id, page, size))
                return
            changes = re.fullmatch(r"/versions/([^/]+)/changes", rest)
            if changes:
                found = api.find(data_set_id, changes.group(1))
                if found is None or found.changes is None:
                    self._json(404, problem(404, "Not Found"))
                    return
                self._json(200, {"versionNumber": found.version, "notes": found.notes, **found.changes})
                return
            if rest in ("/meta", "/csv"):
                found = api.find(data_set_id, query.get("dataSetVersion"))
                if found is None or (rest == "/csv" and found.status == "Withdrawn"):
                    self._json(404, problem(404, "Not Found"))
                    return
                if rest == "/meta":
                    self._json(200, found.meta)
                    return
                self._bytes(
                    gzip.compress(found.csv, mtime=0),
                    {
                        "Content-Type": "text/csv",
                        "Content-Encoding": "gzip",
                        "Content-Disposition": f"attachment; filename={data_set_id}_v{found.version}.csv",
                    },
                )
                return
            self._json(404, problem(404, "Not Found"))

    return Handler


# ---- recorded-style fixtures: a tiny KS2 data set ----------------------------------------------

KS2_DATA_SET_ID = "a7f3c1d2-5b6e-4f80-9a1b-2c3d4e5f6a7b"
KS4_DATA_SET_ID = "0e9b8c7d-6a5f-4e3d-8c2b-1a0f9e8d7c6b"

KS2_HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,version,breakdown_topic,breakdown,pt_rwm_met_expected_standard,t_rwm_eligible_pupils"
)


def ks2_csv(period: str, version: str, value: str, extra_rows: int = 0) -> str:
    rows = [
        f"{period},Academic year,National,E92000001,England,,,,,,{version},Total,Total,60,650000",
        f"{period},Academic year,Local authority,E92000001,England,E12000002,North West,342,E08000013,St. Helens,{version},Total,Total,{value},2000",
        f"{period},Academic year,Local authority,E92000001,England,E12000002,North West,340,E08000011,Knowsley,{version},Total,Total,c,c",
    ]
    rows += [rows[1].replace("342", f"9{i:02d}") for i in range(extra_rows)]
    return "\n".join([KS2_HEADER, *rows]) + "\n"


KS2_META = {
    "filters": [
        {
            "id": "oW1dk",
            "column": "breakdown",
            "label": "Breakdown",
            "hint": "",
            "options": [{"id": "x8Fgh", "label": "Total"}],
        },
        {
            "id": "Pr4ml",
            "column": "breakdown_topic",
            "label": "Breakdown topic",
            "hint": "",
            "options": [{"id": "q2WeR", "label": "Total"}],
        },
    ],
    "indicators": [
        {
            "id": "nQ4s1",
            "column": "pt_rwm_met_expected_standard",
            "label": "Percentage meeting the expected standard in reading, writing and maths",
            "unit": "%",
            "decimalPlaces": 0,
        },
        {
            "id": "bT7vc",
            "column": "t_rwm_eligible_pupils",
            "label": "Number of eligible pupils",
            "unit": "",
            "decimalPlaces": 0,
        },
    ],
    "geographicLevels": [{"code": "NAT", "label": "National"}, {"code": "LA", "label": "Local authority"}],
    "locations": [
        {"level": "NAT", "label": "National", "options": [{"id": "dP0Zw", "label": "England", "code": "E92000001"}]},
        {
            "level": "LA",
            "label": "Local authority",
            "options": [
                {"id": "7zXxF", "label": "St. Helens", "code": "E08000013", "oldCode": "342"},
                {"id": "8aYyG", "label": "Knowsley", "code": "E08000011", "oldCode": "340"},
            ],
        },
    ],
    "timePeriods": [
        {"code": "AY", "period": "2023/2024", "label": "2023/24"},
        {"code": "AY", "period": "2024/2025", "label": "2024/25"},
    ],
}

KS2_CHANGES = {
    "majorChanges": {},
    "minorChanges": {
        "timePeriods": [{"currentState": {"code": "AY", "period": "2024/2025", "label": "2024/25"}}],
    },
}
