"""The warehouse: where the loader writes ``raw.*`` and dbt builds the marts, read by billing, alerting and BI.

An embedded DuckDB file (``warehouse.duckdb_file``, the default) or a PostgreSQL database
(``warehouse.postgres``), both behind ``warehouse.base.WarehouseSession``. Their settings come from the
``settings`` module only (the PostgreSQL password never leaves the environment).
"""

from __future__ import annotations

from pathlib import Path

import settings
from settings import WAREHOUSE_TYPES, ConfigError
from warehouse.base import DUCKDB_MEMORY_LIMIT_ENV, LoadError, WarehouseSession, configure_duckdb, sql_str
from warehouse.duckdb_file import DUCKDB_PATH_ENV, DuckDBSession, DuckDBWarehouse, connect
from warehouse.postgres import POSTGRES_ENV_PREFIX, PostgresWarehouse

__all__ = [
    "DBT_TARGET_ENV",
    "DUCKDB_MEMORY_LIMIT_ENV",
    "DUCKDB_PATH_ENV",
    "POSTGRES_ENV_PREFIX",
    "WAREHOUSE_TYPES",
    "WAREHOUSE_TYPE_ENV",
    "DuckDBSession",
    "DuckDBWarehouse",
    "LoadError",
    "PostgresWarehouse",
    "Warehouse",
    "WarehouseSession",
    "as_warehouse",
    "configure_duckdb",
    "configured_warehouse",
    "connect",
    "sql_str",
]

WAREHOUSE_TYPE_ENV = settings.env_name("warehouse_type")
DBT_TARGET_ENV = settings.env_name("dbt_target")

Warehouse = DuckDBWarehouse | PostgresWarehouse


def configured_warehouse(kind: str | None = None, duckdb_path: str | Path | None = None) -> Warehouse:
    """The warehouse the loader writes and dbt builds: ``kind`` (a run's config), else ``TOKENBOOKS_WAREHOUSE_TYPE``,
    else the type ``TOKENBOOKS_DBT_TARGET`` names, else DuckDB. A dbt target naming the other warehouse is an
    error, and so is a DuckDB file given with the PostgreSQL warehouse."""
    configured = settings.current()
    target = configured.dbt_target
    kind = kind or configured.warehouse_type or target or DuckDBWarehouse.kind
    if kind not in WAREHOUSE_TYPES:
        raise ConfigError(f"{WAREHOUSE_TYPE_ENV}: expected one of {', '.join(WAREHOUSE_TYPES)}, got {kind!r}")
    if kind == PostgresWarehouse.kind and duckdb_path:
        raise ConfigError(
            f"{DUCKDB_PATH_ENV} / --warehouse names a DuckDB file, but {WAREHOUSE_TYPE_ENV} is postgres: "
            f"PostgreSQL is reached through {POSTGRES_ENV_PREFIX}HOST, _PORT, _USER, _PASSWORD and _DBNAME"
        )
    if target and target != kind:
        raise ConfigError(
            f"{DBT_TARGET_ENV}={target} disagrees with the {kind} warehouse ({WAREHOUSE_TYPE_ENV}): "
            f"unset {DBT_TARGET_ENV}, dbt's target follows the warehouse type"
        )
    if kind == PostgresWarehouse.kind:
        return PostgresWarehouse.from_settings(configured)
    return DuckDBWarehouse.at(duckdb_path or configured.warehouse)


def as_warehouse(warehouse: Warehouse | str | Path) -> Warehouse:
    """A warehouse as given, or a DuckDB file path."""
    if isinstance(warehouse, DuckDBWarehouse | PostgresWarehouse):
        return warehouse
    return DuckDBWarehouse(Path(warehouse))
