"""``spillway worker``: hash for a site, following the coordinator's budget."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

import kernels
from kernels import PowerUnavailableError
from service.cli.common import (
    ENV_EPILOG,
    add_client_flags,
    env,
    positive_int,
    read_token,
    tls_files,
)
from service.errors import ConfigError
from service.metrics import HEALTH_PATH, start_metrics_server
from service.worker.core import Worker
from service.worker.power import POWER_SOURCES
from service.worker.settings import WorkerSettings

__all__ = ["register", "worker_settings"]

DEFAULT_METRICS_PORT = 9465
H_PER_MH = 1e6


def _default(name: str) -> Any:
    """``WorkerSettings``' default for ``name``: the flags' defaults are the settings' own."""
    (field,) = [f for f in dataclasses.fields(WorkerSettings) if f.name == name]
    return field.default


def register(commands: Any) -> None:
    """Add ``worker`` to the ``spillway`` parser."""
    parser = commands.add_parser("worker", help="hash for a site within its power budget")
    add_client_flags(parser)
    parser.epilog = ENV_EPILOG
    parser.add_argument(
        "--site",
        default=env("SITE"),
        required=env("SITE") is None,
        help="the mining site this worker belongs to (a site of the plan); its budget is"
        " followed (required unless SPILLWAY_SITE is set)",
    )
    parser.add_argument(
        "--name",
        default=env("WORKER_NAME", socket.gethostname()[:64]),
        help="this worker's name within its site, unique there; the host name unless"
        " SPILLWAY_WORKER_NAME is set",
    )
    parser.add_argument(
        "--backend",
        choices=kernels.BACKENDS,
        default=env("BACKEND", "auto"),
        help="where to hash; auto: CUDA when a GPU is usable, else the C kernel",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads of the cpu backend (default: all cores; no SPILLWAY_ variable)",
    )
    parser.add_argument(
        "--metrics-listen",
        default=env("METRICS_LISTEN"),
        help="HOST:PORT of the Prometheus endpoint /metrics and the readiness check /healthz"
        f" (200 while the work stream is open, else 503); default: the next free port from"
        f" {DEFAULT_METRICS_PORT}; 'off' for none",
    )
    parser.add_argument(
        "--data-dir",
        default=env("DATA_DIR", str(_default("data_dir"))),
        help="where the worker keeps its telemetry signing key and unsent shares",
    )
    parser.add_argument(
        "--joules-per-megahash",
        type=float,
        default=env("JOULES_PER_MEGAHASH", str(_default("joules_per_hash") * H_PER_MH)),
        help="the device's energy per MH (= W per MH/s): the power model",
    )
    parser.add_argument(
        "--power-source",
        choices=POWER_SOURCES,
        default=env("POWER_SOURCE", _default("power_source")),
        help="energy from NVML (nvml: or fail), the model (model), or NVML on a GPU"
        " where it opens, else the model (auto) (default: %(default)s; SPILLWAY_POWER_SOURCE)",
    )
    parser.add_argument(
        "--telemetry-seconds",
        type=float,
        default=_default("telemetry_s"),
        help="how often the worker reports signed telemetry (energy, hashes); no SPILLWAY_"
        " variable",
    )
    parser.add_argument(
        "--max-queued-shares",
        default=env("MAX_QUEUED_SHARES", str(_default("max_queued_shares"))),
        metavar="N",
        help="shares kept on disk at most while they wait for the coordinator; past it those"
        " of old jobs are dropped first, then the newest (SPILLWAY_MAX_QUEUED_SHARES)",
    )
    parser.set_defaults(run=run)


async def _main(
    settings: WorkerSettings, backend_name: str, threads: int | None, metrics_listen: str | None
) -> None:
    registry = CollectorRegistry()
    backend = await asyncio.to_thread(kernels.get_backend, backend_name, threads=threads)
    worker = Worker(settings, backend, registry)
    metrics = None
    if metrics_listen != "off":
        listen = metrics_listen or f"127.0.0.1:{DEFAULT_METRICS_PORT}"
        metrics = start_metrics_server(
            registry,
            listen,
            search=0 if metrics_listen else 100,
            ready=lambda: worker.state.connected,  # readiness: an open work stream
        )
        print(
            f"spillway worker metrics on http://{metrics.host}:{metrics.port}/metrics"
            f" (readiness: {HEALTH_PATH})",
            flush=True,
        )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, worker.stop.set)
    try:
        await worker.run()
    finally:
        backend.close()
        if metrics is not None:
            metrics.close()


def worker_settings(args: argparse.Namespace) -> WorkerSettings:
    """The worker's settings from its flags.

    Raises
    ------
    ConfigError
        Naming the field (and flag) of a bad value.
    """
    if not args.joules_per_megahash > 0:
        raise ConfigError("joules_per_megahash: must be above zero")
    if args.power_source not in POWER_SOURCES:  # from SPILLWAY_POWER_SOURCE
        raise ConfigError(
            f"power_source: must be one of {', '.join(POWER_SOURCES)}, got {args.power_source!r}"
        )
    return WorkerSettings(
        coordinator=args.coordinator,
        site=args.site,
        worker_name=args.name,
        data_dir=Path(args.data_dir),
        tls=tls_files(args.tls_cert, args.tls_key, args.tls_ca),
        auth_token=read_token(args.auth_token_file),
        joules_per_hash=args.joules_per_megahash / H_PER_MH,
        telemetry_s=args.telemetry_seconds,
        power_source=args.power_source,
        max_queued_shares=positive_int(
            "max_queued_shares", "--max-queued-shares", args.max_queued_shares
        ),
    )


def run(args: argparse.Namespace) -> int:
    """``spillway worker``."""
    try:
        settings = worker_settings(args)
        asyncio.run(_main(settings, args.backend, args.threads, args.metrics_listen))
    except (ConfigError, PowerUnavailableError) as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    return 0
