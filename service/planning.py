"""Scenario messages -> the optimiser -> plan messages.

A ``Scenario`` message mirrors PyPSA's tables, so it is written out as a PyPSA
CSV folder and read back by ``optimiser.read_scenario``: the optimiser's own
validation (naming file, row and field) applies to scenarios from gRPC exactly
as to scenarios from disk. Planning runs off the event loop; the result is
plain data turned into a ``Plan`` message here (MW -> W, MWh -> J).
"""

from __future__ import annotations

import csv
import math
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.convert import Checker, duration, timestamp
from spillway.v1 import planner_pb2

if TYPE_CHECKING:
    from optimiser import GridData, PlanResult

__all__ = [
    "MAX_PERIODS",
    "check_scenario",
    "plan_calendar_s",
    "plan_file",
    "plan_scenario",
    "plan_span_s",
    "plan_to_proto",
    "read_scenario_message",
    "write_pypsa_folder",
]

MAX_PERIODS = 10_000
MAX_COMPONENTS = 100_000
W_PER_MW = 1e6
J_PER_MWH = 3.6e9
# ``optimiser.PlanMode`` values; the optimiser itself is imported where it is used
# (Pyomo and pandas take seconds to load, and most commands never plan).
_MODES = {
    planner_pb2.PLANNING_MODE_CO_OPTIMISED: "co-optimised",
    planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY: "curtailment-only",
}
_STATUS = {
    "optimal": planner_pb2.PLAN_STATUS_OPTIMAL,
    "infeasible": planner_pb2.PLAN_STATUS_INFEASIBLE,
    "time_limit": planner_pb2.PLAN_STATUS_TIME_LIMIT,
    "error": planner_pb2.PLAN_STATUS_ERROR,
}


def _component_name(check: Checker, field: str, value: str) -> None:
    if not value or len(value) > 64 or not value.isprintable() or value != value.strip():
        check.add(field, f"must be 1-64 printable characters without edge spaces, got {value!r}")


