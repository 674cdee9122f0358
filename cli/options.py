"""What the commands share: option types, the ``--warehouse`` option, and exit codes."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable
from datetime import date

import settings
from warehouse import DUCKDB_PATH_ENV, POSTGRES_ENV_PREFIX, WAREHOUSE_TYPE_ENV

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


def add_warehouse_option(command: argparse.ArgumentParser) -> None:
    """``--warehouse PATH``: the DuckDB file, for this command only."""
    default = settings.Settings.model_fields["warehouse"].default
    command.add_argument(
        "--warehouse",
        metavar="PATH",
        help=f"DuckDB warehouse file (default: ${DUCKDB_PATH_ENV}, else {default}); with "
        f"{WAREHOUSE_TYPE_ENV}=postgres the warehouse is the database of {POSTGRES_ENV_PREFIX}*",
    )


def defaults_of(function: Callable[..., object]) -> dict[str, object]:
    """Keyword defaults of a function, so a command shows them without restating them."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
