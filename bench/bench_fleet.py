"""Fleet run: one coordinator, 1,000 then 5,000 work streams; how fast a budget change reaches all.

Starts a coordinator as its own process on loopback (default settings except a
call-rate limit raised so that one host may open thousands of streams, and a job
interval of an hour so that the figures are the budget path's alone). Then, per
fleet size, registers that many workers (100 W each) at one site and opens one real
``StreamWork`` stream each, spread over ``--processes`` client processes (each with
its own event loop and gRPC channels of at most ``--per-channel`` streams, as a
farm's workers would spread over hosts: one Python process cannot follow thousands
of streams as fast as the coordinator sends), waits until every stream has its
first budget, and changes the site's budget ``--rounds`` times
(``SetBudgetOverride``, alternating full power for every worker and zero: the site's
budget is shed across its streams, so each change must move every stream's own
figure). For each change it records, per client, the time from sending the change
until that client's stream delivered its new figure (``time.monotonic`` is one
clock for all processes); p50/p99/max over all clients and rounds are reported.
Meanwhile a status client calls ``GetStatus`` every 0.5 s (latency p50/p99). The
coordinator's CPU (cores used, from /proc over the measured window; the client
processes' too) and RSS (now and peak) are read from /proc. Bounded:
``--timeout-s`` per change, ``--connect-timeout-s`` per fleet, and every call and
clean-up step.

Prints one JSON line, then a one-line summary. The issue's goal on a 2-core
machine: 1,000 clients p99 <= 1 s, 5,000 p99 <= 3 s, RSS <= 1.5 GiB.

Usage::

    .venv/bin/python bench/bench_fleet.py [--clients 1000,5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import grpc

from service.testing import free_port
from spillway.v1 import miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc

SITE = "fleet"
MAX_W = 100.0  # each worker's declared max power
# A refused stream is opened again after U(0.5, 1) x this, doubling up to RETRY_MAX_S.
RETRY_BASE_S = 0.5
RETRY_MAX_S = 8.0
# The coordinator under test; the rate limit is per client host, and every client is 127.0.0.1.
CHILD = """
import asyncio, sys
from pathlib import Path
from prometheus_client import CollectorRegistry
try:
    from service.coordinator.settings import CoordinatorSettings
    from service.rpc.server import serve
except ImportError:  # before the restructure (issue 12)
    from service.settings import CoordinatorSettings
    from service.server import serve
