"""The ``spillway`` command (minimal version on the optimiser branch; the lead's wins).

Each family of sub-commands lives in its own module with a ``register`` function.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from service import cli_plan

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every sub-command registered."""
    parser = argparse.ArgumentParser(prog="spillway")
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_plan.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spillway``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level)
    status: int = args.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
