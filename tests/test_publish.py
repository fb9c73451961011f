"""Publication is atomic: the served file is either the old publication or the new one."""

from __future__ import annotations

import json

import duckdb
import pytest

# at module level: Dagster resolves an asset's parameter annotation by name
from orchestration.defs.ingest.resources import WarehouseResource
from orchestration.lib.publish import warehouse as publish_module
from orchestration.lib.publish.warehouse import publish
from tests.conftest import BiTool, compat_duckdb_python


def make_build(path, value: float) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA staging")
        con.execute(f"CREATE TABLE marts.fct AS SELECT 'ks2' AS m, {value}::DOUBLE AS v UNION ALL SELECT 'ks4', 1.5")
        con.execute("CREATE TABLE staging.tmp AS SELECT 1 AS x")


def test_publish_copies_marts_and_appends_audit(tmp_path):
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    first = publish(build, served, "run-1", [{"dataset": "ks2", "sha256": "ab"}], [{"check": "c", "passed": True}])
    make_build(build2 := tmp_path / "build2.duckdb", 58)
    publish(build2, served, "run-2", [], [])
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("SELECT v FROM marts.fct WHERE m='ks2'").fetchone()[0] == 58
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name='staging'").fetchone()[0] == 0
        audit = con.execute(
            "SELECT publication_id, previous_publication_id, raw_files, table_checksums FROM audit.publications ORDER BY published_at"
        ).fetchall()
    assert [(a[0], a[1]) for a in audit] == [("run-1", None), ("run-2", "run-1")]
    assert json.loads(audit[0][2]) == [{"dataset": "ks2", "sha256": "ab"}]
    assert json.loads(audit[0][3])["marts.fct"]["rows"] == 2
    assert first.tables["marts.fct"]["checksum"] != json.loads(audit[1][3])["marts.fct"]["checksum"]
    assert sorted(p.name for p in served.parent.iterdir()) == [".publish.lock", "education.duckdb"]  # no partials


def test_checksum_is_order_independent(tmp_path):
    with duckdb.connect(str(tmp_path / "a.duckdb")) as con:
        con.execute("CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT * FROM (VALUES (1,'a'),(2,'b')) v(x,y)")
        con.execute("CREATE TABLE marts.u AS SELECT * FROM (VALUES (2,'b'),(1,'a')) v(x,y)")
        sums = publish_module.table_checksums(con, "a")
    assert sums["marts.t"] == sums["marts.u"]


def test_crash_during_publication_leaves_previous_byte_identical(tmp_path, monkeypatch):
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [])
    before = served.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish_module.os, "replace", crash)
    make_build(build2 := tmp_path / "build2.duckdb", 99)
    with pytest.raises(OSError, match="disk full"):
        publish(build2, served, "run-2", [], [])
    assert served.read_bytes() == before
    assert sorted(p.name for p in served.parent.iterdir()) == [".publish.lock", "education.duckdb"]  # no partials


def test_publication_records_the_settings_that_shaped_it_and_keeps_older_rows(tmp_path):
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [])
    # A publication made before the parameters column existed: the next one keeps its row.
    with duckdb.connect(str(served)) as con:
        con.execute("ALTER TABLE audit.publications DROP COLUMN parameters")
    publish(build, served, "run-2", [], [], parameters={"EDU_SCHOOL_MIN_COHORT": 6})
    with duckdb.connect(str(served), read_only=True) as con:
        rows = con.execute("SELECT publication_id, parameters FROM audit.publications ORDER BY published_at").fetchall()
    assert rows[0] == ("run-1", None)
    assert rows[1][0] == "run-2" and json.loads(rows[1][1]) == {"EDU_SCHOOL_MIN_COHORT": 6}


@pytest.mark.parametrize("value", ["abc", "0", "-3", "10.5"])
def test_a_bad_school_threshold_is_refused(value, monkeypatch):
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.settings import load_settings

    monkeypatch.setenv("EDU_SCHOOL_MIN_COHORT", value)
    with pytest.raises(PipelineInputError, match=f"EDU_SCHOOL_MIN_COHORT must be a whole number.*'{value}'"):
        load_settings().validate()
    monkeypatch.setenv("EDU_SCHOOL_MIN_COHORT", " 6 ")
    assert load_settings().publication_parameters() == {
        "EDU_SCHOOL_MIN_COHORT": 6,
        "EDU_SCHOOL_MIN_POSSIBILITIES": 3,
        "EDU_SCHOOL_MIN_INTERVAL_PERCENT": 10,
    }


