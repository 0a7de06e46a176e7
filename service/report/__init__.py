"""``spillway report``: charts of a plan directory for operators.

Public face::

    tables = read_plan_dir("out/")                  # PlanDirError names what is missing
    render_report(tables, Path("report.html"), png_dir=Path("png/"))
"""

from __future__ import annotations

from service.report.charts import Chart, draw_all, totals
from service.report.errors import PlanDirError, ReportError
from service.report.plandir import REQUIRED, PlanTables, read_plan_dir
from service.report.render import render_report

__all__ = [
    "REQUIRED",
    "Chart",
    "PlanDirError",
    "PlanTables",
    "ReportError",
    "draw_all",
    "read_plan_dir",
    "render_report",
    "totals",
]
