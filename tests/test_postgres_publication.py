"""The PostgreSQL publication: a real PostgreSQL server on loopback (started for this module and
stopped by its PID), read with SQLAlchemy as a BI tool would."""

from __future__ import annotations

import threading

import duckdb
import pytest
import sqlalchemy as sa

from orchestration.lib.errors import PipelineInputError
from orchestration.lib.publish import postgres as pg_module
from orchestration.lib.publish.postgres import publish_postgres
from orchestration.lib.publish.warehouse import publish
from orchestration.lib.settings import load_settings
from tests.conftest import BiTool, copy_publication, run_pipeline
from tests.postgres_server import PASSWORD, start_postgres, stop_postgres

MANIFEST_DOCS = {
    "nodes": {
        "model.p.fct": {
            "resource_type": "model",
            "name": "fct",
            "config": {"schema": "marts"},
            "description": "One row per measure and LA. The council's figures.",
            "columns": {"v": {"description": "Value as published; blank when withheld."}},
        },
        "test.p.row_checks_fct": {
            "resource_type": "test",
            "name": "row_checks_fct",
            "attached_node": "model.p.fct",
            "test_metadata": {"name": "row_checks", "kwargs": {"key": ["m", "la"], "not_null": ["m"]}},
        },
    }
}


@pytest.fixture(scope="module")
def server():
    running = start_postgres()
    try:
        yield running
    finally:
        stop_postgres(running)


@pytest.fixture
def database(server):
    """A fresh database per test on the module's server."""
    name = f"t_{threading.get_ident()}_{id(object())}"[:60]
    admin = sa.create_engine(server.sqlalchemy_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield name
    with admin.connect() as con:
        con.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def manifest(tmp_path):
    import json

    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(MANIFEST_DOCS))
    return path


def _served(tmp_path, name: str, value: float, las: int = 3):
    tmp_path.mkdir(parents=True, exist_ok=True)
    build, served = tmp_path / f"{name}.duckdb", tmp_path / "wh" / "education.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.fct AS SELECT 'ks2' AS m, lpad((800 + i)::VARCHAR, 3, '0') AS la, "
            f"CASE WHEN i = 0 THEN NULL ELSE {value}::DOUBLE + i END AS v, "
            "CASE WHEN i = 0 THEN 'suppressed' ELSE 'published' END AS value_status, "
            "['801', '802'] AS neighbours, 12.5::DECIMAL(9, 1) AS cohort_share "
            f"FROM range({las}) t(i)"
        )
        con.execute(f"CREATE TABLE marts.dim AS SELECT 'ks2' AS m, {value}::DOUBLE AS marker")
    publish(build, served, name, [], [])
    return served


def test_the_publication_arrives_with_types_keys_and_comments(tmp_path, server, database, manifest):
    served = _served(tmp_path, "run-1", 57.0)
    result = publish_postgres(served, server.url(database), manifest)
    assert result.tables == {"audit.publications": 1, "marts.dim": 1, "marts.fct": 3}
    assert PASSWORD not in repr(result) and result.database == f"127.0.0.1:{server.port}/{database}"
    engine = sa.create_engine(server.sqlalchemy_url(database))
    inspector = sa.inspect(engine)
    with engine.connect() as con:
        rows = con.execute(
            sa.text("SELECT m, la, v, value_status, neighbours, cohort_share FROM marts.fct ORDER BY la")
        )
        got = [tuple(r) for r in rows]
    with duckdb.connect(str(served), read_only=True) as duck:
        want = duck.execute(
            "SELECT m, la, v, value_status, neighbours, cohort_share FROM marts.fct ORDER BY la"
        ).fetchall()
    assert got == want and got[0][2] is None and got[1][2] == 58.0
    columns = {c["name"]: c for c in inspector.get_columns("fct", schema="marts")}
    assert isinstance(columns["neighbours"]["type"], sa.ARRAY)  # a known type, not NullType
    assert isinstance(columns["v"]["type"], sa.Float) and str(columns["cohort_share"]["type"]) == "NUMERIC(9, 1)"
    assert columns["v"]["comment"] == "Value as published; blank when withheld."
    assert (
        inspector.get_table_comment("fct", schema="marts")["text"]
        == "One row per measure and LA. The council's figures."
    )
    assert inspector.get_pk_constraint("fct", schema="marts")["constrained_columns"] == ["m", "la"]
    assert inspector.get_pk_constraint("publications", schema="audit")["constrained_columns"] == ["publication_id"]
    assert sorted(inspector.get_schema_names()) == ["audit", "information_schema", "marts", "public"]


