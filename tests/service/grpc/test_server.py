"""The coordinator over real loopback gRPC: health, reflection, auth, errors, operator calls."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import grpc
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from grpc_status import rpc_status
from spw_helpers import AUTH, Running, signed_telemetry

import kernels
from service.rpc.convert import timestamp
from spillway.v1 import (
    common_pb2,
    miner_pb2,
    miner_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)


def bad_fields(error: grpc.aio.AioRpcError) -> list[str]:
    """The field names of a ``google.rpc.BadRequest`` in an error's details."""
    status = rpc_status.from_call(error)
    assert status is not None, "no rich status"
    fields = []
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad):
            fields.extend(v.field for v in bad.field_violations)
    return fields


class TestHealthAndReflection:
    async def test_health_serving(self, coordinator: Running) -> None:
        """The standard health service reports SERVING for the server and each service."""
        stub = health_pb2_grpc.HealthStub(coordinator.channel)
        for name in ("", "spillway.v1.WorkerService", "spillway.v1.OperatorService"):
            reply = await stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

    async def test_reflection_lists_services(self, coordinator: Running) -> None:
        """Server reflection lists the Spillway services."""
        stub = reflection_pb2_grpc.ServerReflectionStub(coordinator.channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        names: set[str] = set()
        async for reply in stub.ServerReflectionInfo(iter([request])):
            names |= {s.name for s in reply.list_services_response.service}
        assert {"spillway.v1.WorkerService", "spillway.v1.HashingService"} <= names


class TestAuth:
    async def test_state_change_needs_token(self, coordinator: Running) -> None:
        """No token: UNAUTHENTICATED; a wrong one: PERMISSION_DENIED; nothing stored."""
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        request = operator_pb2.PauseSiteRequest(
            site="alpha", duration=duration_pb2.Duration(seconds=60)
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.PauseSite(request)
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.PauseSite(request, metadata=(("authorization", "Bearer wrong"),))
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        status = await stub.GetStatus(operator_pb2.GetStatusRequest())
        assert [s.site for s in status.sites] == []  # nothing stored

    async def test_forecasts_and_prices_need_token(self, coordinator: Running) -> None:
        """UpdateForecast and PushPrices change what budgets will be: no token is
        UNAUTHENTICATED (checked before the request is looked at)."""
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateForecast(planner_pb2.UpdateForecastRequest())
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.PushPrices(planner_pb2.PushPricesRequest())
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED

    async def test_search_needs_token(self, coordinator: Running) -> None:
        """SearchNonces spends the coordinator's CPU: no token is UNAUTHENTICATED."""
        stub = miner_pb2_grpc.HashingServiceStub(coordinator.channel)
        request = miner_pb2.SearchNoncesRequest(header=bytes(76), bits=0x1D00FFFF, nonce_count=1)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.SearchNonces(request):
                pass
        assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.SearchNonces(request, metadata=(("authorization", "Bearer x"),)):
                pass
        assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
        replies = [r async for r in stub.SearchNonces(request, metadata=AUTH)]
        assert replies[-1].done

    async def test_reads_stay_open(self, coordinator: Running) -> None:
        """GetStatus needs no token."""
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        reply = await stub.GetStatus(operator_pb2.GetStatusRequest())
        assert reply.server_time.seconds > 0


class TestBadInput:
    async def test_invalid_override_names_fields(self, coordinator: Running) -> None:
        """INVALID_ARGUMENT carries a BadRequest naming every wrong field; nothing is stored."""
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        request = operator_pb2.SetBudgetOverrideRequest(
            site="bad site!", budget_watts=-5, duration=duration_pb2.Duration(seconds=0)
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SetBudgetOverride(request, metadata=AUTH)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(bad_fields(info.value)) == {"site", "budget_watts", "duration"}
        assert "budget_watts" in (info.value.details() or "")
        status = await stub.GetStatus(operator_pb2.GetStatusRequest())
        assert list(status.sites) == []

    async def test_unparsable_bytes_are_invalid_argument(self, coordinator: Running) -> None:
        """Bytes that are not the request message get INVALID_ARGUMENT, not INTERNAL."""
        call = coordinator.channel.unary_unary(
            "/spillway.v1.OperatorService/GetStatus",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await call(b"\xff\xff\xff")
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    async def test_unknown_worker_is_not_found(self, coordinator: Running) -> None:
        """An unknown worker id is NOT_FOUND."""
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SubmitShares(
                miner_pb2.SubmitSharesRequest(worker_id="nobody"), metadata=AUTH
            )
        assert info.value.code() == grpc.StatusCode.NOT_FOUND


class TestWorkerNames:
    async def test_second_live_worker_with_the_name_and_another_key_is_refused(
        self, coordinator: Running
    ) -> None:
        """Two replicas under one name: the second (another key) is ALREADY_EXISTS while
        the first streams; the same key re-registers (a restart); once it left, it may."""
        first, second = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
        worker_id = await register(coordinator, site="alpha", name="w", key=first)
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id), metadata=AUTH)
        await stream.read()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await register(coordinator, site="alpha", name="w", key=second)
        assert info.value.code() == grpc.StatusCode.ALREADY_EXISTS
        assert "'w'" in (info.value.details() or "")
        assert await register(coordinator, site="alpha", name="w", key=first) == worker_id
        stream.cancel()
        live = coordinator.server.coordinator.live[worker_id]
        for _ in range(100):
            if live.streams == 0:
                break
            await asyncio.sleep(0.05)
        assert await register(coordinator, site="alpha", name="w", key=second) == worker_id


class TestBudgets:
    async def test_override_outranks_schedule_then_expires(self, coordinator: Running) -> None:
        """A pushed schedule drives the site; an override outranks it until it is cleared."""
        await register(coordinator, site="alpha")
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        now = time.time()
        await stub.PushSchedule(
            operator_pb2.PushScheduleRequest(
                entries=[
                    operator_pb2.ScheduledBudget(
                        site="alpha",
                        start_time=timestamp(now - 10),
                        duration=duration_pb2.Duration(seconds=3600),
                        budget_watts=40.0,
                        energy_source=common_pb2.ENERGY_SOURCE_CURTAILED,
                    )
                ]
            ),
            metadata=AUTH,
        )
        site = (await stub.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
        assert (site.budget_watts, site.budget_source) == (40.0, common_pb2.BUDGET_SOURCE_SCHEDULE)
        await stub.SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site="alpha", budget_watts=7.5, duration=duration_pb2.Duration(seconds=60)
            ),
            metadata=AUTH,
        )
        site = (await stub.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
        assert (site.budget_watts, site.budget_source) == (7.5, common_pb2.BUDGET_SOURCE_OVERRIDE)
        cleared = await stub.ClearBudgetOverride(
            operator_pb2.ClearBudgetOverrideRequest(site="alpha"), metadata=AUTH
        )
        assert cleared.cleared
        site = (await stub.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
        assert site.budget_source == common_pb2.BUDGET_SOURCE_SCHEDULE

    async def test_nothing_covers_now_means_zero(self, coordinator: Running) -> None:
        """A schedule in the past leaves the safe budget: zero."""
        await register(coordinator, site="beta")
        stub = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        await stub.PushSchedule(
            operator_pb2.PushScheduleRequest(
                entries=[
                    operator_pb2.ScheduledBudget(
                        site="beta",
                        start_time=timestamp(time.time() - 7200),
                        duration=duration_pb2.Duration(seconds=3600),
                        budget_watts=40.0,
                    )
                ]
            ),
            metadata=AUTH,
        )
        site = (await stub.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
        assert (site.budget_watts, site.budget_source) == (0.0, common_pb2.BUDGET_SOURCE_NONE)


async def register(
    coordinator: Running,
    site: str = "alpha",
    name: str = "w1",
    key: Ed25519PrivateKey | None = None,
) -> str:
    stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
    reply = await stub.RegisterWorker(
        miner_pb2.RegisterWorkerRequest(
            site=site,
            worker_name=name,
            backend="cpu",
            hashrate_hashes_per_second=1e6,
            max_power_watts=50,
            telemetry_public_key=key.public_key().public_bytes_raw() if key else b"",
        ),
        metadata=AUTH,
    )
    return str(reply.worker_id)


def solve(job: miner_pb2.MiningJob) -> int:
    """The first nonce meeting the job's share target."""
    target = int.from_bytes(job.share_target, "big")
    result = kernels.search(job.header_prefix, target, 0, 1 << 24, backend="cpu", threads=1)
    assert result.found
    return result.found[0].nonce


class TestWorkFlow:
    async def test_stream_shares_dedup(self, coordinator: Running) -> None:
        """A worker gets a job and a budget; a real share is accepted once, then DUPLICATE."""
        worker_id = await register(coordinator)
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id), metadata=AUTH)
        first = await stream.read()
        second = await stream.read()
        stream.cancel()
        assert first.WhichOneof("directive") == "job"
        assert second.power_budget.budget_watts == 0.0
        job = first.job
        nonce = await asyncio.to_thread(solve, job)
        ntime = int.from_bytes(job.header_prefix[68:72], "little")
        share = miner_pb2.Share(share_id="s1", job_id=job.job_id, ntime=ntime, nonce=nonce)
        bad = miner_pb2.Share(share_id="s2", job_id="nope", ntime=ntime, nonce=nonce)
        reply = await stub.SubmitShares(
            miner_pb2.SubmitSharesRequest(worker_id=worker_id, shares=[share, bad]), metadata=AUTH
        )
        assert [a.result for a in reply.acks] == [
            miner_pb2.SHARE_RESULT_ACCEPTED,
            miner_pb2.SHARE_RESULT_REJECTED_UNKNOWN_JOB,
        ]
        again = await stub.SubmitShares(
            miner_pb2.SubmitSharesRequest(worker_id=worker_id, shares=[share]), metadata=AUTH
        )
        assert again.acks[0].result == miner_pb2.SHARE_RESULT_DUPLICATE
        store = coordinator.server.store
        assert await store.run(store.store.share_count) == 1
        sample = coordinator.registry.get_sample_value
        assert sample("spillway_shares_total", {"result": "accepted"}) == 1
        assert sample("spillway_shares_total", {"result": "duplicate"}) == 1
        labels = {
            "grpc_type": "unary",
            "grpc_service": "spillway.v1.WorkerService",
            "grpc_method": "SubmitShares",
            "grpc_code": "OK",
        }
        assert sample("grpc_server_handled_total", labels) == 2

    async def test_override_reaches_stream_at_once(self, coordinator: Running) -> None:
        """An override is streamed to the site's worker without waiting for a period."""
        worker_id = await register(coordinator)
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        stream = stub.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker_id), metadata=AUTH)
        await stream.read()
        await stream.read()
        ops = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        await ops.SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site="alpha", budget_watts=12.0, duration=duration_pb2.Duration(seconds=60)
            ),
            metadata=AUTH,
        )
        reply: Any = await asyncio.wait_for(stream.read(), timeout=2)
        stream.cancel()
        assert reply.power_budget.budget_watts == 12.0
        assert reply.power_budget.source == common_pb2.BUDGET_SOURCE_OVERRIDE


