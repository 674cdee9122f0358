"""Running jobs of the Definitions from a terminal: the Dagster instance, one line per step, busy pools.

A command's run is not a second pipeline: it executes a job of ``orchestration.definitions`` in-process, its
settings given as the run's resource config, as ONE run recorded in the Dagster instance of ``DAGSTER_HOME``
(default ``data/dagster_home``), so it shows in the UI like any other.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

import dagster as dg

import orchestration
from cli.options import EXIT_RUN_FAILED
from orchestration.partitions import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG, RANGED_PLANNED_EVENTS_ENV
from orchestration.run_recovery import PoolHolder, pool_holders, recover_crashed_runs, run_lock
from orchestration.windows import RunWindow
from warehouse import DuckDBWarehouse, Warehouse

DAGSTER_HOME_ENV = "DAGSTER_HOME"
DEFAULT_DAGSTER_HOME = "data/dagster_home"
LOCAL_INSTANCE_CONFIG = Path(orchestration.__file__).resolve().parent / "dagster_home" / "dagster.yaml"


def prepare_dagster_home() -> Path:
    """DAGSTER_HOME (default data/dagster_home), with the local instance config when it has none yet."""
    home = Path(os.environ.get(DAGSTER_HOME_ENV) or DEFAULT_DAGSTER_HOME).expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(LOCAL_INSTANCE_CONFIG, config)
    os.environ[DAGSTER_HOME_ENV] = str(home)
    return home


@contextlib.contextmanager
def logs_to(stream: TextIO) -> Iterator[None]:
    """Send Python logging (warnings and above) to ``stream`` while the block runs."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


class PoolBusyError(RuntimeError):
    """Other runs hold (or wait for) the pool slots this run needs."""


def busy_message(command: str, home: Path, holders: list[PoolHolder]) -> str:
    lines = [
        f"{command} did not start: runs of the Dagster instance in {home} hold or wait for the pool slots it "
        "needs, so it would wait behind them:",
        *(f"  {holder.describe()}" for holder in holders),
        "Wait for them to finish, or stop them (Ctrl-C where they run; a run launched from the Dagster UI: "
        "Terminate), then run again.",
    ]
    if any(holder.owner is None for holder in holders):
        lines.append(
            "A run without a run lock whose process is gone keeps its slots until it is ended: force its "
            "termination in the Dagster UI (run monitoring then frees its slots), or run "
            "`dagster run delete -f <run id>` (which deletes its history too)."
        )
    return "\n".join(lines)


def execute_job(
    job_name: str,
    tags: dict,
    run_config: dict,
    home: Path,
    command: str,
    asset_selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult | None:
    """Run a job of the Definitions (or the assets ``asset_selection`` of it) in-process, one terminal line per
    step; None (failures printed) if it failed."""
    from cli.progress import failure_reason, progress_logger
    from orchestration.definitions import defs

    terminal = sys.stdout
    loggers = {"progress": progress_logger(terminal)}
    job = dg.Definitions.merge(defs, dg.Definitions(loggers=loggers)).resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    # dbt's console output and library warnings (e.g. API retries) go to a file: the terminal shows one line
    # per step.
    output_path = home / "cli_output" / f"{run_id}.log"
    output_path.parent.mkdir(exist_ok=True)
    os.environ.setdefault(RANGED_PLANNED_EVENTS_ENV, "true")  # unless the user chose otherwise
    with dg.DagsterInstance.get() as instance:
        # a run killed earlier (its process gone) still holds its pool slots: free them, saying so
        for crashed in recover_crashed_runs(instance):
            print(f"tokenbooks: {crashed.describe()}")
        # a live run holding the pool would make this one wait (spinning a core, deaf to Ctrl-C): refuse instead
        holders = pool_holders(instance)
        if holders:
            raise PoolBusyError(busy_message(command, home, holders))
        with (
            output_path.open("w", encoding="utf-8") as output,
            contextlib.redirect_stdout(output),
            logs_to(output),
            run_lock(instance, run_id),  # released by the kernel if this process dies: see run_recovery
        ):
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags=tags,
                run_config={"loggers": {"progress": {}}, **run_config},
                asset_selection=asset_selection,
                raise_on_error=False,
            )
    if not result.success:
        failed = ", ".join(sorted(result.get_failed_step_keys())) or "none"
        print(
            f"{command} failed (failed steps: {failed}). Full log: the run {run_id} in the Dagster UI "
            f"(DAGSTER_HOME={home}); console output: {output_path}",
            file=sys.stderr,
        )
        for event in result.get_step_failure_events():
            print(f"\n{event.step_key}: {failure_reason(event)}", file=sys.stderr)
        return None
    return result


def warehouse_resource_config(warehouse: Warehouse) -> dict:
    return {
        "config": {
            "type": warehouse.kind,
            "path": str(warehouse.path) if isinstance(warehouse, DuckDBWarehouse) else None,
        }
    }


def months_of(window: RunWindow) -> list[date]:
    """The first day of every month with a day in the window."""
    from orchestration.partitions import monthly_partitions

    keys = dg.PartitionKeyRange(window.first_day.replace(day=1).isoformat(), window.last_day.replace(day=1).isoformat())
    return [date.fromisoformat(key) for key in monthly_partitions.get_partition_keys_in_range(keys)]


def execute_statements(
    months: list[date], resource_config: dict, home: Path, warehouse: Warehouse, close: bool = False
) -> int:
    """The monthly statements job over ``months`` (one run), then where the files are."""
    from billing.statements import statements_dir
    from billing.statements.writing import statements_summary
    from orchestration.assets.statements import STATEMENT_FILES_KEY
    from orchestration.schedules import STATEMENTS_JOB_NAME

    tags = {PARTITION_RANGE_START_TAG: months[0].isoformat(), PARTITION_RANGE_END_TAG: months[-1].isoformat()}
    run_config = {
        "resources": resource_config,
        "ops": {STATEMENT_FILES_KEY.to_python_identifier(): {"config": {"close": close}}},
    }
    result = execute_job(STATEMENTS_JOB_NAME, tags, run_config, home, "tokenbooks statements")
    if result is None:
        return EXIT_RUN_FAILED
    print(f"statements run {result.run_id} succeeded\n")
    print(statements_summary(statements_dir(warehouse), months))
    return 0
