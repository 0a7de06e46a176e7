"""``spillway serve --demo``: the whole job on the embedded demo scenario, on one machine.

The coordinator plans the demo day (``optimiser.demo``, 24 hourly periods at real
times) in curtailment-only mode on a rolling 24 h window, off the event loop, and
plays it on an accelerated clock: one hourly period every ``period_s`` seconds (5 s
by default), the day repeated (by the forecasts) until stopped. Each hour a
forecast is pushed through ``UpdateForecast`` and the plan re-made warm
(:mod:`service.demo.rolling`). One worker per demo site runs in this process (its own
CPU backend on one thread, its own metrics endpoint), connects over loopback
gRPC and follows its budget by duty cycling.

Power mapping: a CPU cannot draw megawatts, so each site's plan budget is
scaled to ``budget_w = plan_mw / capacity_mw * cpu_w``, where ``capacity_mw``
is the site's ``p_nom`` in ``mining_sites.csv`` and ``cpu_w`` the power figure
of one CPU thread hashing (``--demo-cpu-watts``, 20 W by default). The
workers' energy per hash is set so that ``cpu_w`` is 80% of what one thread
hashes on its fair share of the cores (all of one core when there are as many
cores as sites; half of one on a 2-core machine), so power can meet the
budget. Curtailment absorbed is reported in plan terms (MWh of the grid model).

SIGINT or SIGTERM stops the workers (their shares flushed), then the
coordinator (graceful, one second's grace); nothing outlives the process.

State (database, ledger, keys, the workers' queues) goes to ``--data-dir`` when
it is given, and stays there, so the demo's ledger can be verified afterwards
(``spillway ledger verify DIR``); otherwise to a temporary folder removed at the
end. The start says which.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import dataclasses
import logging
import os
import signal
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

import kernels
from service.coordinator.rolling import FORECAST_DB_FILE, open_rolling
from service.demo.rolling import DemoClock, DemoRoll, push_forecasts
from service.demo.settings import DemoSettings
from service.demo.status import SiteRow, StatusFrame, render
from service.domain import PlanModeKind
from service.metrics import RollingMetrics, parse_host_port, start_metrics_server
from service.rpc.server import build_server
from service.worker.core import Worker
from service.worker.settings import WorkerSettings

if TYPE_CHECKING:
    from kernels import HashBackend
    from service.coordinator.settings import CoordinatorSettings
    from service.metrics import MetricsServer
    from service.rpc.server import CoordinatorServer

__all__ = ["DemoSettings", "run_demo", "serve_demo"]

logger = logging.getLogger(__name__)

# Probe of one CPU thread's hashrate, to set the workers' energy per hash.
PROBE_S = 0.3
# Workers stop within this; the coordinator then gets its grace.
WORKER_STOP_S = 3.0
DEMO_GRACE_S = 1.0
FAIR_SHARE = 0.8


@dataclass
class _DemoWorker:
    site: str
    worker: Worker
    backend: HashBackend
    registry: CollectorRegistry
    metrics: MetricsServer | None
    task: asyncio.Task[None] | None = None
    last_energy_j: float = 0.0
    last_hashes: int = 0


@dataclass
class _Clock:
    """What the screen shows: the rolling plan (once its loop starts), MWh absorbed so far."""

    absorbed_mwh: float = 0.0
    roll: DemoRoll | None = None


async def _start_workers(
    settings: CoordinatorSettings, demo: DemoSettings, grpc_port: int, sites: tuple[str, ...]
) -> list[_DemoWorker]:
    """One in-process worker per site (one CPU thread each), each with its metrics endpoint."""
    probe = await asyncio.to_thread(kernels.get_backend, "cpu", threads=1)
    try:
        rate = await asyncio.to_thread(kernels.measure_hashrate, probe, seconds=PROBE_S)
    finally:
        probe.close()
    # A site at full capacity may use FAIR_SHARE of its share of the cores (the sites' threads
    # and the coordinator compete for them), so on a small machine power can still meet budget.
    cores_per_site = min(1.0, (os.cpu_count() or 1) / max(1, len(sites)))
    full_hs = max(rate.hashes_per_second * cores_per_site * FAIR_SHARE, 1.0)
    joules_per_hash = demo.cpu_w / full_hs
    host = settings.grpc_listen.rpartition(":")[0] or "127.0.0.1"
    # Workers' metrics: the next free ports after the coordinator's (all ephemeral for port 0).
    metrics_host: str | None = None
    next_port = 0
    if settings.metrics_listen is not None:
        metrics_host, base_port = parse_host_port("metrics_listen", settings.metrics_listen)
        next_port = base_port + 1 if base_port else 0
    workers = []
    for site in sites:
        registry = CollectorRegistry()
        backend = await asyncio.to_thread(kernels.get_backend, "cpu", threads=1)
        metrics = None
        if metrics_host is not None:
            listen = f"{metrics_host}:{next_port}"
            metrics = start_metrics_server(registry, listen, search=100 if next_port else 0)
            next_port = metrics.port + 1 if next_port else 0
        worker = Worker(
            WorkerSettings(
                coordinator=f"{host}:{grpc_port}",
                site=site,
                worker_name="demo",
                data_dir=settings.data_dir,
                joules_per_hash=joules_per_hash,
                telemetry_s=min(5.0, max(0.5, demo.period_s / 2)),
            ),
            backend,
            registry,
        )
        workers.append(_DemoWorker(site, worker, backend, registry, metrics))
    for w in workers:
        w.task = asyncio.create_task(w.worker.run(), name=f"worker-{w.site}")
    return workers


async def _stop_workers(workers: list[_DemoWorker]) -> None:
    for w in workers:
        w.worker.stop.set()
    tasks = [w.task for w in workers if w.task is not None]
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=WORKER_STOP_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    # Closed side by side: each metrics server's shutdown waits out its poll (0.5 s).
    closing = [asyncio.to_thread(w.backend.close) for w in workers]
    closing += [asyncio.to_thread(w.metrics.close) for w in workers if w.metrics is not None]
    await asyncio.gather(*closing)


# A site whose plan stays below this all day is quiet (the solver leaves dust: 1e-7 MW).
QUIET_MW = 1e-3


async def _run_clock(
    running: CoordinatorServer,
    demo: DemoSettings,
    clock: _Clock,
    failed: asyncio.Event,
    grpc_port: int,
) -> None:
    """Roll the demo day's plan on the demo clock, fed by forecasts pushed each hour."""
    import optimiser

    path = optimiser.demo_scenario_path()
    with (path / "mining_sites.csv").open(newline="") as handle:
        capacity_mw = {row["name"]: float(row["p_nom"]) for row in csv.DictReader(handle)}
    coordinator = running.coordinator
    try:
        rolling = await open_rolling(
            path,
            horizon_hours=24.0,
            mode=PlanModeKind.CURTAILMENT_ONLY,
            plans=coordinator.plans,
            forecast_db=coordinator.settings.data_dir / FORECAST_DB_FILE,
            metrics=RollingMetrics(coordinator.metrics.registry),
        )
    except Exception:
        rolling = None
        logger.exception("demo: no rolling plan")
    if rolling is None:
        print("spillway: error: the demo day could not be planned", file=sys.stderr)
        failed.set()
        return
    cal = rolling.calendar
    roll = DemoRoll(
        DemoClock(cal.start_s, cal.period_s, time.time(), demo.period_s), demo, capacity_mw
    )
    rolling.clock, rolling.wall_s, rolling.adapt = (
        roll.clock.now_s,
        roll.clock.wall_span_s,
        roll.adapt,
    )
    clock.roll = roll
    coordinator.rolling = rolling  # UpdateForecast reaches it from now on
    address = f"127.0.0.1:{grpc_port}"
    pusher = asyncio.create_task(push_forecasts(address, rolling.data, cal, roll))
    try:
        await rolling.run()
    finally:
        pusher.cancel()
        await asyncio.gather(pusher, return_exceptions=True)


