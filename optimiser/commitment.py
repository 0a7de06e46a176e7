"""Unit commitment of committable generators: PyPSA's MILP formulation.

With ``committable`` generators the LOPF becomes a mixed-integer LP (HiGHS's branch
and cut, under ``SolveOptions.time_limit_s`` and ``mip_rel_gap``). Per committable
generator g and snapshot t, binaries ``u`` (on), ``su`` (started), ``sd`` (stopped):

======  =======================  ============================================
symbol  component                meaning
======  =======================  ============================================
u_gt    gen_status[g,t]          1 while the unit is on
su_gt   gen_start_up[g,t]        1 in the snapshot the unit starts
sd_gt   gen_shut_down[g,t]       1 in the snapshot the unit stops
======  =======================  ============================================

Rows (PyPSA 1.4's ``Generator-com-*``)::

    p_min_pu_gt p_nom_g u_gt <= P_gt <= p_max_pu_gt p_nom_g u_gt   ineq_gen_com_p_lower/upper
    su_gt >= u_gt - u_g,t-1                                        ineq_gen_com_start_up
    sd_gt >= u_g,t-1 - u_gt                                        ineq_gen_com_shut_down
    Σ_{k<min_up}   su_g,t-k <= u_gt     - (start-ups before t0 still binding)
    Σ_{k<min_down} sd_g,t-k <= 1 - u_gt - (shut-downs before t0 still binding)

with ``u_g,-1`` and the history before the first snapshot rebuilt from
``up_time_before`` / ``down_time_before`` as PyPSA does (see :func:`history`).
Objective terms: ``start_up_cost su + shut_down_cost sd`` (not weighted by the
snapshots' durations, as PyPSA) and ``w_t stand_by_cost u``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr import InequalityExpression, LinearExpression, MonomialTermExpression

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import Commitment, GridData

__all__ = ["declare_unit_commitment", "history", "objective_terms"]


def history(c: Commitment, length: int) -> NDArray[np.float64]:
    """Status at lags ``1..length`` before the first snapshot, shape ``(length, n)``.

    PyPSA's rule: a unit with ``down_time_before = d > 0`` was off for the ``d``
    snapshots before and on earlier; otherwise it was on for ``up_time_before``
    snapshots and off earlier. Non-committable units count as always on.
    """
    lag = np.arange(1, length + 1)[:, None]
    down = c.down_time_before[None, :]
    up = c.up_time_before[None, :]
    before = np.where(down > 0, lag > down, lag <= up).astype(float)
    return np.where(c.committable[None, :], before, 1.0)


def declare_unit_commitment(m: pyo.ConcreteModel, data: GridData) -> None:
    """Set ``GENS_UC``, binaries ``gen_status``/``gen_start_up``/``gen_shut_down`` and the
    rows of the module docstring (nothing when no generator is committable)."""
    g, c = data.generators, data.commitment
    uc = [] if c is None else [n for n, f in zip(g.names, c.committable, strict=True) if f]
    m.GENS_UC = pyo.Set(initialize=uc, ordered=True)
    m.gen_status = pyo.Var(m.GENS_UC, m.T, domain=pyo.Binary)
    m.gen_start_up = pyo.Var(m.GENS_UC, m.T, domain=pyo.Binary)
    m.gen_shut_down = pyo.Var(m.GENS_UC, m.T, domain=pyo.Binary)
    if c is None or not uc:
        return
    j = {n: i for i, n in enumerate(g.names)}
    lo = g.p_min_pu * g.p_nom_mw
    hi = g.p_max_pu * g.p_nom_mw
    max_time = max(int(c.min_up_time.max()), int(c.min_down_time.max()), 1)
    hist = history(c, max_time + 1)
    before = hist[0]
    switches = hist[:-1] - hist[1:]  # +1: started at lag, -1: stopped at lag
    lags = np.arange(1, max_time + 1)

    def still_binding(past: NDArray[np.float64], i: int, t: int, min_time: int) -> float:
        return float((past[:, i] * (lags + t < min_time)).sum())

    started, stopped = np.clip(switches, 0, None), np.clip(-switches, 0, None)

    def lin(terms: list[tuple[float, Any]]) -> LinearExpression:
        return LinearExpression([MonomialTermExpression((a, v)) for a, v in terms])

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_p_lower(m: pyo.ConcreteModel, n: str, t: int) -> object:
        body = lin([(1.0, m.gen_mw[n, t]), (-float(lo[t, j[n]]), m.gen_status[n, t])])
        return InequalityExpression((0.0, body), False)

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_p_upper(m: pyo.ConcreteModel, n: str, t: int) -> object:
        body = lin([(1.0, m.gen_mw[n, t]), (-float(hi[t, j[n]]), m.gen_status[n, t])])
        return InequalityExpression((body, 0.0), False)

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_start_up(m: pyo.ConcreteModel, n: str, t: int) -> object:
        terms = [(1.0, m.gen_start_up[n, t]), (-1.0, m.gen_status[n, t])]
        if t == 0:
            return InequalityExpression((-float(before[j[n]]), lin(terms)), False)
        terms.append((1.0, m.gen_status[n, t - 1]))
        return InequalityExpression((0.0, lin(terms)), False)

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_shut_down(m: pyo.ConcreteModel, n: str, t: int) -> object:
        terms = [(1.0, m.gen_shut_down[n, t]), (1.0, m.gen_status[n, t])]
        if t == 0:
            return InequalityExpression((float(before[j[n]]), lin(terms)), False)
        terms.append((-1.0, m.gen_status[n, t - 1]))
        return InequalityExpression((0.0, lin(terms)), False)

    def min_time(n: str, t: int, up: bool) -> object:
        # up:   Σ_k su_{t-k} - u_t <= -(start-ups before t0 still binding)
        # down: Σ_k sd_{t-k} + u_t <= 1 - (shut-downs before t0 still binding)
        i = j[n]
        k_max = int(c.min_up_time[i] if up else c.min_down_time[i])
        if k_max <= 0:
            return pyo.Constraint.Skip
        switch = m.gen_start_up if up else m.gen_shut_down
        terms = [(1.0, switch[n, t - k]) for k in range(min(k_max, t + 1))]
        terms.append((-1.0 if up else 1.0, m.gen_status[n, t]))
        past = still_binding(started if up else stopped, i, t, k_max)
        return InequalityExpression((lin(terms), -past if up else 1.0 - past), False)

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_up_time(m: pyo.ConcreteModel, n: str, t: int) -> object:
        return min_time(n, t, up=True)

    @m.Constraint(m.GENS_UC, m.T)  # type: ignore[untyped-decorator]  # pyomo is untyped
    def ineq_gen_com_down_time(m: pyo.ConcreteModel, n: str, t: int) -> object:
        return min_time(n, t, up=False)


def objective_terms(m: pyo.ConcreteModel, data: GridData) -> list[object]:
    """Start-up, shut-down and stand-by costs (see the module docstring)."""
    c = data.commitment
    if c is None:
        return []
    j = {n: i for i, n in enumerate(data.generators.names)}
    w = data.snapshots.weight_objective
    out: list[object] = []
    for n in m.GENS_UC:
        i = j[n]
        for t in m.T:
            if c.start_up_cost[i]:
                out.append(float(c.start_up_cost[i]) * m.gen_start_up[n, t])
            if c.shut_down_cost[i]:
                out.append(float(c.shut_down_cost[i]) * m.gen_shut_down[n, t])
            if c.stand_by_cost[i]:
                out.append(float(w[t] * c.stand_by_cost[i]) * m.gen_status[n, t])
    return out
