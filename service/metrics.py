"""Prometheus metrics of the coordinator and the worker (namespace ``spillway``, base units).

Every family takes the ``registry`` it is registered in (tests pass a fresh
``CollectorRegistry``). Label sets are small and fixed; known children are
created up front so that a scrape shows them at zero before anything happens.
gRPC server metrics use the grpc-ecosystem names (``grpc_server_started_total``,
``grpc_server_handled_total``, ``grpc_server_handling_seconds``) without the
namespace, so existing dashboards and alerts work unchanged.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import make_server

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from service.errors import ConfigError, optimiser_error_name

if TYPE_CHECKING:
    from collections.abc import Sequence
    from wsgiref.simple_server import WSGIServer

    from google.protobuf.descriptor import ServiceDescriptor

    from service.ledger.model import EnergyRecord, PeriodHeader

__all__ = [
    "ENERGY_SOURCES",
    "PLAN_FAILURE_REASONS",
    "POOL_VERDICTS",
    "REPLAN_RESULTS",
    "SHARE_RESULTS",
    "TELEMETRY_REFUSAL_REASONS",
    "CoordinatorMetrics",
    "GrpcServerMetrics",
    "LedgerMetrics",
    "MetricsServer",
    "PoolMetrics",
    "RollingMetrics",
    "WorkerMetrics",
    "parse_host_port",
    "plan_failure_reason",
    "start_metrics_server",
]

NAMESPACE = "spillway"
SHARE_RESULTS = ("accepted", "duplicate", "rejected")
ENERGY_SOURCES = ("curtailed", "grid")
# A pool's verdicts on forwarded shares (``service.stratum.client.ShareVerdict`` values).
POOL_VERDICTS = ("accepted", "rejected", "stale")
# Why a plan solve failed: the optimiser's errors by class name (matched along the MRO
# by service.errors.optimiser_error_name, so the service need not import the
# optimiser to count), anything else "error".
_PLAN_FAILURE_BY_ERROR = {
    "InfeasiblePlanError": "infeasible",
    "BadGridDataError": "bad_grid_data",
    "SolverUnavailableError": "solver_unavailable",
}
PLAN_FAILURE_REASONS = (*_PLAN_FAILURE_BY_ERROR.values(), "error")
# Why the ledger refused a signed telemetry report: by the field its error names
# (service.coordinator.recorder), anything else "malformed".
_TELEMETRY_REFUSAL_BY_FIELD = {
    "signed_telemetry": "unsigned",
    "telemetry_public_key": "unknown_key",
    "signed_telemetry.signature": "bad_signature",
    "signed_telemetry.sequence": "replay",
    "signed_telemetry.window_end_unix_ms": "clock",
    "signed_telemetry.window_start_unix_ms": "overlap",
    "signed_telemetry.energy_joules": "power",
}
TELEMETRY_REFUSAL_REASONS = (*_TELEMETRY_REFUSAL_BY_FIELD.values(), "malformed")


def plan_failure_reason(exc: BaseException) -> str:
    """The ``reason`` label of a failed plan solve."""
    name = optimiser_error_name(exc)
    return "error" if name is None else _PLAN_FAILURE_BY_ERROR.get(name, "error")


# Latency buckets for unary RPCs on loopback up to slow plan runs.
HANDLING_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Plan solves take from a fraction of a second to minutes.
SOLVE_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class GrpcServerMetrics:
    """gRPC server metrics under the grpc-ecosystem names (go-grpc-prometheus, py-grpc-prometheus).

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        labels = ("grpc_type", "grpc_service", "grpc_method")
        self.started = Counter(
            "grpc_server_started_total", "RPCs started on the server.", labels, registry=registry
        )
        self.handled = Counter(
            "grpc_server_handled_total",
            "RPCs completed on the server, regardless of success or failure.",
            (*labels, "grpc_code"),
            registry=registry,
        )
        self.handling_seconds = Histogram(
            "grpc_server_handling_seconds",
            "Response latency (seconds) of gRPC that had been application-level handled.",
            labels,
            buckets=HANDLING_BUCKETS_S,
            registry=registry,
        )

    def initialise(self, services: Iterable[ServiceDescriptor]) -> None:
        """Create every method's series (and each status code's) at zero."""
        for service in services:
            for method in service.methods:
                kind = grpc_type(method.client_streaming, method.server_streaming)
                self.started.labels(kind, service.full_name, method.name)
                self.handling_seconds.labels(kind, service.full_name, method.name)
                for code in grpc.StatusCode:
                    self.handled.labels(kind, service.full_name, method.name, code.name)


