"""Spillway's planner: where and when mining load may soak up curtailed power.

Public face::

    data = read_scenario("path/to/pypsa-folder")      # or a MATPOWER .m case
    result = plan(data, mode="curtailment-only")      # PlanResult, plain data
    assert not check_plan(data, result)               # independent PTDF check
    result.summary(); result.write("out/")

``read_demo()`` (folder: ``demo_scenario_path()``) is the embedded demo scenario.

``Planner`` keeps the model and HiGHS alive for rolling re-plans
(``planner.update(generators_p_max_pu=...)`` then ``planner.plan()``).
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from optimiser.errors import (
    BadGridDataError,
    InfeasiblePlanError,
    OptimiserError,
    SolverUnavailableError,
)
from optimiser.labels import PlanMode

if TYPE_CHECKING:
    from optimiser.checker import Violation, check_plan
    from optimiser.data import GridData, MiningSites, value_per_mwh_from_hashprice
    from optimiser.demo import demo_scenario_path, read_demo
    from optimiser.matpower_io import read_matpower
    from optimiser.model import ModelOptions, build_model
    from optimiser.planner import Planner, plan
    from optimiser.progress import SolveProgress
    from optimiser.pypsa_io import read_pypsa_folder, read_pypsa_tables, with_mining_sites
    from optimiser.result import SUMMARY_KEYS, PlanResult
    from optimiser.solve import PlanStatus, SolveOptions

#: Every name but the errors and labels, loaded on first use: the errors (which
#: ``service/errors.py`` matches) and ``import optimiser`` must not pay pandas'
#: (~1 s) or Pyomo's (~0.5 s) import, which every ``spillway`` command would.
_LAZY = {
    "Violation": "optimiser.checker",
    "check_plan": "optimiser.checker",
    "GridData": "optimiser.data",
    "MiningSites": "optimiser.data",
    "value_per_mwh_from_hashprice": "optimiser.data",
    "demo_scenario_path": "optimiser.demo",
    "read_demo": "optimiser.demo",
    "read_matpower": "optimiser.matpower_io",
    "ModelOptions": "optimiser.model",
    "build_model": "optimiser.model",
    "Planner": "optimiser.planner",
    "plan": "optimiser.planner",
    "SolveProgress": "optimiser.progress",
    "read_pypsa_folder": "optimiser.pypsa_io",
    "read_pypsa_tables": "optimiser.pypsa_io",
    "with_mining_sites": "optimiser.pypsa_io",
    "SUMMARY_KEYS": "optimiser.result",
    "PlanResult": "optimiser.result",
    "PlanStatus": "optimiser.solve",
    "SolveOptions": "optimiser.solve",
}


def __getattr__(name: str) -> Any:
    """The names of :data:`_LAZY`, imported when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'optimiser' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SUMMARY_KEYS",
    "BadGridDataError",
    "GridData",
    "InfeasiblePlanError",
    "MiningSites",
    "ModelOptions",
    "OptimiserError",
    "PlanMode",
    "PlanResult",
    "PlanStatus",
    "Planner",
    "SolveOptions",
    "SolveProgress",
    "SolverUnavailableError",
    "Violation",
    "build_model",
    "check_plan",
    "demo_scenario_path",
    "plan",
    "read_demo",
    "read_matpower",
    "read_pypsa_folder",
    "read_pypsa_tables",
    "read_scenario",
    "value_per_mwh_from_hashprice",
    "with_mining_sites",
]


def read_scenario(path: str | Path, *, n_snapshots: int | None = None) -> GridData:
    """Read a scenario: a PyPSA CSV folder, or a MATPOWER ``.m`` case.

    Parameters
    ----------
    path:
        Folder or ``.m`` file.
    n_snapshots:
        Keep only the first N snapshots (a MATPOWER case gets N hourly snapshots,
        default 1).

    Raises
    ------
    BadGridDataError
        The input is invalid (names file, row and field).
    """
    from optimiser.matpower_io import read_matpower
    from optimiser.pypsa_io import read_pypsa_folder

    p = Path(path)
    if p.is_file() and p.suffix == ".m":
        return read_matpower(p, n_snapshots=n_snapshots or 1)
    data = read_pypsa_folder(p)
    if n_snapshots is not None:
        if n_snapshots < 1:
            raise BadGridDataError("snapshots.csv", None, None, "need at least one snapshot")
        data = data.head(n_snapshots)
    return data
