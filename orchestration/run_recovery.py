"""Runs whose process died (killed, out of memory, a reboot): found, marked failed, their pool slots freed.

A run claims a slot of the ``duckdb`` pool in the Dagster instance for each step it runs, and gives it back
when the step ends. A process killed outright gives nothing back: the claim stays, and every later run waits
for that slot forever. So every run of these Definitions holds a kernel lock for as long as the process that
executes it lives, and a lock that can be taken belongs to a dead run:

* ``run_lock``: an exclusive ``flock`` on ``<DAGSTER_HOME>/run_locks/<run id>.lock`` (the file says which
  process on which host holds it). ``tokenbooks`` holds it around its in-process run; ``run_lock_executor``,
  the Definitions' executor, holds it in the run worker of a run launched by the daemon or the UI. The kernel
  releases it when that process dies, however it dies.
* ``recover_crashed_runs``: for each lock of this host that can be taken, marks its run failed (when it is not
  finished), frees the pool slots it still holds and removes the lock; one line per run says so. It runs
  before every ``tokenbooks`` run, at the start of every run launched by the daemon or the UI, and every
  30 seconds in ``crashed_runs_sensor`` (on by default, so ``dagster dev`` recovers without a new run).
* ``pool_holders``: the runs that still hold or wait for a pool slot after that (alive, or not judged here),
  so that ``tokenbooks`` can refuse to start beside them rather than wait.

Locks are judged only on the host that took them: a run of another host (a shared PostgreSQL instance) is
left to Dagster's run monitoring, which marks a run failed when its launcher reports its worker dead, and
frees the slots of finished runs (``run_monitoring.free_slots_after_run_end_seconds`` in dagster.yaml).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import dagster as dg

LOCKS_DIR = "run_locks"
LOCK_SUFFIX = ".lock"
PARTIAL_SUFFIX = ".partial"  # a lock file being written, not yet under its run's name
SENSOR_INTERVAL_SECONDS = 30


@dataclass(frozen=True)
class RunOwner:
    """The process that executes a run, as its lock file records it."""

    run_id: str
    pid: int
    host: str

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"


def this_process(run_id: str) -> RunOwner:
    return RunOwner(run_id=run_id, pid=os.getpid(), host=socket.gethostname())


def locks_dir(instance: dg.DagsterInstance) -> Path:
    return Path(instance.root_directory) / LOCKS_DIR


@contextlib.contextmanager
def run_lock(instance: dg.DagsterInstance, run_id: str) -> Iterator[Path]:
    """Hold the lock of ``run_id`` while the block runs (and while this process lives, if it dies in it).

    The file is written and locked under a temporary name, then renamed: a lock file under a run's name is
    always complete and locked from its first instant, so a free one means a dead owner."""
    directory = locks_dir(instance)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{run_id}{LOCK_SUFFIX}"
    with tempfile.NamedTemporaryFile("w", dir=directory, prefix=".", suffix=PARTIAL_SUFFIX, delete=False) as file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        file.write(json.dumps(asdict(this_process(run_id))))
        file.flush()
        os.replace(file.name, path)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)  # still locked: nobody can take it for a dead run in between


def read_owner(path: Path) -> RunOwner | None:
    try:
        return RunOwner(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def taken_if_dead(path: Path) -> Iterator[bool]:
    """Try the lock at ``path`` without waiting: True (and held while the block runs) if its owner is dead.

    An owner that ends normally removes its file before it lets the lock go: a lock taken on a file no longer
    at ``path`` is such an ending, not a death."""
    try:
        file = path.open("rb")
    except FileNotFoundError:
        yield False
        return
    with file:
        try:
            fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            still_there = os.stat(path).st_ino == os.fstat(file.fileno()).st_ino
        except FileNotFoundError:
            still_there = False
        yield still_there


@dataclass(frozen=True)
class Slot:
    """A pool slot a step of a run holds (``held``), or waits for."""

    pool: str
    step_key: str
    held: bool


def pool_claims(instance: dg.DagsterInstance) -> dict[str, list[Slot]]:
    """Per run, the pool slots it holds or waits for (empty where the storage has no pools)."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    claims: dict[str, list[Slot]] = {}
    for pool, info in sorted(storage.get_concurrency_infos(sorted(storage.get_concurrency_keys())).items()):
        held = {(claim.run_id, claim.step_key) for claim in info.claimed_slots}
        waiting = {(step.run_id, step.step_key) for step in info.pending_steps if step.assigned_timestamp is None}
        for run_id, step_key in sorted(held | waiting):
            claims.setdefault(run_id, []).append(Slot(pool, step_key, (run_id, step_key) in held))
    return claims


def describe_slots(slots: list[Slot]) -> str:
    """``duckdb pool slot (step dbt_models)``, or ``duckdb pool slot (step dbt_models; 2 step(s) waiting)``."""
    parts = []
    for pool in sorted({slot.pool for slot in slots}):
        held = sorted(slot.step_key for slot in slots if slot.pool == pool and slot.held)
        waiting = sum(1 for slot in slots if slot.pool == pool and not slot.held)
        steps = [f"step {step}" for step in held] + [f"{waiting} step(s) waiting"] * (waiting > 0)
        parts.append(f"{pool} pool slot ({'; '.join(steps)})")
    return ", ".join(parts)


