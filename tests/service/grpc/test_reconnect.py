"""A worker reconnects at once when its coordinator is back after a restart (issue 13, 9).

The coordinator is down long enough for the worker's backoff to grow to several
seconds; before the fix the worker slept that out (15 s and 30 s were seen) while
the coordinator had been back within a second. Now the backoff probes the
coordinator's health and reconnects once it answers.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import CollectorRegistry
from spw_helpers import TOKEN, free_port, make_settings

import kernels
from service.rpc.server import build_server
from service.worker.core import Worker
from service.worker.settings import WorkerSettings

DOWN_S = 8.0  # base 0.5 s doubling: the pending delay is 4-16 s when it comes back


async def _connected(registry: CollectorRegistry, value: float, timeout_s: float) -> float:
    """Seconds until the worker's coordinator_connected gauge reads ``value``."""
    begun = time.monotonic()
    while registry.get_sample_value("spillway_coordinator_connected") != value:
        if time.monotonic() - begun > timeout_s:
            raise AssertionError(f"coordinator_connected not {value} after {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - begun


async def test_worker_reconnects_soon_after_coordinator_restart(tmp_path: Path) -> None:
    """After a restart the worker is back within 3 s, not after its grown backoff."""
    port = free_port()
    settings = make_settings(tmp_path / "data", grpc_listen=f"127.0.0.1:{port}")
    server, _ = await build_server(settings, registry=CollectorRegistry())
    backend = kernels.CpuBackend(threads=1)
    registry = CollectorRegistry()
    worker = Worker(
        WorkerSettings(
            coordinator=f"127.0.0.1:{port}",
            site="north",
            worker_name="n1",
            data_dir=tmp_path / "w",
            auth_token=TOKEN,
            backoff_base_s=0.5,
            backoff_max_s=30.0,
        ),
        backend,
        registry,
    )
    task = asyncio.create_task(worker.run())
    try:
        await _connected(registry, 1, 30)
        await server.stop(0)
        await _connected(registry, 0, 10)
        await asyncio.sleep(DOWN_S)
        server, _ = await build_server(settings, registry=CollectorRegistry())
        reconnect_s = await _connected(registry, 1, 60)
        print(f"reconnected {reconnect_s:.2f} s after the coordinator was back ({DOWN_S} s down)")
        assert reconnect_s <= 3.0
    finally:
        worker.stop.set()
        await task
        backend.close()
        await server.stop(0)
