"""``spillway report``: draw a plan directory as one self-contained HTML file.

::

    spillway report PLAN_DIR [--out report.html] [--png DIR]

``PLAN_DIR`` is what ``spillway plan SCENARIO --out DIR`` wrote. The HTML holds
every chart as inline SVG and its CSS inline (nothing to fetch); ``--png`` also
writes one PNG per chart. Exit status: 0 written; 2 the plan directory is missing
or lacks a table (the message names the path and the files).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(commands: Any) -> None:
    """Add ``report`` to the ``spillway`` parser."""
    p = commands.add_parser("report", help="draw a plan directory as an HTML report")
    p.add_argument(
        "plan_dir", metavar="PLAN_DIR", help="directory written by `spillway plan --out`"
    )
    p.add_argument(
        "--out",
        default=None,
        metavar="FILE",
        help="HTML file to write (default: PLAN_DIR/report.html)",
    )
    p.add_argument("--png", default=None, metavar="DIR", help="also write one PNG per chart here")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    # imported here so that `spillway --help` does not load matplotlib
    from service.report import ReportError, read_plan_dir, render_report

    plan_dir = Path(args.plan_dir)
    out = Path(args.out) if args.out else plan_dir / "report.html"
    try:
        tables = read_plan_dir(plan_dir)
        written = render_report(tables, out, Path(args.png) if args.png else None)
    except ReportError as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(path)
    return 0
