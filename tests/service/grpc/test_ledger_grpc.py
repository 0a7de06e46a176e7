"""The coordinator writes the ledger from signed telemetry; LedgerService serves it.

Real coordinators on loopback gRPC, real SQLite files, a real worker, the real
``spillway`` command for verification; periods are one second long.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from prometheus_client import CollectorRegistry
from spw_helpers import (
    AUTH,
    SPILLWAY,
    TOKEN,
    Running,
    know_site,
    make_settings,
    signed_telemetry,
    spawn,
)
from test_planner import submit_and_plan

import kernels
from service.errors import ConfigError
from service.ledger import EnergyRecord, Ledger, load_or_create_key, public_key_hex, read_jsonl
from service.ledger.keys import sign_telemetry, telemetry_signed
from service.rpc.convert import telemetry_to_proto, timestamp
from service.rpc.server import build_server
from service.testing import free_port
from service.worker.core import Worker
from service.worker.settings import WorkerSettings
from spillway.v1 import (
    ledger_pb2,
    ledger_pb2_grpc,
    miner_pb2,
    miner_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    planner_pb2,
)

PERIOD_S = 1.0


@pytest.fixture
async def coordinator(tmp_path: Path, registry: CollectorRegistry) -> AsyncIterator[Running]:
    """A coordinator with one-second ledger periods."""
    settings = make_settings(tmp_path / "data", period_s=PERIOD_S)
    server, port = await build_server(settings, registry=registry)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(server, port, channel, registry, settings)
    finally:
        await channel.close()
        await server.stop(0.5)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``spillway ARGS``, output captured."""
    return subprocess.run([*SPILLWAY, *args], capture_output=True, text=True, timeout=60)


async def report_periods(coordinator: Running, count: int, joules: int) -> None:
    """Workers at north and east report ``joules * n`` in the n-th of ``count`` periods."""
    keys = {site: Ed25519PrivateKey.generate() for site in ("north", "east")}
    workers = {site: await register(coordinator.channel, site, key) for site, key in keys.items()}
    for sequence in range(1, count + 1):
        for site, key in keys.items():
            signed = signed_telemetry(key, workers[site], site, sequence, joules * sequence, 7)
            await report(coordinator.channel, workers[site], signed)
        await asyncio.sleep(PERIOD_S)


def read_jsonl_text(text: str, folder: Path) -> tuple[str, list[Any]]:
    """An export's public key and periods, from its text."""
    path = folder / "export.jsonl"
    path.write_text(text)
    key, periods = read_jsonl(path)
    return key, list(periods)


def refused(running: Running, reason: str) -> float | None:
    """``spillway_ledger_telemetry_refused_total`` for ``reason``."""
    return running.registry.get_sample_value(
        "spillway_ledger_telemetry_refused_total", {"reason": reason}
    )


def bad_fields(exc: grpc.aio.AioRpcError) -> list[str]:
    """The fields a ``google.rpc.BadRequest`` detail names."""
    status = rpc_status.from_call(exc)
    assert status is not None
    fields = []
    for detail in status.details:
        request = error_details_pb2.BadRequest()
        if detail.Unpack(request):
            fields += [v.field for v in request.field_violations]
    return fields


async def register(
    channel: Any, site: str, key: Ed25519PrivateKey, name: str = "w1", max_power_w: float = 0.0
) -> str:
    """A worker's id; ``max_power_w`` 0 declares no max power (reports are not checked on it)."""
    stub = miner_pb2_grpc.WorkerServiceStub(channel)
    reply = await stub.RegisterWorker(
        miner_pb2.RegisterWorkerRequest(
            site=site,
            worker_name=name,
            backend="cpu",
            max_power_watts=max_power_w,
            telemetry_public_key=key.public_key().public_bytes_raw(),
        ),
        metadata=AUTH,
    )
    return str(reply.worker_id)


async def report(channel: Any, worker_id: str, signed: miner_pb2.SignedTelemetry) -> None:
    await miner_pb2_grpc.WorkerServiceStub(channel).ReportTelemetry(
        miner_pb2.ReportTelemetryRequest(
            worker_id=worker_id,
            interval=duration_pb2.Duration(seconds=2),
            power_watts=1.0,
            energy_joules=signed.energy_joules,
            hashes=signed.hashes,
            signed_telemetry=signed,
        ),
        metadata=AUTH,
    )


async def records(channel: Any, site: str = "") -> list[ledger_pb2.LedgerRecord]:
    stub = ledger_pb2_grpc.LedgerServiceStub(channel)
    return list((await stub.ListRecords(ledger_pb2.ListRecordsRequest(site=site))).records)


