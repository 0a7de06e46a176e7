"""Planning: base plan, mining plan, the two modes, and rolling re-plans.

Every plan is two HiGHS runs of one compiled model, each in its own live HiGHS
instance:

1. **base**: mining fixed at zero (``mine_mw`` and ``rigs_on`` bounds set to 0):
   PyPSA's LOPF on the network.
2. **mining**: mining free within its bounds; the first one starts from the
   base plan's basis.

In ``curtailment-only`` mode the second run also pins what the base plan did
with everything that is not variable renewable::

    P_gt = P⁰_gt                       conventional generator g (not wind/solar/run of river)
    C_ut = C⁰_ut,   D_ut >= D⁰_ut      storage charge fixed, discharge only upwards
    Q_et = Q⁰_et                       stores (PyPSA's Store) exchange what they did
    E_u,T-1 >= E⁰_u,T-1                the reservoir ends no lower than in the base plan

so by the nodal balances, Σ_s M_st = Σ_g∈RES (P_gt - P⁰_gt) + Σ_u (D_ut - D⁰_ut):
mining is fed only by renewable output that the base plan curtailed, and by
extra discharge that, with charge fixed and the final reservoir no lower, can
only come from water the base plan spilled.

:class:`Planner` keeps the Pyomo model and both HiGHS instances alive; a forecast
update changes bounds, costs and right-hand sides by index in both, and each
re-solves from its own previous basis (dual simplex, Devex pricing).

When the base LP has several optimal dispatches (it often has: many generators
share a marginal cost), HiGHS returns one of them, and the curtailment-only plan
keeps that one. A warm and a cold plan can therefore pin different (equally cheap)
base dispatches and mine somewhat different amounts; each plan proves its own
promise against its own base.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pyomo.common.gc_manager import PauseGC

from optimiser.data import bus_load_mw, generator_bounds_mw
from optimiser.errors import BadGridDataError, InfeasiblePlanError
from optimiser.model import CAPACITY_VARS, ModelOptions, build_model
from optimiser.result import Dispatch, PlanMode, PlanResult, Topology, frame, static_tables
from optimiser.solve import HighsModel, PlanStatus, RowMap, SolveOptions, SolveOutcome
from optimiser.warm_updates import WarmUpdates

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import GridData

logger = logging.getLogger(__name__)

__all__ = ["Planner", "plan"]


def _flat_tg(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """A ``(T, n)`` array in the model's index order ``(n, T)``, flattened."""
    return np.ascontiguousarray(np.asarray(values, dtype=float).T).ravel()