class TestHashing:
    async def test_search_finds_real_block_nonce(
        self, coordinator: Running, mainnet_headers: list[Any]
    ) -> None:
        """SearchNonces finds a mainnet block's own nonce and streams progress to done."""
        block = mainnet_headers[0]
        stub = miner_pb2_grpc.HashingServiceStub(coordinator.channel)
        request = miner_pb2.SearchNoncesRequest(
            header=block.header, bits=block.bits, nonce_start=block.nonce - 1000, nonce_count=2000
        )
        replies = [r async for r in stub.SearchNonces(request, metadata=AUTH)]
        assert replies[-1].done and replies[-1].hashes_done == 2000
        found = [f for r in replies for f in r.found]
        assert [f.nonce for f in found] == [block.nonce]
        assert found[0].hash_display_hex == block.block_hash_display

    async def test_bad_search_names_field(self, coordinator: Running) -> None:
        """A short header is INVALID_ARGUMENT naming header."""
        stub = miner_pb2_grpc.HashingServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.SearchNonces(
                miner_pb2.SearchNoncesRequest(header=b"x", bits=0x1D00FFFF, nonce_count=1),
                metadata=AUTH,
            ):
                pass
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert bad_fields(info.value) == ["header"]

    async def test_cancel_stops_search(self, coordinator: Running) -> None:
        """Cancelling a whole-range search ends it within a batch or two."""
        stub = miner_pb2_grpc.HashingServiceStub(coordinator.channel)
        call = stub.SearchNonces(
            miner_pb2.SearchNoncesRequest(header=bytes(76), bits=0x1D00FFFF, nonce_count=1 << 32),
            metadata=AUTH,
        )
        await call.read()
        call.cancel()
        labels = {
            "grpc_type": "server_stream",
            "grpc_service": "spillway.v1.HashingService",
            "grpc_method": "SearchNonces",
            "grpc_code": "CANCELLED",
        }
        for _ in range(50):
            if coordinator.registry.get_sample_value("grpc_server_handled_total", labels):
                break
            await asyncio.sleep(0.1)
        assert coordinator.registry.get_sample_value("grpc_server_handled_total", labels) == 1


