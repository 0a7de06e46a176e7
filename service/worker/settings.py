"""Settings of the worker (filled from flags and ``SPILLWAY_*`` variables by the CLI)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.domain import TlsFiles

__all__ = ["WorkerSettings"]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Everything ``spillway worker`` can be told."""

    coordinator: str
    site: str
    worker_name: str
    data_dir: Path = Path("spillway-worker")
    tls: TlsFiles | None = None
    auth_token: str | None = None
    # Energy per hash of the device (W per H/s): the CPU power model.
    joules_per_hash: float = 1.5e-6
    # Where the energy comes from: auto (NVML on the CUDA backend where it opens, else
    # the model), nvml (measured or fail), model (never measured).
    power_source: str = "auto"
    telemetry_s: float = 5.0
    share_flush_s: float = 0.5
    # Shares kept on disk at most; past it, stale-job shares are dropped, then the newest.
    max_queued_shares: int = 10_000
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
