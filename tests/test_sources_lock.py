"""Remote sources end to end against the loopback mock: resolution, sources.lock written and
honoured, nothing downloaded twice, failures that land nothing, safe ZIP extraction, lineage."""

from __future__ import annotations

import io
import json
import stat
import zipfile
from pathlib import Path

import duckdb
import pytest
import yaml

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import read_manifest
from orchestration.lib.ingest.load import ingest, parse_update_tag
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.downloads import ChangedContentError, RemoteSourceError
from orchestration.lib.sources.ees_api import WithdrawnVersionError
from orchestration.lib.sources.lock import lock_path_for, read_lock, resolve_sources
from tests.ees_mock_server import KS2_CHANGES, KS2_DATA_SET_ID, KS2_HEADER, KS2_META, ks2_csv

KS4_CSV = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,new_la_code,la_name,version,breakdown_topic,breakdown,avg_att8\n"
    "202425,Academic year,National,E92000001,England,,,,,,Final,Total,Total,45.9\n"
    "202425,Academic year,Local authority,E92000001,England,E12000002,North West,342,E08000013,St. Helens,Final,Total,Total,44.1\n"
)
KS4_META = (
    "col_name,col_type,label,indicator_grouping,indicator_unit,indicator_dp,filter_hint,filter_grouping_column\n"
    "breakdown_topic,Filter,Breakdown topic,,,,,\nbreakdown,Filter,Breakdown,,,,,\navg_att8,Indicator,Average Attainment 8,,,1,,\n"
)


def release_zip(extra: dict[str, bytes] | None = None, links: dict[str, str] | None = None) -> bytes:
    """An EES release download: data/*.csv with .meta.csv beside them, and the data guidance."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("data/ks4_la_2025.csv", KS4_CSV)
        zf.writestr("data/ks4_la_2025.meta.csv", KS4_META)
        zf.writestr("data/ks4_school_2025.csv", KS4_CSV)
        zf.writestr("data-guidance/data-guidance.txt", "KS4 2024/25 data guidance\n")
        zf.writestr("supporting-files/methodology.csv", "a,b\n1,2\n")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


@pytest.fixture
def project(tmp_path, isolated_env, monkeypatch, ees_api, fast_http):
    """A sources.yml in tmp_path/src mixing a local file, an ees_api: source and a url: ZIP."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "ks2_2022_provisional.csv").write_text(
        KS2_HEADER + "\n202122,Academic year,National,E92000001,England,,,,,,Provisional,Total,Total,59,600000\n"
    )
    ees_api.publish(
        KS2_DATA_SET_ID, "1.0", ks2_csv("202324", "Final", "61"), meta=KS2_META, published="2024-09-10T09:30:00+00:00"
    )
    ees_api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Revised", "62"), meta=KS2_META, changes=KS2_CHANGES)
    ees_api.publish(KS2_DATA_SET_ID, "2.0", ks2_csv("202425", "Final", "63"), meta=KS2_META, changes=KS2_CHANGES)
    zip_url = ees_api.serve_file("ks4-release.zip", release_zip(), "application/zip")
    sources = src / "sources.yml"
    sources.write_text(
        "datasets:\n"
        "  ks2:\n"
        "    files: [{path: ks2_2022_provisional.csv, release: provisional}]\n"
        f"    ees_api: {{data_set_id: {KS2_DATA_SET_ID}, version: '1.*'}}\n"
        "  ks4:\n"
        f"    url: {{url: '{zip_url}', members: ['data/ks4_la_*.csv']}}\n"
    )
    monkeypatch.setenv("EDU_SOURCES", str(sources))

    class Project:
        api = ees_api
        http = fast_http
        db = tmp_path / "build.duckdb"
        lock = src / "sources.lock"

        def run(self, **kwargs):
            return ingest(load_settings(), self.db, http=fast_http, **kwargs)

        def query(self, sql):
            with duckdb.connect(str(self.db), read_only=True) as con:
                return con.execute(sql).fetchall()

    return Project()


