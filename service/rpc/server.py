"""Assemble and run the coordinator: gRPC server, health, reflection, metrics, storage.

``build_server(settings, *, registry)`` returns the running server and its
port; ``serve(settings)`` runs it until SIGTERM or SIGINT, then shuts down
gracefully: health NOT_SERVING, workers told to stop, in-flight calls get
``grace_s``, the database is checkpointed and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

import kernels
from service.coordinator.core import Coordinator
from service.coordinator.grid import run_ven
from service.coordinator.pool_bridge import PoolBridge
from service.coordinator.rolling import FORECAST_DB_FILE, open_rolling
from service.coordinator.storage import AsyncStore
from service.domain import PlanModeKind
from service.errors import ConfigError
from service.metrics import (
    CoordinatorMetrics,
    RollingMetrics,
    grpc_type,
    start_metrics_server,
)
from service.rpc.codec import PROTO_CODEC
from service.rpc.hashing_servicer import HashingServicer
from service.rpc.interceptors import (
    AuthInterceptor,
    ErrorInterceptor,
    MetricsInterceptor,
    RateLimitInterceptor,
)
from service.rpc.ledger_servicer import LedgerServicer
from service.rpc.operator_servicer import OperatorServicer
from service.rpc.planner_servicer import PlannerServicer
from service.rpc.worker_servicer import WorkerServicer
from service.signals.price_store import PRICES_DB_FILE, PriceStore
from service.signals.store import EventStore
from service.signals.ven import OpenAdrVen
from spillway.v1 import (
    ledger_pb2,
    ledger_pb2_grpc,
    miner_pb2,
    miner_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from prometheus_client import CollectorRegistry

    from kernels import HashBackend
    from service.coordinator.settings import CoordinatorSettings
    from service.domain import TlsFiles
    from service.metrics import MetricsServer

__all__ = ["DB_FILE", "CoordinatorServer", "build_server", "open_calls_warning", "serve"]

logger = logging.getLogger(__name__)

DB_FILE = "coordinator.sqlite3"
EVENTS_DB_FILE = "events.sqlite3"
#: Calls gRPC queues for the event loop before it starts refusing some (twice: all).
MAX_PENDING_CALLS = 20_000
SERVICES = (
    planner_pb2.DESCRIPTOR.services_by_name["PlannerService"],
    miner_pb2.DESCRIPTOR.services_by_name["WorkerService"],
    miner_pb2.DESCRIPTOR.services_by_name["HashingService"],
    operator_pb2.DESCRIPTOR.services_by_name["OperatorService"],
    ledger_pb2.DESCRIPTOR.services_by_name["LedgerService"],
)


@dataclass
class CoordinatorServer:
    """A running coordinator; ``grpc`` is the ``grpc.aio.Server``."""

    grpc: Any
    coordinator: Coordinator
    health: Any
    store: AsyncStore
    backend: HashBackend
    grace_s: float
    metrics_server: MetricsServer | None = None
    startup_plan: asyncio.Task[Any] | None = None
    health_grpc: Any = None  # the plaintext health-only server, if any
    signals_task: asyncio.Task[Any] | None = None  # the OpenADR VEN, if any

    async def stop(self, grace_s: float | None = None) -> None:
        """Graceful shutdown: NOT_SERVING, workers stopped, calls drained, state flushed."""
        grace_s = self.grace_s if grace_s is None else grace_s
        if self.startup_plan is not None and not self.startup_plan.done():
            # The solve thread cannot be interrupted; its result is simply not adopted.
            self.startup_plan.cancel()
            # Waited for (not for its solve thread): a rolling loop closes its forecast
            # store on the way out.
            await asyncio.wait([self.startup_plan])
        if self.signals_task is not None and not self.signals_task.done():
            self.signals_task.cancel()  # the VEN stops and closes its event store
            await asyncio.wait([self.signals_task])
        await self.health.enter_graceful_shutdown()
        await self.coordinator.stop("coordinator shutting down")
        await self.grpc.stop(grace_s)
        if self.coordinator.pool is not None:
            await self.coordinator.pool.stop()
        if self.health_grpc is not None:
            await self.health_grpc.stop(0)
        await asyncio.to_thread(self.store.close)
        if self.coordinator.grid.price_store is not None:
            await asyncio.to_thread(self.coordinator.grid.price_store.close)
        await self.coordinator.ledger.close()
        await asyncio.to_thread(self.backend.close)
        if self.metrics_server is not None:
            self.metrics_server.close()
        logger.info("coordinator stopped")


async def _plan_at_start(
    coordinator: Coordinator, settings: CoordinatorSettings, path: Path, mode: str
) -> None:
    """Serve ``--scenario``: rolling when its snapshots are real times (until the server
    stops), else planned once at start; a failure is logged, never fatal."""
    try:
        rolling = await open_rolling(
            path,
            horizon_hours=settings.horizon_hours,
            mode=PlanModeKind(mode),
            plans=coordinator.plans,
            forecast_db=settings.data_dir / FORECAST_DB_FILE,
            metrics=RollingMetrics(coordinator.metrics.registry),
        )
        if rolling is None:
            plan = await coordinator.plans.plan_scenario_file(path, PlanModeKind(mode))
    except Exception:
        logger.exception("scenario %s: no plan made at start", path)
        return
    if rolling is None:
        logger.info("scenario %s planned at start: plan %s", path, plan.plan_id)
        return
    coordinator.rolling = rolling
    await rolling.run()


async def _run_ven(
    coordinator: Coordinator, settings: CoordinatorSettings, registry: CollectorRegistry
) -> None:
    """The OpenADR VEN (``--openadr-vtn-url``), once a site is known, until stopped."""
    ven_settings = settings.openadr
    assert ven_settings is not None

    def power_w(site: str) -> float:
        return registry.get_sample_value("spillway_power_watts", {"site": site}) or 0.0

    async def known_sites() -> list[str]:
        sites = set(await coordinator.store.run(coordinator.store.store.known_sites))
        if coordinator.plan is not None:
            sites.update(s.site for s in coordinator.plan.sites)
        return sorted(sites)

    def make_ven(sites: Sequence[str]) -> OpenAdrVen:
        store = EventStore(settings.data_dir / EVENTS_DB_FILE)
        return OpenAdrVen(
            ven_settings,
            store,
            sites,
            power_w,
            on_change=coordinator.notify,
            known_sites=known_sites,
        )

    try:
        await run_ven(coordinator.grid, make_ven, known_sites)
    except Exception:
        logger.exception("OpenADR VEN stopped")


def open_calls_warning(listen: str, auth_token: str | None) -> str | None:
    """The start-up warning when anyone who reaches ``listen`` may change state, else None.

    Without a token every state-changing call (budgets, schedules, plans) is open;
    on loopback only this machine can reach it, anywhere else the network can.
    """
    if auth_token is not None:
        return None
    host = listen.rpartition(":")[0].strip("[]")
    if host == "localhost":
        return None
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return None
    return (
        f"grpc_listen {listen} is not loopback and no --auth-token-file is set: anyone who"
        " reaches the port can change budgets, schedules and plans"
    )


def _solver_available() -> bool:
    """Whether HiGHS (highspy) loads."""
    try:
        import highspy  # noqa: F401
    except ImportError:
        return False
    return True


def _credentials(tls: TlsFiles) -> Any:
    """Server credentials; a client CA turns on mTLS (client certificates required)."""
    if tls.cert is None or tls.key is None:
        raise ConfigError("tls_cert, tls_key: both are needed for TLS")
    try:
        cert, key = tls.cert.read_bytes(), tls.key.read_bytes()
        client_ca = tls.ca.read_bytes() if tls.ca is not None else None
    except OSError as exc:
        raise ConfigError(f"tls: cannot read {exc.filename}: {exc.strerror}") from exc
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


async def build_server(
    settings: CoordinatorSettings, *, registry: CollectorRegistry
) -> tuple[CoordinatorServer, int]:
    """Open the store, start the gRPC server (and the metrics endpoint when configured).

    Returns
    -------
    tuple
        The running server and the gRPC port it bound (useful with port 0).

    Raises
    ------
    ConfigError
        When an address is in use, TLS files are unreadable or the data folder unusable.
    """
    if settings.scenario is not None and not settings.scenario.exists():
        raise ConfigError(f"scenario: no such file or folder {settings.scenario}")
    # Whatever is opened is closed again when a later step fails (an unreadable
    # --contract-prices, a port in use...): a failed start holds no file, thread or port.
    async with contextlib.AsyncExitStack() as opened:
        running, port = await _start(settings, registry, opened)
        opened.pop_all()  # started: CoordinatorServer.stop closes it all from now on
    return running, port


def _add_servicers(
    server: grpc.aio.Server,
    settings: CoordinatorSettings,
    coordinator: Coordinator,
    backend: HashBackend,
    metrics: CoordinatorMetrics,
    health_servicer: health.aio.HealthServicer,
) -> None:
    """One servicer per service, health checking and reflection."""
    miner_pb2_grpc.add_WorkerServiceServicer_to_server(WorkerServicer(coordinator), server)
    miner_pb2_grpc.add_HashingServiceServicer_to_server(
        HashingServicer(backend, max_searches=settings.max_searches, metrics=metrics), server
    )
    operator_pb2_grpc.add_OperatorServiceServicer_to_server(OperatorServicer(coordinator), server)
    planner_pb2_grpc.add_PlannerServiceServicer_to_server(PlannerServicer(coordinator), server)
    ledger_pb2_grpc.add_LedgerServiceServicer_to_server(LedgerServicer(coordinator), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = [s.full_name for s in SERVICES]
    reflection.enable_server_reflection(
        [*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server
    )


def _bind(server: grpc.aio.Server, field: str, listen: str, credentials: Any) -> int:
    """Bind ``listen`` (TLS with ``credentials``); the port bound.

    Raises
    ------
    ConfigError
        Naming ``field`` when the address is in use or not local (port 0 asks for any).
    """
    try:
        if credentials is not None:
            port = server.add_secure_port(listen, credentials)
        else:
            port = server.add_insecure_port(listen)
    except RuntimeError as exc:
        port = 0
        logger.debug("bind failed: %s", exc)
    if not port and not listen.endswith(":0"):
        raise ConfigError(f"{field}: cannot listen on {listen}: the address is in use or not local")
    return int(port)


async def _start(
    settings: CoordinatorSettings, registry: CollectorRegistry, opened: contextlib.AsyncExitStack
) -> tuple[CoordinatorServer, int]:
    """``build_server``'s steps; each thing opened registers its closing on ``opened``."""
    metrics = CoordinatorMetrics(registry)
    metrics.grpc.initialise(SERVICES)
    store = await asyncio.to_thread(AsyncStore, settings.data_dir / DB_FILE)
    opened.push_async_callback(asyncio.to_thread, store.close)
    coordinator = Coordinator(settings, store, metrics, PROTO_CODEC)
    opened.push_async_callback(coordinator.ledger.close)
    await coordinator.start()
    prices = await asyncio.to_thread(PriceStore, settings.data_dir / PRICES_DB_FILE)
    opened.push_async_callback(asyncio.to_thread, prices.close)
    coordinator.grid.attach_prices(prices)
    if settings.pool is not None:
        coordinator.pool = PoolBridge(settings.pool, store, registry, coordinator.notify)
    kinds = {
        f"/{s.full_name}/{m.name}": grpc_type(m.client_streaming, m.server_streaming)
        for s in SERVICES
        for m in s.methods
    }
    server = grpc.aio.server(
        interceptors=[
            MetricsInterceptor(metrics.grpc, kinds),
            ErrorInterceptor(),
            RateLimitInterceptor(settings.rate_limit_per_s, settings.rate_limit_burst),
            AuthInterceptor(settings.auth_token),
        ],
        options=[
            ("grpc.so_reuseport", 0),  # a second coordinator on the port must fail, not share it
            ("grpc.max_receive_message_length", settings.max_message_bytes),
            ("grpc.max_send_message_length", settings.max_message_bytes),
            # Calls that arrived but that the event loop has not taken up yet: gRPC
            # refuses them at random past 1,000 and all past 3,000 (CANCELLED), so a
            # fleet of thousands reconnecting at once (a coordinator restart) would
            # mostly be refused and retry in a storm. Queued instead, each for at most
            # gRPC's 30 s unrequested-call limit (issue 12's fleet benchmark).
            ("grpc.server.max_pending_requests", MAX_PENDING_CALLS),
            ("grpc.server.max_pending_requests_hard_limit", 2 * MAX_PENDING_CALLS),
        ],
    )
    backend = await asyncio.to_thread(
        kernels.get_backend, settings.hash_backend, threads=settings.hash_threads
    )
    opened.push_async_callback(asyncio.to_thread, backend.close)
    health_servicer = health.aio.HealthServicer()
    _add_servicers(server, settings, coordinator, backend, metrics, health_servicer)
    names = [s.full_name for s in SERVICES]
    credentials = _credentials(settings.tls) if settings.tls is not None else None
    port = _bind(server, "grpc_listen", settings.grpc_listen, credentials)
    warning = open_calls_warning(settings.grpc_listen, settings.auth_token)
    if warning is not None:
        logger.warning("%s", warning)
    health_server = None
    if settings.health_listen is not None:
        # Shares the health servicer, so graceful shutdown shows NOT_SERVING here too.
        health_server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
        health_port = _bind(health_server, "health_listen", settings.health_listen, None)
        await health_server.start()
        opened.push_async_callback(health_server.stop, 0)
        logger.info("plaintext health on port %d", health_port)
    metrics_server = None
    if settings.metrics_listen is not None:
        metrics_server = start_metrics_server(registry, settings.metrics_listen)
        opened.callback(metrics_server.close)
    if coordinator.pool is not None:
        await coordinator.pool.start()
        opened.push_async_callback(coordinator.pool.stop)
    await server.start()
    opened.push_async_callback(server.stop, 0)
    # Ready: the kernels loaded (the backend exists) and the store is open; the planner
    # also needs its solver (highspy), else it alone stays NOT_SERVING.
    solver_ok = await asyncio.to_thread(_solver_available)
    planner_name = SERVICES[0].full_name
    for name in ["", *names]:
        serving = solver_ok or name != planner_name
        await health_servicer.set(
            name,
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING,
        )
    logger.info("coordinator listening on port %d", port)
    running = CoordinatorServer(
        server, coordinator, health_servicer, store, backend, settings.grace_s, metrics_server
    )
    running.health_grpc = health_server
    if settings.openadr is not None:
        running.signals_task = asyncio.create_task(_run_ven(coordinator, settings, registry))
    if settings.scenario is not None and solver_ok:
        # Planned in the background: the coordinator serves (overrides, schedules) meanwhile.
        running.startup_plan = asyncio.create_task(
            _plan_at_start(coordinator, settings, settings.scenario, settings.plan_mode)
        )
    return running, port


async def serve(settings: CoordinatorSettings, *, registry: CollectorRegistry) -> None:
    """Run the coordinator until SIGTERM or SIGINT, then shut down gracefully."""
    running, port = await build_server(settings, registry=registry)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    host = settings.grpc_listen.rpartition(":")[0]
    print(f"spillway coordinator listening on {host}:{port}", flush=True)
    if running.metrics_server is not None:
        ms = running.metrics_server
        print(f"spillway metrics on http://{ms.host}:{ms.port}/metrics", flush=True)
    await stop.wait()
    logger.info("signal received: shutting down (grace %.1f s)", settings.grace_s)
    await running.stop()
