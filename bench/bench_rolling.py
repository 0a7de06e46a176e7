"""Rolling horizon on SciGRID-DE: warm re-plan vs cold plan per hourly forecast update.

A rolling day: at each hour h = 0 .. N-1 a fresh forecast for [h, h + H) is pushed
(wind and solar availability of the embedded day, repeated past its end, times a
forecast error whose spread shrinks as the hour approaches: sd = 2 % + 10 % x
lead / 24 h, clipped to [0, 1]; loads: the day's own, repeated), then

- **warm**: the one ``RollingPlanner`` (its ``Planner`` and HiGHS models kept
  alive) re-plans the window holding the hour (``Planner.update``);
- **cold**: a fresh ``Planner`` plans the very same window (its forecasts and the
  carried state of charge; build + solve),
- with ``--unshifted``, also a second warm ``RollingPlanner`` that keeps its bases
  as they are (the behaviour before the basis shift: the baseline),

both in this process, one after the other. Reported per update: warm / cold
(goal <= 0.2, as ``bench_optimiser.py --cases replan`` reaches for one update),
and the warm and cold times.

Usage: ``python bench/bench_rolling.py [--hours 24] [--horizon-hours 24]
[--mode curtailment-only|co-optimised] [--unshifted]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SCIGRID = ROOT / "tests" / "data" / "grid" / "pypsa" / "scigrid-de-2017"


def forecast_at(data: Any, cal: Any, hour: int, horizon: int, rng: Any) -> Any:
    from optimiser.forecast import Forecast, ForecastSeries, SeriesKind

    g, ld = data.generators, data.loads
    times = tuple(cal.time_of(hour + k) for k in range(horizon))
    rows = [(hour + k) % cal.n_periods for k in range(horizon)]
    lead_h = np.arange(horizon, dtype=float)
    sd = 0.02 + 0.10 * lead_h / 24.0
    series = []
    for j in np.flatnonzero(g.renewable):
        base = g.p_max_pu[rows, j]
        vals = np.clip(base * (1.0 + rng.normal(0.0, sd)), 0.0, 1.0)
        series.append(
            ForecastSeries(SeriesKind.GENERATORS_P_MAX_PU, g.names[j], times, tuple(vals.tolist()))
        )
    for j, name in enumerate(ld.names):
        series.append(
            ForecastSeries(
                SeriesKind.LOADS_P_SET, name, times, tuple(ld.p_set_mw[rows, j].tolist())
            )
        )
    return Forecast(tuple(series))


def run(hours: int, horizon: int, mode: str, unshifted: bool) -> dict[str, Any]:
    import optimiser
    from optimiser.forecast import Calendar, check_forecast, merge_tables
    from optimiser.rolling import RollingPlanner

    data = optimiser.read_pypsa_folder(SCIGRID)
    cal = Calendar.of(data)
    rng = np.random.default_rng(14)
    rolling = RollingPlanner(data, horizon_periods=horizon, mode=mode)
    # the old behaviour in the same run: the kept bases not shifted
    plain = RollingPlanner(data, horizon_periods=horizon, mode=mode, shift_bases=False)
    plain_s: list[float] = []
    iterations: list[list[int]] = []
    solves_s: list[list[float]] = []
    cold_solves_s: list[list[float]] = []
    table: dict[Any, Any] = {}
    warm_s, cold_s, ratios, first_s = [], [], [], 0.0
    mined_warm, mined_cold, base_rel = [], [], []
    for h in range(hours):
        fc = forecast_at(data, cal, h, horizon, rng)
        check_forecast(fc, data, cal)
        table = merge_tables(table, fc.table())
        now_s = cal.time_of(h) + 1
        t0 = time.perf_counter()
        warm = rolling.replan(now_s, table)
        w = time.perf_counter() - t0
        if unshifted:
            t2 = time.perf_counter()
            plain.replan(now_s, table)
            p_s = time.perf_counter() - t2
        if h == 0:
            first_s = w  # the first plan builds the model: it is a cold one
            continue
        assert warm.warm, f"hour {h}: expected a warm re-plan"
        iterations.append(list(warm.result.stats["iterations"]))
        solves_s.append([round(x, 3) for x in warm.result.stats["highs_run_s_by_solve"]])
        if unshifted:
            plain_s.append(p_s)
        t1 = time.perf_counter()
        # the very same window (its forecasts and carried state of charge), built and
        # solved from scratch
        cold_result = optimiser.Planner(warm.window.data, mode=mode).plan()
        c = time.perf_counter() - t1
        cold_solves_s.append([round(x, 3) for x in cold_result.stats["highs_run_s_by_solve"]])
        base_rel.append(
            abs(warm.result.objective_base - cold_result.objective_base)
            / max(abs(cold_result.objective_base), 1e-9)
        )
        cold_mine = np.array(cold_result.mine_mw.to_numpy(dtype=float))
        cold_mine[~warm.window.covered] = 0.0
        warm_s.append(w)
        cold_s.append(c)
        ratios.append(w / c)
        mined_warm.append(float(warm.budgets_mw.sum()))
        mined_cold.append(float(cold_mine.sum()))
        extra = f" unshifted {plain_s[-1]:.2f}s" if unshifted else ""
        print(
            f"hour {h:2d}: warm {w:.2f}s cold {c:.2f}s ratio {w / c:.3f}{extra}"
            f" iterations {iterations[-1]} HiGHS warm {solves_s[-1]} cold {cold_solves_s[-1]}",
            flush=True,
        )
    return {
        "case": "rolling_scigrid",
        "mode": mode,
        "hours": hours,
        "horizon_periods": horizon,
        "first_plan_s": first_s,
        "warm_s": warm_s,
        "cold_s": cold_s,
        "warm_over_cold": ratios,
        "warm_iterations": iterations,
        "warm_highs_s_by_solve": solves_s,
        "cold_highs_s_by_solve": cold_solves_s,
        "unshifted_warm_s": plain_s,
        "unshifted_over_cold": [a / b for a, b in zip(plain_s, cold_s, strict=False)],
        "warm_over_cold_median": statistics.median(ratios),
        "warm_over_cold_max": max(ratios),
        "warm_s_median": statistics.median(warm_s),
        "cold_s_median": statistics.median(cold_s),
        "base_objective_rel_diff_max": max(base_rel),
        "mined_mwh_warm_minus_cold_max_rel": max(
            abs(a - b) / max(b, 1e-9) for a, b in zip(mined_warm, mined_cold, strict=True)
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--horizon-hours", type=int, default=24)
    parser.add_argument("--mode", default="curtailment-only")
    parser.add_argument(
        "--unshifted", action="store_true", help="also re-plan warm without shifting the bases"
    )
    args = parser.parse_args()
    r = run(args.hours, args.horizon_hours, args.mode, args.unshifted)
    print(json.dumps(r))
    print(
        f"rolling SciGRID-DE ({r['mode']}, H={r['horizon_periods']} h, {r['hours']} hourly "
        f"updates): warm/cold median {r['warm_over_cold_median']:.3f}, max "
        f"{r['warm_over_cold_max']:.3f} (goal <= 0.2); warm {r['warm_s_median']:.2f}s, "
        f"cold {r['cold_s_median']:.2f}s median"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
