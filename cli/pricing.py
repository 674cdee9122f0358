"""``tokenbooks pricing``: build the provider price seeds from the public price maps."""

from __future__ import annotations

import argparse


def add_commands(commands: argparse._SubParsersAction) -> None:
    pricing = commands.add_parser("pricing", help="provider price seeds: build them from the price maps")
    from pricing import build

    pricing_commands = pricing.add_subparsers(dest="pricing_command", required=True)
    help_text = "regenerate the price seeds in pricing_seeds/ from the price maps in pricing_seeds/reference/"
    command = pricing_commands.add_parser("build", help=help_text, description=build.DESCRIPTION)
    build.add_arguments(command).set_defaults(handler=build.run)
