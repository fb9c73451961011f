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
    (project / "macros" / "min.sql").write_text("{% macro m() %}{{ env_var('EDU_TEST_SETTING', '3') }}{% endmacro %}\n")
    return project


def _parsed(project: Path) -> Path:
    target = project / "target"
    (target / "manifest.json").write_text("{}")
    (target / "partial_parse.msgpack").write_bytes(b"x")
    manifest_state.record(project, target, ARGS)
    return target


def test_an_unchanged_project_needs_no_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    # dbt's own output changing is not a change of the project
    (target / "run_results.json").write_text("{}")
    (project / "logs").mkdir()
    (project / "logs" / "dbt.log").write_text("...")
    assert manifest_state.is_current(project, target, ARGS)


def test_an_edited_model_seed_or_project_file_needs_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    (project / "models" / "m.sql").write_text("select 2 as x\n")
    assert not manifest_state.is_current(project, target, ARGS)
    target = _parsed(project)
    (project / "models" / "new.sql").write_text("select 1 as y\n")
    assert not manifest_state.is_current(project, target, ARGS)
    target = _parsed(project)
    (project / "dbt_project.yml").write_text("name: p\nvars: {a: 2}\n")
    assert not manifest_state.is_current(project, target, ARGS)


def test_other_vars_or_an_env_var_the_project_reads_need_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    assert not manifest_state.is_current(project, target, [*ARGS[:-1], '{"edu_build_db": "/c/d.duckdb"}'])
    monkeypatch.setenv("EDU_UNRELATED", "x")  # not read by the project: no parse
    assert manifest_state.is_current(project, target, ARGS)
    monkeypatch.setenv("EDU_TEST_SETTING", "5")
    assert not manifest_state.is_current(project, target, ARGS)


def test_a_missing_manifest_or_fingerprint_needs_a_parse(tmp_path, monkeypatch):
    monkeypatch.delenv("EDU_TEST_SETTING", raising=False)
    project = _project(tmp_path)
    target = _parsed(project)
    (target / "manifest.json").unlink()
    assert not manifest_state.is_current(project, target, ARGS)
    target = _parsed(project)
    manifest_state.forget(target)  # a parse that failed half-way leaves no fingerprint
    assert not manifest_state.is_current(project, target, ARGS)
