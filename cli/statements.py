"""``tokenbooks statements``: write or close a month's billing statement files, in a Dagster run."""

from __future__ import annotations

import argparse

from cli.dagster_runs import execute_statements, prepare_dagster_home, warehouse_resource_config
from cli.options import add_warehouse_option, month
from orchestration import resources
from settings import ConfigError
from warehouse import DUCKDB_PATH_ENV, DuckDBWarehouse, configured_warehouse


def add_commands(commands: argparse._SubParsersAction) -> None:
    statements = commands.add_parser("statements", help="monthly billing statements: write, close")
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
        add_warehouse_option(command)
        command.set_defaults(handler=statements_command, close=close)


def statements_command(args: argparse.Namespace) -> int:
    from orchestration.partitions import monthly_partitions

    warehouse = configured_warehouse(duckdb_path=args.warehouse)
    if isinstance(warehouse, DuckDBWarehouse) and not warehouse.path.exists():
        raise ConfigError(
            f"{DUCKDB_PATH_ENV} / --warehouse: no warehouse at {warehouse.path}: run tokenbooks run first"
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