@pytest.mark.parametrize(
    "folder",
    [
        "council's data",
        "x' AS build; CREATE TABLE pwned AS SELECT 1; --",
        "x' AS previous (READ_ONLY); CREATE TABLE pwned AS SELECT 1; --",
        'q"uoted %s $1 {0}',
        "''; DROP SCHEMA marts CASCADE; --",
    ],
)
def test_a_warehouse_path_with_quotes_publishes_twice_and_runs_no_sql(tmp_path, folder):
    """Neither ATTACH (the build database; the previous publication, whose audit rows are carried
    over) takes a parameter: both paths are quoted, never pasted. The second publication attaches
    the first, so both are exercised."""
    (tmp_path / folder).mkdir()
    build, served = tmp_path / folder / "build.duckdb", tmp_path / folder / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [])
    make_build(build2 := tmp_path / folder / "build2.duckdb", 58)
    publish(build2, served, "run-2", [], [])
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("SELECT v FROM marts.fct WHERE m = 'ks2'").fetchone()[0] == 58
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'pwned'").fetchone()[0] == 0
        assert con.execute("SELECT publication_id FROM audit.publications ORDER BY 1").fetchall() == [
            ("run-1",),
            ("run-2",),
        ]


def test_table_names_with_quotes_are_quoted(tmp_path):
    """Table names come from the build database: quoted as identifiers when copied and checksummed."""
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    with duckdb.connect(str(build)) as con:
        con.execute('CREATE TABLE marts."we""ird; DROP TABLE marts.fct; --" AS SELECT 1 AS x')
    published = publish(build, served, "run-1", [], [])
    assert published.tables['marts.we"ird; DROP TABLE marts.fct; --']["rows"] == 1
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.fct").fetchone()[0] == 2


def test_a_second_run_on_the_same_warehouse_says_who_holds_it(tmp_path):
    """make run holds <warehouse>/.run.lock; a second one stops at once naming the holder, and the
    lock is free again when the first ends."""
    import os

    from orchestration.lib import run_lock

    holder = _holding_process(tmp_path)
    try:
        with pytest.raises(run_lock.RunLockedError) as error:
            with run_lock.exclusive(tmp_path, "make run"):
                pass
        assert f"another run is using {tmp_path}: make run (pid {holder.pid} on " in str(error.value)
        assert ", since 20" in str(error.value)
    finally:
        holder.kill()
        holder.wait()
    with run_lock.exclusive(tmp_path, "make run"):  # released when its process ended, however it ended
        assert os.path.exists(tmp_path / ".run.lock")


def test_two_publications_never_delete_each_others_files(tmp_path):
    """Publications into one folder take turns (the publication lock): each one's partial file is
    its own, and both land in audit.publications."""
    import threading

    served = tmp_path / "wh" / "education.duckdb"
    builds = []
    for n in range(4):
        make_build(build := tmp_path / f"build{n}.duckdb", 50 + n)
        builds.append(build)
    errors = []

    def publish_one(n: int) -> None:
        try:
            publish(builds[n], served, f"run-{n}", [], [])
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=publish_one, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with duckdb.connect(str(served), read_only=True) as con:
        ids = {r[0] for r in con.execute("SELECT publication_id FROM audit.publications").fetchall()}
    assert ids == {f"run-{n}" for n in range(4)}
    assert sorted(p.name for p in served.parent.iterdir()) == [".publish.lock", "education.duckdb"]


def test_make_run_while_another_holds_the_warehouse_stops_before_doing_anything(tmp_path):
    import subprocess

    from orchestration.lib import run_lock
    from tests.conftest import PIPELINE_COMMAND, REPO_ROOT, pipeline_env

    with run_lock.exclusive(tmp_path / "warehouse", "make run"):
        result = subprocess.run(
            PIPELINE_COMMAND, cwd=REPO_ROOT, env=pipeline_env(tmp_path), capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"NOT RUN: another run is using {tmp_path / 'warehouse'}: make run (pid ")
    assert not (tmp_path / "landing").exists()  # nothing landed, nothing built


