"""Runs whose process died: their run lock tells, and recovering them frees the pool for the runs after them.

A real run, in a process of its own, holds a slot of the ``duckdb`` pool on a local instance (the project's
dagster.yaml: one slot per pool) while it holds its run lock; it is then killed with SIGKILL. Also: a run
Dagster launches itself (the Definitions' executor) first recovers the crashed runs of its host, then holds its
lock in its run worker; locks of live processes or of other hosts are never taken. The whole ``tokenbooks run``
killed and resumed is in test_run_end_to_end.py.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from cli.dagster_runs import LOCAL_INSTANCE_CONFIG
from orchestration.run_recovery import (
    LOCKS_DIR,
    CrashedRun,
    PoolHolder,
    RunOwner,
    Slot,
    crashed_runs_sensor,
    pool_claims,
    pool_holders,
    recover_crashed_runs,
    run_lock,
    run_lock_executor,
    taken_if_dead,
)

REPO = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
POOL = "duckdb"
# A run holding the pool's slot until it is killed: its op says when it holds it (a file), then sleeps.
HOLDING_RUN = """
import sys, time
from pathlib import Path
import dagster as dg
from orchestration.run_recovery import run_lock

@dg.op(pool="duckdb")
def hold():
    Path(sys.argv[2]).write_text("holding")
    time.sleep(600)

@dg.job
def holding_job():
    hold()

with dg.DagsterInstance.get() as instance, run_lock(instance, sys.argv[1]):
    holding_job.execute_in_process(instance=instance, run_id=sys.argv[1])
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A local instance with the project's config (pools of one slot), as ``tokenbooks`` prepares it."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(LOCAL_INSTANCE_CONFIG, home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def wait_for(path: Path, proc: subprocess.Popen) -> None:
    while not path.exists():
        assert proc.poll() is None, f"the run exited ({proc.returncode}) before holding the pool"
        time.sleep(0.1)


@dg.op(pool=POOL)
def quick() -> None:
    pass


@dg.job
def quick_job():
    quick()


def test_a_live_run_keeps_its_slot_and_a_killed_one_is_recovered_once(home, tmp_path):
    run_id, holding = "0d1e2a5e-0000-4000-8000-000000000001", tmp_path / "holding"
    proc = subprocess.Popen([sys.executable, "-c", HOLDING_RUN, run_id, str(holding)], cwd=REPO, start_new_session=True)
    try:
        wait_for(holding, proc)
        with dg.DagsterInstance.get() as instance:
            alive = crashed_runs_sensor(dg.build_sensor_context(instance=instance))
            holders = pool_holders(instance)
            status = instance.get_run_by_id(run_id).status
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    # alive: nothing taken, and the run is named as holding the pool
    assert alive.skip_message == "no crashed run"
    assert status == dg.DagsterRunStatus.STARTED
    owner = RunOwner(run_id, proc.pid, HOST)
    assert holders == [PoolHolder(run_id, "holding_job", [Slot(POOL, "hold", held=True)], owner)]
    assert holders[0].describe() == (
        f"run {run_id} (holding_job), running in process {proc.pid} on {HOST}: duckdb pool slot (step hold)"
    )

    with dg.DagsterInstance.get() as instance:
        assert pool_claims(instance) == {run_id: [Slot(POOL, "hold", held=True)]}  # the kill left it claimed
        dead = crashed_runs_sensor(dg.build_sensor_context(instance=instance))
        again = crashed_runs_sensor(dg.build_sensor_context(instance=instance))
        run = instance.get_run_by_id(run_id)
        claims = pool_claims(instance)
        after = quick_job.execute_in_process(instance=instance)  # the pool's one slot is free again

    assert dead.skip_message == (
        f"run {run_id} (holding_job) died with its process {proc.pid} on {HOST}: marked it failed and freed its "
        "duckdb pool slot (step hold)"
    )
    assert again.skip_message == "no crashed run"
    assert run.status == dg.DagsterRunStatus.FAILURE
    assert claims == {}
    assert list((home / LOCKS_DIR).iterdir()) == []
    assert after.success


def lock_of(home: Path, run_id: str) -> Path:
    return home / LOCKS_DIR / f"{run_id}.lock"


