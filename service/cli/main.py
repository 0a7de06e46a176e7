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
from service.cli import prices as cli_prices
from service.cli import report as cli_report
from service.cli import serve as cli_serve
from service.cli import stratum as cli_stratum
from service.cli import worker as cli_worker
from service.ledger.errors import LedgerError
from service.stratum.errors import StratumError

__all__ = ["DefaultsHelpFormatter", "build_parser", "main", "sub_parsers"]

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_LOG_HELP = "how much the command logs on stderr (default: WARNING)"


class DefaultsHelpFormatter(argparse.HelpFormatter):
    """Help that shows each option's default, where it has one and does not say it itself."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            "%(default)" in text
            or "default:" in text
            or default is None
            or default is False  # a switch: off unless given
            or default == argparse.SUPPRESS
            or default == []
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "(default: %(default)s)"


logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, every sub-command registered."""
    parser = argparse.ArgumentParser(
        prog="spillway",
        description="Turn curtailed renewable power into proof-of-work, within every line limit.",
    )
    parser.add_argument("--version", action="version", version=f"spillway {__version__}")
    parser.add_argument("--log-level", default="WARNING", choices=LOG_LEVELS, help=_LOG_HELP)
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
    cli_prices.register(commands)
    for sub in [parser, *sub_parsers(parser)]:
        sub.formatter_class = DefaultsHelpFormatter
        if sub is not parser and not _has_sub_commands(sub):
            # Also after the sub-command (`spillway serve --log-level INFO`); SUPPRESS
            # leaves the value given before it (or the default) when this one is not given.
            sub.add_argument(
                "--log-level", default=argparse.SUPPRESS, choices=LOG_LEVELS, help=_LOG_HELP
            )
    return parser


def _has_sub_commands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)


def sub_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every sub-command's parser under ``parser``, nested ones included, in order."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to one parser
                found += [sub, *sub_parsers(sub)]
    return found


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
