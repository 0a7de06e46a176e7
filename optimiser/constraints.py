"""Constraint families of the DC-OPF, one ``declare_*`` per family.

See :mod:`optimiser.model` for the symbol table.

The large families (``eq_kvl_cycle`` or ``eq_dc_flow``, ``ineq_line_limit_*``,
``eq_nodal_balance``: 99 % of SciGRID-DE's rows) are still indexed rules over the
model's sets, but each rule looks its variables up by position in a flat list made
once per family (``Var.__getitem__`` validates every index: 1-2 µs a call) and
returns the relational node with a ``LinearExpression`` body that operator
overloading would have produced in several steps. That body is also what Pyomo's
matrix compiler reads fastest: it takes its coefficients as they are instead of
walking a sum tree.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr import EqualityExpression, InequalityExpression, LinearExpression
from pyomo.core.expr import MonomialTermExpression as Monomial

from optimiser.cycles import cycle_matrix
from optimiser.data import bus_load_mw

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import GridData

__all__ = [
    "declare_eq_dc_flow",
    "declare_eq_kvl_cycle",
    "declare_eq_mine_rig_blocks",
    "declare_eq_nodal_balance",
    "declare_eq_storage_soc",
    "declare_ineq_line_limit",
    "declare_ineq_mine_ramp",
]


def _members(var: pyo.Var) -> list[Any]:
    """The members of a variable indexed ``(unit, t)``, unit-major: ``[pos * T + t]``."""
    return list(var.values())


def declare_eq_dc_flow(m: pyo.ConcreteModel, data: GridData) -> None:
    """Kirchhoff's voltage law in angle form, for lines and transformers.

    ``flow_mw[l,t] = b_l (theta_rad[i,t] - theta_rad[j,t] - φ_l)``

    symbol  component        meaning
    b_l     b_mw_per_rad     series susceptance on PyPSA's 1 MVA base (MW/rad)
    φ_l     shift_rad        transformer phase shift (rad)
    """
    n_t = data.n_snapshots
    br = data.branches
    flow, theta = _members(m.flow_mw), _members(m.theta_rad)
    # per branch: offsets of its flow and end-angle members in the flat lists, its
    # susceptance and its right-hand side -b_l φ_l (plain Python numbers: numpy
    # scalar access per call was a third of the time)
    ends = {
        k: (pos * n_t, b, i * n_t, j * n_t, -b * f)
        for pos, (k, b, i, j, f) in enumerate(
            zip(
                br.keys,
                br.b_mw_per_rad.tolist(),
                br.bus0.tolist(),
                br.bus1.tolist(),
                br.shift_rad.tolist(),
                strict=True,
            )
        )
    }

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_dc_flow(m: pyo.ConcreteModel, key: str, t: int) -> object:
        l0, b, i0, j0, rhs = ends[key]
        # F - b θ_i + b θ_j = -b φ, written as the linear node it compiles to
        body = LinearExpression(
            [flow[l0 + t], Monomial((-b, theta[i0 + t])), Monomial((b, theta[j0 + t]))]
        )
        return EqualityExpression((body, rhs))


def declare_eq_kvl_cycle(m: pyo.ConcreteModel, data: GridData) -> None:
    """Kirchhoff's voltage law in cycle form (PyPSA's default LOPF), no angles.

    ``Σ_l C_cl x_l flow_mw[l,t] = -Σ_l C_cl φ_l``  for every cycle c of a basis

    symbol  component        meaning
    C_cl    cycle_matrix     +1/-1: cycle c runs along/against branch l (0: not on it)
    x_l     1 / b_l          series reactance on PyPSA's 1 MVA base (rad/MW)
    φ_l     shift_rad        transformer phase shift (rad)

    With ``θ_i - θ_j = x_l F_l + φ_l`` (the angle form solved for the angle
    difference), the angle differences around every cycle sum to zero: that is
    exactly what angles that exist guarantee, so both forms have the same flows.
    The set ``CYCLES`` numbers the cycles (see :func:`optimiser.cycles.cycle_matrix`).
    """
    n_t = data.n_snapshots
    br = data.branches
    c = cycle_matrix(len(data.buses), br.bus0, br.bus1)
    x_rad_per_mw = 1.0 / br.b_mw_per_rad
    coef = c.multiply(x_rad_per_mw[np.newaxis, :]).tocsr()
    rhs = -(c @ br.shift_rad)
    # Numerical trick: reactances on a 1 MVA base are ~1e-5..1e-3 rad/MW; each row is
    # divided by its largest |coefficient| so that HiGHS sees O(1) entries (scaling a
    # row changes neither the feasible set nor the flows, only this row's dual).
    scale = 1.0 / np.abs(coef).max(axis=1).toarray().ravel() if coef.shape[0] else np.zeros(0)
    flow = _members(m.flow_mw)
    rows = [
        (
            [pos * n_t for pos in coef.indices[coef.indptr[r] : coef.indptr[r + 1]].tolist()],
            (coef.data[coef.indptr[r] : coef.indptr[r + 1]] * scale[r]).tolist(),
            float(rhs[r] * scale[r]),
        )
        for r in range(coef.shape[0])
    ]
    m.CYCLES = pyo.Set(initialize=range(len(rows)), ordered=True)

    @m.Constraint(m.CYCLES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_kvl_cycle(m: pyo.ConcreteModel, cyc: int, t: int) -> object:
        offsets, coefs, r = rows[cyc]
        body = LinearExpression(
            [Monomial((a, flow[o + t])) for o, a in zip(offsets, coefs, strict=True)]
        )
        return EqualityExpression((body, r))


def declare_ineq_line_limit(m: pyo.ConcreteModel, data: GridData) -> None:
    """Thermal limits ``-s_max_l <= flow_mw[l,t] <= s_max_l`` (``s_nom * s_max_pu``).

    Unrated branches (``s_max = inf``) are skipped. Two one-sided families so that
    each side has its own shadow price (currency per MW, negative-or-zero for
    ``_ub``, as HiGHS reports duals of a minimisation).
    """
    n_t = data.n_snapshots
    flow = _members(m.flow_mw)
    s_max = {
        k: (pos * n_t, s)
        for pos, (k, s) in enumerate(
            zip(data.branches.keys, data.branches.s_max_mw.tolist(), strict=True)
        )
    }

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_ub(m: pyo.ConcreteModel, key: str, t: int) -> object:
        l0, s = s_max[key]
        if s == math.inf:
            return pyo.Constraint.Skip
        return InequalityExpression((flow[l0 + t], s), False)  # F <= s, non-strict

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_lb(m: pyo.ConcreteModel, key: str, t: int) -> object:
        l0, s = s_max[key]
        if s == math.inf:
            return pyo.Constraint.Skip
        return InequalityExpression((-s, flow[l0 + t]), False)  # -s <= F, non-strict


def declare_eq_nodal_balance(m: pyo.ConcreteModel, data: GridData) -> None:
    """Power balance at every bus (Kirchhoff's current law).

    ``Σ_g∈b P_gt + Σ_u∈b (D_ut - C_ut) - Σ_s∈b M_st - Σ_l:i=b F_lt + Σ_l:j=b F_lt = L_bt``

    ``L_bt`` is the fixed load at bus b. Its dual, divided by the snapshot's objective
    weighting, is the bus's marginal price.
    """
    n_t = data.n_snapshots
    n_b = len(data.buses.names)
    # per bus: (coefficient, flat member list, offset of the unit's first snapshot),
    # grouped by family in the order of the formula (the order fixes HiGHS's columns)
    terms: list[list[tuple[float, list[Any], int]]] = [[] for _ in range(n_b)]

    def add(coef: float, var: pyo.Var, buses: NDArray[np.int64]) -> None:
        members = _members(var)
        for pos, b in enumerate(buses.tolist()):
            terms[b].append((coef, members, pos * n_t))

    su = data.storage_units
    add(1.0, m.gen_mw, data.generators.bus)
    add(1.0, m.sto_dispatch_mw, su.bus)
    add(-1.0, m.sto_store_mw, su.bus)
    add(-1.0, m.mine_mw, data.mining_sites.bus)
    add(-1.0, m.flow_mw, data.branches.bus0)
    add(1.0, m.flow_mw, data.branches.bus1)
    load = bus_load_mw(data).tolist()
    ib = {n: i for i, n in enumerate(data.buses.names)}

    @m.Constraint(m.BUSES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_nodal_balance(m: pyo.ConcreteModel, b: str, t: int) -> object:
        i = ib[b]
        if not terms[i]:
            return pyo.Constraint.Skip  # isolated bus with nothing on it (load checked earlier)
        body = LinearExpression(
            [v[o + t] if c == 1.0 else Monomial((c, v[o + t])) for c, v, o in terms[i]]
        )
        return EqualityExpression((body, load[t][i]))


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
