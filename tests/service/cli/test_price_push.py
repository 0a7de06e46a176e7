"""Prices pushed with ``spillway prices push`` drive the price rule; its state survives a
restart of the coordinator (real gRPC, real SQLite, the real CLI as a subprocess)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from prometheus_client import CollectorRegistry
from spw_helpers import (
    AUTH,
    SPILLWAY,
    TOKEN,
    free_port,
    know_site,
    make_settings,
    next_budget,
    next_change,
    spawn,
    stop_process,
    wait_for,
)

from service.cli.operator import format_status
from service.rpc.convert import duration, timestamp
from service.rpc.server import build_server
from service.signals.price_rule import PriceRule
from service.signals.price_store import PRICES_DB_FILE
from spillway.v1 import (
    common_pb2,
    miner_pb2,
    miner_pb2_grpc,
    operator_pb2,
    operator_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)

PRICE_RULE = common_pb2.BUDGET_SOURCE_PRICE_RULE
SCHEDULE = common_pb2.BUDGET_SOURCE_SCHEDULE
SCHEDULED_W = 5000.0
RULE = PriceRule(curtail_above=100, resume_below=80, curtail_after=2, resume_after=2)


@dataclass
class Site:
    """A coordinator with the price rule, site alpha scheduled at 5 kW."""

    server: Any
    port: int
    channel: Any
    ops: Any
    planner: Any

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def coordinator(data_dir: Path, *, schedule: bool = True) -> AsyncIterator[Site]:
    """A coordinator on ``data_dir`` with ``RULE``; alpha known and (once) scheduled."""
    settings = make_settings(data_dir, price_rule=RULE, budget_hold_s=30.0)
    server, port = await build_server(settings, registry=CollectorRegistry())
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        ops = operator_pb2_grpc.OperatorServiceStub(channel)
        if schedule:
            await know_site(channel, "alpha", "known-alpha")
            await ops.PushSchedule(
                operator_pb2.PushScheduleRequest(
                    entries=[
                        operator_pb2.ScheduledBudget(
                            site="alpha",
                            start_time=timestamp(time.time() - 10),
                            duration=duration_pb2.Duration(seconds=3600),
                            budget_watts=SCHEDULED_W,
                            energy_source=common_pb2.ENERGY_SOURCE_CURTAILED,
                        )
                    ]
                ),
                metadata=AUTH,
            )
        yield Site(server, port, channel, ops, planner_pb2_grpc.PlannerServiceStub(channel))
    finally:
        await channel.close()
        await server.stop(0.5)


async def stream_alpha(channel: Any) -> Any:
    """A worker at alpha and its work stream (first budget read: the schedule)."""
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
    stream = work.StreamWork(miner_pb2.StreamWorkRequest(worker_id=worker.worker_id), metadata=AUTH)
    first = await next_budget(stream, 10)
    assert (first.budget_watts, first.source) == (SCHEDULED_W, SCHEDULE)
    return stream


def write_csv(path: Path, rows: list[str]) -> Path:
    path.write_text("site,start,duration_s,price_per_mwh\n" + "".join(r + "\n" for r in rows))
    return path


async def cli_push(site: Site, csv_path: Path, token: Path | None) -> tuple[int, str, str]:
    """``spillway prices push`` as a subprocess (off the event loop: the server runs on it)."""
    args = [*SPILLWAY, "prices", "push", "--coordinator", site.address]
    if token is not None:
        args += ["--auth-token-file", str(token)]
    proc = await asyncio.create_subprocess_exec(
        *args, str(csv_path), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def stored_prices(data_dir: Path) -> int:
    with contextlib.closing(sqlite3.connect(data_dir / PRICES_DB_FILE)) as db:
        return int(db.execute("SELECT COUNT(*) FROM pushed_prices").fetchone()[0])


def price_point(site: str, start_s: float, length_s: float, price: float) -> Any:
    return planner_pb2.PricePoint(
        site=site, start_time=timestamp(start_s), duration=duration(length_s), price_per_mwh=price
    )


class TestPushedPrices:
    async def test_pushed_series_curtails_then_resumes(self, tmp_path: Path) -> None:
        """A CSV of 2 s intervals at 150, 150, 50, 50 per MWh pushed with the CLI, under
        --curtail-above 100 --curtail-after 2 --resume-below 80 --resume-after 2: the
        second high interval curtails alpha (budget 0, source PRICE_RULE; status shows
        the price in force), the second low one resumes its schedule."""
        token = tmp_path / "token"
        token.write_text(TOKEN)
        async with coordinator(tmp_path / "data") as site:
            stream = await stream_alpha(site.channel)
            try:
                start_s = float(int(time.time()) + 6)  # after the CLI has started and sent
                rows = [
                    f"alpha,{start_s + 2 * i:.0f},2,{p}" for i, p in enumerate([150, 150, 50, 50])
                ]
                status, out, err = await cli_push(site, write_csv(tmp_path / "p.csv", rows), token)
                assert (status, err) == (0, ""), err
                assert out.startswith("4 prices stored")
                assert time.time() < start_s, "the push took too long for the timings below"
                curtailed = await next_change(stream, SCHEDULED_W, 15)
                curtailed_s = time.time()
                assert (curtailed.budget_watts, curtailed.source) == (0.0, PRICE_RULE)
                assert start_s + 2 <= curtailed_s < start_s + 3.5  # the second high interval
                reply = await site.ops.GetStatus(operator_pb2.GetStatusRequest())
                alpha = reply.sites[0]
                assert alpha.budget_reason == operator_pb2.BUDGET_REASON_PRICE_RULE
                sig = alpha.active_signal
                assert (sig.kind, sig.price_per_mwh) == (operator_pb2.GRID_SIGNAL_KIND_PRICE, 150)
                assert sig.until_time.seconds == start_s + 4
                assert "alpha: price rule curtailed (price 150 per MWh) until" in format_status(
                    reply
                )
                resumed = await next_change(stream, 0.0, 15)
                resumed_s = time.time()
                assert (resumed.budget_watts, resumed.source) == (SCHEDULED_W, SCHEDULE)
                assert start_s + 6 <= resumed_s < start_s + 7.5  # the second low interval
            finally:
                stream.cancel()

    async def test_bad_rows_are_refused_whole(self, tmp_path: Path) -> None:
        """A file the CLI cannot read, a row for an unknown site, a push without the
        token: each exits 2 with one line naming the row and field (or the token), and
        nothing of the file is stored."""
        token = tmp_path / "token"
        token.write_text(TOKEN)
        data = tmp_path / "data"
        async with coordinator(data) as site:
            now = int(time.time())
            bad = write_csv(tmp_path / "bad.csv", [f"alpha,{now},60,10", f"alpha,{now},-5,10"])
            status, out, err = await cli_push(site, bad, token)
            assert (status, out) == (2, "")
            assert err.count("\n") == 1
            assert "bad.csv, row 3, field 'duration_s'" in err
            unknown = write_csv(
                tmp_path / "unknown.csv", [f"alpha,{now},60,10", f"nowhere,{now},60,10"]
            )
            status, out, err = await cli_push(site, unknown, token)
            assert (status, out) == (2, "")
            assert err.count("\n") == 1
            assert err.startswith("spillway: INVALID_ARGUMENT: unknown.csv, row 3, field 'site'")
            good = write_csv(tmp_path / "good.csv", [f"alpha,{now},60,10"])
            status, _, err = await cli_push(site, good, None)
            assert status == 2 and "UNAUTHENTICATED" in err
            assert stored_prices(data) == 0  # the good first rows were not kept either
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await site.planner.PushPrices(
                    planner_pb2.PushPricesRequest(
                        prices=[price_point("alpha", now, 60, float("nan"))]
                    ),
                    metadata=AUTH,
                )
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "prices[0].price_per_mwh" in (info.value.details() or "")
            assert stored_prices(data) == 0


class TestPriceStateSurvivesRestart:
    async def test_curtailed_site_stays_curtailed_after_restart(self, tmp_path: Path) -> None:
        """Two high intervals curtail alpha, then a long interval at 90 (between
        --resume-below 80 and --curtail-above 100) keeps it curtailed. The coordinator
        is stopped and started again on the same data folder after the high intervals
        have ended: alpha is still curtailed (a rule started afresh would see only the
        price of 90 and resume the schedule at once)."""
        data = tmp_path / "data"
        t0 = time.time() + 0.5
        async with coordinator(data) as site:
            pushed = await site.planner.PushPrices(
                planner_pb2.PushPricesRequest(
                    prices=[
                        price_point("alpha", t0, 1.0, 150),
                        price_point("alpha", t0 + 1.0, 1.0, 150),
                        price_point("alpha", t0 + 2.0, 600.0, 90),
                    ]
                ),
                metadata=AUTH,
            )
            assert pushed.points_accepted == 3
            while time.time() < t0 + 2.3:  # each interval's price is fed as it is seen
                await site.ops.GetStatus(operator_pb2.GetStatusRequest())
                await asyncio.sleep(0.1)
            alpha = (await site.ops.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
            assert alpha.budget_reason == operator_pb2.BUDGET_REASON_PRICE_RULE
        async with coordinator(data, schedule=False) as site:
            alpha = (await site.ops.GetStatus(operator_pb2.GetStatusRequest())).sites[0]
            assert (alpha.budget_watts, alpha.budget_source) == (0.0, PRICE_RULE)
            assert alpha.active_signal.price_per_mwh == 90


def wait_status(port: int, want: Any, timeout_s: float) -> Any:
    """Poll GetStatus (each call feeds the rule the intervals begun) until ``want(alpha)``."""
    deadline = time.monotonic() + timeout_s
    alpha = None
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        ops = operator_pb2_grpc.OperatorServiceStub(channel)
        while time.monotonic() < deadline:
            try:
                sites = ops.GetStatus(operator_pb2.GetStatusRequest(), timeout=5).sites
            except grpc.RpcError:
                sites = []
            alpha = next((s for s in sites if s.site == "alpha"), None)
            if alpha is not None and want(alpha):
                return alpha
            time.sleep(0.1)
    raise AssertionError(f"status never as wanted: {alpha}")


class TestSigkill:
    def test_pushed_prices_and_rule_state_survive_sigkill(self, tmp_path: Path) -> None:
        """``spillway serve --curtail-above 100 --curtail-after 2 --resume-below 80
        --resume-after 2``; prices pushed with the CLI (two high seconds, then 90 for
        ten minutes) curtail alpha; SIGKILL; the coordinator started again on the same
        data folder still has alpha curtailed, with the pushed price of 90 in force."""
        data, token = tmp_path / "data", tmp_path / "token"
        token.write_text(TOKEN)
        port = free_port()
        args = [
            "serve",
            "--data-dir",
            str(data),
            "--grpc-listen",
            f"127.0.0.1:{port}",
            "--metrics-listen",
            "off",
            "--auth-token-file",
            str(token),
            "--curtail-above",
            "100",
            "--curtail-after",
            "2",
            "--resume-below",
            "80",
            "--resume-after",
            "2",
        ]
        proc = spawn(args, tmp_path / "first.log")
        try:
            wait_for(lambda: serving(port), 60, "the coordinator")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                miner_pb2_grpc.WorkerServiceStub(channel).RegisterWorker(
                    miner_pb2.RegisterWorkerRequest(site="alpha", worker_name="w", backend="cpu"),
                    metadata=AUTH,
                    timeout=10,
                )
            t0 = float(int(time.time()) + 4)
            rows = [
                f"alpha,{t0:.0f},1,150",
                f"alpha,{t0 + 1:.0f},1,150",
                f"alpha,{t0 + 2:.0f},600,90",
            ]
            done = subprocess.run(
                [
                    *SPILLWAY,
                    "prices",
                    "push",
                    "--coordinator",
                    f"127.0.0.1:{port}",
                    "--auth-token-file",
                    str(token),
                    str(write_csv(tmp_path / "p.csv", rows)),
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert (done.returncode, done.stderr) == (0, "")  # late or not: fed in order
            wait_status(port, lambda a: a.budget_source == PRICE_RULE, 15)
            while time.time() < t0 + 2.3:  # the interval at 90 fed too
                wait_status(port, lambda a: True, 5)
            alpha = wait_status(port, lambda a: a.active_signal.price_per_mwh == 90, 5)
            assert alpha.budget_source == PRICE_RULE
            proc.send_signal(signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            stop_process(proc, signal.SIGKILL)
        proc = spawn(args, tmp_path / "second.log")
        try:
            wait_for(lambda: serving(port), 60, "the restarted coordinator")
            alpha = wait_status(port, lambda a: True, 15)
            assert (alpha.budget_watts, alpha.budget_source) == (0.0, PRICE_RULE)
            assert alpha.active_signal.price_per_mwh == 90
        finally:
            assert stop_process(proc) == 0


def serving(port: int) -> bool:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            operator_pb2_grpc.OperatorServiceStub(channel).GetStatus(
                operator_pb2.GetStatusRequest(), timeout=2
            )
        except grpc.RpcError:
            return False
    return True


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__]))