@dataclass(frozen=True)
class CrashedRun:
    """A run whose process died before it finished, and what recovering it did."""

    run_id: str
    job_name: str
    owner: RunOwner
    marked_failed: bool
    freed: list[Slot]

    def describe(self) -> str:
        if not self.freed:
            done = "marked it failed (it held no pool slot)"
        elif self.marked_failed:
            done = f"marked it failed and freed its {describe_slots(self.freed)}"
        else:  # e.g. the code server of a run worker that died marked it failed, and left its slots
            done = f"it had been marked failed already; freed its {describe_slots(self.freed)}"
        return f"run {self.run_id} ({self.job_name}) died with its {self.owner.describe()}: {done}"


def failure_message(owner: RunOwner) -> str:
    return (
        f"The {owner.describe()} that executed this run is gone (killed, out of memory or a reboot): marked "
        "failed by tokenbooks, and its pool slots freed. Loads and dbt builds are idempotent: run the same "
        "window again to finish its work."
    )


def recover_crashed_runs(instance: dg.DagsterInstance) -> list[CrashedRun]:
    """Mark failed, and free the pool slots of, every run of this host whose process died; remove their locks."""
    directory = locks_dir(instance)
    if not directory.is_dir():
        return []
    host = socket.gethostname()
    recovered = []
    for path in sorted(directory.glob(f"*{LOCK_SUFFIX}")):
        owner = read_owner(path)
        if owner is None or owner.host != host:
            continue  # not ours to judge: another host's lock (or not a lock file)
        with taken_if_dead(path) as dead:
            if not dead:
                continue
            crashed = recover_run(instance, owner)
            path.unlink(missing_ok=True)
        if crashed is not None:
            recovered.append(crashed)
    for partial in directory.glob(f".*{PARTIAL_SUFFIX}"):  # a process that died while taking its lock
        with taken_if_dead(partial) as dead:
            if dead:
                partial.unlink(missing_ok=True)
    return recovered


def recover_run(instance: dg.DagsterInstance, owner: RunOwner) -> CrashedRun | None:
    run = instance.get_run_by_id(owner.run_id)
    if run is None:  # died before its run was recorded, or the run was deleted (which frees its slots)
        return None
    held = pool_claims(instance).get(run.run_id, [])
    marked_failed = not run.is_finished
    if marked_failed:
        instance.report_run_failed(run, failure_message(owner))
    if held:
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    if not (marked_failed or held):
        return None
    return CrashedRun(run.run_id, run.job_name, owner, marked_failed, held)


@dataclass(frozen=True)
class PoolHolder:
    """A run that holds or waits for pool slots and is not known to be dead."""

    run_id: str
    job_name: str
    slots: list[Slot]
    owner: RunOwner | None  # None: no lock of this host says whether its process lives

    def describe(self) -> str:
        if self.owner is not None:
            whose = f"running in {self.owner.describe()}"
        else:
            whose = "with no run lock on this host to tell whether its process lives (started elsewhere or by an "
            whose += "older tokenbooks)"
        return f"run {self.run_id} ({self.job_name}), {whose}: {describe_slots(self.slots)}"


def pool_holders(instance: dg.DagsterInstance) -> list[PoolHolder]:
    """Runs holding or waiting for pool slots (call after ``recover_crashed_runs``: the dead are gone then)."""
    holders = []
    for run_id, slots in pool_claims(instance).items():
        run = instance.get_run_by_id(run_id)
        lock = locks_dir(instance) / f"{run_id}{LOCK_SUFFIX}"
        holders.append(PoolHolder(run_id, run.job_name if run else "deleted run", slots, read_owner(lock)))
    return holders


class LockHoldingExecutor(dg.Executor):
    """Another executor, run under the run's lock, after recovering the crashed runs of this host."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    def execute(self, plan_context, execution_plan):
        for crashed in recover_crashed_runs(plan_context.instance):
            plan_context.log.info(f"tokenbooks: {crashed.describe()}")
        with run_lock(plan_context.instance, plan_context.run_id):
            yield from self._inner.execute(plan_context, execution_plan)

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config


def holding_run_lock(executor_def: dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    """``executor_def`` (same name and config) with every run holding its run lock in the run worker."""
    create = executor_def.executor_creation_fn
    assert create is not None, f"executor {executor_def.name} cannot be created"
    return dg.ExecutorDefinition(
        name=executor_def.name,
        config_schema=executor_def.config_schema,
        requirements=executor_def.get_requirements,
        executor_creation_fn=lambda init_context: LockHoldingExecutor(create(init_context)),
        description=executor_def.description,
    )


# Dagster's default executor (multiprocess, or in-process by config), holding the run lock.
run_lock_executor = holding_run_lock(dg.multi_or_in_process_executor)


@dg.sensor(
    name="crashed_runs_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks failed, and frees the pool slots of, every run of this host whose process died (its run "
    "lock is free), so that a killed run never blocks the runs after it.",
)
def crashed_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    recovered = recover_crashed_runs(context.instance)
    for crashed in recovered:
        context.log.info(crashed.describe())
    return dg.SkipReason("; ".join(crashed.describe() for crashed in recovered) or "no crashed run")
