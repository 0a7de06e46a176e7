"""gRPC server metrics under the grpc-ecosystem names, so existing dashboards work."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from service.metrics.labels import HANDLING_BUCKETS_S

if TYPE_CHECKING:
    from google.protobuf.descriptor import ServiceDescriptor


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
