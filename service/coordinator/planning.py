"""Planning glue: the optimiser's data -> a solve (off the event loop) -> the domain ``Plan``.

The optimiser works in MW and MWh; the plan is built here once, in W and J
(``service.units``), and is what the coordinator, the budgets, the ledger's
energy split and the demo use. Messages are made from it in ``service.rpc``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from service.domain import (
    BranchPlan,
    Calendar,
    Plan,
    PlanModeKind,
    PlanStatusKind,
    PlanSummary,
    PlantPlan,
    SitePlan,
    SiteSource,
)
from service.units import J_PER_MWH, S_PER_H, W_PER_MW, seconds_to_ns

if TYPE_CHECKING:
    from pathlib import Path

    import pandas as pd

    from optimiser import GridData, PlanResult

__all__ = ["plan_file", "plan_from_result", "plan_grid"]


def plan_grid(
    data: GridData,
    scenario_id: str,
    calendar: Calendar,
    mode: PlanModeKind,
    *,
    allow_suboptimal: bool,
    time_limit_s: float | None,
    create_s: float,
) -> Plan:
    """Plan checked grid data on ``calendar`` (CPU-heavy: run off the loop).

    Raises
    ------
    optimiser.InfeasiblePlanError, optimiser.SolverUnavailableError, optimiser.BadGridDataError
        As the optimiser raises them.
    """
    # Imported here: Pyomo and pandas take seconds to load, and most commands never plan.
    import optimiser

    result = optimiser.plan(
        data,
        mode=str(mode),
        solve_options=optimiser.SolveOptions(
            time_limit_s=time_limit_s, allow_suboptimal=allow_suboptimal
        ),
    )
    return plan_from_result(uuid.uuid4().hex, scenario_id, calendar, mode, result, create_s)


def _watts(values_mw: Iterable[Any]) -> tuple[float, ...]:
    """MW figures (an array or a series) as W."""
    return tuple(float(v) * W_PER_MW for v in values_mw)


def _site_plans(result: PlanResult) -> tuple[SitePlan, ...]:
    """Per site: budget, curtailed power and the plants it comes from (W), bus prices."""
    import numpy as np

    # Each site's curtailed energy by plant, traced through the network
    # (proportional sharing of plan - base flows; ``optimiser.attribution``).
    sources_mw = result.curtailment_sources_mw()
    site_bus: Mapping[str, str] | pd.Series[str] = (
        result.static["mining_sites"]["bus"] if "mining_sites" in result.static else {}
    )
    prices = result.buses_marginal_price
    sites = []
    for site in result.mine_mw.columns:
        column = np.clip(np.asarray(result.mine_mw[site], dtype=float), 0.0, None)
        bus = str(site_bus.get(site, "")) if len(site_bus) else ""
        sources = [
            (str(key[1]), np.clip(np.asarray(sources_mw[key], dtype=float), 0.0, None))
            for key in sources_mw.columns
            if key[0] == site
        ]
        traced = np.zeros_like(column)
        for _, mw in sources:
            traced += mw
        # Proportional sharing adds up to the site's mining; min() only drops noise.
        curtailed = np.minimum(column, traced)
        sites.append(
            SitePlan(
                site=str(site),
                budget_w=_watts(column),
                curtailed_w=_watts(curtailed),
                bus=bus,
                bus_price_per_mwh=(
                    tuple(float(v) for v in prices[bus].fillna(0.0))
                    if bus in prices.columns
                    else ()
                ),
                sources=tuple(SiteSource(plant, _watts(mw)) for plant, mw in sources),
            )
        )
    return tuple(sites)


def _plant_plans(result: PlanResult) -> tuple[PlantPlan, ...]:
    """Per plant, the curtailment mining absorbs: base curtailment (or spill) less the plan's.

    System-wide figures; which site each plant's energy reaches is in
    ``SitePlan.sources``. The ledger falls back to these proportions for plans
    without sources (``service.coordinator.attribution``). Reservoir spill counts
    as the reservoir's, carrier ``hydro``.
    """
    plants = []
    generators = result.static.get("generators")
    absorbed = (result.curtailment_mw(result.base) - result.curtailment_mw(result.plan)).clip(
        lower=0.0
    )
    for name in absorbed.columns:
        series = absorbed[name]
        if float(series.max()) <= 0:
            continue
        row: Mapping[str, object] = (
            cast("Mapping[str, object]", generators.loc[name])
            if generators is not None and name in generators.index
            else {}
        )
        plants.append(
            PlantPlan(
                plant=str(name),
                carrier=str(row.get("carrier", "other")),
                bus=str(row.get("bus", "")),
                absorbed_w=_watts(series),
            )
        )
    spill = (result.base.storage_units_spill - result.plan.storage_units_spill).clip(lower=0.0)
    for name in spill.columns:
        series = spill[name]
        if float(series.max()) <= 0:
            continue
        plants.append(
            PlantPlan(plant=str(name), carrier="hydro", bus="", absorbed_w=_watts(series))
        )
    return tuple(plants)


def plan_from_result(
    plan_id: str,
    scenario_id: str,
    calendar: Calendar,
    mode: PlanModeKind,
    result: PlanResult,
    create_s: float,
) -> Plan:
    """The domain plan of the optimiser's plain-data result (MW -> W, MWh -> J)."""
    loading = result.branches_loading.fillna(0.0)  # unrated (nan): 0 loading, as before
    mu = result.branches_mu_upper.fillna(0.0) + result.branches_mu_lower.fillna(0.0)
    branches = tuple(
        BranchPlan(
            branch=str(key).split(":", 1)[-1],
            flow_w=_watts(result.plan.branches_p0[key]),
            loading_fraction=tuple(float(v) for v in loading[key]),
            shadow_price_per_mwh=tuple(float(v) for v in mu[key]),
        )
        for key in result.plan.branches_p0.columns
    )
    curtailed_mwh = float(result.mining_mwh_by_source.get("curtailed", 0.0))
    mining_mwh = float(result.mining_mwh)
    status = str(result.status)
    return Plan(
        plan_id=plan_id,
        scenario_id=scenario_id,
        mode=mode,
        status=PlanStatusKind(status) if status in set(PlanStatusKind) else PlanStatusKind.UNKNOWN,
        termination=result.termination,
        create_ns=seconds_to_ns(create_s),
        start_ns=calendar.start_ns,
        period_ns=calendar.period_ns,
        period_count=calendar.period_count,
        sites=_site_plans(result),
        branches=branches,
        plants=_plant_plans(result),
        summary=PlanSummary(
            objective=float(result.objective),
            revenue=float(result.objective_base - result.objective),
            mining_energy_j=mining_mwh * J_PER_MWH,
            curtailment_absorbed_j=curtailed_mwh * J_PER_MWH,
            grid_energy_j=max(0.0, mining_mwh - curtailed_mwh) * J_PER_MWH,
            solve_s=float(result.timings.get("solve_s", result.timings.get("total_s", 0.0))),
        ),
    )


def plan_file(path: Path, *, mode: PlanModeKind, now_s: float) -> tuple[Calendar, Plan]:
    """Plan a scenario file (PyPSA folder or MATPOWER case) from the period holding ``now_s``.

    The file has no calendar: its first snapshot starts at the current period
    (periods as long as the first snapshot's weighting, aligned to the epoch).
    Returns the calendar it was given and the plan.

    Raises
    ------
    optimiser.OptimiserError
        When the file is refused or no plan is found.
    """
    import optimiser

    data = optimiser.read_scenario(path)
    hours = float(data.snapshots.weight_objective[0]) or 1.0
    period_s = hours * S_PER_H
    start_s = now_s - (now_s % period_s)
    calendar = Calendar(
        name=path.name,
        start_ns=seconds_to_ns(start_s),
        period_ns=seconds_to_ns(period_s),
        period_count=len(data.snapshots),
    )
    result = optimiser.plan(data, mode=str(mode))
    plan = plan_from_result(
        uuid.uuid4().hex, f"file:{path.name}"[:64], calendar, mode, result, now_s
    )
    return calendar, plan