def _frame(
    clock: _Clock, workers: list[_DemoWorker], demo: DemoSettings, dt_s: float
) -> StatusFrame:
    roll = clock.roll
    planned = roll is not None and roll.first_period is not None
    now_p = roll.clock.period_now() if roll is not None else 0.0
    if roll is not None and planned:
        clock.absorbed_mwh += roll.absorbed_mwh(dt_s)
    rows = []
    for w in workers:
        state = w.worker.state
        energy_j, hashes = state.energy_j, state.hashes
        power_w = (energy_j - w.last_energy_j) / dt_s if dt_s > 0 else 0.0
        hashrate_hs = (hashes - w.last_hashes) / dt_s if dt_s > 0 else 0.0
        w.last_energy_j, w.last_hashes = energy_j, hashes
        plan_mw = roll.mw_now(roll.budget_mw, w.site) if roll is not None else 0.0
        shares = w.registry.get_sample_value("spillway_shares_total", {"result": "accepted"})
        rows.append(
            SiteRow(w.site, plan_mw, state.budget_now(), power_w, hashrate_hs, int(shares or 0))
        )
    if roll is None or not planned:
        return StatusFrame(0, 24, 1.0, demo.period_s, 1, 0.0, tuple(rows))
    first = roll.first_period or 0
    return StatusFrame(
        period=int(now_p) % 24 + 1,
        period_count=24,
        period_hours=1.0,
        period_s=demo.period_s,
        day=int(now_p) // 24 + 1,
        absorbed_mwh=clock.absorbed_mwh,
        rows=tuple(rows),
        quiet_sites=tuple(
            w.site for w in workers if max(roll.budget_mw.get(w.site, [0.0])) < QUIET_MW
        ),
        window_start_h=float(first),
        window_h=float(len(next(iter(roll.budget_mw.values()), []))),
        replans=roll.replans,
        replan_s=roll.replan_s,
        replan_age_s=time.time() - roll.replanned_wall_s,
        forecasts=roll.forecasts,
    )


