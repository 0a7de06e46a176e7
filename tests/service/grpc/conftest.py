"""Fixtures for the service tests: a real coordinator on 127.0.0.1:0, channels, a registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from prometheus_client import CollectorRegistry
from spw_helpers import Running, make_settings

from service.server import build_server


@pytest.fixture
def registry() -> CollectorRegistry:
    """A fresh registry per test."""
    return CollectorRegistry()


@pytest.fixture
async def coordinator(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Running]:
    """A running coordinator (auth on, no metrics endpoint) and an open channel."""
    settings = make_settings(tmp_path / "data")
    server, port = await build_server(settings, registry=registry)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(server, port, channel, registry, settings)
    finally:
        await channel.close()
        await server.stop(0.5)
