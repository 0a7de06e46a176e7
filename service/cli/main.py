"""The ``spillway`` command: one entry point, a sub-command per job.

Each family of sub-commands lives in its own module with a ``register``
function that adds its parsers; this module only assembles them and runs the
chosen one. Errors a user can fix are printed as one line on stderr with exit
status 2; nothing else is caught here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from kernels.errors import KernelError
from service import __version__
from service.cli import forecast as cli_forecast
from service.cli import hash as cli_hash
from service.cli import ledger as cli_ledger
from service.cli import operator as cli_operator
from service.cli import plan as cli_plan
from service.cli import report as cli_report
from service.cli import serve as cli_serve
from service.cli import stratum as cli_stratum
from service.cli import worker as cli_worker
from service.ledger.errors import LedgerError
from service.stratum.errors import StratumError

__all__ = ["build_parser", "main"]

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="spillway",
        description="Turn curtailed renewable power into proof-of-work, within every line limit.",
    )
    parser.add_argument("--version", action="version", version=f"spillway {__version__}")
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_hash.register(commands)
    cli_plan.register(commands)
    cli_report.register(commands)
    cli_stratum.register(commands)
    cli_ledger.register(commands)
    cli_serve.register(commands)
    cli_worker.register(commands)
    cli_operator.register(commands)
    cli_forecast.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``spillway``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        status: int = args.run(args)
    except (KernelError, StratumError, LedgerError, OSError) as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    return status


if __name__ == "__main__":
    sys.exit(main())
