"""``tokenbooks run``: load the platform's records and build every mart, for a range of days, in one run."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from dagster_dbt import DagsterDbtError

from cli.dagster_runs import (
    execute_job,
    execute_statements,
    months_of,
    prepare_dagster_home,
    warehouse_resource_config,
)
from cli.options import EXIT_RUN_FAILED, add_warehouse_option, day
from ingestion.sources import LandingSource, source_from_settings
from orchestration import resources
from orchestration.partitions import (
    BUILD_FIRST_DAY_TAG,
    BUILD_LAST_DAY_TAG,
    PARTITION_RANGE_END_TAG,
    PARTITION_RANGE_START_TAG,
    PARTITIONS_START_ENV,
    daily_partitions,
)
from orchestration.windows import RunWindow, choose_window, landing_event_dates
from settings import ConfigError
from warehouse import Warehouse, configured_warehouse


def add_commands(commands: argparse._SubParsersAction) -> None:
    run = commands.add_parser(
        "run",
        help="load the platform's records and build every mart, for a range of days, in one Dagster run",
        description="Materialize every asset (ingestion and dbt) for whole UTC days in one in-process Dagster "
        "run, recorded in the instance of DAGSTER_HOME (default data/dagster_home).",
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--landing", metavar="DIR", help="landing directory of <endpoint>/*.jsonl[.gz] files")
    source.add_argument("--api-url", metavar="URL", help="platform API base URL (key in TOKENBOOKS_API_KEY)")
    add_warehouse_option(run)
    run.add_argument(
        "--start", type=day, metavar="DATE", help="first day (UTC) to load; default: the first day of the data"
    )
    run.add_argument(
        "--end",
        type=day,
        metavar="DATE",
        help="day (UTC) the window ends, excluded (--start 2026-03-01 --end 2026-03-08 is one week); "
        "default: after the last complete day of the data",
    )
    run.set_defaults(handler=run_command)


def run_command(args: argparse.Namespace) -> int:
    warehouse = configured_warehouse(duckdb_path=args.warehouse)
    landing_dir = str(Path(args.landing).absolute()) if args.landing else None
    source = source_from_settings(landing_dir, args.api_url)
    resources.lookback()  # a malformed setting fails now, not halfway through the run
    last_partition = daily_partitions.get_last_partition_key()
    if last_partition is None:
        raise ConfigError(f"{PARTITIONS_START_ENV}: the first partition is not a complete UTC day yet")
    window = choose_window(
        start=args.start,
        end=args.end,
        # the data's days matter only for an open end of the window (reading them scans every landing file)
        data_days=landing_event_dates(source)
        if isinstance(source, LandingSource) and (args.start is None or args.end is None)
        else None,
        first_partition=date.fromisoformat(daily_partitions.get_first_partition_key()),
        last_partition=date.fromisoformat(last_partition),
    )
    for note in window.notes:
        print(f"note: {note}")
    print(f"tokenbooks run: {window.describe()} from {source.describe()} into {warehouse.describe()}")
    home = prepare_dagster_home()
    try:
        resources.prepare_dbt_manifest(warehouse)  # parsed for this warehouse: dbt re-parses for another
    except DagsterDbtError as error:
        print(f"tokenbooks: dbt could not parse dbt_project: {error}", file=sys.stderr)
        return EXIT_RUN_FAILED
    # The run's own resource config (shown with the run in the UI), rather than the environment.
    resource_config = {
        "warehouse": warehouse_resource_config(warehouse),
        "platform": {"config": {"landing_dir": landing_dir, "api_url": args.api_url}},
    }
    return execute_run(window, resource_config, home, warehouse)


def execute_run(window: RunWindow, resource_config: dict, home: Path, warehouse: Warehouse) -> int:
    """Two runs of the daily job: the loads over the window's daily partitions, then every dbt model and test
    over the same days (tagged with them, not as partitions: see ``orchestration.partitions``), so that a long
    history costs one materialization per model rather than one per model per day."""
    from cli.summary import warehouse_summary
    from orchestration.assets.dbt import dbt_models
    from orchestration.assets.ingestion import ingestion_assets
    from orchestration.schedules import DAILY_JOB_NAME

    first, last = window.first_day.isoformat(), window.last_day.isoformat()
    runs = (
        ("loads", {PARTITION_RANGE_START_TAG: first, PARTITION_RANGE_END_TAG: last}, ingestion_assets),
        ("dbt build", {BUILD_FIRST_DAY_TAG: first, BUILD_LAST_DAY_TAG: last}, [dbt_models]),
    )
    for what, tags, assets in runs:
        keys = [key for assets_def in assets for key in assets_def.keys]
        result = execute_job(DAILY_JOB_NAME, tags, {"resources": resource_config}, home, "tokenbooks run", keys)
        if result is None:
            return EXIT_RUN_FAILED
        print(f"run {result.run_id} succeeded ({what})")
    print()
    print(warehouse_summary(warehouse))
    print()
    # the statements of every month the run touched (an open month's are drafts to date)
    return execute_statements(months_of(window), {"warehouse": resource_config["warehouse"]}, home, warehouse)
