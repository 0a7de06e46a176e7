"""``spillway ledger`` over gRPC: ``proof --coordinator``, ``watch``, paged ``settle-remote``.

A real coordinator on loopback gRPC with one-second ledger periods and a real
SQLite ledger; the real ``spillway`` command in a subprocess (called from a
thread, or as an asyncio subprocess, since this loop serves the coordinator).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client import CollectorRegistry
from spw_helpers import SPILLWAY, Running, make_settings, signed_telemetry
from test_ledger_grpc import cli, register, report
from test_planner import submit_and_plan

from service.ledger import public_key_hex
from service.rpc.server import build_server
from spillway.v1 import ledger_pb2, ledger_pb2_grpc, planner_pb2

PERIOD_S = 1.0
# Small enough that a settlement of a few one-second periods of two sites needs
# several Settle pages; large enough for every other message of these tests.
SMALL_MESSAGE_BYTES = 5120


async def _running(settings_dir: Path, registry: CollectorRegistry, **overrides: object) -> Running:
    settings = make_settings(settings_dir, period_s=PERIOD_S, **overrides)
    server, port = await build_server(settings, registry=registry)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    return Running(server, port, channel, registry, settings)


@pytest.fixture
async def coordinator(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Running]:
    """A coordinator with one-second ledger periods."""
    running = await _running(tmp_path / "data", registry)
    try:
        yield running
    finally:
        await running.channel.close()
        await running.server.stop(0.5)


class Sites:
    """Workers at north and east, each reporting its next sequence number."""

    def __init__(self, coordinator: Running) -> None:
        self.coordinator = coordinator
        self.keys = {site: Ed25519PrivateKey.generate() for site in ("north", "east")}
        self.workers: dict[str, str] = {}
        self.sequence = 0

    async def period(self, joules: int) -> None:
        """Both sites report ``joules`` (times the sequence number), then a period passes."""
        channel = self.coordinator.channel
        if not self.workers:
            for site, key in self.keys.items():
                self.workers[site] = await register(channel, site, key)
        self.sequence += 1
        for site, key in self.keys.items():
            worker = self.workers[site]
            signed = signed_telemetry(key, worker, site, self.sequence, joules * self.sequence, 7)
            await report(channel, worker, signed)
        await asyncio.sleep(PERIOD_S)


async def headers(channel: grpc.aio.Channel) -> list[ledger_pb2.PeriodHeader]:
    """Every closed period's header (following pages)."""
    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
    found: list[ledger_pb2.PeriodHeader] = []
    first = 0
    while True:
        reply = await stub.ListPeriodHeaders(
            ledger_pb2.ListPeriodHeadersRequest(first_period=first)
        )
        found += reply.headers
        if not reply.next_period:
            return found
        first = reply.next_period


async def until_recorded(channel: grpc.aio.Channel, count: int, timeout_s: float = 20.0) -> None:
    """Wait until the closed periods hold ``count`` records."""
    deadline = time.monotonic() + timeout_s
    while sum(h.record_count for h in await headers(channel)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} ledger records"
        await asyncio.sleep(0.1)


