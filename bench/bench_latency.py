"""Latency of the live controller: budget reach, worker power settling, status during re-plans.

Three measurements (issue 14), each against a real coordinator in its own process
on loopback (``bench_fleet.py``'s child, settings as there):

- **reach, 2 real workers**: two real ``Worker`` objects (CPU backend, one thread
  each, modelled energy) in this process stream their work from the coordinator;
  ``--rounds`` times a budget override arrives (``SetBudgetOverride``: the same
  path an OpenADR event's override takes once the VEN has it); per change the
  time from sending it until *both* workers hold the new budget (``state.budget_w``,
  polled every 2 ms). Baseline in the same run: the override call's own round trip.
- **power settle**: with the same workers, from the budget's arrival at a worker to
  its hashing power (joules of its energy model over the trailing
  ``--power-window-s``, sampled every 50 ms) within 5 % of the budget. Budgets
  alternate between 25 % and 50 % of what one thread hashes flat out. Baseline:
  the power window itself (a reading cannot settle faster than it fills).
- **reach, 1,000 stream clients**: lightweight streams registered as
  ``bench_fleet.py`` does; the site budget alternates between every stream full
  and none (the budget is shed over a site's streams, so a bare new figure would
  reach only a few of them); p50/p99 over clients and changes. Baseline: the
  override call's round trip.
- **OpenADR events** (``--parts openadr``): the coordinator is a VEN of openleadr's
  own VTN (``tests/service/grpc/openadr_vtn.py``, in this process, 0.5 s poll), with
  2 real CPU workers and ``--fleet-clients`` lightweight streams at one site, its
  budget overridden to all of them full; ``--fleet-rounds`` times a ``LOAD_DISPATCH``
  setpoint of 0 kW for every site is added at the VTN, or (the next round)
  cancelled. Per change, from the VEN's receipt (the coordinator's log line for the
  event, wall clock) to each stream and worker holding its new budget. Baseline: the
  VTN -> VEN delay (the poll) in the same run.
- **status during re-plans**: a coordinator serving SciGRID-DE (its snapshots are
  real times: it rolls) with ``--horizon-hours 24``; ``--pushes`` hourly forecasts
  (``bench_rolling.forecast_at``: the day's wind and solar with a shrinking error)
  pushed with ``UpdateForecast``, each waited for until its re-plan is adopted;
  a client calls ``GetStatus`` every 50 ms throughout. p50/p99 of the calls made
  while a re-plan ran, against those made while none did (same run).

Goals: reach p99 <= 1 s (both fleets, and from an OpenADR event's receipt), settle
<= 2 s, GetStatus p99 during re-plans <= 50 ms. Prints one JSON line, then a one-line summary.

Usage::

    .venv/bin/python bench/bench_latency.py [--parts reach,fleet,status,openadr] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from bench_fleet import CHILD, SITE, _percentile, _register
from prometheus_client import CollectorRegistry

import kernels
from service.signals.shedding import WorkerCapacity, shed
from service.testing import free_port
from service.worker.core import Worker
from service.worker.settings import WorkerSettings
from spillway.v1 import miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc, planner_pb2_grpc

ROOT = Path(__file__).resolve().parents[1]
SCIGRID = ROOT / "tests" / "data" / "grid" / "pypsa" / "scigrid-de-2017"
# The rolling child: bench_fleet's coordinator, serving a scenario at real times.
ROLLING_CHILD = CHILD.replace(
    "hash_threads=1,", "hash_threads=1, scenario=Path(sys.argv[3]), horizon_hours=24.0,"
)

# The OpenADR child: bench_fleet's coordinator as a VEN of the bench's VTN, its log
# lines stamped with the wall clock (the VEN's receipt of each event is read from it).
OPENADR_CHILD = CHILD.replace(
    "hash_threads=1,",
    "hash_threads=1, openadr=VenSettings(sys.argv[3], 'bench-ven'),",
).replace(
    "settings = CoordinatorSettings(",
    "import logging\n"
    "logging.basicConfig(level=logging.INFO, format='%(created).6f %(name)s %(message)s')\n"
    "from service.signals.ven import VenSettings\n"
    "settings = CoordinatorSettings(",
)


def _ms(values: list[float], q: float) -> float | None:
    return round(_percentile(values, q) * 1e3, 1) if values else None


class _Coordinator:
    """The coordinator under test as a child process (stopped on exit)."""

    def __init__(self, child: str, *extra: str) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self._dir = tempfile.TemporaryDirectory()
        self.log = Path(self._dir.name) / "coordinator.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", child, self.address, self._dir.name, *extra],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        deadline = time.monotonic() + 120
        while "listening" not in self.log.read_text():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise SystemExit(f"coordinator did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.2)

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._dir.cleanup()


async def _override(ops: Any, budget_w: float) -> float:
    begun = time.perf_counter()
    await ops.SetBudgetOverride(
        operator_pb2.SetBudgetOverrideRequest(
            site=SITE, budget_watts=budget_w, duration={"seconds": 3600}, reason="bench"
        ),
        timeout=30,
    )
    return time.perf_counter() - begun


async def _settle_s(worker: Worker, budget_w: float, arrived: float, args: Any) -> float | None:
    """Seconds from ``arrived`` until the worker's windowed power is within 5 % of budget."""
    samples: list[tuple[float, float]] = [(time.perf_counter(), worker.state.energy_j)]
    deadline = arrived + args.settle_timeout_s
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        now, energy_j = time.perf_counter(), worker.state.energy_j
        samples.append((now, energy_j))
        old = [s for s in samples if s[0] <= now - args.power_window_s]
        if not old:
            continue
        t0, e0 = old[-1]
        power_w = (energy_j - e0) / (now - t0)
        if abs(power_w - budget_w) <= 0.05 * budget_w:
            return now - arrived
    return None