class TestLedgerAndLimits:
    async def test_telemetry_fills_ledger_by_source(self, coordinator: Running) -> None:
        """Signed energy is staged for the ledger; the energy metric waits for the period's close.

        A pushed schedule labels the budget "curtailed", but the ledger attributes energy
        against the plan when the period closes (there is none here): until then the
        coordinator counts none of it under either source.
        """
        key = Ed25519PrivateKey.generate()
        worker_id = await register(coordinator, site="gamma", key=key)
        ops = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        await ops.PushSchedule(
            operator_pb2.PushScheduleRequest(
                entries=[
                    operator_pb2.ScheduledBudget(
                        site="gamma",
                        start_time=timestamp(time.time() - 5),
                        duration=duration_pb2.Duration(seconds=600),
                        budget_watts=10.0,
                        energy_source=common_pb2.ENERGY_SOURCE_CURTAILED,
                    )
                ]
            ),
            metadata=AUTH,
        )
        stub = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        await stub.ReportTelemetry(
            miner_pb2.ReportTelemetryRequest(
                worker_id=worker_id,
                interval=duration_pb2.Duration(seconds=2),
                power_watts=5.0,
                energy_joules=10.0,
                hashes=1000,
                hashrate_hashes_per_second=500.0,
                signed_telemetry=signed_telemetry(key, worker_id, "gamma", 1, 10, 1000),
            ),
            metadata=AUTH,
        )
        assert await coordinator.server.coordinator.ledger.site_energy_j("gamma") == 10
        sample = coordinator.registry.get_sample_value
        for source in ("curtailed", "grid"):
            assert sample("spillway_energy_joules_total", {"site": "gamma", "source": source}) == 0
        status = await ops.GetStatus(operator_pb2.GetStatusRequest())
        assert status.sites[0].energy_joules == 10.0

    async def test_oversized_message_is_resource_exhausted(self, coordinator: Running) -> None:
        """A request past the message limit is RESOURCE_EXHAUSTED and stores nothing."""
        ops = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await ops.PushSchedule(
                operator_pb2.PushScheduleRequest(reason="x" * (5 << 20)), metadata=AUTH
            )
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert list((await ops.GetStatus(operator_pb2.GetStatusRequest())).sites) == []

    async def test_search_slots_are_bounded(self, coordinator: Running) -> None:
        """Past max_searches concurrent searches, another is RESOURCE_EXHAUSTED."""
        stub = miner_pb2_grpc.HashingServiceStub(coordinator.channel)
        request = miner_pb2.SearchNoncesRequest(
            header=bytes(76), bits=0x1D00FFFF, nonce_count=1 << 32
        )
        running = [
            stub.SearchNonces(request, metadata=AUTH)
            for _ in range(coordinator.settings.max_searches)
        ]
        for call in running:
            await call.read()
        with pytest.raises(grpc.aio.AioRpcError) as info:
            async for _ in stub.SearchNonces(request, metadata=AUTH):
                pass
        for call in running:
            call.cancel()
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


class TestRateLimit:
    async def test_past_rate_limit_is_resource_exhausted(
        self, tmp_path: Any, registry: Any
    ) -> None:
        """A client past its calls per second gets RESOURCE_EXHAUSTED, then recovers."""
        from spw_helpers import make_settings

        from service.rpc.server import build_server

        settings = make_settings(tmp_path, rate_limit_per_s=5.0, rate_limit_burst=3.0)
        server, port = await build_server(settings, registry=registry)
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = operator_pb2_grpc.OperatorServiceStub(channel)
                codes = []
                for _ in range(6):
                    try:
                        await stub.GetStatus(operator_pb2.GetStatusRequest())
                        codes.append(grpc.StatusCode.OK)
                    except grpc.aio.AioRpcError as exc:
                        codes.append(exc.code())
                assert codes[:3] == [grpc.StatusCode.OK] * 3
                assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes[3:]
                await asyncio.sleep(0.5)
                await stub.GetStatus(operator_pb2.GetStatusRequest())
        finally:
            await server.stop(0)
