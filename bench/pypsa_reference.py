"""Build Spillway's PyPSA reference networks and solve them in PyPSA (benchmark only).

Run with a Python that has PyPSA (never a dependency of Spillway):

    /path/to/pypsa-venv/bin/python bench/pypsa_reference.py write tests/data/grid/pypsa
    /path/to/pypsa-venv/bin/python bench/pypsa_reference.py solve FOLDER [FOLDER ...]

``write`` exports the hand-built networks in PyPSA's CSV layout:

- ``store-energy``: a model.energy-like island (PyPSA's ``model-energy`` example is
  downloaded from data.pypsa.org at run time, which this project cannot reach): one
  electricity bus with extendable wind and solar, a battery (store + charger and
  discharger links) and hydrogen (store + electrolysis and fuel-cell links), a fixed
  pumped store with an initial level, standing loss, a time-varying floor and
  storage cost, a non-cyclic storage unit with standing loss and an initial state of
  charge, a gas turbine and a CO2 limit; 3-hourly snapshots over 8 days.
- ``unit-commitment``: three buses, committable coal and gas units with minimum
  up/down times, start-up/shut-down costs, minimum stable output and prior states.

``solve`` prints one JSON line per folder: PyPSA's total cost
(``n.objective + n.objective_constant``), optimal capacities, CO2 mu and timings.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pypsa


def store_energy() -> pypsa.Network:
    """The model.energy-like island (see the module docstring)."""
    n = pypsa.Network(name="store-energy")
    hours = 8 * 24
    snaps = pd.date_range("2025-03-01", periods=hours // 3, freq="3h")
    n.set_snapshots(snaps)
    n.snapshot_weightings.loc[:, :] = 3.0
    hod = np.asarray(snaps.hour, dtype=float)
    day = np.arange(len(snaps)) / 8.0
    rng = np.random.default_rng(15)
    solar = np.clip(np.sin((hod - 6) / 12 * np.pi), 0, None) * (0.75 + 0.2 * np.cos(day))
    wind = np.clip(0.45 + 0.35 * np.sin(day * 1.3) + rng.normal(0, 0.08, len(snaps)), 0, 1)
    load = 100 + 20 * np.sin((hod - 9) / 24 * 2 * np.pi)

    n.add("Carrier", "gas", co2_emissions=0.2)
    for c in ("wind", "solar", "battery", "hydrogen", "pumped"):
        n.add("Carrier", c)
    n.add("Bus", "electricity")
    n.add("Bus", "battery", carrier="battery")
    n.add("Bus", "hydrogen", carrier="hydrogen")
    n.add("Load", "demand", bus="electricity", p_set=pd.Series(load, index=snaps))
    n.add(
        "Generator",
        "wind",
        bus="electricity",
        carrier="wind",
        p_nom_extendable=True,
        capital_cost=2800.0,
        p_max_pu=pd.Series(wind, index=snaps),
    )
    n.add(
        "Generator",
        "solar",
        bus="electricity",
        carrier="solar",
        p_nom_extendable=True,
        capital_cost=1200.0,
        p_nom_max=400.0,
        p_max_pu=pd.Series(solar, index=snaps),
    )
    n.add(
        "Generator",
        "gas turbine",
        bus="electricity",
        carrier="gas",
        p_nom=60.0,
        efficiency=0.4,
        marginal_cost=40.0,
    )
    n.add(
        "Store",
        "battery storage",
        bus="battery",
        carrier="battery",
        e_nom_extendable=True,
        e_cyclic=True,
        capital_cost=40.0,
        standing_loss=0.0005,
    )
    n.add(
        "Link",
        "battery charger",
        bus0="electricity",
        bus1="battery",
        carrier="battery",
        efficiency=0.95,
        p_nom_extendable=True,
        capital_cost=30.0,
    )
    n.add(
        "Link",
        "battery discharger",
        bus0="battery",
        bus1="electricity",
        carrier="battery",
        efficiency=0.95,
        p_nom_extendable=True,
        capital_cost=5.0,
    )
    n.add(
        "Store",
        "hydrogen storage",
        bus="hydrogen",
        carrier="hydrogen",
        e_nom_extendable=True,
        e_nom_max=20000.0,
        e_cyclic=True,
        capital_cost=1.0,
    )
    n.add(
        "Link",
        "electrolysis",
        bus0="electricity",
        bus1="hydrogen",
        carrier="hydrogen",
        efficiency=0.7,
        p_nom_extendable=True,
        capital_cost=200.0,
    )
    n.add(
        "Link",
        "fuel cell",
        bus0="hydrogen",
        bus1="electricity",
        carrier="hydrogen",
        efficiency=0.5,
        p_nom_extendable=True,
        capital_cost=300.0,
    )
    floor = np.full(len(snaps), 0.1)
    floor[-4:] = 0.4  # the reservoir must be refilled at the end
    n.add(
        "Store",
        "pumped store",
        bus="electricity",
        carrier="pumped",
        e_nom=400.0,
        e_initial=250.0,
        e_max_pu=0.95,
        e_min_pu=pd.Series(floor, index=snaps),
        standing_loss=0.001,
        marginal_cost=0.5,
        marginal_cost_storage=0.01,
    )
    n.add(
        "StorageUnit",
        "old hydro",
        bus="electricity",
        carrier="pumped",
        p_nom=20.0,
        max_hours=6.0,
        efficiency_store=0.9,
        efficiency_dispatch=0.9,
        standing_loss=0.002,
        state_of_charge_initial=100.0,
        marginal_cost=1.0,
    )
    n.add(
        "GlobalConstraint",
        "co2_limit",
        type="primary_energy",
        carrier_attribute="co2_emissions",
        sense="<=",
        constant=40.0,
    )
    return n


def unit_commitment() -> pypsa.Network:
    """A three-bus unit-commitment network (see the module docstring)."""
    n = pypsa.Network(name="unit-commitment")
    snaps = pd.RangeIndex(24)
    n.set_snapshots(snaps)
    hod = np.arange(24, dtype=float)
    load = 380 + 160 * np.clip(np.sin((hod - 6) / 16 * np.pi), 0, None)
    wind = np.clip(0.5 + 0.4 * np.cos(hod / 24 * 2 * np.pi), 0, 1)
    n.add("Carrier", "coal", co2_emissions=0.34)
    n.add("Carrier", "gas", co2_emissions=0.2)
    n.add("Carrier", "wind")
    for b in ("north", "middle", "south"):
        n.add("Bus", b, v_nom=220.0)
    n.add("Line", "north-middle", bus0="north", bus1="middle", x=10.0, s_nom=250.0)
    n.add("Line", "middle-south", bus0="middle", bus1="south", x=10.0, s_nom=400.0)
    n.add("Line", "north-south", bus0="north", bus1="south", x=20.0, s_nom=150.0)
    n.add("Load", "city", bus="south", p_set=pd.Series(load, index=snaps))
    n.add("Load", "town", bus="middle", p_set=pd.Series(0.3 * load, index=snaps))
    n.add(
        "Generator",
        "wind farm",
        bus="north",
        carrier="wind",
        p_nom=300.0,
        p_max_pu=pd.Series(wind, index=snaps),
    )
    n.add(
        "Generator",
        "coal",
        bus="north",
        carrier="coal",
        p_nom=350.0,
        marginal_cost=30.0,
        committable=True,
        p_min_pu=0.4,
        min_up_time=6,
        min_down_time=4,
        start_up_cost=6000.0,
        shut_down_cost=1000.0,
        up_time_before=2,
    )
    n.add(
        "Generator",
        "gas ccgt",
        bus="middle",
        carrier="gas",
        p_nom=300.0,
        marginal_cost=55.0,
        committable=True,
        p_min_pu=0.3,
        min_up_time=3,
        min_down_time=2,
        start_up_cost=1500.0,
        up_time_before=0,
        down_time_before=1,
    )
    n.add(
        "Generator",
        "gas peaker",
        bus="south",
        carrier="gas",
        p_nom=200.0,
        marginal_cost=95.0,
        committable=True,
        p_min_pu=0.2,
        min_up_time=1,
        start_up_cost=200.0,
        shut_down_cost=50.0,
        up_time_before=0,
    )
    n.add("Generator", "shed", bus="south", p_nom=1000.0, marginal_cost=3000.0)
    return n


BUILDERS = {"store-energy": store_energy, "unit-commitment": unit_commitment}


def solve(folder: Path) -> dict[str, object]:
    """Solve a CSV folder in PyPSA; totals, capacities, CO2 mu and timings."""
    t0 = time.perf_counter()
    n = pypsa.Network(str(folder))
    t_read = time.perf_counter() - t0
    status, condition = n.optimize(solver_name="highs")
    total_s = time.perf_counter() - t0
    caps: dict[str, dict[str, float]] = {}
    for comp, attr in (
        ("generators", "p_nom"),
        ("links", "p_nom"),
        ("storage_units", "p_nom"),
        ("stores", "e_nom"),
        ("lines", "s_nom"),
    ):
        static = getattr(n, comp)
        ext = static.index[static[f"{attr}_extendable"].astype(bool)]
        if len(ext):
            caps[comp] = {str(k): float(v) for k, v in static.loc[ext, f"{attr}_opt"].items()}
    mu = {str(k): float(v) for k, v in n.global_constraints.get("mu", pd.Series()).items()}
    return {
        "network": folder.name,
        "status": status,
        "condition": condition,
        "total_cost": float(n.objective + n.objective_constant),
        "capacities": caps,
        "global_constraints_mu": mu,
        "read_s": t_read,
        "total_s": total_s,
        "pypsa": pypsa.__version__,
    }


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "write":
        out = Path(argv[1])
        for name, build in BUILDERS.items():
            build().export_to_csv_folder(str(out / name))
            print(f"wrote {out / name}")
        return 0
    if len(argv) >= 2 and argv[0] == "solve":
        for folder in argv[1:]:
            print(json.dumps(solve(Path(folder))))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