async def until_records(channel: Any, count: int, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while len(await records(channel)) < count:
        assert time.monotonic() < deadline, f"fewer than {count} ledger records"
        await asyncio.sleep(0.1)


class TestWorkerWritesLedger:
    async def test_worker_periods_verify_with_the_cli(
        self, coordinator: Running, tmp_path: Path
    ) -> None:
        """A real worker's energy becomes ledger periods that `spillway ledger verify` accepts."""
        await know_site(coordinator.channel, "north", "n1")
        await operator_pb2_grpc.OperatorServiceStub(coordinator.channel).SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site="north", budget_watts=3.0, duration=duration_pb2.Duration(seconds=120)
            ),
            metadata=AUTH,
        )
        backend = kernels.CpuBackend(threads=1)
        worker = Worker(
            WorkerSettings(
                coordinator=coordinator.address,
                site="north",
                worker_name="n1",
                data_dir=tmp_path / "w",
                auth_token=TOKEN,
                joules_per_hash=1e-6,
                telemetry_s=0.3,
            ),
            backend,
            CollectorRegistry(),
        )
        task = asyncio.create_task(worker.run())
        try:
            deadline = time.monotonic() + 30
            while sum(r.energy_joules > 0 for r in await records(coordinator.channel)) < 2:
                assert time.monotonic() < deadline, "no two periods with energy"
                await asyncio.sleep(0.2)
        finally:
            worker.stop.set()
            await task
            backend.close()
        data_dir = coordinator.settings.data_dir
        verified = cli("ledger", "verify", str(data_dir))
        assert verified.returncode == 0 and verified.stdout.startswith("ok:"), verified
        export = tmp_path / "ledger.jsonl"
        exported = cli("ledger", "export", str(data_dir), "--format", "jsonl")
        assert exported.returncode == 0, exported.stderr
        export.write_text(exported.stdout)
        worker_key = public_key_hex(
            load_or_create_key(tmp_path / "w" / "worker-north-n1_ed25519.pem")
        )
        _, periods = read_jsonl(export)
        recorded_j = 0
        for stored in periods:
            for body in stored.records:
                record = EnergyRecord.from_json(body)
                assert record.telemetry and all(telemetry_signed(t) for t in record.telemetry)
                assert {t.public_key for t in record.telemetry} == {worker_key}
                # The CPU backend's energy is the power model's, and says so, signed.
                assert {t.energy_measurement for t in record.telemetry} == {"modelled"}
                recorded_j += record.energy_j
        assert recorded_j > 0
        # One store: once the last staged period closes, the energy metric counts exactly
        # what the ledger's records hold (it counts records as their periods close).
        staged_j = await coordinator.server.coordinator.ledger.site_energy_j("north")
        assert staged_j >= recorded_j
        deadline = time.monotonic() + 15
        while sum(r.energy_joules for r in await records(coordinator.channel)) < staged_j:
            assert time.monotonic() < deadline, "the last staged period did not close"
            await asyncio.sleep(0.2)
        sample = coordinator.registry.get_sample_value
        counted_j = sum(
            sample("spillway_energy_joules_total", {"site": "north", "source": source}) or 0
            for source in ("grid", "curtailed")
        )
        assert counted_j == staged_j

    async def test_worker_drops_a_refused_report_and_carries_on(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """A report refused as invalid is dropped, not resent over an ever longer window."""
        # Every window "ends ahead" of a coordinator allowing an hour less than none.
        settings = make_settings(
            tmp_path / "data", period_s=PERIOD_S, telemetry_clock_skew_s=-3600.0
        )
        server, port = await build_server(settings, registry=registry)
        backend = kernels.CpuBackend(threads=1)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await know_site(channel, "north", "n1")
                await operator_pb2_grpc.OperatorServiceStub(channel).SetBudgetOverride(
                    operator_pb2.SetBudgetOverrideRequest(
                        site="north", budget_watts=3.0, duration=duration_pb2.Duration(seconds=60)
                    ),
                    metadata=AUTH,
                )
                worker = Worker(
                    WorkerSettings(
                        coordinator=f"127.0.0.1:{port}",
                        site="north",
                        worker_name="n1",
                        data_dir=tmp_path / "w",
                        auth_token=TOKEN,
                        joules_per_hash=1e-6,
                        telemetry_s=0.3,
                    ),
                    backend,
                    CollectorRegistry(),
                )
                task = asyncio.create_task(worker.run())
                refused_clock = {"reason": "clock"}
                sample = registry.get_sample_value
                try:
                    deadline = time.monotonic() + 30
                    while (
                        sample("spillway_ledger_telemetry_refused_total", refused_clock) or 0
                    ) < 4:
                        assert time.monotonic() < deadline, "fewer than 4 refused reports"
                        await asyncio.sleep(0.1)
                    assert worker.state.hashes > 0
                    # Dropped: what is left unreported is at most the last few intervals' work.
                    assert worker.state.unreported_hashes < worker.state.hashes / 2
                finally:
                    worker.stop.set()
                    await task
                assert await server.coordinator.ledger.site_energy_j("north") == 0
        finally:
            backend.close()
            await server.stop(0.5)


class TestRefusedTelemetry:
    async def test_forged_signature_is_refused(self, coordinator: Running) -> None:
        """Telemetry altered after signing, or signed by another key, is refused by field."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        altered = signed_telemetry(key, worker_id, "north", 1, 100, 1000)
        altered.energy_joules = 1_000_000
        other = signed_telemetry(Ed25519PrivateKey.generate(), worker_id, "north", 2, 100, 1000)
        for forged in (altered, other):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await report(coordinator.channel, worker_id, forged)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_fields(info.value) == ["signed_telemetry.signature"]
        assert await coordinator.server.coordinator.ledger.site_energy_j("north") == 0
        assert refused(coordinator, "bad_signature") == 2

    async def test_energy_measurement_mark_is_carried_and_signed(
        self, coordinator: Running
    ) -> None:
        """A report marked measured is recorded so; the mark changed after signing, or a
        number the contract does not define, is refused naming the field."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        # Signed here as a GPU worker signs it: this tests the coordinator and ledger, the
        # energy figure is no GPU's.
        measured = telemetry_to_proto(
            sign_telemetry(
                key,
                worker=worker_id,
                site="north",
                sequence=1,
                window_start_ms=time.time_ns() // 1_000_000 - 1000,
                window_end_ms=time.time_ns() // 1_000_000,
                energy_j=40,
                hashes=400,
                energy_measurement="measured",
            )
        )
        relabelled = miner_pb2.SignedTelemetry()
        relabelled.CopyFrom(measured)
        relabelled.sequence = 2
        relabelled.energy_measurement = miner_pb2.ENERGY_MEASUREMENT_MODELLED
        undefined = miner_pb2.SignedTelemetry()
        undefined.CopyFrom(measured)
        undefined.sequence = 3
        undefined.energy_measurement = 7  # type: ignore[assignment]
        for bad, field in (
            (relabelled, "signed_telemetry.signature"),
            (undefined, "signed_telemetry.energy_measurement"),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await report(coordinator.channel, worker_id, bad)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_fields(info.value) == [field]
        await report(coordinator.channel, worker_id, measured)
        await until_records(coordinator.channel, 1)
        (record,) = await records(coordinator.channel, "north")
        (telemetry,) = json.loads(record.record_json)["telemetry"]
        assert telemetry["energy_measurement"] == "measured"
        assert telemetry_signed(EnergyRecord.from_json(json.loads(record.record_json)).telemetry[0])

    async def test_replayed_report_is_refused(self, coordinator: Running) -> None:
        """A report sent again, or an older one, is refused; its energy counts once."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        older = signed_telemetry(key, worker_id, "north", 4, 50, 500)
        first = signed_telemetry(key, worker_id, "north", 5, 100, 1000)
        await report(coordinator.channel, worker_id, first)
        for replay in (first, older):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await report(coordinator.channel, worker_id, replay)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert bad_fields(info.value) == ["signed_telemetry.sequence"]
        assert await coordinator.server.coordinator.ledger.site_energy_j("north") == 100
        assert refused(coordinator, "replay") == 2

    async def test_window_ending_ahead_of_the_clock_is_refused(self, coordinator: Running) -> None:
        """A window ending past the skew allowance is refused naming its end; within, taken."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        now_ms = time.time_ns() // 1_000_000
        skew_ms = int(coordinator.settings.telemetry_clock_skew_s * 1000)
        ahead = (now_ms, now_ms + skew_ms + 60_000)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await report(
                coordinator.channel,
                worker_id,
                signed_telemetry(key, worker_id, "north", 1, 7, 7, window_ms=ahead),
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(info.value) == ["signed_telemetry.window_end_unix_ms"]
        assert "ahead of the coordinator's clock" in (info.value.details() or "")
        assert refused(coordinator, "clock") == 1
        # A worker clock a second fast is within the allowance.
        fast = (now_ms - 1000, now_ms + 1000)
        signed = signed_telemetry(key, worker_id, "north", 2, 5, 5, window_ms=fast)
        await report(coordinator.channel, worker_id, signed)
        assert await coordinator.server.coordinator.ledger.site_energy_j("north") == 5

    async def test_overlapping_window_is_refused(self, coordinator: Running) -> None:
        """A window starting before the last accepted one ended is refused; a contiguous one not."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        now_ms = time.time_ns() // 1_000_000
        first = (now_ms - 4000, now_ms - 2000)
        await report(
            coordinator.channel,
            worker_id,
            signed_telemetry(key, worker_id, "north", 1, 10, 1, window_ms=first),
        )
        overlapping = (now_ms - 3000, now_ms)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await report(
                coordinator.channel,
                worker_id,
                signed_telemetry(key, worker_id, "north", 2, 20, 2, window_ms=overlapping),
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(info.value) == ["signed_telemetry.window_start_unix_ms"]
        assert refused(coordinator, "overlap") == 1
        contiguous = (now_ms - 2000, now_ms)
        await report(
            coordinator.channel,
            worker_id,
            signed_telemetry(key, worker_id, "north", 3, 30, 3, window_ms=contiguous),
        )
        assert await coordinator.server.coordinator.ledger.site_energy_j("north") == 40

    async def test_power_above_declared_max_is_refused(self, coordinator: Running) -> None:
        """Energy above the declared max power over the window (and a second) is refused."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key, max_power_w=50)
        now_ms = time.time_ns() // 1_000_000
        window = (now_ms - 10_000, now_ms)  # 10 s: at most 50 W x (10 s + 1 s) = 550 J
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await report(
                coordinator.channel,
                worker_id,
                signed_telemetry(key, worker_id, "north", 1, 551, 1, window_ms=window),
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(info.value) == ["signed_telemetry.energy_joules"]
        assert "max_power_watts 50 W" in (info.value.details() or "")
        assert refused(coordinator, "power") == 1
        signed = signed_telemetry(key, worker_id, "north", 2, 550, 1, window_ms=window)
        await report(coordinator.channel, worker_id, signed)
        assert await coordinator.server.coordinator.ledger.site_energy_j("north") == 550

    def test_negative_clock_skew_is_a_config_error(self, tmp_path: Path) -> None:
        """`spillway serve` refuses a negative skew allowance at once, naming the flag."""
        done = cli("serve", "--telemetry-clock-skew-seconds", "-1", "--metrics-listen", "off",
                   "--data-dir", str(tmp_path / "data"))  # fmt: skip
        assert done.returncode == 2, done
        assert "--telemetry-clock-skew-seconds must be >= 0" in done.stderr
        assert not (tmp_path / "data").exists()

    async def test_unsigned_or_unregistered_telemetry_is_refused(
        self, coordinator: Running
    ) -> None:
        """No signed part, or no key registered, is INVALID_ARGUMENT naming the field."""
        key = Ed25519PrivateKey.generate()
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        reply = await stub.RegisterWorker(
            miner_pb2.RegisterWorkerRequest(site="east", worker_name="e1", backend="cpu"),
            metadata=AUTH,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ReportTelemetry(
                miner_pb2.ReportTelemetryRequest(
                    worker_id=reply.worker_id, interval=duration_pb2.Duration(seconds=1)
                ),
                metadata=AUTH,
            )
        assert bad_fields(info.value) == ["signed_telemetry"]
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await report(
                coordinator.channel,
                reply.worker_id,
                signed_telemetry(key, reply.worker_id, "east", 1, 5, 5),
            )
        assert bad_fields(info.value) == ["telemetry_public_key"]
        assert refused(coordinator, "unsigned") == refused(coordinator, "unknown_key") == 1
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.RegisterWorker(
                miner_pb2.RegisterWorkerRequest(
                    site="east", worker_name="e2", backend="cpu", telemetry_public_key=b"short"
                ),
                metadata=AUTH,
            )
        assert bad_fields(info.value) == ["telemetry_public_key"]


class TestLedgerService:
    async def test_served_open_and_reflected(self, coordinator: Running) -> None:
        """LedgerService is SERVING, listed by reflection, and read without a token."""
        health = health_pb2_grpc.HealthStub(coordinator.channel)
        reply = await health.Check(
            health_pb2.HealthCheckRequest(service="spillway.v1.LedgerService")
        )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        reflection = reflection_pb2_grpc.ServerReflectionStub(coordinator.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names: set[str] = set()
        async for answer in reflection.ServerReflectionInfo(iter([request])):
            names |= {s.name for s in answer.list_services_response.service}
        assert "spillway.v1.LedgerService" in names
        stub = ledger_pb2_grpc.LedgerServiceStub(coordinator.channel)
        headers = await stub.ListPeriodHeaders(ledger_pb2.ListPeriodHeadersRequest())
        assert list(headers.headers) == [] and len(headers.public_key) == 64
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.ListRecords(ledger_pb2.ListRecordsRequest(first_period=5, last_period=2))
        assert bad_fields(info.value) == ["last_period"]

    async def test_stream_and_proof(self, coordinator: Running, tmp_path: Path) -> None:
        """A newly closed period is streamed; its proof verifies with the CLI, altered it fails."""
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator.channel, "north", key)
        stub = ledger_pb2_grpc.LedgerServiceStub(coordinator.channel)
        stream = stub.WatchPeriodHeaders(ledger_pb2.WatchPeriodHeadersRequest())
        await report(
            coordinator.channel, worker_id, signed_telemetry(key, worker_id, "north", 1, 720, 9)
        )
        header = (await asyncio.wait_for(stream.read(), timeout=10)).header
        stream.cancel()
        assert header.record_count == 1
        listed = await stub.ListPeriodHeaders(ledger_pb2.ListPeriodHeadersRequest())
        assert list(listed.headers) == [header]
        reply = await stub.GetInclusionProof(
            ledger_pb2.GetInclusionProofRequest(site="north", period=header.period)
        )
        assert reply.header == header
        proof_path = tmp_path / "proof.json"
        proof_path.write_text(reply.proof_json)
        good = cli("ledger", "verify-proof", str(proof_path), "--public-key", listed.public_key)
        assert good.returncode == 0 and good.stdout.startswith("ok:"), good
        proof = json.loads(reply.proof_json)
        proof["record"]["energy_j"] += 1
        proof_path.write_text(json.dumps(proof))
        bad = cli("ledger", "verify-proof", str(proof_path), "--public-key", listed.public_key)
        assert bad.returncode == 1 and "Merkle root" in bad.stdout
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.GetInclusionProof(
                ledger_pb2.GetInclusionProofRequest(site="south", period=header.period)
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND

    async def test_settlement_matches_cli_and_records(
        self, coordinator: Running, tmp_path: Path
    ) -> None:
        """Settlement over gRPC equals `spillway settle` and the sums of the records."""
        plan = await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
        assert [p.plant for p in plan.plants] == ["wind"]
        keys = {site: Ed25519PrivateKey.generate() for site in ("north", "east")}
        workers = {
            site: await register(coordinator.channel, site, key) for site, key in keys.items()
        }
        start_s = int(time.time())
        for sequence in range(1, 4):
            for site, key in keys.items():
                signed = signed_telemetry(key, workers[site], site, sequence, 3600 * sequence, 7)
                await report(coordinator.channel, workers[site], signed)
            await asyncio.sleep(PERIOD_S)
        await until_records(coordinator.channel, 6)
        end_s = int(time.time()) + 1
        stub = ledger_pb2_grpc.LedgerServiceStub(coordinator.channel)
        reply = await stub.Settle(
            ledger_pb2.SettleRequest(from_time=timestamp(start_s - 5), to_time=timestamp(end_s))
        )
        settled = cli(
            "settle",
            "--data-dir",
            str(coordinator.settings.data_dir),
            "--from",
            str(start_s - 5),
            "--to",
            str(end_s),
        )
        assert settled.returncode == 0, settled.stderr
        assert json.loads(reply.settlement_json) == json.loads(settled.stdout)
        listed = await records(coordinator.channel)
        for account in reply.sites:
            mine = [r for r in listed if r.site == account.name]
            assert account.energy_joules == sum(r.energy_joules for r in mine) == 3600 * 6
            assert account.periods == [r.period for r in mine]
        # The plan has north mine curtailed wind: north's energy is all wind, east's all grid.
        north = next(a for a in reply.sites if a.name == "north")
        assert dict(north.curtailed_joules_by_carrier) == {"wind": 3600 * 6}
        (wind,) = reply.plants
        assert wind.name == "wind" and wind.energy_joules == 3600 * 6
        assert sum(r.owed_micro_by_plant["wind"] for r in listed if r.site == "north") == (
            wind.owed_micro
        )
        # Operators see the same figures: periods closed and energy recorded, by carrier.
        sample = coordinator.registry.get_sample_value
        headers = (await stub.ListPeriodHeaders(ledger_pb2.ListPeriodHeadersRequest())).headers
        assert sample("spillway_ledger_periods_closed_total") == len(headers)
        assert sample("spillway_ledger_records_total") == len(listed) == 6
        assert sample("spillway_ledger_last_period_end_timestamp_seconds") == (
            headers[-1].period_start_time.seconds + headers[-1].period_seconds
        )
        curtailed = {"site": "north", "carrier": "wind"}
        assert sample("spillway_ledger_curtailed_energy_joules_total", curtailed) == 3600 * 6
        assert sample("spillway_ledger_grid_energy_joules_total", {"site": "east"}) == 3600 * 6
        assert sample("spillway_ledger_grid_energy_joules_total", {"site": "north"}) == 0
        certificate = json.loads(reply.certificates_json["north"])
        assert certificate["curtailed_j_by_carrier"] == {"wind": 3600 * 6}
        path = tmp_path / "north.json"
        path.write_text(reply.certificates_json["north"])
        data_dir = str(coordinator.settings.data_dir)
        checked = cli("ledger", "verify-certificate", str(path), data_dir)
        assert checked.returncode == 0 and checked.stdout.startswith("ok:"), checked

    async def test_cli_reads_what_settle_writes_and_the_ledger_over_grpc(
        self, coordinator: Running, tmp_path: Path
    ) -> None:
        """verify-certificate takes `spillway settle`'s output; `ledger list` reads over gRPC."""
        await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
        start_s = int(time.time())
        await report_periods(coordinator, 2, 3600)
        await until_records(coordinator.channel, 4)
        data_dir = str(coordinator.settings.data_dir)
        span = ("--from", str(start_s - 5), "--to", str(int(time.time()) + 1))
        settled = cli("settle", "--data-dir", data_dir, *span)
        assert settled.returncode == 0, settled.stderr
        settlement = tmp_path / "settlement.json"
        settlement.write_text(settled.stdout)
        # The whole output: every certificate in it is checked, one line each.
        checked = cli("ledger", "verify-certificate", str(settlement), data_dir)
        assert checked.returncode == 0, checked
        assert checked.stdout.splitlines() == [
            "ok: certificate of east matches the ledger",
            "ok: certificate of north matches the ledger",
        ]
        one = cli("ledger", "verify-certificate", str(settlement), data_dir, "--site", "north")
        assert one.stdout.splitlines() == ["ok: certificate of north matches the ledger"]
        missing = cli("ledger", "verify-certificate", str(settlement), data_dir, "--site", "west")
        assert (
            missing.returncode == 2
            and "west" in missing.stderr
            and "east, north" in (missing.stderr)
        )
        # A certificate whose figures were changed fails, and says whose.
        body = json.loads(settled.stdout)
        body["certificates"]["north"]["from_s"] += 1
        settlement.write_text(json.dumps(body))
        tampered = cli("ledger", "verify-certificate", str(settlement), data_dir)
        assert tampered.returncode == 1
        assert "bad: certificate of north" in tampered.stdout
        assert "ok: certificate of east" in tampered.stdout
        # The gRPC readers: a thread, since this loop serves the coordinator.
        address = ("--coordinator", f"127.0.0.1:{coordinator.port}")
        listed = await asyncio.to_thread(cli, "ledger", "list", *address, "--json")
        assert listed.returncode == 0, listed.stderr
        over_grpc = [json.loads(line) for line in listed.stdout.splitlines()]
        exported = cli("ledger", "export", data_dir, "--format", "jsonl")
        _, periods = read_jsonl_text(exported.stdout, tmp_path)
        assert over_grpc == [body for stored in periods for body in stored.records]
        table = await asyncio.to_thread(cli, "ledger", "list", *address, "--site", "north")
        lines = table.stdout.splitlines()
        assert lines[0].split()[:3] == ["PERIOD", "SITE", "ENERGY"]
        assert [line.split()[1] for line in lines[1:-1]] == ["north", "north"]
        assert lines[-1] == "2 records"
        headers = await asyncio.to_thread(cli, "ledger", "headers", *address)
        assert headers.returncode == 0 and len(headers.stdout.splitlines()) == len(periods)
        remote = await asyncio.to_thread(cli, "ledger", "settle-remote", *address, *span)
        assert remote.returncode == 0, remote.stderr
        assert json.loads(remote.stdout) == json.loads(settled.stdout)
        down = await asyncio.to_thread(
            cli, "ledger", "list", "--coordinator", f"127.0.0.1:{free_port()}"
        )
        assert down.returncode == 2 and "UNAVAILABLE" in down.stderr


class TestEnergyMetricFollowsLedger:
    async def test_metric_equals_ledger_sums_during_an_override(self, coordinator: Running) -> None:
        """During an override (a "grid" budget), the energy metric splits as the ledger does.

        The plan has north mine curtailed wind; an override replaces north's budget with
        one whose own label is "grid". The ledger attributes north's energy against the
        plan (all wind); the metric must say the same, per site and source.
        """
        await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
        await operator_pb2_grpc.OperatorServiceStub(coordinator.channel).SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site="north", budget_watts=3.0, duration=duration_pb2.Duration(seconds=60)
            ),
            metadata=AUTH,
        )
        await report_periods(coordinator, 3, 128)
        await until_records(coordinator.channel, 6)
        listed = await records(coordinator.channel)
        sample = coordinator.registry.get_sample_value
        for site in ("north", "east"):
            mine = [r for r in listed if r.site == site]
            grid_j = sum(r.grid_energy_joules for r in mine)
            curtailed_j = sum(sum(r.curtailed_joules_by_plant.values()) for r in mine)
            assert grid_j + curtailed_j == 128 * 6
            assert sample("spillway_energy_joules_total", {"site": site, "source": "grid"}) == (
                grid_j
            ), site
            assert sample(
                "spillway_energy_joules_total", {"site": site, "source": "curtailed"}
            ) == (curtailed_j), site
        # What the override's label would have said is not what is counted: north is wind.
        assert sample("spillway_energy_joules_total", {"site": "north", "source": "grid"}) == 0
        assert sample("spillway_energy_joules_total", {"site": "north", "source": "curtailed"}) == (
            128 * 6
        )


class TestContractPrice:
    async def test_contract_price_is_what_the_plant_is_owed(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """With --contract-prices, a plant is paid its contract price for the energy it gave."""
        prices = tmp_path / "prices.csv"
        prices.write_text("plant,price_per_mwh\nwind,42.5\n")
        settings = make_settings(tmp_path / "data", period_s=PERIOD_S, contract_prices=prices)
        server, port = await build_server(settings, registry=registry)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                running = Running(server, port, channel, registry, settings)
                await submit_and_plan(running, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
                key = Ed25519PrivateKey.generate()
                worker_id = await register(channel, "north", key)
                joules = 36_000_000  # 0.01 MWh
                await report(
                    channel, worker_id, signed_telemetry(key, worker_id, "north", 1, joules, 1)
                )
                await until_records(channel, 1)
                (record,) = await records(channel)
        finally:
            await server.stop(0.5)
        body = json.loads(record.record_json)
        assert body["curtailed_j"] == {"wind": joules}
        assert body["price_micro_per_mwh"] == {"wind": 42_500_000}
        assert dict(record.owed_micro_by_plant) == {"wind": 425_000}  # 0.01 MWh x 42.5

    @pytest.mark.parametrize("content", [None, "plant,price_per_mwh\nwind,-1\n"])
    async def test_bad_contract_prices_leave_nothing_open(
        self, tmp_path: Path, content: str | None
    ) -> None:
        """A missing or bad prices file fails the start naming it, holding no file or thread."""
        prices = tmp_path / "prices.csv"
        if content is not None:
            prices.write_text(content)
        data_dir = tmp_path / "data"
        settings = make_settings(data_dir, period_s=PERIOD_S, contract_prices=prices)
        with pytest.raises(ConfigError, match="contract_prices"):
            await build_server(settings, registry=CollectorRegistry())
        gc.collect()  # an unclosed sqlite3 connection would only now show up, if at all
        held = [
            link.readlink()
            for link in Path("/proc/self/fd").iterdir()
            if link.is_symlink() and str(data_dir) in str(link.readlink())
        ]
        assert held == [], held
        assert not [t for t in threading.enumerate() if t.name.startswith("spillway-ledger")]
        # The same data directory starts at once with a readable file.
        prices.write_text("plant,price_per_mwh\nwind,1\n")
        server, _ = await build_server(settings, registry=CollectorRegistry())
        await server.stop(0)


class TestRestart:
    def test_open_period_survives_sigkill(self, tmp_path: Path) -> None:
        """A period open when the coordinator is SIGKILLed closes on restart; replays stay out."""
        data_dir, token, port = tmp_path / "data", tmp_path / "token", free_port()
        token.write_text(TOKEN)
        period_s = 3.0
        proc = spawn(
            ["serve", "--grpc-listen", f"127.0.0.1:{port}", "--metrics-listen", "off",
             "--data-dir", str(data_dir), "--auth-token-file", str(token),
             "--period-seconds", str(period_s), "--hash-threads", "1"],
            tmp_path / "serve.log",
        )  # fmt: skip
        key = Ed25519PrivateKey.generate()

        async def before() -> tuple[str, miner_pb2.SignedTelemetry]:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await asyncio.wait_for(channel.channel_ready(), timeout=30)
                worker_id = await register(channel, "north", key)
                # Report early in a period, so the kill lands before the period ends.
                while time.time() % period_s > 0.5:
                    await asyncio.sleep(0.05)
                signed = signed_telemetry(key, worker_id, "north", 7, 4242, 99)
                await report(channel, worker_id, signed)
                return worker_id, signed

        try:
            worker_id, signed = asyncio.run(before())
        finally:
            proc.kill()
            proc.wait(timeout=10)
        with Ledger(data_dir, read_only=True) as ledger:
            assert ledger.last_header() is None  # killed with the period open
            assert [p.period_s for p in ledger.pending_periods()] == [3]
        time.sleep(period_s)  # the period has ended by the time the coordinator is back

        async def after() -> tuple[list[ledger_pb2.LedgerRecord], grpc.StatusCode]:
            settings = make_settings(data_dir, period_s=period_s)
            server, new_port = await build_server(settings, registry=CollectorRegistry())
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{new_port}") as channel:
                    with pytest.raises(grpc.aio.AioRpcError) as info:
                        await report(channel, worker_id, signed)
                    return await records(channel), info.value.code()
            finally:
                await server.stop(0.5)

        listed, replay_code = asyncio.run(after())
        assert replay_code == grpc.StatusCode.INVALID_ARGUMENT
        assert [(r.site, r.energy_joules, r.hashes) for r in listed] == [("north", 4242, 99)]
        verified = cli("ledger", "verify", str(data_dir))
        assert verified.returncode == 0 and "1 records" in verified.stdout, verified


class TestPaging:
    async def test_long_ranges_come_in_whole_period_pages(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """Past half the message limit a listing stops at a whole period and says where."""
        settings = make_settings(tmp_path / "data", period_s=PERIOD_S, max_message_bytes=16384)
        server, port = await build_server(settings, registry=registry)
        ledger = server.coordinator.ledger
        now_s = [time.time()]
        ledger.clock = lambda: now_s[0]  # one period per report, without waiting for it
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                key = Ed25519PrivateKey.generate()
                worker_id = await register(channel, "north", key)
                for sequence in range(1, 41):
                    signed = signed_telemetry(key, worker_id, "north", sequence, 10, 10)
                    await report(channel, worker_id, signed)
                    now_s[0] += PERIOD_S
                await ledger.close_due(None)
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                pages, listed, first = 0, [], 0
                while True:
                    page = await stub.ListRecords(ledger_pb2.ListRecordsRequest(first_period=first))
                    pages, listed = pages + 1, listed + list(page.records)
                    if not page.next_period:
                        break
                    first = page.next_period
                headers, first = [], 0
                while True:
                    more = await stub.ListPeriodHeaders(
                        ledger_pb2.ListPeriodHeadersRequest(first_period=first)
                    )
                    headers += list(more.headers)
                    if not more.next_period:
                        break
                    first = more.next_period
        finally:
            await server.stop(0.5)
        assert pages > 1 and len(listed) == 40
        assert [r.period for r in listed] == sorted({r.period for r in listed})
        assert [h.period for h in headers] == [r.period for r in listed]

    async def test_long_settlement_comes_in_whole_period_pages(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """A settlement past the message limit comes in pages that add up to the whole range."""
        max_message_bytes = 16384
        settings = make_settings(
            tmp_path / "data", period_s=PERIOD_S, max_message_bytes=max_message_bytes
        )
        server, port = await build_server(settings, registry=registry)
        ledger = server.coordinator.ledger
        start_s = int(time.time())
        now_s = [float(start_s)]
        ledger.clock = lambda: now_s[0]  # one period per round of reports, without waiting
        sites = ("north", "east", "south")
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                keys = {site: Ed25519PrivateKey.generate() for site in sites}
                workers = {site: await register(channel, site, keys[site]) for site in sites}
                for sequence in range(1, 61):
                    for site in sites:
                        signed = signed_telemetry(
                            keys[site], workers[site], site, sequence, 1000 + sequence, 1
                        )
                        await report(channel, workers[site], signed)
                    now_s[0] += PERIOD_S
                await ledger.close_due(None)
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                to_time = timestamp(now_s[0] + 1)
                pages, from_time = [], timestamp(start_s - 1)
                while True:
                    page = await stub.Settle(
                        ledger_pb2.SettleRequest(from_time=from_time, to_time=to_time)
                    )
                    assert page.ByteSize() <= max_message_bytes
                    pages.append(page)
                    if not page.HasField("next_from_time"):
                        break
                    assert page.next_from_time.seconds > from_time.seconds
                    from_time = page.next_from_time
        finally:
            await server.stop(0.5)
        assert len(pages) > 2
        for site in sites:
            settled = [a for page in pages for a in page.sites if a.name == site]
            periods = [p for account in settled for p in account.periods]
            assert len(periods) == len(set(periods)) == 60  # every period once, across pages
            total_j = sum(account.energy_joules for account in settled)
            assert total_j == sum(1000 + sequence for sequence in range(1, 61))
        # Each page is `spillway settle` of its own sub-range, and its certificates check.
        data_dir = str(settings.data_dir)
        page = json.loads(pages[1].settlement_json)
        assert page["to_s"] == pages[1].next_from_time.seconds
        settled = cli("settle", "--data-dir", data_dir, "--from", str(page["from_s"]),
                      "--to", str(page["to_s"]))  # fmt: skip
        assert settled.returncode == 0, settled.stderr
        assert json.loads(settled.stdout) == page
        certificate = tmp_path / "north.json"
        certificate.write_text(pages[1].certificates_json["north"])
        checked = cli("ledger", "verify-certificate", str(certificate), data_dir)
        assert checked.returncode == 0 and checked.stdout.startswith("ok:"), checked

    async def test_period_too_large_for_a_message_is_resource_exhausted(
        self, tmp_path: Path, registry: CollectorRegistry
    ) -> None:
        """When even one period's settlement passes the limit, the error says so and where."""
        settings = make_settings(tmp_path / "data", period_s=PERIOD_S, max_message_bytes=1500)
        server, port = await build_server(settings, registry=registry)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                key = Ed25519PrivateKey.generate()
                worker_id = await register(channel, "north", key)
                signed = signed_telemetry(key, worker_id, "north", 1, 10, 1)
                await report(channel, worker_id, signed)
                await until_records(channel, 1)
                stub = ledger_pb2_grpc.LedgerServiceStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.Settle(
                        ledger_pb2.SettleRequest(
                            from_time=timestamp(time.time() - 60), to_time=timestamp(time.time())
                        )
                    )
        finally:
            await server.stop(0.5)
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "to_time" in (info.value.details() or "")
        assert "spillway settle" in (info.value.details() or "")
