"""The planner service's client side, for the parts of Spillway that push to a
coordinator (``spillway forecast push`` and the demo), so neither builds messages itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.rpc.forecast_convert import forecast_to_message
from spillway.v1 import planner_pb2_grpc

if TYPE_CHECKING:
    import grpc

    from optimiser.forecast import Forecast
    from spillway.v1 import planner_pb2

__all__ = ["update_forecast"]


async def update_forecast(
    channel: grpc.aio.Channel,
    forecast: Forecast,
    *,
    metadata: Sequence[tuple[str, str]] = (),
    timeout_s: float = 30.0,
) -> planner_pb2.UpdateForecastResponse:
    """Push ``forecast`` with ``UpdateForecast``; the coordinator's answer.

    Raises
    ------
    grpc.aio.AioRpcError
        As the call ends: ``INVALID_ARGUMENT`` naming the series and field of a bad
        forecast, ``UNAUTHENTICATED`` without the token, ...
    """
    stub = planner_pb2_grpc.PlannerServiceStub(channel)
    reply: planner_pb2.UpdateForecastResponse = await stub.UpdateForecast(
        forecast_to_message(forecast), metadata=tuple(metadata), timeout=timeout_s
    )
    return reply
