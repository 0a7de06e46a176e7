"""The DC-OPF model with mining sites, as a Pyomo ``ConcreteModel``.

``build_model(data)`` reads as a recipe: sets, parameters, variables,
constraints, objective, one ``declare_*`` per family (the constraint families
live in :mod:`optimiser.constraints`). Building never mutates ``data``.

Symbols
-------
======  =======================  ============================================
symbol  component                meaning
======  =======================  ============================================
P_gt    gen_mw[g,t]              generator dispatch (MW)
F_lt    flow_mw[l,t]             DC flow on line/transformer l, bus0 -> bus1 (MW)
θ_bt    theta_rad[b,t]           voltage angle (rad), 0 at each island's slack;
                                 only with ``formulation="angles"``
M_st    mine_mw[s,t]             mining load at site s (MW)
D_ut    sto_dispatch_mw[u,t]     storage discharge (MW)
C_ut    sto_store_mw[u,t]        storage charge (MW)
E_ut    sto_soc_mwh[u,t]         storage state of charge at the end of t (MWh)
S_ut    sto_spill_mw[u,t]        spilled inflow (MW), units with inflow only
N_st    rigs_on[s,t]             rig blocks on (integer; with ``rig_blocks``)
K_kt    link_p0_mw[k,t]          link flow withdrawn at bus0 (MW)
Q_et    store_p_mw[e,t]          store power injected at its bus (MW, < 0 charging)
X_et    store_e_mwh[e,t]         store energy level at the end of t (MWh)
Ĝ_g     gen_p_nom_mw[g]          optimal capacity of an extendable generator (MW)
Ŝ_l     branch_s_nom_mw[l]       ... of an extendable line or transformer (MVA)
K̂_k     link_p_nom_mw[k]         ... of an extendable link (MW)
Û_u     sto_p_nom_mw[u]          ... of an extendable storage unit (MW)
X̂_e     store_e_nom_mwh[e]       ... of an extendable store (MWh)
M̂_s     mine_p_nom_mw[s]         ... of an extendable mining site (MW)
======  =======================  ============================================

Capacity expansion follows PyPSA: an extendable component's dispatch bounds become
rows against its capacity variable (``P_gt <= p_max_pu_gt Ĝ_g``, ...), each capacity
lies in ``[*_nom_min, *_nom_max]`` and costs ``capital_cost`` per MW once.

Objective (minimise, PyPSA's LOPF plus mining value ``v_st``)::

    Σ_t w_t ( Σ_g mc_g P_gt + Σ_u (mc_u D_ut + sc_u S_ut) + Σ_k mc_k K_kt
              + Σ_e (mc_e Q_et + msc_e X_et) - Σ_s v_st M_st )
    + Σ_x cc_x X̂_x        (capital costs of every extendable capacity X̂)
    + unit commitment's start-up, shut-down and stand-by costs (optimiser.commitment)

which is PyPSA's total system cost ``n.objective + n.objective_constant`` (PyPSA
subtracts the capital cost of the extendables' starting capacity as a constant).

Time-varying inputs (availability, load, inflow, value) enter as numbers; a
forecast update changes them in the live HiGHS model by column/row index
(see :mod:`optimiser.solve` and :mod:`optimiser.planner`), which is far faster
than rebuilding or walking Pyomo expressions again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyomo.environ as pyo
from pyomo.common.gc_manager import PauseGC

from optimiser import commitment as uc
from optimiser import constraints as cons
from optimiser.data import generator_bounds_mw

if TYPE_CHECKING:
    from optimiser.data import GridData

logger = logging.getLogger(__name__)

__all__ = ["ModelOptions", "build_model"]


@dataclass(frozen=True)
class ModelOptions:
    """Choices that change the model's structure.

    Parameters
    ----------
    rig_blocks:
        Model sites with ``rig_block_mw`` as integer blocks (a MILP). Off by default.
    zero_below_mw:
        Numerical trick: generator bounds below this (MW) become 0. SciGRID-DE has
        wind/solar availabilities down to 1e-11 MW; such bounds left HiGHS's warm
        simplex stalled on curtailment-only plans. 1 kW drops 2,531 (unit, hour)
        values worth 0.06 MW in all and moves the SciGRID-DE objective by 4.5e-7
        (relative); 0 keeps PyPSA's LP exactly.
    line_limits_as_bounds:
        Enforce ``|flow_mw[l,t]| <= s_max_l`` as bounds of ``flow_mw`` instead of the
        constraints ``ineq_line_limit_ub/lb`` (which the HiGHS bridge folds into the
        same bounds anyway). Same LP for HiGHS, same shadow prices (from reduced
        costs), but ~0.7 s less Pyomo building and compiling on SciGRID-DE; the
        named constraints then do not exist. Off by default.
    formulation:
        How Kirchhoff's voltage law enters: ``"cycles"`` (the default, as PyPSA's:
        no angles, ``eq_kvl_cycle[c,t]``, one row per independent cycle of the graph)
        or ``"angles"`` (``theta_rad`` variables and ``eq_dc_flow[l,t]``, one row per
        branch). Same feasible flows, objective and nodal prices; the cycle LP is
        smaller (SciGRID-DE, 24 h: 59,736 x 23,780 instead of 73,752 x 37,796) and
        HiGHS solves it faster (SciGRID-DE 3.2 s instead of 4.0 s, ACTIVSg2000 x 24 h
        18 s instead of 41 s; ``bench/RESULTS.md``). Where the optimum is not unique
        the two may stop at different optimal dispatches.
    """

    rig_blocks: bool = False
    zero_below_mw: float = 1e-3
    line_limits_as_bounds: bool = False
    formulation: Literal["angles", "cycles"] = "cycles"

    def __post_init__(self) -> None:
        if self.formulation not in ("angles", "cycles"):
            raise ValueError(f"formulation must be 'angles' or 'cycles', got {self.formulation!r}")


def declare_sets(m: pyo.ConcreteModel, data: GridData) -> None:
    """Sets ``BUSES, LINES, GENS, STORES, SPILL_STORES, SITES, T``.

    ``LINES`` holds lines and transformers, keyed ``line:NAME`` / ``transformer:NAME``.
    """
    su = data.storage_units
    m.T = pyo.Set(initialize=range(data.n_snapshots), ordered=True)
    m.BUSES = pyo.Set(initialize=data.buses.names, ordered=True)
    m.LINES = pyo.Set(initialize=data.branches.keys, ordered=True)
    m.GENS = pyo.Set(initialize=data.generators.names, ordered=True)
    m.STORES = pyo.Set(initialize=su.names, ordered=True)
    # PyPSA creates spill variables only for units that have some inflow
    has_inflow = su.inflow_mw.max(axis=0) > 0 if len(su) else np.zeros(0, dtype=bool)
    m.SPILL_STORES = pyo.Set(
        initialize=[n for n, f in zip(su.names, has_inflow, strict=True) if f], ordered=True
    )
    m.SITES = pyo.Set(initialize=data.mining_sites.names, ordered=True)
    m.LINKS = pyo.Set(initialize=data.all_links.names, ordered=True)
    # PyPSA's Store (``STORES`` are the storage units, named before stores existed here)
    m.E_STORES = pyo.Set(initialize=data.all_stores.names, ordered=True)

    def ext(family: str, names: tuple[str, ...]) -> pyo.Set:
        e = data.expansion_of(family).extendable
        return pyo.Set(initialize=[n for n, x in zip(names, e, strict=True) if x], ordered=True)

    m.GENS_EXT = ext("generators", data.generators.names)
    m.LINES_EXT = ext("branches", data.branches.keys)
    m.LINKS_EXT = ext("links", data.all_links.names)
    m.STORES_EXT = ext("storage_units", su.names)
    m.E_STORES_EXT = ext("stores", data.all_stores.names)
    m.SITES_EXT = ext("mining_sites", data.mining_sites.names)


def declare_vars(m: pyo.ConcreteModel, data: GridData, options: ModelOptions) -> None:
    """Variables, with their bounds as plain numbers (a forecast update changes them
    in the live HiGHS model, see :meth:`optimiser.planner.Planner.update`)."""
    g = data.generators
    p_min, p_max = generator_bounds_mw(g, options.zero_below_mw)
    jg = {n: i for i, n in enumerate(g.names)}
    gen_ext = set(m.GENS_EXT)
    com = data.commitment
    gen_uc = (
        set() if com is None else {n for n, f in zip(g.names, com.committable, strict=True) if f}
    )

    def gen_bounds(m: pyo.ConcreteModel, n: str, t: int) -> tuple[float | None, float | None]:
        if n in gen_ext:
            return None, None  # bounded by rows against gen_p_nom_mw
        lo, hi = float(p_min[t, jg[n]]), float(p_max[t, jg[n]])
        if n in gen_uc:  # P = 0 while off; the on-bounds are rows against gen_status
            return min(lo, 0.0), max(hi, 0.0)
        return lo, hi

    m.gen_mw = pyo.Var(m.GENS, m.T, bounds=gen_bounds)
    _declare_capacities(m, data)
    lk = data.all_links
    jk = {n: i for i, n in enumerate(lk.names)}
    link_ext = set(m.LINKS_EXT)
    m.link_p0_mw = pyo.Var(
        m.LINKS,
        m.T,
        bounds=lambda m, n, t: (
            (None, None)
            if n in link_ext
            else (
                float(lk.p_min_pu[t, jk[n]] * lk.p_nom_mw[jk[n]]),
                float(lk.p_max_pu[t, jk[n]] * lk.p_nom_mw[jk[n]]),
            )
        ),
    )
    if options.line_limits_as_bounds and data.expansion_of("branches").any:
        raise ValueError("line_limits_as_bounds needs fixed branch ratings (none extendable)")
    if options.line_limits_as_bounds:
        s_max = {
            k: (None, None) if not np.isfinite(s) else (-s, s)
            for k, s in zip(data.branches.keys, data.branches.s_max_mw.tolist(), strict=True)
        }
        m.flow_mw = pyo.Var(m.LINES, m.T, bounds=lambda m, k, t: s_max[k])
    else:
        m.flow_mw = pyo.Var(m.LINES, m.T)
    if options.formulation == "angles":
        m.theta_rad = pyo.Var(m.BUSES, m.T)
        for b in np.flatnonzero(data.buses.slack):
            for t in m.T:
                m.theta_rad[data.buses.names[b], t].fix(0.0)  # angle reference of each island

    su = data.storage_units
    j = {n: k for k, n in enumerate(su.names)}
    sto_ext = set(m.STORES_EXT)

    def cap(u: str, per_unit: float) -> float | None:
        return None if u in sto_ext else float(per_unit * su.p_nom_mw[j[u]])

    soc_set = su.state_of_charge_set_mwh

    def soc_bounds(m: pyo.ConcreteModel, u: str, t: int) -> tuple[float | None, float | None]:
        if soc_set is not None and not np.isnan(soc_set[t, j[u]]):
            return float(soc_set[t, j[u]]), float(soc_set[t, j[u]])  # PyPSA's fixed SOC
        return 0.0, cap(u, su.max_hours[j[u]])

    m.sto_dispatch_mw = pyo.Var(
        m.STORES, m.T, bounds=lambda m, u, t: (0.0, cap(u, su.p_max_pu[j[u]]))
    )
    m.sto_store_mw = pyo.Var(
        m.STORES, m.T, bounds=lambda m, u, t: (0.0, cap(u, -su.p_min_pu[j[u]]))
    )
    m.sto_soc_mwh = pyo.Var(m.STORES, m.T, bounds=soc_bounds)
    # spill at most the inflow (PyPSA's bound): stored water is not spilled
    m.sto_spill_mw = pyo.Var(
        m.SPILL_STORES, m.T, bounds=lambda m, u, t: (0.0, float(su.inflow_mw[t, j[u]]))
    )

    st = data.all_stores
    je = {n: i for i, n in enumerate(st.names)}
    est_ext = set(m.E_STORES_EXT)
    m.store_p_mw = pyo.Var(m.E_STORES, m.T)  # free, as PyPSA's Store-p
    m.store_e_mwh = pyo.Var(
        m.E_STORES,
        m.T,
        bounds=lambda m, e, t: (
            (None, None)  # rows against store_e_nom_mwh
            if e in est_ext
            else (
                float(st.e_min_pu[t, je[e]] * st.e_nom_mwh[je[e]]),
                float(st.e_max_pu[t, je[e]] * st.e_nom_mwh[je[e]]),
            )
        ),
    )

    ms = data.mining_sites
    k = {n: i for i, n in enumerate(ms.names)}
    site_ext = set(m.SITES_EXT)
    m.mine_mw = pyo.Var(
        m.SITES,
        m.T,
        bounds=lambda m, s, t: (
            (0.0, None)
            if s in site_ext
            else (ms.p_min_pu[k[s]] * ms.p_nom_mw[k[s]], ms.p_nom_mw[k[s]])
        ),
    )
    m.RIG_SITES = pyo.Set(
        initialize=[
            n for n in ms.names if options.rig_blocks and not np.isnan(ms.rig_block_mw[k[n]])
        ],
        ordered=True,
    )
    m.rigs_on = pyo.Var(
        m.RIG_SITES,
        m.T,
        domain=pyo.NonNegativeIntegers,
        bounds=lambda m, s, t: (0, int(np.floor(ms.p_nom_mw[k[s]] / ms.rig_block_mw[k[s]]))),
    )


#: Capacity variable, its index set and the expansion family it belongs to.
CAPACITY_VARS = (
    ("gen_p_nom_mw", "GENS_EXT", "generators"),
    ("branch_s_nom_mw", "LINES_EXT", "branches"),
    ("link_p_nom_mw", "LINKS_EXT", "links"),
    ("sto_p_nom_mw", "STORES_EXT", "storage_units"),
    ("store_e_nom_mwh", "E_STORES_EXT", "stores"),
    ("mine_p_nom_mw", "SITES_EXT", "mining_sites"),
)


def _family_names(data: GridData, family: str) -> tuple[str, ...]:
    return {
        "generators": data.generators.names,
        "branches": data.branches.keys,
        "links": data.all_links.names,
        "storage_units": data.storage_units.names,
        "stores": data.all_stores.names,
        "mining_sites": data.mining_sites.names,
    }[family]


def _declare_capacities(m: pyo.ConcreteModel, data: GridData) -> None:
    """One capacity variable per extendable component, within ``[*_nom_min, *_nom_max]``."""
    for var, index, family in CAPACITY_VARS:
        e = data.expansion_of(family)
        bounds = {
            n: (lo, hi if np.isfinite(hi) else None)
            for n, lo, hi in zip(
                _family_names(data, family), e.nom_min.tolist(), e.nom_max.tolist(), strict=True
            )
        }
        setattr(m, var, pyo.Var(getattr(m, index), bounds=lambda m, n, b=bounds: b[n]))


def declare_objective(m: pyo.ConcreteModel, data: GridData) -> None:
    """``min Σ_t w_t (Σ_g mc_g P_gt + Σ_u (mc_u D_ut + sc_u S_ut) - Σ_s v_st M_st)``.

    ``w_t`` is the objective weighting of snapshot t (hours).
    """
    w = data.snapshots.weight_objective
    g, su, ms = data.generators, data.storage_units, data.mining_sites
    lk, st = data.all_links, data.all_stores
    ju = {n: i for i, n in enumerate(su.names)}
    terms: list[object] = []
    for t in m.T:
        wt = float(w[t])
        terms.extend(
            wt * float(g.marginal_cost[i]) * m.gen_mw[n, t]
            for i, n in enumerate(g.names)
            if g.marginal_cost[i] != 0
        )
        terms.extend(
            wt * float(su.marginal_cost[i]) * m.sto_dispatch_mw[n, t]
            for i, n in enumerate(su.names)
            if su.marginal_cost[i] != 0
        )
        terms.extend(
            wt * float(su.spill_cost[ju[n]]) * m.sto_spill_mw[n, t]
            for n in m.SPILL_STORES
            if su.spill_cost[ju[n]] != 0
        )
        terms.extend(
            -wt * float(ms.value_per_mwh[t, i]) * m.mine_mw[n, t] for i, n in enumerate(ms.names)
        )
        terms.extend(
            wt * float(lk.marginal_cost[i]) * m.link_p0_mw[n, t]
            for i, n in enumerate(lk.names)
            if lk.marginal_cost[i] != 0
        )
        terms.extend(
            wt * float(st.marginal_cost[i]) * m.store_p_mw[n, t]
            for i, n in enumerate(st.names)
            if st.marginal_cost[i] != 0
        )
        terms.extend(
            wt * float(st.marginal_cost_storage[i]) * m.store_e_mwh[n, t]
            for i, n in enumerate(st.names)
            if st.marginal_cost_storage[i] != 0
        )
    for var, index, family in CAPACITY_VARS:
        cc = data.expansion_of(family).capital_cost
        pos = {n: i for i, n in enumerate(_family_names(data, family))}
        cap = getattr(m, var)
        terms.extend(float(cc[pos[n]]) * cap[n] for n in getattr(m, index) if cc[pos[n]] != 0)
    terms.extend(uc.objective_terms(m, data))
    m.objective = pyo.Objective(expr=pyo.quicksum(terms), sense=pyo.minimize)


def build_model(data: GridData, options: ModelOptions | None = None) -> pyo.ConcreteModel:
    """Build the multi-period DC-OPF with mining sites.

    Parameters
    ----------
    data:
        A validated scenario.
    options:
        Structural choices (integer rig blocks).

    Returns
    -------
    pyomo.environ.ConcreteModel
        The model; component names as in this module's symbol table.
    """
    options = options or ModelOptions()
    # Building creates ~10 Python objects per variable and row, none of them garbage;
    # left on, the cyclic collector re-scans the growing model over and over and took
    # half of the build time on SciGRID-DE (Pyomo's compiler pauses it the same way).
    with PauseGC():
        m = pyo.ConcreteModel(name=data.name)
        declare_sets(m, data)
        declare_vars(m, data, options)
        if options.formulation == "angles":
            cons.declare_eq_dc_flow(m, data)
        else:
            cons.declare_eq_kvl_cycle(m, data)
        if not options.line_limits_as_bounds:
            cons.declare_ineq_line_limit(m, data)
        cons.declare_eq_nodal_balance(m, data)
        cons.declare_eq_storage_soc(m, data)
        cons.declare_eq_store_energy(m, data)
        cons.declare_ineq_mine_ramp(m, data)
        cons.declare_ineq_ramp(m, data)
        cons.declare_eq_mine_rig_blocks(m, data)
        uc.declare_unit_commitment(m, data)
        cons.declare_ineq_capacity(m, data)
        cons.declare_global_constraints(m, data)
        declare_objective(m, data)
    return m
