"""Thin servicers for ``WorkerService`` and ``OperatorService``.

Each checks its request, converts it and calls ``Coordinator``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from service import convert
from service.convert import Checker
from service.coordinator import BudgetEvent, Coordinator, JobEvent
from service.ledger_servicer import telemetry_from_proto
from spillway.v1 import miner_pb2, operator_pb2

__all__ = ["OperatorServicer", "WorkerServicer"]


class WorkerServicer:
    """``spillway.v1.WorkerService``."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._c = coordinator

    async def RegisterWorker(  # noqa: N802  (gRPC method names)
        self, request: miner_pb2.RegisterWorkerRequest, context: Any
    ) -> miner_pb2.RegisterWorkerResponse:
        """Register or refresh a worker."""
        check = Checker()
        site = check.name("site", request.site)
        name = check.name("worker_name", request.worker_name)
        if request.backend not in ("cpu", "cuda"):
            check.add("backend", f"must be cpu or cuda, got {request.backend[:40]!r}")
        check.non_negative("hashrate_hashes_per_second", request.hashrate_hashes_per_second)
        check.watts("max_power_watts", request.max_power_watts)
        check.text("software_version", request.software_version, max_chars=64)
        check.raise_if_any()
        worker = await self._c.register(
            site,
            name,
            request.backend,
            request.hashrate_hashes_per_second,
            request.max_power_watts,
            request.telemetry_public_key,
        )
        return miner_pb2.RegisterWorkerResponse(worker_id=worker.worker_id)

    async def StreamWork(  # noqa: N802
        self, request: miner_pb2.StreamWorkRequest, context: Any
    ) -> AsyncIterator[miner_pb2.StreamWorkResponse]:
        """Budgets and jobs for one worker until the coordinator stops."""
        worker = await self._c.worker(request.worker_id)
        async for event in self._c.work(worker):
            if isinstance(event, BudgetEvent):
                yield miner_pb2.StreamWorkResponse(
                    power_budget=convert.budget_to_proto(
                        event.budget,
                        period_start_s=event.period_start_s,
                        period_s=self._c.settings.period_s,
                    )
                )
            elif isinstance(event, JobEvent) and event.job is not None:
                yield miner_pb2.StreamWorkResponse(
                    job=convert.job_to_proto(event.job, clean=event.clean)
                )
            elif isinstance(event, JobEvent):
                yield miner_pb2.StreamWorkResponse(
                    no_work=miner_pb2.NoWork(reason="no pool work: idle until the next job")
                )
            else:
                yield miner_pb2.StreamWorkResponse(stop=miner_pb2.StopWork(reason=event.reason))

    async def SubmitShares(  # noqa: N802
        self, request: miner_pb2.SubmitSharesRequest, context: Any
    ) -> miner_pb2.SubmitSharesResponse:
        """Check and store shares; answer each."""
        shares = convert.shares_from_proto(request)
        worker = await self._c.worker(request.worker_id)
        outcomes = await self._c.submit_shares(worker, shares)
        return miner_pb2.SubmitSharesResponse(
            acks=[
                miner_pb2.ShareAck(
                    share_id=o.share_id, result=convert.SHARE_RESULTS[o.result], reason=o.reason
                )
                for o in outcomes
            ]
        )

    async def ReportTelemetry(  # noqa: N802
        self, request: miner_pb2.ReportTelemetryRequest, context: Any
    ) -> miner_pb2.ReportTelemetryResponse:
        """Add a worker's energy and hashes to the ledger."""
        check = Checker()
        if not request.worker_id:
            check.add("worker_id", "is required")
        check.duration_s("interval", request.interval, request.HasField("interval"), maximum_s=3600)
        check.watts("power_watts", request.power_watts)
        check.watts("budget_watts", request.budget_watts)
        # One hour at a gigawatt bounds one report's energy.
        check.non_negative("energy_joules", request.energy_joules)
        if request.energy_joules > convert.MAX_POWER_W * 3600:
            check.add("energy_joules", "more than a gigawatt-hour in one report")
        check.non_negative("hashrate_hashes_per_second", request.hashrate_hashes_per_second)
        # The ledger takes only energy the worker signed for; the plain fields must agree.
        if not request.HasField("signed_telemetry"):
            check.add("signed_telemetry", "is required: the ledger records only signed energy")
            self._c.metrics.ledger.refused("signed_telemetry")
        else:
            signed = request.signed_telemetry
            if abs(request.energy_joules - signed.energy_joules) > 1.0:
                check.add("energy_joules", "differs from signed_telemetry.energy_joules")
            if request.hashes != signed.hashes:
                check.add("hashes", "differs from signed_telemetry.hashes")
        check.raise_if_any()
        worker = await self._c.worker(request.worker_id)
        await self._c.report(
            worker,
            telemetry_from_proto(request.signed_telemetry),
            power_w=request.power_watts,
            hashrate_hs=request.hashrate_hashes_per_second,
        )
        return miner_pb2.ReportTelemetryResponse()


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
        workers = await store.run(store.store.workers)
        response = operator_pb2.GetStatusResponse(server_time=convert.timestamp(now_s))
        if self._c.plan is not None:
            response.current_plan_id = self._c.plan.plan_id
            response.current_plan_create_time.CopyFrom(self._c.plan.create_time)
        sites = set(await store.run(store.store.known_sites))
        if self._c.plan is not None:
            sites |= {site_plan.site for site_plan in self._c.plan.sites}
        for site in sorted(sites):
            budget = await self._c.budget(site, now_s)
            status = response.sites.add(
                site=site,
                budget_watts=budget.budget_w,
                budget_source=convert.budget_source_to_proto(budget.source),
                energy_source=convert.energy_source_to_proto(budget.energy_source),
                shares_accepted=await store.run(store.store.share_count, site),
                energy_joules=await self._c.ledger.site_energy_j(site),
            )
            override = await store.run(store.store.override, site, now_s)
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
        if self._c.pool is not None:
            response.pool.CopyFrom(await self._c.pool.status())
        return response

    async def SetBudgetOverride(  # noqa: N802
        self, request: operator_pb2.SetBudgetOverrideRequest, context: Any
    ) -> operator_pb2.SetBudgetOverrideResponse:
        """A manual budget for a bounded time."""
        check = Checker()
        site = check.name("site", request.site)
        budget_w = check.watts("budget_watts", request.budget_watts)
        length_s = check.duration_s(
            "duration",
            request.duration,
            request.HasField("duration"),
            maximum_s=self._c.settings.max_override_s,
        )
        reason = check.text("reason", request.reason)
        check.raise_if_any()
        override = await self._c.set_override(site, budget_w, length_s, reason)
        return operator_pb2.SetBudgetOverrideResponse(
            budget_override=convert.override_to_proto(override)
        )

    async def PauseSite(  # noqa: N802
        self, request: operator_pb2.PauseSiteRequest, context: Any
    ) -> operator_pb2.PauseSiteResponse:
        """Budget zero for a bounded time."""
        check = Checker()
        site = check.name("site", request.site)
        length_s = check.duration_s(
            "duration",
            request.duration,
            request.HasField("duration"),
            maximum_s=self._c.settings.max_override_s,
        )
        reason = check.text("reason", request.reason)
        check.raise_if_any()
        override = await self._c.set_override(site, 0.0, length_s, reason or "paused")
        return operator_pb2.PauseSiteResponse(budget_override=convert.override_to_proto(override))

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
