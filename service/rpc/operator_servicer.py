"""The thin servicer for ``OperatorService``: status, overrides, pauses, schedules.

Each call checks its request, converts it and calls ``Coordinator``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from service.coordinator.core import Coordinator
from service.rpc import convert
from service.rpc.checks import Checker
from service.rpc.status_convert import (
    budget_reason_to_proto,
    grid_signal_to_proto,
    rolling_to_proto,
)
from service.signals.precedence import BudgetReason
from spillway.v1 import operator_pb2

if TYPE_CHECKING:
    from service.domain import Override

__all__ = ["OperatorServicer"]


class OperatorServicer:
    """``spillway.v1.OperatorService``."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._c = coordinator

    async def GetStatus(  # noqa: N802
        self, request: operator_pb2.GetStatusRequest, context: Any
    ) -> operator_pb2.GetStatusResponse:
        """Every known site with its budget, workers, hashrate and energy."""
        store = self._c.store
        now_s = time.time()
        # One call on each store's thread, not one per site and table: while thousands of
        # streams take a change, every hop back to the event loop waits behind them.
        rows = await store.run(store.store.status_rows, now_s)
        workers = rows.workers
        response = operator_pb2.GetStatusResponse(server_time=convert.timestamp(now_s))
        if self._c.plan is not None:
            response.current_plan_id = self._c.plan.plan_id
            response.current_plan_create_time.CopyFrom(convert.timestamp_ns(self._c.plan.create_ns))
        sites = set(rows.known_sites)
        if self._c.plan is not None:
            sites |= {site_plan.site for site_plan in self._c.plan.sites}
        energy_j = await self._c.ledger.sites_energy_j(sorted(sites))
        for site in sorted(sites):
            budget, decision = await self._c.explain_budget(site, now_s)
            status = response.sites.add(
                site=site,
                budget_watts=budget.budget_w,
                budget_source=convert.budget_source_to_proto(budget.source),
                budget_reason=budget_reason_to_proto(budget, decision),
                energy_source=convert.energy_source_to_proto(budget.energy_source),
                shares_accepted=rows.shares_by_site.get(site, 0),
                energy_joules=energy_j[site],
            )
            if decision is not None and decision.reason in (
                BudgetReason.EVENT,
                BudgetReason.PRICE_RULE,
            ):
                status.active_signal.CopyFrom(grid_signal_to_proto(decision))
            override = rows.overrides_by_site.get(site)
            if override is not None:
                status.budget_override.CopyFrom(convert.override_to_proto(override))
            for worker in (w for w in workers if w.site == site):
                live = self._c.live.get(worker.worker_id)
                connected = live is not None and live.streams > 0
                hashrate_hs = live.hashrate_hs if live and connected else 0.0
                power_w = live.power_w if live and connected else 0.0
                status.workers.add(
                    worker_id=worker.worker_id,
                    worker_name=worker.worker_name,
                    backend=worker.backend,
                    connected=connected,
                    last_seen_time=convert.timestamp(worker.last_seen_s),
                    hashrate_hashes_per_second=hashrate_hs,
                    power_watts=power_w,
                )
                status.hashrate_hashes_per_second += hashrate_hs
                status.power_watts += power_w
        if self._c.rolling is not None:
            response.rolling.CopyFrom(rolling_to_proto(self._c.rolling.view()))
        if self._c.pool is not None:
            response.pool.CopyFrom(convert.pool_state_to_proto(await self._c.pool.status()))
        return response

    async def SetBudgetOverride(  # noqa: N802
        self, request: operator_pb2.SetBudgetOverrideRequest, context: Any
    ) -> operator_pb2.SetBudgetOverrideResponse:
        """A manual budget for a bounded time."""
        override = await self._set_override(request, request.budget_watts, "")
        return operator_pb2.SetBudgetOverrideResponse(
            budget_override=convert.override_to_proto(override)
        )

    async def PauseSite(  # noqa: N802
        self, request: operator_pb2.PauseSiteRequest, context: Any
    ) -> operator_pb2.PauseSiteResponse:
        """Budget zero for a bounded time."""
        override = await self._set_override(request, 0.0, "paused")
        return operator_pb2.PauseSiteResponse(budget_override=convert.override_to_proto(override))

    async def _set_override(
        self,
        request: operator_pb2.SetBudgetOverrideRequest | operator_pb2.PauseSiteRequest,
        budget_watts: float,
        default_reason: str,
    ) -> Override:
        """Check ``site``, ``duration`` and ``reason`` (and the budget), then set it."""
        check = Checker()
        site = check.name("site", request.site)
        budget_w = check.watts("budget_watts", budget_watts)
        length_s = check.duration_s(
            "duration",
            request.duration,
            request.HasField("duration"),
            maximum_s=self._c.settings.max_override_s,
        )
        reason = check.text("reason", request.reason)
        check.raise_if_any()
        return await self._c.set_override(site, budget_w, length_s, reason or default_reason)

    async def ClearBudgetOverride(  # noqa: N802
        self, request: operator_pb2.ClearBudgetOverrideRequest, context: Any
    ) -> operator_pb2.ClearBudgetOverrideResponse:
        """Drop a site's override."""
        check = Checker()
        site = check.name("site", request.site)
        check.raise_if_any()
        return operator_pb2.ClearBudgetOverrideResponse(cleared=await self._c.clear_override(site))

    async def PushSchedule(  # noqa: N802
        self, request: operator_pb2.PushScheduleRequest, context: Any
    ) -> operator_pb2.PushScheduleResponse:
        """Store a per-site, per-period schedule."""
        entries = convert.schedule_from_proto(request, max_period_s=self._c.settings.max_period_s)
        schedule_id = await self._c.push_schedule(entries)
        return operator_pb2.PushScheduleResponse(schedule_id=schedule_id, entry_count=len(entries))
