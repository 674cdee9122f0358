"""The production instance config (orchestration/deploy/dagster.yaml) against a real PostgreSQL 15 server.

A throwaway server is started from the PostgreSQL binaries (skipped when they are not installed), with
password authentication like a production database; a small materialization runs through the instance, and
the run, its materialization, its check and the DuckDB pool's slot are then read back from PostgreSQL.
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from orchestration.assets.ingestion import RECONCILES_CHECK
from orchestration.schedules import DAILY_JOB_NAME

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

psycopg2 = pytest.importorskip("psycopg2")

PRODUCTION_CONFIG = Path(__file__).resolve().parents[2] / "orchestration" / "deploy" / "dagster.yaml"
# The PostgreSQL 15 server binaries: on the PATH, else where Debian and Ubuntu install them.
SERVER_BIN_DIRS = [Path(found).parent for found in [shutil.which("initdb")] if found] + [
    Path("/usr/lib/postgresql/15/bin")
]
ROLE, PASSWORD, DATABASE = "dagster", "not-a-real-secret", "dagster"
ORGANIZATIONS = [
    {"id": "org_a", "name": "A", "plan": "growth", "updated_at": "2026-02-01T00:00:00Z"},
    {"id": "org_b", "name": "B", "plan": "free", "updated_at": "2026-02-03T00:00:00Z"},
    {"id": "org_c", "name": "C", "updated_at": "yesterday"},  # quarantined: not a timestamp
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_server():
    """A PostgreSQL server on a free loopback port with a password-protected role and database."""
    bin_dir = next((d for d in SERVER_BIN_DIRS if (d / "initdb").exists() and (d / "pg_ctl").exists()), None)
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # The server user must reach its data directory, which pytest's private temp root does not allow.
    root = Path(tempfile.mkdtemp(prefix="tokenbooks-dagster-pg-"))
    # initdb refuses to run as root: then the server runs as the postgres user.
    as_server_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_server_user:
        shutil.chown(root, "postgres")
    password_file = root / "password"
    password_file.write_text(PASSWORD)
    if as_server_user:
        shutil.chown(password_file, "postgres")
    data, port = root / "data", free_port()
    initdb = [bin_dir / "initdb", "-D", data, "-U", ROLE, f"--pwfile={password_file}", "--auth=scram-sha-256"]
    subprocess.run([*as_server_user, *initdb], check=True, capture_output=True)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*as_server_user, bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w", "start"],
        check=True,
        capture_output=True,
    )
    settings = {"host": "127.0.0.1", "port": port, "user": ROLE, "password": PASSWORD}
    try:
        admin = psycopg2.connect(**settings, dbname="postgres")
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(f"create database {DATABASE}")
        admin.close()
        yield {**settings, "dbname": DATABASE}
    finally:
        stop = [*as_server_user, bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def production_home(postgres_server, tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in {
        "DAGSTER_PG_HOST": postgres_server["host"],
        "DAGSTER_PG_PORT": str(postgres_server["port"]),
        "DAGSTER_PG_USER": postgres_server["user"],
        "DAGSTER_PG_PASSWORD": postgres_server["password"],
        "DAGSTER_PG_DB": postgres_server["dbname"],
    }.items():
        monkeypatch.setenv(name, value)
    return home


def postgres_rows(settings: dict, sql: str, *params: object) -> list[tuple]:
    con = psycopg2.connect(**settings)
    try:
        with con.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        con.close()


def test_runs_and_materializations_are_stored_in_postgres(defs, postgres_server, production_home, tmp_path):
    landing = tmp_path / "landing"
    (landing / "organizations").mkdir(parents=True)
    (landing / "organizations" / "snapshot.jsonl").write_text("".join(json.dumps(o) + "\n" for o in ORGANIZATIONS))
    organizations = dg.AssetKey(["raw", "organizations"])
    resources = {
        "warehouse": {"config": {"path": str(tmp_path / "warehouse.duckdb")}},
        "platform": {"config": {"landing_dir": str(landing)}},
    }

    with dg.DagsterInstance.get() as instance:
        result = defs.resolve_job_def(DAILY_JOB_NAME).execute_in_process(
            instance=instance,
            partition_key="2026-03-01",
            asset_selection=[organizations],
            run_config={"resources": resources},
        )
        stored = instance.get_latest_materialization_event(organizations).asset_materialization

    assert result.success
    assert postgres_rows(postgres_server, "select status from runs where run_id = %s", result.run_id) == [("SUCCESS",)]
    key = organizations.to_string()
    assert postgres_rows(
        postgres_server,
        "select asset_key, partition from event_logs "
        "where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
        result.run_id,
    ) == [(key, "2026-03-01")]
    assert postgres_rows(
        postgres_server,
        "select asset_key, execution_status from asset_check_executions "
        "where run_id = %s and check_name = %s and execution_status <> 'PLANNED'",
        result.run_id,
        RECONCILES_CHECK,
    ) == [(key, "SUCCEEDED")]
    assert {name: stored.metadata[name].value for name in ("fetched", "loaded", "duplicates", "quarantined")} == {
        "fetched": 3,
        "loaded": 2,
        "duplicates": 0,
        "quarantined": 1,
    }
    # the DuckDB pool exists with the one slot the production config gives every pool
    assert postgres_rows(
        postgres_server, "select concurrency_key, count(*) from concurrency_slots group by concurrency_key"
    ) == [("duckdb", 1)]
