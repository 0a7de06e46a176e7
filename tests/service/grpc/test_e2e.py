"""End to end over loopback: a ``spillway serve`` process, two CPU ``spillway worker`` processes.

A small scenario is planned (curtailment-only) and its plan outranks an
operator-pushed schedule; each worker's power follows its site's budget;
shares flow and are stored; a coordinator killed with SIGKILL and restarted
has lost no accepted share and no plan; SIGTERM stops workers.

Plans are in MW, so each CPU worker declares a farm-sized power model
(2 J per hash: 4 MW is 2 MH/s), well inside one busy core's hashrate.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from spw_helpers import TOKEN, free_port, sample, spawn, stop_process, wait_for

from service.rpc.server import DB_FILE
from spillway.v1 import common_pb2, operator_pb2, operator_pb2_grpc

SITES = {"east": 4e6, "west": 8e6}  # the plan's budgets, watts
SCHEDULED_W = 1e6  # what the pushed schedule says; the plan outranks it
JOULES_PER_MEGAHASH = "2e6"  # 4 MW and 8 MW are 2 and 4 MH/s


@dataclass
class Farm:
    """The processes of one end-to-end run."""

    tmp: Path
    grpc_port: int
    metrics_port: int
    worker_ports: dict[str, int]
    coordinator: subprocess.Popen[bytes]
    workers: dict[str, subprocess.Popen[bytes]]

    def start_coordinator(self) -> None:
        self.coordinator = spawn(
            [
                "serve",
                "--grpc-listen",
                f"127.0.0.1:{self.grpc_port}",
                "--metrics-listen",
                f"127.0.0.1:{self.metrics_port}",
                "--data-dir",
                str(self.tmp / "coordinator"),
                "--auth-token-file",
                str(self.tmp / "token"),
                "--share-difficulty",
                "0.00002",
                "--budget-hold-seconds",
                "3",
                "--period-seconds",
                "60",
                "--grace-seconds",
                "2",
                "--hash-threads",
                "1",
            ],
            self.tmp / f"coordinator-{time.monotonic_ns()}.log",
        )
        wait_for(lambda: self.status() is not None, 20, "the coordinator to answer")

    def status(self) -> operator_pb2.GetStatusResponse | None:
        with grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}") as channel:
            stub = operator_pb2_grpc.OperatorServiceStub(channel)
            try:
                reply: operator_pb2.GetStatusResponse = stub.GetStatus(
                    operator_pb2.GetStatusRequest(), timeout=2
                )
            except grpc.RpcError:
                return None
            return reply

    def stored_shares(self) -> int:
        db = sqlite3.connect(f"file:{self.tmp / 'coordinator' / DB_FILE}?mode=ro", uri=True)
        try:
            count: int = db.execute("SELECT COUNT(*) FROM shares").fetchone()[0]
        finally:
            db.close()
        return count

    def accepted(self) -> float:
        return sum(
            sample(port, "spillway_shares_total", result="accepted")
            for port in self.worker_ports.values()
        )


def spillway_cli(*args: str) -> subprocess.CompletedProcess[str]:
    from spw_helpers import SPILLWAY

    return subprocess.run([*SPILLWAY, *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    (tmp_path / "token").write_text(TOKEN + "\n")
    ports = {site: free_port() for site in SITES}
    farm = Farm(tmp_path, free_port(), free_port(), ports, None, {})  # type: ignore[arg-type]
    farm.start_coordinator()
    try:
        yield farm
    finally:
        for proc in [*farm.workers.values(), farm.coordinator]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def push_schedule(farm: Farm) -> None:
    start = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 60))
    csv_path = farm.tmp / "schedule.csv"
    csv_path.write_text(
        "site,start,duration_s,budget_watts,source\n"
        + "".join(f"{site},{start},3600,{SCHEDULED_W},curtailed\n" for site in SITES)
    )
    done = spillway_cli(
        "schedule",
        "push",
        "--coordinator",
        f"127.0.0.1:{farm.grpc_port}",
        "--auth-token-file",
        str(farm.tmp / "token"),
        "--file",
        str(csv_path),
    )
    assert done.returncode == 0, done.stderr
    assert "2 periods" in done.stdout


def start_workers(farm: Farm) -> None:
    for site, port in farm.worker_ports.items():
        farm.workers[site] = spawn(
            [
                "worker",
                "--coordinator",
                f"127.0.0.1:{farm.grpc_port}",
                "--site",
                site,
                "--name",
                f"{site}-1",
                "--backend",
                "cpu",
                "--threads",
                "1",
                "--metrics-listen",
                f"127.0.0.1:{port}",
                "--data-dir",
                str(farm.tmp / site),
                "--auth-token-file",
                str(farm.tmp / "token"),
                "--joules-per-megahash",
                JOULES_PER_MEGAHASH,
                "--telemetry-seconds",
                "1",
            ],
            farm.tmp / f"worker-{site}.log",
        )
    for port in farm.worker_ports.values():
        wait_for(lambda p=port: sample(p, "spillway_coordinator_connected") == 1, 20, "workers")


def run_plan(farm: Farm) -> str:
    """Submit a two-bus scenario whose wind is all curtailed without mining; plan it."""
    from google.protobuf import duration_pb2

    from service.rpc.convert import timestamp
    from spillway.v1 import planner_pb2, planner_pb2_grpc

    mw = 1e6
    scenario = planner_pb2.Scenario(
        name="two-bus",
        start_time=timestamp(time.time() - 60),
        period_duration=duration_pb2.Duration(seconds=3600),
        period_count=2,
        buses=[planner_pb2.Bus(name="A"), planner_pb2.Bus(name="B")],
        branches=[
            planner_pb2.Branch(
                name="AB", bus0="A", bus1="B", reactance_per_unit=0.1, rating_watts=1000 * mw
            )
        ],
        generators=[
            planner_pb2.Generator(
                name="wind",
                bus="A",
                carrier="wind",
                capacity_watts=20 * mw,
                availability_per_unit=[1.0, 1.0],
            )
        ],
        loads=[planner_pb2.Load(name="town", bus="B", demand_watts=[2 * mw, 2 * mw])],
        mining_sites=[
            planner_pb2.MiningSite(
                name=site,
                bus="A" if site == "east" else "B",
                max_power_watts=watts,
                revenue_per_megawatt_hour=10,
            )
            for site, watts in SITES.items()
        ],
    )
    auth = (("authorization", f"Bearer {TOKEN}"),)
    with grpc.insecure_channel(f"127.0.0.1:{farm.grpc_port}") as channel:
        stub = planner_pb2_grpc.PlannerServiceStub(channel)
        scenario_id = stub.SubmitScenario(
            planner_pb2.SubmitScenarioRequest(scenario=scenario), metadata=auth
        ).scenario_id
        plan = stub.RunPlan(
            planner_pb2.RunPlanRequest(
                scenario_id=scenario_id, mode=planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY
            ),
            metadata=auth,
            timeout=60,
        ).plan
    assert plan.status == planner_pb2.PLAN_STATUS_OPTIMAL
    budgets = {s.site: s.budget_watts[0] for s in plan.sites}
    assert budgets == pytest.approx(SITES)
    return str(plan.plan_id)


class TestEndToEnd:
    def test_budgets_shares_and_restarts(self, farm: Farm) -> None:
        """Power follows each planned budget; shares and the plan survive kill -9; SIGTERM stops."""
        plan_id = run_plan(farm)  # first: it makes the sites known, so the schedule is taken
        push_schedule(farm)
        start_workers(farm)
        # Power: each worker's mean power over 3 s follows its site's budget.
        energy0 = {
            site: sample(port, "spillway_energy_joules_total", site=site, source="curtailed")
            for site, port in farm.worker_ports.items()
        }
        t0 = time.monotonic()
        time.sleep(3.0)
        for site, port in farm.worker_ports.items():
            energy = sample(port, "spillway_energy_joules_total", site=site, source="curtailed")
            power_w = (energy - energy0[site]) / (time.monotonic() - t0)
            assert power_w == pytest.approx(SITES[site], rel=0.1), site
            assert sample(port, "spillway_power_budget_watts", site=site) == pytest.approx(
                SITES[site]
            )
        status = farm.status()
        assert status is not None
        by_site = {s.site: s for s in status.sites}
        assert set(by_site) == set(SITES)
        assert status.current_plan_id == plan_id
        for site, watts in SITES.items():
            assert by_site[site].budget_watts == pytest.approx(watts)
            assert by_site[site].budget_source == common_pb2.BUDGET_SOURCE_PLAN
            assert [w.connected for w in by_site[site].workers] == [True]
            assert by_site[site].power_watts == pytest.approx(watts, rel=0.25)
        table = spillway_cli("status", "--coordinator", f"127.0.0.1:{farm.grpc_port}")
        assert table.returncode == 0 and "east" in table.stdout and "west" in table.stdout

        # Shares flow and are stored.
        wait_for(lambda: farm.accepted() >= 4, 20, "accepted shares")
        coordinator_metrics = farm.metrics_port
        assert sample(coordinator_metrics, "spillway_workers_connected") == 2

        # kill -9 mid-run: nothing accepted is lost.
        accepted_before = farm.accepted()
        farm.coordinator.kill()
        farm.coordinator.wait()
        assert farm.stored_shares() >= accepted_before
        time.sleep(0.5)
        farm.start_coordinator()
        restarted = farm.status()
        assert restarted is not None and restarted.current_plan_id == plan_id  # plan kept
        for port in farm.worker_ports.values():
            wait_for(lambda p=port: sample(p, "spillway_coordinator_connected") == 1, 30, "rejoin")
        more = farm.accepted() + 4
        wait_for(lambda: farm.accepted() >= more, 20, "shares after the restart")
        # Read what workers were told first: shares keep flowing while we look.
        accepted_after = farm.accepted()
        assert farm.stored_shares() >= accepted_after

        # SIGTERM: workers are told to stop (budget zero), the coordinator exits cleanly.
        assert stop_process(farm.coordinator, signal.SIGTERM) == 0
        for site, port in farm.worker_ports.items():
            assert sample(port, "spillway_power_budget_watts", site=site) == 0
        # Workers keep unanswered shares on disk; a new coordinator gets them all.
        farm.start_coordinator()
        for port in farm.worker_ports.values():
            wait_for(lambda p=port: sample(p, "spillway_coordinator_connected") == 1, 30, "rejoin")
            wait_for(lambda p=port: sample(p, "spillway_shares_queued") == 0, 10, "queue drained")
        accepted_total = farm.accepted()
        for proc in farm.workers.values():
            assert stop_process(proc) == 0
        assert farm.stored_shares() >= accepted_total
        for site in SITES:
            queue = sqlite3.connect(farm.tmp / site / f"worker-{site}-{site}-1.sqlite3")
            assert queue.execute("SELECT COUNT(*) FROM shares").fetchone()[0] == 0
            queue.close()