@pytest.mark.parametrize("mode", ["read_only", "read_write"])
def test_a_bi_tool_holding_the_file_open_never_blocks_a_publication(tmp_path, mode):
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [])
    query = "SELECT v FROM marts.fct WHERE m = 'ks2'"
    with BiTool(served, mode, query) as tool:
        assert float(tool.first) == 57  # the tool holds the file now
        make_build(build2 := tmp_path / "build2.duckdb", 58)
        publish(build2, served, "run-2", [], [])
        # The open connection keeps the publication it opened until it reconnects (README).
        assert float(tool.ask()) == 57
    with duckdb.connect(str(served), read_only=True) as con:
        assert con.execute(query).fetchone()[0] == 58
        chain = con.execute(
            "SELECT publication_id, previous_publication_id FROM audit.publications ORDER BY 1"
        ).fetchall()
    assert chain == [("run-1", None), ("run-2", "run-1")]
    assert sorted(p.name for p in served.parent.iterdir() if not p.name.endswith(".wal")) == [
        ".publish.lock",
        "education.duckdb",
    ]


def test_published_tables_and_columns_carry_the_dbt_descriptions(tmp_path):
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "nodes": {
                    "model.p.fct": {
                        "resource_type": "model",
                        "name": "fct",
                        "config": {"schema": "marts"},
                        "description": "One row per measure. The council's figures.",
                        "columns": {"v": {"description": "Value as published; 'c' when suppressed."}},
                    }
                }
            }
        )
    )
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [], manifest_path=manifest)
    with duckdb.connect(str(served), read_only=True) as con:
        tables = dict(con.execute("SELECT schema_name || '.' || table_name, comment FROM duckdb_tables()").fetchall())
        columns = dict(
            con.execute(
                "SELECT schema_name || '.' || table_name || '.' || column_name, comment FROM duckdb_columns()"
            ).fetchall()
        )
    assert tables["marts.fct"] == "One row per measure. The council's figures."
    assert columns["marts.fct.v"] == "Value as published; 'c' when suppressed."
    assert columns["marts.fct.m"] is None  # undocumented: no comment invented
    assert tables["audit.publications"].startswith("One row per publication")
    assert columns["audit.publications.publication_id"] == "Dagster run id of the run that published."


