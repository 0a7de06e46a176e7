"""The planner service's client side, for the parts of Spillway that push to a
coordinator (``spillway forecast push``, ``spillway prices push`` and the demo), so none
builds messages itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from service.rpc.forecast_convert import forecast_to_message
from service.rpc.price_convert import prices_to_proto
from spillway.v1 import planner_pb2_grpc

if TYPE_CHECKING:
    import grpc

    from optimiser.forecast import Forecast
    from service.signals.domain import PricePoint
    from spillway.v1 import planner_pb2

__all__ = ["push_prices", "update_forecast"]


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


async def push_prices(
    channel: grpc.aio.Channel,
    points: Sequence[PricePoint],
    *,
    metadata: Sequence[tuple[str, str]] = (),
    timeout_s: float = 30.0,
) -> planner_pb2.PushPricesResponse:
    """Push price intervals with ``PushPrices``; the coordinator's answer.

    Raises
    ------
    grpc.aio.AioRpcError
        As the call ends: ``INVALID_ARGUMENT`` naming ``prices[i].field``,
        ``FAILED_PRECONDITION`` without a price rule, ``UNAUTHENTICATED`` ...
    """
    stub = planner_pb2_grpc.PlannerServiceStub(channel)
    reply: planner_pb2.PushPricesResponse = await stub.PushPrices(
        prices_to_proto(points), metadata=tuple(metadata), timeout=timeout_s
    )
    return reply
