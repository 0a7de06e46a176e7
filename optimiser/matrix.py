"""Compile a linear Pyomo model into matrix form, ``row_lower <= A x <= row_upper``.

The result is the LP that Pyomo's ``LinearStandardFormCompiler`` (mixed form)
produces, column for column and row for row, except that a two-sided constraint
stays one ranged row (HiGHS takes ranged rows as they are):

- columns: every unfixed member of a variable, by variable in order of first
  appearance (objective first, then constraints in model order) and by index
  within a variable; members with no nonzero coefficient anywhere are dropped;
- fixed variables: their value times the coefficient moves into the bounds;
- rows: the active constraints in model order, the body's constant moved into
  the bounds; rows without bounds and satisfied constant rows are dropped.

Why not Pyomo's compiler itself: it runs its general expression walker once per
constraint (set-up, dispatch, finalise: ~9 µs per row before any term), which was
0.75 s of SciGRID-DE's 1.9 s of Python around 3.6 s of HiGHS. The rows this
project builds have two shapes only (``optimiser.constraints``): a
``LinearExpression`` or a single variable, against a number. Those are read here
directly; any other body (the small storage, ramp and rig families) goes through
Pyomo's own ``generate_standard_repn``, so every model still compiles, just more
slowly. ``tests/optimiser/test_matrix.py`` checks both against Pyomo's compiler.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp
from pyomo.common.gc_manager import PauseGC
from pyomo.core.base.var import VarData
from pyomo.core.expr import (
    EqualityExpression,
    InequalityExpression,
    LinearExpression,
    MonomialTermExpression,
)
from pyomo.repn.standard_repn import generate_standard_repn

from optimiser.errors import OptimiserError

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["LinearForm", "compile_linear"]

_NUMBER = (int, float)


@dataclass(frozen=True)
class LinearForm:
    """``min cost·x + offset``  s.t.  ``row_lower <= a x <= row_upper``,
    ``col_lower <= x <= col_upper``.

    ``columns[j]`` is the Pyomo variable member of column j, ``rows[i]`` the
    constraint member of row i; missing bounds are ``±inf``.
    """

    columns: list[Any]
    cost: NDArray[np.float64]
    offset: float
    a: sp.csr_array
    row_lower: NDArray[np.float64]
    row_upper: NDArray[np.float64]
    rows: list[Any]
    col_lower: NDArray[np.float64]
    col_upper: NDArray[np.float64]
    integer: NDArray[np.bool_]


class _Columns:
    """Column numbers of variable members, assigned a whole variable at a time."""

    def __init__(self) -> None:
        self.of: dict[int, int] = {}
        self.members: list[Any] = []

    def add(self, var: Any) -> int:
        """Number the members of ``var``'s variable (``var`` unfixed); ``var``'s column."""
        for v in var.parent_component().values():
            if not v.fixed:
                self.of[id(v)] = len(self.members)
                self.members.append(v)
        return self.of[id(var)]


def _generic(body: Any, cols: _Columns, index: list[int], data: list[float], owner: Any) -> float:
    """Terms of any linear body via Pyomo's ``generate_standard_repn``; its constant."""
    repn = generate_standard_repn(body, quadratic=False, compute_values=True)
    if not repn.is_linear():
        raise OptimiserError(f"{owner.name} is not linear; only linear models are compiled")
    for coef, var in zip(repn.linear_coefs, repn.linear_vars, strict=True):
        j = cols.of.get(id(var))
        if j is None:
            j = cols.add(var)  # unfixed here: the repn substitutes fixed ones
        if coef:
            index.append(j)
            data.append(float(coef))
    return float(repn.constant)


def _terms(body: Any, cols: _Columns, index: list[int], data: list[float], owner: Any) -> float:
    """Append the (column, coefficient) pairs of a linear ``body``; return its constant."""
    cls = body.__class__
    if cls is LinearExpression:
        pairs = []
        constant = 0.0
        for arg in body.args:
            acls = arg.__class__
            if acls is MonomialTermExpression:
                coef, var = arg.args
                if coef.__class__ not in _NUMBER:
                    return _generic(body, cols, index, data, owner)
            elif acls in _NUMBER:
                constant += arg
                continue
            elif acls is VarData:
                coef, var = 1, arg
            else:  # anything else (a scalar Var, a Param, a numpy number): Pyomo's way
                return _generic(body, cols, index, data, owner)
            pairs.append((coef, var))
        for coef, var in pairs:
            j = cols.of.get(id(var))
            if j is None:
                if var.fixed:
                    constant += coef * var.value
                    continue
                j = cols.add(var)
            if coef:
                index.append(j)
                data.append(coef)
        return constant
    if cls in _NUMBER:
        return float(body)
    if cls is VarData:
        j = cols.of.get(id(body))
        if j is None:
            if body.fixed:
                return float(body.value)
            j = cols.add(body)
        index.append(j)
        data.append(1.0)
        return 0.0
    return _generic(body, cols, index, data, owner)