def test_resolves_downloads_lands_and_locks_with_lineage(project):
    results = {r.dataset: r for r in project.run()}
    assert results["ks2"].row_count == 4  # 1 local + 3 from the API
    lock = read_lock(project.lock)
    (ks2,) = lock["ks2"]
    assert ks2["ees_api"] == {"data_set_id": KS2_DATA_SET_ID, "version": "1.*"}
    assert (ks2["data_set_id"], ks2["version"], ks2["status"]) == (KS2_DATA_SET_ID, "1.1", "Published")
    assert ks2["download_url"].endswith(f"/data-sets/{KS2_DATA_SET_ID}/csv?dataSetVersion=1.1")
    assert ks2["release"] == {"title": "Academic year 2024/25", "slug": "2024-25"}
    (ks4,) = lock["ks4"]
    assert ks4["format"] == "zip" and ks4["files"] == ["data/ks4_la_2025.csv"]
    assert ks4["data_guidance"] == ["data-guidance/data-guidance.txt"]

    # per-row lineage: data set id and version for API rows, NULL for plain files
    rows = project.query(
        "SELECT _data_set_id, _data_set_version, _release, time_period, _source_file FROM raw.ks2 ORDER BY _landed_seq, _row_number"
    )
    assert rows[0] == (None, None, "provisional", "202122", "ks2_2022_provisional.csv")
    assert {r[:2] for r in rows[1:]} == {(KS2_DATA_SET_ID, "1.1")}
    assert rows[1][4] == f"ees_api:{KS2_DATA_SET_ID}@1.1"
    files = project.query(
        "SELECT dataset, data_set_id, data_set_version, file_sha256, origin_url FROM raw.landed_files ORDER BY landed_seq"
    )
    api_file = next(f for f in files if f[1])
    assert api_file[2] == "1.1" and api_file[3] == ks2["sha256"] and api_file[4].endswith("dataSetVersion=1.1")
    ks4_rows = project.query("SELECT _source_file, _data_set_id FROM raw.ks4")
    assert ks4_rows == [(f"{ks4['url']}#data/ks4_la_2025.csv", None)] * 2
    # the generated .meta.csv tells filters from indicators, and is recorded as generated
    roles = dict(
        project.query(
            "SELECT column_name, role FROM raw.file_columns WHERE dataset='ks2' AND file_sha256 = '"
            + ks2["sha256"]
            + "'"
        )
    )
    assert roles["breakdown"] == "filter" and roles["t_rwm_eligible_pupils"] == "indicator"
    assert roles["_data_set_id"] == "lineage"
    manifest = read_manifest(load_settings().landing_dir)
    assert [m.meta_generated for m in manifest if m.data_set_id] == [True]
    # the release and the API's record of changes, for the revisions mart
    (version_row,) = project.query(
        "SELECT data_set_id, data_set_version, requested_version, status, release_slug, changes_json FROM raw.data_set_versions"
    )
    assert version_row[:5] == (KS2_DATA_SET_ID, "1.1", "1.*", "Published", "2024-25")
    assert "timePeriods" in json.loads(version_row[5])["minorChanges"]


def test_second_run_requests_and_downloads_nothing(project):
    project.run()
    lock_text = project.lock.read_text()
    landed = len(read_manifest(load_settings().landing_dir))
    project.api.clear_requests()
    results = project.run()
    assert project.api.requests == []  # the lock and the download cache answer everything
    assert project.lock.read_text() == lock_text
    assert len(read_manifest(load_settings().landing_dir)) == landed
    assert sum(r.downloaded for x in results for r in x.remote) == 0


