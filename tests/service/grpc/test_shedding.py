"""A site's budget shed across its streaming workers: the least efficient (J/hash) first."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from google.protobuf import duration_pb2
from spw_helpers import AUTH, Running, know_site

from service.rpc.convert import timestamp
from spillway.v1 import common_pb2, miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc


async def stream_of(coordinator: Running, name: str, hashrate_hs: float) -> Any:
    """A registered worker at site alpha (100 W at most) and its open work stream."""
    work = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
    reply = await work.RegisterWorker(
        miner_pb2.RegisterWorkerRequest(
            site="alpha",
            worker_name=name,
            backend="cpu",
            hashrate_hashes_per_second=hashrate_hs,
            max_power_watts=100,
        ),
        metadata=AUTH,
    )
    return work.StreamWork(miner_pb2.StreamWorkRequest(worker_id=reply.worker_id), metadata=AUTH)


async def settles_at(stream: Any, watts: float, timeout_s: float = 5.0) -> None:
    """Read the stream's budgets until one is ``watts``."""
    deadline = time.monotonic() + timeout_s
    seen = []
    while time.monotonic() < deadline:
        reply = await asyncio.wait_for(stream.read(), timeout=deadline - time.monotonic())
        if reply.HasField("power_budget"):
            seen.append(reply.power_budget.budget_watts)
            if reply.power_budget.budget_watts == watts:
                return
    raise AssertionError(f"no budget of {watts} W; saw {seen}")


class TestShedding:
    async def test_least_efficient_sheds_first(self, coordinator: Running) -> None:
        """150 W for two 100 W workers: the efficient one (2 MH/s) runs flat out, the
        other (1 MH/s, twice the J/hash) gets the rest; at 80 W the inefficient one
        sheds entirely; at 250 W both run flat out; alone, a worker has the site's."""
        ops = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        await know_site(coordinator.channel, "alpha", "known-alpha")  # schedules need a known site
        await ops.PushSchedule(
            operator_pb2.PushScheduleRequest(
                entries=[
                    operator_pb2.ScheduledBudget(
                        site="alpha",
                        start_time=timestamp(time.time() - 10),
                        duration=duration_pb2.Duration(seconds=3600),
                        budget_watts=150.0,
                        energy_source=common_pb2.ENERGY_SOURCE_CURTAILED,
                    )
                ]
            ),
            metadata=AUTH,
        )
        efficient = await stream_of(coordinator, "efficient", 2e6)
        inefficient = await stream_of(coordinator, "inefficient", 1e6)
        try:
            await settles_at(efficient, 100.0)
            await settles_at(inefficient, 50.0)
            for watts, shares in ((80.0, (80.0, 0.0)), (250.0, (100.0, 100.0))):
                await ops.SetBudgetOverride(
                    operator_pb2.SetBudgetOverrideRequest(
                        site="alpha",
                        budget_watts=watts,
                        duration=duration_pb2.Duration(seconds=60),
                    ),
                    metadata=AUTH,
                )
                await settles_at(efficient, shares[0])
                await settles_at(inefficient, shares[1])
            efficient.cancel()
            await settles_at(inefficient, 250.0)
        finally:
            efficient.cancel()
            inefficient.cancel()
