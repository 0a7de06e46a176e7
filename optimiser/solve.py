"""Solve a Pyomo model with HiGHS through highspy, keeping the HiGHS model alive.

The Pyomo model is compiled once to matrix form (:mod:`optimiser.matrix`: the LP
Pyomo's ``LinearStandardFormCompiler`` gives, read faster) and passed to a
``highspy.Highs`` instance in one ``passModel``. The instance stays alive: later
solves after bound, cost or right-hand-side changes start from the previous basis
(a warm start), which is what the rolling planner relies on.

Why not Pyomo's ``appsi_highs``: it builds the same HiGHS model but walks every
expression in Python and costs about as much as the solve itself on SciGRID-DE
(measured: 6.8 s of loading for 6.6 s of HiGHS); the matrix compiler takes ~0.4 s.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo

from optimiser.basis_shift import shifted_status, valid_nonbasic
from optimiser.errors import OptimiserError, SolverUnavailableError
from optimiser.highs_output import new_highs
from optimiser.matrix import compile_linear
from optimiser.progress import follow_highs_log

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.basis_shift import PeriodIndex
    from optimiser.progress import ProgressCallback

logger = logging.getLogger(__name__)

__all__ = ["SETTLED_TOL", "HighsModel", "PlanStatus", "RowMap", "SolveOptions", "SolveOutcome"]

#: Largest primal/dual infeasibility (MW, currency/MW) at which an "unknown" HiGHS
#: outcome is accepted as optimal. The plan checker's tolerance is 10x wider.
SETTLED_TOL = 1e-6


class PlanStatus(StrEnum):
    """Outcome of a solve, independent of the solver's own vocabulary."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
    UNKNOWN = "unknown"

    @classmethod
    def from_termination(cls, termination: str) -> PlanStatus:
        """Map a HiGHS model-status name (e.g. ``kOptimal``); unknown names -> ``unknown``."""
        return _STATUS.get(termination, cls.UNKNOWN)


_STATUS: dict[str, PlanStatus] = {
    "kOptimal": PlanStatus.OPTIMAL,
    "kInfeasible": PlanStatus.INFEASIBLE,
    # DC-OPF costs are bounded below by construction (finite bounds on every
    # priced variable), so "unbounded or infeasible" means infeasible here
    "kUnboundedOrInfeasible": PlanStatus.INFEASIBLE,
    "kTimeLimit": PlanStatus.TIME_LIMIT,
    "kLoadError": PlanStatus.ERROR,
    "kModelError": PlanStatus.ERROR,
    "kPresolveError": PlanStatus.ERROR,
    "kSolveError": PlanStatus.ERROR,
    "kPostsolveError": PlanStatus.ERROR,
    "kMemoryLimit": PlanStatus.ERROR,
}


@dataclass(frozen=True)
class SolveOptions:
    """Solver settings.

    Parameters
    ----------
    time_limit_s:
        Wall-clock limit per HiGHS run, ``None`` for none.
    mip_rel_gap:
        Relative MIP gap (rig blocks only).
    threads:
        HiGHS threads, ``None`` for HiGHS's choice.
    allow_suboptimal:
        Return a plan when the solver stops early with a feasible point instead of raising.
    log_to_console:
        Let HiGHS print its log.
    cold_solver:
        HiGHS ``solver`` option for a solve without a starting basis (``ipm``,
        ``simplex`` or ``choose``).
    progress:
        Receives iterations and objective read from the HiGHS log while it runs
        (:mod:`optimiser.progress`); ``None``: the log is not read.
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-4
    threads: int | None = None
    allow_suboptimal: bool = False
    log_to_console: bool = False
    cold_solver: str = "ipm"
    progress: ProgressCallback | None = None


@dataclass(frozen=True)
class RowMap:
    """Where the members of a constraint went in the HiGHS model.

    ``row[k] >= 0``: a row; ``col[k] >= 0``: folded into a bound of that column,
    ``coef[k]`` being the row's coefficient and ``kind[k]`` its sense (1: ``<=``,
    -1: ``>=``, 2: both, a ranged row); both ``-1``: skipped.
    """

    row: NDArray[np.int64]
    col: NDArray[np.int64]
    coef: NDArray[np.float64]
    kind: NDArray[np.int64]


@dataclass(frozen=True)
class SolveOutcome:
    """One HiGHS run: status, objective, primal values and row duals; ``run_s`` is the
    wall time around ``Highs.run()``, ``highs_s`` the same run on HiGHS's own clock."""

    status: PlanStatus
    termination: str
    objective: float
    col_value: NDArray[np.float64]
    row_dual: NDArray[np.float64] | None
    col_dual: NDArray[np.float64] | None
    run_s: float
    highs_s: float
    iterations: int
    has_solution: bool
    #: HiGHS's relative MIP gap ``|primal - dual bound| / |primal|`` (``nan`` for an LP).
    mip_gap: float = float("nan")