def test_the_published_file_opens_in_duckdb_1_1(tmp_path):
    """BI drivers bundle their own, older DuckDB: the oldest common one (1.1, installed by
    `make test-all` in its own environment) reads the publication, comments and lists included."""
    import subprocess

    python = compat_duckdb_python()
    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct AS SELECT 'ks2' AS m, 57.25::DECIMAL(9, 2) AS v, ['a', 'b'] AS neighbours, "
            "TIMESTAMPTZ '2025-09-01 10:00:00+00' AS at"
        )
    publish(build, served, "run-1", [], [])
    script = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(duckdb.__version__); "
        'print(c.execute("SELECT m, v, neighbours FROM marts.fct").fetchall()); '
        'print(c.execute("SELECT publication_id FROM audit.publications").fetchall()); '
        "print(c.execute(\"SELECT comment FROM duckdb_tables() WHERE table_name = 'publications'\").fetchall())"
    )
    result = subprocess.run([python, "-c", script, str(served)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    version, rows, audit, comment = result.stdout.splitlines()
    assert version.startswith("1.1.")
    assert rows == "[('ks2', Decimal('57.25'), ['a', 'b'])]"
    assert audit == "[('run-1',)]"
    assert comment.startswith("[('One row per publication")


def test_the_sample_publication_opens_in_duckdb_1_1_with_every_table_and_comment(sample_publication):
    import subprocess

    python = compat_duckdb_python()
    served = sample_publication / "warehouse" / "education.duckdb"
    count_sql = (
        "SELECT schema_name || '.' || table_name, estimated_size, "
        "(SELECT count(*) FROM duckdb_columns() c WHERE c.table_oid = t.table_oid AND c.comment IS NOT NULL) "
        "FROM duckdb_tables() t ORDER BY 1"
    )
    script = (
        "import sys, duckdb; c = duckdb.connect(sys.argv[1], read_only=True); "
        "print(repr(c.execute(sys.argv[2]).fetchall())); "
        "print(c.execute('SELECT count(*), count(DISTINCT measure_code) FROM marts.fct_la_measure').fetchall())"
    )
    result = subprocess.run([python, "-c", script, str(served), count_sql], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    tables, fct = result.stdout.splitlines()
    with duckdb.connect(str(served), read_only=True) as con:
        assert tables == repr(con.execute(count_sql).fetchall())
        assert fct == str(
            con.execute("SELECT count(*), count(DISTINCT measure_code) FROM marts.fct_la_measure").fetchall()
        )
        columns, commented = con.execute(
            "SELECT count(*), count(comment) FROM duckdb_columns() WHERE schema_name IN ('marts', 'audit')"
        ).fetchall()[0]
    assert columns == commented > 500  # every published column carries its dbt description


def test_readers_copies_are_private_and_leftovers_of_killed_processes_go(tmp_path):
    import os
    import stat

    from orchestration.lib.publish.warehouse import published_copy

    build, served = tmp_path / "build.duckdb", tmp_path / "wh" / "education.duckdb"
    make_build(build, 57)
    publish(build, served, "run-1", [], [])
    scratch = tmp_path / "wh" / "build"
    scratch.mkdir()
    dead = scratch / ".reading-999999999-deadbeef.duckdb"  # no such process
    dead.write_bytes(b"old copy")
    alive = scratch / f".reading-{os.getpid()}-cafef00d.duckdb"  # this process: in use
    alive.write_bytes(b"in use")
    with published_copy(served, scratch) as copy:
        assert copy.read_bytes() == served.read_bytes()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert not dead.exists() and alive.exists()
    assert not copy.exists()


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("EDU_SCHOOL_MIN_POSSIBILITIES", "1", "at least 2"),
        ("EDU_SCHOOL_MIN_POSSIBILITIES", "three", "whole number"),
        ("EDU_SCHOOL_MIN_INTERVAL_PERCENT", "0", "at least 1"),
        ("EDU_SCHOOL_MIN_INTERVAL_PERCENT", "150", "at most 100"),
    ],
)
def test_a_bad_narrowing_threshold_is_refused_naming_it(name, value, message, monkeypatch):
    from orchestration.lib.errors import PipelineInputError
    from orchestration.lib.settings import load_settings

    monkeypatch.setenv(name, value)
    with pytest.raises(PipelineInputError, match=f"{name} must .*{message}"):
        load_settings().validate()


def _holding_process(folder):
    """Another process holding ``folder``'s run lock (as a `make run` would), until killed."""
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from orchestration.lib import run_lock\n"
            "with run_lock.exclusive(Path(sys.argv[1]), 'make run'):\n"
            "    print('held', flush=True); time.sleep(60)",
            str(folder),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_a_run_launched_in_the_ui_holds_the_warehouse_for_the_whole_run(tmp_path):
    """A Dagster run (as the UI launches it: every step in one process) takes <warehouse>/.run.lock
    through its warehouse resource from start to end: while another process holds it, the run
    stops before any step runs, naming the holder; while the run runs, nobody else gets it; a run
    `make run` started in this process holds it already and goes ahead."""
    import dagster as dg

    from orchestration.lib import run_lock

    folder = tmp_path / "warehouse"
    seen = []

    @dg.asset
    def first(warehouse: WarehouseResource) -> None:
        # meanwhile the folder is the run's: a second run (make run, or another from the UI) is refused
        with pytest.raises(run_lock.RunLockedError), run_lock.exclusive(folder, "make run"):
            pass
        seen.append("first")

    @dg.asset(deps=[first])
    def second(warehouse: WarehouseResource) -> None:
        seen.append("second")

    resources = {"warehouse": WarehouseResource(warehouse_dir=str(folder))}
    holder = _holding_process(folder)
    try:
        refused = dg.materialize([first, second], resources=resources, raise_on_error=False)
    finally:
        holder.kill()
        holder.wait()
    assert not refused.success and seen == []
    said = " ".join(str(e.event_specific_data) for e in refused.all_events)
    assert f"another run is using {folder}: make run (pid {holder.pid} on " in said

    assert dg.materialize([first, second], resources=resources).success and seen == ["first", "second"]
    with run_lock.exclusive(folder, "make run"):  # released when the run ended
        seen.clear()
        assert dg.materialize([first, second], resources=resources).success  # make run's own run
    assert seen == ["first", "second"]
