"""`make run` skips `dbt parse` only while the manifest matches the project on disk."""

from __future__ import annotations

from pathlib import Path

from orchestration.lib.transform import manifest_state

ARGS = ["--project-dir", "p", "--vars", '{"edu_build_db": "/a/b.duckdb"}']


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "dbt_project"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "target").mkdir()
    (project / "dbt_project.yml").write_text("name: p\nvars: {a: 1}\n")
    (project / "models" / "m.sql").write_text("select 1 as x\n")
    (project / "macros" / "min.sql").write_text(
        '{% macro m() %}{{ env_var ( "EDU_TEST_SETTING", "3") }}{% endmacro %}\n'
    )
    return project


def _parsed(project: Path, args: list[str] = ARGS) -> Path:
    """As cli.prepare: the fingerprint taken, dbt's parse writes its state, the pair recorded."""
    target = project / "target"
    before, _ = manifest_state.current_fingerprint(project, target, args)
    (target / "manifest.json").write_text('{"nodes": {}}')
    (target / "partial_parse.msgpack").write_bytes(b"state")
    manifest_state.record(target, before)
    return target


def _current(project: Path, args: list[str] = ARGS) -> bool:
    return manifest_state.current_fingerprint(project, project / "target", args)[1]


def test_an_unchanged_project_needs_no_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    # dbt's own output changing is not a change of the project
    (target / "run_results.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("...")
    assert _current(project)


def test_an_edited_added_or_hidden_project_file_needs_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    _parsed(project)
    (project / "models" / "m.sql").write_text("select 2 as x\n")
    assert not _current(project)
    _parsed(project)
    (project / "models" / "new.sql").write_text("select 1 as y\n")
    assert not _current(project)
    _parsed(project)
    (project / "models" / ".wip").mkdir()  # dbt parses hidden folders too
    (project / "models" / ".wip" / "x.sql").write_text("select 3 as z\n")
    assert not _current(project)
    _parsed(project)
    (project / "dbt_project.yml").write_text("name: p\nvars: {a: 2}\n")
    assert not _current(project)


def test_other_vars_or_an_env_var_dbt_reads_need_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    _parsed(project)
    assert not _current(project, [*ARGS[:-1], '{"edu_build_db": "/c/d.duckdb"}'])
    monkeypatch.setenv("EDU_UNRELATED", "x")  # not read by the project: no parse
    assert _current(project)
    monkeypatch.setenv("EDU_TEST_SETTING", "5")  # read by a macro's env_var ( "..." )
    assert not _current(project)
    _parsed(project)
    monkeypatch.setenv("DBT_TARGET_PATH", "elsewhere")  # dbt's own settings
    assert not _current(project)


def test_a_manifest_rewritten_missing_or_unrecorded_needs_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    # a `dbt build` by hand of an edit since undone: same project, another manifest
    (target / "manifest.json").write_text('{"nodes": {"model.p.edited": {}}}')
    assert not _current(project)
    target = _parsed(project)
    (target / "partial_parse.msgpack").unlink()
    assert not _current(project)
    target = _parsed(project)
    manifest_state.forget(target)  # a parse that failed half-way leaves no fingerprint
    assert not _current(project)
