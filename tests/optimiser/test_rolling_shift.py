"""Rolling windows: the kept basis shifted in time, and the state of charge carried.

Real data (the embedded demo day: real timestamps, a reservoir with inflow), real
HiGHS. A warm re-plan of a moved window must give what a cold plan of the same
window gives; a storage unit starts each window where the last plan left it.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimiser import Planner, read_demo
from optimiser.basis_shift import period_index, shifted_status, valid_nonbasic
from optimiser.forecast import Calendar
from optimiser.rolling import RollingPlanner

pytestmark = pytest.mark.solver

H = 8  # periods per window


@pytest.fixture(scope="module")
def demo():
    return read_demo()


def test_period_index_shifts_each_member_to_its_next_period(demo):
    """Member (component, t) takes the status of (component, t + k); the new last
    periods take the old last one's; members without time keep theirs."""
    p = Planner(read_demo(n_snapshots=H))
    h, t_set = p.highs, p.model.T
    cols = period_index(h.col_members, t_set)
    status = np.arange(h.n_col, dtype=np.int64)  # a distinct "status" per column
    moved = shifted_status(status, cols, 2)
    gen = h.cols(p.model.gen_mw).reshape(len(p.data.generators), H)
    g = int(np.flatnonzero((gen >= 0).all(axis=1))[0])
    assert moved[gen[g, 0]] == gen[g, 2]
    assert moved[gen[g, H - 3]] == gen[g, H - 1]
    assert moved[gen[g, H - 2]] == gen[g, H - 1] and moved[gen[g, H - 1]] == gen[g, H - 1]
    rows = period_index(h.row_members, t_set)
    bal = h.rows(p.model.eq_nodal_balance, [(b, t) for b in p.data.buses.names for t in range(H)])
    r = bal.row.reshape(len(p.data.buses), H)[0]
    assert shifted_status(np.arange(h.n_row), rows, 1)[r[3]] == r[4]


def test_valid_nonbasic_moves_statuses_to_existing_bounds():
    """kLower without a lower bound goes to kUpper, or kZero when free; basic stays."""
    inf = np.inf
    out = valid_nonbasic(
        np.array([0, 0, 2, 1, 4]),
        np.array([-inf, -inf, 0.0, -inf, 0.0]),
        np.array([5.0, inf, inf, inf, inf]),
    )
    assert out.tolist() == [2, 3, 0, 1, 0]


@pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
def test_shifted_warm_replans_equal_cold_plans(demo, mode, check):
    """Windows moved by 1, 2, 0 and 3 periods: the warm re-plan's objectives are the
    cold plan's of the same window (co-optimised: the plan; both modes: the base
    plan, whose optimum is unique in value), and the checker finds nothing wrong."""
    cal = Calendar.of(demo)
    rp = RollingPlanner(demo, horizon_periods=H, mode=mode)
    assert not rp.replan(cal.time_of(0) + 1, {}).warm
    for hour in (1, 3, 3, 6):
        warm = rp.replan(cal.time_of(hour) + 1, {})
        assert warm.warm and warm.window.first_period == hour
        cold = Planner(warm.window.data, mode=mode).plan()
        assert warm.result.objective_base == pytest.approx(cold.objective_base, rel=1e-9)
        if mode == "co-optimised":
            assert warm.result.objective == pytest.approx(cold.objective, rel=1e-9)
        check(warm.window.data, warm.result)


def test_state_of_charge_carried_from_the_last_plan(demo, check):
    """Rolled by one period, the reservoir starts from the level the previous plan had
    it reach by then, not the scenario's static 540 MWh; not moved, from the same."""
    cal = Calendar.of(demo)
    rp = RollingPlanner(demo, horizon_periods=H, mode="co-optimised")
    first = rp.replan(cal.time_of(0) + 1, {})
    static = float(demo.storage_units.state_of_charge_initial_mwh[0])
    assert first.window.data.storage_units.state_of_charge_initial_mwh[0] == static
    reached = float(first.result.plan.storage_units_state_of_charge.iloc[0, 0])
    assert abs(reached - static) > 1.0  # the plan moves the reservoir
    rolled = rp.replan(cal.time_of(1) + 1, {})
    assert rolled.window.data.storage_units.state_of_charge_initial_mwh[0] == pytest.approx(reached)
    check(rolled.window.data, rolled.result)  # the plan keeps its own balance from there
    again = rp.replan(cal.time_of(1) + 2, {})
    assert again.window.data.storage_units.state_of_charge_initial_mwh[0] == pytest.approx(reached)
    cold = Planner(rolled.window.data, mode="co-optimised").plan()
    assert rolled.result.objective == pytest.approx(cold.objective, rel=1e-9)


def test_repeated_forecasts_of_one_hour_all_plan(scigrid_folder):
    """SciGRID-DE, curtailment-only, three fresh forecasts for the same window: the
    third warm mining solve ends "unknown" (not optimal, not infeasible) on the pinned
    LP; the planner re-solves the base cold and re-pins, as it does for "infeasible",
    instead of failing the re-plan."""
    from optimiser import read_pypsa_folder
    from optimiser.forecast import merge_tables
    from service.demo.rolling import day_forecast

    data = read_pypsa_folder(scigrid_folder)
    cal = Calendar.of(data)
    rng = np.random.default_rng(14)
    rp = RollingPlanner(data, horizon_periods=24, mode="curtailment-only")
    table: dict = {}
    for _ in range(3):
        table = merge_tables(table, day_forecast(data, cal, 0, rng).table())
        result = rp.replan(cal.time_of(0) + 1, table).result
        assert result.termination.startswith("kOptimal")