def check_scenario(
    scenario: planner_pb2.Scenario, present: bool, *, field: str = "scenario"
) -> None:
    """Check a scenario's shape: names, references, series lengths, finite values.

    Raises
    ------
    InvalidRequestError
        Naming each wrong field (``scenario.branches[2].bus1``).
    """
    check = Checker()
    if not present:
        check.add(field, "is required")
        check.raise_if_any()
    s = scenario
    check.text(f"{field}.name", s.name, max_chars=200)
    check.timestamp_s(f"{field}.start_time", s.start_time, s.HasField("start_time"))
    check.duration_s(
        f"{field}.period_duration",
        s.period_duration,
        s.HasField("period_duration"),
        maximum_s=86400.0,
    )
    n = s.period_count
    if not 1 <= n <= MAX_PERIODS:
        check.add(f"{field}.period_count", f"must be 1-{MAX_PERIODS}, got {n}")
    check.non_negative(f"{field}.base_power_watts", s.base_power_watts)
    total = sum(
        len(x)
        for x in (s.buses, s.branches, s.generators, s.loads, s.storage_units, s.mining_sites)
    )
    if total > MAX_COMPONENTS:
        check.add(field, f"at most {MAX_COMPONENTS} components, got {total}")
        check.raise_if_any()
    if not s.buses:
        check.add(f"{field}.buses", "must hold at least one bus")
    if not s.mining_sites:
        check.add(f"{field}.mining_sites", "must hold at least one mining site")
    buses = {b.name for b in s.buses}
    seen: set[tuple[str, str]] = set()
    for kind in ("buses", "branches", "generators", "loads", "storage_units", "mining_sites"):
        for i, item in enumerate(getattr(s, kind)):
            where = f"{field}.{kind}[{i}]"
            if kind == "mining_sites":
                check.name(f"{where}.name", item.name)
            else:
                _component_name(check, f"{where}.name", item.name)
            if (kind, item.name) in seen:
                check.add(f"{where}.name", f"{item.name!r} appears twice")
            seen.add((kind, item.name))
            for ref in ("bus", "bus0", "bus1"):
                if ref in item.DESCRIPTOR.fields_by_name and getattr(item, ref) not in buses:
                    check.add(f"{where}.{ref}", f"no bus named {getattr(item, ref)[:64]!r}")
            for fd in item.DESCRIPTOR.fields:
                value = getattr(item, fd.name)
                if fd.type == fd.TYPE_DOUBLE and not fd.is_repeated:
                    if not math.isfinite(value) or value < 0:
                        check.add(f"{where}.{fd.name}", f"must be finite and >= 0, got {value}")
                elif fd.type == fd.TYPE_DOUBLE:
                    # Demand is required per period; availability and inflow may be left out.
                    allowed = (n,) if fd.name == "demand_watts" else (0, n)
                    if len(value) not in allowed:
                        check.add(f"{where}.{fd.name}", f"must hold {n} values, got {len(value)}")
                    if not all(math.isfinite(v) and v >= 0 for v in value):
                        check.add(f"{where}.{fd.name}", "every value must be finite and >= 0")
    for i, branch in enumerate(s.branches):
        if branch.reactance_per_unit <= 0:
            check.add(f"{field}.branches[{i}].reactance_per_unit", "must be above zero")
        if branch.transformer and branch.rating_watts <= 0:
            check.add(f"{field}.branches[{i}].rating_watts", "a transformer needs a rating")
    for i, site in enumerate(s.mining_sites):
        if site.max_power_watts <= 0:
            check.add(f"{field}.mining_sites[{i}].max_power_watts", "must be above zero")
    check.raise_if_any()


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_pypsa_folder(s: planner_pb2.Scenario, folder: Path) -> None:
    """Write a checked scenario as a PyPSA CSV folder (MW, kV, ohm, hours)."""
    n = s.period_count
    hours = plan_calendar_s(s)[1] / 3600
    snaps = [f"t{i}" for i in range(n)]
    base_mva = (s.base_power_watts or W_PER_MW) / W_PER_MW
    _write(folder / "snapshots.csv", ["name", "weightings"], [[t, hours] for t in snaps])
    v_kv = {b.name: (b.nominal_voltage_volts / 1e3) or 1.0 for b in s.buses}
    _write(folder / "buses.csv", ["name", "v_nom"], [[b.name, v_kv[b.name]] for b in s.buses])
    lines = [b for b in s.branches if not b.transformer]
    # x_pu on the scenario base -> ohm at bus0's voltage (PyPSA: x_pu = x / v_nom**2 on 1 MVA).
    _write(
        folder / "lines.csv",
        ["name", "bus0", "bus1", "x", "s_nom"],
        [
            [
                b.name,
                b.bus0,
                b.bus1,
                b.reactance_per_unit * v_kv[b.bus0] ** 2 / base_mva,
                b.rating_watts / W_PER_MW if b.rating_watts > 0 else "",
            ]
            for b in lines
        ],
    )
    transformers = [b for b in s.branches if b.transformer]
    if transformers:
        # PyPSA's transformer x is per unit of its own s_nom.
        _write(
            folder / "transformers.csv",
            ["name", "bus0", "bus1", "x", "s_nom"],
            [
                [
                    b.name,
                    b.bus0,
                    b.bus1,
                    b.reactance_per_unit * (b.rating_watts / W_PER_MW) / base_mva,
                    b.rating_watts / W_PER_MW,
                ]
                for b in transformers
            ],
        )
    _write(
        folder / "generators.csv",
        ["name", "bus", "carrier", "p_nom", "marginal_cost"],
        [
            [
                g.name,
                g.bus,
                g.carrier or "other",
                g.capacity_watts / W_PER_MW,
                g.marginal_cost_per_megawatt_hour,
            ]
            for g in s.generators
        ],
    )
    varying = [g for g in s.generators if g.availability_per_unit]
    if varying:
        _write(
            folder / "generators-p_max_pu.csv",
            ["snapshot", *[g.name for g in varying]],
            [[t, *[g.availability_per_unit[i] for g in varying]] for i, t in enumerate(snaps)],
        )
    if s.loads:
        _write(folder / "loads.csv", ["name", "bus"], [[ld.name, ld.bus] for ld in s.loads])
        _write(
            folder / "loads-p_set.csv",
            ["snapshot", *[ld.name for ld in s.loads]],
            [[t, *[ld.demand_watts[i] / W_PER_MW for ld in s.loads]] for i, t in enumerate(snaps)],
        )
    if s.storage_units:
        _write(
            folder / "storage_units.csv",
            ["name", "bus", "p_nom", "max_hours", "state_of_charge_initial"],
            [
                [
                    u.name,
                    u.bus,
                    u.capacity_watts / W_PER_MW,
                    (u.energy_capacity_joules / J_PER_MWH) / (u.capacity_watts / W_PER_MW)
                    if u.capacity_watts > 0
                    else 0.0,
                    u.initial_energy_joules / J_PER_MWH,
                ]
                for u in s.storage_units
            ],
        )
        inflow = [u for u in s.storage_units if u.inflow_watts]
        if inflow:
            _write(
                folder / "storage_units-inflow.csv",
                ["snapshot", *[u.name for u in inflow]],
                [[t, *[u.inflow_watts[i] / W_PER_MW for u in inflow]] for i, t in enumerate(snaps)],
            )
    rows = []
    for m in s.mining_sites:
        p_nom = m.max_power_watts / W_PER_MW
        rows.append(
            [
                m.name,
                m.bus,
                p_nom,
                m.revenue_per_megawatt_hour,
                m.efficiency_joules_per_terahash or "",
                m.ramp_limit_watts / m.max_power_watts if m.ramp_limit_watts > 0 else "",
                m.ramp_limit_watts / m.max_power_watts if m.ramp_limit_watts > 0 else "",
                m.min_power_watts / m.max_power_watts,
                m.rig_block_watts / W_PER_MW if m.rig_block_watts > 0 else "",
            ]
        )
    _write(
        folder / "mining_sites.csv",
        [
            "name",
            "bus",
            "p_nom",
            "value",
            "efficiency_j_per_th",
            "ramp_limit_up",
            "ramp_limit_down",
            "p_min_pu",
            "rig_block_mw",
        ],
        rows,
    )


