"""``tokenbooks export``: one organization's rows of a mart as CSV."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.options import add_warehouse_option, day
from settings import ConfigError
from warehouse import configured_warehouse


def add_commands(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="CSV of one organization's rows of a mart")
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
    add_warehouse_option(export)
    export.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    from billing.exports import ExportError, export_mart

    out_path = Path(args.out) if args.out else None
    try:
        rows = export_mart(
            configured_warehouse(duckdb_path=args.warehouse),
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
