"""The ``tokenbooks`` command: the sample platform, and pipeline runs through the same Dagster Definitions.

``tokenbooks run`` is not a second pipeline: it executes the Definitions' daily job in-process over a range of
daily partitions, its flags given as the run's resource config, as ONE run recorded in the Dagster instance of
``DAGSTER_HOME`` (default ``data/dagster_home``), so it shows in the UI like any other.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import os
import shutil
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import TextIO

import dagster as dg
from dagster_dbt import DagsterDbtError

from ingestion.sources import ConfigError, LandingSource, source_from_settings
from ingestion.warehouse import WAREHOUSE_TYPE_ENV, DuckDBWarehouse, PostgresWarehouse, Warehouse
from orchestration import resources
from orchestration.partitions import PARTITIONS_START_ENV, daily_partitions
from orchestration.run_recovery import PoolHolder, pool_holders, recover_crashed_runs, run_lock
from orchestration.windows import RunWindow, choose_window, landing_event_dates

DAGSTER_HOME_ENV = "DAGSTER_HOME"
DEFAULT_DAGSTER_HOME = "data/dagster_home"
LOCAL_INSTANCE_CONFIG = Path(__file__).resolve().parent / "dagster_home" / "dagster.yaml"
# Run tags Dagster reads to run every partitioned asset of a job over a range of partitions in one run.
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
EXIT_RUN_FAILED = 1
EXIT_BAD_SETTINGS = 2
EXIT_POOL_BUSY = 3


def day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a day like 2026-03-01, got {value!r}") from None


def month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a month like 2026-03, got {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenbooks", description="Keep the books on an AI platform: LLM cost, usage, SLAs, billing."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="load the platform's records and build every mart, for a range of days, in one Dagster run",
        description="Materialize every asset (ingestion and dbt) for whole UTC days in one in-process Dagster "
        "run, recorded in the instance of DAGSTER_HOME (default data/dagster_home).",
    )
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--landing", metavar="DIR", help="landing directory of <endpoint>/*.jsonl[.gz] files")
    source.add_argument("--api-url", metavar="URL", help="platform API base URL (key in TOKENBOOKS_API_KEY)")
    run.add_argument(
        "--warehouse",
        metavar="PATH",
        help=f"DuckDB warehouse file (default: ${resources.WAREHOUSE_ENV}, else {resources.DEFAULT_WAREHOUSE}); "
        f"with {WAREHOUSE_TYPE_ENV}=postgres the warehouse is the database of TOKENBOOKS_PG_*",
    )
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

    add_statements_commands(commands.add_parser("statements", help="monthly billing statements: write, close"))
    add_export_command(commands.add_parser("export", help="CSV of one organization's rows of a mart"))
    add_bi_commands(commands.add_parser("bi", help="BI roles on the PostgreSQL warehouse: per-organization access"))
    add_sample_commands(commands.add_parser("sample", help="the sample AI platform: data generator and API emulator"))
    add_pricing_commands(commands.add_parser("pricing", help="provider price seeds: build them from the price maps"))
    return parser


def add_pricing_commands(pricing: argparse.ArgumentParser) -> None:
    from pricing import build

    pricing_commands = pricing.add_subparsers(dest="pricing_command", required=True)
    help_text = "regenerate the price seeds in pricing_seeds/ from the price maps in pricing_seeds/reference/"
    command = pricing_commands.add_parser("build", help=help_text, description=build.DESCRIPTION)
    build.add_arguments(command).set_defaults(handler=build.run)


def add_statements_commands(statements: argparse.ArgumentParser) -> None:
    statements_commands = statements.add_subparsers(dest="statements_command", required=True)
    for name, close, help_text in (
        ("write", False, "write a month's statement files (CSV, HTML, PDF) from the billing marts"),
        (
            "close",
            True,
            "close a month for good, then write its statement files; later changes to it become adjustments "
            "on the next open month",
        ),
    ):
        command = statements_commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument("--month", type=month, required=True, metavar="YYYY-MM", help="the billing month")
        command.add_argument(
            "--warehouse",
            metavar="PATH",
            help=f"DuckDB warehouse file (default: ${resources.WAREHOUSE_ENV}, else {resources.DEFAULT_WAREHOUSE})",
        )
        command.set_defaults(handler=statements_command, close=close)


def add_export_command(export: argparse.ArgumentParser) -> None:
    export.description = (
        "Write one organization's rows of a mart (schema marts, with organization_id) as CSV with a header, for "
        "finance or a customer asking for their data. The range applies to the mart's day column (else its "
        "first *_at column) and is half-open: --start 2026-11-01 --end 2026-12-01 is November."
    )
    export.add_argument("--mart", required=True, metavar="NAME", help="mart to export, e.g. agg_org_daily")
    export.add_argument("--org", required=True, metavar="ORG", help="organization id, e.g. org_acme")
    export.add_argument("--start", type=day, metavar="DATE", help="first day (UTC) included")
    export.add_argument("--end", type=day, metavar="DATE", help="day (UTC) the range ends, excluded")
    export.add_argument("--out", metavar="FILE", help="CSV file to write (default: standard output)")
    export.add_argument(
        "--warehouse",
        metavar="PATH",
        help=f"DuckDB warehouse file (default: ${resources.WAREHOUSE_ENV}, else {resources.DEFAULT_WAREHOUSE}); "
        f"with {WAREHOUSE_TYPE_ENV}=postgres the warehouse is the database of TOKENBOOKS_PG_*",
    )
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    from orchestration.exports import ExportError, export_mart

    out_path = Path(args.out) if args.out else None
    try:
        rows = export_mart(
            resources.configured_warehouse(duckdb_path=args.warehouse),
            args.mart,
            args.org,
            out_path=out_path,
            out=sys.stdout,
            start=args.start,
            end=args.end,
        )
    except ExportError as error:
        raise ConfigError(str(error)) from None
    print(f"exported {rows} rows of marts.{args.mart} for {args.org} to {out_path or 'stdout'}", file=sys.stderr)
    return 0


def _defaults(function: Callable[..., object]) -> dict[str, object]:
    """Keyword defaults of a sample-platform function, so the CLI shows them without restating them."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


