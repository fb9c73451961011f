"""EES API client against the loopback mock: paging, version rules, retries, downloads, and the
guard that keeps the whole suite off the internet."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.sources.downloads import (
    ChangedContentError,
    Http,
    RemoteSourceError,
    RetryPolicy,
    retry_after_seconds,
)
from orchestration.lib.sources.ees_api import (
    DataSetVersion,
    EesApiClient,
    EesApiError,
    VersionSpec,
    api_base_url,
    meta_csv_text,
    resolve_version,
)
from tests.conftest import RecordingSleep
from tests.ees_mock_server import KS2_CHANGES, KS2_DATA_SET_ID, KS2_META, ks2_csv

UNKNOWN_ID = "ffffffff-0000-4000-8000-000000000000"


def client_for(api, fast_http) -> EesApiClient:
    return EesApiClient(api.base_url, http=fast_http)


def publish_ks2(api, version: str = "1.0", **kwargs):
    return api.publish(
        KS2_DATA_SET_ID, version, ks2_csv("202425", "Final", "62"), meta=KS2_META, changes=KS2_CHANGES, **kwargs
    )


# --- offline guard ------------------------------------------------------------------------------


def test_suite_cannot_reach_the_internet(ees_api):
    with pytest.raises(OSError, match="blocked in the test suite"):
        socket.create_connection(("93.184.216.34", 443), timeout=1)
    with pytest.raises(OSError, match="blocked in the test suite"):
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(("8.8.8.8", 53))
    with pytest.raises(OSError, match="blocked in the test suite"):
        socket.getaddrinfo("api.education.gov.uk", 443)
    with pytest.raises(requests.ConnectionError, match="blocked in the test suite"):
        requests.get("https://api.education.gov.uk/statistics/v1/publications", timeout=2)
    # loopback still works: the mock answers
    assert requests.get(ees_api.root_url + "/files/none", timeout=5).status_code == 404


def test_base_url_defaults_to_dfe_live_api(monkeypatch):
    monkeypatch.delenv("EDU_EES_API_URL", raising=False)
    assert api_base_url() == "https://api.education.gov.uk/statistics/v1"
    monkeypatch.setenv("EDU_EES_API_URL", "http://127.0.0.1:9/statistics/v1/")
    assert api_base_url() == "http://127.0.0.1:9/statistics/v1"
    monkeypatch.setenv("EDU_EES_API_URL", "ftp://x")
    with pytest.raises(PipelineInputError, match="EDU_EES_API_URL must be an http\\(s\\) address, got 'ftp://x'"):
        api_base_url()


# --- version rules --------------------------------------------------------------------------------


def versions(*pairs: tuple[str, str]) -> list[DataSetVersion]:
    return [DataSetVersion(version=v, status=s) for v, s in pairs]


LISTED = versions(
    ("3.0", "Withdrawn"),
    ("2.2", "Deprecated"),
    ("2.1", "Published"),
    ("2.0", "Published"),
    ("1.10", "Published"),
    ("1.9", "Published"),
)


@pytest.mark.parametrize(
    "spec, expected, warns",
    [
        ("*", "2.1", False),  # 3.0 is withdrawn and 2.2 deprecated: latest *published*
        ("2.*", "2.1", False),
        ("1.*", "1.10", False),  # numeric, not text, order
        ("1.9", "1.9", False),
        ("2.2", "2.2", True),  # an exact pin may name a deprecated version: with a warning
        ("3.0", "3.0", True),  # ... or a withdrawn one
        ("2.1.0", "2.1", False),
    ],
)
def test_version_rules(spec, expected, warns):
    resolution = resolve_version(KS2_DATA_SET_ID, VersionSpec.parse(spec), LISTED)
    assert resolution.version.version == expected
    assert bool(resolution.warnings) == warns
    if spec == "3.0":
        assert "withdrawn" in resolution.warnings[0]
    if spec == "2.2":
        assert "deprecated" in resolution.warnings[0]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("4.*", "no published version matches '4.\\*'"),
        ("2.5", "version 2.5 does not exist \\(the API lists: 3.0 \\(Withdrawn\\), 2.2 \\(Deprecated\\), 2.1"),
    ],
)
def test_version_rules_fail_clearly(spec, message):
    with pytest.raises(EesApiError, match=message):
        resolve_version(KS2_DATA_SET_ID, VersionSpec.parse(spec), LISTED)


@pytest.mark.parametrize("text", ["2", "two", "2.*.1", "2.1.3.*", ""])
def test_bad_version_rules(text):
    with pytest.raises(EesApiError, match="is not valid"):
        VersionSpec.parse(text)


# --- the API, through the mock --------------------------------------------------------------------


def test_lists_every_page_of_versions(ees_api, fast_http):
    for minor in range(25):
        publish_ks2(ees_api, f"1.{minor}")
    found = client_for(ees_api, fast_http).list_versions(KS2_DATA_SET_ID)
    assert len(found) == 25 and found[0].version == "1.24"
    assert found[0].release_title == "Academic year 2024/25" and found[0].status == "Published"
    pages = [r for r in ees_api.requests if "/versions" in r]
    assert any("page=2" in r for r in pages) and all("pageSize=20" in r for r in pages)


def test_429_waits_as_retry_after_says(ees_api, fast_http):
    publish_ks2(ees_api)
    ees_api.fail("/versions", "429", retry_after="7")
    client = client_for(ees_api, fast_http)
    assert client.resolve(KS2_DATA_SET_ID, "*").version.version == "1.0"
    assert fast_http.sleep.waits == [7.0]


def test_503_is_retried_with_backoff_then_gives_a_clear_error(ees_api, fast_http):
    publish_ks2(ees_api)
    ees_api.fail("/versions", "503")
    client = client_for(ees_api, fast_http)
    assert client.list_versions(KS2_DATA_SET_ID)[0].version == "1.0"
    assert fast_http.sleep.waits == [0.5]
    ees_api.fail("/versions", "503", times=10)
    with pytest.raises(RemoteSourceError, match="answered HTTP 503 \\(Service Unavailable\\) on all 4 attempts"):
        client.list_versions(KS2_DATA_SET_ID)
    assert fast_http.sleep.waits[1:] == [0.5, 1.0, 2.0]  # exponential backoff


def test_dropped_connections_are_retried(ees_api, fast_http):
    publish_ks2(ees_api)
    ees_api.fail("/meta", "drop")
    meta = client_for(ees_api, fast_http).get_meta(KS2_DATA_SET_ID, "1.0")
    assert [i["column"] for i in meta["indicators"]] == ["pt_rwm_met_expected_standard", "t_rwm_eligible_pupils"]


def test_timeouts_are_retried(ees_api, fast_http):
    publish_ks2(ees_api)
    ees_api.fail("/versions", "stall", retry_after="1.5")
    http = Http(
        RetryPolicy(read_timeout=0.3, backoff_seconds=0.1), sleep=RecordingSleep(), log=fast_http.log, progress=False
    )
    assert EesApiClient(ees_api.base_url, http=http).list_versions(KS2_DATA_SET_ID)[0].version == "1.0"
    assert http.sleep.waits == [0.1] and any("ReadTimeout" in m for m in fast_http.log.messages)


def test_404_says_which_data_set(ees_api, fast_http):
    with pytest.raises(
        EesApiError, match=f"data set {UNKNOWN_ID} versions: the EES API has no such data set or version"
    ):
        client_for(ees_api, fast_http).list_versions(UNKNOWN_ID)
    with pytest.raises(EesApiError, match="not an EES data set id"):
        client_for(ees_api, fast_http).list_versions("../../etc")


def test_changes_are_read_and_a_first_version_has_none(ees_api, fast_http):
    publish_ks2(ees_api, "1.0")
    ees_api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Final", "63"), meta=KS2_META)  # no changes recorded
    client = client_for(ees_api, fast_http)
    changes = client.get_changes(KS2_DATA_SET_ID, "1.0")
    assert changes["versionNumber"] == "1.0" and "minorChanges" in changes
    assert client.get_changes(KS2_DATA_SET_ID, "1.1") is None


def test_meta_becomes_a_meta_csv():
    text = meta_csv_text(KS2_META)
    lines = text.splitlines()
    assert (
        lines[0]
        == "col_name,col_type,label,indicator_grouping,indicator_unit,indicator_dp,filter_hint,filter_grouping_column"
    )
    assert lines[1].startswith("breakdown,Filter,Breakdown")
    assert 'pt_rwm_met_expected_standard,Indicator,"Percentage meeting' in text and ",%,0," in text


# --- downloads --------------------------------------------------------------------------------


def test_download_is_gzip_decoded_checked_and_renamed(ees_api, fast_http, tmp_path):
    publish_ks2(ees_api)
    target = tmp_path / "cache" / "ks2.csv"
    result = client_for(ees_api, fast_http).download_csv(KS2_DATA_SET_ID, "1.0", target)
    assert result.downloaded and target.read_text() == ks2_csv("202425", "Final", "62")
    assert result.suggested_name == f"{KS2_DATA_SET_ID}_v1.0.csv"
    assert sorted(p.name for p in target.parent.iterdir()) == ["ks2.csv"]  # no partial files left
    ees_api.clear_requests()
    again = client_for(ees_api, fast_http).download_csv(KS2_DATA_SET_ID, "1.0", target, expected_sha256=result.sha256)
    assert not again.downloaded and ees_api.requests == []  # downloaded once


def test_truncated_body_is_resumed_with_range(ees_api, fast_http, tmp_path):
    big = ks2_csv("202425", "Final", "62", extra_rows=3000)
    ees_api.publish(KS2_DATA_SET_ID, "1.0", big, meta=KS2_META)
    ees_api.fail("/csv", "truncate")
    target = tmp_path / "ks2.csv"
    result = client_for(ees_api, fast_http).download_csv(KS2_DATA_SET_ID, "1.0", target)
    assert target.read_text() == big and result.size_bytes == len(big.encode())
    assert len([r for r in ees_api.requests if "/csv" in r]) == 2
    assert len(ees_api.ranges) == 1 and ees_api.ranges[0] != "bytes=0-"  # resumed, not restarted
    assert any("transfer broke off" in m for m in fast_http.log.messages)


def test_truncation_that_never_recovers_lands_nothing(ees_api, fast_http, tmp_path):
    publish_ks2(ees_api)
    ees_api.fail("/csv", "truncate", times=10)
    target = tmp_path / "ks2.csv"
    with pytest.raises(RemoteSourceError, match="kept breaking off.*nothing was landed"):
        client_for(ees_api, fast_http).download_csv(KS2_DATA_SET_ID, "1.0", target)
    assert not target.exists()
    assert not target.with_name("ks2.csv.partial").exists()


def test_changed_bytes_for_the_same_version_are_refused(ees_api, fast_http, tmp_path):
    publish_ks2(ees_api)
    client = client_for(ees_api, fast_http)
    first = client.download_csv(KS2_DATA_SET_ID, "1.0", tmp_path / "a.csv")
    ees_api.publish(KS2_DATA_SET_ID, "1.0", ks2_csv("202425", "Final", "99"), meta=KS2_META)  # replaced in place
    target = tmp_path / "b.csv"
    with pytest.raises(ChangedContentError, match="not the ones recorded in the lock.*make update-sources"):
        client.download_csv(
            KS2_DATA_SET_ID, "1.0", target, expected_sha256=first.sha256, expected_size=first.size_bytes
        )
    assert list(tmp_path.glob("b.csv*")) == []


def test_a_url_that_is_not_found_says_so(ees_api, fast_http, tmp_path):
    with pytest.raises(RemoteSourceError, match="not found at .*HTTP 404"):
        fast_http.download(ees_api.root_url + "/files/missing.zip", tmp_path / "x")


def test_retry_after_as_http_date():
    now = datetime(2025, 6, 12, 9, 30, tzinfo=UTC)
    assert retry_after_seconds("Thu, 12 Jun 2025 09:30:45 GMT", now) == 45
    assert retry_after_seconds("120") == 120 and retry_after_seconds("soon") is None


def test_long_retry_after_is_capped(ees_api, tmp_path):
    publish_ks2(ees_api)
    ees_api.fail("/versions", "429", retry_after="86400")
    sleep = RecordingSleep()
    http = Http(
        RetryPolicy(max_retry_after_seconds=30),
        sleep=sleep,
        progress=False,
        log=type("L", (), {"info": lambda s, m: None, "warning": lambda s, m: None})(),
    )
    EesApiClient(ees_api.base_url, http=http).list_versions(KS2_DATA_SET_ID)
    assert sleep.waits == [30]


def test_the_client_never_needs_more_than_documented_page_size(ees_api, fast_http):
    publish_ks2(ees_api)
    response = requests.get(f"{ees_api.base_url}/data-sets/{KS2_DATA_SET_ID}/versions?pageSize=50", timeout=5)
    assert response.status_code == 400  # the mock validates as the API does
    client_for(ees_api, fast_http).list_versions(KS2_DATA_SET_ID)


def test_download_path_is_created(tmp_path: Path, ees_api, fast_http):
    publish_ks2(ees_api)
    target = tmp_path / "deep" / "er" / "x.csv"
    assert client_for(ees_api, fast_http).download_csv(KS2_DATA_SET_ID, "1.0", target).path == target
