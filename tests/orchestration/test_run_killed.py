"""`tokenbooks run` killed with SIGKILL at several moments, each followed by a run that must recover and go on,
until one completes with the tables and statement files of the uninterrupted run (``landing_run``)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from e2e_runs import run_cli, tables

from orchestration.run_recovery import Slot, pool_claims

pytestmark = pytest.mark.slow

# -- killed at any moment, resumed by the next run --------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
HOST = socket.gethostname()
FCT_LLM_CALLS = dg.AssetKey(["marts", "fct_llm_calls"])
# `tokenbooks run` printing the loader's and the statement writer's progress (a line per committed chunk, per
# statement written), and holding still after the line that starts with its first argument, until killed.
KILLABLE_RUN = """
import logging, sys, time
pause_after, args, terminal = sys.argv[1], sys.argv[2:], sys.stdout

class Progress(logging.Handler):
    def emit(self, record):
        message = record.getMessage()
        terminal.write(message + "\\n")
        terminal.flush()
        if message.startswith(pause_after):
            time.sleep(600)

for name in ("ingestion.load", "billing.statements.writing"):
    logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger(name).addHandler(Progress())
from cli import main
sys.exit(main(args))
"""


class KillableRun:
    """``tokenbooks run`` in a process group of its own (as a terminal or a service runs it), read line by line,
    killed with its whole group (dbt included), as the out-of-memory killer or a reboot would."""

    def __init__(self, args: list[str], env: dict[str, str], pause_after: str = "(never)"):
        self.pause_after = pause_after
        self.proc = subprocess.Popen(
            [sys.executable, "-c", KILLABLE_RUN, pause_after, *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []

    def read_until(self, wanted=None) -> None:
        """Read up to the first line ``wanted`` accepts (by default: the one after which the run holds still)."""
        wanted = wanted or (lambda line: line.startswith(self.pause_after))
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))
            if wanted(self.lines[-1]):
                return
        raise AssertionError(f"the run ended ({self.proc.wait()}) first:\n" + "\n".join(self.lines))

    def kill(self) -> None:
        self.stop()
        assert self.proc.returncode == -signal.SIGKILL, "\n".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def recovered(self) -> list[str]:
        return recovery_lines(self.lines)


def step_started(step: str):
    return lambda line: f"] {step} " in line and line.endswith(" started")


def recovery_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("tokenbooks: run ")]


def recovery_line(run_id: str, job: str, pid: int, step: str) -> str:
    return (
        f"tokenbooks: run {run_id} ({job}) died with its process {pid} on {HOST}: marked it failed and freed its "
        f"duckdb pool slot (step {step})"
    )


def claims_now() -> dict[str, list[Slot]]:
    with dg.DagsterInstance.get() as instance:
        return pool_claims(instance)


def run_status(run_id: str) -> dg.DagsterRunStatus:
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_by_id(run_id).status


def wait_for_materialization(key: dg.AssetKey, run_id: str, run: KillableRun) -> None:
    with dg.DagsterInstance.get() as instance:
        while (event := instance.get_latest_materialization_event(key)) is None or event.run_id != run_id:
            assert run.proc.poll() is None, "\n".join(run.lines)
            time.sleep(0.2)


def statement_files(warehouse: Path) -> dict[str, bytes]:
    root = warehouse.parent / "statements"
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def test_a_run_killed_at_any_moment_is_resumed_by_the_next_run(landing_run, sample, manifest, tmp_path, monkeypatch):
    """Kills in a row on one instance and warehouse: while traces load (a chunk committed), while dbt builds (a
    mart built), while statements are written; each next run frees the dead run's slot and goes on, and the last
    one completes with the tables and statement files of the uninterrupted run (``landing_run``)."""
    baseline_warehouse, _, baseline, _ = landing_run
    assert manifest["endpoints"]["traces"]["malformed"] > 0 and manifest["endpoints"]["traces"]["invalid"] > 0
    home, warehouse = tmp_path / "dagster_home", tmp_path / "resumed" / "warehouse.duckdb"
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    run_args = ["run", "--landing", str(sample), "--warehouse", str(warehouse)]
    # one landing file per load chunk, so that a load is killed between two of its commits
    env = {**os.environ, "TOKENBOOKS_LOAD_CHUNK_BYTES": "1", "PYTHONUNBUFFERED": "1"}
    runs: list[KillableRun] = []
    try:
        # 1. killed while loading traces: its first chunk (of three files) committed
        runs.append(loading := KillableRun(run_args, env, pause_after="committed traces chunk 0"))
        loading.read_until()
        loading.kill()
        ((loading_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "raw__traces", held=True)]
        assert run_status(loading_run) == dg.DagsterRunStatus.STARTED  # as the kill left it

        # 2. recovers it; a third run refuses to start beside it, naming it; killed while dbt builds
        # (fct_llm_calls built, more to come)
        runs.append(building := KillableRun(run_args, env))
        building.read_until(step_started("dbt_models"))
        ((building_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "dbt_models", held=True)]
        code, out, err = run_cli(*run_args)
        assert code == 3 and recovery_lines(out.splitlines()) == []
        assert (
            f"\n  run {building_run} (tokenbooks_daily), running in process {building.proc.pid} on {HOST}: "
            "duckdb pool slot (step dbt_models)\n"
        ) in err
        wait_for_materialization(FCT_LLM_CALLS, building_run, building)
        building.kill()
        assert claims_now() == {building_run: [Slot("duckdb", "dbt_models", held=True)]}
        assert run_status(building_run) == dg.DagsterRunStatus.STARTED
        assert building.recovered() == [recovery_line(loading_run, "tokenbooks_daily", loading.proc.pid, "raw__traces")]

        # 3. recovers it; the daily run completes; killed while the statements are written (one of three written)
        runs.append(writing := KillableRun(run_args, env, pause_after="wrote the statement files of"))
        writing.read_until()
        writing.kill()
        ((writing_run, slots),) = claims_now().items()
        assert slots == [Slot("duckdb", "billing__statement_files", held=True)]
        assert writing.recovered() == [recovery_line(building_run, "tokenbooks_daily", building.proc.pid, "dbt_models")]
    finally:
        for run in runs:
            run.stop()

    # 4. recovers it and completes
    code, out, err = run_cli(*run_args)

    assert code == 0, out + err
    assert recovery_lines(out.splitlines()) == [
        recovery_line(writing_run, "tokenbooks_monthly_statements", writing.proc.pid, "billing__statement_files")
    ]
    assert claims_now() == {}
    for run_id in (loading_run, building_run, writing_run):
        assert run_status(run_id) == dg.DagsterRunStatus.FAILURE
    resumed = tables(warehouse)
    assert resumed.keys() == baseline.keys()
    for name in baseline:
        assert resumed[name] == baseline[name], name
    assert statement_files(warehouse) == statement_files(baseline_warehouse)
