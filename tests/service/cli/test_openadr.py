"""The coordinator as an OpenADR VEN: openleadr's own VTN caps and prices a site's streamed
budget."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from prometheus_client import CollectorRegistry
from spw_helpers import AUTH, know_site, make_settings, next_budget, next_change, until

from service.cli.operator import format_status
from service.rpc.convert import timestamp
from service.rpc.server import build_server
from service.signals.price_rule import PriceRule
from service.signals.ven import VenSettings
from spillway.v1 import common_pb2, miner_pb2, miner_pb2_grpc, operator_pb2, operator_pb2_grpc

pytest.importorskip("openleadr")

from openadr_vtn import VEN_ID, start_vtn

pytestmark = [
    # openleadr's VTN (the test's counterpart) keys its aiohttp app with a plain string.
    pytest.mark.filterwarnings("ignore::aiohttp.web_exceptions.NotAppKeyWarning"),
]

SCHEDULED_W = 5000.0
SCHEDULE = common_pb2.BUDGET_SOURCE_SCHEDULE
GRID_EVENT = common_pb2.BUDGET_SOURCE_GRID_EVENT
PRICE_RULE = common_pb2.BUDGET_SOURCE_PRICE_RULE


@dataclass
class Farm:
    """openleadr's VTN, a coordinator that is its VEN, and alpha's worker's work stream."""

    vtn: Any
    server: Any
    stream: Any
    ops: Any
    channel: Any
    registry: CollectorRegistry

    def metric(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(f"spillway_{name}", labels)


@contextlib.asynccontextmanager
async def farm(tmp_path: Path, **overrides: Any) -> AsyncIterator[Farm]:
    """Sites alpha and beta scheduled at 5 kW; a worker at alpha streaming work."""
    vtn = await start_vtn()
    settings = make_settings(
        tmp_path / "data",
        openadr=VenSettings(vtn.url, "spillway-farm"),
        budget_hold_s=30.0,
        **overrides,
    )
    registry = CollectorRegistry()
    server, port = await build_server(settings, registry=registry)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stream: Any = None
    try:
        ops = operator_pb2_grpc.OperatorServiceStub(channel)
        for site in ("alpha", "beta"):  # schedules are taken only for known sites
            await know_site(channel, site, f"known-{site}")
        await ops.PushSchedule(
            operator_pb2.PushScheduleRequest(
                entries=[
                    operator_pb2.ScheduledBudget(
                        site=site,
                        start_time=timestamp(time.time() - 10),
                        duration=duration_pb2.Duration(seconds=3600),
                        budget_watts=SCHEDULED_W,
                        energy_source=common_pb2.ENERGY_SOURCE_CURTAILED,
                    )
                    for site in ("alpha", "beta")
                ]
            ),
            metadata=AUTH,
        )
        work = miner_pb2_grpc.WorkerServiceStub(channel)
        worker = await work.RegisterWorker(
            miner_pb2.RegisterWorkerRequest(
                site="alpha",
                worker_name="w1",
                backend="cpu",
                hashrate_hashes_per_second=1e6,
                max_power_watts=6000,
            ),
            metadata=AUTH,
        )
        stream = work.StreamWork(
            miner_pb2.StreamWorkRequest(worker_id=worker.worker_id), metadata=AUTH
        )
        first = await next_budget(stream, 10)
        assert (first.budget_watts, first.source) == (SCHEDULED_W, SCHEDULE)
        await until(lambda: vtn.registrations, 30, "the VEN's registration")
        yield Farm(vtn, server, stream, ops, channel, registry)
    finally:
        if stream is not None:
            stream.cancel()
        await channel.close()
        await server.stop(0.5)
        await vtn.server.stop()


class TestLoadDispatch:
    async def test_setpoint_caps_the_site_then_releases(self, tmp_path: Path) -> None:
        """A LOAD_DISPATCH setpoint of 1.2 kW for site alpha reaches alpha's worker as a
        1200 W budget labelled GRID_EVENT, not OVERRIDE (the VTN hears optIn); when the
        interval ends the scheduled budget comes back; site beta, not targeted, keeps its
        schedule throughout."""
        async with farm(tmp_path) as f:
            f.vtn.add(
                "LOAD_DISPATCH",
                "setpoint",
                [1.2],
                start=datetime.now(UTC),
                interval_s=4,
                resource="alpha",
                event_id="dispatch-alpha",
            )
            capped = await next_change(f.stream, SCHEDULED_W, 10)
            capped_s = time.time()
            assert (capped.budget_watts, capped.source) == (1200.0, GRID_EVENT)
            assert capped.valid_until_time.ToNanoseconds() / 1e9 <= capped_s + 4.5
            await until(lambda: f.vtn.opts, 10, "the VEN's answer")
            assert f.vtn.opts[0] == (VEN_ID, "dispatch-alpha", "optIn")
            reply = await f.ops.GetStatus(operator_pb2.GetStatusRequest())
            alpha, beta = reply.sites
            assert (alpha.site, alpha.budget_watts) == ("alpha", 1200.0)
            assert alpha.budget_reason == operator_pb2.BUDGET_REASON_GRID_EVENT
            sig = alpha.active_signal
            assert (sig.event_id, sig.kind) == (
                "dispatch-alpha",
                operator_pb2.GRID_SIGNAL_KIND_LOAD_DISPATCH,
            )
            assert (sig.setpoint_watts, sig.underlying_budget_watts) == (1200.0, SCHEDULED_W)
            assert sig.until_time.seconds <= capped_s + 4.5
            # beta is not targeted: its schedule holds, and it shows no signal
            assert (beta.budget_watts, beta.budget_reason) == (
                SCHEDULED_W,
                operator_pb2.BUDGET_REASON_SCHEDULE,
            )
            assert not beta.HasField("active_signal")
            text = format_status(reply)
            assert "alpha: grid event dispatch-alpha (load_dispatch, setpoint 1200.0 W)" in text
            # the metrics say the same: why (reason), which kind, setpoint, until when
            assert f.metric("site_budget_reason", site="alpha", reason="grid_event") == 1
            assert f.metric("site_budget_reason", site="alpha", reason="schedule") == 0
            assert f.metric("grid_signal_active", site="alpha", kind="load_dispatch") == 1
            assert f.metric("grid_signal_active", site="alpha", kind="simple") == 0
            assert f.metric("grid_signal_setpoint_watts", site="alpha") == 1200.0
            until_s = f.metric("grid_signal_until_timestamp_seconds", site="alpha")
            assert until_s == sig.until_time.seconds + sig.until_time.nanos / 1e9
            assert f.metric("site_budget_reason", site="beta", reason="schedule") == 1
            assert f.metric("grid_signal_active", site="beta", kind="load_dispatch") == 0
            released = await next_change(f.stream, 1200.0, 10)
            assert (released.budget_watts, released.source) == (SCHEDULED_W, SCHEDULE)
            assert f.metric("grid_signal_active", site="alpha", kind="load_dispatch") == 0
            assert f.metric("site_budget_reason", site="alpha", reason="schedule") == 1
            assert f.metric("grid_signal_until_timestamp_seconds", site="alpha") == 0
            assert time.time() - capped_s < 5.5  # released when the 4 s interval ended


class TestSimple:
    async def test_simple_level_for_every_site_shows_in_status_and_metrics(
        self, tmp_path: Path
    ) -> None:
        """A SIMPLE level 1 event with no resource target halves every site's budget
        (default levels 1,0.5,0,0); GetStatus, spillway status and the metrics show the
        event, its level and its end for alpha and for beta."""
        async with farm(tmp_path) as f:
            f.vtn.add(
                "SIMPLE",
                "level",
                [1],
                start=datetime.now(UTC),
                interval_s=30,
                event_id="simple-all",
            )
            halved = await next_change(f.stream, SCHEDULED_W, 10)
            assert (halved.budget_watts, halved.source) == (SCHEDULED_W / 2, GRID_EVENT)
            reply = await f.ops.GetStatus(operator_pb2.GetStatusRequest())
            text = format_status(reply)
            for site in reply.sites:
                sig = site.active_signal
                assert (site.budget_watts, site.budget_reason) == (
                    SCHEDULED_W / 2,
                    operator_pb2.BUDGET_REASON_GRID_EVENT,
                )
                assert (sig.event_id, sig.kind, sig.level) == (
                    "simple-all",
                    operator_pb2.GRID_SIGNAL_KIND_SIMPLE,
                    1,
                )
                assert sig.HasField("until_time")
                assert f"{site.site}: grid event simple-all (simple, level 1) until" in text
                assert f.metric("grid_signal_active", site=site.site, kind="simple") == 1
                assert f.metric("grid_signal_level", site=site.site) == 1
                assert f.metric("site_budget_reason", site=site.site, reason="grid_event") == 1


class TestPriceRule:
    async def test_price_series_curtails_and_resumes_with_hysteresis(self, tmp_path: Path) -> None:
        """ELECTRICITY_PRICE intervals of 2 s at 150, 150, 50, 50 per MWh with
        --curtail-above 100 --curtail-after 2 --resume-below 80 --resume-after 2: the
        first high price changes nothing, the second curtails alpha to zero, the first
        low one keeps it there, the second resumes the schedule."""
        rule = PriceRule(curtail_above=100, resume_below=80, curtail_after=2, resume_after=2)
        async with farm(tmp_path, price_rule=rule) as f:
            start = datetime.now(UTC) + timedelta(seconds=1)
            start_s = start.timestamp()
            f.vtn.add(
                "ELECTRICITY_PRICE",
                "price",
                [150, 150, 50, 50],
                start=start,
                interval_s=2,
                event_id="prices",
            )
            curtailed = await next_change(f.stream, SCHEDULED_W, 15)
            curtailed_s = time.time()
            assert (curtailed.budget_watts, curtailed.source) == (0.0, PRICE_RULE)
            assert start_s + 2 <= curtailed_s < start_s + 3.5  # the second high interval
            alpha = (await f.ops.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
            assert alpha.budget_reason == operator_pb2.BUDGET_REASON_PRICE_RULE
            assert alpha.active_signal.kind == operator_pb2.GRID_SIGNAL_KIND_PRICE
            assert alpha.active_signal.price_per_mwh == 150
            assert f.metric("site_budget_reason", site="alpha", reason="price_rule") == 1
            assert f.metric("grid_signal_active", site="alpha", kind="price") == 1
            resumed = await next_change(f.stream, 0.0, 15)
            resumed_s = time.time()
            assert (resumed.budget_watts, resumed.source) == (SCHEDULED_W, SCHEDULE)
            assert start_s + 6 <= resumed_s < start_s + 7.5  # the second low interval


class TestSitesAddedLater:
    async def test_new_site_gets_events_and_reports(self, tmp_path: Path) -> None:
        """Site gamma becomes known (a worker registers there) after the VEN has
        registered: a LOAD_DISPATCH event targeted at gamma is opted into and caps
        gamma's budget, and the VTN is offered, and receives, gamma's telemetry."""
        async with farm(tmp_path) as f:
            await until(
                lambda: any(r.startswith("alpha:") for r in f.vtn.report_resources),
                30,
                "alpha's report offered",
            )
            assert not any(r.startswith("gamma:") for r in f.vtn.report_resources)
            await know_site(f.channel, "gamma", "known-gamma")
            f.vtn.add(
                "LOAD_DISPATCH",
                "setpoint",
                [1.5],
                start=datetime.now(UTC),
                interval_s=60,
                resource="gamma",
                event_id="dispatch-gamma",
            )

            async def gamma() -> Any:
                reply = await f.ops.GetStatus(operator_pb2.GetStatusRequest())
                return next((s for s in reply.sites if s.site == "gamma"), None)

            deadline = time.monotonic() + 15
            site = await gamma()
            while site is None or site.budget_reason != operator_pb2.BUDGET_REASON_GRID_EVENT:
                assert time.monotonic() < deadline, f"gamma never capped: {site}"
                await asyncio.sleep(0.2)
                site = await gamma()
            assert (site.active_signal.event_id, site.active_signal.setpoint_watts) == (
                "dispatch-gamma",
                1500.0,
            )
            assert site.budget_source == GRID_EVENT
            await until(
                lambda: (VEN_ID, "dispatch-gamma", "optIn") in f.vtn.opts, 10, "gamma's optIn"
            )
            assert (VEN_ID, "dispatch-gamma", "optOut") not in f.vtn.opts
            await until(
                lambda: any(r.startswith("gamma:") for r in f.vtn.report_resources),
                30,
                "gamma's report offered",
            )
            await until(
                lambda: any(rid == "gamma" for rid, _ in f.vtn.reports), 30, "gamma's telemetry"
            )