def test_lock_is_honoured_until_update_sources(project):
    project.run()
    project.api.publish(KS2_DATA_SET_ID, "1.2", ks2_csv("202425", "Final", "64"), meta=KS2_META, changes=KS2_CHANGES)
    project.run()
    assert read_lock(project.lock)["ks2"][0]["version"] == "1.1"  # a plain run keeps the locked version
    ks4_before = read_lock(project.lock)["ks4"]
    project.api.clear_requests()
    project.run(update_sources={"ks2"})  # what the sensor's run (or `make update-sources ks2`) does
    assert read_lock(project.lock)["ks2"][0]["version"] == "1.2"
    assert read_lock(project.lock)["ks4"] == ks4_before
    assert not any("/files/" in r for r in project.api.requests)  # ks4 was not resolved again
    assert {
        r[0] for r in project.query("SELECT DISTINCT _data_set_version FROM raw.ks2 WHERE _data_set_id IS NOT NULL")
    } == {"1.2"}


def test_changed_sources_entry_stops_the_run_until_update_sources(project):
    project.run()
    lock_text = project.lock.read_text()
    sources = Path(load_settings().sources_file)
    sources.write_text(sources.read_text().replace("version: '1.*'", "version: '2.*'"))
    with pytest.raises(
        PipelineInputError,
        match=r"(?s)changed since sources.lock was written:\n  ks2: .*'2\.\*'.*'1\.\*'.*make update-sources",
    ):
        project.run()
    assert project.lock.read_text() == lock_text
    resolved = resolve_sources(sources, load_settings().landing_dir, update=True, http=project.http)
    assert resolved.lock_written and read_lock(project.lock)["ks2"][0]["version"] == "2.0"


def test_a_dataset_new_to_the_lock_is_resolved_and_added(project):
    project.run()
    # a phonics data set (a KS2 one would be refused: none of its columns is a phonics indicator)
    phonics_id = "5c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5"
    project.api.publish(
        phonics_id,
        "1.0",
        ks2_csv("202324", "Final", "80").replace("pt_rwm_met_expected_standard", "pt_phonics_y1_met_expected_standard"),
    )
    sources = Path(load_settings().sources_file)
    sources.write_text(sources.read_text() + f"  phonics:\n    ees_api: {{data_set_id: {phonics_id}, version: '*'}}\n")
    project.run()
    lock = read_lock(project.lock)
    assert lock["phonics"][0]["version"] == "1.0" and lock["ks2"][0]["version"] == "1.1"


def test_exact_pin_of_a_deprecated_version_warns(project):
    project.api.set_status(KS2_DATA_SET_ID, "1.0", "Deprecated")
    sources = Path(load_settings().sources_file)
    sources.write_text(sources.read_text().replace("version: '1.*'", "version: '1.0'"))
    results = {r.dataset: r for r in project.run()}
    (remote,) = results["ks2"].remote
    assert remote.lock_entry["status"] == "Deprecated"
    assert any("pinned version 1.0 is deprecated" in w for w in remote.warnings)
    assert any("deprecated" in m for m in project.http.log.messages)


