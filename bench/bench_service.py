"""Load run against the coordinator: RPS and p50/p99 latency for a status call and share submission.

Starts ``spillway serve`` as its own process on loopback (no auth, no metrics
endpoint; gRPC metrics still counted by the interceptor), then runs ``--clients``
concurrent clients for ``--seconds`` per call kind, bounded in both. Shares are
real: the coordinator's share difficulty is set so low (2**-31) that about half
of all nonces meet it, so each submission is checked (SHA-256d) and about half
are stored (SQLite, ``synchronous=FULL``).
Also times the metrics interceptor's own work per call (counters and histogram).
Prints one JSON line, then a summary.

Usage::

    .venv/bin/python bench/bench_service.py [--clients 32] [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from pathlib import Path

import grpc
from prometheus_client import CollectorRegistry

from service.metrics import GrpcServerMetrics
from service.testing import free_port
from spillway.v1 import miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc

ACCEPTED = miner_pb2.SHARE_RESULT_ACCEPTED


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _load(address: str, clients: int, seconds: float, kind: str) -> dict[str, float]:
    latencies: list[float] = []
    stored = [0]
    async with grpc.aio.insecure_channel(address) as channel:
        workers = miner_pb2_grpc.WorkerServiceStub(channel)
        ops = operator_pb2_grpc.OperatorServiceStub(channel)
        worker_ids, jobs = [], []
        if kind == "share":
            for i in range(clients):
                reply = await workers.RegisterWorker(
                    miner_pb2.RegisterWorkerRequest(
                        site="bench", worker_name=f"b{i}", backend="cpu", max_power_watts=1
                    )
                )
                stream = workers.StreamWork(miner_pb2.StreamWorkRequest(worker_id=reply.worker_id))
                first = await stream.read()
                stream.cancel()
                worker_ids.append(reply.worker_id)
                jobs.append(first.job)
        deadline = time.perf_counter() + seconds

        async def client(i: int) -> None:
            nonce = 0
            while time.perf_counter() < deadline:
                begun = time.perf_counter()
                if kind == "status":
                    await ops.GetStatus(operator_pb2.GetStatusRequest())
                else:
                    job = jobs[i]
                    ntime = int.from_bytes(job.header_prefix[68:72], "little")
                    share = miner_pb2.Share(
                        share_id=str(nonce), job_id=job.job_id, ntime=ntime, nonce=nonce
                    )
                    reply = await workers.SubmitShares(
                        miner_pb2.SubmitSharesRequest(worker_id=worker_ids[i], shares=[share])
                    )
                    result = reply.acks[0].result
                    assert result in (ACCEPTED, miner_pb2.SHARE_RESULT_REJECTED_ABOVE_TARGET)
                    stored[0] += result == ACCEPTED
                    nonce += 1
                latencies.append(time.perf_counter() - begun)

        started = time.perf_counter()
        await asyncio.gather(*(client(i) for i in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "calls": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1e3, 2),
        "p99_ms": round(_percentile(latencies, 0.99) * 1e3, 2),
        "stored": stored[0],
    }


def _metrics_overhead_us() -> float:
    """The interceptor's metric updates for one call (started, handled, histogram)."""
    metrics = GrpcServerMetrics(CollectorRegistry())
    labels = ("unary", "spillway.v1.OperatorService", "GetStatus")

    def one_call() -> None:
        begun = time.perf_counter()
        metrics.started.labels(*labels).inc()
        metrics.handled.labels(*labels, "OK").inc()
        metrics.handling_seconds.labels(*labels).observe(time.perf_counter() - begun)

    n = 20000
    return timeit.timeit(one_call, number=n) / n * 1e6


def main() -> int:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as data:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "service.cli",
                "serve",
                "--grpc-listen",
                f"127.0.0.1:{port}",
                "--metrics-listen",
                "off",
                "--data-dir",
                data,
                "--share-difficulty",
                str(2.0**-31),
                "--hash-threads",
                "1",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()  # "listening on ..."
            address = f"127.0.0.1:{port}"
            status = asyncio.run(_load(address, args.clients, args.seconds, "status"))
            share = asyncio.run(_load(address, args.clients, args.seconds, "share"))
        finally:
            server.terminate()
            server.wait(timeout=30)
    overhead_us = _metrics_overhead_us()
    result = {
        "clients": args.clients,
        "seconds": args.seconds,
        "get_status": status,
        "submit_shares": share,
        "metrics_overhead_us_per_call": round(overhead_us, 2),
    }
    print(json.dumps(result))
    print(
        f"GetStatus {status['rps']} RPS p50 {status['p50_ms']} ms p99 {status['p99_ms']} ms;"
        f" SubmitShares {share['rps']} RPS p50 {share['p50_ms']} ms p99 {share['p99_ms']} ms;"
        f" metrics {overhead_us:.1f} us/call ({Path(sys.executable).name})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