def _import_highspy() -> Any:
    try:
        import highspy
    except ImportError as exc:  # translated once, here
        raise SolverUnavailableError(
            "HiGHS is not available: install the `highspy` package"
        ) from exc
    return highspy


class HighsModel:
    """A Pyomo model compiled into a live ``highspy.Highs``.

    Parameters
    ----------
    model:
        A linear (or mixed-integer linear) Pyomo model with one active objective.
    options:
        Solver settings.

    Raises
    ------
    SolverUnavailableError
        highspy cannot be imported.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolveOptions | None = None) -> None:
        hs = _import_highspy()
        self.options = options or SolveOptions()
        t0 = time.perf_counter()
        form = compile_linear(model)
        self._col_of = {id(v): j for j, v in enumerate(form.columns)}
        n_col, n_all = len(form.columns), len(form.rows)
        a = form.a
        row_lower, row_upper = form.row_lower, form.row_upper
        col_lower, col_upper = form.col_lower.copy(), form.col_upper.copy()
        # Numerical trick: an inequality row with one nonzero (a line limit
        # `flow_mw <= s_max`) is a column bound in disguise. Folding it into the bound
        # halves the rows HiGHS sees (SciGRID-DE: 83k -> 38k), which makes every
        # simplex solve and the steepest-edge set-up of a warm start much cheaper.
        # Its dual is recovered from the column's reduced cost (see `duals`).
        # kind: 0 equality, 1 `<=`, -1 `>=`, 2 ranged
        lo_set, up_set = np.isfinite(row_lower), np.isfinite(row_upper)
        kind = np.select(
            [row_lower == row_upper, up_set & ~lo_set, lo_set & ~up_set], [0, 1, -1], 2
        )
        fold = (np.diff(a.indptr) == 1) & (kind != 0)
        fold_rows = np.flatnonzero(fold)
        fold_cols = a.indices[a.indptr[fold_rows]]
        fold_coef = a.data[a.indptr[fold_rows]]
        lo = row_lower[fold_rows] / fold_coef
        hi = row_upper[fold_rows] / fold_coef
        lo, hi = np.where(fold_coef < 0, hi, lo), np.where(fold_coef < 0, lo, hi)
        np.maximum.at(col_lower, fold_cols, lo)
        np.minimum.at(col_upper, fold_cols, hi)
        keep = np.flatnonzero(~fold)
        # where each compiled row went: a HiGHS row, or a column bound (see `rows`)
        self._row_index = {id(con): r for r, con in enumerate(form.rows)}
        self._new_row = np.full(n_all, -1, dtype=np.int64)
        self._new_row[keep] = np.arange(len(keep))
        self._fold_col = np.full(n_all, -1, dtype=np.int64)
        self._fold_col[fold_rows] = fold_cols
        self._fold_coef = np.zeros(n_all)
        self._fold_coef[fold_rows] = fold_coef
        self._kind = kind
        # the Pyomo member of each column and HiGHS row (to shift a basis in time)
        self.col_members = form.columns
        self.row_members = [form.rows[i] for i in keep]
        a_csc = a[keep].tocsc()
        self.a_csc = a_csc
        row_lower, row_upper = row_lower[keep], row_upper[keep]
        n_row = len(keep)
        cost = form.cost
        self.is_mip = bool(form.integer.any())
        self.n_col, self.n_row = n_col, n_row

        h = new_highs(hs)
        h.setOptionValue("output_flag", self.options.log_to_console)
        lp = hs.HighsLp()
        lp.num_col_ = n_col
        lp.num_row_ = n_row
        lp.col_cost_ = cost
        lp.col_lower_ = col_lower
        lp.col_upper_ = col_upper
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.offset_ = form.offset
        lp.a_matrix_.format_ = hs.MatrixFormat.kColwise
        lp.a_matrix_.start_ = a_csc.indptr.astype(np.int32)
        lp.a_matrix_.index_ = a_csc.indices.astype(np.int32)
        lp.a_matrix_.value_ = a_csc.data.astype(np.float64)
        if self.is_mip:
            lp.integrality_ = [
                hs.HighsVarType.kInteger if f else hs.HighsVarType.kContinuous for f in form.integer
            ]
        status = h.passModel(lp)
        if status == hs.HighsStatus.kWarning:
            # HiGHS drops matrix entries with |a| <= 1e-9 (e.g. a solar availability of
            # 1e-16 at dusk times an extendable capacity) and says so with a warning:
            # the model it keeps is the one meant, up to those entries
            logger.info("HiGHS accepted the model with a warning (tiny entries dropped)")
        elif status != hs.HighsStatus.kOk:
            raise OptimiserError(f"HiGHS rejected the model: {status}")
        self._h = h
        self._hs = hs
        self._lp = lp
        self.col_lower = col_lower
        self.col_upper = col_upper
        self.row_lower = row_lower  # as compiled (later changes are the instance's)
        self.row_upper = row_upper
        self.compile_s = time.perf_counter() - t0
        logger.debug("compiled %d cols x %d rows in %.2fs", n_col, n_row, self.compile_s)

    def twin(self) -> HighsModel:
        """A second live HiGHS instance of the same compiled model (own bounds, costs
        and basis); index maps are shared. The planner keeps one for the base plan
        and one for the mining plan, so each re-solves from its own last basis."""
        other = object.__new__(HighsModel)
        other.__dict__.update(self.__dict__)
        h = new_highs(self._hs)
        h.setOptionValue("output_flag", self.options.log_to_console)
        h.passModel(self._lp)
        other._h = h
        other.col_lower = self.col_lower.copy()
        other.col_upper = self.col_upper.copy()
        return other

    def set_start(self, x: NDArray[np.float64]) -> None:
        """Give a MILP a feasible starting point (every column's value): branch and cut
        begins with it as its incumbent. The planner hands the mining solve the base
        plan, which is feasible for it wherever no site has a minimum load."""
        sol = self._hs.HighsSolution()
        sol.col_value = np.asarray(x, dtype=float)
        sol.value_valid = True
        self._h.setSolution(sol)

    def clear_basis(self) -> None:
        """Forget the basis and solution: the next solve runs cold."""
        self._h.clearSolver()

    def copy_basis_from(self, other: HighsModel) -> None:
        """Start the next solve from ``other``'s basis (same compiled model)."""
        basis = other._h.getBasis()
        if basis.valid:
            self._h.setBasis(basis)

    def shift_basis(self, cols: PeriodIndex, rows: PeriodIndex, shift: int) -> bool:
        """Move the kept basis ``shift`` periods earlier (:mod:`optimiser.basis_shift`);
        ``False`` where there is no basis to move.

        Set as an *alien* basis: HiGHS mends its count of basic variables and any
        singularity itself. (Mending the count here, in the new last periods, cost
        1.5-3x the dual simplex iterations on SciGRID-DE and once stalled the mining
        LP; HiGHS's own repair factors inside ``setBasis``, which holds the GIL for
        ~50 ms there.) Bound finiteness is read from the compiled model: forecast
        updates and pins change finite bounds only.
        """
        h, hs = self._h, self._hs
        basis = h.getBasis()
        if not basis.valid or shift <= 0:
            return False
        # `map` with the enum's own `__int__`: 6x faster than a generator of `int(s)`
        # (SciGRID-DE: 6 ms against 36 ms for the columns; the GIL is held throughout)
        as_int = hs.HighsBasisStatus.__int__
        col = np.fromiter(map(as_int, basis.col_status), dtype=np.int64, count=self.n_col)
        row = np.fromiter(map(as_int, basis.row_status), dtype=np.int64, count=self.n_row)
        col = valid_nonbasic(shifted_status(col, cols, shift), self.col_lower, self.col_upper)
        row = valid_nonbasic(shifted_status(row, rows, shift), self.row_lower, self.row_upper)
        status = [hs.HighsBasisStatus(v) for v in range(5)]
        basis.col_status = [status[v] for v in col.tolist()]
        basis.row_status = [status[v] for v in row.tolist()]
        basis.alien = True
        return bool(h.setBasis(basis) == hs.HighsStatus.kOk)

    # -- index maps ---------------------------------------------------------
    def cols(self, var: pyo.Var) -> NDArray[np.int64]:
        """Column of each member of an indexed variable, in index order; -1 where
        the member is not a column (fixed, or in no constraint)."""
        return np.fromiter(
            (self._col_of.get(id(v), -1) for v in var.values()), dtype=np.int64, count=len(var)
        )

    def rows(self, con: pyo.Constraint, index: list[Any]) -> RowMap:
        """Where each ``con[i]`` (``i`` in ``index``) went: a row, a folded column bound,
        or nowhere (skipped)."""
        members = dict(con.items())  # one pass; `con[i]` validates every index
        at = self._row_index
        r = np.fromiter(
            (at.get(id(members[i]), -1) if i in members else -1 for i in index),
            dtype=np.int64,
            count=len(index),
        )
        found = r >= 0
        rr = np.maximum(r, 0)
        return RowMap(
            row=np.where(found, self._new_row[rr], -1),
            col=np.where(found, self._fold_col[rr], -1),
            coef=np.where(found, self._fold_coef[rr], 0.0),
            kind=np.where(found & (self._fold_col[rr] >= 0), self._kind[rr], 0),
        )

    # -- changes ------------------------------------------------------------
    def set_col_bounds(
        self, idx: NDArray[np.int64], lower: NDArray[np.float64], upper: NDArray[np.float64]
    ) -> None:
        """Change column bounds (entries with ``idx == -1`` are ignored)."""
        keep = idx >= 0
        idx, lower, upper = idx[keep], np.asarray(lower)[keep], np.asarray(upper)[keep]
        if len(idx):
            self._h.changeColsBounds(
                len(idx), idx.astype(np.int32), lower.astype(float), upper.astype(float)
            )

    def set_col_cost(self, idx: NDArray[np.int64], cost: NDArray[np.float64]) -> None:
        """Change objective coefficients."""
        keep = idx >= 0
        idx, cost = idx[keep], np.asarray(cost)[keep]
        if len(idx):
            self._h.changeColsCost(len(idx), idx.astype(np.int32), cost.astype(float))

    def set_row_bounds(
        self, rows: RowMap, lower: NDArray[np.float64], upper: NDArray[np.float64]
    ) -> None:
        """Change row bounds (e.g. the load on a nodal balance); rows only, not folded ones."""
        if (rows.col >= 0).any():
            raise OptimiserError("cannot change the bounds of a row folded into a column bound")
        idx = rows.row
        keep = idx >= 0
        idx, lower, upper = idx[keep], np.asarray(lower)[keep], np.asarray(upper)[keep]
        if not len(idx):
            return
        if hasattr(self._h, "changeRowsBounds"):
            self._h.changeRowsBounds(
                len(idx), idx.astype(np.int32), lower.astype(float), upper.astype(float)
            )
        else:  # highspy < 1.11 has only the one-row call
            for i, lo, up in zip(idx.tolist(), lower.tolist(), upper.tolist(), strict=True):
                self._h.changeRowBounds(i, lo, up)

    # -- solve --------------------------------------------------------------
    def solve(self, *, primal: bool = False, label: str = "") -> SolveOutcome:
        """Run HiGHS from its current state (warm where a basis exists).

        Parameters
        ----------
        primal:
            Use primal simplex for a warm start (right when the starting basis is
            still primal feasible, e.g. the base plan for a curtailment-only plan).
        label:
            Names the run in progress events (``SolveOptions.progress``).
        """
        h, o = self._h, self.options
        if o.time_limit_s is not None:
            h.setOptionValue("time_limit", float(o.time_limit_s))
        if o.threads is not None:
            h.setOptionValue("threads", int(o.threads))
        h.setOptionValue("mip_rel_gap", float(o.mip_rel_gap))
        # Cold LP: interior point then crossover is 2-3x faster than dual simplex on
        # DC-OPF (SciGRID-DE: 3.3 s vs 5.7-9.6 s) and crossover leaves a basis; every
        # later solve starts dual simplex from the basis the previous one left (warm).
        warm = bool(h.getBasis().valid)
        h.setOptionValue("solver", "choose" if warm or self.is_mip else o.cold_solver)
        # Warm: dual simplex from the basis. Its default steepest-edge pricing first
        # computes exact weights, one BTRAN per row (SciGRID-DE: 7-20 s before the first
        # iteration); Devex pricing needs none and re-solves in well under a second.
        # Set on every run, cold ones too: HiGHS keeps the pricing it chose when it
        # first set up its simplex (the clean-up after crossover), later changes are
        # not picked up.
        h.setOptionValue("simplex_strategy", 4 if primal else 1)
        h.setOptionValue("simplex_dual_edge_weight_strategy", 1)
        t0 = time.perf_counter()
        clock0_s = h.getRunTime()  # HiGHS's own run clock, cumulative over the instance's runs
        with follow_highs_log(h, self._hs, o.log_to_console, o.progress, label):
            h.run()
            if warm and not self._settled(h):
                # a warm start can stall on near-degenerate pinned plans; retry cold
                logger.info("warm solve ended %s; retrying cold", h.getModelStatus().name)
                h.clearSolver()
                h.setOptionValue("solver", o.cold_solver)
                h.run()
        run_s = time.perf_counter() - t0
        highs_s = h.getRunTime() - clock0_s
        termination = str(h.getModelStatus().name)
        status = PlanStatus.from_termination(termination)
        if status == PlanStatus.UNKNOWN and self._settled(h):
            # HiGHS could not confirm optimality, but the solution is primal and dual
            # feasible to SETTLED_TOL: optimal up to that tolerance
            termination += " (feasible to 1e-6)"
            status = PlanStatus.OPTIMAL
        sol = h.getSolution()
        info = h.getInfo()
        has_solution = bool(sol.value_valid)
        col_value = (
            np.array(sol.col_value, dtype=float) if has_solution else np.full(self.n_col, np.nan)
        )
        row_dual = np.array(sol.row_dual, dtype=float) if sol.dual_valid else None
        col_dual = np.array(sol.col_dual, dtype=float) if sol.dual_valid else None
        objective = float(info.objective_function_value) if has_solution else float("nan")
        iterations = int(info.simplex_iteration_count) + max(int(info.ipm_iteration_count), 0)
        mip_gap = float(info.mip_gap) if self.is_mip and has_solution else float("nan")
        logger.debug("HiGHS %s in %.3fs (%d iterations)", termination, run_s, iterations)
        return SolveOutcome(
            status=status,
            termination=termination,
            objective=objective,
            col_value=col_value,
            row_dual=row_dual,
            col_dual=col_dual,
            run_s=run_s,
            highs_s=highs_s,
            iterations=iterations,
            has_solution=has_solution,
            mip_gap=mip_gap,
        )

    def _settled(self, h: Any) -> bool:
        """Optimal, or HiGHS's "unknown" with a solution whose largest primal and dual
        infeasibilities are within SETTLED_TOL (HiGHS's own tolerance is 1e-7; on
        SciGRID-DE's pinned curtailment-only plans some HiGHS versions stop at
        1.4e-7 MW after crossover and report "unknown")."""
        name = h.getModelStatus().name
        if name == "kOptimal":
            return True
        if name != "kUnknown" or not h.getSolution().value_valid:
            return False
        info = h.getInfo()
        return bool(
            0 <= info.max_primal_infeasibility <= SETTLED_TOL
            and 0 <= info.max_dual_infeasibility <= SETTLED_TOL
        )

    def values(
        self, var: pyo.Var, idx: NDArray[np.int64], x: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Values of an indexed variable from a solution vector ``x``; members that are
        not columns take their fixed value (or 0)."""
        out = np.where(idx >= 0, x[np.maximum(idx, 0)], 0.0) if len(idx) else np.zeros(0)
        missing = np.flatnonzero(idx < 0)
        if len(missing):
            members = list(var.values())
            for k in missing:
                v = members[k]
                out[k] = float(v.value) if v.value is not None else 0.0
        return out

    def duals(self, rows: RowMap, out: SolveOutcome) -> NDArray[np.float64]:
        """Duals of a constraint's members (``nan`` where skipped or without duals).

        A folded row ``c·x_j <= u`` (or ``>= l``) has dual ``rc_j / c`` when the bound
        it became is the active one and has the sign a dual of that row can have
        (``<= 0`` for ``<=``, ``>= 0`` for ``>=`` in a minimisation), else 0.
        """
        y, rc = out.row_dual, out.col_dual
        res = np.full(len(rows.row), np.nan)
        if y is None or rc is None:
            return res
        r = rows.row >= 0
        res[r] = y[rows.row[r]]
        f = np.flatnonzero(rows.col >= 0)
        if len(f):
            cols = rows.col[f]
            d = rc[cols] / rows.coef[f]
            kind = rows.kind[f]
            ok = np.where(kind == 1, d < 0, np.where(kind == -1, d > 0, True))  # 2: ranged
            res[f] = np.where(ok, d, 0.0)
        return res