def _bounded(con: Any) -> tuple[float | None, Any, float | None]:
    """``(lower, body, upper)`` of a constraint; fast for ``body == / <= / >= number``."""
    expr = con.expr
    cls = expr.__class__
    if cls is EqualityExpression or cls is InequalityExpression:
        lhs, rhs = expr.args
        if rhs.__class__ in _NUMBER:
            return (rhs if cls is EqualityExpression else None), lhs, rhs
        if lhs.__class__ in _NUMBER:
            return lhs, rhs, (lhs if cls is EqualityExpression else None)
    lb, body, ub = con.to_bounded_expression(evaluate_bounds=True)
    return lb, body, ub


def compile_linear(model: pyo.ConcreteModel) -> LinearForm:
    """Matrix form of a linear Pyomo model with one active objective.

    Parameters
    ----------
    model:
        A linear (or mixed-integer linear) model.

    Returns
    -------
    LinearForm
        The LP; a maximisation is returned as the minimisation of ``-objective``.

    Raises
    ------
    OptimiserError
        Not exactly one active objective, a nonlinear term, or a constraint that
        is constant and violated.
    """
    # compiling makes no garbage: see `build_model` on pausing the collector
    with PauseGC():
        cols = _Columns()
        objectives = list(model.component_data_objects(pyo.Objective, active=True))
        if len(objectives) != 1:
            raise OptimiserError(f"expected one active objective, found {len(objectives)}")
        obj = objectives[0]
        c_index: list[int] = []
        c_data: list[float] = []
        offset = _terms(obj.expr, cols, c_index, c_data, obj)
        if obj.sense == pyo.maximize:
            c_data = [-v for v in c_data]
            offset = -offset

        index: list[int] = []
        data: list[float] = []
        indptr = [0]
        lower: list[float] = []
        upper: list[float] = []
        rows: list[Any] = []
        inf = float("inf")
        for con in model.component_data_objects(pyo.Constraint, active=True):
            lb, body, ub = _bounded(con)
            if lb is None and ub is None:
                continue  # no bound: no row (as Pyomo's compiler)
            start = len(index)
            constant = _terms(body, cols, index, data, con)
            if len(index) == start:  # a constant: check it, no row
                if (lb is not None and constant < lb) or (ub is not None and constant > ub):
                    raise OptimiserError(f"constraint {con.name} is constant and violated")
                continue
            indptr.append(len(index))
            lower.append(-inf if lb is None else lb - constant)
            upper.append(inf if ub is None else ub - constant)
            rows.append(con)

        n_all = len(cols.members)
        cost = np.zeros(n_all)
        np.add.at(cost, np.asarray(c_index, dtype=np.int64), np.asarray(c_data, dtype=float))
        a = sp.csr_array(
            (
                np.asarray(data, dtype=float),
                np.asarray(index, dtype=np.int64),
                np.asarray(indptr, dtype=np.int64),
            ),
            shape=(len(rows), n_all),
        )
        a.sum_duplicates()
        a.eliminate_zeros()
        used = np.bincount(a.indices, minlength=n_all) > 0
        used[np.asarray(c_index, dtype=np.int64)] = True
        if not used.all():  # members that appear nowhere (or only with 0) are no columns
            keep = np.flatnonzero(used)
            a = a[:, keep]
            cost = cost[keep]
            members = [cols.members[j] for j in keep.tolist()]
        else:
            members = cols.members
        # `bounds` is one call per column (`lb` and `ub` validate each); None -> nan
        bounds = np.array([v.bounds for v in members], dtype=float).reshape(len(members), 2)
        return LinearForm(
            columns=members,
            cost=cost,
            offset=offset,
            a=a,
            row_lower=np.array(lower, dtype=float),
            row_upper=np.array(upper, dtype=float),
            rows=rows,
            col_lower=np.where(np.isnan(bounds[:, 0]), -inf, bounds[:, 0]),
            col_upper=np.where(np.isnan(bounds[:, 1]), inf, bounds[:, 1]),
            integer=np.array([v.is_integer() for v in members], dtype=bool),
        )
