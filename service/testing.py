"""Helpers for tests and benchmarks of the service (shipped, as ``structlog.testing`` is)."""

from __future__ import annotations

import os
import socket

__all__ = ["free_port", "read_terminal"]


def free_port(host: str = "127.0.0.1") -> int:
    """A port free right now on ``host`` (bind to it soon: another may take it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def read_terminal(primary_fd: int) -> bytes:
    """All a pseudo-terminal's primary side holds once the other side is closed."""
    chunks = []
    while True:
        try:
            chunk = os.read(primary_fd, 65536)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