def test_a_failed_load_leaves_the_previous_publication_whole(tmp_path, server, database, manifest, monkeypatch):
    publish_postgres(_served(tmp_path, "run-1", 57.0), server.url(database), manifest)
    second = _served(tmp_path, "run-2", 99.0, las=5)
    real_load = pg_module._load_table

    def fail_on_fct(duck, pg, schema, table, *args):
        if table == "fct":
            raise OSError("connection lost mid-load")
        return real_load(duck, pg, schema, table, *args)

    monkeypatch.setattr(pg_module, "_load_table", fail_on_fct)
    with pytest.raises(OSError, match="connection lost"):
        publish_postgres(second, server.url(database), manifest)
    engine = sa.create_engine(server.sqlalchemy_url(database))
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*), max(v) FROM marts.fct")).one() == (3, 59.0)
        assert con.execute(sa.text("SELECT marker FROM marts.dim")).scalar_one() == 57.0
        assert con.execute(sa.text("SELECT publication_id FROM audit.publications")).scalars().all() == ["run-1"]
    assert sorted(sa.inspect(engine).get_schema_names()) == ["audit", "information_schema", "marts", "public"]
    monkeypatch.undo()
    publish_postgres(second, server.url(database), manifest)  # and the next one goes through
    with engine.connect() as con:
        assert con.execute(sa.text("SELECT count(*), max(v) FROM marts.fct")).one() == (5, 103.0)


def test_readers_see_the_old_publication_or_the_new_one_never_a_mixture(tmp_path, server, database, manifest):
    states = {}
    for n in range(4):
        served = _served(tmp_path / f"p{n}", f"run-{n}", 10.0 * (n + 1), las=3 + n)
        states[n] = (3 + n, 10.0 * (n + 1))
        if n == 0:
            publish_postgres(served, server.url(database), manifest)
            continue
        seen, stop = set(), threading.Event()

        def read(seen=seen, stop=stop):
            engine = sa.create_engine(server.sqlalchemy_url(database))
            with engine.connect() as con:
                while not stop.is_set():
                    # Two tables in one statement: both from the same publication, always.
                    row = con.execute(
                        sa.text("SELECT (SELECT count(*) FROM marts.fct), (SELECT marker FROM marts.dim)")
                    )
                    seen.add(tuple(row.one()))
                    con.commit()
            engine.dispose()

        reader = threading.Thread(target=read)
        reader.start()
        try:
            publish_postgres(served, server.url(database), manifest)
        finally:
            stop.set()
            reader.join(timeout=60)
        assert seen and seen <= {states[n - 1], states[n]}, seen


def test_a_read_role_can_read_what_is_published(tmp_path, server, database, manifest):
    admin = sa.create_engine(server.sqlalchemy_url(database), isolation_level="AUTOCOMMIT")
    with admin.connect() as con:
        con.execute(sa.text("DROP ROLE IF EXISTS bi_reader"))
        con.execute(sa.text(f"CREATE ROLE bi_reader LOGIN PASSWORD '{PASSWORD}'"))
    try:
        for n in range(2):  # the grant survives the swap: every publication grants it again
            publish_postgres(
                _served(tmp_path / f"p{n}", f"run-{n}", 57.0 + n), server.url(database), manifest, "bi_reader"
            )
        reader = sa.create_engine(
            server.url(database, user="bi_reader").replace("postgresql://", "postgresql+psycopg://")
        )
        with reader.connect() as con:
            assert con.execute(sa.text("SELECT marker FROM marts.dim")).scalar_one() == 58.0
            with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
                con.execute(sa.text("DELETE FROM marts.dim"))
        reader.dispose()
    finally:
        with admin.connect() as con:
            con.execute(sa.text("DROP OWNED BY bi_reader"))
            con.execute(sa.text("DROP ROLE bi_reader"))
        admin.dispose()


