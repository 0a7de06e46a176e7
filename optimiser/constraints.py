"""Constraint families of the DC-OPF, one ``declare_*`` per family.

See :mod:`optimiser.model` for the symbol table.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np
import pyomo.environ as pyo

from optimiser.data import bus_load_mw

if TYPE_CHECKING:
    from optimiser.data import GridData

__all__ = [
    "declare_eq_dc_flow",
    "declare_eq_mine_rig_blocks",
    "declare_eq_nodal_balance",
    "declare_eq_storage_soc",
    "declare_ineq_line_limit",
    "declare_ineq_mine_ramp",
]


def declare_eq_dc_flow(m: pyo.ConcreteModel, data: GridData) -> None:
    """Kirchhoff's voltage law in angle form, for lines and transformers.

    ``flow_mw[l,t] = b_l (theta_rad[i,t] - theta_rad[j,t] - φ_l)``

    symbol  component        meaning
    b_l     b_mw_per_rad     series susceptance on PyPSA's 1 MVA base (MW/rad)
    φ_l     shift_rad        transformer phase shift (rad)
    """
    br = data.branches
    bus = data.buses.names
    # plain Python tuples per branch: numpy scalar access per call was a third of the time
    ends = {
        k: (b, bus[i], bus[j], b * f)
        for k, b, i, j, f in zip(
            br.keys,
            br.b_mw_per_rad.tolist(),
            br.bus0.tolist(),
            br.bus1.tolist(),
            br.shift_rad.tolist(),
            strict=True,
        )
    }
    theta, flow = m.theta_rad, m.flow_mw

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_dc_flow(m: pyo.ConcreteModel, key: str, t: int) -> object:
        b, i, j, b_shift = ends[key]
        if b_shift:
            return flow[key, t] == b * theta[i, t] - b * theta[j, t] - b_shift
        return flow[key, t] == b * theta[i, t] - b * theta[j, t]


def declare_ineq_line_limit(m: pyo.ConcreteModel, data: GridData) -> None:
    """Thermal limits ``-s_max_l <= flow_mw[l,t] <= s_max_l`` (``s_nom * s_max_pu``).

    Unrated branches (``s_max = inf``) are skipped. Two one-sided families so that
    each side has its own shadow price (currency per MW, negative-or-zero for
    ``_ub``, as HiGHS reports duals of a minimisation).
    """
    s_max = dict(zip(data.branches.keys, data.branches.s_max_mw.tolist(), strict=True))

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_ub(m: pyo.ConcreteModel, key: str, t: int) -> object:
        if not np.isfinite(s_max[key]):
            return pyo.Constraint.Skip
        return m.flow_mw[key, t] <= s_max[key]

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_lb(m: pyo.ConcreteModel, key: str, t: int) -> object:
        if not np.isfinite(s_max[key]):
            return pyo.Constraint.Skip
        return m.flow_mw[key, t] >= -s_max[key]


def declare_eq_nodal_balance(m: pyo.ConcreteModel, data: GridData) -> None:
    """Power balance at every bus (Kirchhoff's current law).

    ``Σ_g∈b P_gt + Σ_u∈b (D_ut - C_ut) - Σ_s∈b M_st - Σ_l:i=b F_lt + Σ_l:j=b F_lt = L_bt``

    ``L_bt`` is the fixed load at bus b. Its dual, divided by the snapshot's objective
    weighting, is the bus's marginal price.
    """
    bus = data.buses.names
    gens: dict[str, list[str]] = defaultdict(list)
    for n, b in zip(data.generators.names, data.generators.bus, strict=True):
        gens[bus[b]].append(n)
    stores: dict[str, list[str]] = defaultdict(list)
    for n, b in zip(data.storage_units.names, data.storage_units.bus, strict=True):
        stores[bus[b]].append(n)
    sites: dict[str, list[str]] = defaultdict(list)
    for n, b in zip(data.mining_sites.names, data.mining_sites.bus, strict=True):
        sites[bus[b]].append(n)
    out: dict[str, list[str]] = defaultdict(list)
    inc: dict[str, list[str]] = defaultdict(list)
    load = bus_load_mw(data)
    ib = {n: i for i, n in enumerate(bus)}
    br = data.branches
    for k, b0, b1 in zip(br.keys, br.bus0, br.bus1, strict=True):
        out[bus[b0]].append(k)
        inc[bus[b1]].append(k)

    @m.Constraint(m.BUSES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_nodal_balance(m: pyo.ConcreteModel, b: str, t: int) -> object:
        terms = [m.gen_mw[g, t] for g in gens[b]]
        terms += [m.sto_dispatch_mw[u, t] for u in stores[b]]
        terms += [-m.sto_store_mw[u, t] for u in stores[b]]
        terms += [-m.mine_mw[s, t] for s in sites[b]]
        terms += [-m.flow_mw[k, t] for k in out[b]]
        terms += [m.flow_mw[k, t] for k in inc[b]]
        if not terms:
            return pyo.Constraint.Skip  # isolated bus with nothing on it (load checked earlier)
        return pyo.quicksum(terms) == float(load[t, ib[b]])


def declare_eq_storage_soc(m: pyo.ConcreteModel, data: GridData) -> None:
    """State of charge of storage units (PyPSA's storage-unit balance).

    ``E_ut = (1 - λ_u)^{h_t} E_u,t-1 + h_t (η⁺_u C_ut - D_ut / η⁻_u + I_ut - S_ut)``

    with ``E_u,-1 = state_of_charge_initial`` or, when cyclic, ``E_u,T-1``;
    ``h_t`` the ``stores`` weighting (hours), ``I`` inflow, ``S`` spill.
    """
    su = data.storage_units
    j = {n: i for i, n in enumerate(su.names)}
    h = data.snapshots.weight_stores
    spill = set(m.SPILL_STORES)
    last = data.n_snapshots - 1

    @m.Constraint(m.STORES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_storage_soc(m: pyo.ConcreteModel, u: str, t: int) -> object:
        i = j[u]
        ht = float(h[t])
        keep = (1.0 - float(su.standing_loss[i])) ** ht
        if t > 0:
            prev = keep * m.sto_soc_mwh[u, t - 1]
        elif su.cyclic_state_of_charge[i]:
            prev = keep * m.sto_soc_mwh[u, last]
        else:
            prev = keep * float(su.state_of_charge_initial_mwh[i])
        rhs = prev + ht * (
            float(su.efficiency_store[i]) * m.sto_store_mw[u, t]
            - m.sto_dispatch_mw[u, t] / float(su.efficiency_dispatch[i])
        )
        if u in spill:
            rhs = rhs + ht * (float(su.inflow_mw[t, i]) - m.sto_spill_mw[u, t])
        return m.sto_soc_mwh[u, t] == rhs


def declare_ineq_mine_ramp(m: pyo.ConcreteModel, data: GridData) -> None:
    """Ramp limits of mining sites, fractions of ``p_nom`` per snapshot (PyPSA's).

    ``M_st - M_s,t-1 <= ru_s p_nom_s``  and  ``M_s,t-1 - M_st <= rd_s p_nom_s``, t >= 1.
    """
    ms = data.mining_sites
    k = {n: i for i, n in enumerate(ms.names)}

    @m.Constraint(m.SITES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_mine_ramp_up(m: pyo.ConcreteModel, s: str, t: int) -> object:
        r = ms.ramp_limit_up[k[s]]
        if t == 0 or np.isnan(r) or r >= 1:
            return pyo.Constraint.Skip
        return m.mine_mw[s, t] - m.mine_mw[s, t - 1] <= float(r * ms.p_nom_mw[k[s]])

    @m.Constraint(m.SITES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_mine_ramp_down(m: pyo.ConcreteModel, s: str, t: int) -> object:
        r = ms.ramp_limit_down[k[s]]
        if t == 0 or np.isnan(r) or r >= 1:
            return pyo.Constraint.Skip
        return m.mine_mw[s, t - 1] - m.mine_mw[s, t] <= float(r * ms.p_nom_mw[k[s]])


def declare_eq_mine_rig_blocks(m: pyo.ConcreteModel, data: GridData) -> None:
    """``M_st = B_s N_st`` with ``N_st`` integer: rigs switch in whole blocks of ``B_s`` MW."""
    ms = data.mining_sites
    k = {n: i for i, n in enumerate(ms.names)}

    @m.Constraint(m.RIG_SITES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_mine_rig_blocks(m: pyo.ConcreteModel, s: str, t: int) -> object:
        return m.mine_mw[s, t] == float(ms.rig_block_mw[k[s]]) * m.rigs_on[s, t]
