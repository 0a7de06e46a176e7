"""Spillway against PyPSA, same networks, same run: prints one JSON line, then a summary.

Cases (each side of each case in its own process, so that peak memory is its own):

- ``ac-dc-meshed``, ``storage-hvdc``: PyPSA's example networks (tests/data/grid/pypsa/).
- ``store-energy``: the model.energy-like island with stores and links
  (``bench/pypsa_reference.py`` built it with PyPSA).
- ``unit-commitment``: the three-bus unit-commitment MILP.
- ``scigrid-mining``: SciGRID-DE, 24 h, with its four mining sites made extendable
  candidates (``p_nom_extendable``, ``capital_cost``, ``p_nom_max``), co-optimised; in
  PyPSA each site is a ``Generator`` with ``sign=-1`` (its ``p`` is consumption),
  ``marginal_cost = -value`` and the same expansion columns, i.e. an extendable load
  with a value. The optimal site sizes are compared.
- ``year-3h``: ``store-energy`` stretched to a year of 3-hourly snapshots (2,920: its
  availability and load profiles repeated), to measure Spillway's overhead over HiGHS.

Reported per side: total time (read + build + solve), HiGHS's own run time (Spillway:
``Highs.getRunTime`` over its solves; PyPSA: the same clock of linopy's HiGHS model),
peak RSS and the objective (PyPSA's ``n.objective + n.objective_constant``). PyPSA is
never a dependency of Spillway: its side runs under ``--pypsa-python`` (default: the
``SPILLWAY_PYPSA_PYTHON`` environment variable), and is skipped with a message where no
such interpreter imports ``pypsa``.

Usage: ``python bench/bench_pypsa.py [--cases a,b,...] [--pypsa-python PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
PYPSA_DATA = ROOT / "tests" / "data" / "grid" / "pypsa"
CASES = (
    "ac-dc-meshed",
    "storage-hvdc",
    "store-energy",
    "unit-commitment",
    "scigrid-mining",
    "year-3h",
)
#: Candidate mining sites on SciGRID-DE: (name, bus, value per MWh). The buses are those
#: of tests/data/grid/pypsa/scigrid-de-2017/mining_sites.csv (Emden's hashprice of
#: 0.045 per TH/s per day at 21.5 J/TH is 87.2 per MWh).
SCIGRID_SITES = (
    ("brunsbuettel", "22_220kV", 20.0),
    ("emden", "271", 0.045 * 1e6 / 21.5 / 24.0),
    ("jardelund", "333", 25.0),
    ("gruenkraut", "395", 45.0),
)
#: Capital cost of a candidate site per MW over the 24 planned hours, and its largest size:
#: chosen so that every site's optimum lies inside its bounds (at 150 and 1,000 MW three
#: sites sat at the cap, which compares little).
SITE_CAPITAL_COST = 400.0
SITE_P_NOM_MAX = 5000.0


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


# -- preparing the folders (parent process) ------------------------------------------
def prepare(case: str, tmp: Path) -> Path:
    """The scenario folder of ``case`` (written under ``tmp`` where it is derived)."""
    if case in ("ac-dc-meshed", "storage-hvdc", "store-energy", "unit-commitment"):
        return PYPSA_DATA / case
    if case == "scigrid-mining":
        out = tmp / "scigrid-mining"
        shutil.copytree(PYPSA_DATA / "scigrid-de-2017", out)
        rows = [
            f"{n},{b},0,{v!r},True,{SITE_CAPITAL_COST},{SITE_P_NOM_MAX}"
            for n, b, v in SCIGRID_SITES
        ]
        (out / "mining_sites.csv").write_text(
            "name,bus,p_nom,value,p_nom_extendable,capital_cost,p_nom_max\n"
            + "\n".join(rows)
            + "\n"
        )
        return out
    if case == "year-3h":
        return _stretch(PYPSA_DATA / "store-energy", tmp / "year-3h", 2920)
    raise ValueError(f"unknown case {case!r}")


def _stretch(src: Path, out: Path, n_snapshots: int) -> Path:
    """``src`` with its time series repeated to ``n_snapshots`` 3-hourly snapshots."""
    shutil.copytree(src, out)
    snaps = pd.date_range("2025-01-01", periods=n_snapshots, freq="3h")
    names = [str(s) for s in snaps]
    w = pd.DataFrame(
        {"objective": 3.0, "stores": 3.0, "generators": 3.0},
        index=pd.Index(names, name="snapshot"),
    )
    w.to_csv(out / "snapshots.csv")
    for path in out.glob("*-*.csv"):
        df = pd.read_csv(path, index_col=0)
        reps = -(-n_snapshots // len(df))
        values = np.tile(df.to_numpy(), (reps, 1))[:n_snapshots]
        pd.DataFrame(values, index=pd.Index(names, name="snapshot"), columns=df.columns).to_csv(
            path
        )
    return out


# -- Spillway's side (child process) ---------------------------------------------------
def spillway_side(folder: Path) -> dict[str, Any]:
    import optimiser

    t0 = time.perf_counter()
    data = optimiser.read_pypsa_folder(folder)
    read_s = time.perf_counter() - t0
    # exact PyPSA LP: no noise cut on tiny availabilities
    planner = optimiser.Planner(data, model_options=optimiser.ModelOptions(zero_below_mw=0.0))
    planner.read_s = read_s
    result = planner.plan()
    violations = optimiser.check_plan(data, result)
    s = result.summary()
    return {
        "read_s": read_s,
        "build_s": s["timings"]["build_s"],
        "solve_s": s["timings"]["solve_s"],
        "total_s": s["timings"]["total_s"],
        "highs_s": result.stats["highs_reported_s"],
        "objective": result.objective,
        "mip_gap": s["mip_gap"],
        "mining_p_nom_opt_by_site": s["mining_p_nom_opt_by_site"],
        "mining_mwh": s["mining_mwh"],
        "checker_violations": len(violations),
        "n_cols": result.stats["n_cols"],
        "n_rows": result.stats["n_rows"],
        "peak_rss_mib": _peak_rss_mib(),
    }


# -- PyPSA's side (child process, under the PyPSA interpreter) -------------------------
def pypsa_side(folder: Path) -> dict[str, Any]:
    import logging

    import pypsa

    logging.getLogger("pypsa").setLevel(logging.ERROR)
    logging.getLogger("linopy").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    n = pypsa.Network(str(folder))
    sites = folder / "mining_sites.csv"
    if sites.exists():  # Spillway's own table: mining as an extendable load with value
        df = pd.read_csv(sites, index_col=0)
        for name, row in df.iterrows():
            n.add(
                "Generator",
                f"mining {name}",
                bus=str(row["bus"]),
                sign=-1.0,
                marginal_cost=-float(row["value"]),
                p_nom_extendable=bool(row["p_nom_extendable"]),
                capital_cost=float(row["capital_cost"]),
                p_nom_max=float(row["p_nom_max"]),
                carrier="mining",
            )
    read_s = time.perf_counter() - t0
    status = n.optimize(solver_name="highs", solver_options={"output_flag": False})
    total_s = time.perf_counter() - t0
    solver = getattr(n.model, "solver_model", None)
    highs_s = float(solver.getRunTime()) if solver is not None else None
    sizes = {}
    if sites.exists():
        for name in pd.read_csv(sites, index_col=0).index:
            sizes[str(name)] = float(n.generators.at[f"mining {name}", "p_nom_opt"])
    return {
        "pypsa_version": pypsa.__version__,
        "status": list(status),
        "read_s": read_s,
        "total_s": total_s,
        "highs_s": highs_s,
        "objective": float(n.objective + n.objective_constant),
        "mining_p_nom_opt_by_site": sizes,
        "peak_rss_mib": _peak_rss_mib(),
    }


# -- the parent ----------------------------------------------------------------------
def _pypsa_python(given: str | None) -> str | None:
    """An interpreter that imports pypsa, or ``None``."""
    candidate = given or os.environ.get("SPILLWAY_PYPSA_PYTHON")
    if not candidate:
        return None
    ok = subprocess.run(
        [candidate, "-c", "import pypsa"], capture_output=True, check=False, cwd=ROOT
    )
    return candidate if ok.returncode == 0 else None


def _child(python: str, side: str, folder: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [python, __file__, "--side", side, "--folder", str(folder)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-3:]}
    out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def compare(sp: dict[str, Any], py: dict[str, Any]) -> dict[str, Any]:
    """Ratios and agreement of one case's two sides."""
    out: dict[str, Any] = {}
    if "total_s" in sp:
        out["spillway_total_over_highs"] = sp["total_s"] / sp["highs_s"]
    if "total_s" in sp and "total_s" in py:
        out["spillway_over_pypsa"] = sp["total_s"] / py["total_s"]
        out["objective_rel_diff"] = abs(sp["objective"] - py["objective"]) / max(
            1.0, abs(py["objective"])
        )
        a, b = sp["mining_p_nom_opt_by_site"], py["mining_p_nom_opt_by_site"]
        if a:
            out["mining_p_nom_max_abs_diff_mw"] = max(abs(a[k] - b[k]) for k in a)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--pypsa-python", help="a Python that imports pypsa")
    parser.add_argument("--side", choices=("spillway", "pypsa"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        side = spillway_side if args.side == "spillway" else pypsa_side
        print(json.dumps(side(Path(args.folder))))
        return 0
    pypsa_python = _pypsa_python(args.pypsa_python)
    if pypsa_python is None:
        print(
            "PyPSA not found (give --pypsa-python or SPILLWAY_PYPSA_PYTHON): Spillway's side only",
            file=sys.stderr,
        )
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            folder = prepare(case, Path(tmp))
            sp = _child(sys.executable, "spillway", folder)
            py = (
                _child(pypsa_python, "pypsa", folder)
                if pypsa_python
                else {"skipped": "pypsa is not installed"}
            )
            results[case] = {"spillway": sp, "pypsa": py, **compare(sp, py)}
    print(json.dumps(results))
    print(_summary(results))
    return 0


def _summary(results: dict[str, Any]) -> str:
    parts = []
    for case, r in results.items():
        sp = r["spillway"]
        if "total_s" not in sp:
            parts.append(f"{case}: error")
            continue
        text = f"{case}: {sp['total_s']:.2f}s (total/HiGHS {r['spillway_total_over_highs']:.2f})"
        if "spillway_over_pypsa" in r:
            text += (
                f", PyPSA {r['pypsa']['total_s']:.2f}s (x{r['spillway_over_pypsa']:.2f}),"
                f" obj rel diff {r['objective_rel_diff']:.1e}"
            )
        parts.append(text)
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