@pytest.mark.parametrize(
    "url",
    ["http://example.invalid/db", "mysql://u:secret@h/db", "postgresql:///nohost", "not a url with secret"],
)
def test_a_bad_postgres_url_is_refused_without_echoing_it(url, monkeypatch):
    monkeypatch.setenv("EDU_PUBLISH_POSTGRES_URL", url)
    with pytest.raises(PipelineInputError) as refused:
        load_settings()
    assert "secret" not in str(refused.value) and url not in str(refused.value)


def test_the_url_stays_out_of_the_settings_repr(monkeypatch):
    monkeypatch.setenv("EDU_PUBLISH_POSTGRES_URL", f"postgresql://u:{PASSWORD}@127.0.0.1:5432/db")
    assert PASSWORD not in repr(load_settings())


@pytest.mark.parametrize("role", ["bi reader", 'x"; DROP TABLE marts.fct; --', "1role"])
def test_a_bad_read_role_is_refused(role, monkeypatch):
    monkeypatch.setenv("EDU_PUBLISH_POSTGRES_READ_ROLE", role)
    with pytest.raises(PipelineInputError, match="EDU_PUBLISH_POSTGRES_READ_ROLE"):
        load_settings()


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["read_write", "read_only"])
def test_make_run_publishes_to_postgres_while_a_bi_tool_holds_the_duckdb_file(
    sample_publication, tmp_path, server, database, mode
):
    """The whole run with EDU_PUBLISH_POSTGRES_URL set while a BI tool holds the served DuckDB file
    open (read-write, which DuckDB makes exclusive, or read-only): the publications succeed, the
    tool keeps the publication it opened, and PostgreSQL returns the same fct_la_measure rows as
    DuckDB, with column comments. With read-write, the outputs run too (they read a copy)."""
    workdir = copy_publication(sample_publication, tmp_path / "work")
    served = workdir / "warehouse" / "education.duckdb"
    query = "SELECT publication_id FROM audit.publications ORDER BY published_at DESC LIMIT 1"
    with BiTool(served, mode, query) as tool:
        before = tool.first
        result = run_pipeline(
            workdir,
            EDU_PUBLISH_POSTGRES_URL=server.url(database),
            EDU_RUN_OUTPUTS="1" if mode == "read_write" else "0",
        )
        assert tool.ask() == before  # until it reconnects
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"and to PostgreSQL 127.0.0.1:{server.port}/{database}" in result.stdout
    assert PASSWORD not in result.stdout + result.stderr
    with duckdb.connect(str(served), read_only=True) as duck:
        latest = duck.execute(query).fetchone()[0]
        columns = [
            c
            for (c,) in duck.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = 'fct_la_measure' ORDER BY column_index"
            ).fetchall()
        ]
        want = duck.execute("SELECT * FROM marts.fct_la_measure ORDER BY ALL").fetchall()
    assert latest != before
    engine = sa.create_engine(server.sqlalchemy_url(database))
    with engine.connect() as con:
        order = ", ".join(str(i + 1) for i in range(len(columns)))
        got = [
            tuple(r)
            for r in con.execute(sa.text(f"SELECT {', '.join(columns)} FROM marts.fct_la_measure ORDER BY {order}"))
        ]
        assert con.execute(sa.text(query)).scalar_one() == latest
    assert len(got) == len(want) > 10_000
    assert got == want
    comments = {c["name"]: c["comment"] for c in sa.inspect(engine).get_columns("fct_la_measure", schema="marts")}
    assert all(comments.values()), [name for name, text in comments.items() if not text]
    engine.dispose()


def test_the_postgres_step_is_in_the_graph_only_when_a_database_is_named(monkeypatch):
    pytest.importorskip("orchestration.definitions", reason="needs the dbt manifest (make prepare)")
    from orchestration.definitions import build_definitions
    from orchestration.defs.publish.assets import POSTGRES_KEY, PUBLICATION_KEY

    monkeypatch.delenv("EDU_PUBLISH_POSTGRES_URL", raising=False)
    assert POSTGRES_KEY not in build_definitions().resolve_asset_graph().get_all_asset_keys()
    monkeypatch.setenv("EDU_PUBLISH_POSTGRES_URL", "postgresql://u:p@127.0.0.1:5432/db")
    graph = build_definitions().resolve_asset_graph()
    assert POSTGRES_KEY in graph.get_all_asset_keys()
    assert graph.get(POSTGRES_KEY).parent_keys == {PUBLICATION_KEY}