async def _show_status(clock: _Clock, workers: list[_DemoWorker], demo: DemoSettings) -> None:
    """Redraw the status every ``status_s`` on a TTY; else print it once per period."""
    tty = sys.stdout.isatty()
    drawn = 0
    shown: tuple[int, int] | None = None
    waited: tuple[int, int] | None = None
    last_s = time.monotonic()
    while True:
        await asyncio.sleep(min(demo.status_s, demo.period_s / 2))
        now_s = time.monotonic()
        frame = _frame(clock, workers, demo, now_s - last_s)
        last_s = now_s
        key = (frame.day, frame.period)
        if tty:
            drawn = render(frame, sys.stdout, tty=True, drawn=drawn)
        elif key != shown:
            # once per period, after the period's re-plan moved the window (or one wait)
            hour = (frame.day - 1) * 24 + frame.period - 1
            if frame.window_start_h in (None, hour) or key == waited:
                render(frame, sys.stdout, tty=False, drawn=0)
                shown = key
            waited = key


async def serve_demo(
    settings: CoordinatorSettings,
    demo: DemoSettings,
    *,
    registry: CollectorRegistry,
    keep_state: bool = False,
) -> int:
    """Run the coordinator, the demo clock and one worker per site until SIGINT/SIGTERM.

    Returns
    -------
    int
        The exit status: 0 when stopped by a signal, 1 when the day could not be planned.
    """
    from optimiser.demo import DEMO_SITES

    loop = asyncio.get_running_loop()
    # Four workers' hashing batches run on threads; the default pool (cores + 4) would make
    # the share queue, the store and the stop path wait behind them.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=32, thread_name_prefix="demo"))
    running, port = await build_server(settings, registry=registry)
    stop = asyncio.Event()
    failed = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    workers: list[_DemoWorker] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        host = settings.grpc_listen.rpartition(":")[0]
        print(f"spillway demo: coordinator gRPC on {host}:{port}", flush=True)
        fate = (
            f"kept when the demo stops (spillway ledger verify {settings.data_dir})"
            if keep_state
            else "removed when the demo stops (--data-dir DIR keeps it)"
        )
        print(
            f"spillway demo: state (database, ledger, keys) in {settings.data_dir}, {fate}",
            flush=True,
        )
        if running.metrics_server is not None:
            ms = running.metrics_server
            print(f"spillway metrics on http://{ms.host}:{ms.port}/metrics", flush=True)
        workers = await _start_workers(settings, demo, port, DEMO_SITES)
        for w in workers:
            if w.metrics is not None:
                url = f"http://{w.metrics.host}:{w.metrics.port}/metrics"
                print(f"  worker {w.site:<10} metrics on {url}", flush=True)
        print(
            f"one hourly period every {demo.period_s:g} s; budget W = plan MW / site capacity"
            f" x {demo.cpu_w:g} W; Ctrl-C stops",
            flush=True,
        )
        clock = _Clock()
        tasks = [
            asyncio.create_task(_run_clock(running, demo, clock, failed, port), name="demo-clock"),
            asyncio.create_task(_show_status(clock, workers, demo), name="demo-status"),
        ]
        waits = [asyncio.create_task(stop.wait()), asyncio.create_task(failed.wait())]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waits:
            waiter.cancel()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        begun_s = time.monotonic()
        await _stop_workers(workers)
        logger.info("demo workers stopped in %.2f s", time.monotonic() - begun_s)
        await running.stop(DEMO_GRACE_S)
        logger.info("demo stopped in %.2f s", time.monotonic() - begun_s)
    print("spillway demo: stopped", flush=True)
    return 1 if failed.is_set() else 0


def run_demo(settings: CoordinatorSettings, demo: DemoSettings, *, keep_state: bool = False) -> int:
    """``spillway serve --demo``: the demo in ``settings.data_dir`` (``keep_state``), else
    in a fresh temporary folder removed at the end.

    The caller has refused a scenario, a mode and a ledger period (the demo sets its own).
    """
    # Budgets are re-read often and held briefly, so a period boundary reaches the
    # workers within a fraction of a (short) period.
    # (not below 0.1 s: each re-read is two queries on the store's one thread).
    refresh_s = min(1.0, max(0.1, demo.period_s / 10))
    with contextlib.ExitStack() as stack:
        data_dir = settings.data_dir
        if not keep_state:
            data_dir = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="spillway-demo-"))
            )
        demo_settings = dataclasses.replace(
            settings,
            data_dir=data_dir,
            scenario=None,
            plan_mode="curtailment-only",
            period_s=demo.period_s,
            budget_refresh_s=refresh_s,
            budget_hold_s=3 * refresh_s,
        )
        try:
            return asyncio.run(
                serve_demo(demo_settings, demo, registry=CollectorRegistry(), keep_state=keep_state)
            )
        except KeyboardInterrupt:  # Ctrl-C before the demo's own signal handlers are set
            return 0
