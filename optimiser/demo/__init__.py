"""Spillway's embedded demo scenario (package data, PyPSA CSV layout).

The scenario lives in ``optimiser/demo/scenario/``; ``tools/build_demo.py`` regenerates
it from the ACTIVSg200 case in ``tests/data/grid/matpower/`` (see the README there).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optimiser.data import GridData

__all__ = ["DEMO_SITES", "demo_scenario_path", "read_demo"]

#: The demo's mining sites, in ``mining_sites.csv`` order.
DEMO_SITES = ("wind-105", "river-104", "lake-147", "city-129")


def demo_scenario_path() -> Path:
    """The folder holding the demo scenario's CSV tables.

    Returns
    -------
    Path
        A folder on disk (the package is installed unzipped, as pip installs wheels).

    Raises
    ------
    FileNotFoundError
        The package data is missing (a broken install).
    """
    folder = files("optimiser.demo").joinpath("scenario")
    path = Path(str(folder))
    if not (path / "buses.csv").is_file():
        raise FileNotFoundError(f"demo scenario not found at {path} (package data missing)")
    return path


def read_demo(*, n_snapshots: int | None = None) -> GridData:
    """Read the demo scenario.

    Parameters
    ----------
    n_snapshots:
        Keep only the first N hourly snapshots (default: all 24).

    Returns
    -------
    GridData
        The scenario, validated.
    """
    from optimiser import read_scenario

    return read_scenario(demo_scenario_path(), n_snapshots=n_snapshots)
