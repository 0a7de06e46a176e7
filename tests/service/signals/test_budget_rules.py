"""Budget precedence and the shedding order (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.signals.domain import GridSignal, SignalKind
from service.signals.precedence import BudgetReason, decide_site_budget
from service.signals.shedding import WorkerCapacity, shed


def event(
    kind: SignalKind,
    value: float,
    site: str | None = "a",
    eid: str = "e1",
    start_s: float = 0.0,
    end_s: float = 100.0,
) -> GridSignal:
    return GridSignal(eid, 0, kind, site, start_s, end_s, value)


class TestPrecedence:
    def test_plan_then_zero(self):
        """With nothing else the plan holds; with no plan, zero."""
        assert decide_site_budget("a", 5, plan_w=800).reason == BudgetReason.PLAN
        d = decide_site_budget("a", 5, plan_w=None)
        assert (d.budget_w, d.reason) == (0.0, BudgetReason.NONE)

    def test_price_rule_over_plan_override_over_price(self):
        """A curtailing price rule zeroes the plan; an override outranks the price rule."""
        d = decide_site_budget("a", 5, plan_w=800, price_curtailed=True)
        assert (d.budget_w, d.reason) == (0.0, BudgetReason.PRICE_RULE)
        d = decide_site_budget(
            "a", 5, plan_w=800, price_curtailed=True, override_w=300, override_until_s=10
        )
        assert (d.budget_w, d.reason, d.until_s) == (300, BudgetReason.OVERRIDE, 10)
        d = decide_site_budget("a", 10, plan_w=800, override_w=300, override_until_s=10)
        assert d.reason == BudgetReason.PLAN  # expired at its end

    def test_setpoint_caps_whatever_holds(self):
        """LOAD_DISPATCH caps the override/plan budget; it never raises it."""
        d = decide_site_budget(
            "a",
            5,
            plan_w=800,
            override_w=600,
            override_until_s=50,
            signals=[event(SignalKind.LOAD_DISPATCH, 250.0)],
        )
        assert (d.budget_w, d.reason, d.setpoint_w, d.until_s) == (
            250,
            BudgetReason.EVENT,
            250,
            100,
        )
        assert d.underlying_w == 600 and d.event_id == "e1"
        d = decide_site_budget("a", 5, plan_w=100, signals=[event(SignalKind.LOAD_DISPATCH, 250.0)])
        assert d.budget_w == 100 and d.reason == BudgetReason.EVENT

    def test_simple_levels(self):
        """SIMPLE levels scale the budget by the configured fractions."""
        for level, want in [(0, 800), (1, 400), (2, 0), (3, 0)]:
            d = decide_site_budget(
                "a", 5, plan_w=800, signals=[event(SignalKind.SIMPLE, level, site=None)]
            )
            assert d.budget_w == want and d.level == level
        d = decide_site_budget(
            "a",
            5,
            plan_w=800,
            simple_levels=(1, 0.75, 0.25, 0),
            signals=[event(SignalKind.SIMPLE, 2, site=None)],
        )
        assert d.budget_w == 200

    def test_other_site_inactive_and_price_events_ignored(self):
        """Events for other sites, outside their interval, or prices, leave the plan."""
        sigs = [
            event(SignalKind.LOAD_DISPATCH, 0.0, site="b"),
            event(SignalKind.LOAD_DISPATCH, 0.0, start_s=10, end_s=20),
            event(SignalKind.ELECTRICITY_PRICE, 9999.0),
        ]
        assert decide_site_budget("a", 5, plan_w=800, signals=sigs).reason == BudgetReason.PLAN
        assert decide_site_budget("a", 20, plan_w=800, signals=sigs).reason == BudgetReason.PLAN
        d = decide_site_budget("a", 15, plan_w=800, signals=sigs)
        assert d.budget_w == 0.0 and d.reason == BudgetReason.EVENT

    def test_lowest_event_binds(self):
        """Of two events at once, the lower budget binds and names its event."""
        sigs = [
            event(SignalKind.SIMPLE, 1, eid="s", site=None),
            event(SignalKind.LOAD_DISPATCH, 300.0, eid="d"),
        ]
        d = decide_site_budget("a", 5, plan_w=800, signals=sigs)
        assert (d.budget_w, d.event_id) == (300, "d")

    def test_bad_levels(self):
        """Fractions outside [0, 1] are refused."""
        with pytest.raises(ValueError, match="simple_levels"):
            decide_site_budget("a", 5, plan_w=1, simple_levels=(1, 2))


workers_st = st.lists(
    st.builds(
        WorkerCapacity,
        st.text("abcdef", min_size=1, max_size=3),
        st.floats(0, 5000),
        st.floats(0, 1e-6),
    ),
    max_size=8,
    unique_by=lambda w: w.worker_id,
)


class TestShedding:
    def test_least_efficient_shed_first(self):
        """Short of power, the worker with the most J per hash gets nothing first."""
        ws = [
            WorkerCapacity("old", 1000, 3e-10),
            WorkerCapacity("new", 1000, 1e-10),
            WorkerCapacity("mid", 1000, 2e-10),
        ]
        assert shed(1500, ws) == {"new": 1000, "mid": 500, "old": 0}
        assert shed(5000, ws) == {"new": 1000, "mid": 1000, "old": 1000}
        assert shed(0, ws) == {"new": 0, "mid": 0, "old": 0}

    def test_bad_input(self):
        """Negative budgets, NaN powers and duplicate ids are refused."""
        with pytest.raises(ValueError, match="budget_w"):
            shed(-1, [])
        with pytest.raises(ValueError, match="max_power_w"):
            shed(1, [WorkerCapacity("a", float("nan"), 1)])
        with pytest.raises(ValueError, match="twice"):
            shed(1, [WorkerCapacity("a", 1, 1), WorkerCapacity("a", 1, 1)])

    @settings(max_examples=300, deadline=None)
    @given(st.floats(0, 20000), st.floats(0, 20000), workers_st)
    def test_properties(self, b1, b2, ws):
        """Never above the site budget or a worker's max; uses all it may; monotone;
        a less efficient worker runs only when every more efficient one is full."""
        lo, hi = sorted((b1, b2))
        a, b = shed(lo, ws), shed(hi, ws)
        total_max = sum(w.max_power_w for w in ws)
        for out, budget in ((a, lo), (b, hi)):
            assert set(out) == {w.worker_id for w in ws}
            assert sum(out.values()) <= budget * (1 + 1e-12) + 1e-9
            assert sum(out.values()) == pytest.approx(min(budget, total_max), abs=1e-6)
            for w in ws:
                assert 0 <= out[w.worker_id] <= w.max_power_w
            for w in ws:
                for v in ws:
                    if (v.j_per_hash, v.worker_id) < (w.j_per_hash, w.worker_id) and out[
                        w.worker_id
                    ] > 0:
                        assert out[v.worker_id] == v.max_power_w
        for w in ws:  # more budget never takes power from any worker
            assert b[w.worker_id] >= a[w.worker_id]