def test_withdrawn_locked_version_fails_clearly_unless_already_downloaded(project):
    sources = Path(load_settings().sources_file)
    sources.write_text(sources.read_text().replace("version: '1.*'", "version: '1.0'"))
    project.run()
    project.api.set_status(KS2_DATA_SET_ID, "1.0", "Withdrawn", withdrawn="2025-07-01T10:00:00+00:00")
    project.run()  # the locked bytes are in the cache: the build is repeated as it was
    landing = load_settings().landing_dir
    landed = len(read_manifest(landing))
    for path in sorted((landing / "downloads" / "ees").rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    with pytest.raises(
        WithdrawnVersionError,
        match="version 1.0, locked in sources.lock, was withdrawn on 2025-07-01.*make update-sources",
    ):
        project.run()
    assert len(read_manifest(landing)) == landed


def test_new_bytes_for_the_same_locked_version_are_refused(project):
    project.run()
    landing = load_settings().landing_dir
    landed = len(read_manifest(landing))
    cached = next((landing / "downloads" / "ees").rglob("*_v1.1.csv"))
    cached.unlink()
    project.api.publish(KS2_DATA_SET_ID, "1.1", ks2_csv("202425", "Revised", "70"), meta=KS2_META)  # replaced in place
    with pytest.raises(ChangedContentError, match="sha256.*make update-sources"):
        project.run()
    assert len(read_manifest(landing)) == landed and not cached.exists()


def test_429_503_and_truncation_during_a_run_are_recovered(project):
    project.api.fail("/versions", "429", retry_after="3")
    project.api.fail("/csv", "503")
    project.api.fail("/csv", "truncate")
    project.api.fail("/files/", "truncate")
    results = {r.dataset: r for r in project.run()}
    assert results["ks2"].row_count == 4 and results["ks4"].row_count == 2
    assert project.http.sleep.waits[0] == 3.0 and len(project.http.sleep.waits) == 4


def test_a_failed_download_lands_nothing_and_leaves_the_lock_alone(project):
    project.api.fail("/csv", "truncate", times=20)
    with pytest.raises(RemoteSourceError, match="kept breaking off"):
        project.run()
    landing = load_settings().landing_dir
    assert read_manifest(landing) == []
    assert not project.lock.exists()
    assert not list((landing / "downloads").rglob("*_v1.1.csv"))
    assert not project.db.exists()


def test_files_only_sources_need_no_lock(tmp_path, isolated_env, monkeypatch):
    (tmp_path / "ks2.csv").write_text(ks2_csv("202425", "Final", "62"))
    sources = tmp_path / "sources.yml"
    sources.write_text("datasets:\n  ks2: {files: [ks2.csv]}\n")
    resolved = resolve_sources(sources, tmp_path / "landing")
    assert len(resolved.files) == 1 and not lock_path_for(sources).exists()
    # the bundled sample's committed lock is empty but valid, and a run leaves it as it is
    lock = lock_path_for(sources)
    lock.write_text("lock_version: 1\ndatasets: {}\n")
    resolve_sources(sources, tmp_path / "landing")
    assert read_lock(lock) == {}


def test_bundled_sample_lock_is_valid():
    from tests.conftest import REPO_ROOT

    lock = lock_path_for(REPO_ROOT / "sources.yml")
    assert lock.name == "sources.lock"
    assert read_lock(lock) == {}  # the sample uses only files


def test_lock_file_is_readable_yaml(project):
    project.run()
    document = yaml.safe_load(project.lock.read_text())
    assert document["lock_version"] == 1 and set(document["datasets"]) == {"ks2", "ks4"}
    assert project.lock.read_text().startswith("# What the remote sources")


# --- ZIP and url: sources -------------------------------------------------------------------


def zip_sources(tmp_path, monkeypatch, url: str, members: list[str] | None = None) -> Path:
    sources = tmp_path / "sources.yml"
    spec = {"url": url, **({"members": members} if members else {})}
    sources.write_text(yaml.safe_dump({"datasets": {"ks4": {"url": spec}}}))
    return sources


@pytest.mark.parametrize(
    "extra, links, message",
    [
        ({"data/../../evil.csv": b"x\n"}, None, "would be written outside its folder"),
        ({"/etc/evil.csv": b"x\n"}, None, "would be written outside its folder"),
        (None, {"data/link.csv": "/etc/passwd"}, "is a link; refused"),
    ],
)
def test_unsafe_zip_members_are_refused(tmp_path, ees_api, fast_http, monkeypatch, extra, links, message):
    url = ees_api.serve_file("bad.zip", release_zip(extra, links), "application/zip")
    with pytest.raises(RemoteSourceError, match=message):
        resolve_sources(zip_sources(tmp_path, monkeypatch, url), tmp_path / "landing", http=fast_http)
    assert not list((tmp_path / "landing").rglob("evil.csv"))
    assert not list((tmp_path / "landing").rglob(".complete"))


def test_zip_size_limits(tmp_path, ees_api, fast_http, monkeypatch):
    monkeypatch.setenv("EDU_ZIP_MAX_BYTES", "100")
    url = ees_api.serve_file("big.zip", release_zip(), "application/zip")
    with pytest.raises(RemoteSourceError, match="larger than the 100-byte limit"):
        resolve_sources(zip_sources(tmp_path, monkeypatch, url), tmp_path / "landing", http=fast_http)


def test_zip_without_matching_csv_lists_what_it_has(tmp_path, ees_api, fast_http, monkeypatch):
    url = ees_api.serve_file("r.zip", release_zip(), "application/zip")
    with pytest.raises(
        RemoteSourceError,
        match="no CSV in the ZIP matches data/ks2_\\*.csv; it has: data/ks4_la_2025.csv, data/ks4_school_2025.csv, supporting-files/methodology.csv",
    ):
        resolve_sources(
            zip_sources(tmp_path, monkeypatch, url, ["data/ks2_*.csv"]), tmp_path / "landing", http=fast_http
        )


def test_zip_default_takes_every_data_csv_with_its_meta(tmp_path, ees_api, fast_http, monkeypatch):
    url = ees_api.serve_file("r.zip", release_zip(), "application/zip")
    resolved = resolve_sources(zip_sources(tmp_path, monkeypatch, url), tmp_path / "landing", http=fast_http)
    names = [(f.path.name, f.meta_path.name if f.meta_path else None) for f in resolved.files]
    assert names == [("ks4_la_2025.csv", "ks4_la_2025.meta.csv"), ("ks4_school_2025.csv", None)]


def test_plain_csv_url_and_web_pages(tmp_path, ees_api, fast_http, monkeypatch):
    url = ees_api.serve_file("ks4.csv", KS4_CSV.encode(), "text/csv")
    resolved = resolve_sources(zip_sources(tmp_path, monkeypatch, url), tmp_path / "landing", http=fast_http)
    (file,) = resolved.files
    assert file.path.read_text() == KS4_CSV and file.listed_as == url and file.origin_url == url
    page = ees_api.serve_file("page", b"<!DOCTYPE html><html><body>Find statistics</body></html>", "text/html")
    (tmp_path / "p").mkdir()
    with pytest.raises(RemoteSourceError, match="returned a web page"):
        resolve_sources(zip_sources(tmp_path / "p", monkeypatch, page), tmp_path / "landing2", http=fast_http)


def test_update_tag_values():
    assert parse_update_tag(None) is False and parse_update_tag("") is False
    assert parse_update_tag("all") is True and parse_update_tag("true") is True
    assert parse_update_tag("ks2, ks4") == {"ks2", "ks4"}


def test_zip_unpacked_size_limit(tmp_path):
    import orchestration.lib.sources.lock as source_lock

    archive = tmp_path / "r.zip"
    archive.write_bytes(release_zip())
    with pytest.raises(RemoteSourceError, match="would unpack to .* bytes \\(limit 100, EDU_ZIP_MAX_BYTES\\)"):
        source_lock.extract_zip(archive, tmp_path / "out", (), "r.zip", max_bytes=100)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))


