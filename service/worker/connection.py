"""The worker's connection to the coordinator: its channel and its reconnect backoff."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from service.worker.settings import WorkerSettings

__all__ = ["CHANNEL_OPTIONS", "HEALTH_PROBE_S", "backoff_delay_s", "open_channel"]


def backoff_delay_s(
    attempt: int, base_s: float, max_s: float, rng: random.Random | None = None
) -> float:
    """Seconds before reconnect ``attempt`` (0, 1, ...): exponential, capped, with jitter.

    "Equal jitter": half the capped exponential delay, plus a uniform random
    part up to the other half, so many workers cut off at once do not return
    at once, and none retries sooner than half the schedule.
    """
    delay_s = min(max_s, base_s * 2.0 ** min(attempt, 32))
    jitter_s: float = (rng or random.Random()).uniform(0, delay_s / 2)
    return delay_s / 2 + jitter_s


# The channel's own reconnect backoff (gRPC's default grows to 120 s) is kept short:
# the worker's backoff decides when to retry, the channel must not add its own.
CHANNEL_OPTIONS = (
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
)
# While backing off, the coordinator's health is probed this often; once it answers
# SERVING the wait ends and the backoff starts again from its base.
HEALTH_PROBE_S = 0.25


def open_channel(settings: WorkerSettings) -> Any:
    """The channel to the coordinator: TLS (and a client certificate) where configured."""
    if settings.tls is None:
        return grpc.aio.insecure_channel(settings.coordinator, options=CHANNEL_OPTIONS)
    tls = settings.tls
    creds = grpc.ssl_channel_credentials(
        root_certificates=tls.ca.read_bytes() if tls.ca else None,
        private_key=tls.key.read_bytes() if tls.key else None,
        certificate_chain=tls.cert.read_bytes() if tls.cert else None,
    )
    return grpc.aio.secure_channel(settings.coordinator, creds, options=CHANNEL_OPTIONS)
