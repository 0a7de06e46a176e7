"""``spillway plan``: plan mining load on a scenario.

The flags and JSON keys are a contract::

    spillway plan SCENARIO [--mode curtailment-only|co-optimised] [--snapshots N]
                           [--mining-sites FILE.csv] [--out DIR] [--json]
    spillway plan --demo   [the same options]  (the embedded demo scenario)

``--json`` prints ``{"status", "mode", "objective", "mining_mwh", "mining_mwh_by_site",
"mining_p_nom_opt_by_site", "curtailment_mwh_before", "curtailment_mwh_after",
"max_line_loading" (null when no branch is rated), "mip_gap" (null for an LP),
"timings": {"read_s", "build_s", "solve_s", "total_s"}}``. ``--mining-sites`` adds the
sites of a CSV file in ``mining_sites.csv``'s layout to any network (a MATPOWER case
too), in place of the scenario's own. ``--out`` writes the
tables in PyPSA's result naming plus ``summary.json`` (the same object) and
``details.json``.

While it works, stderr shows progress (scenario import, model build, the HiGHS
iterations of each solve) when it is a terminal; otherwise nothing is drawn.

Exit status: 0 planned; 1 the solver found no optimal plan (its status and what is
known of the cause go to stderr, and to stdout as JSON with ``--json``); 2 bad input
or no solver.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from service.cli.common import DEFAULT_PLAN_MODE, PLAN_MODE_HELP, PLAN_MODES
from service.cli.progress import ProgressDisplay

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``plan`` to the ``spillway`` parser."""
    p = commands.add_parser("plan", help="plan mining load onto curtailed power")
    p.add_argument(
        "scenario",
        metavar="SCENARIO",
        nargs="?",
        default=None,
        help="PyPSA CSV folder (with mining_sites.csv) or MATPOWER .m case",
    )
    p.add_argument(
        "--demo", action="store_true", help="plan the embedded demo scenario (no SCENARIO)"
    )
    p.add_argument("--mode", choices=PLAN_MODES, default=DEFAULT_PLAN_MODE, help=PLAN_MODE_HELP)
    p.add_argument(
        "--snapshots", type=int, default=None, metavar="N", help="plan only the first N snapshots"
    )
    p.add_argument(
        "--mining-sites",
        default=None,
        metavar="FILE",
        help="mining sites (mining_sites.csv's columns) to plan on the network, "
        "in place of the scenario's own (default: the scenario's)",
    )
    p.add_argument(
        "--out", default=None, metavar="DIR", help="write result tables here (default: none)"
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(run=_run, parser=p)


def _run(args: argparse.Namespace) -> int:
    import optimiser  # imported here so that `spillway --help` stays fast

    if (args.scenario is None) == (not args.demo):
        args.parser.error("give either SCENARIO or --demo")
    scenario = optimiser.demo_scenario_path() if args.demo else args.scenario
    display = ProgressDisplay(sys.stderr)  # draws only on a terminal
    options = optimiser.SolveOptions(progress=display.solver if display.enabled else None)
    t0 = time.perf_counter()
    try:
        with display.stage("read scenario"):
            data = optimiser.read_scenario(scenario, n_snapshots=args.snapshots)
            if args.mining_sites:
                data = optimiser.with_mining_sites(data, args.mining_sites)
        read_s = time.perf_counter() - t0
        with display.stage("build model"):
            planner = optimiser.Planner(data, mode=args.mode, solve_options=options)
        planner.read_s = read_s
        with display.stage("solve"):
            result = planner.plan()
    except (optimiser.BadGridDataError, optimiser.SolverUnavailableError) as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    except optimiser.InfeasiblePlanError as exc:
        print(f"spillway: no plan: {exc}", file=sys.stderr)
        if args.json:
            print(
                json.dumps(
                    {
                        "status": exc.status,
                        "mode": args.mode,
                        "termination": exc.termination,
                        "cause": exc.cause,
                    }
                )
            )
        return 1
    summary = result.summary()
    if args.out:
        result.write(args.out)
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{summary['status']} ({summary['mode']}): objective {summary['objective']:.6g}, "
            f"mining {summary['mining_mwh']:.1f} MWh, curtailment "
            f"{summary['curtailment_mwh_before']:.1f} -> {summary['curtailment_mwh_after']:.1f} "
            "MWh, "
            + (
                "no rated lines, "
                if summary["max_line_loading"] is None
                else f"max line loading {summary['max_line_loading']:.3f}, "
            )
            + f"total {summary['timings']['total_s']:.2f} s"
        )
    return 0
