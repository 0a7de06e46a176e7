"""Server interceptors: metrics (outermost), the error table, bearer-token auth (innermost).

Each wraps the method handler's behaviour; unary and server-streaming
behaviours (async generators, or coroutines that ``context.write``) are both
handled. Order in ``build_server``: ``[MetricsInterceptor, ErrorInterceptor,
AuthInterceptor]``, so an auth failure is mapped by the error table and every
outcome is counted.
"""

from __future__ import annotations

import asyncio
import hmac
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from service.errors import (
    InvalidRequestError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    internal_status,
    status_for,
)
from service.metrics import GrpcServerMetrics

__all__ = [
    "STATE_CHANGING_METHODS",
    "TOKEN_METHODS",
    "AuthInterceptor",
    "ErrorInterceptor",
    "MetricsInterceptor",
    "RateLimitInterceptor",
]

logger = logging.getLogger(__name__)

Behaviour = Callable[[Any, Any], Any]
Wrapper = Callable[[Behaviour, str], Behaviour]

# Calls that change state need the bearer token; reads stay open (every
# LedgerService call only reads: records, headers, proofs, settlements).
STATE_CHANGING_METHODS = frozenset(
    {
        "/spillway.v1.PlannerService/SubmitScenario",
        "/spillway.v1.PlannerService/RunPlan",
        "/spillway.v1.PlannerService/UpdateForecast",
        "/spillway.v1.PlannerService/PushPrices",
        "/spillway.v1.WorkerService/RegisterWorker",
        "/spillway.v1.WorkerService/StreamWork",
        "/spillway.v1.WorkerService/SubmitShares",
        "/spillway.v1.WorkerService/ReportTelemetry",
        "/spillway.v1.OperatorService/SetBudgetOverride",
        "/spillway.v1.OperatorService/PauseSite",
        "/spillway.v1.OperatorService/ClearBudgetOverride",
        "/spillway.v1.OperatorService/PushSchedule",
    }
)
# Calls that need the token: those that change state, and those that spend the
# coordinator's resources (a SearchNonces call is up to 2^32 hashes of its CPU).
TOKEN_METHODS = STATE_CHANGING_METHODS | {"/spillway.v1.HashingService/SearchNonces"}


class _Unparsable:
    """Stands for a request whose bytes did not parse (answered INVALID_ARGUMENT)."""


_UNPARSABLE = _Unparsable()


def _wrap_handler(handler: Any, wrap: Wrapper, method: str, *, guard_parse: bool = False) -> Any:
    """A copy of ``handler`` whose unary or server-streaming behaviour goes through ``wrap``."""
    deserializer = handler.request_deserializer
    if guard_parse and deserializer is not None:
        inner = deserializer

        def deserializer(data: bytes) -> Any:
            try:
                return inner(data)
            except Exception:  # any decode failure is the client's
                return _UNPARSABLE

    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            wrap(handler.unary_unary, method),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            wrap(handler.unary_stream, method),
            request_deserializer=deserializer,
            response_serializer=handler.response_serializer,
        )
    return handler  # no client-streaming RPCs in this contract


def _around(
    behaviour: Behaviour,
    before: Callable[[Any, Any], Awaitable[None]],
    on_error: Callable[[BaseException, Any], Awaitable[None]],
    after: Callable[[Any], None],
) -> Behaviour:
    """``behaviour`` with ``before`` it, ``on_error`` for what it raises, ``after`` always."""
    if inspect.isasyncgenfunction(behaviour):

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                await before(request, context)
                async for item in behaviour(request, context):
                    yield item
            except BaseException as exc:
                await on_error(exc, context)
                raise
            finally:
                after(context)

        return stream

    async def unary(request: Any, context: Any) -> Any:
        try:
            await before(request, context)
            return await behaviour(request, context)
        except BaseException as exc:
            await on_error(exc, context)
            raise
        finally:
            after(context)

    return unary


