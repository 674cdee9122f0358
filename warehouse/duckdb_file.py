"""The embedded warehouse: one DuckDB file, written by one process at a time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import duckdb

import settings
from settings import ConfigError
from warehouse.base import WarehouseSession, configure_duckdb

DUCKDB_PATH_ENV = settings.env_name("warehouse")


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A short-lived DuckDB connection (``configure_duckdb``); DuckDB allows one writing process per file."""
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return configure_duckdb(duckdb.connect(str(path), read_only=read_only))


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

    @classmethod
    def at(cls, path: str | Path) -> DuckDBWarehouse:
        """The DuckDB file as an absolute path (dbt runs in its project folder, so relative paths would differ)."""
        absolute = Path(path).expanduser().absolute()
        if absolute.is_dir():
            raise ConfigError(
                f"{DUCKDB_PATH_ENV} / --warehouse: expected a DuckDB file path, got the directory {absolute}"
            )
        return cls(absolute)
