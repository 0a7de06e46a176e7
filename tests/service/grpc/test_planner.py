"""PlannerService over loopback: a small scenario is planned by the optimiser and drives budgets."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from spw_helpers import AUTH, Running

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

pytest.importorskip("highspy")

MW = 1e6


def three_bus(start_s: float) -> planner_pb2.Scenario:
    """The optimiser tests' 3-bus case: wind at N behind a 100 MW line, load and gas at S.

    Period 0: 300 MW of wind, 250 MW of load, the N-S corridor carries at most
    ~200 MW: wind is curtailed and a miner at N soaks it up.
    """
    return planner_pb2.Scenario(
        name="three-bus",
        start_time=timestamp(start_s),
        period_duration=duration_pb2.Duration(seconds=3600),
        period_count=2,
        buses=[planner_pb2.Bus(name=n, nominal_voltage_volts=1000) for n in ("N", "M", "S")],
        branches=[
            planner_pb2.Branch(
                name="NS", bus0="N", bus1="S", reactance_per_unit=1, rating_watts=100 * MW
            ),
            planner_pb2.Branch(
                name="NM", bus0="N", bus1="M", reactance_per_unit=1, rating_watts=1000 * MW
            ),
            planner_pb2.Branch(
                name="MS", bus0="M", bus1="S", reactance_per_unit=1, rating_watts=1000 * MW
            ),
        ],
        generators=[
            planner_pb2.Generator(
                name="wind",
                bus="N",
                carrier="wind",
                capacity_watts=300 * MW,
                availability_per_unit=[1.0, 0.4],
            ),
            planner_pb2.Generator(
                name="gas",
                bus="S",
                carrier="gas",
                capacity_watts=500 * MW,
                marginal_cost_per_megawatt_hour=50,
            ),
        ],
        loads=[planner_pb2.Load(name="load", bus="S", demand_watts=[250 * MW, 250 * MW])],
        mining_sites=[
            planner_pb2.MiningSite(
                name="north", bus="N", max_power_watts=200 * MW, revenue_per_megawatt_hour=10
            ),
        ],
    )


async def submit_and_plan(coordinator: Running, mode: int) -> planner_pb2.Plan:
    stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
    submitted = await stub.SubmitScenario(
        planner_pb2.SubmitScenarioRequest(scenario=three_bus(time.time() - 60)), metadata=AUTH
    )
    reply = await stub.RunPlan(
        planner_pb2.RunPlanRequest(scenario_id=submitted.scenario_id, mode=mode), metadata=AUTH
    )
    return reply.plan


class TestPlanner:
    async def test_curtailment_only_plan_absorbs_wind(self, coordinator: Running) -> None:
        """The plan mines only curtailed wind; it is stored, current, and summarised."""
        sample = coordinator.registry.get_sample_value
        assert sample("spillway_plan_valid") == 0
        before_s = time.time()
        plan = await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY)
        assert sample("spillway_plan_valid") == 1  # the plan covers now
        assert before_s <= sample("spillway_plan_solved_timestamp_seconds") <= time.time()
        assert plan.status == planner_pb2.PLAN_STATUS_OPTIMAL
        (site,) = plan.sites
        assert site.site == "north" and len(site.budget_watts) == 2
        assert site.budget_watts[0] > 1 * MW  # wind curtailed in period 0 is mined
        assert all(0 <= w <= 200 * MW + 1 for w in site.budget_watts)
        for budget, curtailed in zip(site.budget_watts, site.curtailed_watts, strict=True):
            assert curtailed == pytest.approx(budget, rel=1e-6, abs=1.0)
        assert plan.summary.curtailment_absorbed_joules > 0
        assert {b.branch for b in plan.branches} == {"NS", "NM", "MS"}
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        current = (await stub.GetPlan(planner_pb2.GetPlanRequest())).plan
        assert current.plan_id == plan.plan_id
        again = (await stub.GetPlan(planner_pb2.GetPlanRequest(plan_id=plan.plan_id))).plan
        assert again == plan
        assert sample("spillway_plan_solve_seconds_count", {"warm": "false"}) == 1
        assert sample("spillway_plan_curtailment_absorbed_joules_total") == pytest.approx(
            plan.summary.curtailment_absorbed_joules
        )

    async def test_failed_solve_is_counted_by_reason(self, coordinator: Running) -> None:
        """An infeasible scenario fails the RunPlan and counts one 'infeasible' solve failure."""
        scenario = three_bus(time.time() - 60)
        del scenario.loads[:]
        scenario.loads.append(planner_pb2.Load(name="load", bus="S", demand_watts=[2000 * MW] * 2))
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        submitted = await stub.SubmitScenario(
            planner_pb2.SubmitScenarioRequest(scenario=scenario), metadata=AUTH
        )
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await stub.RunPlan(
                planner_pb2.RunPlanRequest(
                    scenario_id=submitted.scenario_id, mode=planner_pb2.PLANNING_MODE_CO_OPTIMISED
                ),
                metadata=AUTH,
            )
        assert failure.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        sample = coordinator.registry.get_sample_value
        assert sample("spillway_plan_solve_failures_total", {"reason": "infeasible"}) == 1
        assert sample("spillway_plan_solve_failures_total", {"reason": "error"}) == 0
        assert sample("spillway_plan_valid") == 0

    async def test_plan_drives_budget_and_override_outranks_it(self, coordinator: Running) -> None:
        """Workers get the plan's budget for now; an operator override outranks it."""
        plan = await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CO_OPTIMISED)
        ops = operator_pb2_grpc.OperatorServiceStub(coordinator.channel)
        status = await ops.GetStatus(operator_pb2.GetStatusRequest())
        assert status.current_plan_id == plan.plan_id
        site = next(s for s in status.sites if s.site == "north")
        assert site.budget_source == common_pb2.BUDGET_SOURCE_PLAN
        assert site.budget_watts == pytest.approx(plan.sites[0].budget_watts[0])
        workers = miner_pb2_grpc.WorkerServiceStub(coordinator.channel)
        reg = await workers.RegisterWorker(
            miner_pb2.RegisterWorkerRequest(site="north", worker_name="n1", backend="cpu"),
            metadata=AUTH,
        )
        stream = workers.StreamWork(
            miner_pb2.StreamWorkRequest(worker_id=reg.worker_id), metadata=AUTH
        )
        await stream.read()  # job
        budget = (await stream.read()).power_budget
        assert budget.source == common_pb2.BUDGET_SOURCE_PLAN
        await ops.SetBudgetOverride(
            operator_pb2.SetBudgetOverrideRequest(
                site="north", budget_watts=5.0, duration=duration_pb2.Duration(seconds=60)
            ),
            metadata=AUTH,
        )
        budget = (await asyncio.wait_for(stream.read(), timeout=2)).power_budget
        stream.cancel()
        assert (budget.budget_watts, budget.source) == (5.0, common_pb2.BUDGET_SOURCE_OVERRIDE)

    async def test_watch_plans_sees_new_plan(self, coordinator: Running) -> None:
        """WatchPlans streams a plan as soon as it is stored."""
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        watch = stub.WatchPlans(planner_pb2.WatchPlansRequest())
        plan = await submit_and_plan(coordinator, planner_pb2.PLANNING_MODE_CO_OPTIMISED)
        seen = await asyncio.wait_for(watch.read(), timeout=5)
        watch.cancel()
        assert seen.plan.plan_id == plan.plan_id

    async def test_bad_scenario_names_fields(self, coordinator: Running) -> None:
        """A branch to an unknown bus and a short series are INVALID_ARGUMENT naming both."""
        from test_server import bad_fields

        scenario = three_bus(time.time())
        scenario.branches[0].bus1 = "Nowhere"
        del scenario.loads[0].demand_watts[1]
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.SubmitScenario(
                planner_pb2.SubmitScenarioRequest(scenario=scenario), metadata=AUTH
            )
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert set(bad_fields(info.value)) == {
            "scenario.branches[0].bus1",
            "scenario.loads[0].demand_watts",
        }

    async def test_unknown_ids_are_not_found(self, coordinator: Running) -> None:
        """RunPlan and GetPlan with unknown ids are NOT_FOUND; no plan yet is NOT_FOUND too."""
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        for call in (
            stub.RunPlan(
                planner_pb2.RunPlanRequest(
                    scenario_id="nope", mode=planner_pb2.PLANNING_MODE_CO_OPTIMISED
                ),
                metadata=AUTH,
            ),
            stub.GetPlan(planner_pb2.GetPlanRequest(plan_id="nope")),
            stub.GetPlan(planner_pb2.GetPlanRequest()),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.NOT_FOUND


class TestScenarioAtStart:
    async def test_scenario_flag_plans_at_start(self, tmp_path: Any, registry: Any) -> None:
        """``--scenario`` (a PyPSA folder) is planned at start and drives the budgets."""
        from spw_helpers import make_settings

        from service.domain import PlanStatusKind
        from service.rpc.scenario import write_pypsa_folder
        from service.rpc.server import DB_FILE, build_server

        folder = tmp_path / "three-bus"
        folder.mkdir()
        write_pypsa_folder(three_bus(0.0), folder)
        settings = make_settings(tmp_path / "data", scenario=folder)
        server, port = await build_server(settings, registry=registry)
        try:
            assert server.startup_plan is not None
            await asyncio.wait_for(server.startup_plan, timeout=60)
            plan = server.coordinator.plan
            assert plan is not None and plan.status == PlanStatusKind.OPTIMAL
            # The plans row names the scenario row the file's calendar was stored under.
            db = sqlite3.connect(f"file:{tmp_path / 'data' / DB_FILE}?mode=ro", uri=True)
            try:
                (row,) = db.execute(
                    "SELECT scenarios.scenario_id FROM plans JOIN scenarios"
                    " USING (scenario_id) WHERE plan_id=?",
                    (plan.plan_id,),
                ).fetchall()
            finally:
                db.close()
            assert row[0].startswith(plan.scenario_id + ":")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                ops = operator_pb2_grpc.OperatorServiceStub(channel)
                status = await ops.GetStatus(operator_pb2.GetStatusRequest())
            assert status.current_plan_id == plan.plan_id
            north = next(s for s in status.sites if s.site == "north")
            assert north.budget_source == common_pb2.BUDGET_SOURCE_PLAN
        finally:
            await server.stop(0)


class TestScenarioTables:
    def test_message_reads_as_its_pypsa_folder(self, tmp_path: Path) -> None:
        """A scenario message read from tables is the data its PyPSA CSV folder gives."""
        import dataclasses

        import numpy as np

        import optimiser
        from service.rpc.scenario import scenario_tables, write_pypsa_folder

        scenario = three_bus(1_700_000_000.0)
        write_pypsa_folder(scenario, tmp_path)
        from_folder = optimiser.read_scenario(tmp_path)
        from_tables = optimiser.read_pypsa_tables(scenario_tables(scenario))

        def leaves(x: Any, path: str = "") -> list[tuple[str, Any]]:
            if dataclasses.is_dataclass(x) and not isinstance(x, type):
                return [
                    leaf
                    for f in dataclasses.fields(x)
                    for leaf in leaves(getattr(x, f.name), f"{path}.{f.name}")
                ]
            return [(path, x)]

        differ = [
            path
            for (path, a), (_, b) in zip(leaves(from_folder), leaves(from_tables), strict=True)
            if path not in (".source", ".name")
            and not (np.array_equal(a, b, equal_nan=True) if isinstance(a, np.ndarray) else a == b)
        ]
        assert differ == []
