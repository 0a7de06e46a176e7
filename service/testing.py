"""Helpers for tests and benchmarks of the service (shipped, as ``structlog.testing`` is)."""

from __future__ import annotations

import socket

__all__ = ["free_port"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on ``host`` (bind to it soon: another may take it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port