async def watcher(*args: str) -> asyncio.subprocess.Process:
    """``spillway ledger watch ARGS``, once it says it is watching."""
    process = await asyncio.create_subprocess_exec(
        *SPILLWAY,
        "ledger",
        "watch",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stderr is not None
    said = await asyncio.wait_for(process.stderr.readline(), timeout=30)
    assert b"watching" in said, said
    return process


class TestProofOverGrpc:
    async def test_remote_proof_is_the_local_one_and_checks(
        self, coordinator: Running, tmp_path: Path
    ) -> None:
        """`ledger proof --coordinator` prints what the local one prints; verify-proof takes it."""
        sites = Sites(coordinator)
        await sites.period(3600)
        await until_recorded(coordinator.channel, 2)
        period = str((await headers(coordinator.channel))[0].period)
        address = ("--coordinator", f"127.0.0.1:{coordinator.port}")
        wanted = ("--site", "north", "--period", period)
        remote = await asyncio.to_thread(cli, "ledger", "proof", *address, *wanted)
        assert remote.returncode == 0, remote.stderr
        data_dir = str(coordinator.settings.data_dir)
        local = cli("ledger", "proof", data_dir, *wanted)
        assert local.returncode == 0, local.stderr
        assert remote.stdout == local.stdout
        proof = json.loads(remote.stdout)
        assert proof["record"]["site"] == "north" and str(proof["record"]["period"]) == period
        path = tmp_path / "proof.json"
        path.write_text(remote.stdout)
        checked = cli("ledger", "verify-proof", str(path), "--public-key", proof["public_key"])
        assert checked.returncode == 0 and checked.stdout.startswith("ok:"), checked
        # Pinned to another key, the fetched proof is refused before it is printed.
        other = public_key_hex(Ed25519PrivateKey.generate())
        pinned = await asyncio.to_thread(
            cli, "ledger", "proof", *address, *wanted, "--public-key", other
        )
        assert pinned.returncode == 1 and pinned.stdout == "", pinned
        assert pinned.stderr.startswith("bad:"), pinned.stderr
        # No record: NOT_FOUND in one line, exit 2; DATA_DIR and --coordinator: refused.
        south = ("--site", "south", "--period", period)
        missing = await asyncio.to_thread(cli, "ledger", "proof", *address, *south)
        assert missing.returncode == 2 and "NOT_FOUND" in missing.stderr, missing
        assert len(missing.stderr.strip().splitlines()) == 1
        both = cli("ledger", "proof", data_dir, *address, *wanted)
        assert both.returncode == 2 and "--coordinator" in both.stderr, both

    def test_help_says_what_a_period_is(self) -> None:
        """--period is a number in units of the ledger's period, not a time: --help says so."""
        shown = cli("ledger", "proof", "--help")
        assert shown.returncode == 0
        text = " ".join(shown.stdout.split())
        assert "--coordinator" in text
        assert "Unix seconds divided by the ledger's period length in seconds" in text


class TestWatch:
    async def test_headers_stream_as_they_close_and_sigterm_ends_with_0(
        self, coordinator: Running
    ) -> None:
        """Closed headers after --after-period, then each new one, one JSON line each."""
        sites = Sites(coordinator)
        await sites.period(100)
        await until_recorded(coordinator.channel, 2)
        (first,) = await headers(coordinator.channel)
        address = f"127.0.0.1:{coordinator.port}"
        process = await watcher(
            "--coordinator", address, "--after-period", str(first.period - 1), "--json"
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            assert json.loads(line) == json.loads(first.header_json)
            await sites.period(100)  # a new period closes while watched
            line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
            second = json.loads(line)
            assert second["period"] > first.period and second["record_count"] == 2
            assert second["prev_hash"] == first.hash
        finally:
            process.send_signal(signal.SIGTERM)
            status = await asyncio.wait_for(process.wait(), timeout=20)
        assert status == 0
        assert process.stderr is not None
        assert b"Traceback" not in await process.stderr.read()

    async def test_ctrl_c_ends_a_text_watch_with_0(self, coordinator: Running) -> None:
        """Without --json a line per header as `ledger headers` prints it; SIGINT exits 0."""
        sites = Sites(coordinator)
        address = f"127.0.0.1:{coordinator.port}"
        # --after-period 1: every header (a watcher without it takes those closed after it
        # asked, and the first period may close before this one is asked on a busy machine).
        process = await watcher("--coordinator", address, "--after-period", "1")
        assert process.stdout is not None and process.stderr is not None
        try:
            await sites.period(100)
            line = (await asyncio.wait_for(process.stdout.readline(), timeout=20)).decode()
            await until_recorded(coordinator.channel, 2)
            (header,) = await headers(coordinator.channel)
            listed = await asyncio.to_thread(cli, "ledger", "headers", "--coordinator", address)
            assert line == listed.stdout
            assert line.split()[0] == str(header.period) and "2 records" in line
        finally:
            process.send_signal(signal.SIGINT)
            status = await asyncio.wait_for(process.wait(), timeout=20)
        assert status == 0
        assert b"Traceback" not in await process.stderr.read()

    async def test_no_coordinator_is_one_line_and_exit_2(self) -> None:
        from service.testing import free_port

        done = await asyncio.to_thread(
            cli, "ledger", "watch", "--coordinator", f"127.0.0.1:{free_port()}"
        )
        assert done.returncode == 2 and "UNAVAILABLE" in done.stderr, done


class TestSettleRemotePages:
    async def test_every_page_is_fetched_and_sums_to_the_local_settlement(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """A span past the message limit: all pages, statements equal `spillway settle`'s."""
        running = await _running(tmp_path / "data", registry, max_message_bytes=SMALL_MESSAGE_BYTES)
        try:
            await submit_and_plan(running, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
            start_s = int(time.time())
            sites = Sites(running)
            for _ in range(8):
                await sites.period(3600)
            await until_recorded(running.channel, 16)
            span = ("--from", str(start_s - 5), "--to", str(int(time.time()) + 1))
            address = ("--coordinator", f"127.0.0.1:{running.port}")
            remote = await asyncio.to_thread(cli, "ledger", "settle-remote", *address, *span)
        finally:
            await running.channel.close()
            await running.server.stop(0.5)
        assert remote.returncode == 0, remote.stderr
        data_dir = str(running.settings.data_dir)
        local = cli("settle", "--data-dir", data_dir, *span)
        assert local.returncode == 0, local.stderr
        whole, paged = json.loads(local.stdout), json.loads(remote.stdout)
        assert len(paged["pages"]) > 1  # the span did not fit one reply
        for kind in ("from_s", "to_s", "plants", "sites"):
            assert paged[kind] == whole[kind], kind
        assert len(whole["sites"]["north"]["periods"]) == 8
        assert whole["sites"]["north"]["curtailed_j_by_carrier"] == {"wind": 3600 * 36}
        # Each page is signed over its own sub-range, and they follow one another.
        for before, after in itertools.pairwise(paged["pages"]):
            assert after["from_s"] == before["to_s"]
        path = tmp_path / "remote.json"
        path.write_text(remote.stdout)
        checked = cli("ledger", "verify-certificate", str(path), data_dir)
        assert checked.returncode == 0, checked
        lines = checked.stdout.splitlines()
        assert len(lines) == 2 * len(paged["pages"]) and all(x.startswith("ok:") for x in lines)
        north = cli("ledger", "verify-certificate", str(path), data_dir, "--site", "north")
        assert north.stdout.splitlines() == ["ok: certificate of north matches the ledger"] * len(
            paged["pages"]
        )


class TestWatchEnds:
    async def test_a_stopping_coordinator_ends_the_watch_with_1(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """The coordinator stopping ends the stream: one line saying so, exit 1 (not 0)."""
        running = await _running(tmp_path / "data", registry)
        try:
            process = await watcher(
                "--coordinator", f"127.0.0.1:{running.port}", "--after-period", "1"
            )
            assert process.stdout is not None
            await Sites(running).period(100)  # a header read: the stream is open
            assert await asyncio.wait_for(process.stdout.readline(), timeout=20)
        finally:
            await running.channel.close()
            await running.server.stop(2.0)
        status = await asyncio.wait_for(process.wait(), timeout=20)
        assert process.stderr is not None
        said = (await process.stderr.read()).decode()
        assert status == 1, said
        assert said.strip().splitlines() == [
            "spillway: the coordinator ended the stream (it is stopping)"
        ]
