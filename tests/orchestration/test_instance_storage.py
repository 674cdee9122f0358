"""The local instance's storage (orchestration/instance_storage.py): Dagster's SQLite files and behaviour, with a
connection pool per file instead of a new connection per event.

Real instances in a temporary DAGSTER_HOME, real runs; the stock ``storage: sqlite`` is the reference.
"""

import shutil
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import event
from sqlalchemy.pool import Pool

from cli.dagster_runs import LOCAL_INSTANCE_CONFIG
from orchestration.instance_storage import OPEN_FILES, PooledSqliteEventLogStorage

COUNTED = dg.AssetKey("counted")


CHECKS = [f"rule_{number}" for number in range(20)]  # many events per run: the pool's connections are per file


@dg.asset(check_specs=[dg.AssetCheckSpec(name, asset=COUNTED) for name in CHECKS])
def counted():
    yield dg.Output(3, metadata={"rows": 3})
    for name in CHECKS:
        yield dg.AssetCheckResult(check_name=name, passed=name != "rule_7", metadata={"rule": name})


def pooled_storage(home) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    return {"custom": {"module": "orchestration.instance_storage", "class": "PooledSqliteStorage",
                       "config": {"base_dir": str(home)}}}  # fmt: skip


@pytest.fixture
def connections_opened():
    """How many SQLite connections to event log files (history/runs/*.db) were opened while the test ran."""
    opened = Counter()

    def count(dbapi_connection, connection_record):
        path = dbapi_connection.execute("pragma database_list").fetchone()[2]
        if Path(path).parent.name == "runs":
            opened["connections"] += 1

    event.listen(Pool, "connect", count)
    yield opened
    event.remove(Pool, "connect", count)


def run_twice(instance: dg.DagsterInstance, connections_opened: Counter) -> tuple[list[str], int]:
    """The ids of two runs, and how many connections to event log files the second one opened."""
    first = dg.materialize([counted], instance=instance, raise_on_error=False).run_id
    connections_opened.clear()
    second = dg.materialize([counted], instance=instance, raise_on_error=False).run_id
    return [first, second], connections_opened["connections"]


def stored(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    """What a reader of the instance sees: the events of each run, the asset's latest materialization and its
    checks' latest evaluations."""
    latest = instance.get_latest_materialization_event(COUNTED)
    checks = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(COUNTED, name) for name in CHECKS]
    )
    return {
        "events": [[entry.dagster_event_type for entry in instance.all_logs(run_id)] for run_id in run_ids],
        "latest_run_is_second": latest.run_id == run_ids[1],
        "rows": latest.asset_materialization.metadata["rows"].value,
        "checks": {key.name: (record.run_id == run_ids[1], record.status.value) for key, record in checks.items()},
    }


def test_the_pooled_storage_stores_what_dagsters_sqlite_storage_stores_with_a_few_connections_per_run(
    tmp_path, connections_opened
):
    (tmp_path / "stock").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "stock")) as instance:
        stock_runs, stock_connections = run_twice(instance, connections_opened)
        stock = stored(instance, stock_runs)
    home = tmp_path / "pooled"
    with dg.instance_for_test(temp_dir=str(home), overrides={"storage": pooled_storage(home)}) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        pooled_runs, pooled_connections = run_twice(instance, connections_opened)
        pooled = stored(instance, pooled_runs)

    assert pooled == stock
    assert pooled["latest_run_is_second"]
    assert pooled["checks"] == {name: (True, "FAILED" if name == "rule_7" else "SUCCEEDED") for name in CHECKS}
    assert pooled["rows"] == 3
    # the same files as Dagster's own SQLite storage: the index and one file per run
    assert sorted(path.name for path in (home / "history" / "runs").glob("*.db")) == sorted(
        [f"{run_id}.db" for run_id in pooled_runs] + ["index.db"]
    )
    # Dagster's storage opens two or three connections for every event; the pooled one opens the few that
    # creating the run's file takes (Dagster's own code), then one
    events = len(pooled["events"][1])
    assert events > 60
    assert stock_connections > 2 * events
    assert pooled_connections < 10


def test_only_a_few_files_stay_open_however_many_runs_are_read(tmp_path):
    with dg.instance_for_test(temp_dir=str(tmp_path), overrides={"storage": pooled_storage(tmp_path)}) as instance:
        run_ids = [
            dg.materialize([counted], instance=instance, raise_on_error=False).run_id for _ in range(OPEN_FILES + 2)
        ]
        storage = instance.event_log_storage
        assert [len(instance.all_logs(run_id)) for run_id in run_ids] == [len(instance.all_logs(run_ids[0]))] * (
            OPEN_FILES + 2
        )
        assert len(storage._engines) == OPEN_FILES
        instance.wipe()  # deletes the run files: their engines go first
        assert list(storage._engines) == ["index"]
        assert sorted(path.name for path in (tmp_path / "history" / "runs").glob("*.db")) == ["index.db"]
        assert instance.all_logs(run_ids[-1]) == []


def test_the_local_instance_uses_it_and_a_home_without_the_setting_keeps_dagsters(tmp_path, monkeypatch):
    shutil.copyfile(LOCAL_INSTANCE_CONFIG, tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        assert dg.materialize([counted], instance=instance).success
        assert instance.get_latest_materialization_event(COUNTED).asset_materialization.metadata["rows"].value == 3
    # a DAGSTER_HOME made before (dagster.yaml without `storage`) reads the same files with Dagster's storage
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "SqliteEventLogStorage"
        assert instance.get_latest_materialization_event(COUNTED).asset_materialization.metadata["rows"].value == 3