def test_update_sources_command(project, capsys):
    from orchestration.cli import update_sources

    project.run()
    project.api.publish(KS2_DATA_SET_ID, "1.3", ks2_csv("202425", "Final", "65"), meta=KS2_META)
    assert update_sources(["ks2"]) == 0
    out = capsys.readouterr().out
    assert f"ks2: {KS2_DATA_SET_ID} '1.*' -> v1.3 (Published" in out and "[new]" in out
    assert f"wrote {project.lock}" in out
    assert read_lock(project.lock)["ks2"][0]["version"] == "1.3"
    assert update_sources() == 0  # nothing new: the lock stays as it is
    assert "unchanged:" in capsys.readouterr().out


# --- what DfE's website says of each publication ----------------------------------------------------

KS2_SLUG, KS4_SLUG = "key-stage-2-attainment", "key-stage-4-performance"


def _content_requests(api) -> list[str]:
    return [r for r in api.requests if r.startswith("/content-api/")]


def test_release_dates_and_methodology_are_locked_and_reach_the_raw_table(project):
    project.api.publication(
        KS2_SLUG,
        "Key stage 2 attainment",
        next_release={"year": 2026, "month": 12},
        methodologies=[{"methodologyId": "m1", "slug": "key-stage-2-attainment", "title": "KS2 methodology"}],
    )
    project.api.publication(
        KS4_SLUG,
        "Key stage 4 performance",
        release=("2024-25-revised", "Academic year 2024/25"),
        published="2026-02-05T09:30:00Z",
        next_release=None,  # DfE has announced no date
        external_methodology={"title": "Secondary accountability guidance", "url": "https://www.gov.uk/ks4-guide"},
    )
    project.run()  # both datasets' remote sources are resolved for the first time: their publications too
    publications = yaml.safe_load(project.lock.read_text())["publications"]
    assert publications[KS2_SLUG] == {
        "publication_slug": KS2_SLUG,
        "publication_title": "Key stage 2 attainment",
        "latest_release_title": "Academic year 2024/25",
        "latest_release_slug": "2024-25",
        "latest_release_published": "2025-12-11",
        "next_release": "2026-12",
        "methodology_title": "KS2 methodology",
        "methodology_url": "https://explore-education-statistics.service.gov.uk/methodology/key-stage-2-attainment",
        "checked_on": publications[KS2_SLUG]["checked_on"],
    }
    assert publications[KS4_SLUG]["next_release"] is None
    assert publications[KS4_SLUG]["latest_release_published"] == "2026-02-05"
    assert publications[KS4_SLUG]["methodology_url"] == "https://www.gov.uk/ks4-guide"
    assert project.query(
        "SELECT publication_slug, next_release, latest_release_published FROM raw.publication_releases ORDER BY 1"
    ) == [(KS2_SLUG, "2026-12", "2025-12-11"), (KS4_SLUG, None, "2026-02-05")]

    # a run that honours the lock asks nothing, even when DfE has moved the date
    project.api.publication(KS2_SLUG, "Key stage 2 attainment", next_release={"year": 2026, "month": 12, "day": 10})
    project.api.clear_requests()
    project.run()
    assert _content_requests(project.api) == []
    assert project.query(
        f"SELECT next_release FROM raw.publication_releases WHERE publication_slug = '{KS2_SLUG}'"
    ) == [("2026-12",)]
    # update-sources asks again
    project.run(update_sources=True)
    assert yaml.safe_load(project.lock.read_text())["publications"][KS2_SLUG]["next_release"] == "2026-12-10"
    assert project.query(
        f"SELECT next_release FROM raw.publication_releases WHERE publication_slug = '{KS2_SLUG}'"
    ) == [("2026-12-10",)]


