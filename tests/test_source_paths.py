"""Sources stay where they belong: a files: entry reads only inside the folder of sources.yml (or
folders named in EDU_SOURCE_DIRS), links may not lead out, only regular files are read, globs
never loop, and a refused file is neither landed nor quoted in the message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.ingest.landing import read_manifest
from orchestration.lib.ingest.load import ingest
from orchestration.lib.settings import load_settings
from orchestration.lib.sources.config import read_sources

HEADER = (
    "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,"
    "old_la_code,la_name,new_la_code,pt_rwm_met_expected_standard"
)
ROW = "202122,Academic year,National,E92000001,England,,,,,,59"


@pytest.fixture
def folder(tmp_path, isolated_env, monkeypatch) -> Path:
    """A sources folder, and a folder beside it that is not allowed."""
    monkeypatch.delenv("EDU_SOURCE_DIRS", raising=False)
    src = tmp_path / "src"
    src.mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    return src


def sources(folder: Path, entry: str, monkeypatch) -> Path:
    file = folder / "sources.yml"
    file.write_text(f"datasets:\n  ks2:\n    files: ['{entry}']\n", encoding="utf-8")
    monkeypatch.setenv("EDU_SOURCES", str(file))
    return file


@pytest.mark.parametrize("entry", ["../elsewhere/ks2.csv", "{tmp}/elsewhere/ks2.csv", "../elsewhere/*.csv"])
def test_a_path_out_of_the_sources_folder_is_refused(folder, monkeypatch, entry):
    file = sources(folder, entry.format(tmp=folder.parent), monkeypatch)
    with pytest.raises(PipelineInputError, match=r"is outside the folders sources may be read from.*EDU_SOURCE_DIRS"):
        read_sources(file)


def test_a_link_out_of_the_folder_is_refused(folder, monkeypatch):
    (folder / "ks2.csv").symlink_to(folder.parent / "elsewhere" / "ks2.csv")
    file = sources(folder, "ks2.csv", monkeypatch)
    with pytest.raises(PipelineInputError, match=r"ks2\.csv is a link to .*elsewhere/ks2\.csv, outside the folders"):
        read_sources(file)
    # the same through a glob, and through a linked folder
    (folder / "data").symlink_to(folder.parent / "elsewhere", target_is_directory=True)
    with pytest.raises(PipelineInputError, match="outside the folders"):
        read_sources(sources(folder, "data/*.csv", monkeypatch))


def test_a_folder_named_in_edu_source_dirs_is_allowed(folder, monkeypatch):
    (folder / "ks2.csv").symlink_to(folder.parent / "elsewhere" / "ks2.csv")
    monkeypatch.setenv("EDU_SOURCE_DIRS", str(folder.parent / "elsewhere"))
    [source] = read_sources(sources(folder, "ks2.csv", monkeypatch))
    assert source.path == (folder.parent / "elsewhere" / "ks2.csv").resolve()


@pytest.mark.parametrize("target", ["/proc/self/environ", "/proc/self/cmdline", "/dev/zero"])
def test_kernel_files_are_refused_even_when_every_folder_is_allowed(folder, monkeypatch, target):
    if not os.path.exists(target):
        pytest.skip(f"{target} does not exist here")
    monkeypatch.setenv("EDU_SOURCE_DIRS", "/")
    with pytest.raises(PipelineInputError, match="outside the folders"):
        read_sources(sources(folder, target, monkeypatch))


def test_special_files_are_refused(folder, monkeypatch):
    os.mkfifo(folder / "ks2.csv")  # reading a pipe would wait for ever
    with pytest.raises(PipelineInputError, match=r"ks2\.csv is not a regular file"):
        read_sources(sources(folder, "*.csv", monkeypatch))
    os.unlink(folder / "ks2.csv")
    (folder / "ks2.csv").mkdir()
    with pytest.raises(PipelineInputError, match="not a regular file"):
        read_sources(sources(folder, "ks2.csv", monkeypatch))


def test_a_glob_under_folders_that_link_to_themselves_ends(folder, monkeypatch):
    (folder / "a" / "b").mkdir(parents=True)
    (folder / "a" / "b" / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    (folder / "a" / "loop").symlink_to(folder / "a", target_is_directory=True)
    (folder / "a" / "b" / "up").symlink_to(folder, target_is_directory=True)
    [source] = read_sources(sources(folder, "**/*.csv", monkeypatch))
    assert source.path == folder / "a" / "b" / "ks2.csv"


def test_a_glob_over_too_many_entries_names_its_limit(folder, monkeypatch):
    for n in range(30):
        (folder / f"f{n}.txt").write_text("", encoding="utf-8")
    monkeypatch.setenv("EDU_GLOB_MAX_ENTRIES", "20")
    with pytest.raises(PipelineInputError, match=r"more than 20 folder entries .*\(EDU_GLOB_MAX_ENTRIES\)"):
        read_sources(sources(folder, "**/*.csv", monkeypatch))


def test_a_meta_csv_that_links_out_is_refused(folder, monkeypatch):
    (folder / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    (folder.parent / "elsewhere" / "secret.csv").write_text("col_name,col_type\n", encoding="utf-8")
    (folder / "ks2.meta.csv").symlink_to(folder.parent / "elsewhere" / "secret.csv")
    [source] = read_sources(sources(folder, "ks2.csv", monkeypatch))
    with pytest.raises(PipelineInputError, match=r"ks2\.meta\.csv is a link or not a regular file"):
        _ = source.meta_path


@pytest.mark.parametrize(
    "first_line",
    ["password=hunter2,token=s3cr3t", "AWS_SECRET_ACCESS_KEY wJalrXUtnFEMI", "time_period,hunter2"],
)
def test_a_refused_file_is_not_landed_and_its_contents_are_not_printed(folder, monkeypatch, first_line):
    (folder / "ks2.csv").write_text(f"{first_line}\n1,2\n", encoding="utf-8")
    sources(folder, "ks2.csv", monkeypatch)
    settings = load_settings()
    with pytest.raises(PipelineInputError) as error:
        ingest(settings, folder.parent / "build.duckdb")
    message = str(error.value)
    assert "required column(s) missing" in message
    for secret in ("hunter2", "s3cr3t", "wJalrXUtnFEMI", "password"):
        assert secret not in message
    assert read_manifest(settings.landing_dir) == []
    assert not [p for p in settings.landing_dir.rglob("*") if p.is_file() and "hunter2" in p.read_text(errors="ignore")]


# --- small inputs that would take all the time or memory: limits checked first -------------------

BILLION_LAUGHS = """datasets:
  ks2:
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    files: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
"""


@pytest.mark.parametrize(
    "text, message",
    [
        (BILLION_LAUGHS, r"line 4: aliases \(\*name\) are not accepted here"),
        ("datasets:\n  ks2: &x {files: [a.csv]}\n  ks4: *x\n", r"line 3: aliases \(\*name\) are not accepted"),
        ("datasets: " + "[" * 500 + "]" * 500 + "\n", r"nested more than 50 levels deep"),
        ("datasets:\n" + "".join("  " * (n + 1) + f"k{n}:\n" for n in range(200)), "nested more than 50 levels deep"),
    ],
    ids=["billion-laughs", "one-alias", "deep-flow", "deep-block"],
)
def test_hostile_yaml_is_refused_before_it_is_built(folder, monkeypatch, text, message):
    file = folder / "sources.yml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(PipelineInputError, match=message):
        read_sources(file)


def test_an_oversized_sources_file_is_refused_before_it_is_parsed(folder, monkeypatch):
    file = folder / "sources.yml"
    file.write_text("datasets:\n  ks2: {files: [ks2.csv]}\n" + "#" * 5000 + "\n", encoding="utf-8")
    monkeypatch.setenv("EDU_YAML_MAX_BYTES", "4096")
    with pytest.raises(PipelineInputError, match=r"5,0\d\d bytes, more than EDU_YAML_MAX_BYTES=4,096"):
        read_sources(file)


def test_a_header_of_a_million_names_is_refused_at_once(folder, monkeypatch):
    import time

    (folder / "ks2.csv").write_text(",".join(f"c{n}" for n in range(1_000_000)) + "\n1\n", encoding="utf-8")
    sources(folder, "ks2.csv", monkeypatch)
    settings = load_settings()
    started = time.monotonic()
    with pytest.raises(PipelineInputError, match=r"the header has 1,000,000 columns, more than EDU_MAX_COLUMNS=2,000"):
        ingest(settings, folder.parent / "build.duckdb")
    assert time.monotonic() - started < 60  # not the hours it took (loose: the suite may run loaded)
    assert read_manifest(settings.landing_dir) == []


def test_an_xlsx_that_inflates_past_its_limit_is_refused_before_it_is_opened(folder, monkeypatch):
    import zipfile

    # a valid-looking workbook whose sheet inflates to 64 MiB from a few kilobytes
    with zipfile.ZipFile(folder / "ks2.xlsx", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", "<" + " " * (64 * 1024**2) + ">")
    assert (folder / "ks2.xlsx").stat().st_size < 200_000
    sources(folder, "ks2.xlsx", monkeypatch)
    monkeypatch.setenv("EDU_XLSX_MAX_BYTES", str(32 * 1024**2))
    settings = load_settings()
    with pytest.raises(
        PipelineInputError,
        match=r"ks2\.xlsx: the workbook unzips to 67,1\d\d,\d\d\d bytes, more than EDU_XLSX_MAX_BYTES=",
    ):
        ingest(settings, folder.parent / "build.duckdb")
    assert read_manifest(settings.landing_dir) == []


def test_an_oversized_meta_csv_is_refused(folder, monkeypatch):
    (folder / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    (folder / "ks2.meta.csv").write_text("col_name,col_type\n" + "x,Filter\n" * 1000, encoding="utf-8")
    sources(folder, "ks2.csv", monkeypatch)
    monkeypatch.setenv("EDU_META_MAX_BYTES", "1000")
    settings = load_settings()
    with pytest.raises(
        PipelineInputError, match=r"its ks2\.meta\.csv is 9,018 bytes, more than EDU_META_MAX_BYTES=1,000"
    ):
        ingest(settings, folder.parent / "build.duckdb")
    assert read_manifest(settings.landing_dir) == []


def test_a_pipe_or_device_is_never_read_as_a_file(folder, monkeypatch):
    """A path swapped for a pipe after its check: the private copy refuses it at once instead of
    waiting for a writer; sources.yml itself may not be a device either."""
    from orchestration.lib.ingest.landing import incoming_copy

    os.mkfifo(folder / "pipe.csv")
    with pytest.raises(PipelineInputError, match=r"pipe\.csv: not a regular file"):
        with incoming_copy(folder.parent / "landing", folder / "pipe.csv"):
            pass
    assert list((folder.parent / "landing" / ".incoming").iterdir()) == []
    monkeypatch.setenv("EDU_SOURCES", "/dev/zero")
    with pytest.raises(PipelineInputError, match=r"/dev/zero: not a regular file"):
        read_sources(Path("/dev/zero"))


@pytest.mark.parametrize("swapped", ["parent", "file"])
def test_a_folder_or_file_swapped_for_a_link_after_its_check_is_refused(folder, swapped):
    """The check resolves a files: entry to its real path; if a folder on that path (or the file)
    is then replaced by a link to somewhere else, the private copy refuses it instead of following
    it, and says nothing of what it would have read."""
    from orchestration.lib.ingest.landing import incoming_copy
    from orchestration.lib.sources.config import checked_source, source_roots

    (folder / "sub").mkdir()
    (folder / "sub" / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    real = checked_source(folder / "sub" / "ks2.csv", source_roots(folder), "test")
    secret = folder.parent / "elsewhere"
    (secret / "ks2.csv").write_text("SECRET-LINE\n", encoding="utf-8")
    if swapped == "parent":
        (folder / "sub").rename(folder / "sub-old")
        (folder / "sub").symlink_to(secret, target_is_directory=True)
    else:
        (folder / "sub" / "ks2.csv").unlink()
        (folder / "sub" / "ks2.csv").symlink_to(secret / "ks2.csv")
    with pytest.raises(PipelineInputError) as refused:
        with incoming_copy(folder.parent / "landing", real, checked_real=True):
            pass
    assert "changed since it was checked" in str(refused.value) or "cannot be opened" in str(refused.value)
    assert "SECRET" not in str(refused.value)
    assert list((folder.parent / "landing" / ".incoming").iterdir()) == []


def test_a_checked_path_unchanged_is_copied(folder):
    from orchestration.lib.ingest.landing import incoming_copy
    from orchestration.lib.sources.config import checked_source, source_roots

    (folder / "sub").mkdir()
    (folder / "sub" / "ks2.csv").write_text(f"{HEADER}\n{ROW}\n", encoding="utf-8")
    real = checked_source(folder / "sub" / "ks2.csv", source_roots(folder), "test")
    with incoming_copy(folder.parent / "landing", real, checked_real=True) as (copy, sha):
        assert copy.read_text(encoding="utf-8") == f"{HEADER}\n{ROW}\n" and len(sha) == 64
