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
======  =======================  ============================================

Objective (minimise, PyPSA's LOPF plus mining value ``v_st``)::

    Σ_t w_t ( Σ_g mc_g P_gt + Σ_u (mc_u D_ut + sc_u S_ut) - Σ_s v_st M_st )

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


def declare_vars(m: pyo.ConcreteModel, data: GridData, options: ModelOptions) -> None:
    """Variables, with their bounds as plain numbers (a forecast update changes them
    in the live HiGHS model, see :meth:`optimiser.planner.Planner.update`)."""
    g = data.generators
    p_min, p_max = generator_bounds_mw(g, options.zero_below_mw)
    jg = {n: i for i, n in enumerate(g.names)}
    m.gen_mw = pyo.Var(
        m.GENS, m.T, bounds=lambda m, n, t: (float(p_min[t, jg[n]]), float(p_max[t, jg[n]]))
    )
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
    m.sto_dispatch_mw = pyo.Var(
        m.STORES, m.T, bounds=lambda m, u, t: (0.0, su.p_max_pu[j[u]] * su.p_nom_mw[j[u]])
    )
    m.sto_store_mw = pyo.Var(
        m.STORES, m.T, bounds=lambda m, u, t: (0.0, -su.p_min_pu[j[u]] * su.p_nom_mw[j[u]])
    )
    m.sto_soc_mwh = pyo.Var(
        m.STORES, m.T, bounds=lambda m, u, t: (0.0, su.max_hours[j[u]] * su.p_nom_mw[j[u]])
    )
    # spill at most the inflow (PyPSA's bound): stored water is not spilled
    m.sto_spill_mw = pyo.Var(
        m.SPILL_STORES, m.T, bounds=lambda m, u, t: (0.0, float(su.inflow_mw[t, j[u]]))
    )

    ms = data.mining_sites
    k = {n: i for i, n in enumerate(ms.names)}
    m.mine_mw = pyo.Var(
        m.SITES,
        m.T,
        bounds=lambda m, s, t: (ms.p_min_pu[k[s]] * ms.p_nom_mw[k[s]], ms.p_nom_mw[k[s]]),
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


def declare_objective(m: pyo.ConcreteModel, data: GridData) -> None:
    """``min Σ_t w_t (Σ_g mc_g P_gt + Σ_u (mc_u D_ut + sc_u S_ut) - Σ_s v_st M_st)``.

    ``w_t`` is the objective weighting of snapshot t (hours).
    """
    w = data.snapshots.weight_objective
    g, su, ms = data.generators, data.storage_units, data.mining_sites
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
        cons.declare_ineq_mine_ramp(m, data)
        cons.declare_eq_mine_rig_blocks(m, data)
        declare_objective(m, data)
    return m