settings = CoordinatorSettings(
    grpc_listen=sys.argv[1], metrics_listen=None, data_dir=Path(sys.argv[2]),
    rate_limit_per_s=1e6, rate_limit_burst=1e6, job_interval_s=3600.0, hash_threads=1,
)
asyncio.run(serve(settings, registry=CollectorRegistry()))
"""
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
# Every call and every clean-up step is bounded, so an overloaded coordinator still
# gives figures (calls that time out are counted) rather than a hung benchmark.
CALL_TIMEOUT_S = 30.0
CLEANUP_S = 20.0


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * TICK_S  # utime + stime


def _rss_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


class _Client:
    """One lightweight worker: a stream, and each budget figure it got, with when."""

    def __init__(self) -> None:
        self.budgets: list[tuple[float, float]] = []  # (time.monotonic(), W)
        self.first = asyncio.Event()
        self.messages = 0
        self.retries = 0  # streams opened again after the coordinator refused or ended one
        self.error = ""  # the status code name the last stream ended with, if one did

    async def follow(self, stub: Any, worker_id: str) -> None:
        """Follow the stream; a refused or dropped stream is opened again after a
        jittered, doubling pause (as a worker does), until the task is cancelled."""
        backoff_s = RETRY_BASE_S
        while True:
            stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id))
            try:
                async for message in stream:
                    self.messages += 1
                    if message.HasField("power_budget"):
                        self.budgets.append((time.monotonic(), message.power_budget.budget_watts))
                        self.first.set()
            except grpc.aio.AioRpcError as exc:
                self.error = exc.code().name
                self.retries += 1
            await asyncio.sleep(random.uniform(0.5, 1.0) * backoff_s)
            backoff_s = min(2 * backoff_s, RETRY_MAX_S)

    def arrival(self, budget_w: float, since: float) -> float | None:
        """When the first ``budget_w`` at or after ``since`` arrived (monotonic), if it did."""
        return next((at for at, w in self.budgets if at >= since and w == budget_w), None)


def _client_process(
    conn: Any, address: str, ids: list[str], per_channel: int, timeout_s: float
) -> None:
    """A client process: streams for ``ids`` on its own channels and event loop."""
    asyncio.run(_client_main(conn, address, ids, per_channel, timeout_s))


async def _client_main(
    conn: Any, address: str, ids: list[str], per_channel: int, timeout_s: float
) -> None:
    """Open the streams, report when each has its first budget, then answer ``expect``
    (the per-worker figure of a change: when each stream got it) until ``stop``."""
    loop = asyncio.get_running_loop()
    opts = [("grpc.use_local_subchannel_pool", 1)]
    channels = [
        grpc.aio.insecure_channel(address, options=opts)
        for _ in range((len(ids) + per_channel - 1) // per_channel)
    ]
    stubs = [miner_pb2_grpc.WorkerServiceStub(c) for c in channels]
    clients = [_Client() for _ in ids]
    begun = time.monotonic()
    tasks = [
        asyncio.create_task(c.follow(stubs[i % len(stubs)], ids[i])) for i, c in enumerate(clients)
    ]
    # Bounded: streams with no budget by the deadline are left out (counted as not connected).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(
            asyncio.gather(*(c.first.wait() for c in clients)), timeout=timeout_s
        )
    # Of the streams without a budget: how many had any message, and how they ended.
    waiting = [c for c in clients if not c.first.is_set()]
    why = collections.Counter(
        c.error or ("open, some reply" if c.messages else "open, silent") for c in waiting
    )
    retries = sum(c.retries for c in clients)
    clients = [c for c in clients if c.first.is_set()]
    last_first = max((c.budgets[0][0] for c in clients), default=begun)
    conn.send(("connected", len(clients), begun, last_first, dict(why), retries))
    while True:
        message = await loop.run_in_executor(None, conn.recv)
        if message[0] != "expect":
            break
        _, budget_w, sent, deadline = message
        waiting = clients
        while waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
            waiting = [c for c in waiting if c.arrival(budget_w, sent) is None]
        got = [at - sent for c in clients if (at := c.arrival(budget_w, sent)) is not None]
        conn.send(("reached", got))
    for task in tasks:
        task.cancel()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), CLEANUP_S)
        await asyncio.wait_for(asyncio.gather(*(c.close() for c in channels)), CLEANUP_S)
    conn.send(("done",))


class _ClientPool:
    """The fleet's streams spread over ``processes`` client processes (spawned, so each
    has its own gRPC core and event loop: one process's loop does not cap the fleet)."""

    def __init__(self, address: str, ids: list[str], processes: int, args: argparse.Namespace):
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Any] = []
        self.procs: list[Any] = []
        slices = [ids[k::processes] for k in range(processes)]
        for part in (s for s in slices if s):
            ours, theirs = ctx.Pipe()
            proc = ctx.Process(
                target=_client_process,
                args=(theirs, address, part, args.per_channel, args.connect_timeout_s),
                daemon=True,
            )
            proc.start()
            self.conns.append(ours)
            self.procs.append(proc)

    async def gather(self, timeout_s: float) -> list[Any]:
        """One reply from every process (a process that does not answer in time: None)."""
        loop = asyncio.get_running_loop()

        async def one(conn: Any) -> Any:
            if await loop.run_in_executor(None, conn.poll, timeout_s):
                return conn.recv()
            return None

        return list(await asyncio.gather(*(one(c) for c in self.conns)))

    def send(self, message: tuple[Any, ...]) -> None:
        for conn in self.conns:
            conn.send(message)

    def cpu_s(self) -> float:
        return sum(_cpu_s(p.pid) for p in self.procs if p.is_alive())

    async def close(self) -> None:
        self.send(("stop",))
        await self.gather(CLEANUP_S + 5)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


