"""The ``tokenbooks`` command: one module per command group, the shared options in ``cli.options``.

Pipeline commands (``run``, ``statements``) execute jobs of the Dagster Definitions in-process, recorded in the
Dagster instance like any other run (``cli.dagster_runs``).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import dagster as dg

from cli import bi, export, pricing, run, sample, statements
from cli.dagster_runs import PoolBusyError
from cli.options import EXIT_BAD_SETTINGS, EXIT_POOL_BUSY
from settings import ConfigError

COMMAND_GROUPS = (run, statements, export, bi, sample, pricing)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokenbooks", description="Keep the books on an AI platform: LLM cost, usage, SLAs, billing."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(commands)
    return parser


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