def read_scenario_message(scenario: planner_pb2.Scenario) -> GridData:
    """The optimiser's validated data for a scenario message (CPU and disk: run off the loop).

    Raises
    ------
    optimiser.BadGridDataError
        When the optimiser refuses the data.
    """
    import optimiser

    with tempfile.TemporaryDirectory(prefix="spillway-scenario-") as folder:
        write_pypsa_folder(scenario, Path(folder))
        return optimiser.read_scenario(folder)


def plan_scenario(
    scenario_id: str,
    scenario: planner_pb2.Scenario,
    mode: planner_pb2.PlanningMode,
    *,
    allow_suboptimal: bool,
    time_limit_s: float | None,
    create_s: float,
) -> planner_pb2.Plan:
    """Plan a scenario and return the ``Plan`` message (CPU-heavy: run off the loop).

    Raises
    ------
    optimiser.InfeasiblePlanError, optimiser.SolverUnavailableError, optimiser.BadGridDataError
        As the optimiser raises them.
    """
    import optimiser

    data = read_scenario_message(scenario)
    result = optimiser.plan(
        data,
        mode=_MODES[mode],
        solve_options=optimiser.SolveOptions(
            time_limit_s=time_limit_s, allow_suboptimal=allow_suboptimal
        ),
    )
    return plan_to_proto(uuid.uuid4().hex, scenario_id, scenario, mode, result, create_s)


def plan_to_proto(
    plan_id: str,
    scenario_id: str,
    scenario: planner_pb2.Scenario,
    mode: planner_pb2.PlanningMode,
    result: PlanResult,
    create_s: float,
) -> planner_pb2.Plan:
    """A ``Plan`` message from the optimiser's plain-data result (MW -> W, MWh -> J)."""
    import numpy as np

    mine_mw = result.mine_mw
    by_source = result.mining_mwh_by_source
    # Each site's curtailed energy by plant, traced through the network
    # (proportional sharing of plan - base flows; ``optimiser.attribution``).
    sources_mw = result.curtailment_sources_mw()
    plan = planner_pb2.Plan(
        plan_id=plan_id,
        scenario_id=scenario_id,
        mode=mode,
        status=_STATUS.get(str(result.status), planner_pb2.PLAN_STATUS_UNKNOWN),
        termination=result.termination,
        create_time=timestamp(create_s),
        start_time=scenario.start_time,
        period_duration=scenario.period_duration,
        period_count=scenario.period_count,
    )
    site_bus = result.static["mining_sites"]["bus"] if "mining_sites" in result.static else {}
    prices = result.buses_marginal_price
    for site in mine_mw.columns:
        column = np.clip(np.asarray(mine_mw[site], dtype=float), 0.0, None)
        bus = str(site_bus.get(site, "")) if len(site_bus) else ""
        sources = [
            (str(key[1]), np.clip(np.asarray(sources_mw[key], dtype=float), 0.0, None))
            for key in sources_mw.columns
            if key[0] == site
        ]
        traced = np.zeros_like(column)
        for _, watts in sources:
            traced += watts
        # Proportional sharing adds up to the site's mining; min() only drops noise.
        curtailed = np.minimum(column, traced)
        site_plan = plan.sites.add(
            site=str(site),
            budget_watts=[float(v) * W_PER_MW for v in column],
            curtailed_watts=[float(v) * W_PER_MW for v in curtailed],
            bus=bus,
            bus_marginal_price_per_megawatt_hour=(
                [float(v) for v in prices[bus].fillna(0.0)] if bus in prices.columns else []
            ),
        )
        for plant, mw in sources:
            site_plan.sources.add(plant=plant, watts=[float(v) * W_PER_MW for v in mw])
    _add_plants(plan, result)
    loading = result.branches_loading.fillna(0.0)  # unrated (nan): 0 on the wire, as before
    mu = result.branches_mu_upper.fillna(0.0) + result.branches_mu_lower.fillna(0.0)
    for key in result.plan.branches_p0.columns:
        plan.branches.add(
            branch=str(key).split(":", 1)[-1],
            flow_watts=[float(v) * W_PER_MW for v in result.plan.branches_p0[key]],
            loading_fraction=[float(v) for v in loading[key]],
            shadow_price_per_megawatt_hour=[float(v) for v in mu[key]],
        )
    curtailed_mwh = float(by_source.get("curtailed", 0.0))
    mining_mwh = float(result.mining_mwh)
    plan.summary.CopyFrom(
        planner_pb2.PlanSummary(
            objective=float(result.objective),
            revenue=float(result.objective_base - result.objective),
            mining_energy_joules=mining_mwh * J_PER_MWH,
            curtailment_absorbed_joules=curtailed_mwh * J_PER_MWH,
            grid_energy_joules=max(0.0, mining_mwh - curtailed_mwh) * J_PER_MWH,
            solve_seconds=float(result.timings.get("solve_s", result.timings.get("total_s", 0.0))),
        )
    )
    return plan