@contextlib.asynccontextmanager
async def _cpu_workers(address: str, j_per_hash: float) -> AsyncIterator[list[Worker]]:
    """Two real CPU workers (one thread each, modelled energy) at ``SITE``, running until
    the block ends."""
    data = tempfile.TemporaryDirectory()
    workers, backends = [], []
    for i in range(2):
        backend = await asyncio.to_thread(kernels.get_backend, "cpu", threads=1)
        backends.append(backend)
        settings = WorkerSettings(
            coordinator=address,
            site=SITE,
            worker_name=f"real-{i}",
            data_dir=Path(data.name),
            joules_per_hash=j_per_hash,
            power_source="model",
        )
        workers.append(Worker(settings, backend, CollectorRegistry()))
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield workers
    finally:
        for w in workers:
            w.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        for b in backends:
            b.close()
        data.cleanup()


async def _until_connected(workers: list[Worker], timeout_s: float = 60.0) -> None:
    """Wait until every worker has its stream open and a job."""
    deadline = time.monotonic() + timeout_s
    while not all(w.state.job is not None and w.state.connected for w in workers):
        if time.monotonic() > deadline:
            raise SystemExit(f"real workers did not connect within {timeout_s:g} s")
        await asyncio.sleep(0.1)


async def _real_workers(address: str, args: Any) -> dict[str, Any]:
    """Reach and power settling with two real CPU workers."""
    probe = await asyncio.to_thread(kernels.get_backend, "cpu", threads=1)
    try:
        rate = await asyncio.to_thread(kernels.measure_hashrate, probe, seconds=0.5)
    finally:
        probe.close()
    full_w = 100.0  # one thread flat out, by this choice of energy per hash
    j_per_hash = full_w / max(rate.hashes_per_second, 1.0)
    channel = grpc.aio.insecure_channel(address)
    ops = operator_pb2_grpc.OperatorServiceStub(channel)
    reach: list[float] = []
    per_worker: list[float] = []
    rtt: list[float] = []
    settle: list[float | None] = []
    async with channel, _cpu_workers(address, j_per_hash) as workers:
        await _until_connected(workers)
        # The site's budget is shed over the two (most efficient first, ties by id): pick
        # site budgets so that both workers' shares change at every step.
        caps = [
            WorkerCapacity(w.state.worker_id or "", w.state.declared_max_w, 1.0) for w in workers
        ]
        first, second = sorted(caps, key=lambda c: c.worker_id)
        steps = (first.max_power_w + 0.25 * second.max_power_w, 0.5 * first.max_power_w)
        for r in range(args.rounds):
            budget_w = steps[r % 2] + 0.01 * r  # a figure not seen before
            expect = shed(budget_w, caps)
            sent = time.perf_counter()
            call = asyncio.create_task(_override(ops, budget_w))
            got: dict[int, float] = {}
            while len(got) < len(workers) and time.perf_counter() - sent < 30:
                for i, w in enumerate(workers):
                    if i not in got and abs(w.state.budget_w - expect[caps[i].worker_id]) < 1e-6:
                        got[i] = time.perf_counter()
                await asyncio.sleep(0.002)
            rtt.append(await call)
            if len(got) == len(workers):
                reach.append(max(got.values()) - sent)
                per_worker += [t - sent for t in got.values()]
                # settle: the worker whose share is a part of its power (reachable)
                k = next(i for i, c in enumerate(caps) if c.worker_id == second.worker_id)
                if r % 2:
                    k = 1 - k
                w = workers[k]
                settle.append(await _settle_s(w, w.state.budget_w, got[k], args))
            print(
                f"real workers: change {r + 1}: reach {reach[-1] if reach else None}"
                f" settle {settle[-1] if settle else None}",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(args.gap_s)
    settled = [s for s in settle if s is not None]
    return {
        "workers": 2,
        "rounds": args.rounds,
        "one_thread_hs": round(rate.hashes_per_second),
        "reach_all_p50_s": round(statistics.median(reach), 4) if reach else None,
        "reach_all_p99_s": round(_percentile(reach, 0.99), 4) if reach else None,
        "reach_per_worker_p50_s": round(statistics.median(per_worker), 4) if per_worker else None,
        "override_rtt_p50_s": round(statistics.median(rtt), 4),
        "settle_s": [round(s, 3) if s is not None else None for s in settle],
        "settle_p50_s": round(statistics.median(settled), 3) if settled else None,
        "settle_max_s": round(max(settled), 3) if settled else None,
        "settle_missed": len(settle) - len(settled),
        "power_window_s": args.power_window_s,
    }


class _Stream:
    """A lightweight worker: one stream, each budget figure it is sent, with its time."""

    def __init__(self) -> None:
        self.events: list[tuple[float, float]] = []
        self.open = asyncio.Event()

    async def follow(self, stub: Any, worker_id: str) -> None:
        stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id))
        with contextlib.suppress(grpc.aio.AioRpcError):  # cancelled at the end
            async for message in stream:
                self.open.set()
                if message.HasField("power_budget"):
                    self.events.append((time.perf_counter(), message.power_budget.budget_watts))

    def reached(self, figure_w: float, after: float) -> float | None:
        """When the stream first held ``figure_w`` after ``after``."""
        for t, w in self.events:
            if t >= after and abs(w - figure_w) < 1e-6:
                return t
        return None


