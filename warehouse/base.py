"""What every warehouse engine shares: the session interface the loader writes through, and DuckDB's settings.

The loader (``ingestion.load``) validates every chunk with the same DuckDB SQL whatever the warehouse, then
writes it through a ``WarehouseSession`` with the same SQL too. A session hides only what differs between
warehouses: the connection, column types, how the validated rows reach the warehouse, and locking. The
engines (``warehouse.duckdb_file``, ``warehouse.postgres``) import this module, never each other.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from types import TracebackType

import duckdb

import settings
from settings import ConfigError

DUCKDB_MEMORY_LIMIT_ENV = settings.env_name("duckdb_memory_limit")


class LoadError(RuntimeError):
    """A load failed; the message names the endpoint and files, and quotes no delivered data."""


def sql_str(text: str) -> str:
    """A SQL string literal (standard quoting: DuckDB and PostgreSQL alike)."""
    return "'" + text.replace("'", "''") + "'"


def configure_duckdb(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """UTC, no progress bar, and the memory limit of ``TOKENBOOKS_DUCKDB_MEMORY_LIMIT`` when it is set."""
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    limit = settings.current().duckdb_memory_limit
    if limit:
        try:
            con.execute(f"set memory_limit = {sql_str(limit)}")
        except duckdb.Error as error:
            raise ConfigError(
                f"{DUCKDB_MEMORY_LIMIT_ENV}: expected a memory size such as 4GB or 50%, got {limit!r} ({error})"
            ) from None
    return con


class WarehouseSession(ABC):
    """One connection to the warehouse, plus the DuckDB connection where chunks are validated (``staging``).

    Write SQL runs through ``execute``/``fetchall`` and must be portable (DuckDB and PostgreSQL); the column
    types it is given are DuckDB's, mapped by ``column_type``.
    """

    staging: duckdb.DuckDBPyConnection

    @abstractmethod
    def execute(self, sql: str) -> None: ...

    @abstractmethod
    def fetchall(self, sql: str) -> list[tuple]: ...

    def fetchone(self, sql: str) -> tuple:
        return self.fetchall(sql)[0]

    @abstractmethod
    def column_type(self, duckdb_type: str) -> str:
        """The warehouse's type for a raw column declared with a DuckDB type."""

    @abstractmethod
    def publish(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        """Make the staged temp table ``table`` readable by this session's SQL, inside the open transaction."""

    @abstractmethod
    def lock(self, name: str) -> None:
        """Serialize writers of ``name`` until the transaction ends."""

    @abstractmethod
    def create_lookup_index(self, table: str, columns: Sequence[str]) -> None:
        """An index for the loader's lookups, where the warehouse needs one."""

    @abstractmethod
    def close(self) -> None: ...

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.execute("begin")
        try:
            yield
        except BaseException:
            # a lost connection cannot roll back (the server does): keep the error that says why
            with suppress(Exception):
                self.execute("rollback")
            raise
        self.execute("commit")

    def __enter__(self) -> WarehouseSession:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None):
        self.close()
