"""``spillway serve --demo``: its flags, and the flags it refuses.

The demo plays its embedded day in curtailment-only mode with one ledger period
per demo period, so ``--scenario``, ``--mode`` (``--plan-mode``) and
``--period-seconds`` (or their ``SPILLWAY_`` variables) would be overridden:
given with ``--demo`` they are refused, naming the flag, never silently ignored
(issue 13, item 12). ``--data-dir`` (or ``SPILLWAY_DATA_DIR``) is taken: the
demo's state is kept there.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING, Any

from service.cli.common import env
from service.demo.settings import DemoSettings
from service.errors import ConfigError

if TYPE_CHECKING:
    from service.coordinator.settings import CoordinatorSettings

__all__ = ["add_demo_flags", "check_demo_flags", "run_demo_command"]

_DEMO = DemoSettings()
# Each flag the demo overrides, with its SPILLWAY_ variable and why the demo cannot use it.
_NOT_WITH_DEMO = {
    "--scenario": ("SCENARIO", "the demo plays its embedded scenario"),
    "--mode": ("PLAN_MODE", "the demo plans in curtailment-only mode"),
    "--plan-mode": ("PLAN_MODE", "the demo plans in curtailment-only mode"),
    "--period-seconds": ("PERIOD_SECONDS", "the demo's ledger period is --demo-period-seconds"),
}


def add_demo_flags(demo: Any) -> None:
    """The embedded demo's clock and power mapping."""
    demo.add_argument(
        "--demo",
        action="store_true",
        help="play the embedded demo day with one in-process CPU worker per site"
        " (no SPILLWAY_ variable); not with --scenario, --mode or --period-seconds;"
        " its state goes to --data-dir when given (kept), else to a temporary folder",
    )
    demo.add_argument(
        "--demo-period-seconds",
        type=float,
        default=env("DEMO_PERIOD_SECONDS", str(_DEMO.period_s)),
        help=f"wall seconds per hourly planning period (default {_DEMO.period_s:g})",
    )
    demo.add_argument(
        "--demo-cpu-watts",
        type=float,
        default=env("DEMO_CPU_WATTS", str(_DEMO.cpu_w)),
        help="power of one CPU thread hashing flat out; a site's full capacity maps to it",
    )


def check_demo_flags(args: argparse.Namespace) -> None:
    """Refuse, with ``--demo``, a flag (or its variable) the demo would override.

    Raises
    ------
    ConfigError
        Naming the flag (or the ``SPILLWAY_`` variable) and why.
    """
    for flag in getattr(args, "given", ()):
        if flag in _NOT_WITH_DEMO:
            raise ConfigError(f"{flag}: not used with --demo ({_NOT_WITH_DEMO[flag][1]})")
    for variable, why in _NOT_WITH_DEMO.values():
        if os.environ.get(f"SPILLWAY_{variable}"):
            raise ConfigError(f"SPILLWAY_{variable}: not used with --demo ({why}); unset it")


def run_demo_command(args: argparse.Namespace, settings: CoordinatorSettings) -> int:
    """Run the demo with ``settings`` (the demo sets its own scenario, mode and period).

    Raises
    ------
    ConfigError
        For a demo period or CPU power that is not above zero.
    """
    if not (args.demo_period_seconds > 0 and args.demo_cpu_watts > 0):
        raise ConfigError("demo_period_seconds, demo_cpu_watts: must be above zero")
    from service.demo.core import run_demo

    demo = DemoSettings(period_s=args.demo_period_seconds, cpu_w=args.demo_cpu_watts)
    # Given (flag or SPILLWAY_DATA_DIR), the demo's state is kept there.
    keep = "--data-dir" in getattr(args, "given", ()) or bool(env("DATA_DIR"))
    return run_demo(settings, demo, keep_state=keep)
