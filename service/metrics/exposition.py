"""The Prometheus HTTP endpoint: ``/metrics`` and an optional ``/healthz``."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler

from service.errors import ConfigError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


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
