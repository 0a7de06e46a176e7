"""Time for a worker to reconnect after its coordinator restarts (issue 13, item 9).

A real coordinator on loopback is stopped for a few seconds (long enough for the
worker's backoff to grow) and started again on the same port; the figure is the
time from the restarted coordinator's ``build_server`` returning to the worker's
``spillway_coordinator_connected`` reading 1. The baseline, in the same run, is
the old behaviour: the worker sleeps out its backoff without probing health
(``Worker._wait_until_serving`` replaced by a plain sleep). Goal: p99 <= 3 s.

Usage::

    .venv/bin/python bench/bench_reconnect.py [--restarts 6]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from prometheus_client import CollectorRegistry

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "service" / "grpc"))
from spw_helpers import TOKEN, free_port, make_settings

import kernels
from service.rpc.server import build_server
from service.worker.core import Worker
from service.worker.settings import WorkerSettings


async def _until(registry: CollectorRegistry, value: float, timeout_s: float) -> float:
    begun = time.monotonic()
    while registry.get_sample_value("spillway_coordinator_connected") != value:
        if time.monotonic() - begun > timeout_s:
            raise RuntimeError(f"coordinator_connected not {value} after {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - begun


async def measure(restarts: int, probe: bool, rng: random.Random) -> list[float]:
    """Seconds to reconnect after each of ``restarts`` restarts."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        port = free_port()
        settings = make_settings(tmp / "data", grpc_listen=f"127.0.0.1:{port}")
        server, _ = await build_server(settings, registry=CollectorRegistry())
        backend = kernels.CpuBackend(threads=1)
        registry = CollectorRegistry()
        worker = Worker(
            WorkerSettings(
                coordinator=f"127.0.0.1:{port}",
                site="north",
                worker_name="n1",
                data_dir=tmp / "w",
                auth_token=TOKEN,
            ),
            backend,
            registry,
        )
        if not probe:

            async def sleep_out(delay_s: float) -> bool:
                await worker._sleep(delay_s)
                return False

            worker._wait_until_serving = sleep_out  # type: ignore[method-assign]
        task = asyncio.create_task(worker.run())
        times: list[float] = []
        try:
            await _until(registry, 1, 30)
            for _ in range(restarts):
                await server.stop(0)
                await _until(registry, 0, 10)
                await asyncio.sleep(rng.uniform(1.0, 8.0))
                server, _ = await build_server(settings, registry=CollectorRegistry())
                times.append(await _until(registry, 1, 120))
        finally:
            worker.stop.set()
            await task
            backend.close()
            await server.stop(0)
        return times


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--restarts", type=int, default=6)
    args = parser.parse_args()
    new = asyncio.run(measure(args.restarts, True, random.Random(13)))
    old = asyncio.run(measure(args.restarts, False, random.Random(13)))
    figures = {
        "bench": "reconnect",
        "restarts": args.restarts,
        "probe_p50_s": round(statistics.median(new), 2),
        "probe_p99_s": round(p99(new), 2),
        "probe_max_s": round(max(new), 2),
        "baseline_p50_s": round(statistics.median(old), 2),
        "baseline_p99_s": round(p99(old), 2),
        "p99_ratio": round(p99(new) / p99(old), 3),
    }
    print(json.dumps(figures))
    print(
        f"reconnect after restart: p99 {figures['probe_p99_s']} s with health probing,"
        f" {figures['baseline_p99_s']} s sleeping out the backoff"
        f" (ratio {figures['p99_ratio']}; goal p99 <= 3 s)"
    )


if __name__ == "__main__":
    main()
