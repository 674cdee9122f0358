"""Fixtures shared by every test folder: a throwaway PostgreSQL server.

One server per test session, started from the machine's PostgreSQL server binaries in a temporary directory on
a free loopback port, with password authentication like a production database; every user of it gets a fresh
database (``postgres_server.new_database()``). Tests that need it are skipped, saying why, only when the
binaries are not installed.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from ingestion.warehouse import PostgresWarehouse

# initdb on the PATH, else where Debian and Ubuntu install the server: version 15 first, then any other.
POSTGRES_BIN_DIRS = [
    *(Path(found).parent for found in [shutil.which("initdb")] if found),
    Path("/usr/lib/postgresql/15/bin"),
    *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
]
# initdb refuses to run as root: the server then runs as this user, as the server packages set it up.
SERVER_USER = "postgres"
SUPERUSER = "tokenbooks_test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class PostgresDatabase:
    """One database of the test server; ``user``/``password`` are the server's superuser."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str

    def connect(self, user: str | None = None, password: str | None = None) -> Any:
        """An autocommit connection, as the superuser unless another login is given."""
        connection = psycopg2.connect(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=user or self.user,
            password=password if user else self.password,
        )
        connection.autocommit = True
        return connection

    def rows(self, sql: str, params: Sequence[Any] = (), *, user: str | None = None, password: str | None = None):
        connection = self.connect(user, password)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params or None)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()

    def warehouse(self) -> PostgresWarehouse:
        return PostgresWarehouse(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.dbname
        )

    def env(self) -> dict[str, str]:
        """The TOKENBOOKS_PG_* settings that point the loader and dbt at this database."""
        return self.warehouse().dbt_env()


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    _names: Iterator[int] = field(default_factory=itertools.count, repr=False)

    def new_database(self) -> PostgresDatabase:
        name = f"test_{next(self._names)}"
        admin = PostgresDatabase(self.host, self.port, self.user, self.password, "postgres")
        admin.rows(f"create database {name}")
        return PostgresDatabase(self.host, self.port, self.user, self.password, name)


def _run(command: Sequence[object], as_server_user: Sequence[str], log: Path | None = None) -> None:
    done = subprocess.run([*as_server_user, *map(str, command)], capture_output=True, text=True)
    if done.returncode != 0:
        server_log = log.read_text() if log and log.exists() else ""
        raise RuntimeError(f"{command[0]} failed ({done.returncode}): {done.stderr}{done.stdout}{server_log}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bin_dir = next((d for d in POSTGRES_BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.fail(f"running as root, the test PostgreSQL server needs the {SERVER_USER!r} user to run as")
        as_server_user = ["runuser", "-u", SERVER_USER, "--"]
    # Not under pytest's private temp root: the server user must be able to reach its data directory.
    root = Path(tempfile.mkdtemp(prefix="tokenbooks-postgres-"))
    password = secrets.token_hex(12)
    password_file = root / "password"
    password_file.write_text(password)
    if as_server_user:
        for path in (root, password_file):
            shutil.chown(path, SERVER_USER)
    data, log, port = root / "data", root / "server.log", free_port()
    try:
        # C collation in UTF-8: text sorts by code point, as on DuckDB.
        initdb = [bin_dir / "initdb", "-D", data, "-U", SUPERUSER, f"--pwfile={password_file}"]
        _run([*initdb, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C"], as_server_user)
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        _run([bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", log, "-w", "start"], as_server_user, log)
        yield PostgresServer("127.0.0.1", port, SUPERUSER, password)
    finally:
        subprocess.run(
            [*as_server_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> PostgresDatabase:
    """A fresh, empty database on the session's server."""
    return postgres_server.new_database()
