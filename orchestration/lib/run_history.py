"""Dagster's run history in DAGSTER_HOME, written by `make run` through open SQLite connections.

Dagster's stock SQLite event log (``SqliteEventLogStorage``) creates an engine and opens a new
connection for every event it stores, and again for the cross-run index when the event is about an
asset or a check; each commit is then synced to disk. A run on the sample stores about 1,400 events
through about 3,400 such connections: 14 s of a `make run` on a 2-core machine, more than ingest,
publish and the exports together.

``PooledSqliteEventLogStorage`` writes the same tables of the same files, through one engine per
database (the run's own and the index) whose connection stays open, and commits with
``synchronous=NORMAL``. In WAL mode (Dagster's own for these files) that loses nothing a crashed
process committed and never corrupts a file; only a power cut may take the last commits with it.
The files stay the stock class's: the Dagster UI and daemon read and write them with it, and a
run's file is touched as each event is stored, so the UI's live view of the run follows it.

Only the default SQLite storage is replaced (``open_instance``). A dagster.yaml that names another
storage (PostgreSQL, say) is used as it is.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData


def _sync_at_checkpoints_only(dbapi_connection, _record) -> None:
    # WAL mode with NORMAL: a commit reaches the WAL file at once; the disk is synced when the WAL
    # is checkpointed into the database, not at every commit.
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """The stock per-run SQLite event log, with one open connection per database file."""

    # A run writes two databases (its own and the index); a UI process may read a few more runs.
    OPEN_DATABASES = 4

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()  # used under the stock _db_lock
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> sa.Engine:
        engine = self._engines.pop(shard, None)
        if engine is None:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                # max_overflow: the stock schema set-up inspects the file while it holds a connection
                poolclass=sa.pool.QueuePool,
                pool_size=1,
                max_overflow=2,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
            )
            sa.event.listen(engine, "connect", _sync_at_checkpoints_only)
        self._engines[shard] = engine
        while len(self._engines) > self.OPEN_DATABASES:
            self._engines.popitem(last=False)[1].dispose()
        return engine

    def close_databases(self) -> None:
        with self._db_lock:  # not while another thread holds one of them
            while self._engines:
                self._engines.popitem()[1].dispose()

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[sa.Connection]:
        # As the stock method (one connection at a time, the database set up on first use), but the
        # engine and its connection outlive the call.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def store_event(self, event: EventLogEntry) -> None:
        super().store_event(event)
        # The Dagster UI follows a run by watching its database file (a watchdog on <run>.db). The
        # stock class's closing connection moves each event from the WAL into that file; an open
        # connection leaves it in <run>.db-wal, so the file is touched for the UI to read it.
        with contextlib.suppress(OSError):
            os.utime(self.path_for_shard(event.run_id))

    def wipe(self) -> None:
        self.close_databases()  # the stock wipe deletes the run files: none may stay open
        super().wipe()

    def dispose(self) -> None:
        super().dispose()
        self.close_databases()


class PooledSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event logs, schedules) with the pooled event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(self._event_log_storage._base_dir)  # noqa: SLF001

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)


def open_instance(dagster_home: Path) -> dg.DagsterInstance:
    """The instance of ``dagster_home``'s dagster.yaml, its default SQLite storage replaced by
    ``PooledSqliteStorage`` (same files and configuration); any other storage as configured."""
    home = Path(os.path.expanduser(dagster_home))
    # DagsterInstance.get()'s own checks of DAGSTER_HOME
    if not home.is_absolute():
        raise dg.DagsterInvariantViolationError(f'$DAGSTER_HOME "{home}" must be an absolute path.')
    if not home.is_dir():
        raise dg.DagsterInvariantViolationError(f'$DAGSTER_HOME "{home}" is not a directory or does not exist.')
    ref = InstanceRef.from_dir(str(home))
    stock = ref.storage_data
    if stock and (stock.module_name, stock.class_name) == (
        DagsterSqliteStorage.__module__,
        DagsterSqliteStorage.__name__,
    ):
        pooled = ConfigurableClassData(__name__, PooledSqliteStorage.__name__, stock.config_yaml)
        ref = ref._replace(storage_data=pooled)
    return dg.DagsterInstance.from_ref(ref)
