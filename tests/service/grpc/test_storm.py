"""A storm of streams opened and cancelled must not wedge a real ``spillway serve`` (issue 13, 6).

Two thousand ``WatchPlans`` and ``StreamWork`` streams are opened over loopback,
a budget change wakes them all, and they are all cancelled at once. Before the
fix a stream cancelled while its ``Condition.wait`` was re-taking the lock left
the lock held for good: ``RuntimeError: Lock is not acquired`` in the log,
``RunPlan`` never answered again and SIGTERM no longer stopped the process.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from spw_helpers import AUTH, TOKEN, free_port, spawn, stop_process
from test_planner import three_bus

from spillway.v1 import (
    miner_pb2,
    miner_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)

pytest.importorskip("highspy")

STREAMS = 2000
ROUNDS = 2


async def _serving(address: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{address} not SERVING after {timeout_s} s")
            await asyncio.sleep(0.1)


async def _storm(address: str) -> tuple[float, str]:
    """Open and cancel the streams ``ROUNDS`` times; then the seconds RunPlan took."""
    # Several channels: one HTTP/2 connection caps its concurrent streams.
    channels = [grpc.aio.insecure_channel(address) for _ in range(8)]
    try:
        planner = planner_pb2_grpc.PlannerServiceStub(channels[0])
        workers = miner_pb2_grpc.WorkerServiceStub(channels[0])
        ops = operator_pb2_grpc.OperatorServiceStub(channels[0])
        submitted = await planner.SubmitScenario(
            planner_pb2.SubmitScenarioRequest(scenario=three_bus(time.time() - 60)),
            metadata=AUTH,
        )
        run = planner_pb2.RunPlanRequest(
            scenario_id=submitted.scenario_id, mode=planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY
        )
        await planner.RunPlan(run, metadata=AUTH, timeout=60)
        reg = await workers.RegisterWorker(
            miner_pb2.RegisterWorkerRequest(
                site="north",
                worker_name="storm",
                backend="cpu",
                hashrate_hashes_per_second=1e6,
                max_power_watts=50,
            ),
            metadata=AUTH,
        )
        for round_ in range(ROUNDS):
            calls: list[Any] = []
            for i in range(STREAMS):
                channel = channels[i % len(channels)]
                if i % 2:
                    stub: Any = planner_pb2_grpc.PlannerServiceStub(channel)
                    calls.append(stub.WatchPlans(planner_pb2.WatchPlansRequest()))
                else:
                    stub = miner_pb2_grpc.WorkerServiceStub(channel)
                    calls.append(
                        stub.StreamWork(
                            miner_pb2.StreamWorkRequest(worker_id=reg.worker_id), metadata=AUTH
                        )
                    )
            # Every stream has answered once: each is in its wait loop on the server.
            await asyncio.wait_for(asyncio.gather(*(c.read() for c in calls)), timeout=120)
            # Wake them all (budget change), and cancel while they re-take their locks.
            await ops.SetBudgetOverride(
                operator_pb2.SetBudgetOverrideRequest(
                    site="north",
                    budget_watts=10.0 + round_,
                    duration=duration_pb2.Duration(seconds=600),
                ),
                metadata=AUTH,
            )
            for call in calls:
                call.cancel()
            await asyncio.sleep(1.5)  # a refresh tick: the streams time out and wake too
        begun = time.perf_counter()
        try:
            await planner.RunPlan(run, metadata=AUTH, timeout=30)
        except grpc.aio.AioRpcError as exc:
            return time.perf_counter() - begun, f"RunPlan failed: {exc.code().name}"
        return time.perf_counter() - begun, "ok"
    finally:
        for channel in channels:
            await channel.close()


def test_stream_storm_leaves_coordinator_answering(tmp_path: Path) -> None:
    """After 2 x 2,000 cancelled streams RunPlan answers and SIGTERM stops the process."""
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    port = free_port()
    address = f"127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = spawn(
        [
            "serve",
            "--grpc-listen",
            address,
            "--data-dir",
            str(tmp_path / "data"),
            "--auth-token-file",
            str(token_file),
            "--hash-threads",
            "1",
            "--grace-seconds",
            "1",
        ],
        log,
    )
    try:
        asyncio.run(_serving(address, 30))
        run_plan_s, outcome = asyncio.run(asyncio.wait_for(_storm(address), timeout=150))
        print(f"RunPlan after {ROUNDS} x {STREAMS} cancelled streams: {run_plan_s:.2f} s")
        assert outcome == "ok", log.read_text()[-3000:]
        begun = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=30)
        except Exception:
            raise AssertionError("SIGTERM did not stop the coordinator in 30 s") from None
        print(f"stopped {time.monotonic() - begun:.2f} s after SIGTERM")
        assert code == 0
        text = log.read_text()
        assert "Lock is not acquired" not in text
        assert "Traceback" not in text, text[-3000:]
    finally:
        stop_process(proc, signal.SIGKILL)
