"""Helpers shared by the service tests (on ``pythonpath``; conftest holds the fixtures)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from service.coordinator.settings import CoordinatorSettings
from service.ledger import sign_telemetry
from service.rpc.server import CoordinatorServer
from service.testing import free_port
from spillway.v1 import miner_pb2, miner_pb2_grpc

TOKEN = "s3cret-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


@dataclass
class Running:
    """A coordinator under test and a channel to it."""

    server: CoordinatorServer
    port: int
    channel: Any
    registry: CollectorRegistry
    settings: CoordinatorSettings

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


def make_settings(data_dir: Path, **overrides: Any) -> CoordinatorSettings:
    """Settings for a loopback coordinator with fast intervals."""
    values: dict[str, Any] = {
        "grpc_listen": "127.0.0.1:0",
        "metrics_listen": None,
        "data_dir": data_dir,
        "auth_token": TOKEN,
        "grace_s": 1.0,
        "budget_refresh_s": 0.1,
        "budget_hold_s": 3.0,
        "period_s": 60.0,
        "share_difficulty": 1 / 4096,
        "hash_threads": 1,
    }
    values.update(overrides)
    return CoordinatorSettings(**values)


async def know_site(channel: Any, site: str, worker_name: str) -> None:
    """Register ``worker_name`` at ``site`` ahead of the worker, so rules for the site are
    taken (the coordinator refuses overrides and schedules for sites it does not know)."""
    stub = miner_pb2_grpc.WorkerServiceStub(channel)
    await stub.RegisterWorker(
        miner_pb2.RegisterWorkerRequest(site=site, worker_name=worker_name, backend="cpu"),
        metadata=AUTH,
    )


# The end of the last window each worker id was given, so successive reports never overlap.
_LAST_WINDOW_END_MS: dict[str, int] = {}


def signed_telemetry(
    key: Any,
    worker_id: str,
    site: str,
    sequence: int,
    energy_j: int,
    hashes: int,
    shares_found: int = 0,
    *,
    window_ms: tuple[int, int] | None = None,
) -> miner_pb2.SignedTelemetry:
    """A worker's telemetry message signed with ``key`` (an Ed25519 private key).

    The window is ``window_ms`` (Unix ms, start and end), else up to two seconds
    ending now and starting no earlier than the last window made for ``worker_id``.
    """
    if window_ms is None:
        now_ms = time.time_ns() // 1_000_000
        window_ms = (max(now_ms - 2000, _LAST_WINDOW_END_MS.get(worker_id, 0)), now_ms)
    _LAST_WINDOW_END_MS[worker_id] = max(window_ms[1], _LAST_WINDOW_END_MS.get(worker_id, 0))
    report = sign_telemetry(
        key,
        worker=worker_id,
        site=site,
        sequence=sequence,
        window_start_ms=window_ms[0],
        window_end_ms=window_ms[1],
        energy_j=energy_j,
        hashes=hashes,
        shares_found=shares_found,
    )
    return miner_pb2.SignedTelemetry(
        worker_id=worker_id,
        site=site,
        sequence=sequence,
        window_start_unix_ms=report.window_start_ms,
        window_end_unix_ms=report.window_end_ms,
        energy_joules=energy_j,
        hashes=hashes,
        shares_found=shares_found,
        signature=bytes.fromhex(report.signature),
    )


# --- processes -----------------------------------------------------------------


SPILLWAY = [sys.executable, "-m", "service.cli"]


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start ``spillway ARGS`` with output to ``log`` (the child keeps its own descriptor)."""
    with log.open("wb") as handle:
        return subprocess.Popen(
            [*SPILLWAY, "--log-level", "INFO", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def wait_for(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 0.1 s until it is true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


async def until(predicate: Any, timeout_s: float, what: str) -> None:
    """Poll ``predicate`` every 0.05 s on the event loop until true, or fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


async def next_budget(stream: Any, timeout_s: float) -> Any:
    """The next budget message on a work stream (jobs skipped)."""
    deadline = time.monotonic() + timeout_s
    while True:
        left_s = deadline - time.monotonic()
        if left_s <= 0:
            raise AssertionError("no budget in time")
        reply = await asyncio.wait_for(stream.read(), timeout=left_s)
        if reply.HasField("power_budget"):
            return reply.power_budget


async def next_change(stream: Any, from_w: float, timeout_s: float) -> Any:
    """The next budget on a work stream whose figure is not ``from_w`` (a budget is
    resent with the same figure when its end moves)."""
    deadline = time.monotonic() + timeout_s
    while True:
        budget = await next_budget(stream, deadline - time.monotonic())
        if budget.budget_watts != from_w:
            return budget


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Samples of ``http://127.0.0.1:PORT/metrics`` by (name, sorted labels)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(port: int, name: str, **labels: str) -> float:
    """One sample's value from a scrape (0 when absent)."""
    return scrape(port).get((name, tuple(sorted(labels.items()))), 0.0)


def stop_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> int:
    """Send ``sig`` and wait (10 s) for the exit status."""
    if proc.poll() is None:
        proc.send_signal(sig)
    return proc.wait(timeout=10)


__all__ = [
    "AUTH",
    "SPILLWAY",
    "TOKEN",
    "Running",
    "free_port",
    "know_site",
    "make_settings",
    "sample",
    "scrape",
    "signed_telemetry",
    "spawn",
    "stop_process",
    "until",
    "wait_for",
]
