"""Fixtures shared by every test folder: a throwaway PostgreSQL server, and the pipeline run on it.

One server per test session, started from the machine's PostgreSQL server binaries in a temporary directory on
a free loopback port, with password authentication like a production database; every user of it gets a fresh
database (``postgres_server.new_database()``). Tests that need it are skipped, saying why, only when the
binaries are not installed.

``postgres_pipeline`` is the whole pipeline (Dagster's ingestion and dbt assets) run once on PostgreSQL over
``mixed_landing``, for the tests that compare it with DuckDB and those of BI access.
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
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from hypothesis import settings as hypothesis_settings

import settings
from ingestion.records import ENDPOINTS
from ingestion.sources import LandingSource
from sample_platform.generator import generate
from warehouse import PostgresWarehouse

# Property tests draw the same examples on every CI run (a failure there reproduces exactly); locally they explore.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")


class SettingsMonkeyPatch(pytest.MonkeyPatch):
    """A MonkeyPatch after whose environment changes (and their undoing) settings are read again: tokenbooks
    reads its settings once per process, and a test changes the environment of this one."""

    def setenv(self, name: str, value: str, prepend: str | None = None) -> None:
        super().setenv(name, value, prepend)
        settings.current.cache_clear()

    def delenv(self, name: str, raising: bool = True) -> None:
        super().delenv(name, raising)
        settings.current.cache_clear()

    def undo(self) -> None:
        super().undo()
        settings.current.cache_clear()


@pytest.fixture
def monkeypatch() -> Iterator[SettingsMonkeyPatch]:
    with SettingsMonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def env_patch():
    """``SettingsMonkeyPatch.context``, for fixtures of a wider scope and for helpers."""
    return SettingsMonkeyPatch.context


REPO = Path(__file__).resolve().parents[1]
# The longest modules first: under `make test` (two workers, a module per worker at a time) each starts at once
# on a worker of its own while the other worker takes the many short modules, instead of one of them running
# alone at the end.
LONGEST_MODULES = ("tests/orchestration/test_run_end_to_end.py", "tests/benchmarks/test_harness.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        return LONGEST_MODULES.index(module) if module in LONGEST_MODULES else len(LONGEST_MODULES)

    items.sort(key=rank)  # stable: the order within each module stays as written


TINY_LANDING = REPO / "tests" / "fixtures" / "tiny_landing"

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


@pytest.fixture(scope="session")
def mixed_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny hand-checked landing data and a small generated sample in one landing directory, side by side
    under each endpoint (the tiny files first in delivery order)."""
    root = tmp_path_factory.mktemp("mixed_landing")
    sample = tmp_path_factory.mktemp("sample")
    generate(sample, orgs=3, days=3, spans_per_day=150)
    for name, source in (("a_tiny", TINY_LANDING), ("b_sample", sample)):
        for folder in source.iterdir():
            if folder.name in ENDPOINTS:  # not the tiny data's extra scenarios (late_corrections, ...)
                shutil.copytree(folder, root / folder.name / name)
    return root


@pytest.fixture(scope="session")
def mixed_landing_days(mixed_landing: Path) -> tuple[date, date]:
    """First and last UTC day of ``mixed_landing``'s events: the partitions a run over it covers."""
    from orchestration.windows import landing_event_dates

    days = landing_event_dates(LandingSource(mixed_landing))
    assert days is not None
    return days


@pytest.fixture(scope="session")
def mixed_landing_window(mixed_landing_days: tuple[date, date]) -> tuple[datetime, datetime]:
    """The event window such a run loads and gives dbt (``window_start``/``window_end``), lookback included."""
    import dagster as dg

    from orchestration.assets.ingestion import load_window
    from orchestration.resources import lookback

    first, last = (datetime.combine(day, time(), tzinfo=UTC) for day in mixed_landing_days)
    return load_window(dg.TimeWindow(first, last + timedelta(days=1)), lookback())


@pytest.fixture(scope="session")
def postgres_pipeline(
    postgres_server: PostgresServer, mixed_landing: Path, mixed_landing_days: tuple[date, date]
) -> PostgresDatabase:
    """``mixed_landing`` loaded and built on a fresh PostgreSQL database the way production runs it: the daily
    job's ingestion and dbt assets in one Dagster run over the data's days, with the warehouse type set in the
    run's resource config and the connection in TOKENBOOKS_PG_* (dbt's tests run as asset checks: all pass)."""
    import dagster as dg

    from orchestration.resources import prepare_dbt_manifest

    prepare_dbt_manifest()  # before the Definitions read the manifest
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingestion import ingestion_assets
    from orchestration.definitions import defs
    from orchestration.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
    from orchestration.schedules import DAILY_JOB_NAME

    database = postgres_server.new_database()
    first, last = mixed_landing_days
    with SettingsMonkeyPatch.context() as env, dg.DagsterInstance.ephemeral() as instance:
        env.delenv("TOKENBOOKS_DBT_TARGET", raising=False)
        for name, value in database.env().items():
            env.setenv(name, value)
        result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
            instance=instance,
            asset_selection=[*(asset.key for asset in ingestion_assets), *dbt_models.keys],
            tags={PARTITION_RANGE_START_TAG: first.isoformat(), PARTITION_RANGE_END_TAG: last.isoformat()},
            run_config={
                "resources": {
                    "warehouse": {"config": {"type": "postgres"}},
                    "platform": {"config": {"landing_dir": str(mixed_landing)}},
                }
            },
            raise_on_error=False,
        )
    failures = [f"{event.step_key}: {event.event_specific_data}" for event in result.get_step_failure_events()]
    assert result.success, "\n".join(failures)
    return database


@pytest.fixture(scope="session")
def defs():
    """The Definitions, loaded once per session after parsing the dbt project (only when the manifest is missing
    or older than the project files). A fixture rather than an import, so a dbt project that does not parse
    fails the tests that need it, not the collection of the whole suite."""
    from orchestration.resources import prepare_dbt_manifest

    prepare_dbt_manifest()
    from orchestration.definitions import defs

    return defs
