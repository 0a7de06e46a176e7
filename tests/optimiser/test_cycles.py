"""Kirchhoff's voltage law in cycle form: the cycle basis, and the same plans as angles."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from optimiser import (
    ModelOptions,
    build_model,
    check_plan,
    plan,
    read_demo,
    read_pypsa_folder,
    read_scenario,
)
from optimiser.cycles import cycle_matrix

if TYPE_CHECKING:
    from optimiser.data import GridData

GRID = Path(__file__).resolve().parents[1] / "data" / "grid"


def incidence(n_buses: int, bus0: list[int], bus1: list[int]) -> np.ndarray:
    """``K[l, bus0] = 1, K[l, bus1] = -1``."""
    k = np.zeros((len(bus0), n_buses))
    k[np.arange(len(bus0)), bus0] = 1.0
    k[np.arange(len(bus0)), bus1] = -1.0
    return k


def assert_cycle_basis(n_buses: int, bus0: list[int], bus1: list[int], n_islands: int) -> None:
    c = cycle_matrix(n_buses, np.array(bus0, dtype=np.int64), np.array(bus1, dtype=np.int64))
    n_c = len(bus0) - n_buses + n_islands
    assert c.shape == (n_c, len(bus0))
    dense = c.toarray()
    assert set(np.unique(dense)) <= {-1.0, 0.0, 1.0}
    # every row is a closed walk (angle differences around it cancel) ...
    np.testing.assert_array_equal(dense @ incidence(n_buses, bus0, bus1), 0.0)
    # ... and the rows are independent, so they span the whole cycle space
    if n_c:
        assert np.linalg.matrix_rank(dense) == n_c


class TestCycleMatrix:
    def test_triangle(self) -> None:
        """A triangle has one cycle, through all three branches."""
        assert_cycle_basis(3, [0, 1, 2], [1, 2, 0], 1)
        c = cycle_matrix(3, np.array([0, 1, 0]), np.array([1, 2, 2])).toarray()
        assert np.abs(c).tolist() == [[1.0, 1.0, 1.0]]

    def test_parallel_branches_and_islands(self) -> None:
        """Parallel branches form a cycle; a tree island and a lone bus add none."""
        # island A: 0-1 twice, 1-2, 2-0 (2 cycles); island B: tree 3-4-5; bus 6 alone
        assert_cycle_basis(7, [0, 1, 1, 2, 3, 4], [1, 0, 2, 0, 4, 5], 3)

    def test_tree_has_no_cycles(self) -> None:
        """A radial network needs no cycle rows."""
        assert cycle_matrix(4, np.array([0, 0, 0]), np.array([1, 2, 3])).shape == (0, 3)

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_random_meshed_graphs(self, seed: int) -> None:
        """Random multigraphs with several islands: a basis of the cycle space."""
        rng = np.random.default_rng(seed)
        n_b = 40
        bus0, bus1 = [], []
        for _ in range(80):
            i, j = rng.choice(20, 2, replace=False)  # buses 0..19: one meshed part
            bus0.append(int(i))
            bus1.append(int(j))
        bus0 += [20, 21, 22, 23, 20]  # a ring of four buses among 20..23
        bus1 += [21, 22, 23, 20, 22]
        k = incidence(n_b, bus0, bus1)
        lap = k.T @ k
        # islands = connected components = nullity of the Laplacian
        n_islands = n_b - np.linalg.matrix_rank(lap)
        assert_cycle_basis(n_b, bus0, bus1, int(n_islands))

    def test_scigrid_size(self, scigrid_short: GridData) -> None:
        """SciGRID-DE: one cycle per branch beyond a spanning tree of each island."""
        br = scigrid_short.branches
        n_b = len(scigrid_short.buses)
        k = incidence(n_b, br.bus0.tolist(), br.bus1.tolist())
        n_islands = n_b - np.linalg.matrix_rank(k.T @ k)
        assert_cycle_basis(n_b, br.bus0.tolist(), br.bus1.tolist(), int(n_islands))


class TestModel:
    def test_cycles_model_has_no_angles(self, scigrid_short: GridData) -> None:
        """``cycles``: no ``theta_rad``/``eq_dc_flow``; ``eq_kvl_cycle`` per cycle and snapshot."""
        m = build_model(scigrid_short, ModelOptions(formulation="cycles"))
        assert not hasattr(m, "theta_rad") and not hasattr(m, "eq_dc_flow")
        br = scigrid_short.branches
        n_c = cycle_matrix(len(scigrid_short.buses), br.bus0, br.bus1).shape[0]
        assert len(m.eq_kvl_cycle) == n_c * scigrid_short.n_snapshots
        assert len(m.eq_nodal_balance) and len(m.ineq_line_limit_ub)

    def test_unknown_formulation_refused(self) -> None:
        """A misspelt formulation is an error, not silently the default."""
        with pytest.raises(ValueError, match="formulation"):
            ModelOptions(formulation="angle")  # type: ignore[arg-type]


def _scenarios() -> dict[str, tuple[Any, bool]]:
    """Scenario readers, each with whether its optimum is unique. The demo and
    SciGRID-DE have many optimal dispatches (zero-cost renewables curtailed here or
    there at the same cost), so HiGHS may stop at a different optimal vertex per
    formulation: the same objective, different (each physical) flows."""
    return {
        "two-areas": (lambda: read_pypsa_folder(GRID / "pypsa" / "two-areas"), True),
        "demo": (read_demo, False),
        "scigrid-de": (lambda: read_pypsa_folder(GRID / "pypsa" / "scigrid-de-2017"), False),
        "case118": (lambda: read_scenario(GRID / "matpower" / "case118.m"), True),
        "case300": (lambda: read_scenario(GRID / "matpower" / "case300.m"), True),
    }


def kvl_residual_rad(data: GridData, flow_mw: np.ndarray) -> float:
    """Largest angle sum around a basis cycle, ``|C (x F + φ)|`` (rad), over snapshots."""
    br = data.branches
    c = cycle_matrix(len(data.buses), br.bus0, br.bus1)
    if c.shape[0] == 0:
        return 0.0
    dtheta_rad = flow_mw / br.b_mw_per_rad + br.shift_rad  # (T, L)
    return float(np.abs(c @ dtheta_rad.T).max())


@pytest.mark.solver
class TestSamePlans:
    def assert_same(
        self, data: GridData, mode: str = "co-optimised", *, unique: bool = True
    ) -> None:
        a = plan(data, mode=mode, model_options=ModelOptions(formulation="angles"))
        c = plan(data, mode=mode, model_options=ModelOptions(formulation="cycles"))
        assert check_plan(data, a) == []
        assert check_plan(data, c) == []
        assert c.objective == pytest.approx(a.objective, rel=1e-9)
        assert c.objective_base == pytest.approx(a.objective_base, rel=1e-9)
        fa, fc = a.plan.branches_p0.to_numpy(), c.plan.branches_p0.to_numpy()
        # each plan's flows satisfy the other form's voltage law: angles' flows close
        # every cycle, and (checker, by PTDF) cycles' flows come from angles
        assert kvl_residual_rad(data, fa) < 1e-6
        assert kvl_residual_rad(data, fc) < 1e-6
        if unique:
            scale = max(1.0, float(np.abs(fa).max()))
            np.testing.assert_allclose(fc, fa, atol=1e-6 * scale)

    def test_three_bus(self, three_bus: Any) -> None:
        """Hand-solvable three-bus network with a site: same objective, flows, prices."""
        data = read_pypsa_folder(three_bus(mining="name,bus,p_nom,value\nm1,N,80,20\n"))
        self.assert_same(data)
        # the hand-solved prices (see test_three_bus.py) come from the nodal duals
        c = plan(read_pypsa_folder(three_bus()), model_options=ModelOptions(formulation="cycles"))
        lam = c.buses_marginal_price
        assert lam.loc["t0"].to_dict() == pytest.approx({"N": 0.0, "M": 25.0, "S": 50.0})
        assert lam.loc["t1"].to_numpy() == pytest.approx([50.0, 50.0, 50.0])

    @pytest.mark.parametrize("name", list(_scenarios()))
    def test_scenarios(self, name: str) -> None:
        """Two-area, demo, SciGRID-DE 24 h, MATPOWER: same objective and flows, checked."""
        read, unique = _scenarios()[name]
        self.assert_same(read(), unique=unique)

    def test_scigrid_curtailment_only(self, scigrid_short: GridData) -> None:
        """The curtailment-only mode too (its base plan pins the dispatch)."""
        self.assert_same(scigrid_short, mode="curtailment-only", unique=False)