async def _streams(address: str, n: int, args: Any) -> dict[str, Any]:
    """Reach of a site budget change across ``n`` lightweight streams at one site.

    The site's budget is shed over its streams (100 W each, declared by
    ``bench_fleet._register``): it alternates between all of them full
    (``n x 100 W``: each 100 W) and none (0 W), so every stream's figure changes.
    """
    opts = [("grpc.use_local_subchannel_pool", 1)]
    channels = [grpc.aio.insecure_channel(address, options=opts) for _ in range((n + 99) // 100)]
    control = grpc.aio.insecure_channel(address)
    ops = operator_pb2_grpc.OperatorServiceStub(control)
    stubs = [miner_pb2_grpc.WorkerServiceStub(c) for c in channels]
    ids = await _register(stubs[0], n, f"s{n}")
    clients = [_Stream() for _ in range(n)]
    tasks = [
        asyncio.create_task(c.follow(stubs[i % len(stubs)], ids[i])) for i, c in enumerate(clients)
    ]
    delays: list[float] = []
    worst: list[float | None] = []
    rtt: list[float] = []
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.open.wait() for c in clients)), 120)
        live = [c for c in clients if c.open.is_set()]
        await asyncio.sleep(2.0)
        for r in range(args.fleet_rounds):
            figure_w = 100.0 if r % 2 == 0 else 0.0
            sent = time.perf_counter()
            rtt.append(await _override(ops, figure_w * n))
            deadline = sent + 30
            while time.perf_counter() < deadline:
                if all(c.reached(figure_w, sent) is not None for c in live):
                    break
                await asyncio.sleep(0.02)
            got = [t - sent for c in live if (t := c.reached(figure_w, sent)) is not None]
            delays += got
            worst.append(round(max(got), 3) if len(got) == len(live) else None)
            print(
                f"{n} streams: change {r + 1}: {len(got)} of {len(live)}, last {worst[-1]}",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(args.gap_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for c in [*channels, control]:
            await c.close()
    return {
        "clients": n,
        "connected": len(live),
        "rounds": args.fleet_rounds,
        "reach_p50_s": round(statistics.median(delays), 3) if delays else None,
        "reach_p99_s": round(_percentile(delays, 0.99), 3) if delays else None,
        "reach_all_s": worst,
        "override_rtt_p50_s": round(statistics.median(rtt), 4),
    }


class _WallStream(_Stream):
    """A lightweight stream whose budget figures carry wall-clock times (to compare with
    the coordinator's log)."""

    async def follow(self, stub: Any, worker_id: str) -> None:
        stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id))
        with contextlib.suppress(grpc.aio.AioRpcError):  # cancelled at the end
            async for message in stream:
                self.open.set()
                if message.HasField("power_budget"):
                    self.events.append((time.time(), message.power_budget.budget_watts))


