"""Build Spillway's embedded demo scenario from the ACTIVSg200 case (deterministic).

Run from the repository root::

    python tools/build_demo.py [--out optimiser/demo/scenario]

Source: ``tests/data/grid/matpower/case_ACTIVSg200.m`` (the synthetic Central
Illinois grid by Birchfield, Xu, Gegner, Shetye and Overbye, CC-BY-4.0), read with
``optimiser.read_matpower``: its 200 buses, 245 branches with their reactances and
ratings, its thermal and nuclear fleet (quadratic costs made piecewise linear) and its
loads are kept as they are. Written in PyPSA's CSV layout:

- lines: ``x`` in ohm ``= v_nom(bus0)**2 / b`` so that PyPSA's ``x / v_nom**2`` gives back
  ``1 / b`` on its 1 MVA base; transformers: ``x`` per unit of ``s_nom`` ``= s_nom / b``
  with ``tap_ratio = 1`` (the case's off-nominal ratio is already folded into ``b``).
- loads: the case's loads times one daily shape ``LOAD_SHAPE`` (night trough, evening peak).

Spillway's additions (illustrative, not part of the case), all fixed here:

- the case's five wind farms scaled by ``WIND_SCALE``, with one windy-night profile
  ``WIND_PROFILE`` per farm (phase-shifted by farm, no randomness);
- solar farms ``SOLAR`` with a clear-sky profile ``SOLAR_PROFILE``;
- a run-of-river plant ``ROR`` (carrier ``ror``, a curtailable renewable) and a hydro
  reservoir ``RESERVOIR`` (storage unit with inflow, no pumping, starts nearly full,
  so water it cannot send out is spilled);
- mining sites ``SITES``: some behind the lines that congest, some in the load centre.

The script only reads the repository's data; running it twice gives identical files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import read_matpower

ROOT = Path(__file__).resolve().parents[1]
CASE = ROOT / "tests" / "data" / "grid" / "matpower" / "case_ACTIVSg200.m"
OUT = ROOT / "optimiser" / "demo" / "scenario"

HOURS = np.arange(24)
SNAPSHOTS = [f"2016-07-01 {h:02d}:00:00" for h in HOURS]

#: Load: the case's (peak) loads times this shape, low at night, peak at 17-19 h.
LOAD_SHAPE = 0.78 + 0.2 * np.clip(np.sin(np.pi * (HOURS - 5) / 16), 0.0, None)

#: Wind: the case's farms (by bus) times this factor.
WIND_SCALE = 2.0

#: Carriers whose minimum output (``Pmin``, a must-run piece) is kept. The LP has no
#: unit commitment, so a coal unit's ``Pmin`` would be must-run all day and push
#: surplus (and so curtailment) onto every bus at night; the demo keeps curtailment a
#: matter of the grid, so only nuclear stays must-run.
MUST_RUN_CARRIERS = ("nuclear",)
#: Per-farm phase (hours) of one profile that is windy at night and calm mid-afternoon.
WIND_PHASE_H = {"65": 0, "104": 1, "105": 2, "114": 1, "115": 3, "147": 2}

#: Solar farms: (name, bus, MW).
SOLAR = [
    ("solar 105", "105", 150.0),
    ("solar 115", "115", 80.0),
    ("solar 160", "160", 80.0),
    ("solar 187", "187", 330.0),
]

#: Run of river: (name, bus, MW, availability per unit: high spring flow, a little daily swing).
ROR = ("ror 104", "104", 120.0)

#: Hydro reservoir: (name, bus, MW, hours of storage at full output, inflow MW).
RESERVOIR = ("reservoir 147", "147", 150.0, 4.0, 110.0)

#: Mining sites: (name, bus, MW, value per MWh, ramp limit per hour as a fraction of MW).
SITES = [
    ("wind-105", "105", 60.0, 45.0, 0.5),
    ("river-104", "104", 40.0, 45.0, 0.5),
    ("lake-147", "147", 40.0, 40.0, 0.5),
    ("city-129", "129", 50.0, 45.0, 0.5),
]

#: CO2 per MWh of fuel: IPCC 2006 default factors (t/TJ) times 3.6 GJ/MWh, as the
#: SciGRID-DE folder's carriers.csv (coal: other bituminous coal).
CARRIERS = {
    "coal": 94.6 * 3.6e-3,
    "ng": 56.1 * 3.6e-3,
    "nuclear": 0.0,
    "wind": 0.0,
    "solar": 0.0,
    "ror": 0.0,
    "hydro": 0.0,
}


def wind_profile(phase_h: int) -> np.ndarray:
    """Windy night (0.9 per unit near 02 h), calm afternoon (0.15 near 14 h)."""
    return np.round(0.525 + 0.375 * np.cos(2 * np.pi * (HOURS - 2 - phase_h) / 24), 4)


def solar_profile() -> np.ndarray:
    """Clear sky: ``0.85 sin(π (h - 6) / 13)`` from 06 to 19 h, 0 otherwise."""
    return np.round(0.85 * np.clip(np.sin(np.pi * (HOURS - 6) / 13), 0.0, None), 4)


def ror_profile() -> np.ndarray:
    """Spring flow: 0.9 per unit, ±0.05 over the day."""
    return np.round(0.9 + 0.05 * np.sin(2 * np.pi * HOURS / 24), 4)


def build(out: Path) -> None:
    """Write the demo scenario's CSV tables into ``out`` (created)."""
    d = read_matpower(CASE, n_snapshots=24)
    out.mkdir(parents=True, exist_ok=True)
    buses = d.buses
    bname = buses.names

    def write(name: str, frame: pd.DataFrame, index_label: str) -> None:
        frame.to_csv(out / name, index_label=index_label, float_format="%.10g")

    snaps = pd.Index(SNAPSHOTS, name="name")
    write(
        "snapshots.csv",
        pd.DataFrame({"objective": 1.0, "generators": 1.0, "stores": 1.0}, index=snaps),
        "name",
    )
    write(
        "buses.csv",
        pd.DataFrame(
            {"v_nom": buses.v_nom_kv, "control": np.where(buses.slack, "Slack", "PQ")},
            index=pd.Index(bname),
        ),
        "name",
    )
    write("carriers.csv", pd.DataFrame({"co2_emissions": CARRIERS}), "name")

    br = d.branches
    lines = [k for k in range(len(br)) if br.kind[k] == "line"]
    trafos = [k for k in range(len(br)) if br.kind[k] == "transformer"]
    assert np.all(br.b_mw_per_rad > 0) and np.all(br.shift_rad == 0)
    assert np.all(np.isfinite(br.s_max_mw))
    write(
        "lines.csv",
        pd.DataFrame(
            {
                "bus0": [bname[br.bus0[k]] for k in lines],
                "bus1": [bname[br.bus1[k]] for k in lines],
                "x": [buses.v_nom_kv[br.bus0[k]] ** 2 / br.b_mw_per_rad[k] for k in lines],
                "s_nom": br.s_max_mw[lines],
            },
            index=pd.Index([br.names[k] for k in lines]),
        ),
        "name",
    )
    write(
        "transformers.csv",
        pd.DataFrame(
            {
                "bus0": [bname[br.bus0[k]] for k in trafos],
                "bus1": [bname[br.bus1[k]] for k in trafos],
                "x": br.s_max_mw[trafos] / br.b_mw_per_rad[trafos],
                "s_nom": br.s_max_mw[trafos],
            },
            index=pd.Index([br.names[k] for k in trafos]),
        ),
        "name",
    )

    g = d.generators
    rows: list[dict[str, object]] = []
    p_max: dict[str, np.ndarray] = {}
    for k, name in enumerate(g.names):
        carrier, bus, p_nom = g.carrier[k], bname[g.bus[k]], float(g.p_nom_mw[k])
        p_min_pu = float(g.p_min_pu[0, k])
        assert np.all(g.p_min_pu[:, k] == p_min_pu)
        if carrier not in MUST_RUN_CARRIERS:
            p_min_pu = 0.0
        if carrier == "wind":
            p_nom *= WIND_SCALE
            p_max[name] = wind_profile(WIND_PHASE_H[bus])
        else:
            assert np.all(g.p_max_pu[:, k] == g.p_max_pu[0, k])
        rows.append(
            {
                "name": name,
                "bus": bus,
                "carrier": carrier,
                "p_nom": p_nom,
                "p_min_pu": p_min_pu,
                "p_max_pu": float(g.p_max_pu[0, k]) if carrier != "wind" else 1.0,
                "marginal_cost": float(g.marginal_cost[k]),
            }
        )
    for name, bus, p_nom in SOLAR:
        rows.append(
            {
                "name": name,
                "bus": bus,
                "carrier": "solar",
                "p_nom": p_nom,
                "p_min_pu": 0.0,
                "p_max_pu": 1.0,
                "marginal_cost": 0.0,
            }
        )
        p_max[name] = solar_profile()
    name, bus, p_nom = ROR
    rows.append(
        {
            "name": name,
            "bus": bus,
            "carrier": "ror",
            "p_nom": p_nom,
            "p_min_pu": 0.0,
            "p_max_pu": 1.0,
            "marginal_cost": 0.0,
        }
    )
    p_max[name] = ror_profile()
    write("generators.csv", pd.DataFrame(rows).set_index("name"), "name")
    write("generators-p_max_pu.csv", pd.DataFrame(p_max, index=snaps), "snapshot")

    ld = d.loads
    write(
        "loads.csv",
        pd.DataFrame({"bus": [bname[b] for b in ld.bus]}, index=pd.Index(ld.names)),
        "name",
    )
    p_set = ld.p_set_mw[0][None, :] * LOAD_SHAPE[:, None]
    write(
        "loads-p_set.csv",
        pd.DataFrame(np.round(p_set, 4), index=snaps, columns=ld.names),
        "snapshot",
    )

    name, bus, p_nom, max_hours, inflow_mw = RESERVOIR
    write(
        "storage_units.csv",
        pd.DataFrame(
            {
                "bus": [bus],
                "carrier": ["hydro"],
                "p_nom": [p_nom],
                "p_min_pu": [0.0],  # no pumping
                "max_hours": [max_hours],
                "efficiency_dispatch": [0.9],
                "state_of_charge_initial": [0.9 * p_nom * max_hours],
                "cyclic_state_of_charge": [False],
                "marginal_cost": [0.0],
            },
            index=pd.Index([name]),
        ),
        "name",
    )
    write(
        "storage_units-inflow.csv",
        pd.DataFrame({name: np.full(24, inflow_mw)}, index=snaps),
        "snapshot",
    )

    write(
        "mining_sites.csv",
        pd.DataFrame(
            {
                "bus": [s[1] for s in SITES],
                "p_nom": [s[2] for s in SITES],
                "value": [s[3] for s in SITES],
                "ramp_limit_up": [s[4] for s in SITES],
                "ramp_limit_down": [s[4] for s in SITES],
            },
            index=pd.Index([s[0] for s in SITES]),
        ),
        "name",
    )


def main() -> None:
    """Command line: ``--out FOLDER``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    build(args.out)


if __name__ == "__main__":
    main()