def _add_plants(plan: planner_pb2.Plan, result: PlanResult) -> None:
    """Per plant, the curtailment mining absorbs: base curtailment (or spill) less the plan's.

    System-wide figures; which site each plant's energy reaches is in
    ``SitePlan.sources``. The ledger falls back to these proportions for plans
    without sources (``service.ledger.attribution``). Reservoir spill counts as the
    reservoir's, carrier ``hydro``.
    """
    generators = result.static.get("generators")
    absorbed = (result.curtailment_mw(result.base) - result.curtailment_mw(result.plan)).clip(
        lower=0.0
    )
    for name in absorbed.columns:
        series = absorbed[name]
        if float(series.max()) <= 0:
            continue
        row = generators.loc[name] if generators is not None and name in generators.index else {}
        plan.plants.add(
            plant=str(name),
            carrier=str(row.get("carrier", "other")),
            bus=str(row.get("bus", "")),
            absorbed_watts=[float(v) * W_PER_MW for v in series],
        )
    spill = (result.base.storage_units_spill - result.plan.storage_units_spill).clip(lower=0.0)
    for name in spill.columns:
        series = spill[name]
        if float(series.max()) <= 0:
            continue
        plan.plants.add(
            plant=str(name),
            carrier="hydro",
            absorbed_watts=[float(v) * W_PER_MW for v in series],
        )


def plan_calendar_s(plan: planner_pb2.Plan | planner_pb2.Scenario) -> tuple[float, float]:
    """A plan's (or scenario's) start (Unix seconds) and period length (seconds)."""
    start_s = plan.start_time.seconds + plan.start_time.nanos / 1e9
    period_s = plan.period_duration.seconds + plan.period_duration.nanos / 1e9
    return start_s, period_s


def plan_span_s(plan: planner_pb2.Plan) -> tuple[float, float]:
    """Start and end (Unix seconds) of the periods a plan covers."""
    start_s, period_s = plan_calendar_s(plan)
    return start_s, start_s + period_s * plan.period_count


def plan_file(
    path: Path, *, mode: str, now_s: float
) -> tuple[planner_pb2.Scenario, planner_pb2.Plan]:
    """Plan a scenario file (PyPSA folder or MATPOWER case) from the period holding ``now_s``.

    The file has no calendar: its first snapshot starts at the current period
    (periods as long as the first snapshot's weighting, aligned to the epoch).
    Returns the scenario's calendar (as a message without components) and the plan.

    Raises
    ------
    optimiser.OptimiserError
        When the file is refused or no plan is found.
    """
    import optimiser

    data = optimiser.read_scenario(path)
    hours = float(data.snapshots.weight_objective[0]) or 1.0
    period_s = hours * 3600
    start_s = now_s - (now_s % period_s)
    calendar = planner_pb2.Scenario(
        name=path.name,
        start_time=timestamp(start_s),
        period_duration=duration(period_s),
        period_count=len(data.snapshots),
    )
    result = optimiser.plan(data, mode=mode)
    plan = plan_to_proto(
        uuid.uuid4().hex,
        f"file:{path.name}"[:64],
        calendar,
        _MODE_VALUES[mode],
        result,
        now_s,
    )
    return calendar, plan


_MODE_VALUES = {text: value for value, text in _MODES.items()}
