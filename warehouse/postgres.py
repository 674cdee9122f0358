"""The PostgreSQL warehouse (for BI tools and many readers), and its session: chunks are validated in an
in-process DuckDB, then copied in.

Validation stays the vectorized DuckDB SQL compiled from the contract. A validated chunk reaches PostgreSQL
through ``COPY ... FROM STDIN`` (CSV spooled to a temporary file, so memory stays flat) into temporary tables
that live only inside the chunk's transaction; the loader's portable SQL then writes the raw tables from them.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import duckdb
import psycopg2

import settings
from warehouse.base import LoadError, WarehouseSession, configure_duckdb, sql_str
from warehouse.redaction import safe_message

# DuckDB column types as PostgreSQL spells them; the others (bigint, integer, timestamp) are the same.
POSTGRES_ENV_PREFIX = settings.ENV_PREFIX + "PG_"
POSTGRES_TYPES = {"varchar": "text", "json": "jsonb", "double": "double precision"}
APPLICATION_NAME = "tokenbooks-loader"
CONNECT_TIMEOUT_SECONDS = 10
# PostgreSQL text cannot hold U+0000, which JSON can carry as "\u0000": it is stored as U+FFFD instead (the
# record hash is taken from the record as delivered, so re-deliveries still deduplicate).
REPLACEMENT_CHARACTER = "\ufffd"


def _without_nul(name: str, duckdb_type: str) -> str:
    """DuckDB SQL giving a staged column with U+0000 replaced, in text and in JSON escapes."""
    quoted = f'"{name}"'
    if duckdb_type == "varchar":
        return f"replace({quoted}, chr(0), {sql_str(REPLACEMENT_CHARACTER)})"
    if duckdb_type == "json":
        # Escaped backslashes are set aside first, so "\\u0000" (a backslash, then the text u0000) stays as is;
        # chr(1) cannot occur in JSON text, where control characters are always escaped.
        text = f"replace(cast({quoted} as varchar), '\\\\', chr(1))"
        text = f"replace({text}, '\\u0000', '\\ufffd')"
        return f"replace({text}, chr(1), '\\\\')"
    return quoted


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
    def from_settings(cls, configured: settings.Settings) -> PostgresWarehouse:
        return cls(
            host=configured.pg_host,
            port=configured.pg_port,
            user=configured.pg_user,
            password=configured.pg_password.get_secret_value(),
            dbname=configured.pg_dbname,
            sslmode=configured.pg_sslmode,
        )


class PostgresSession(WarehouseSession):
    def __init__(self, warehouse: PostgresWarehouse, *, read_only: bool = False):
        self.connection = psycopg2.connect(
            host=warehouse.host,
            port=warehouse.port,
            user=warehouse.user,
            password=warehouse.password or None,
            dbname=warehouse.dbname,
            sslmode=warehouse.sslmode,
            application_name=APPLICATION_NAME,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            options="-c timezone=UTC" + (" -c default_transaction_read_only=on" if read_only else ""),
        )
        # Transactions are explicit (begin/commit from the loader), as on DuckDB.
        self.connection.autocommit = True
        self.connection.set_client_encoding("UTF8")
        self._spool = tempfile.TemporaryDirectory(prefix="tokenbooks-postgres-")
        # in memory; what does not fit under the memory limit spills into the session's own folder
        self.staging = configure_duckdb(duckdb.connect(config={"temp_directory": f"{self._spool.name}/duckdb"}))

    def execute(self, sql: str) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)

    def fetchall(self, sql: str) -> list[tuple]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()

    def column_type(self, duckdb_type: str) -> str:
        return POSTGRES_TYPES.get(duckdb_type, duckdb_type)

    def publish(self, table: str, columns: Sequence[tuple[str, str]]) -> None:
        spool = Path(self._spool.name) / f"{table}.csv"
        select = ", ".join(_without_nul(name, sql_type) for name, sql_type in columns)
        self.staging.execute(f"copy (select {select} from {table}) to {sql_str(str(spool))} (format csv, header false)")
        ddl = ", ".join(f'"{name}" {self.column_type(sql_type)}' for name, sql_type in columns)
        self.execute(f"create temp table {table} ({ddl}) on commit drop")
        try:
            with spool.open("rb") as rows, self.connection.cursor() as cursor:
                cursor.copy_expert(f"copy {table} from stdin with (format csv)", rows)
        except psycopg2.DataError as error:
            # a row PostgreSQL refuses: its DETAIL and CONTEXT quote the row, which must not reach a log
            raise LoadError(f"copying {table} into PostgreSQL: {safe_message(error)}") from None
        finally:
            spool.unlink()
        # Temporary tables get no statistics otherwise, and the anti-joins against raw tables need them.
        self.execute(f"analyze {table}")

    def lock(self, name: str) -> None:
        self.execute(f"select pg_advisory_xact_lock(hashtext({sql_str(name)}))")

    def create_lookup_index(self, table: str, columns: Sequence[str]) -> None:
        schema, name = table.split(".")
        index = "_".join([name, *(column.strip("_") for column in columns), "idx"])
        # Checked first: even "if not exists" locks the table against writers before finding the index there.
        (missing,) = self.fetchone(f"select to_regclass({sql_str(f'{schema}.{index}')}) is null")
        if missing:
            column_list = ", ".join(f'"{column}"' for column in columns)
            self.execute(f"create index {index} on {table} ({column_list})")

    def close(self) -> None:
        self.connection.close()
        self.staging.close()
        self._spool.cleanup()
