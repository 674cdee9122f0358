"""The same dbt project on PostgreSQL: identical marts from identical raw data.

The loader writes DuckDB only, so the raw tables loaded from the tiny landing data are copied as they are
into a throwaway PostgreSQL 15 server started from the machine's binaries (skipped when they are missing).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import duckdb
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

psycopg2 = pytest.importorskip("psycopg2")

# initdb on the PATH, else the Debian/Ubuntu layout of the server packages.
POSTGRES_BIN = [Path(found).parent for found in [shutil.which("initdb")] if found] or sorted(
    Path("/usr/lib/postgresql").glob("*/bin")
)
# DuckDB raw column types as PostgreSQL spells them.
POSTGRES_TYPES = {
    "VARCHAR": "varchar",
    "BIGINT": "bigint",
    "INTEGER": "integer",
    "TIMESTAMP": "timestamp",
    "DOUBLE": "double precision",
    "JSON": "json",
}
MART_KEYS = {
    "fct_llm_calls": "span_id",
    "fct_traces": "trace_id",
    "fct_requests": "request_id",
    "agg_org_daily": "organization_id, activity_date",
    "agg_provider_wasted_daily": "provider, activity_date",
    "pricing_source_disagreements": "provider, model, usage_type, service_tier, input_tokens_above, disagreement",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres():
    """A throwaway server on a loopback port; yields its connection settings as TOKENBOOKS_PG_* values."""
    if not POSTGRES_BIN:
        pytest.skip("PostgreSQL server binaries are not installed")
    bin_dir = POSTGRES_BIN[-1]
    # Not under pytest's private temp root: the server user must be able to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="tokenbooks-postgres-"))
    # initdb refuses to run as root: run the server as the postgres user then.
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_server_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    subprocess.run(
        [*as_server_user, bin_dir / "initdb", "-D", data, "-A", "trust", "-U", "tokenbooks"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_server_user, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    settings = {"host": "127.0.0.1", "port": port, "user": "tokenbooks", "dbname": "postgres"}
    try:
        yield settings
    finally:
        subprocess.run(
            [*as_server_user, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(root, ignore_errors=True)


def copy_raw_tables(warehouse: Path, settings: dict) -> None:
    source = duckdb.connect(str(warehouse))
    target = psycopg2.connect(**settings)
    try:
        with target, target.cursor() as cursor:
            cursor.execute("create schema raw")
            tables = source.execute(
                "select table_name from information_schema.tables where table_schema = 'raw' order by table_name"
            ).fetchall()
            for (table,) in tables:
                columns = source.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                ddl = ", ".join(f'"{name}" {POSTGRES_TYPES[sql_type]}' for name, sql_type in columns)
                cursor.execute(f"create table raw.{table} ({ddl})")
                placeholders = ", ".join(["%s"] * len(columns))
                rows = source.execute(f"select * from raw.{table}").fetchall()
                cursor.executemany(f"insert into raw.{table} values ({placeholders})", rows)
    finally:
        source.close()
        target.close()


def postgres_rows(settings: dict, sql: str) -> list[tuple]:
    con = psycopg2.connect(**settings)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        con.close()


def test_marts_on_postgres_equal_marts_on_duckdb(new_workspace, tiny_landing, postgres, monkeypatch):
    workspace = new_workspace()
    workspace.load(tiny_landing)
    workspace.dbt("build")
    copy_raw_tables(workspace.warehouse, postgres)

    for name, value in postgres.items():
        monkeypatch.setenv(f"TOKENBOOKS_PG_{name.upper()}", str(value))
    workspace.dbt("build", "--target", "postgres")

    for mart, key in MART_KEYS.items():
        on_duckdb = [tuple(row.values()) for row in workspace.query(f"select * from marts.{mart} order by {key}")]
        on_postgres = postgres_rows(postgres, f"select * from marts.{mart} order by {key}")
        assert on_postgres == on_duckdb, mart