@dg.op
def lock_is_held(context: dg.OpExecutionContext) -> None:
    """In a step process of its own: the run's lock is there, names the run worker, and cannot be taken."""
    path = lock_of(Path(context.instance.root_directory), context.run_id)
    assert json.loads(path.read_text()) == {"run_id": context.run_id, "pid": os.getppid(), "host": HOST}
    with taken_if_dead(path) as dead:
        assert not dead


@dg.job(executor_def=run_lock_executor)
def lock_probe_job():
    lock_is_held()


def get_lock_probe_job() -> dg.JobDefinition:
    return lock_probe_job


def test_a_run_dagster_launches_recovers_crashed_runs_then_holds_its_lock_in_the_run_worker(home):
    crashed = RunOwner("0d1e2a5e-0000-4000-8000-000000000002", 4243, HOST)  # as a SIGKILL leaves it:
    with dg.DagsterInstance.get() as instance:
        instance.create_run_for_job(quick_job, run_id=crashed.run_id, status=dg.DagsterRunStatus.STARTED)
        instance.event_log_storage.initialize_concurrency_limit_to_default(POOL)
        assert instance.event_log_storage.claim_concurrency_slot(POOL, crashed.run_id, "quick").is_claimed
    write_lock(home, crashed)  # ... and its lock, which nobody holds any more

    # execute_job runs the job as a launched run does: this process is the run worker, each step a process
    with dg.DagsterInstance.get() as instance:
        job = dg.build_reconstructable_job(
            __name__, get_lock_probe_job.__name__, reconstructor_working_directory=str(Path(__file__).parent)
        )
        result = dg.execute_job(job, instance=instance)
        logged = [event.message for event in instance.all_logs(result.run_id)]
        status, claims = instance.get_run_by_id(crashed.run_id).status, pool_claims(instance)

    assert result.success, [event.message for event in result.all_events if event.is_failure]
    assert (
        f"tokenbooks: run {crashed.run_id} (quick_job) died with its process 4243 on {HOST}: marked it failed and "
        "freed its duckdb pool slot (step quick)"
    ) in logged
    assert status == dg.DagsterRunStatus.FAILURE and claims == {}
    assert list((home / LOCKS_DIR).iterdir()) == []  # both locks removed: the dead one's, and its own at its end


def write_lock(home: Path, owner: RunOwner) -> Path:
    path = lock_of(home, owner.run_id)
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"run_id": owner.run_id, "pid": owner.pid, "host": owner.host}))
    return path


def test_live_locks_and_locks_of_other_hosts_are_never_taken(home):
    elsewhere = write_lock(home, RunOwner("run-of-another-host", 4242, f"not-{HOST}"))
    dead = write_lock(home, RunOwner("run-never-recorded", 4243, HOST))  # nobody holds it
    partial = home / LOCKS_DIR / ".killed-while-taking-its-lock.partial"
    partial.write_text("")

    with dg.DagsterInstance.get() as instance, run_lock(instance, "live-run") as live:
        recovered = recover_crashed_runs(instance)
        remaining = sorted(path.name for path in (home / LOCKS_DIR).iterdir())

    assert recovered == []  # the dead lock had no run to recover: removed without a word
    assert remaining == [live.name, elsewhere.name]
    assert not dead.exists() and not partial.exists()


def test_the_recovery_line_says_what_was_done():
    owner = RunOwner("r1", 42, "h")
    slots = [Slot(POOL, "dbt_models", held=True), Slot(POOL, "raw__logs", held=False)]

    assert CrashedRun("r1", "tokenbooks_daily", owner, True, slots).describe() == (
        "run r1 (tokenbooks_daily) died with its process 42 on h: marked it failed and freed its duckdb pool slot "
        "(step dbt_models; 1 step(s) waiting)"
    )
    assert CrashedRun("r1", "tokenbooks_daily", owner, False, slots[:1]).describe() == (
        "run r1 (tokenbooks_daily) died with its process 42 on h: it had been marked failed already; freed its "
        "duckdb pool slot (step dbt_models)"
    )
    assert CrashedRun("r1", "tokenbooks_daily", owner, True, []).describe() == (
        "run r1 (tokenbooks_daily) died with its process 42 on h: marked it failed (it held no pool slot)"
    )