def test_an_unusable_answer_warns_and_keeps_what_was_recorded(project):
    project.api.publication(KS2_SLUG, "Key stage 2 attainment", next_release={"year": 2026, "month": 12})
    # KS4's publication is unknown to the website (404)
    project.run()
    assert set(yaml.safe_load(project.lock.read_text())["publications"]) == {KS2_SLUG}
    assert any(KS4_SLUG in m and "no release dates recorded" in m for m in project.http.log.messages)

    # hostile or malformed answers: a month 13, a methodology link that is not https
    project.api.publication(KS2_SLUG, "Key stage 2 attainment", next_release={"year": 2026, "month": 13})
    project.api.publication(
        KS4_SLUG, "Key stage 4 performance", external_methodology={"title": "Guide", "url": "http://example.org/x"}
    )
    project.http.log.messages.clear()
    project.run(update_sources=True)
    publications = yaml.safe_load(project.lock.read_text())["publications"]
    assert publications[KS2_SLUG]["next_release"] == "2026-12"  # the previous record stands
    assert KS4_SLUG not in publications
    warnings = [m for m in project.http.log.messages if m.startswith("WARNING")]
    assert any(KS2_SLUG in m and "month must be in 1..12" in m and "kept the release dates" in m for m in warnings)
    assert any(KS4_SLUG in m and "not a plain https address" in m for m in warnings)