class Planner(WarmUpdates):
    """A live planning model for one scenario.

    Parameters
    ----------
    data:
        The validated scenario.
    mode:
        ``co-optimised`` or ``curtailment-only``.
    model_options, solve_options:
        Structure and solver settings.

    Raises
    ------
    SolverUnavailableError
        HiGHS is not installed.
    """

    def __init__(
        self,
        data: GridData,
        *,
        mode: PlanMode | str = PlanMode.CO_OPTIMISED,
        model_options: ModelOptions | None = None,
        solve_options: SolveOptions | None = None,
    ) -> None:
        t0 = time.perf_counter()
        self.data = data
        self.mode = PlanMode(mode)
        self.solve_options = solve_options or SolveOptions()
        self.model_options = model_options or ModelOptions()
        # building and indexing make no garbage: see `build_model` on pausing the collector
        with PauseGC():
            self.model = build_model(data, self.model_options)
            self.model_s = time.perf_counter() - t0  # the Pyomo model alone
            self.highs = HighsModel(self.model, self.solve_options)
            m, h = self.model, self.highs
            self._c_gen = h.cols(m.gen_mw)
            self._c_flow = h.cols(m.flow_mw)
            self._c_dis = h.cols(m.sto_dispatch_mw)
            self._c_sto = h.cols(m.sto_store_mw)
            self._c_soc = h.cols(m.sto_soc_mwh)
            self._c_spill = h.cols(m.sto_spill_mw)
            self._c_mine = h.cols(m.mine_mw)
            self._c_rigs = h.cols(m.rigs_on)
            self._c_link = h.cols(m.link_p0_mw)
            self._c_store_p = h.cols(m.store_p_mw)
            self._c_store_e = h.cols(m.store_e_mwh)
            self._c_status = h.cols(m.gen_status)
            self._c_uc = np.concatenate(
                [self._c_status, h.cols(m.gen_start_up), h.cols(m.gen_shut_down)]
            )
            self._c_cap = {family: h.cols(getattr(m, var)) for var, _, family in CAPACITY_VARS}
            self._r_global = h.rows(m.eq_global, list(m.GLOBAL))
            bus_t = [(b, t) for b in data.buses.names for t in m.T]
            line_t = [(k, t) for k in data.branches.keys for t in m.T]
            self._r_bal = h.rows(m.eq_nodal_balance, bus_t)
            if self.model_options.line_limits_as_bounds:
                # the limits are bounds of flow_mw: their duals are its reduced costs
                rated = np.repeat(np.isfinite(data.branches.s_max_mw), data.n_snapshots)
                col = np.where(rated, self._c_flow, -1)
                none = np.full(len(col), -1, dtype=np.int64)
                ones = np.ones(len(col))
                self._r_ub = RowMap(row=none, col=col, coef=ones, kind=np.ones(len(col), np.int64))
                self._r_lb = RowMap(row=none, col=col, coef=ones, kind=-np.ones(len(col), np.int64))
            else:
                self._r_ub = h.rows(m.ineq_line_limit_ub, line_t)
                self._r_lb = h.rows(m.ineq_line_limit_lb, line_t)
            self._lower = h.col_lower.copy()  # the model's own bounds (after forecast updates)
            self._upper = h.col_upper.copy()
            # two live HiGHS instances: `base_highs` (mining fixed at 0) and `highs` (mining
            # plan); each re-solves from its own last basis after a forecast update
            self.base_highs = h.twin()
            zeros = np.zeros(len(self._c_mine))
            self.base_highs.set_col_bounds(self._c_mine, zeros, zeros)
            zeros = np.zeros(len(self._c_rigs))
            self.base_highs.set_col_bounds(self._c_rigs, zeros, zeros)
            zeros = np.zeros(len(self._c_cap["mining_sites"]))  # no site is built either
            self.base_highs.set_col_bounds(self._c_cap["mining_sites"], zeros, zeros)
        self._planned = False
        self.build_s = time.perf_counter() - t0
        self.read_s = 0.0
        logger.info(
            "built %s: %d cols, %d rows in %.2fs", data.name, h.n_col, h.n_row, self.build_s
        )

    # -- forecast updates --------------------------------------------------------
    def update(
        self,
        *,
        generators_p_max_pu: NDArray[np.float64] | None = None,
        loads_p_set_mw: NDArray[np.float64] | None = None,
        mining_value_per_mwh: NDArray[np.float64] | None = None,
        storage_soc_initial_mwh: NDArray[np.float64] | None = None,
        shift_periods: int = 0,
    ) -> None:
        """Apply a forecast update (arrays shaped ``(T, n)`` like the data's).

        ``storage_soc_initial_mwh`` (per storage unit) sets the state of charge before
        the first period; ``shift_periods`` says the window moved that many periods
        since the last plan, so both kept bases are shifted to match (a rolling window,
        :mod:`optimiser.basis_shift`).

        Raises
        ------
        BadGridDataError
            A shape does not match, or a value is NaN/infinite/negative where it must not be.
        """
        d = self.data
        if generators_p_max_pu is not None and d.commitment is not None:
            raise BadGridDataError(
                "generators-p_max_pu",
                None,
                None,
                "a forecast update of committable generators is not supported; re-plan instead",
            )
        if generators_p_max_pu is not None and d.expansion_of("generators").any:
            raise BadGridDataError(
                "generators-p_max_pu",
                None,
                None,
                "a forecast update of extendable generators is not supported; re-plan instead",
            )
        if generators_p_max_pu is not None:
            arr = self._checked(
                "generators-p_max_pu", generators_p_max_pu, d.generators.p_max_pu, nonneg=True
            )
            g = replace(d.generators, p_max_pu=arr)
            d = replace(d, generators=g)
            lo_mw, hi_mw = generator_bounds_mw(g, self.model_options.zero_below_mw)
            lb, ub = _flat_tg(lo_mw), _flat_tg(hi_mw)
            ok = self._c_gen >= 0
            self._lower[self._c_gen[ok]] = lb[ok]
            self._upper[self._c_gen[ok]] = ub[ok]
            for inst in (self.base_highs, self.highs):
                inst.set_col_bounds(self._c_gen, lb, ub)
        if loads_p_set_mw is not None:
            arr = self._checked("loads-p_set", loads_p_set_mw, d.loads.p_set_mw, nonneg=False)
            d = replace(d, loads=replace(d.loads, p_set_mw=arr))
            load = _flat_tg(bus_load_mw(d))
            for inst in (self.base_highs, self.highs):
                inst.set_row_bounds(self._r_bal, load, load)
        if mining_value_per_mwh is not None:
            arr = self._checked(
                "mining_sites-value",
                mining_value_per_mwh,
                d.mining_sites.value_per_mwh,
                nonneg=False,
            )
            d = replace(d, mining_sites=replace(d.mining_sites, value_per_mwh=arr))
            w = d.snapshots.weight_objective[None, :]
            for inst in (self.base_highs, self.highs):
                inst.set_col_cost(self._c_mine, (-w * arr.T).ravel())
        if storage_soc_initial_mwh is not None:
            d = self._set_soc_initial(d, storage_soc_initial_mwh)
        self.data = d
        if shift_periods > 0:
            self._shift_bases(shift_periods)

    @staticmethod
    def _checked(
        name: str, new: NDArray[np.float64], old: NDArray[np.float64], *, nonneg: bool
    ) -> NDArray[np.float64]:
        arr = np.array(new, dtype=float)
        if arr.shape != old.shape:
            raise BadGridDataError(name, None, None, f"shape {arr.shape} != {old.shape}")
        bad = np.argwhere(~np.isfinite(arr) | ((arr < 0) if nonneg else False))
        if len(bad):
            t, j = (int(v) for v in bad[0])
            raise BadGridDataError(
                name, t + 2, f"column {j}", f"bad value {arr[t, j]!r} (NaN, infinite or negative)"
            )
        return arr

    # -- planning -------------------------------------------------------------------
    def _run(self, what: str, inst: HighsModel) -> SolveOutcome:
        out = inst.solve(label=what)
        self._runs.append(out)
        logger.info("%s solve: %s in %.3fs", what, out.termination, out.run_s)
        return out

    def _dispatch(self, x: NDArray[np.float64]) -> Dispatch:
        d, m, h = self.data, self.model, self.highs
        su = d.storage_units
        spill_names = tuple(m.SPILL_STORES)
        spill = np.zeros((d.n_snapshots, len(su)))
        if spill_names:
            sv = h.values(m.sto_spill_mw, self._c_spill, x).reshape(len(spill_names), -1).T
            col = {n: j for j, n in enumerate(su.names)}
            for k, n in enumerate(spill_names):
                spill[:, col[n]] = sv[:, k]

        def tg(var: object, idx: NDArray[np.int64], n: int) -> NDArray[np.float64]:
            return h.values(var, idx, x).reshape(n, d.n_snapshots).T

        n_u = len(su)
        st = d.all_stores
        capacities = self._capacities(x)
        return Dispatch(
            generators_p=frame(tg(m.gen_mw, self._c_gen, len(d.generators)), d, d.generators.names),
            storage_units_p_dispatch=frame(tg(m.sto_dispatch_mw, self._c_dis, n_u), d, su.names),
            storage_units_p_store=frame(tg(m.sto_store_mw, self._c_sto, n_u), d, su.names),
            storage_units_state_of_charge=frame(tg(m.sto_soc_mwh, self._c_soc, n_u), d, su.names),
            storage_units_spill=frame(spill, d, su.names),
            branches_p0=frame(tg(m.flow_mw, self._c_flow, len(d.branches)), d, d.branches.keys),
            mining_sites_p=frame(
                tg(m.mine_mw, self._c_mine, len(d.mining_sites)), d, d.mining_sites.names
            ),
            links_p0=frame(tg(m.link_p0_mw, self._c_link, len(d.all_links)), d, d.all_links.names),
            stores_p=frame(tg(m.store_p_mw, self._c_store_p, len(st)), d, st.names),
            stores_e=frame(tg(m.store_e_mwh, self._c_store_e, len(st)), d, st.names),
            generators_status=frame(
                tg(m.gen_status, self._c_status, len(m.GENS_UC)), d, tuple(m.GENS_UC)
            ),
            capacities=capacities,
            generators_available_mw=self._available(capacities),
        )

    def _available(self, capacities: dict[str, pd.Series]) -> pd.DataFrame:
        """``p_max_pu * p_nom`` per snapshot, extendable generators at their optimal size."""
        g = self.data.generators
        p_nom = np.array(g.p_nom_mw, dtype=float)
        sizes = capacities.get("generators")
        if sizes is not None:
            pos = {n: i for i, n in enumerate(g.names)}
            p_nom[[pos[str(n)] for n in sizes.index]] = sizes.to_numpy()
        return frame(g.p_max_pu * p_nom, self.data, g.names)

    def _capacities(self, x: NDArray[np.float64]) -> dict[str, pd.Series]:
        """Optimal capacity of each extendable component, by family (MW; PyPSA's
        ``p_nom_opt`` / ``s_nom_opt``); families with nothing extendable are left out."""
        m, h = self.model, self.highs
        out: dict[str, pd.Series] = {}
        for var, index, family in CAPACITY_VARS:
            names = list(getattr(m, index))  # branches: keys line:NAME / transformer:NAME
            if names:
                values = h.values(getattr(m, var), self._c_cap[family], x)
                out[family] = pd.Series(values, index=pd.Index(names, name="name"))
        return out

    def _fail(self, out: SolveOutcome, what: str) -> None:
        if out.status == PlanStatus.OPTIMAL:
            return
        if out.has_solution and self.solve_options.allow_suboptimal:
            logger.warning("%s solve ended %s; using its feasible point", what, out.termination)
            return
        cause = ""
        if out.status == PlanStatus.INFEASIBLE:
            cause = self._infeasibility_cause(what)
        raise InfeasiblePlanError(
            f"{what} plan not optimal: HiGHS status {out.termination}",
            status=str(out.status),
            termination=out.termination,
            cause=cause,
        )

    def _infeasibility_cause(self, what: str) -> str:
        d = self.data
        if what == "mining" and (d.mining_sites.p_min_pu > 0).any():
            names = [
                n
                for n, p in zip(d.mining_sites.names, d.mining_sites.p_min_pu, strict=True)
                if p > 0
            ]
            if self.mode == PlanMode.CURTAILMENT_ONLY:
                return (
                    f"sites {names} have a minimum load (p_min_pu > 0) that curtailed "
                    "energy cannot always cover in curtailment-only mode"
                )
            return f"sites {names} have a minimum load (p_min_pu > 0) the grid cannot serve"
        load = bus_load_mw(d).sum(axis=1)
        cap = (d.generators.p_max_pu * d.generators.p_nom_mw).sum(axis=1) + (
            d.storage_units.p_max_pu * d.storage_units.p_nom_mw
        ).sum()
        short = np.flatnonzero(load > cap + 1e-6)
        if len(short):
            t = int(short[0])
            return (
                f"snapshot {d.snapshots.names[t]!r}: load {load[t]:.1f} MW exceeds all "
                f"available generation and storage {cap[t]:.1f} MW"
            )
        return (
            "no single cause found; likely line limits (s_nom * s_max_pu) too small to carry "
            "load from where generation is, or generator minimum outputs (p_min_pu)"
        )

    def plan(self) -> PlanResult:
        """Solve the base plan and the mining plan; return both.

        Raises
        ------
        InfeasiblePlanError
            A solve ended without an optimal plan (and ``allow_suboptimal`` is off, or
            there is no feasible point), with what is known of the cause.
        """
        t0 = time.perf_counter()
        d, h = self.data, self.highs
        self._runs: list[SolveOutcome] = []
        # 1. base plan: no mining (its own instance, warm after the first plan)
        base_out = self._run("base", self.base_highs)
        self._fail(base_out, "base")
        base = self._dispatch(base_out.col_value)
        if not len(d.mining_sites):
            # no mining sites: the mining plan is the base plan (one solve, not two;
            # the instances share their index maps, so its duals read the same)
            self._planned = True
            return self._result(base_out, base_out, base, base, t0)
        # 2. mining plan; the first one starts from the base plan's basis
        if not self._planned:
            h.copy_basis_from(self.base_highs)
        if self.mode == PlanMode.CURTAILMENT_ONLY:
            self._pin_base(base_out.col_value)
        if h.is_mip and base_out.has_solution:
            h.set_start(base_out.col_value)  # the base plan: mining 0, feasible
        out = self._run("mining", h)
        if (
            self.mode == PlanMode.CURTAILMENT_ONLY
            and self._planned
            and out.status in (PlanStatus.INFEASIBLE, PlanStatus.UNKNOWN)
        ):
            # The pins hold the base dispatch exactly, so they inherit its residuals
            # (~3e-8 MW after a warm dual-simplex re-solve on SciGRID-DE). Where a branch
            # sits at its limit nothing can absorb them and HiGHS >= 1.16 calls the
            # pinned LP infeasible (or, after its own cold retry, stops "unknown": seen
            # on SciGRID-DE's third forecast of one window), although mining = 0 is the
            # base plan itself. A cold
            # base solve (interior point, crossover) lands on a cleaner vertex: re-pin
            # to it once; a warm start must never turn a feasible plan infeasible.
            logger.info("pinned mining plan infeasible after a warm base; re-solving cold")
            self.base_highs.clear_basis()
            base_out = self._run("base", self.base_highs)
            self._fail(base_out, "base")
            base = self._dispatch(base_out.col_value)
            self._pin_base(base_out.col_value)
            out = self._run("mining", h)
        self._planned = True
        self._fail(out, "mining")
        return self._result(out, base_out, self._dispatch(out.col_value), base, t0)

    def _result(
        self,
        out: SolveOutcome,
        base_out: SolveOutcome,
        plan_d: Dispatch,
        base: Dispatch,
        t0: float,
    ) -> PlanResult:
        """The plan's result from its mining and base solves (``t0``: when planning began)."""
        d, h = self.data, self.highs
        solve_s = time.perf_counter() - t0

        w = d.snapshots.weight_objective
        lam = h.duals(self._r_bal, out).reshape(len(d.buses), d.n_snapshots).T
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = lam / w[:, None]
            mu_u = -h.duals(self._r_ub, out).reshape(len(d.branches), d.n_snapshots).T / w[:, None]
            mu_l = h.duals(self._r_lb, out).reshape(len(d.branches), d.n_snapshots).T / w[:, None]
        global_mu = dict(zip(self.model.GLOBAL, h.duals(self._r_global, out).tolist(), strict=True))
        g = d.generators
        return PlanResult(
            status=out.status,
            termination=out.termination,
            mode=self.mode,
            objective=out.objective,
            objective_base=base_out.objective,
            plan=plan_d,
            base=base,
            buses_marginal_price=frame(lam, d, d.buses.names),
            branches_mu_upper=frame(mu_u, d, d.branches.keys),
            branches_mu_lower=frame(mu_l, d, d.branches.keys),
            generators_available_mw=plan_d.generators_available_mw
            if plan_d.generators_available_mw is not None
            else frame(g.p_max_pu * g.p_nom_mw, d, g.names),
            branch_kind=d.branches.kind,
            branch_s_max_mw=np.array(d.branches.s_max_mw),
            renewable=np.array(g.renewable),
            carriers=g.carrier,
            co2_t_per_mwh=np.array(g.co2_t_per_mwh),
            weight_energy_h=np.array(d.snapshots.weight_generators),
            links_efficiency=np.array(d.all_links.efficiency),
            timings={
                "read_s": self.read_s,
                "build_s": self.build_s,
                "solve_s": solve_s,
                "total_s": self.read_s + self.build_s + solve_s,
            },
            stats={
                "highs_run_s": float(sum(r.run_s for r in self._runs)),
                "highs_run_s_by_solve": [r.run_s for r in self._runs],
                # the same runs as HiGHS's own clock has them (`Highs.getRunTime`)
                "highs_reported_s": float(sum(r.highs_s for r in self._runs)),
                "iterations": [r.iterations for r in self._runs],
                "n_cols": h.n_col,
                "n_rows": h.n_row,
                "is_mip": h.is_mip,
                "mip_gap": out.mip_gap if h.is_mip else None,
                "mip_gap_base": base_out.mip_gap if h.is_mip else None,
                "compile_s": h.compile_s,
                "model_s": self.model_s,
            },
            static=static_tables(d),
            topology=Topology.of(d),
            global_constraints_mu=global_mu,
        )

    def _pin_base(self, x0: NDArray[np.float64]) -> None:
        """Curtailment-only: pin conventional dispatch and storage charge to the base plan."""
        d, h = self.data, self.highs
        n_t = d.n_snapshots
        conv = np.repeat(~d.generators.renewable, n_t)

        def pin(idx: NDArray[np.int64]) -> None:
            v = np.clip(x0[idx], self._lower[idx], self._upper[idx])  # solver noise off bounds
            h.set_col_bounds(idx, v, v)

        pin(self._c_gen[conv & (self._c_gen >= 0)])
        pin(self._c_sto[self._c_sto >= 0])
        pin(self._c_store_p[self._c_store_p >= 0])  # stores give and take what they did
        # committed units keep the base plan's on/off schedule (binaries: rounded)
        uc = self._c_uc[self._c_uc >= 0]
        h.set_col_bounds(uc, np.round(x0[uc]), np.round(x0[uc]))
        idx = self._c_dis[self._c_dis >= 0]
        h.set_col_bounds(idx, np.minimum(x0[idx], self._upper[idx]), self._upper[idx])
        for family, idx in self._c_cap.items():
            if family != "mining_sites":  # the base plan's grid is built; mining is sized on it
                pin(idx[idx >= 0])
        n_u = len(d.storage_units)
        if n_u:
            last = self._c_soc.reshape(n_u, n_t)[:, -1]
            last = last[last >= 0]
            h.set_col_bounds(last, np.minimum(x0[last], self._upper[last]), self._upper[last])


def plan(
    data: GridData,
    *,
    mode: PlanMode | str = PlanMode.CO_OPTIMISED,
    model_options: ModelOptions | None = None,
    solve_options: SolveOptions | None = None,
) -> PlanResult:
    """Plan mining on a scenario (build, solve base and mining plans).

    Parameters
    ----------
    data:
        The validated scenario.
    mode:
        ``co-optimised`` (mining dispatched like any flexible load) or
        ``curtailment-only`` (mining may use only energy the base plan curtailed or spilled).
    model_options, solve_options:
        Structure and solver settings.

    Returns
    -------
    PlanResult
        Plain-data result.

    Raises
    ------
    InfeasiblePlanError
        No optimal plan.
    SolverUnavailableError
        HiGHS is not installed.
    """
    return Planner(data, mode=mode, model_options=model_options, solve_options=solve_options).plan()
