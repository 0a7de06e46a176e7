"""The domain plan and its ``Plan`` message: one to the other and back, exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.domain import (
    BranchPlan,
    Plan,
    PlanModeKind,
    PlanStatusKind,
    PlanSummary,
    PlantPlan,
    SitePlan,
    SiteSource,
)
from service.metrics import POOL_VERDICTS
from service.rpc.convert import plan_from_proto, plan_to_proto
from service.stratum.client import ShareVerdict

names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
watts = st.tuples(*[st.floats(0, 1e9, allow_nan=False)] * 3)
sites = st.builds(
    SitePlan,
    site=names,
    budget_w=watts,
    curtailed_w=watts,
    bus=names,
    bus_price_per_mwh=watts,
    sources=st.lists(st.builds(SiteSource, names, watts), max_size=2).map(tuple),
)
plans = st.builds(
    Plan,
    plan_id=names,
    scenario_id=names,
    mode=st.sampled_from(PlanModeKind),
    status=st.sampled_from(PlanStatusKind),
    termination=names,
    create_ns=st.integers(0, 2**62),
    start_ns=st.integers(0, 2**62),
    period_ns=st.integers(1, 86_400 * 10**9),
    period_count=st.just(3),
    sites=st.lists(sites, max_size=3, unique_by=lambda s: s.site).map(tuple),
    branches=st.lists(st.builds(BranchPlan, names, watts, watts, watts), max_size=2).map(tuple),
    plants=st.lists(st.builds(PlantPlan, names, names, names, watts), max_size=2).map(tuple),
    summary=st.builds(PlanSummary, *[st.floats(0, 1e15, allow_nan=False)] * 6),
)


class TestPlanMessage:
    @given(plans)
    def test_round_trip_is_exact(self, plan: Plan) -> None:
        """A plan stored as its message reads back equal, times to the nanosecond."""
        assert plan_from_proto(plan_to_proto(plan)) == plan

    # `Plan.budget` takes the clock in float seconds, which resolves ~1 us at 2**62 ns:
    # periods shorter than a millisecond cannot be told apart there (none is: 1 s is the
    # shortest a scenario gives), so the budget lookup is tested from 1 ms up.
    @given(plans.filter(lambda p: p.period_ns >= 1_000_000))
    def test_budget_is_the_message_figure(self, plan: Plan) -> None:
        """Each site's budget in its second period is the message's ``budget_watts[1]``."""
        message = plan_to_proto(plan)
        now_s = plan.start_s + plan.period_s * 1.5
        for site in message.sites:
            budget = plan.budget(site.site, now_s)
            if plan.status in (PlanStatusKind.OPTIMAL, PlanStatusKind.TIME_LIMIT):
                assert budget is not None and budget.budget_w == site.budget_watts[1]
            else:
                assert budget is None


class TestPoolVerdicts:
    def test_metric_labels_are_the_pool_verdicts(self) -> None:
        """``spillway_pool_shares_total{result}`` has a series for every verdict, no other."""
        assert tuple(v.value for v in ShareVerdict) == POOL_VERDICTS
