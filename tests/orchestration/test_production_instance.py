"""The production instance config (orchestration/deploy/dagster.yaml) against a real PostgreSQL 15 server.

The instance's database is a fresh one on the session's throwaway server (``postgres_server`` in
tests/conftest.py: skipped when the binaries are not installed), with password authentication like a
production database; a small materialization runs through the instance, and the run, its materialization,
its check and the DuckDB pool's slot are then read back from PostgreSQL.
"""

import json
import shutil
from pathlib import Path

import dagster as dg
import pytest

from orchestration.assets.ingestion import RECONCILES_CHECK
from orchestration.schedules import DAILY_JOB_NAME

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PRODUCTION_CONFIG = Path(__file__).resolve().parents[2] / "orchestration" / "deploy" / "dagster.yaml"
ORGANIZATIONS = [
    {"id": "org_a", "name": "A", "plan": "growth", "updated_at": "2026-02-01T00:00:00Z"},
    {"id": "org_b", "name": "B", "plan": "free", "updated_at": "2026-02-03T00:00:00Z"},
    {"id": "org_c", "name": "C", "updated_at": "yesterday"},  # quarantined: not a timestamp
]


@pytest.fixture(scope="module")
def instance_database(postgres_server):
    return postgres_server.new_database()


@pytest.fixture
def production_home(instance_database, tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(PRODUCTION_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    for name, value in {
        "DAGSTER_PG_HOST": instance_database.host,
        "DAGSTER_PG_PORT": str(instance_database.port),
        "DAGSTER_PG_USER": instance_database.user,
        "DAGSTER_PG_PASSWORD": instance_database.password,
        "DAGSTER_PG_DB": instance_database.dbname,
    }.items():
        monkeypatch.setenv(name, value)
    return home


def test_runs_and_materializations_are_stored_in_postgres(defs, instance_database, production_home, tmp_path):
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
    assert instance_database.rows("select status from runs where run_id = %s", [result.run_id]) == [("SUCCESS",)]
    key = organizations.to_string()
    assert instance_database.rows(
        "select asset_key, partition from event_logs "
        "where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
        [result.run_id],
    ) == [(key, "2026-03-01")]
    assert instance_database.rows(
        "select asset_key, execution_status from asset_check_executions "
        "where run_id = %s and check_name = %s and execution_status <> 'PLANNED'",
        [result.run_id, RECONCILES_CHECK],
    ) == [(key, "SUCCEEDED")]
    assert {name: stored.metadata[name].value for name in ("fetched", "loaded", "duplicates", "quarantined")} == {
        "fetched": 3,
        "loaded": 2,
        "duplicates": 0,
        "quarantined": 1,
    }
    # the DuckDB pool exists with the one slot the production config gives every pool
    assert instance_database.rows(
        "select concurrency_key, count(*) from concurrency_slots group by concurrency_key"
    ) == [("duckdb", 1)]