async def _nothing(*_args: Any) -> None:
    return None


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts RPCs under the grpc-ecosystem metric names."""

    def __init__(self, metrics: GrpcServerMetrics, kinds: dict[str, str]) -> None:
        self._metrics = metrics
        self._kinds = kinds  # "/pkg.Service/Method" -> grpc_type

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        method: str = details.method
        service, _, name = method.lstrip("/").partition("/")
        kind = self._kinds.get(
            method, "server_stream" if handler.unary_stream is not None else "unary"
        )
        labels = (kind, service, name)

        def wrap(behaviour: Behaviour, _method: str) -> Behaviour:
            start: dict[int, float] = {}
            failure: dict[int, str] = {}

            async def before(_request: Any, context: Any) -> None:
                start[id(context)] = time.perf_counter()
                self._metrics.started.labels(*labels).inc()

            async def on_error(exc: BaseException, context: Any) -> None:
                if isinstance(exc, asyncio.CancelledError | GeneratorExit):
                    failure[id(context)] = grpc.StatusCode.CANCELLED.name
                elif _code_name(context) in (None, "OK"):
                    failure[id(context)] = grpc.StatusCode.UNKNOWN.name

            def after(context: Any) -> None:
                code = failure.pop(id(context), None) or _code_name(context) or "OK"
                self._metrics.handled.labels(*labels, code).inc()
                begun = start.pop(id(context), None)
                if begun is not None:
                    self._metrics.handling_seconds.labels(*labels).observe(
                        time.perf_counter() - begun
                    )

            return _around(behaviour, before, on_error, after)

        return _wrap_handler(handler, wrap, method)


def _code_name(context: Any) -> str | None:
    code = context.code()
    if code is None:
        return None
    if isinstance(code, grpc.StatusCode):
        return str(code.name)
    for candidate in grpc.StatusCode:  # the aio context may hold the integer value
        if candidate.value[0] == code:
            return str(candidate.name)
    return None


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Applies ``service.errors.ERROR_TABLE``: rich statuses, never a stack trace on the wire.

    Also answers a request whose bytes do not parse with ``INVALID_ARGUMENT``.
    """

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None
        return _wrap_handler(handler, _map_errors, details.method, guard_parse=True)


async def _abort_for(exc: Exception, context: Any, method: str) -> None:
    """Abort the call with the table's status for ``exc`` (raises ``AbortError``)."""
    status = status_for(exc)
    if status is None:
        logger.error("%s failed", method, exc_info=exc)
        status = internal_status()
    await context.abort(status.code, status.details, status.trailing_metadata)


def _map_errors(behaviour: Behaviour, method: str) -> Behaviour:
    """``behaviour`` with every ``Exception`` turned into its table status."""

    def check(request: Any) -> None:
        if request is _UNPARSABLE:
            raise InvalidRequestError.one("request", f"cannot be parsed for {method}")

    if inspect.isasyncgenfunction(behaviour):

        async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
            try:
                check(request)
                async for item in behaviour(request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                await _abort_for(exc, context, method)

        return stream

    async def unary(request: Any, context: Any) -> Any:
        try:
            check(request)
            return await behaviour(request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:
            await _abort_for(exc, context, method)

    return unary


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Calls that change state or spend resources need ``authorization: Bearer <token>``.

    Parameters
    ----------
    token:
        The expected token; ``None`` disables the check.
    """

    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None or self._token is None or details.method not in TOKEN_METHODS:
            return handler
        metadata = dict(details.invocation_metadata or ())
        header = metadata.get("authorization", "")
        token = self._token

        def wrap(behaviour: Behaviour, method: str) -> Behaviour:
            async def before(_request: Any, _context: Any) -> None:
                if not header:
                    what = (
                        "changes state" if method in STATE_CHANGING_METHODS else "spends resources"
                    )
                    raise UnauthenticatedError(
                        f"{method} {what}: send 'authorization: Bearer <token>'"
                    )
                scheme, _, given = str(header).partition(" ")
                if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token):
                    raise PermissionDeniedError("the bearer token is not valid")

            return _around(behaviour, before, _nothing, lambda _context: None)

        return _wrap_handler(handler, wrap, details.method)


class RateLimitInterceptor(grpc.aio.ServerInterceptor):
    """A token bucket of calls per client host; past it, ``RESOURCE_EXHAUSTED``.

    Parameters
    ----------
    rate_per_s:
        Sustained calls per second per host.
    burst:
        Calls a host may make at once after a quiet spell.
    """

    def __init__(self, rate_per_s: float, burst: float) -> None:
        self._rate_per_s = rate_per_s
        self._burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # host -> (tokens, last time)

    def _take(self, peer: str) -> bool:
        # "ipv4:127.0.0.1:5555" / "ipv6:[::1]:5555": the host, without the port.
        host = peer.rpartition(":")[0] or peer
        now_s = time.monotonic()
        tokens, last_s = self._buckets.get(host, (self._burst, now_s))
        tokens = min(self._burst, tokens + (now_s - last_s) * self._rate_per_s)
        if len(self._buckets) > 10_000:  # bound the table: forget idle hosts
            self._buckets.clear()
        if tokens < 1:
            self._buckets[host] = (tokens, now_s)
            return False
        self._buckets[host] = (tokens - 1, now_s)
        return True

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        if handler is None:
            return None

        def wrap(behaviour: Behaviour, method: str) -> Behaviour:
            async def before(_request: Any, context: Any) -> None:
                if not self._take(str(context.peer())):
                    raise ResourceExhaustedError(
                        f"rate limit: at most {self._rate_per_s:g} calls/s per client; slow down"
                    )

            return _around(behaviour, before, _nothing, lambda _context: None)

        return _wrap_handler(handler, wrap, details.method)
