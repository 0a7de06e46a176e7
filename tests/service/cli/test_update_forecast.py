"""UpdateForecast on a live coordinator: forecasts roll a scenario at real times past its end.

The scenario is the three-bus network (wind at N behind a 100 MW line, a 200 MW
mining site at N) stamped with the two hours just before the current one, so
every window the coordinator plans lies past its last snapshot: only forecasts
say what the grid will do there.
"""

from __future__ import annotations

import math
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import CollectorRegistry
from spw_helpers import (
    AUTH,
    SPILLWAY,
    Running,
    make_settings,
    spawn,
    stop_process,
    until,
    wait_for,
)

from service.cli.operator import format_status
from service.rpc.server import build_server
from service.testing import free_port
from spillway.v1 import operator_pb2, operator_pb2_grpc, planner_pb2, planner_pb2_grpc

MW = 1e6
HOUR_S = 3600


def stamp(t_s: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t_s))


def write_scenario(folder: Path, first_s: int) -> Path:
    """Three-bus with two hourly snapshots from ``first_s`` and a miner at N."""
    t0, t1 = stamp(first_s), stamp(first_s + HOUR_S)
    tables = {
        "snapshots.csv": f"name,weightings\n{t0},1.0\n{t1},1.0\n",
        "buses.csv": "name,v_nom\nN,1\nM,1\nS,1\n",
        "lines.csv": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n",
        "generators.csv": (
            "name,bus,carrier,p_nom,marginal_cost\nwind,N,wind,300,0\ngas,S,gas,500,50\n"
        ),
        "generators-p_max_pu.csv": f"snapshot,wind\n{t0},1.0\n{t1},0.4\n",
        "loads.csv": "name,bus\nload,S\n",
        "loads-p_set.csv": f"snapshot,load\n{t0},250\n{t1},250\n",
        "carriers.csv": "name,co2_emissions\ngas,0.2\nwind,0\n",
        "mining_sites.csv": "name,bus,p_nom,value\nminer_n,N,200,10\n",
    }
    folder.mkdir(parents=True)
    for name, text in tables.items():
        (folder / name).write_text(text)
    return folder


def hour_now() -> int:
    now = int(time.time())
    return now - now % HOUR_S


def wind(times_s: list[int], values: list[float]) -> planner_pb2.UpdateForecastRequest:
    return planner_pb2.UpdateForecastRequest(
        series=[
            planner_pb2.ForecastSeries(
                kind=planner_pb2.FORECAST_SERIES_KIND_GENERATOR_AVAILABILITY,
                component="wind",
                times=[Timestamp(seconds=t) for t in times_s],
                values=values,
            )
        ]
    )


@pytest.fixture
async def rolling(tmp_path: Path) -> Any:
    """A coordinator serving the stamped scenario with a 4-hour window."""
    now_h = hour_now()
    scenario = write_scenario(tmp_path / "stamped", now_h - 2 * HOUR_S)
    registry = CollectorRegistry()
    settings = make_settings(tmp_path / "data", scenario=scenario, horizon_hours=4.0)
    server, port = await build_server(settings, registry=registry)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Running(server, port, channel, registry, settings), now_h
    finally:
        await channel.close()
        await server.stop(0.5)