def add_sample_commands(sample: argparse.ArgumentParser) -> None:
    from ingestion.sample.emulator import PlatformEmulator, serve
    from ingestion.sample.generator import generate

    sample_commands = sample.add_subparsers(dest="sample_command", required=True)
    generated = _defaults(generate)
    gen = sample_commands.add_parser(
        "generate",
        help="write a sample platform dataset as a landing directory",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    gen.add_argument(
        "--out", required=True, default=argparse.SUPPRESS, metavar="DIR", help="landing directory to write (replaced)"
    )
    gen.add_argument("--orgs", type=int, default=generated["orgs"], help="organizations")
    gen.add_argument("--days", type=int, default=generated["days"], help="days of activity")
    gen.add_argument("--start", type=day, default=generated["start"], metavar="DATE", help="first day (UTC)")
    gen.add_argument("--seed", type=int, default=generated["seed"], help="random seed (same seed, same data)")
    gen.add_argument(
        "--spans-per-day", type=int, default=generated["spans_per_day"], help="trace spans per day, all orgs"
    )
    gen.add_argument("--dirt-rate", type=float, default=generated["dirt_rate"], help="share of dirty records")
    gen.add_argument("--gzip", action="store_true", help="write .jsonl.gz files")
    gen.set_defaults(handler=generate_command)

    served = {**_defaults(PlatformEmulator.__init__), **_defaults(serve)}
    srv = sample_commands.add_parser(
        "serve",
        help="serve a dataset as the platform's analytics API, with injectable faults",
        description="API keys: TOKENBOOKS_EMULATOR_API_KEYS (comma separated), else the demo key.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    srv.add_argument("--host", default=served["host"], help="address to listen on")
    srv.add_argument("--port", type=int, default=served["port"], help="port to listen on")
    srv.add_argument(
        "--data", default=argparse.SUPPRESS, metavar="DIR", help="landing directory to serve (else: no records)"
    )
    faults = srv.add_argument_group("faults and limits")
    faults.add_argument("--requests-per-hour", type=int, default=served["requests_per_hour"], help="per API key")
    faults.add_argument(
        "--retry-after-seconds", type=int, default=served["retry_after_seconds"], help="Retry-After on a 429"
    )
    faults.add_argument("--error-rate", type=float, default=served["error_rate"], help="share of 5xx answers")
    faults.add_argument("--timeout-rate", type=float, default=served["timeout_rate"], help="share of late answers")
    faults.add_argument(
        "--timeout-seconds", type=float, default=served["timeout_seconds"], help="how late a late answer is"
    )
    faults.add_argument(
        "--duplicate-page-rate",
        type=float,
        default=served["duplicate_page_rate"],
        help="share of pages overlapping the previous one",
    )
    faults.add_argument("--latency-ms", type=int, default=served["latency_ms"], help="added to every answer")
    faults.add_argument("--seed", type=int, default=served["seed"], help="fault sequence seed")
    faults.add_argument("--log-requests", action="store_true", help="log every request")
    srv.set_defaults(handler=serve_command)


def generate_command(args: argparse.Namespace) -> int:
    from ingestion.sample.generator import generate

    summary = generate(
        Path(args.out),
        orgs=args.orgs,
        days=args.days,
        start=args.start,
        seed=args.seed,
        spans_per_day=args.spans_per_day,
        gzip=args.gzip,
        dirt_rate=args.dirt_rate,
    )
    records = ", ".join(f"{endpoint} {count}" for endpoint, count in summary.records.items())
    print(f"wrote {len(summary.files)} files to {summary.out_dir} ({records} records); {summary.manifest_path}")
    return 0


def serve_command(args: argparse.Namespace) -> int:
    from ingestion.sample.emulator import serve

    # The emulator reports its address (and requests, with --log-requests) through logging.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    serve(
        getattr(args, "data", None),
        args.host,
        args.port,
        requests_per_hour=args.requests_per_hour,
        retry_after_seconds=args.retry_after_seconds,
        error_rate=args.error_rate,
        timeout_rate=args.timeout_rate,
        timeout_seconds=args.timeout_seconds,
        duplicate_page_rate=args.duplicate_page_rate,
        latency_ms=args.latency_ms,
        seed=args.seed,
        log_requests=args.log_requests,
    )
    return 0


def prepare_dagster_home() -> Path:
    """DAGSTER_HOME (default data/dagster_home), with the local instance config when it has none yet."""
    home = Path(os.environ.get(DAGSTER_HOME_ENV) or DEFAULT_DAGSTER_HOME).expanduser().absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(LOCAL_INSTANCE_CONFIG, config)
    os.environ[DAGSTER_HOME_ENV] = str(home)
    return home


def add_bi_commands(bi: argparse.ArgumentParser) -> None:
    bi.description = (
        "Give BI tools (Metabase, Looker) roles on the PostgreSQL warehouse: an organization role reads only its "
        "organization's rows of the marts (row-level security), a reader role every mart. Connects with "
        "TOKENBOOKS_PG_* as the user dbt builds with (it owns the marts; CREATEROLE creates missing roles)."
    )
    bi_commands = bi.add_subparsers(dest="bi_command", required=True)
    for name, operation, with_org, help_text in (
        ("grant-org", "grant_organization_access", True, "let a role read one organization's rows of the marts"),
        ("revoke-org", "revoke_organization_access", True, "take an organization's rows back from a role"),
        ("grant-reader", "grant_bi_reader", False, "let a role read every mart, all organizations (read-only)"),
    ):
        command = bi_commands.add_parser(name, help=help_text, description=help_text)
        if with_org:
            command.add_argument("--org", required=True, metavar="ORGANIZATION_ID", help="the organization id")
        command.add_argument("--role", required=True, help="PostgreSQL role (created NOLOGIN when missing)")
        command.set_defaults(handler=bi_command, operation=operation)


def bi_command(args: argparse.Namespace) -> int:
    warehouse = resources.configured_warehouse()
    if not isinstance(warehouse, PostgresWarehouse):
        raise ConfigError(f"{WAREHOUSE_TYPE_ENV}: BI roles need the postgres warehouse (a DuckDB file has no roles)")
    arguments = {"role": args.role, **({"organization_id": args.org} if getattr(args, "org", None) else {})}
    try:
        for message in resources.run_dbt_operation(args.operation, arguments, warehouse):
            print(message)
    except resources.DbtOperationError as error:
        print(f"tokenbooks bi {args.bi_command}: {error}", file=sys.stderr)
        return EXIT_RUN_FAILED
    return 0


def run_command(args: argparse.Namespace) -> int:
    warehouse = resources.configured_warehouse(duckdb_path=args.warehouse)
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
        resources.prepare_dbt_manifest()
    except DagsterDbtError as error:
        print(f"tokenbooks: dbt could not parse dbt_project: {error}", file=sys.stderr)
        return EXIT_RUN_FAILED
    # The run's own resource config (shown with the run in the UI), rather than the environment.
    resource_config = {
        "warehouse": warehouse_resource_config(warehouse),
        "platform": {"config": {"landing_dir": landing_dir, "api_url": args.api_url}},
    }
    return execute_run(window, resource_config, home, warehouse)


def warehouse_resource_config(warehouse: Warehouse) -> dict:
    return {
        "config": {
            "type": warehouse.kind,
            "path": str(warehouse.path) if isinstance(warehouse, DuckDBWarehouse) else None,
        }
    }


def statements_command(args: argparse.Namespace) -> int:
    from orchestration.assets.statements import monthly_partitions

    warehouse = resources.configured_warehouse(duckdb_path=args.warehouse)
    if isinstance(warehouse, DuckDBWarehouse) and not warehouse.path.exists():
        raise ConfigError(
            f"{resources.WAREHOUSE_ENV} / --warehouse: no warehouse at {warehouse.path}: run tokenbooks run first"
        )
    if not monthly_partitions.has_partition_key(args.month.isoformat()):
        raise ConfigError(
            f"--month {args.month:%Y-%m}: expected a month from {monthly_partitions.get_first_partition_key()[:7]} "
            "to the current month"
        )
    home = prepare_dagster_home()
    resources.prepare_dbt_manifest()
    return execute_statements(
        [args.month], {"warehouse": warehouse_resource_config(warehouse)}, home, warehouse, args.close
    )


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
    job_name: str, tags: dict, run_config: dict, home: Path, command: str
) -> dg.ExecuteInProcessResult | None:
    """Run a job of the Definitions in-process, one terminal line per step; None (failures printed) if it failed."""
    from orchestration.definitions import defs
    from orchestration.progress import failure_reason, progress_logger

    terminal = sys.stdout
    loggers = {"progress": progress_logger(terminal)}
    job = dg.Definitions.merge(defs, dg.Definitions(loggers=loggers)).resolve_job_def(job_name)
    run_id = str(uuid.uuid4())
    # dbt's console output and library warnings (e.g. API retries) go to a file: the terminal shows one line
    # per step.
    output_path = home / "cli_output" / f"{run_id}.log"
    output_path.parent.mkdir(exist_ok=True)
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


