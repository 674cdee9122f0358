"""``tokenbooks bi``: roles for BI tools on the PostgreSQL warehouse (row-level security per organization)."""

from __future__ import annotations

import argparse
import sys

from cli.options import EXIT_RUN_FAILED
from orchestration import resources
from settings import ConfigError
from warehouse import WAREHOUSE_TYPE_ENV, PostgresWarehouse, configured_warehouse


def add_commands(commands: argparse._SubParsersAction) -> None:
    bi = commands.add_parser("bi", help="BI roles on the PostgreSQL warehouse: per-organization access")
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
    warehouse = configured_warehouse()
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
