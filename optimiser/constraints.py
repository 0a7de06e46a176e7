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

    from optimiser.data import GlobalConstraint, GridData

__all__ = [
    "declare_eq_dc_flow",
    "declare_eq_kvl_cycle",
    "declare_eq_mine_rig_blocks",
    "declare_eq_nodal_balance",
    "declare_eq_storage_soc",
    "declare_eq_store_energy",
    "declare_global_constraints",
    "declare_ineq_capacity",
    "declare_ineq_line_limit",
    "declare_ineq_mine_ramp",
    "declare_ineq_ramp",
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
    scale = 1.0 / abs(coef).max(axis=1).toarray().ravel() if coef.shape[0] else np.zeros(0)
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
    br = data.branches
    s_max = {
        k: (pos * n_t, s)
        for pos, (k, s) in enumerate(zip(br.keys, br.s_max_mw.tolist(), strict=True))
    }
    # an extendable branch: |F| <= s_max_pu Ŝ (PyPSA's), rows against its capacity
    pu = br.s_max_pu if br.s_max_pu is not None else np.ones(len(br))
    ext = {k: float(pu[br.keys.index(k)]) for k in m.LINES_EXT}

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_ub(m: pyo.ConcreteModel, key: str, t: int) -> object:
        l0, s = s_max[key]
        if key in ext:
            body = LinearExpression([flow[l0 + t], Monomial((-ext[key], m.branch_s_nom_mw[key]))])
            return InequalityExpression((body, 0.0), False)
        if s == math.inf:
            return pyo.Constraint.Skip
        return InequalityExpression((flow[l0 + t], s), False)  # F <= s, non-strict

    @m.Constraint(m.LINES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_line_limit_lb(m: pyo.ConcreteModel, key: str, t: int) -> object:
        l0, s = s_max[key]
        if key in ext:
            body = LinearExpression([flow[l0 + t], Monomial((ext[key], m.branch_s_nom_mw[key]))])
            return InequalityExpression((0.0, body), False)
        if s == math.inf:
            return pyo.Constraint.Skip
        return InequalityExpression((-s, flow[l0 + t]), False)  # -s <= F, non-strict


def declare_eq_nodal_balance(m: pyo.ConcreteModel, data: GridData) -> None:
    """Power balance at every bus (Kirchhoff's current law).

    ``Σ_g∈b P_gt + Σ_u∈b (D_ut - C_ut) - Σ_s∈b M_st - Σ_l:i=b F_lt + Σ_l:j=b F_lt = L_bt``

    Links withdraw ``K_kt`` at bus0 and deliver ``η_k K_kt`` at bus1 (and
    ``η_k^(i) K_kt`` at each further port). ``L_bt`` is the fixed load at bus b. Its
    dual, divided by the snapshot's objective weighting, is the bus's marginal price.
    """
    n_t = data.n_snapshots
    n_b = len(data.buses.names)
    # per bus: (coefficient, flat member list, offset of the unit's first snapshot),
    # grouped by family in the order of the formula (the order fixes HiGHS's columns)
    terms: list[list[tuple[float, list[Any], int]]] = [[] for _ in range(n_b)]

    def add(coef: float | NDArray[np.float64], var: pyo.Var, buses: NDArray[np.int64]) -> None:
        members = _members(var)
        coefs = np.broadcast_to(np.asarray(coef, dtype=float), buses.shape).tolist()
        for pos, (b, c) in enumerate(zip(buses.tolist(), coefs, strict=True)):
            if b >= 0:
                terms[b].append((c, members, pos * n_t))

    su = data.storage_units
    add(1.0, m.gen_mw, data.generators.bus)
    add(1.0, m.sto_dispatch_mw, su.bus)
    add(-1.0, m.sto_store_mw, su.bus)
    add(-1.0, m.mine_mw, data.mining_sites.bus)
    add(-1.0, m.flow_mw, data.branches.bus0)
    add(1.0, m.flow_mw, data.branches.bus1)
    lk = data.all_links
    add(1.0, m.store_p_mw, data.all_stores.bus)
    add(-1.0, m.link_p0_mw, lk.bus0)
    add(lk.efficiency, m.link_p0_mw, lk.bus1)
    for bus, eff in zip(lk.bus_extra, lk.efficiency_extra, strict=True):
        add(eff, m.link_p0_mw, bus)  # multi-port: bus2, efficiency2, ...
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

    for t >= 1 (and t = 0 when cyclic, with ``E_u,-1 = E_u,T-1``);
    ``E_u0 = state_of_charge_initial + h_0 (...)`` otherwise (PyPSA applies no
    standing loss to the initial state);
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
            # PyPSA applies no standing loss to the initial state of charge
            prev = float(su.state_of_charge_initial_mwh[i])
        rhs = prev + ht * (
            float(su.efficiency_store[i]) * m.sto_store_mw[u, t]
            - m.sto_dispatch_mw[u, t] / float(su.efficiency_dispatch[i])
        )
        if u in spill:
            rhs = rhs + ht * (float(su.inflow_mw[t, i]) - m.sto_spill_mw[u, t])
        return m.sto_soc_mwh[u, t] == rhs


def declare_eq_store_energy(m: pyo.ConcreteModel, data: GridData) -> None:
    """Energy level of stores (PyPSA's ``Store-energy_balance``).

    ``X_et = (1 - λ_e)^{h_t} X_e,t-1 - h_t Q_et``  for t >= 1 (and t = 0 when cyclic,
    with ``X_e,-1 = X_e,T-1``); ``X_e0 = e_initial_e - h_0 Q_e0`` otherwise (PyPSA
    applies no standing loss to the initial level).
    """
    st = data.all_stores
    j = {n: i for i, n in enumerate(st.names)}
    h = data.snapshots.weight_stores
    last = data.n_snapshots - 1

    @m.Constraint(m.E_STORES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_store_energy(m: pyo.ConcreteModel, e: str, t: int) -> object:
        i = j[e]
        ht = float(h[t])
        keep = (1.0 - float(st.standing_loss[i])) ** ht
        terms = [m.store_e_mwh[e, t], Monomial((ht, m.store_p_mw[e, t]))]
        rhs = 0.0
        if t > 0 or st.e_cyclic[i]:
            prev = m.store_e_mwh[e, t - 1 if t > 0 else last]
            terms.append(Monomial((-keep, prev)))
        else:
            rhs = float(st.e_initial_mwh[i])
        return EqualityExpression((LinearExpression(terms), rhs))


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


def declare_ineq_ramp(m: pyo.ConcreteModel, data: GridData) -> None:
    """Ramp limits of generators and links (PyPSA's ``*-p-ramp_limit_up/down``).

    ``X_t - X_t-1 <= ru p_nom``  and  ``X_t - X_t-1 >= -rd p_nom``  (``p_nom`` the
    capacity variable when extendable) for t >= 1, and for t = 0 against ``p_init``
    where it is given; ``X`` is ``gen_mw`` or ``link_p0_mw``.
    """
    families = (
        ("generators", "gen", m.gen_mw, m.GENS_EXT, m.gen_p_nom_mw, data.generators),
        ("links", "link", m.link_p0_mw, m.LINKS_EXT, m.link_p_nom_mw, data.all_links),
    )
    for family, short, var, ext_set, cap, table in families:
        r = data.ramps.get(family)
        j = {n: i for i, n in enumerate(table.names)}
        ext = set(ext_set)
        # only the components with a limit (SciGRID-DE's 1,423 generators have none)
        limited = (
            []
            if r is None
            else [n for i, n in enumerate(table.names) if r.up[i] >= 0 or r.down[i] >= 0]
        )
        index = pyo.Set(initialize=limited, ordered=True)
        setattr(m, f"RAMP_{short.upper()}S", index)

        def row(
            n: str,
            t: int,
            up: bool,
            r: Any = r,
            var: Any = var,
            cap: Any = cap,
            j: dict[str, int] = j,
            ext: set[str] = ext,
            table: Any = table,
        ) -> object:
            if r is None:
                return pyo.Constraint.Skip
            i = j[n]
            limit = float(r.up[i] if up else r.down[i])
            if math.isnan(limit) or (t == 0 and math.isnan(r.p_init_mw[i])):
                return pyo.Constraint.Skip
            sign = 1.0 if up else -1.0  # up: X_t - X_t-1 <= ..., down: X_t-1 - X_t <= ...
            terms: list[Any] = [Monomial((sign, var[n, t]))]
            rhs = 0.0
            if t > 0:
                terms.append(Monomial((-sign, var[n, t - 1])))
            else:
                rhs = sign * float(r.p_init_mw[i])
            if n in ext:
                terms.append(Monomial((-limit, cap[n])))
            else:
                rhs += limit * float(table.p_nom_mw[i])
            return InequalityExpression((LinearExpression(terms), rhs), False)

        up = pyo.Constraint(index, m.T, rule=lambda m, n, t, row=row: row(n, t, True))
        down = pyo.Constraint(index, m.T, rule=lambda m, n, t, row=row: row(n, t, False))
        setattr(m, f"ineq_{short}_ramp_up", up)
        setattr(m, f"ineq_{short}_ramp_down", down)


def declare_eq_mine_rig_blocks(m: pyo.ConcreteModel, data: GridData) -> None:
    """``M_st = B_s N_st`` with ``N_st`` integer: rigs switch in whole blocks of ``B_s`` MW."""
    ms = data.mining_sites
    k = {n: i for i, n in enumerate(ms.names)}

    @m.Constraint(m.RIG_SITES, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_mine_rig_blocks(m: pyo.ConcreteModel, s: str, t: int) -> object:
        return m.mine_mw[s, t] == float(ms.rig_block_mw[k[s]]) * m.rigs_on[s, t]


def declare_ineq_capacity(m: pyo.ConcreteModel, data: GridData) -> None:
    """Dispatch of extendable components against their capacity variables (PyPSA's).

    ``p_min_pu_gt Ĝ_g <= P_gt <= p_max_pu_gt Ĝ_g``; links likewise with ``K̂``;
    storage ``D_ut <= p_max_pu_u Û_u``, ``C_ut <= -p_min_pu_u Û_u``,
    ``E_ut <= max_hours_u Û_u``; mining ``p_min_pu_s M̂_s <= M_st <= M̂_s``.
    """
    g, lk, su, ms = data.generators, data.all_links, data.storage_units, data.mining_sites
    jg = {n: i for i, n in enumerate(g.names)}
    jk = {n: i for i, n in enumerate(lk.names)}
    ju = {n: i for i, n in enumerate(su.names)}
    js = {n: i for i, n in enumerate(ms.names)}

    def upper(var: Any, cap: Any, pu: float) -> object:
        return InequalityExpression((LinearExpression([var, Monomial((-pu, cap))]), 0.0), False)

    def lower(var: Any, cap: Any, pu: float) -> object:
        if pu == 0.0:
            return pyo.Constraint.Skip  # the variable's own bound (>= 0) where it has one
        return InequalityExpression((0.0, LinearExpression([var, Monomial((-pu, cap))])), False)

    @m.Constraint(m.GENS_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_p_max(m: pyo.ConcreteModel, n: str, t: int) -> object:
        return upper(m.gen_mw[n, t], m.gen_p_nom_mw[n], float(g.p_max_pu[t, jg[n]]))

    @m.Constraint(m.GENS_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_p_min(m: pyo.ConcreteModel, n: str, t: int) -> object:
        pu = float(g.p_min_pu[t, jg[n]])
        if pu == 0.0:  # P >= 0 as a row: the dispatch variable is free when extendable
            return InequalityExpression((0.0, m.gen_mw[n, t]), False)
        return lower(m.gen_mw[n, t], m.gen_p_nom_mw[n], pu)

    @m.Constraint(m.LINKS_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_link_p_max(m: pyo.ConcreteModel, n: str, t: int) -> object:
        return upper(m.link_p0_mw[n, t], m.link_p_nom_mw[n], float(lk.p_max_pu[t, jk[n]]))

    @m.Constraint(m.LINKS_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_link_p_min(m: pyo.ConcreteModel, n: str, t: int) -> object:
        pu = float(lk.p_min_pu[t, jk[n]])
        if pu == 0.0:
            return InequalityExpression((0.0, m.link_p0_mw[n, t]), False)
        return lower(m.link_p0_mw[n, t], m.link_p_nom_mw[n], pu)

    @m.Constraint(m.STORES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_sto_dispatch_max(m: pyo.ConcreteModel, u: str, t: int) -> object:
        return upper(m.sto_dispatch_mw[u, t], m.sto_p_nom_mw[u], float(su.p_max_pu[ju[u]]))

    @m.Constraint(m.STORES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_sto_store_max(m: pyo.ConcreteModel, u: str, t: int) -> object:
        return upper(m.sto_store_mw[u, t], m.sto_p_nom_mw[u], -float(su.p_min_pu[ju[u]]))

    @m.Constraint(m.STORES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_sto_soc_max(m: pyo.ConcreteModel, u: str, t: int) -> object:
        return upper(m.sto_soc_mwh[u, t], m.sto_p_nom_mw[u], float(su.max_hours[ju[u]]))

    st = data.all_stores
    je = {n: i for i, n in enumerate(st.names)}

    @m.Constraint(m.E_STORES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_store_e_max(m: pyo.ConcreteModel, e: str, t: int) -> object:
        return upper(m.store_e_mwh[e, t], m.store_e_nom_mwh[e], float(st.e_max_pu[t, je[e]]))

    @m.Constraint(m.E_STORES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_store_e_min(m: pyo.ConcreteModel, e: str, t: int) -> object:
        pu = float(st.e_min_pu[t, je[e]])
        if pu == 0.0:  # e >= 0 as a row (folded into a bound): e is free when extendable
            return InequalityExpression((0.0, m.store_e_mwh[e, t]), False)
        return lower(m.store_e_mwh[e, t], m.store_e_nom_mwh[e], pu)

    @m.Constraint(m.SITES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_mine_p_max(m: pyo.ConcreteModel, s: str, t: int) -> object:
        return upper(m.mine_mw[s, t], m.mine_p_nom_mw[s], 1.0)

    @m.Constraint(m.SITES_EXT, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_mine_p_min(m: pyo.ConcreteModel, s: str, t: int) -> object:
        return lower(m.mine_mw[s, t], m.mine_p_nom_mw[s], float(ms.p_min_pu[js[s]]))


def declare_global_constraints(m: pyo.ConcreteModel, data: GridData) -> None:
    """PyPSA's ``primary_energy`` constraints (the CO2 limit), one row each.

    ``Σ_t w_t Σ_g P_gt e_g / η_g + Σ_u e_u (E_u,init - E_u,T-1)
    + Σ_e e_e (X_e,init - X_e,T-1)  (sense)  constant``

    with ``w_t`` the ``generators`` weighting, ``e`` the carriers' ``co2_emissions``
    (``carrier_attribute``), storage units and stores counted by what they deplete
    (non-cyclic ones only, as PyPSA). The row's dual is the CO2 price (currency per t).

    And PyPSA's transmission expansion limits over the extendable lines and links whose
    carrier is one of ``carrier_attribute`` (comma-separated, e.g. ``AC, DC``)::

        Σ_l c_l Ŝ_l + Σ_k c_k K̂_k  (sense)  constant

    with ``c`` the ``length`` (``transmission_volume_expansion_limit``, MW km) or the
    ``capital_cost`` (``transmission_expansion_cost_limit``).
    """
    gcs = list(data.global_constraints)
    names = [gc.name for gc in gcs]
    m.GLOBAL = pyo.Set(initialize=names, ordered=True)
    g, su = data.generators, data.storage_units
    w = data.snapshots.weight_generators
    last = data.n_snapshots - 1
    by_name = {gc.name: gc for gc in gcs}

    def transmission_terms(gc: GlobalConstraint) -> list[Any]:
        wanted = {c.strip() for c in gc.carrier_attribute.strip("[]()").split(",")}
        by_volume = gc.kind == "transmission_volume_expansion_limit"
        out: list[Any] = []
        for family, var, index, kinds in (
            ("branches", m.branch_s_nom_mw, m.LINES_EXT, data.branches.kind),
            ("links", m.link_p_nom_mw, m.LINKS_EXT, ("link",) * len(data.all_links)),
        ):
            e = data.expansion_of(family)
            keys = data.branches.keys if family == "branches" else data.all_links.names
            pos = {k: i for i, k in enumerate(keys)}
            carriers = e.carrier or ("",) * len(e)
            for k in index:
                i = pos[k]
                if kinds[i] == "transformer" or carriers[i] not in wanted:
                    continue  # PyPSA: lines and links only
                coef = float(e.length_km[i] if by_volume else e.capital_cost[i])
                if coef:
                    out.append(Monomial((coef, var[k])))
        return out

    @m.Constraint(m.GLOBAL)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def eq_global(m: pyo.ConcreteModel, name: str) -> object:
        gc = by_name[name]
        if gc.kind != "primary_energy":
            terms_t = transmission_terms(gc)
            if not terms_t:
                return pyo.Constraint.Skip
            return _sense(LinearExpression(terms_t), gc.sense, gc.constant)
        # e / η per MWh of electricity; only co2_emissions is kept per generator
        if gc.carrier_attribute == "co2_emissions":
            per_mwh = g.co2_t_per_mwh
        else:
            raise ValueError(f"global constraint {name!r}: carrier_attribute must be co2_emissions")
        terms: list[Any] = [
            Monomial((float(w[t] * per_mwh[i]), m.gen_mw[n, t]))
            for i, n in enumerate(g.names)
            if per_mwh[i] != 0
            for t in m.T
        ]
        constant = gc.constant
        for i, u in enumerate(su.names):
            e = data.carrier_co2.get(su.carrier[i], 0.0)
            if e == 0 or su.cyclic_state_of_charge[i]:
                continue
            terms.append(Monomial((-e, m.sto_soc_mwh[u, last])))
            constant -= e * float(su.state_of_charge_initial_mwh[i])
        st = data.all_stores
        for i, n in enumerate(st.names):
            e = data.carrier_co2.get(st.carrier[i], 0.0)
            if e == 0 or st.e_cyclic[i]:
                continue
            terms.append(Monomial((-e, m.store_e_mwh[n, last])))
            constant -= e * float(st.e_initial_mwh[i])
        if not terms:
            return pyo.Constraint.Skip
        return _sense(LinearExpression(terms), gc.sense, constant)


def _sense(body: Any, sense: str, constant: float) -> object:
    """``body (sense) constant`` as a Pyomo relation."""
    if sense == "<=":
        return InequalityExpression((body, constant), False)
    if sense == ">=":
        return InequalityExpression((constant, body), False)
    return EqualityExpression((body, constant))