def grpc_type(client_streaming: bool, server_streaming: bool) -> str:
    """``unary``, ``client_stream``, ``server_stream`` or ``bidi_stream``."""
    if client_streaming and server_streaming:
        return "bidi_stream"
    if client_streaming:
        return "client_stream"
    return "server_stream" if server_streaming else "unary"


class LedgerMetrics:
    """The energy ledger's metrics: periods closed, energy recorded, telemetry refused.

    Fed by ``LedgerRecorder`` (as its observer, on the ledger's thread) and by the
    coordinator when it refuses a report.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.periods_closed = Counter(
            "ledger_periods_closed",
            "Ledger periods appended under a signed header.",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.records = Counter(
            "ledger_records",
            "Ledger records appended (one per site and period).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.last_period_end_timestamp_seconds = Gauge(
            "ledger_last_period_end_timestamp_seconds",
            "Unix time the newest closed ledger period ended (0 before the first).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.close_failures = Counter(
            "ledger_close_failures",
            "Attempts to close due ledger periods that failed (their reports stay staged).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.telemetry_refused = Counter(
            "ledger_telemetry_refused",
            "Signed telemetry reports the ledger refused, by reason.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for reason in TELEMETRY_REFUSAL_REASONS:
            self.telemetry_refused.labels(reason)
        self.curtailed_energy_joules = Counter(
            "ledger_curtailed_energy_joules",
            "Curtailed or spilled energy recorded in closed ledger periods, by site and carrier.",
            ("site", "carrier"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.grid_energy_joules = Counter(
            "ledger_grid_energy_joules",
            "Other grid energy recorded in closed ledger periods, by site.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        # The ledger is the one source of the energy split: mining energy is counted by
        # source when its period closes, from the records just appended, so the metric and
        # the ledger's sums per site and source are equal (a budget's own source label can
        # disagree with the plan the ledger attributes against, e.g. during an override).
        self.energy_joules = Counter(
            "energy_joules",
            "Energy used by mining, by site and source (curtailed or grid), as the ledger"
            " records it: counted when a ledger period closes.",
            ("site", "source"),
            namespace=NAMESPACE,
            registry=registry,
        )

    def refused(self, field: str) -> None:
        """Count a refused report by the field its error names."""
        self.telemetry_refused.labels(_TELEMETRY_REFUSAL_BY_FIELD.get(field, "malformed")).inc()

    def last_period(self, header: PeriodHeader) -> None:
        """The newest period in the ledger (at start, and as each closes)."""
        self.last_period_end_timestamp_seconds.set(header.period_start_s + header.period_s)

    def period_closed(self, header: PeriodHeader, records: Sequence[EnergyRecord]) -> None:
        """Count a period just appended and the energy its records hold."""
        self.periods_closed.inc()
        self.records.inc(len(records))
        self.last_period(header)
        for record in records:
            self.grid_energy_joules.labels(record.site).inc(record.grid_j)
            for plant, joules in record.curtailed_j.items():
                self.curtailed_energy_joules.labels(record.site, record.carrier[plant]).inc(joules)
            self.energy_joules.labels(record.site, "grid").inc(record.grid_j)
            self.energy_joules.labels(record.site, "curtailed").inc(
                sum(record.curtailed_j.values())
            )

    def close_failed(self) -> None:
        """Count a failed attempt to close due periods."""
        self.close_failures.inc()


class CoordinatorMetrics:
    """The coordinator's own metrics.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.grpc = GrpcServerMetrics(registry)
        self.ledger = LedgerMetrics(registry)
        self.shares = Counter(
            "shares",
            "Shares answered, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for result in SHARE_RESULTS:
            self.shares.labels(result)
        self.shares_rate_limited = Counter(
            "shares_rate_limited",
            "Shares not taken: past a worker's shares-per-second cap (left in its queue).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.hashes = Counter(
            "hashes",
            "Hashes reported by workers and done by the hashing service.",
            ("backend",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.power_budget_watts = Gauge(
            "power_budget_watts",
            "Current power budget per site.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.power_watts = Gauge(
            "power_watts",
            "Mean power per site over the last telemetry interval.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.hashrate = Gauge(
            "hashrate_hashes_per_second",
            "Hashrate per site from the last telemetry.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.energy_joules = self.ledger.energy_joules
        self.workers_connected = Gauge(
            "workers_connected",
            "Workers with an open work stream.",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solve_seconds = Histogram(
            "plan_solve_seconds",
            "Time to solve a plan; warm: a rolling re-plan on the live model.",
            ("warm",),
            namespace=NAMESPACE,
            buckets=SOLVE_BUCKETS_S,
            registry=registry,
        )
        for warm in ("false", "true"):
            self.plan_solve_seconds.labels(warm)
        self.plan_valid = Gauge(
            "plan_valid",
            "1 while a stored plan covers the current time, else 0 (budgets then fall to zero).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solved_timestamp_seconds = Gauge(
            "plan_solved_timestamp_seconds",
            "Unix time the plan in force was solved (0 before the first plan).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solve_failures = Counter(
            "plan_solve_failures",
            "Plan solves that failed, by reason.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for reason in PLAN_FAILURE_REASONS:
            self.plan_solve_failures.labels(reason)
        self.plan_curtailment_absorbed_joules = Counter(
            "plan_curtailment_absorbed_joules",
            "Curtailed energy the stored plans schedule for mining.",
            namespace=NAMESPACE,
            registry=registry,
        )

    def site(self, site: str) -> None:
        """Create a site's series at zero (first sight of a site)."""
        self.power_budget_watts.labels(site)
        self.power_watts.labels(site)
        self.hashrate.labels(site)
        for source in ENERGY_SOURCES:
            self.energy_joules.labels(site, source)
        self.ledger.grid_energy_joules.labels(site)


class WorkerMetrics:
    """A worker's metrics (one site).

    Parameters
    ----------
    registry:
        Where the families are registered.
    site, backend:
        The worker's site and hashing backend: the only label values it uses.
    """

    def __init__(self, registry: CollectorRegistry, *, site: str, backend: str) -> None:
        self.hashes = Counter(
            "hashes", "Hashes computed.", ("backend",), namespace=NAMESPACE, registry=registry
        ).labels(backend)
        shares = Counter(
            "shares",
            "Shares found and answered, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.shares = {result: shares.labels(result) for result in (*SHARE_RESULTS, "found")}
        self.power_budget_watts = Gauge(
            "power_budget_watts",
            "Power budget in force.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(site)
        self.power_watts = Gauge(
            "power_watts",
            "Mean hashing power over the last control window.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(site)
        energy = Counter(
            "energy_joules",
            "Energy used for hashing, by source.",
            ("site", "source"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.energy_joules = {source: energy.labels(site, source) for source in ENERGY_SOURCES}
        self.hashrate = Gauge(
            "hashrate_hashes_per_second",
            "Hashrate over the last control window.",
            ("backend",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(backend)
        self.shares_queued = Gauge(
            "shares_queued",
            "Shares on disk waiting for an answer.",
            namespace=NAMESPACE,
            registry=registry,
        )
        dropped = Counter(
            "shares_dropped",
            "Shares dropped to keep the disk queue bounded: of stale jobs first, then newest.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.shares_dropped = {reason: dropped.labels(reason) for reason in ("stale", "newest")}
        self.coordinator_connected = Gauge(
            "coordinator_connected",
            "1 while the work stream is open.",
            namespace=NAMESPACE,
            registry=registry,
        )


class PoolMetrics:
    """The upstream's metrics, by configured pool URL (a small fixed set).

    Parameters
    ----------
    registry:
        Where the families are registered.
    pools:
        The configured pool URLs; their series start at zero.
    """

    def __init__(self, registry: CollectorRegistry, pools: Iterable[str]) -> None:
        self.shares = Counter(
            "pool_shares",
            "Shares forwarded to a pool, by the pool's verdict (accepted, rejected, stale).",
            ("pool", "result"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.connected = Gauge(
            "pool_connected",
            "1 while the coordinator mines for this pool, else 0.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.difficulty = Gauge(
            "pool_difficulty",
            "Share difficulty the pool asks for (0 while not connected).",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.jobs = Counter(
            "pool_jobs",
            "Jobs (mining.notify) received from the pool.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.redirects_refused = Counter(
            "pool_redirects_refused",
            "client.reconnect to another host refused (--pool-allow-redirect follows them).",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.difficulties_refused = Counter(
            "pool_difficulties_refused",
            "mining.set_difficulty refused as absurd (zero, negative, NaN, infinite, out of"
            " range); the last sane difficulty stays.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.units_floored = Counter(
            "pool_units_floored",
            "Units handed to a worker at its share-rate floor, harder than the pool asks.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for pool in pools:
            for verdict in POOL_VERDICTS:
                self.shares.labels(pool, verdict)
            self.connected.labels(pool).set(0)
            self.difficulty.labels(pool).set(0)
            self.jobs.labels(pool)
            self.redirects_refused.labels(pool)
            self.difficulties_refused.labels(pool)
            self.units_floored.labels(pool)


def parse_host_port(field: str, text: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:PORT`` for IPv6).

    Raises
    ------
    ConfigError
        Naming ``field`` when the text is not HOST:PORT with a port 0..65535.
    """
    host, sep, port_text = text.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ConfigError(f"{field}: expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port_text)


@dataclass
class MetricsServer:
    """A running Prometheus HTTP endpoint."""

    server: WSGIServer
    host: str
    port: int

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


HEALTH_PATH = "/healthz"


def _app(registry: CollectorRegistry, ready: Callable[[], bool] | None) -> Any:
    """The metrics WSGI app, with ``/healthz`` answering ``ready()`` when given."""
    metrics = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if ready is None or environ.get("PATH_INFO") != HEALTH_PATH:
            return metrics(environ, start_response)
        ok = ready()
        body = b"ok\n" if ok else b"not ready\n"
        status = "200 OK" if ok else "503 Service Unavailable"
        start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def _serve(registry: CollectorRegistry, host: str, port: int, ready: Any) -> ThreadingWSGIServer:
    """``prometheus_client.start_http_server``'s server, on our app."""

    class Server(ThreadingWSGIServer):
        """Its own class: the address family is set per server."""

    # The address family of the host (an IPv6 host needs AF_INET6), as the library picks it.
    family, _, _, _, sockaddr = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    Server.address_family = family
    server = make_server(
        str(sockaddr[0]), port, _app(registry, ready), Server, handler_class=_SilentHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True, name="metrics-http").start()
    return server


def start_metrics_server(
    registry: CollectorRegistry,
    listen: str,
    *,
    field: str = "metrics_listen",
    search: int = 0,
    ready: Callable[[], bool] | None = None,
) -> MetricsServer:
    """Serve ``registry`` at ``http://listen/metrics`` on a daemon thread.

    Parameters
    ----------
    search:
        Try this many following ports when the given one is taken (the worker's
        default finds the next free port from 9465); 0 fails at once.
    ready:
        When given, ``GET /healthz`` answers 200 ``ok`` while it returns True and
        503 ``not ready`` otherwise (a readiness probe needs no metrics parsing).

    Raises
    ------
    ConfigError
        When the address cannot be bound.
    """
    host, port = parse_host_port(field, listen)
    last_error: OSError | None = None
    for candidate in range(port, port + search + 1):
        try:
            server = _serve(registry, host, candidate, ready)
        except OSError as exc:
            last_error = exc
            continue
        return MetricsServer(server, host, int(server.server_port))
    raise ConfigError(f"{field}: cannot listen on {listen}: {last_error}") from last_error


#: Outcomes of a rolling re-plan: adopted, or failed (no optimal plan; the last one stays).
REPLAN_RESULTS = ("adopted", "failed")


class RollingMetrics:
    """The rolling horizon's metrics (a coordinator serving a scenario at real times).

    ``forecast_horizon_seconds`` against ``plan_horizon_seconds`` is what the
    ``SpillwayForecastShort`` alert compares: periods past the reach plan to zero.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.forecast_horizon_seconds = Gauge(
            "forecast_horizon_seconds",
            "How far ahead of now the scenario and the stored forecasts reach (0: not at all).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_horizon_seconds = Gauge(
            "plan_horizon_seconds",
            "The rolling window's length (--horizon-hours).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.replans = Counter(
            "plan_replans",
            "Rolling re-plans, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for result in REPLAN_RESULTS:
            self.replans.labels(result)