def test_a_malformed_publications_section_names_the_lock_and_update_sources_mends_it(project):
    project.api.publication(KS2_SLUG, "Key stage 2 attainment", next_release={"year": 2026, "month": 12})
    project.run()
    document = yaml.safe_load(project.lock.read_text())
    document["publications"][KS2_SLUG]["latest_release_published"] = "2025-13-01"  # edited by hand
    project.lock.write_text(yaml.safe_dump(document))
    with pytest.raises(
        PipelineInputError,
        match=f"sources.lock: 'publications' is malformed at '{KS2_SLUG}': latest_release_published '2025-13-01'",
    ):
        project.run()
    project.run(update_sources=True)  # asks again instead of stopping
    assert (
        yaml.safe_load(project.lock.read_text())["publications"][KS2_SLUG]["latest_release_published"] == "2025-12-11"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"next_release": {"year": 1000000}}, "nextReleaseDate is not a partial date"),
        ({"next_release": {"year": True, "month": True}}, "nextReleaseDate is not a partial date"),
        ({"next_release": {"year": 2026, "day": 3}}, "nextReleaseDate is not a partial date"),
        ({"title": "T\x1b[2J" + "x" * 400}, "title is longer than 300 characters"),
        (
            {"external_methodology": {"title": "Guide", "url": 'https://user:pw@evil.example/x"><script>'}},
            "external methodology url is not a plain https address",
        ),
    ],
)
def test_hostile_answers_are_refused_with_a_warning(project, answer, expected):
    title = answer.pop("title", "Key stage 2 attainment")
    project.api.publication(KS2_SLUG, title, **answer)
    project.run()
    assert KS2_SLUG not in (yaml.safe_load(project.lock.read_text()).get("publications") or {})
    assert any(KS2_SLUG in m and expected in m for m in project.http.log.messages), project.http.log.messages


def test_titles_lose_control_characters_and_real_links_keep_their_fragment(project):
    project.api.publication(
        KS2_SLUG,
        "Key stage 2\x07 attainment\u202e",
        external_methodology={"title": "Guide", "url": "https://www.gov.uk/guidance/ks2-guide#section-2"},
    )
    project.run()
    recorded = yaml.safe_load(project.lock.read_text())["publications"][KS2_SLUG]
    assert recorded["publication_title"] == "Key stage 2? attainment?"
    assert recorded["methodology_url"] == "https://www.gov.uk/guidance/ks2-guide#section-2"


def test_a_website_that_does_not_answer_is_asked_once(project):
    project.api.publication(KS2_SLUG, "Key stage 2 attainment")
    project.api.publication(KS4_SLUG, "Key stage 4 performance")
    project.run()
    project.api.fail("/content-api/", "drop", times=100)
    project.api.clear_requests()
    project.run(update_sources=True)
    # the first publication is tried (with the client's retries), the second not at all; the data
    # update still went through
    asked = _content_requests(project.api)
    assert asked and set(asked) == {f"/content-api/publications/{KS2_SLUG}"}  # its retries, then no more
    warnings = [m for m in project.http.log.messages if m.startswith("WARNING")]
    assert any(KS2_SLUG in m and "kept the release dates recorded before" in m for m in warnings)
    assert any(f"EES website not answering: {KS4_SLUG} not asked" in m for m in warnings)
    assert set(yaml.safe_load(project.lock.read_text())["publications"]) == {KS2_SLUG, KS4_SLUG}


def test_update_sources_says_what_it_recorded_of_each_publication(project, capsys):
    from orchestration import cli

    project.api.publication(KS2_SLUG, "Key stage 2 attainment", next_release={"year": 2026, "month": 12, "day": 10})
    assert cli.update_sources(["ks2"]) == 0
    out = capsys.readouterr()
    assert (
        f"  publication {KS2_SLUG}: latest release Academic year 2024/25 (published 2025-12-11), "
        "next release 2026-12-10 [asked " in out.out
    )
    # ks4's url: source was resolved for the first time, so its publication was asked about too:
    # unknown to the website, it is a warning on stderr and no record
    assert f"WARNING: EES publication {KS4_SLUG}: " in out.err and "no release dates recorded" in out.err
    assert f"publication {KS4_SLUG}:" not in out.out
