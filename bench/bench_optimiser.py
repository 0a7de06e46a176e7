"""Benchmark of the optimiser: prints one JSON line, then a one-line summary.

Cases (each in its own process, so that peak memory is its own):

- ``scigrid`` (and ``scigrid_bounds``, with ``ModelOptions(line_limits_as_bounds=True)``):
  SciGRID-DE, 24 snapshots, 4 mining sites, co-optimised: read / build /
  solve / total, peak RSS, and total over HiGHS's own run time (the sum over both
  solves of HiGHS's run clock, ``Highs.getRunTime()``). The same LP is also written to MPS
  and solved by plain highspy (read + run, default options) as a baseline.
- ``replan``: the same, then a forecast update (wind/solar availability x U(0.9, 1.05),
  seeded) and a warm re-plan; reported as a fraction of the cold build + solve.
- ``activsg2000``: ACTIVSg2000 x 24 hourly snapshots (area loads from the scenario
  table), 20 mining sites at the buses of the 20 largest wind farms, value 30/MWh.
- ``pypsa``: where PyPSA imports, its LOPF on the SciGRID-DE folder
  (``Network(folder).optimize(solver_name="highs")``) against Spillway's LOPF
  (no mining sites) on the same folder, in the same run.

Every case but ``pypsa`` builds the LP in the formulation(s) given by ``--formulation``
(``ModelOptions.formulation``: ``cycles``, the default, ``angles`` or both,
comma-separated; with more than one, each result is keyed ``case@formulation``, all in
the same run).

Usage: ``python bench/bench_optimiser.py [--cases scigrid,replan,activsg2000,pypsa]
[--formulation angles,cycles]``
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIGRID = ROOT / "tests" / "data" / "grid" / "pypsa" / "scigrid-de-2017"
MATPOWER = ROOT / "tests" / "data" / "grid" / "matpower"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


#: ``ModelOptions.formulation`` of this (child) process, from ``--formulation``
FORMULATION: Literal["angles", "cycles"] = "cycles"


def case_scigrid(line_limits_as_bounds: bool = False) -> dict[str, Any]:
    import highspy

    import optimiser
    from optimiser.highs_output import new_highs

    t0 = time.perf_counter()
    data = optimiser.read_pypsa_folder(SCIGRID)
    read_s = time.perf_counter() - t0
    opts = optimiser.ModelOptions(
        line_limits_as_bounds=line_limits_as_bounds,
        formulation=FORMULATION,
    )
    planner = optimiser.Planner(data, model_options=opts)
    planner.read_s = read_s
    result = planner.plan()
    s = result.summary()
    # HiGHS's run time as HiGHS reports it (its own run clock, both solves)
    highs_s = result.stats["highs_reported_s"]
    # baseline: plain HiGHS on the same (base) LP from an MPS file
    with tempfile.TemporaryDirectory() as tmp:
        mps = str(Path(tmp) / "scigrid.mps")
        planner.base_highs._h.writeModel(mps)
        h = new_highs(highspy)
        t1 = time.perf_counter()
        h.readModel(mps)
        h.run()
        plain_s = time.perf_counter() - t1
        plain_obj = h.getInfo().objective_function_value
    return {
        "read_s": read_s,
        "build_s": s["timings"]["build_s"],
        "solve_s": s["timings"]["solve_s"],
        "total_s": s["timings"]["total_s"],
        "highs_run_s": highs_s,
        "highs_wall_s": result.stats["highs_run_s"],
        "total_over_highs": s["timings"]["total_s"] / highs_s,
        "model_s": result.stats["model_s"],
        "compile_s": result.stats["compile_s"],
        "plain_highspy_base_lp_s": plain_s,
        "objective": s["objective"],
        "objective_base": result.objective_base,
        "plain_highspy_objective": plain_obj,
        "mining_mwh": s["mining_mwh"],
        "curtailment_mwh_before": s["curtailment_mwh_before"],
        "curtailment_mwh_after": s["curtailment_mwh_after"],
        "n_cols": result.stats["n_cols"],
        "n_rows": result.stats["n_rows"],
        "peak_rss_mib": _peak_rss_mib(),
    }


def case_replan() -> dict[str, Any]:
    import optimiser

    out: dict[str, Any] = {}
    data = optimiser.read_pypsa_folder(SCIGRID)
    for mode in ("co-optimised", "curtailment-only"):
        t0 = time.perf_counter()
        planner = optimiser.Planner(
            data,
            mode=mode,
            model_options=optimiser.ModelOptions(formulation=FORMULATION),
        )
        planner.plan()
        cold_s = time.perf_counter() - t0
        g = data.generators
        replans = []
        for seed in (1, 2, 3):
            rng = np.random.default_rng(seed)
            noise = np.where(g.renewable, rng.uniform(0.9, 1.05, g.p_max_pu.shape), 1.0)
            t1 = time.perf_counter()
            planner.update(generators_p_max_pu=np.clip(g.p_max_pu * noise, 0.0, 1.0))
            planner.plan()
            replans.append(time.perf_counter() - t1)
        key = mode.replace("-", "_")
        out[f"{key}_cold_s"] = cold_s
        out[f"{key}_warm_replan_s"] = replans
        out[f"{key}_warm_over_cold"] = [r / cold_s for r in replans]
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


def case_activsg2000() -> dict[str, Any]:
    import optimiser
    from optimiser.data import MiningSites

    t0 = time.perf_counter()
    data = optimiser.read_matpower(
        MATPOWER / "case_ACTIVSg2000.m",
        n_snapshots=24,
        scenarios=MATPOWER / "scenarios_ACTIVSg2000_first48h.m",
    )
    g = data.generators
    wind = [i for i, c in enumerate(g.carrier) if c == "wind"]
    biggest = sorted(wind, key=lambda i: -g.p_nom_mw[i])[:20]
    buses = np.array([g.bus[i] for i in biggest], dtype=np.int64)
    n_t, n_s = data.n_snapshots, len(buses)
    sites = MiningSites(
        names=tuple(f"site{k}" for k in range(n_s)),
        bus=buses,
        p_nom_mw=np.full(n_s, 50.0),
        p_min_pu=np.zeros(n_s),
        value_per_mwh=np.full((n_t, n_s), 30.0),
        ramp_limit_up=np.full(n_s, 0.5),
        ramp_limit_down=np.full(n_s, 0.5),
        efficiency_j_per_th=np.full(n_s, np.nan),
        rig_block_mw=np.full(n_s, np.nan),
    )
    data = replace(data, mining_sites=sites)
    read_s = time.perf_counter() - t0
    planner = optimiser.Planner(data, model_options=optimiser.ModelOptions(formulation=FORMULATION))
    planner.read_s = read_s
    result = planner.plan()
    violations = optimiser.check_plan(data, result)
    s = result.summary()
    return {
        "read_s": read_s,
        "build_s": s["timings"]["build_s"],
        "solve_s": s["timings"]["solve_s"],
        "total_s": s["timings"]["total_s"],
        "highs_run_s": result.stats["highs_run_s"],
        "highs_reported_s": result.stats["highs_reported_s"],
        "objective": s["objective"],
        "mining_mwh": s["mining_mwh"],
        "checker_violations": len(violations),
        "n_cols": result.stats["n_cols"],
        "n_rows": result.stats["n_rows"],
        "peak_rss_mib": _peak_rss_mib(),
    }


def case_pypsa() -> dict[str, Any]:
    try:
        import pypsa
    except ImportError:
        return {"skipped": "pypsa is not installed"}
    import logging

    import optimiser

    logging.getLogger("pypsa").setLevel(logging.ERROR)
    logging.getLogger("linopy").setLevel(logging.ERROR)
    t0 = time.perf_counter()
    n = pypsa.Network(str(SCIGRID))
    # Spillway's own extra files are not PyPSA components; PyPSA ignores them
    status = n.optimize(solver_name="highs", solver_options={"output_flag": False})
    pypsa_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    data = optimiser.read_pypsa_folder(SCIGRID).without_mining()
    # exact PyPSA LP: no noise cut on tiny availabilities
    planner = optimiser.Planner(data, model_options=optimiser.ModelOptions(zero_below_mw=0.0))
    planner.read_s = time.perf_counter() - t1
    result = planner.plan()
    spill_s = time.perf_counter() - t1
    return {
        "pypsa_version": pypsa.__version__,
        "pypsa_status": list(status),
        "pypsa_total_s": pypsa_s,
        "pypsa_objective": float(n.objective),
        "spillway_total_s": spill_s,
        "spillway_objective": result.objective,
        "objective_rel_diff": abs(result.objective - n.objective) / abs(n.objective),
        "spillway_over_pypsa": spill_s / pypsa_s,
    }


def case_scigrid_bounds() -> dict[str, Any]:
    return case_scigrid(line_limits_as_bounds=True)


CASES = {
    "scigrid": case_scigrid,
    "scigrid_bounds": case_scigrid_bounds,
    "replan": case_replan,
    "activsg2000": case_activsg2000,
    "pypsa": case_pypsa,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--formulation", default="cycles")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # child process: run one case
    args = parser.parse_args()
    formulations = args.formulation.split(",")
    if args.case:
        global FORMULATION  # one setting per child process
        FORMULATION = cast(Literal["angles", "cycles"], formulations[0])
        print(json.dumps(CASES[args.case]()))
        return 0
    results: dict[str, Any] = {}
    for name in args.cases.split(","):
        # PyPSA's own LOPF does not depend on Spillway's formulation: run it once
        for f in formulations[:1] if name == "pypsa" else formulations:
            key = name if len(formulations) == 1 or name == "pypsa" else f"{name}@{f}"
            proc = subprocess.run(
                [sys.executable, __file__, "--case", name, "--formulation", f],
                capture_output=True,
                text=True,
                check=False,
                cwd=ROOT,
            )
            if proc.returncode != 0:
                results[key] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            results[key] = json.loads(proc.stdout.strip().splitlines()[-1])
    print(json.dumps(results))
    for f in formulations:
        tag = "" if len(formulations) == 1 else f"@{f}"
        sub = {k.removesuffix(tag): v for k, v in results.items() if not tag or k.endswith(tag)}
        print((f"[{f}] " if tag else "") + _summary(sub))
    return 0


def _summary(results: dict[str, Any]) -> str:
    """One line of the headline figures of one formulation's results."""
    parts = []
    if "total_s" in results.get("scigrid", {}):
        r = results["scigrid"]
        parts.append(
            f"SciGRID-DE 24h: total {r['total_s']:.2f}s, HiGHS {r['highs_run_s']:.2f}s, "
            f"ratio {r['total_over_highs']:.2f}, peak {r['peak_rss_mib']:.0f} MiB"
        )
    if "total_over_highs" in results.get("scigrid_bounds", {}):
        r = results["scigrid_bounds"]
        parts.append(f"ratio with line_limits_as_bounds {r['total_over_highs']:.2f}")
    if "co_optimised_warm_over_cold" in results.get("replan", {}):
        r = results["replan"]
        parts.append(
            "re-plan/cold "
            f"{max(r['co_optimised_warm_over_cold']):.2f} (co-opt), "
            f"{max(r['curtailment_only_warm_over_cold']):.2f} (curt.-only)"
        )
    if "total_s" in results.get("activsg2000", {}):
        r = results["activsg2000"]
        parts.append(f"ACTIVSg2000x24: total {r['total_s']:.1f}s, peak {r['peak_rss_mib']:.0f} MiB")
    if "spillway_over_pypsa" in results.get("pypsa", {}):
        r = results["pypsa"]
        parts.append(f"Spillway/PyPSA time {r['spillway_over_pypsa']:.2f}")
    return "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
