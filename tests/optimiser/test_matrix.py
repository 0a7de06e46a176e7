"""The matrix compiler gives the LP that Pyomo's own compiler gives."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from optimiser import ModelOptions, build_model, read_pypsa_folder
from optimiser.errors import OptimiserError
from optimiser.matrix import LinearForm, compile_linear

if TYPE_CHECKING:
    from optimiser.data import GridData


def row_terms(a: Any, columns: list[Any], r: int) -> dict[str, float]:
    """Row ``r`` of a CSR matrix as ``{column name: coefficient}``."""
    span = slice(a.indptr[r], a.indptr[r + 1])
    return {columns[j].name: float(v) for j, v in zip(a.indices[span], a.data[span], strict=True)}


def pyomo_form(model: pyo.ConcreteModel) -> dict[str, Any]:
    """Pyomo's compile (mixed form), a ranged constraint's two rows merged into one and
    satisfied rows without terms (a body of fixed variables) left out, as ours does."""
    sf = LinearStandardFormCompiler().write(model, mixed_form=True)
    a = sf.A.tocsr()
    rows: list[tuple[Any, dict[str, float], float, float]] = []
    for r, entry in enumerate(sf.rows):
        lo, up = -np.inf, np.inf
        if entry.bound_type <= 0:
            lo = sf.rhs[r]
        if entry.bound_type >= 0:
            up = sf.rhs[r]
        terms = row_terms(a, sf.columns, r)
        if not terms and lo <= 0 <= up:
            continue
        if rows and rows[-1][0] is entry.constraint:  # the second side of a ranged row
            _, t, lo0, up0 = rows[-1]
            rows[-1] = (entry.constraint, t, max(lo, lo0), min(up, up0))
        else:
            rows.append((entry.constraint, terms, lo, up))
    return {
        "columns": [v.name for v in sf.columns],
        "cost": np.asarray(sf.c.toarray()[0], dtype=float),
        "offset": float(sf.c_offset[0]),
        "rows": [(c.name, t, lo, up) for c, t, lo, up in rows],
    }


def our_form(form: LinearForm) -> dict[str, Any]:
    a = form.a.tocsr()
    rows = []
    for r, con in enumerate(form.rows):
        terms = row_terms(a, form.columns, r)
        rows.append((con.name, terms, float(form.row_lower[r]), float(form.row_upper[r])))
    return {
        "columns": [v.name for v in form.columns],
        "cost": form.cost,
        "offset": form.offset,
        "rows": rows,
    }


def assert_same_lp(model: pyo.ConcreteModel) -> None:
    ours, theirs = our_form(compile_linear(model)), pyomo_form(model)
    assert ours["columns"] == theirs["columns"]
    np.testing.assert_array_equal(ours["cost"], theirs["cost"])
    assert ours["offset"] == theirs["offset"]
    assert ours["rows"] == theirs["rows"]


def generic_model() -> pyo.ConcreteModel:
    """Bodies the fast path does not read: sums, Params, a scalar Var, fixed members."""
    m = pyo.ConcreteModel()
    m.I = pyo.Set(initialize=[1, 2, 3])
    m.p = pyo.Param(m.I, initialize={1: 2.0, 2: 3.0, 3: 0.0}, mutable=True)
    m.x = pyo.Var(m.I, bounds=(0, 10))
    m.y = pyo.Var(bounds=(-1, None), domain=pyo.Integers)
    m.unused = pyo.Var(m.I)
    m.x[2].fix(4.0)
    m.c_sum = pyo.Constraint(expr=sum(m.p[i] * m.x[i] for i in m.I) + m.y >= 1)
    m.c_ranged = pyo.Constraint(expr=pyo.inequality(-5, m.x[1] - 2 * m.y + 7, 5))
    m.c_both_sides = pyo.Constraint(expr=m.x[3] + 1 <= 2 * m.y)
    m.c_const = pyo.Constraint(expr=m.x[2] <= 5)  # fixed: a satisfied constant, no row
    m.obj = pyo.Objective(expr=3 * m.x[1] - m.y + 2 * m.x[2] + 1, sense=pyo.maximize)
    return m


class TestCompileLinear:
    def test_generic_bodies_match_pyomo(self) -> None:
        """Sums, Params, ranged rows, fixed and unused variables compile as Pyomo's do."""
        m = generic_model()
        assert_same_lp(m)
        form = compile_linear(m)
        assert [v.name for v in form.columns] == ["x[1]", "x[3]", "y"]  # by variable
        assert form.integer.tolist() == [False, False, True]
        assert form.col_lower.tolist() == [0, 0, -1]
        assert form.col_upper.tolist() == [10, 10, np.inf]

    @pytest.mark.parametrize("formulation", ["angles", "cycles"])
    def test_three_bus_model_matches_pyomo(self, three_bus: Any, formulation: Any) -> None:
        """The network model's rows, columns and costs are Pyomo's, term for term."""
        data = read_pypsa_folder(three_bus(mining="name,bus,p_nom,value\nm1,N,80,20\n"))
        assert_same_lp(build_model(data, ModelOptions(formulation=formulation)))

    @pytest.mark.parametrize("formulation", ["angles", "cycles"])
    def test_scigrid_model_matches_pyomo(self, scigrid_short: GridData, formulation: Any) -> None:
        """So are SciGRID-DE's (lines, transformers, storage with inflow, mining ramps)."""
        assert_same_lp(build_model(scigrid_short, ModelOptions(formulation=formulation)))

    def test_nonlinear_refused(self) -> None:
        """A nonlinear body is an error naming the constraint."""
        m = pyo.ConcreteModel()
        m.x = pyo.Var()
        m.c_square = pyo.Constraint(expr=m.x * m.x <= 4)
        m.obj = pyo.Objective(expr=m.x)
        with pytest.raises(OptimiserError, match="c_square is not linear"):
            compile_linear(m)

    def test_violated_constant_refused(self) -> None:
        """A constraint left constant by fixed variables, and violated, is an error."""
        m = pyo.ConcreteModel()
        m.x = pyo.Var()
        m.z = pyo.Var()
        m.z.fix(3.0)
        m.c_fixed = pyo.Constraint(expr=m.z <= 2)
        m.obj = pyo.Objective(expr=m.x)
        with pytest.raises(OptimiserError, match="c_fixed is constant and violated"):
            compile_linear(m)
