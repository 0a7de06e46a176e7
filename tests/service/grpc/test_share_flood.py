"""A tiny share difficulty must not flood the coordinator or the worker's disk (issue 13, 2).

A real worker mines real jobs at a difficulty where nearly every nonce is a share.
The coordinator takes at most its per-worker allowance (50/s, burst 500 by default);
the rest wait in the worker's queue, which stays within its bound by dropping
(and counting) shares. Before the fix the coordinator stored about 1,000 shares a
second and the queue grew without end.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import grpc
from google.protobuf import duration_pb2
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, TOKEN, know_site, make_settings

import kernels
from service.rpc.server import build_server
from service.worker.core import Worker
from service.worker.settings import WorkerSettings
from spillway.v1 import operator_pb2, operator_pb2_grpc

MINE_S = 4.0


async def test_tiny_difficulty_is_capped_per_worker(tmp_path: Path) -> None:
    """Shares stored per second stay near the cap; the worker's queue stays bounded."""
    registry = CollectorRegistry()
    settings = make_settings(tmp_path / "data", share_difficulty=2.0**-32)
    server, port = await build_server(settings, registry=registry)
    backend = kernels.CpuBackend(threads=1)
    worker_registry = CollectorRegistry()
    worker = Worker(
        WorkerSettings(
            coordinator=f"127.0.0.1:{port}",
            site="north",
            worker_name="n1",
            data_dir=tmp_path / "w",
            auth_token=TOKEN,
            joules_per_hash=1e-6,
            share_flush_s=0.05,
            max_queued_shares=2000,
        ),
        backend,
        worker_registry,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            await know_site(channel, "north", "n1")
            await operator_pb2_grpc.OperatorServiceStub(channel).SetBudgetOverride(
                operator_pb2.SetBudgetOverrideRequest(
                    site="north", budget_watts=2.0, duration=duration_pb2.Duration(seconds=120)
                ),
                metadata=AUTH,
            )
        task = asyncio.create_task(worker.run())
        store = server.store
        deadline = time.monotonic() + 30
        while await store.run(store.store.share_count) == 0:
            assert time.monotonic() < deadline, "no share stored"
            await asyncio.sleep(0.05)
        begun, first = time.monotonic(), await store.run(store.store.share_count)
        await asyncio.sleep(MINE_S)
        stored = await store.run(store.store.share_count) - first
        elapsed_s = time.monotonic() - begun
        worker.stop.set()
        await task
    finally:
        await server.stop(0)
        backend.close()
    found = worker_registry.get_sample_value("spillway_shares_total", {"result": "found"}) or 0
    rate = stored / elapsed_s
    print(f"tiny difficulty: {found:.0f} shares found, {rate:.1f} stored/s (cap 50/s, burst 500)")
    assert found > 5 * stored  # a real flood: nearly every nonce is a share
    assert rate <= settings.worker_shares_per_s + settings.worker_share_burst / elapsed_s
    assert (registry.get_sample_value("spillway_shares_rate_limited_total") or 0) > 0
    queued = worker_registry.get_sample_value("spillway_shares_queued") or 0
    assert queued <= 2000
    dropped = sum(
        worker_registry.get_sample_value("spillway_shares_dropped_total", {"reason": r}) or 0
        for r in ("stale", "newest")
    )
    assert dropped > 0
