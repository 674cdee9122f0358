"""The local Dagster instance's storage: Dagster's own SQLite storage, with one pooled engine per database file.

Dagster's SQLite event log opens a new SQLAlchemy engine, and a new SQLite connection, for every statement it
runs: two or three per event (the run's file, then the cross-run index). That is about 6 ms each, paid by the
process that runs the job, for every event: a dbt build of about 250 models and tests stores about 800 events.
This storage keeps the files, tables and behaviour of Dagster's (``storage: sqlite``), and only keeps a pooled
engine per file for the process's life (the few most recently used run files, and the index).

Chosen in ``orchestration/dagster_home/dagster.yaml`` as ``storage: custom``; a deployment on PostgreSQL
(``orchestration/deploy``) does not use it.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy.engine import Connection, Engine

# database files kept open at once: the index, the file of the run being written, and a few the UI reads
OPEN_FILES = 8


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log, each file's engine kept and pooled rather than made again per statement."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        # set first: Dagster's constructor already reads through the connections when it creates the index
        self._engines: OrderedDict[str, Engine] = OrderedDict()  # least recently used first
        self._engines_lock = threading.Lock()
        self._tables: set[str] = set()
        super().__init__(base_dir, inst_data)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.pop(shard, None)
            if engine is None:
                # Dagster's own path creates (and migrates) a file the first time it is used
                with super().run_connection(shard):
                    pass
                engine = create_engine(
                    self.conn_string_for_shard(shard), connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS}
                )
            self._engines[shard] = engine
            while len(self._engines) > OPEN_FILES:
                self._engines.popitem(last=False)[1].dispose()
            return engine

    @contextlib.contextmanager
    def _pooled_connection(self, shard: str) -> Iterator[Connection]:
        with self._engine(shard).connect() as connection, connection.begin():
            yield connection

    def run_connection(self, run_id: str | None = None) -> Any:
        return self._pooled_connection(run_id)  # type: ignore[arg-type]  # a run's events always have a run id

    def index_connection(self) -> Any:
        return self._pooled_connection(INDEX_SHARD_NAME)

    def has_table(self, table_name: str) -> bool:
        """Asked before every asset check event (whether the index has the checks' tables): a table, once there,
        stays, so only a missing one is looked for again."""
        if table_name in self._tables:
            return True
        with self.index_connection() as connection:
            present = bool(connection.dialect.has_table(connection, table_name))
        if present:
            self._tables.add(table_name)
        return present

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before its run files go
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """``storage: sqlite`` (same files under ``base_dir``), with the pooled event log."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> PooledSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