class TestRollingForecasts:
    async def test_forecasts_roll_the_plan_past_the_scenario(self, rolling: Any) -> None:
        """With no forecast every budget past the scenario is zero; a pushed forecast
        for the next two hours makes those hours' budgets non-zero (the re-plan is
        warm), the later ones stay zero, and the metrics say so."""
        running, now_h = rolling
        c = running.server.coordinator
        await until(lambda: c.plan is not None, 60, "the first rolling plan")
        first = c.plan
        assert first is not None and first.start_s == now_h and first.period_count == 4
        assert all(w == 0.0 for w in first.site("miner_n").budget_w)  # type: ignore[union-attr]
        stub = planner_pb2_grpc.PlannerServiceStub(running.channel)
        reply = await stub.UpdateForecast(wind([now_h, now_h + HOUR_S], [1.0, 1.0]), metadata=AUTH)
        assert (reply.revision, reply.points_accepted) == (1, 2)
        assert reply.reach_time.seconds == now_h + HOUR_S
        await until(lambda: c.plan is not first, 60, "the re-plan after the forecast")
        plan = c.plan
        assert plan is not None and plan.start_s == now_h
        budget = plan.site("miner_n").budget_w  # type: ignore[union-attr]
        # 300 MW of wind, 150 MW reach S through NS: 150 MW curtailed, mined.
        assert budget[0] == pytest.approx(150 * MW, rel=1e-3)
        assert budget[1] == pytest.approx(150 * MW, rel=1e-3)
        assert budget[2:] == (0.0, 0.0)  # nobody forecast those hours
        streamed = await c.budget("miner_n")
        assert streamed.budget_w == pytest.approx(150 * MW, rel=1e-3)
        sample = running.registry.get_sample_value
        assert sample("spillway_plan_replans_total", {"result": "adopted"}) == 2
        assert sample("spillway_plan_solve_seconds_count", {"warm": "true"}) == 1
        reach_s = sample("spillway_forecast_horizon_seconds")
        assert reach_s == pytest.approx(now_h + 2 * HOUR_S - time.time(), abs=5)
        assert sample("spillway_plan_horizon_seconds") == 4 * HOUR_S
        ops = operator_pb2_grpc.OperatorServiceStub(running.channel)
        status = await ops.GetStatus(operator_pb2.GetStatusRequest())
        r = status.rolling
        assert (r.window_start_time.seconds, r.window_end_time.seconds) == (
            now_h,
            now_h + 4 * HOUR_S,
        )
        assert r.forecast_reach_time.seconds == now_h + 2 * HOUR_S  # the end of its last hour
        assert (r.horizon.seconds, r.forecast_revision) == (4 * HOUR_S, 1)
        assert "rolling window: " in format_status(status)

    @pytest.mark.parametrize(
        ("request_", "field", "problem"),
        [
            (lambda h: wind([h, h + HOUR_S], [0.5, math.nan]), "series[0].values[1]", "finite"),
            (lambda h: wind([h], [-0.1]), "series[0].values[0]", "outside [0, 1]"),
            (lambda h: wind([h + 60], [0.5]), "series[0].times[0]", "period grid"),
            (
                lambda h: planner_pb2.UpdateForecastRequest(
                    series=[
                        planner_pb2.ForecastSeries(
                            kind=planner_pb2.FORECAST_SERIES_KIND_GENERATOR_AVAILABILITY,
                            component="solar",
                            times=[Timestamp(seconds=h)],
                            values=[0.5],
                        )
                    ]
                ),
                "series[0].component",
                "unknown generators 'solar'",
            ),
        ],
        ids=["nan", "negative", "off-grid", "unknown"],
    )
    async def test_bad_forecasts_are_refused_naming_the_field(
        self, rolling: Any, request_: Any, field: str, problem: str
    ) -> None:
        """INVALID_ARGUMENT naming the field; nothing of the forecast is stored."""
        running, now_h = rolling
        c = running.server.coordinator
        await until(lambda: c.rolling is not None, 60, "the rolling scenario")
        stub = planner_pb2_grpc.PlannerServiceStub(running.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateForecast(request_(now_h), metadata=AUTH)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in (info.value.details() or "")
        assert problem in (info.value.details() or "")
        assert c.rolling is not None and c.rolling.forecasts.revision() == 0

    async def test_refused_without_a_rolling_scenario(self, coordinator: Running) -> None:
        """A coordinator serving no scenario at real times says FAILED_PRECONDITION, and
        keeps serving other calls."""
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateForecast(wind([0], [0.5]), metadata=AUTH)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetPlan(planner_pb2.GetPlanRequest(plan_id="nope"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND


def current_plan(port: int) -> planner_pb2.Plan | None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = planner_pb2_grpc.PlannerServiceStub(channel).GetPlan(
                planner_pb2.GetPlanRequest(), timeout=5
            )
        except grpc.RpcError:
            return None
    return reply.plan


def push(port: int, folder: Path) -> subprocess.CompletedProcess[str]:
    """``spillway forecast push`` of ``folder`` to the coordinator on ``port``."""
    return subprocess.run(
        [*SPILLWAY, "forecast", "push", "--coordinator", f"127.0.0.1:{port}", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )


class TestForecastSurvivesSigkill:
    def test_accepted_forecast_is_used_after_a_sigkill(self, tmp_path: Path) -> None:
        """A forecast answered and then SIGKILLed away (the re-plan it asked for had no
        time to finish) is stored: the restarted coordinator's re-plan uses it. The CLI
        pushes a folder and refuses a bad one in one line naming file, row and column."""
        now_h = hour_now()
        scenario = write_scenario(tmp_path / "stamped", now_h - 2 * HOUR_S)
        port = free_port()
        args = [
            "serve",
            "--scenario",
            str(scenario),
            "--horizon-hours",
            "3",
            "--data-dir",
            str(tmp_path / "data"),
            "--grpc-listen",
            f"127.0.0.1:{port}",
            "--metrics-listen",
            "off",
        ]
        proc = spawn(args, tmp_path / "first.log")
        try:
            wait_for(lambda: current_plan(port) is not None, 90, "the first rolling plan")
            with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = planner_pb2_grpc.PlannerServiceStub(channel)
                reply = stub.UpdateForecast(wind([now_h], [1.0]), timeout=10)
                proc.send_signal(signal.SIGKILL)  # at once: the re-plan is still running
            assert reply.revision == 1
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            stop_process(proc, signal.SIGKILL)
        restarted_s = time.time()
        proc = spawn(args, tmp_path / "second.log")
        try:

            def used() -> bool:
                plan = current_plan(port)
                return (
                    plan is not None
                    and plan.create_time.seconds >= int(restarted_s)
                    and plan.sites[0].budget_watts[0] > 100 * MW
                )

            wait_for(used, 90, "a plan after the restart using the stored forecast")
            plan = current_plan(port)
            assert plan is not None and list(plan.sites[0].budget_watts[1:]) == [0.0, 0.0]
            # The CLI: a folder of PyPSA-named CSVs is sent; a NaN is refused by the server.
            good = tmp_path / "good"
            good.mkdir()
            (good / "generators-p_max_pu.csv").write_text(
                f"snapshot,wind\n{stamp(now_h + HOUR_S)},1.0\n"
            )
            pushed = push(port, good)
            assert pushed.returncode == 0, pushed.stderr
            assert "forecast revision 2: 1 points stored" in pushed.stdout
            bad = tmp_path / "bad"
            bad.mkdir()
            (bad / "generators-p_max_pu.csv").write_text(
                f"snapshot,wind\n{stamp(now_h)},0.5\n{stamp(now_h + HOUR_S)},nan\n"
            )
            refused = push(port, bad)
            assert refused.returncode == 2
            lines = refused.stderr.strip().splitlines()
            assert len(lines) == 1, refused.stderr
            assert lines[0].startswith("spillway: INVALID_ARGUMENT: ")
            assert "generators-p_max_pu.csv row 3, column wind" in lines[0]
            assert "not a finite number" in lines[0]
        finally:
            stop_process(proc)
