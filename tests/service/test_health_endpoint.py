"""The worker's readiness check: ``GET /healthz`` beside ``/metrics`` on the metrics port.

A real HTTP server on loopback; a real worker's probe runs in tests/deploy.
"""

from __future__ import annotations

import urllib.error
import urllib.request

from prometheus_client import CollectorRegistry, Gauge

from service.metrics import HEALTH_PATH, start_metrics_server


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_follows_readiness_and_metrics_still_serve() -> None:
    registry = CollectorRegistry()
    Gauge("spillway_coordinator_connected", "test gauge", registry=registry).set(1)
    ready = [False]
    server = start_metrics_server(registry, "127.0.0.1:0", ready=lambda: ready[0])
    try:
        assert _get(server.port, HEALTH_PATH) == (503, "not ready\n")
        ready[0] = True
        assert _get(server.port, HEALTH_PATH) == (200, "ok\n")
        status, text = _get(server.port, "/metrics")
        assert status == 200 and "spillway_coordinator_connected 1.0" in text
    finally:
        server.close()


def test_without_readiness_healthz_is_not_a_check() -> None:
    """The coordinator passes no readiness: its port serves metrics only (gRPC health is its
    probe), so /healthz is not an always-200 that would hide a fault."""
    registry = CollectorRegistry()
    server = start_metrics_server(registry, "127.0.0.1:0")
    try:
        status, text = _get(server.port, HEALTH_PATH)
        assert status == 200 and text != "ok\n"
    finally:
        server.close()