async def _register(stub: Any, n: int, label: str) -> list[str]:
    ids: list[str] = [""] * n
    gate = asyncio.Semaphore(64)

    async def one(i: int) -> None:
        async with gate:
            reply = await stub.RegisterWorker(
                miner_pb2.RegisterWorkerRequest(
                    site=SITE, worker_name=f"{label}-{i}", backend="cpu", max_power_watts=MAX_W
                )
            )
            ids[i] = reply.worker_id

    await asyncio.gather(*(one(i) for i in range(n)))
    return ids


async def _status_loop(
    ops: Any, latencies: list[float], failed: list[str], stop: asyncio.Event
) -> None:
    while not stop.is_set():
        begun = time.perf_counter()
        try:
            await ops.GetStatus(operator_pb2.GetStatusRequest(), timeout=CALL_TIMEOUT_S)
        except grpc.aio.AioRpcError as exc:  # counted, not fatal: the figure is the answer
            failed.append(exc.code().name)
            continue
        latencies.append(time.perf_counter() - begun)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)


async def _change(
    ops: Any, pool: _ClientPool, n: int, r: int, args: argparse.Namespace
) -> tuple[list[float], float, str | None]:
    """Change the site's budget (round ``r``): full power for all, then pause, then full...

    The site's budget is shed across its streams (``signals.shedding``), so a change
    must move every stream's own figure: ``n x MAX_W`` gives each ``MAX_W``, zero gives
    each zero. Returns the delays (s), the slowest, and the refusal code if refused.
    """
    site_w, worker_w = (n * MAX_W, MAX_W) if r % 2 == 0 else (0.0, 0.0)
    sent = time.monotonic()
    try:
        await ops.SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site=SITE, budget_watts=site_w, duration={"seconds": 3600}, reason="bench"
            ),
            timeout=CALL_TIMEOUT_S,
        )
    except grpc.aio.AioRpcError as exc:  # the coordinator could not take the change
        return [], float("inf"), exc.code().name
    pool.send(("expect", worker_w, sent, sent + args.timeout_s))
    got = [d for reply in await pool.gather(args.timeout_s + 30) if reply for d in reply[1]]
    return got, max(got) if got else float("inf"), None


