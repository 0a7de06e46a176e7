"""Thin servicer for ``PlannerService``: check, then call ``Coordinator``.

The optimiser runs off the event loop, one solve at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from service.coordinator.core import Coordinator
from service.rpc.checks import Checker
from service.rpc.convert import mode_from_proto, plan_to_proto, timestamp
from service.rpc.forecast_convert import forecast_from_message, update_forecast_response
from service.rpc.price_convert import prices_from_proto
from service.rpc.scenario import check_scenario
from spillway.v1 import planner_pb2

__all__ = ["PlannerServicer"]

# A solve may take this long at most (HiGHS time limit).
MAX_TIME_LIMIT_S = 3600.0


class PlannerServicer:
    """``spillway.v1.PlannerService``."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._c = coordinator

    async def SubmitScenario(  # noqa: N802  (gRPC method names)
        self, request: planner_pb2.SubmitScenarioRequest, context: Any
    ) -> planner_pb2.SubmitScenarioResponse:
        """Check and store a scenario."""
        check_scenario(request.scenario, request.HasField("scenario"))
        scenario_id = await self._c.plans.submit_scenario(
            request.scenario.SerializeToString(), request.scenario.name
        )
        return planner_pb2.SubmitScenarioResponse(scenario_id=scenario_id)

    async def RunPlan(  # noqa: N802
        self, request: planner_pb2.RunPlanRequest, context: Any
    ) -> planner_pb2.RunPlanResponse:
        """Plan a stored scenario in the requested mode."""
        check = Checker()
        if not request.scenario_id or len(request.scenario_id) > 64:
            check.add("scenario_id", "is required (1-64 characters)")
        if request.mode not in (
            planner_pb2.PLANNING_MODE_CO_OPTIMISED,
            planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY,
        ):
            check.add(
                "mode", "must be PLANNING_MODE_CO_OPTIMISED or PLANNING_MODE_CURTAILMENT_ONLY"
            )
        time_limit_s = None
        if request.HasField("time_limit"):
            time_limit_s = check.duration_s(
                "time_limit", request.time_limit, True, maximum_s=MAX_TIME_LIMIT_S
            )
        check.raise_if_any()
        plan = await self._c.plans.run_plan(
            request.scenario_id,
            mode_from_proto(request.mode),
            allow_suboptimal=request.allow_suboptimal,
            time_limit_s=time_limit_s,
        )
        return planner_pb2.RunPlanResponse(plan=plan_to_proto(plan))

    async def GetPlan(  # noqa: N802
        self, request: planner_pb2.GetPlanRequest, context: Any
    ) -> planner_pb2.GetPlanResponse:
        """A plan by id, or the current plan."""
        if len(request.plan_id) > 64:
            check = Checker()
            check.add("plan_id", "at most 64 characters")
            check.raise_if_any()
        plan = await self._c.plans.get(request.plan_id)
        return planner_pb2.GetPlanResponse(plan=plan_to_proto(plan))

    async def WatchPlans(  # noqa: N802
        self, request: planner_pb2.WatchPlansRequest, context: Any
    ) -> AsyncIterator[planner_pb2.WatchPlansResponse]:
        """The current plan, then every plan that replaces it."""
        async for plan in self._c.plans.watch():
            yield planner_pb2.WatchPlansResponse(plan=plan_to_proto(plan))

    async def UpdateForecast(  # noqa: N802
        self, request: planner_pb2.UpdateForecastRequest, context: Any
    ) -> planner_pb2.UpdateForecastResponse:
        """Check a forecast against the rolling scenario, store it, then re-plan.

        Stored (committed) before the answer; the re-plan follows off the call.
        FAILED_PRECONDITION when no scenario at real times is being served.
        """
        rolling = self._c.rolling
        if rolling is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "no rolling scenario: serve a --scenario whose snapshots are real times"
                " (or wait until it is read)",
            )
            raise AssertionError("unreachable: abort raises")
        if request.scenario_id and request.scenario_id != rolling.scenario_id:
            check = Checker()
            check.add("scenario_id", f"not the served scenario {rolling.scenario_id!r}")
            check.raise_if_any()
        # off the event loop: a day of SciGRID-DE (1,529 series) takes ~60 ms to check
        forecast = await asyncio.to_thread(
            forecast_from_message, request, rolling.data, rolling.calendar
        )
        accepted = await rolling.accept(forecast)
        return update_forecast_response(accepted.revision, accepted.points, accepted.reach_s)

    async def PushPrices(  # noqa: N802
        self, request: planner_pb2.PushPricesRequest, context: Any
    ) -> planner_pb2.PushPricesResponse:
        """Check prices (all or none), store them (committed before the answer), and
        re-send budgets. FAILED_PRECONDITION when no price rule is configured."""
        grid = self._c.grid
        if grid.price_rule is None or grid.price_store is None:
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "no price rule: serve with --curtail-above PRICE (and friends)",
            )
            raise AssertionError("unreachable: abort raises")
        points = prices_from_proto(request, await self._c.sites())
        reach_s = await grid.push_prices(points, time.time())
        await self._c.notify()
        reply = planner_pb2.PushPricesResponse(points_accepted=len(points))
        if reach_s is not None:
            reply.reach_time.CopyFrom(timestamp(reach_s))
        return reply
