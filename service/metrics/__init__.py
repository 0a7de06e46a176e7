"""Prometheus metrics of the coordinator and the worker (namespace ``spillway``, base units).

Every family takes the ``registry`` it is registered in (tests pass a fresh
``CollectorRegistry``). Label sets are small and fixed; known children are
created up front so that a scrape shows them at zero before anything happens.
gRPC server metrics use the grpc-ecosystem names (``grpc_server_started_total``,
``grpc_server_handled_total``, ``grpc_server_handling_seconds``) without the
namespace, so existing dashboards and alerts work unchanged.
"""

from __future__ import annotations

from service.metrics.coordinator import REPLAN_RESULTS, CoordinatorMetrics, RollingMetrics
from service.metrics.exposition import (
    HEALTH_PATH,
    MetricsServer,
    parse_host_port,
    start_metrics_server,
)
from service.metrics.grpc_server import GrpcServerMetrics, grpc_type
from service.metrics.labels import (
    ENERGY_SOURCES,
    NAMESPACE,
    PLAN_FAILURE_REASONS,
    POOL_VERDICTS,
    SHARE_RESULTS,
    TELEMETRY_REFUSAL_REASONS,
    plan_failure_reason,
)
from service.metrics.ledger import LedgerMetrics
from service.metrics.pool import PoolMetrics
from service.metrics.signals import BUDGET_REASONS, SIGNAL_KINDS, SignalMetrics
from service.metrics.worker import WorkerMetrics

__all__ = [
    "BUDGET_REASONS",
    "ENERGY_SOURCES",
    "HEALTH_PATH",
    "NAMESPACE",
    "PLAN_FAILURE_REASONS",
    "POOL_VERDICTS",
    "REPLAN_RESULTS",
    "SHARE_RESULTS",
    "SIGNAL_KINDS",
    "TELEMETRY_REFUSAL_REASONS",
    "CoordinatorMetrics",
    "GrpcServerMetrics",
    "LedgerMetrics",
    "MetricsServer",
    "PoolMetrics",
    "RollingMetrics",
    "SignalMetrics",
    "WorkerMetrics",
    "grpc_type",
    "parse_host_port",
    "plan_failure_reason",
    "start_metrics_server",
]
