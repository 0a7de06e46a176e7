"""Shared fixtures: a hand-solvable three-bus network and SciGRID-DE plans."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from optimiser import GridData, PlanResult, check_plan, plan, read_pypsa_folder

if TYPE_CHECKING:
    from collections.abc import Callable

GRID = Path(__file__).resolve().parents[1] / "data" / "grid"
SCIGRID = GRID / "pypsa" / "scigrid-de-2017"
MATPOWER = GRID / "matpower"

#: SciGRID-DE LOPF objective (no mining, 24 snapshots) computed once with PyPSA 1.4.0
#: (`pypsa.Network(folder).optimize(solver_name="highs")`, HiGHS 1.15.1) on the
#: original folder: 6684817.323606501.
PYPSA_SCIGRID_OBJECTIVE = 6684817.323606501

# Three buses, v_nom = 1 kV so that x (ohm) is x per unit and b = 1/x MW/rad.
#
#        N (wind 300 MW) ──── NS: x=1, 100 MW ──── S (load 250 MW, gas 500 MW @ 50)
#           \                                      /
#            NM: x=1, 1000 MW ── M ── MS: x=1, 1000 MW
#
# Injecting P at N and taking it at S sends 2/3 P over NS, so NS congests at P = 150:
# at t0 (wind 300 MW available) 150 MW of wind is curtailed; at t1 (120 MW) none.
THREE_BUS: dict[str, str] = {
    "snapshots.csv": "name,weightings\nt0,1.0\nt1,1.0\n",
    "buses.csv": "name,v_nom\nN,1\nM,1\nS,1\n",
    "lines.csv": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n",
    "generators.csv": "name,bus,carrier,p_nom,marginal_cost\nwind,N,wind,300,0\ngas,S,gas,500,50\n",
    "generators-p_max_pu.csv": "snapshot,wind\nt0,1.0\nt1,0.4\n",
    "loads.csv": "name,bus\nload,S\n",
    "loads-p_set.csv": "snapshot,load\nt0,250\nt1,250\n",
    "carriers.csv": "name,co2_emissions\ngas,0.2\nwind,0\n",
}


def write_scenario(folder: Path, tables: dict[str, str]) -> Path:
    """Write CSV tables into ``folder`` (created) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / name).write_text(text)
    return folder


@pytest.fixture
def three_bus_texts() -> dict[str, str]:
    """The three-bus scenario's CSV texts by file name (a copy to change)."""
    return dict(THREE_BUS)


@pytest.fixture
def scigrid_folder() -> Path:
    """SciGRID-DE's scenario folder."""
    return SCIGRID


@pytest.fixture
def three_bus(tmp_path: Path) -> Callable[..., Path]:
    """A writer: ``three_bus(mining="...csv text...", **overrides)`` -> scenario folder."""

    def make(mining: str | None = None, **overrides: str) -> Path:
        tables = dict(THREE_BUS)
        if mining is not None:
            tables["mining_sites.csv"] = mining
        for key, text in overrides.items():
            tables[key.replace("__", "-") + ".csv"] = text
        return write_scenario(tmp_path / "three_bus", tables)

    return make


def checked(data: GridData, result: PlanResult) -> PlanResult:
    """The plan, after the independent checker found nothing wrong with it."""
    violations = check_plan(data, result)
    assert not violations, "\n".join(str(v) for v in violations[:10])
    return result


@pytest.fixture
def check() -> Callable[[GridData, PlanResult], PlanResult]:
    """``check(data, result)``: run the independent plan checker, fail on any violation."""
    return checked


@pytest.fixture
def planned(check: Callable[[GridData, PlanResult], PlanResult]) -> Callable[..., PlanResult]:
    """``planned(folder_or_data, mode=..., **plan_kwargs)``: read, plan and check."""

    def run(source: Path | GridData, mode: str = "co-optimised", **kwargs: object) -> PlanResult:
        data = source if isinstance(source, GridData) else read_pypsa_folder(source)
        return check(data, plan(data, mode=mode, **kwargs))  # type: ignore[arg-type]

    return run


@pytest.fixture(scope="session")
def scigrid() -> GridData:
    """SciGRID-DE with Spillway's four mining sites, all 24 snapshots."""
    return read_pypsa_folder(SCIGRID)


@pytest.fixture(scope="session")
def scigrid_short(scigrid: GridData) -> GridData:
    """SciGRID-DE cut to 6 snapshots (the windiest night hours) to keep tests quick."""
    return scigrid.head(6)


@pytest.fixture(scope="session")
def scigrid_plans(scigrid_short: GridData) -> dict[str, PlanResult]:
    """Both modes planned on the short SciGRID-DE, each checked."""
    return {
        mode: checked(scigrid_short, plan(scigrid_short, mode=mode))
        for mode in ("co-optimised", "curtailment-only")
    }
