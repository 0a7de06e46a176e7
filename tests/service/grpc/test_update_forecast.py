"""UpdateForecast on a live coordinator: in the contract, not yet served."""

from __future__ import annotations

import grpc
import pytest
from spw_helpers import AUTH, Running

from spillway.v1 import planner_pb2, planner_pb2_grpc


class TestUpdateForecastPlaceholder:
    async def test_answers_unimplemented_and_the_server_still_serves(
        self, coordinator: Running
    ) -> None:
        """A coordinator built with the extended contract starts and says UNIMPLEMENTED
        (until the rolling coordinator wires the RPC), and keeps serving other calls."""
        stub = planner_pb2_grpc.PlannerServiceStub(coordinator.channel)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.UpdateForecast(planner_pb2.UpdateForecastRequest(), metadata=AUTH)
        assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.GetPlan(planner_pb2.GetPlanRequest(plan_id="nope"))
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
