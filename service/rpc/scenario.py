"""Scenario messages -> the optimiser's data, checked once.

A ``Scenario`` message mirrors PyPSA's tables, so it is turned into those tables
(MW, kV, ohm and hours on the way in) and read by ``optimiser.read_pypsa_tables``,
once, with no folder on disk: the optimiser's own validation (naming table, row
and field) applies to scenarios from gRPC exactly as to scenarios from disk.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.domain import Calendar
from service.rpc.checks import Checker
from service.units import J_PER_MWH, NS_PER_S, S_PER_H, W_PER_MW
from spillway.v1 import planner_pb2

if TYPE_CHECKING:
    import pandas as pd

    from optimiser import GridData

__all__ = [
    "MAX_PERIODS",
    "check_scenario",
    "read_scenario_message",
    "scenario_calendar",
    "scenario_tables",
    "write_pypsa_folder",
]

MAX_PERIODS = 10_000
MAX_COMPONENTS = 100_000


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


def _table(header: list[str], rows: list[list[Any]]) -> pd.DataFrame:
    """A table as the optimiser's CSV reader builds it: text cells, the first column the index."""
    import pandas as pd

    cells = [["" if v is None else str(v) for v in row] for row in rows]
    return pd.DataFrame(cells, columns=header, dtype=str).set_index(header[0])


def scenario_tables(s: planner_pb2.Scenario) -> dict[str, pd.DataFrame]:
    """A checked scenario as PyPSA's tables by file stem (MW, kV, ohm, hours).

    The cells are the text a PyPSA CSV folder of the scenario would hold, so the
    optimiser reads them exactly as it would read that folder.
    """
    tables: dict[str, pd.DataFrame] = {}
    n = s.period_count
    hours = scenario_calendar(s).period_s / S_PER_H
    snaps = [f"t{i}" for i in range(n)]
    base_mva = (s.base_power_watts or W_PER_MW) / W_PER_MW
    tables["snapshots"] = _table(["name", "weightings"], [[t, hours] for t in snaps])
    v_kv = {b.name: (b.nominal_voltage_volts / 1e3) or 1.0 for b in s.buses}
    tables["buses"] = _table(["name", "v_nom"], [[b.name, v_kv[b.name]] for b in s.buses])
    lines = [b for b in s.branches if not b.transformer]
    # x_pu on the scenario base -> ohm at bus0's voltage (PyPSA: x_pu = x / v_nom**2 on 1 MVA).
    tables["lines"] = _table(
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
        tables["transformers"] = _table(
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
    tables["generators"] = _table(
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
        tables["generators-p_max_pu"] = _table(
            ["snapshot", *[g.name for g in varying]],
            [[t, *[g.availability_per_unit[i] for g in varying]] for i, t in enumerate(snaps)],
        )
    if s.loads:
        tables["loads"] = _table(["name", "bus"], [[ld.name, ld.bus] for ld in s.loads])
        tables["loads-p_set"] = _table(
            ["snapshot", *[ld.name for ld in s.loads]],
            [[t, *[ld.demand_watts[i] / W_PER_MW for ld in s.loads]] for i, t in enumerate(snaps)],
        )
    if s.storage_units:
        tables["storage_units"] = _table(
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
            tables["storage_units-inflow"] = _table(
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
    tables["mining_sites"] = _table(
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
    return tables


def write_pypsa_folder(s: planner_pb2.Scenario, folder: Path) -> None:
    """Write a checked scenario as a PyPSA CSV folder (to hand it to other PyPSA tools)."""
    for stem, table in scenario_tables(s).items():
        table.to_csv(folder / f"{stem}.csv")


def read_scenario_message(scenario: planner_pb2.Scenario) -> GridData:
    """The optimiser's validated data for a scenario message (CPU-heavy: run off the loop).

    Converted to PyPSA's tables and read once by ``optimiser.read_pypsa_tables``: the
    optimiser's own validation (naming table, row and field) applies to scenarios from
    gRPC exactly as to scenarios from disk.

    Raises
    ------
    optimiser.BadGridDataError
        When the optimiser refuses the data.
    """
    import optimiser

    return optimiser.read_pypsa_tables(
        scenario_tables(scenario), source="scenario message", default_name=scenario.name
    )


def scenario_calendar(scenario: planner_pb2.Scenario) -> Calendar:
    """A scenario's calendar: its name, start, period length and count."""
    return Calendar(
        name=scenario.name,
        start_ns=scenario.start_time.seconds * NS_PER_S + scenario.start_time.nanos,
        period_ns=scenario.period_duration.seconds * NS_PER_S + scenario.period_duration.nanos,
        period_count=scenario.period_count,
    )