def execute_run(window: RunWindow, resource_config: dict, home: Path, warehouse: Warehouse) -> int:
    from orchestration.schedules import DAILY_JOB_NAME
    from orchestration.summary import warehouse_summary

    tags = {
        PARTITION_RANGE_START_TAG: window.first_day.isoformat(),
        PARTITION_RANGE_END_TAG: window.last_day.isoformat(),
    }
    result = execute_job(DAILY_JOB_NAME, tags, {"resources": resource_config}, home, "tokenbooks run")
    if result is None:
        return EXIT_RUN_FAILED
    print(f"run {result.run_id} succeeded\n")
    print(warehouse_summary(warehouse))
    print()
    # the statements of every month the run touched (an open month's are drafts to date)
    return execute_statements(months_of(window), {"warehouse": resource_config["warehouse"]}, home, warehouse)


def months_of(window: RunWindow) -> list[date]:
    """The first day of every month with a day in the window."""
    from orchestration.assets.statements import monthly_partitions

    keys = dg.PartitionKeyRange(window.first_day.replace(day=1).isoformat(), window.last_day.replace(day=1).isoformat())
    return [date.fromisoformat(key) for key in monthly_partitions.get_partition_keys_in_range(keys)]


def execute_statements(
    months: list[date], resource_config: dict, home: Path, warehouse: Warehouse, close: bool = False
) -> int:
    """The monthly statements job over ``months`` (one run), then where the files are."""
    from orchestration.assets.statements import STATEMENT_FILES_KEY
    from orchestration.schedules import STATEMENTS_JOB_NAME
    from orchestration.statements import statements_dir
    from orchestration.statements.writing import statements_summary

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


def main(argv: Sequence[str] | None = None) -> int:
    # Dagster flags beta and preview parameters at import; they say nothing to someone running the pipeline.
    for category in (dg.BetaWarning, dg.PreviewWarning):
        warnings.filterwarnings("ignore", category=category)
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"tokenbooks: {error}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    except PoolBusyError as error:
        print(f"tokenbooks: {error}", file=sys.stderr)
        return EXIT_POOL_BUSY


if __name__ == "__main__":
    sys.exit(main())
