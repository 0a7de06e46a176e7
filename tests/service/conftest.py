"""Fixtures of the service tests: a real coordinator on 127.0.0.1:0, a registry, and a Stratum v1
pool written for the tests (a real asyncio server on loopback).

The pool speaks the pool side of the protocol (configure, subscribe, authorize,
extranonce.subscribe, notify, set_difficulty, submit) and checks submitted
shares the way pools do: it rebuilds the header from the job, extranonce1,
the miner's extranonce2, ntime, nonce and version bits, hashes it and compares
with the share target. Version rolling follows BIP 310: ``mining.configure``
grants ``version_mask & miner_mask`` (when ``offer_version_rolling``), and a
submit's 6th param is refused on a connection that negotiated none, or when it
sets a bit outside the connection's last mask; the version hashed is
``(job_version & ~mask) | (version_bits & mask)``. Tests push jobs, difficulty
changes, version masks, reconnects and hostile lines through it.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from prometheus_client import CollectorRegistry
from spw_helpers import Running, make_settings

import kernels
from service.rpc.server import build_server
from service.stratum import StratumJob, build_header


@dataclass
class Submission:
    params: list[Any]
    verdict: str
    hash_hex: str = ""
    version: int | None = None  # the header version the pool rebuilt, when it got that far


@dataclass
class StratumTestPool:
    extranonce1: bytes = bytes.fromhex("0400003d")
    extranonce2_size: int = 4
    difficulty: float = 1.0
    version_mask: int = 0x1FFFE000
    offer_version_rolling: bool = True
    accept_password: str | None = None
    jobs: dict[str, StratumJob] = field(default_factory=dict)
    notify_params: list[Any] | None = None
    submissions: list[Submission] = field(default_factory=list)
    connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)
    server: asyncio.Server | None = None
    port: int = 0
    tls: bool = False
    # Each connection's version mask from mining.configure (None: it negotiated none).
    _granted: dict[asyncio.StreamWriter, int | None] = field(default_factory=dict)

    async def start(
        self, tls: ssl.SSLContext | None = None, port: int = 0, host: str = "127.0.0.1"
    ) -> None:
        """Listen on loopback, on ``port`` or a free one (behind TLS with a server context).

        ``host`` is another loopback address for a pool that must be a different host
        (127.0.0.2: on Linux all of 127/8 is loopback).
        """
        self.server = await asyncio.start_server(self._serve, host, port, ssl=tls)
        self.port = self.server.sockets[0].getsockname()[1]
        self.tls = tls is not None

    async def stop(self) -> None:
        await self.drop_all()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()

    async def drop_all(self) -> None:
        for writer in self.writers:
            writer.close()
        self.writers.clear()

    async def broadcast(self, text: str) -> None:
        for writer in list(self.writers):
            writer.write(text.encode() if text.endswith("\n") else (text + "\n").encode())
            await writer.drain()

    async def notify(self, params: list[Any]) -> None:
        self.notify_params = params
        self.jobs[str(params[0])] = StratumJob.from_notify(params)
        await self.broadcast(json.dumps({"id": None, "method": "mining.notify", "params": params}))

    async def set_difficulty(self, difficulty: float) -> None:
        self.difficulty = difficulty
        await self.broadcast(
            json.dumps({"id": None, "method": "mining.set_difficulty", "params": [difficulty]})
        )

    async def set_version_mask(self, mask: int) -> None:
        """A new mask for every connection that negotiated rolling (valid at once)."""
        self.version_mask = mask
        message = {"id": None, "method": "mining.set_version_mask", "params": [f"{mask:08x}"]}
        for writer in list(self.writers):
            if self._granted.get(writer) is not None:
                self._granted[writer] = mask
                writer.write((json.dumps(message) + "\n").encode())
                await writer.drain()

    def check_share(self, params: list[Any], mask: int | None = None) -> tuple[Any, Any]:
        """Rebuild a submit's header; ``mask`` is the connection's (None: no rolling)."""
        _, job_id, extranonce2, ntime, nonce, *rest = params
        job = self.jobs.get(job_id)
        if job is None:
            return None, [21, "Job not found", None]
        version = job.version
        if rest:
            if mask is None:
                return None, [20, "Version rolling not negotiated", None]
            bits = int(rest[0], 16)
            if bits & ~mask:
                return None, [20, "Version bits outside mask", None]
            version = (version & ~mask) | (bits & mask)
        header = build_header(
            job,
            self.extranonce1,
            bytes.fromhex(extranonce2),
            ntime=int(ntime, 16),
            nonce=int(nonce, 16),
            version=version,
        )
        digest = kernels.block_hash(header)
        if not kernels.hash_meets_target(digest, kernels.difficulty_to_target(self.difficulty)):
            return None, [23, "Low difficulty share", None]
        self.submissions.append(
            Submission(params, "accepted", kernels.display_hash(digest), version)
        )
        return True, None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        self._granted[writer] = None
        try:
            while line := await reader.readline():
                request = json.loads(line)
                method, params, request_id = request["method"], request["params"], request["id"]
                result: Any = None
                error: Any = None
                if method == "mining.configure":
                    if self.offer_version_rolling:
                        asked = int(params[1].get("version-rolling.mask", "ffffffff"), 16)
                        self._granted[writer] = self.version_mask & asked
                        result = {
                            "version-rolling": True,
                            "version-rolling.mask": f"{self.version_mask & asked:08x}",
                        }
                    else:
                        error = [20, "Unsupported method", None]
                elif method == "mining.subscribe":
                    result = [
                        [["mining.set_difficulty", "1"], ["mining.notify", "1"]],
                        self.extranonce1.hex(),
                        self.extranonce2_size,
                    ]
                elif method == "mining.authorize":
                    result = self.accept_password is None or params[1] == self.accept_password
                elif method == "mining.extranonce.subscribe":
                    result = True
                elif method == "mining.submit":
                    result, error = self.check_share(params, self._granted[writer])
                    if error is not None:
                        self.submissions.append(Submission(params, error[1]))
                else:
                    error = [20, "Unknown method", None]
                writer.write(
                    (
                        json.dumps({"id": request_id, "result": result, "error": error}) + "\n"
                    ).encode()
                )
                if method == "mining.authorize" and result is True:
                    writer.write(
                        (
                            json.dumps(
                                {
                                    "id": None,
                                    "method": "mining.set_difficulty",
                                    "params": [self.difficulty],
                                }
                            )
                            + "\n"
                        ).encode()
                    )
                    if self.notify_params is not None:
                        writer.write(
                            (
                                json.dumps(
                                    {
                                        "id": None,
                                        "method": "mining.notify",
                                        "params": self.notify_params,
                                    }
                                )
                                + "\n"
                            ).encode()
                        )
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            if writer in self.writers:
                self.writers.remove(writer)
            self._granted.pop(writer, None)
            writer.close()


async def _running_pool(host: str = "127.0.0.1") -> AsyncIterator[StratumTestPool]:
    pool = StratumTestPool()
    await pool.start(host=host)
    try:
        yield pool
    finally:
        await pool.stop()


@pytest.fixture
async def stratum_pool() -> AsyncIterator[StratumTestPool]:
    async for pool in _running_pool():
        yield pool


@pytest.fixture
async def second_stratum_pool() -> AsyncIterator[StratumTestPool]:
    """Another pool, for failover and client.reconnect."""
    async for pool in _running_pool():
        yield pool


@pytest.fixture
async def other_host_pool() -> AsyncIterator[StratumTestPool]:
    """A pool on another loopback host (127.0.0.2), where a redirect must not lead."""
    async for pool in _running_pool("127.0.0.2"):
        yield pool


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