def _receipt_s(log: Path, needle: str, timeout_s: float = 30.0) -> float | None:
    """The wall time the coordinator logged a line holding ``needle`` (None: not seen)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if needle in line:
                with contextlib.suppress(ValueError):
                    return float(line.split(" ", 1)[0])
        time.sleep(0.02)
    return None


async def _openadr(n: int, args: Any) -> dict[str, Any]:
    """Reach of OpenADR events from openleadr's VTN across ``n`` lightweight streams.

    The site's budget is first overridden to every stream full (``n x 100 W``); then
    ``--fleet-rounds`` times a ``LOAD_DISPATCH`` setpoint of 0 kW for every site
    (no resource target) is added at the VTN and, the next round, cancelled: each
    stream's figure goes 100 W -> 0 -> 100 W. Measured from the VEN's receipt (the
    coordinator's log line for the event, wall clock) to each stream holding its new
    figure; the VTN -> VEN delay (its 0.5 s poll) is reported apart.
    """
    sys.path.insert(0, str(ROOT))
    from datetime import UTC, datetime

    from tests.service.grpc.openadr_vtn import VEN_ID, start_vtn

    vtn = await start_vtn(report_s=60.0)
    coord = await asyncio.to_thread(_Coordinator, OPENADR_CHILD, vtn.url)
    running = contextlib.AsyncExitStack()
    workers = await running.enter_async_context(_cpu_workers(coord.address, 1e-4))
    worker_delays: list[float] = []
    channels = [grpc.aio.insecure_channel(coord.address) for _ in range((n + 99) // 100)]
    control = grpc.aio.insecure_channel(coord.address)
    ops = operator_pb2_grpc.OperatorServiceStub(control)
    stubs = [miner_pb2_grpc.WorkerServiceStub(c) for c in channels]
    clients = [_WallStream() for _ in range(n)]
    tasks: list[asyncio.Task[None]] = []
    delays: list[float] = []
    worst: list[float | None] = []
    poll_s: list[float] = []
    try:
        ids = await _register(stubs[0], n, f"o{n}")
        tasks = [
            asyncio.create_task(c.follow(stubs[i % len(stubs)], ids[i]))
            for i, c in enumerate(clients)
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(c.open.wait() for c in clients)), 120)
        live = [c for c in clients if c.open.is_set()]
        await _until_connected(workers)
        workers_full_w = [w.state.declared_max_w for w in workers]
        await _override(ops, 100.0 * n + sum(workers_full_w))
        deadline = time.monotonic() + 60
        while not vtn.registrations and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        if not vtn.registrations:
            raise SystemExit(f"the VEN did not register: {coord.log.read_text()[-2000:]}")
        await asyncio.sleep(2.0)
        for r in range(args.fleet_rounds):
            event_id = f"bench-{r - r % 2}"
            sent = time.time()
            if r % 2 == 0:
                figure_w, needle = 0.0, f"event {event_id} (modification"
                vtn.add(
                    "LOAD_DISPATCH",
                    "setpoint",
                    [0.0],
                    start=datetime.now(UTC),
                    interval_s=3600.0,
                    event_id=event_id,
                )
            else:
                figure_w, needle = 100.0, f"event {event_id} cancelled"
                vtn.server.cancel_event(VEN_ID, event_id)
            held: dict[int, float] = {}
            limit = time.monotonic() + 30
            while len(held) < len(workers) and time.monotonic() < limit:
                for i, w in enumerate(workers):
                    want_w = workers_full_w[i] if figure_w else 0.0
                    if i not in held and abs(w.state.budget_w - want_w) < 1e-6:
                        held[i] = time.time()
                await asyncio.sleep(0.002)
            got_at = await asyncio.to_thread(_receipt_s, coord.log, needle)
            if got_at is None:
                raise SystemExit(f"the VEN never logged {needle!r}")
            poll_s.append(got_at - sent)
            while time.monotonic() < limit:
                if all(c.reached(figure_w, sent) is not None for c in live):
                    break
                await asyncio.sleep(0.02)
            got = [t - got_at for c in live if (t := c.reached(figure_w, sent)) is not None]
            got += [t - got_at for t in held.values()]
            worker_delays += [t - got_at for t in held.values()]
            live_all = len(live) + len(workers)
            delays += got
            worst.append(round(max(got), 3) if len(got) == live_all else None)
            print(
                f"openadr, {n} streams + 2 workers: change {r + 1}: {len(got)} of {live_all}, "
                f"last {worst[-1]} s after the VEN's receipt ({poll_s[-1]:.2f} s VTN -> VEN)",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(args.gap_s)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await running.aclose()
        for c in [*channels, control]:
            await c.close()
        await asyncio.to_thread(coord.close)
        await vtn.server.stop()
    return {
        "clients": n,
        "real_workers": len(workers),
        "connected": len(live),
        "workers_reach_p99_s": round(_percentile(worker_delays, 0.99), 3)
        if worker_delays
        else None,
        "rounds": args.fleet_rounds,
        "reach_p50_s": round(statistics.median(delays), 3) if delays else None,
        "reach_p99_s": round(_percentile(delays, 0.99), 3) if delays else None,
        "reach_all_s": worst,
        "vtn_to_ven_p50_s": round(statistics.median(poll_s), 3),
        # the baseline: the VEN's own poll delay in the same run
        "reach_p99_over_vtn_to_ven": round(_percentile(delays, 0.99) / statistics.median(poll_s), 3)
        if delays
        else None,
    }


async def _status_during_replans(address: str, args: Any) -> dict[str, Any]:
    """GetStatus latency while forecast pushes make the coordinator re-plan."""
    from bench_rolling import forecast_at

    import optimiser
    from optimiser.forecast import Calendar
    from service.rpc.forecast_convert import forecast_to_message

    data = await asyncio.to_thread(optimiser.read_pypsa_folder, SCIGRID)
    cal = Calendar.of(data)
    rng = np.random.default_rng(14)
    channel = grpc.aio.insecure_channel(address)
    ops = operator_pb2_grpc.OperatorServiceStub(channel)
    planner = planner_pb2_grpc.PlannerServiceStub(channel)
    calls: list[tuple[float, float, str]] = []  # (sent, latency, plan id)
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            sent = time.perf_counter()
            reply = await ops.GetStatus(operator_pb2.GetStatusRequest(), timeout=30)
            calls.append((sent, time.perf_counter() - sent, reply.current_plan_id))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.05)

    async def plan_id() -> str:
        return (await ops.GetStatus(operator_pb2.GetStatusRequest(), timeout=30)).current_plan_id

    busy: list[tuple[float, float]] = []
    try:
        deadline = time.monotonic() + 300
        while not await plan_id():  # the first (cold) plan of the window
            if time.monotonic() > deadline:
                raise SystemExit("no first plan within 300 s")
            await asyncio.sleep(0.5)
        poller = asyncio.create_task(poll())
        await asyncio.sleep(args.idle_s)  # the idle baseline
        hour = cal.period_of(time.time())
        for i in range(args.pushes):
            before = await plan_id()
            fc = forecast_at(data, cal, hour, 24, rng)
            begun = time.perf_counter()
            await planner.UpdateForecast(forecast_to_message(fc), timeout=60)
            while await plan_id() == before and time.perf_counter() - begun < 120:
                await asyncio.sleep(0.05)
            busy.append((begun, time.perf_counter()))
            print(
                f"status: push {i + 1}: re-plan adopted after {busy[-1][1] - begun:.2f} s",
                file=sys.stderr,
                flush=True,
            )
            await asyncio.sleep(1.0)
        stop.set()
        await poller
    finally:
        await channel.close()
    during = [lat for s, lat, _ in calls if any(a <= s <= b for a, b in busy)]
    idle = [lat for s, lat, _ in calls if not any(a - 1 <= s <= b + 1 for a, b in busy)]
    return {
        "pushes": args.pushes,
        "replan_s": [round(b - a, 2) for a, b in busy],
        "calls_during": len(during),
        "calls_idle": len(idle),
        "during_p50_ms": _ms(during, 0.5),
        "during_p99_ms": _ms(during, 0.99),
        "during_max_ms": round(max(during) * 1e3, 1) if during else None,
        "idle_p50_ms": _ms(idle, 0.5),
        "idle_p99_ms": _ms(idle, 0.99),
        "p99_during_over_idle": round(_percentile(during, 0.99) / _percentile(idle, 0.99), 2)
        if during and idle
        else None,
    }


def main() -> int:
    """Run the parts asked for and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="reach,fleet,openadr,status")
    parser.add_argument("--rounds", type=int, default=10, help="budget changes (real workers)")
    parser.add_argument("--fleet-clients", type=int, default=1000)
    parser.add_argument("--fleet-rounds", type=int, default=5)
    parser.add_argument("--power-window-s", type=float, default=0.5)
    parser.add_argument("--settle-timeout-s", type=float, default=10.0)
    parser.add_argument("--gap-s", type=float, default=1.0)
    parser.add_argument("--pushes", type=int, default=4)
    parser.add_argument("--idle-s", type=float, default=10.0)
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    out: dict[str, Any] = {"bench": "latency"}
    if parts & {"reach", "fleet"}:
        coord = _Coordinator(CHILD)
        try:
            if "reach" in parts:
                out["real_workers"] = asyncio.run(_real_workers(coord.address, args))
            if "fleet" in parts:
                out["fleet"] = asyncio.run(_streams(coord.address, args.fleet_clients, args))
        finally:
            coord.close()
    if "openadr" in parts:
        out["openadr"] = asyncio.run(_openadr(args.fleet_clients, args))
    if "status" in parts:
        coord = _Coordinator(ROLLING_CHILD, str(SCIGRID))
        try:
            out["status"] = asyncio.run(_status_during_replans(coord.address, args))
        finally:
            coord.close()
    print(json.dumps(out))
    summary = []
    if "real_workers" in out:
        r = out["real_workers"]
        summary.append(
            f"2 real workers: reach p50 {r['reach_all_p50_s']} s p99 {r['reach_all_p99_s']} s"
            f" (override RTT {r['override_rtt_p50_s']} s); power within 5 % after p50"
            f" {r['settle_p50_s']} s max {r['settle_max_s']} s ({r['power_window_s']} s window)"
        )
    if "fleet" in out:
        f = out["fleet"]
        summary.append(
            f"{f['clients']} streams: reach p50 {f['reach_p50_s']} s p99 {f['reach_p99_s']} s"
            f" (override RTT {f['override_rtt_p50_s']} s)"
        )
    if "openadr" in out:
        o = out["openadr"]
        summary.append(
            f"OpenADR, {o['clients']} streams + 2 workers: VEN receipt -> reach p50"
            f" {o['reach_p50_s']} s"
            f" p99 {o['reach_p99_s']} s (VTN -> VEN {o['vtn_to_ven_p50_s']} s)"
        )
    if "status" in out:
        s = out["status"]
        summary.append(
            f"GetStatus during re-plans p50 {s['during_p50_ms']} ms p99 {s['during_p99_ms']} ms"
            f" vs idle p99 {s['idle_p99_ms']} ms (x{s['p99_during_over_idle']})"
        )
    print("; ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
