"""The thin servicer for ``WorkerService``.

Each checks its request, converts it and calls ``Coordinator``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from service.coordinator.core import BudgetEvent, Coordinator, JobEvent
from service.rpc import convert
from service.rpc.checks import MAX_POWER_W, Checker
from service.rpc.ledger_servicer import telemetry_from_proto
from spillway.v1 import miner_pb2

__all__ = ["WorkerServicer"]


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
        if request.energy_joules > MAX_POWER_W * 3600:
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
            if signed.energy_measurement not in convert.ENERGY_MEASUREMENT_NAMES:
                check.add(
                    "signed_telemetry.energy_measurement",
                    f"unknown value {signed.energy_measurement} (measured or modelled)",
                )
        check.raise_if_any()
        worker = await self._c.worker(request.worker_id)
        await self._c.report(
            worker,
            telemetry_from_proto(request.signed_telemetry),
            power_w=request.power_watts,
            hashrate_hs=request.hashrate_hashes_per_second,
        )
        return miner_pb2.ReportTelemetryResponse()