async def _fleet(address: str, pid: int, n: int, args: argparse.Namespace) -> dict[str, Any]:
    control = grpc.aio.insecure_channel(address)
    ops = operator_pb2_grpc.OperatorServiceStub(control)
    pool: _ClientPool | None = None
    try:
        begun = time.perf_counter()
        ids = await _register(miner_pb2_grpc.WorkerServiceStub(control), n, f"n{n}")
        register_s = time.perf_counter() - begun
        # Start from zero for everyone (an earlier fleet's override may still hold), so
        # that the first change moves every stream's figure.
        await ops.SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site=SITE, budget_watts=0.0, duration={"seconds": 3600}, reason="bench start"
            ),
            timeout=CALL_TIMEOUT_S,
        )
        processes = max(1, min(args.processes, n))
        pool = _ClientPool(address, ids, processes, args)
        replies = await pool.gather(args.connect_timeout_s + 120)  # + spawn and imports
        answered = [r for r in replies if r is not None]
        connected = sum(r[1] for r in answered)
        connect_s = (
            max(r[3] for r in answered) - min(r[2] for r in answered) if answered else float("inf")
        )
        print(
            f"{n}: registered in {register_s:.1f} s, {connected} streams with a budget"
            f" after {connect_s:.1f} s ({len(answered)} of {processes} client processes)",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.sleep(1.0)  # let the streams settle into their refresh loops
        rss_settled, _ = _rss_mib(pid)
        # Streams the coordinator itself holds open (a stream with no budget yet may be
        # open there, or not yet dispatched: this tells the two apart).
        reply = await ops.GetStatus(operator_pb2.GetStatusRequest(), timeout=CALL_TIMEOUT_S)
        open_there = sum(w.connected for site in reply.sites for w in site.workers)
        status_ms: list[float] = []
        status_failed: list[str] = []
        stop = asyncio.Event()
        status = asyncio.create_task(_status_loop(ops, status_ms, status_failed, stop))
        cpu0, clients_cpu0, wall0 = _cpu_s(pid), pool.cpu_s(), time.perf_counter()
        delays: list[float] = []
        worst: list[float] = []
        missing = 0
        override_failed: list[str] = []
        for r in range(args.rounds):
            got, slowest, refused = await _change(ops, pool, n, r, args)
            if refused is not None:
                override_failed.append(refused)
            missing += connected - len(got)
            delays += got
            worst.append(slowest)
            print(
                f"{n}: change {r + 1}: {len(got)} of {connected} reached, last after"
                f" {slowest:.2f} s" + (f" (refused: {refused})" if refused else ""),
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(args.gap_s)
        wall_s = time.perf_counter() - wall0
        cpu_cores = (_cpu_s(pid) - cpu0) / wall_s
        clients_cores = (pool.cpu_s() - clients_cpu0) / wall_s
        stop.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(status, timeout=CALL_TIMEOUT_S + 5)
        rss_now, rss_peak = _rss_mib(pid)
        return {
            "clients": n,
            "client_processes": processes,
            "connected": connected,
            "open_at_coordinator": open_there,
            "stream_retries": sum(r[5] for r in answered),
            "without_budget": dict(
                sum((collections.Counter(r[4]) for r in answered), collections.Counter())
            ),
            "rounds": args.rounds,
            "missing": missing,
            "override_failed": len(override_failed),
            "register_s": round(register_s, 2),
            "connect_s": round(connect_s, 2),
            "reach_p50_s": round(statistics.median(delays), 3) if delays else None,
            "reach_p99_s": round(_percentile(delays, 0.99), 3) if delays else None,
            "reach_all_s": [round(w, 3) if w != float("inf") else None for w in worst],
            "coordinator_cpu_cores": round(cpu_cores, 2),
            "clients_cpu_cores": round(clients_cores, 2),
            "coordinator_rss_mib": round(max(rss_settled, rss_now), 1),
            "coordinator_rss_peak_mib": round(rss_peak, 1),
            "status_calls": len(status_ms),
            "status_failed": len(status_failed),
            "status_p50_ms": round(statistics.median(status_ms) * 1e3, 1) if status_ms else None,
            "status_p99_ms": round(_percentile(status_ms, 0.99) * 1e3, 1) if status_ms else None,
        }
    finally:
        if pool is not None:
            await pool.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(control.close(), CLEANUP_S)


def main() -> int:
    """Run each fleet size against one coordinator and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1000,5000", help="fleet sizes, comma-separated")
    parser.add_argument("--rounds", type=int, default=3, help="budget changes per fleet")
    parser.add_argument("--per-channel", type=int, default=100, help="streams per channel")
    parser.add_argument(
        "--processes", type=int, default=4, help="client processes the streams are spread over"
    )
    parser.add_argument("--timeout-s", type=float, default=30.0, help="wait per change")
    parser.add_argument("--connect-timeout-s", type=float, default=120.0)
    parser.add_argument("--gap-s", type=float, default=2.0, help="pause between changes")
    parser.add_argument("--label", default="", help="a tag for the JSON line (before/after)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.clients.split(",")]
    port = free_port()
    address = f"127.0.0.1:{port}"
    runs = []
    with tempfile.TemporaryDirectory() as data:
        log = Path(data) / "coordinator.log"
        with log.open("wb") as out:
            server = subprocess.Popen(
                [sys.executable, "-c", CHILD, address, data],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            deadline = time.monotonic() + 120
            while "listening" not in log.read_text():
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"coordinator did not start: {log.read_text()[-2000:]}")
                time.sleep(0.2)
            for n in sizes:
                runs.append(asyncio.run(_fleet(address, server.pid, n, args)))
                print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
        finally:
            server.terminate()
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    print(json.dumps({"bench": "fleet", "label": args.label, "runs": runs}))
    print(
        "; ".join(
            f"{r['clients']} clients ({r['connected']} connected in {r['connect_s']} s):"
            f" reach p50 {r['reach_p50_s']} s p99 {r['reach_p99_s']} s"
            f" (missing {r['missing']}), coordinator {r['coordinator_cpu_cores']} cores"
            f" {r['coordinator_rss_peak_mib']} MiB peak, status p99 {r['status_p99_ms']} ms"
            for r in runs
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
