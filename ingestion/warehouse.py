"""Where raw tables are written: a DuckDB file (the default) or a PostgreSQL database.

The loader (``ingestion.load``) validates every chunk with the same DuckDB SQL whatever the warehouse, then
writes it through a ``WarehouseSession`` with the same SQL too. A session hides only what differs between
warehouses: the connection, column types, how the validated rows reach the warehouse, and locking.

Settings come from the environment only (the password never leaves it):

=============================  =================================================================================
``TOKENBOOKS_WAREHOUSE_TYPE``  ``duckdb`` (default) or ``postgres``
``TOKENBOOKS_WAREHOUSE``       the DuckDB file (default ``data/warehouse.duckdb``)
``TOKENBOOKS_DUCKDB_MEMORY_LIMIT``  memory DuckDB may use before it spills to disk, e.g. ``4GB`` or ``50%``
                               (default ``80%`` of RAM); the loader's and dbt's connections alike
``TOKENBOOKS_PG_HOST``         PostgreSQL host (default ``127.0.0.1``); ``_PORT`` (5432), ``_USER`` (tokenbooks),
                               ``_PASSWORD`` (none: libpq's password file or trust), ``_DBNAME`` (tokenbooks),
                               ``_SSLMODE`` (prefer): the same variables dbt's ``postgres`` target reads
=============================  =================================================================================
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import ClassVar

import duckdb

from ingestion.sources import ConfigError

WAREHOUSE_TYPE_ENV = "TOKENBOOKS_WAREHOUSE_TYPE"
DUCKDB_PATH_ENV = "TOKENBOOKS_WAREHOUSE"
DUCKDB_MEMORY_LIMIT_ENV = "TOKENBOOKS_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_PATH = "data/warehouse.duckdb"
POSTGRES_ENV_PREFIX = "TOKENBOOKS_PG_"
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class LoadError(RuntimeError):
    """A load failed; the message names the endpoint and files, and quotes no delivered data."""


def sql_str(text: str) -> str:
    """A SQL string literal (standard quoting: DuckDB and PostgreSQL alike)."""
    return "'" + text.replace("'", "''") + "'"


def configure_duckdb(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """UTC, no progress bar, and the memory limit of ``TOKENBOOKS_DUCKDB_MEMORY_LIMIT`` when it is set."""
    con.execute("set TimeZone = 'UTC'")
    con.execute("set enable_progress_bar = false")
    limit = os.environ.get(DUCKDB_MEMORY_LIMIT_ENV, "")
    if limit:
        try:
            con.execute(f"set memory_limit = {sql_str(limit)}")
        except duckdb.Error as error:
            raise ConfigError(
                f"{DUCKDB_MEMORY_LIMIT_ENV}: expected a memory size such as 4GB or 50%, got {limit!r} ({error})"
            ) from None
    return con


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A short-lived DuckDB connection (``configure_duckdb``); DuckDB allows one writing process per file."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return configure_duckdb(duckdb.connect(str(path), read_only=read_only))


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


class DuckDBSession(WarehouseSession):
    """Validation and writes on the warehouse file's own connection: staged tables need no copying."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self.connection = connection
        self.staging = connection

    def execute(self, sql: str) -> None:
        self.connection.execute(sql)

    def fetchall(self, sql: str) -> list[tuple]:
        return self.connection.execute(sql).fetchall()

    def column_type(self, duckdb_type: str) -> str:
        return duckdb_type

    def publish(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        pass  # staged in this very connection

    def lock(self, name: str) -> None:
        pass  # one writing process per file: DuckDB serializes writers itself

    def create_lookup_index(self, table: str, columns: Sequence[str]) -> None:
        pass  # column scans are fast; an index would slow every append

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class DuckDBWarehouse:
    path: Path
    kind: ClassVar[str] = "duckdb"

    def session(self, *, read_only: bool = False) -> WarehouseSession:
        return DuckDBSession(connect(self.path, read_only=read_only))

    def describe(self) -> str:
        return str(self.path)

    def dbt_env(self) -> dict[str, str]:
        """What dbt's ``duckdb`` target reads from the environment."""
        return {DUCKDB_PATH_ENV: str(self.path)}


@dataclass(frozen=True)
class PostgresWarehouse:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "tokenbooks"
    password: str = field(default="", repr=False)
    dbname: str = "tokenbooks"
    sslmode: str = "prefer"
    kind: ClassVar[str] = "postgres"

    def session(self, *, read_only: bool = False) -> WarehouseSession:
        from ingestion.postgres import PostgresSession  # psycopg2 is only needed with this warehouse

        return PostgresSession(self, read_only=read_only)

    def describe(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    def dbt_env(self) -> dict[str, str]:
        """What dbt's ``postgres`` target reads from the environment."""
        values = {
            "HOST": self.host,
            "PORT": str(self.port),
            "USER": self.user,
            "PASSWORD": self.password,
            "DBNAME": self.dbname,
            "SSLMODE": self.sslmode,
        }
        return {POSTGRES_ENV_PREFIX + name: value for name, value in values.items()}

    @classmethod
    def from_env(cls) -> PostgresWarehouse:
        def setting(name: str, default: str) -> str:
            return os.environ.get(POSTGRES_ENV_PREFIX + name) or default

        port = setting("PORT", str(cls.port))
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{POSTGRES_ENV_PREFIX}PORT: expected a TCP port number, got {port!r}")
        sslmode = setting("SSLMODE", cls.sslmode)
        if sslmode not in SSL_MODES:
            raise ConfigError(f"{POSTGRES_ENV_PREFIX}SSLMODE: expected one of {', '.join(SSL_MODES)}, got {sslmode!r}")
        return cls(
            host=setting("HOST", cls.host),
            port=int(port),
            user=setting("USER", cls.user),
            password=os.environ.get(POSTGRES_ENV_PREFIX + "PASSWORD", ""),
            dbname=setting("DBNAME", cls.dbname),
            sslmode=sslmode,
        )


Warehouse = DuckDBWarehouse | PostgresWarehouse
WAREHOUSE_TYPES = (DuckDBWarehouse.kind, PostgresWarehouse.kind)


def duckdb_warehouse(path: str | Path | None = None) -> DuckDBWarehouse:
    """The DuckDB file as an absolute path (dbt runs in its project folder, so relative paths would differ)."""
    value = path or os.environ.get(DUCKDB_PATH_ENV) or DEFAULT_DUCKDB_PATH
    absolute = Path(value).expanduser().absolute()
    if absolute.is_dir():
        raise ConfigError(f"{DUCKDB_PATH_ENV} / --warehouse: expected a DuckDB file path, got the directory {absolute}")
    return DuckDBWarehouse(absolute)


def warehouse_from_settings(kind: str | None = None, duckdb_path: str | Path | None = None) -> Warehouse:
    """The configured warehouse: ``kind`` else ``TOKENBOOKS_WAREHOUSE_TYPE``, else DuckDB."""
    kind = kind or os.environ.get(WAREHOUSE_TYPE_ENV) or DuckDBWarehouse.kind
    if kind == DuckDBWarehouse.kind:
        return duckdb_warehouse(duckdb_path)
    if kind != PostgresWarehouse.kind:
        raise ConfigError(f"{WAREHOUSE_TYPE_ENV}: expected one of {', '.join(WAREHOUSE_TYPES)}, got {kind!r}")
    if duckdb_path:
        raise ConfigError(
            f"{DUCKDB_PATH_ENV} / --warehouse names a DuckDB file, but {WAREHOUSE_TYPE_ENV} is postgres: "
            f"PostgreSQL is reached through {POSTGRES_ENV_PREFIX}HOST, _PORT, _USER, _PASSWORD and _DBNAME"
        )
    return PostgresWarehouse.from_env()


def as_warehouse(warehouse: Warehouse | str | Path) -> Warehouse:
    """A warehouse as given, or a DuckDB file path (how callers named the warehouse before PostgreSQL)."""
    if isinstance(warehouse, DuckDBWarehouse | PostgresWarehouse):
        return warehouse
    return DuckDBWarehouse(Path(warehouse))
