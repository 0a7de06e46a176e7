"""A Stratum v1 client: one upstream pool connection, and failover across pools.

The protocol is line-delimited JSON-RPC over TCP (``stratum+tcp://``) or TLS
(``stratum+ssl://``). The client speaks:

* ``mining.configure`` (BIP 310 version rolling, before subscribing, when a
  mask is asked for), ``mining.subscribe``, ``mining.authorize``,
  ``mining.extranonce.subscribe``, ``mining.submit``;
* and takes ``mining.notify``, ``mining.set_difficulty``,
  ``mining.set_extranonce``, ``mining.set_version_mask`` and
  ``client.reconnect`` from the pool.

``client.reconnect`` is followed to another port of the same host only: the
next connection sends ``mining.authorize`` with the pool login, so a pool (or
whoever can inject a line into a plaintext session) must not be able to send
it elsewhere. Another host is refused (logged, and reported to ``on_refusal``)
unless the operator allows redirects.

A pool is an untrusted peer: lines are bounded (``max_line_bytes``); a line
that is too long, not JSON, not an object, of an unknown method or with bad
params is logged and skipped, never fatal (decoding and checking in ``messages``).
Only a broken connection ends a session, and ``upstream.StratumUpstream`` then
reconnects with backoff and jitter, trying the pools in priority order. The
endpoint, session, verdict and difficulty names are re-exported from
``endpoint`` and ``messages`` for the callers that import them from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from service.stratum.endpoint import PoolEndpoint, parse_pool_url, same_host
from service.stratum.errors import StratumError, StratumJobError
from service.stratum.messages import (
    MAX_POOL_DIFFICULTY,
    MIN_POOL_DIFFICULTY,
    PoolAnswer,
    PoolError,
    ShareVerdict,
    StratumSession,
    decode_line,
    pool_difficulty,
    reconnect_target,
)
from service.stratum.work import StratumJob

__all__ = [
    "MAX_POOL_DIFFICULTY",
    "MIN_POOL_DIFFICULTY",
    "PoolAnswer",
    "PoolEndpoint",
    "ShareVerdict",
    "StratumClient",
    "StratumConnectionError",
    "StratumSession",
    "parse_pool_url",
    "pool_difficulty",
    "same_host",
]

logger = logging.getLogger(__name__)

DEFAULT_VERSION_MASK = 0x1FFFE000  # BIP 320: the 16 bits miners may roll
STALE_ERROR_CODE = 21  # "Job not found" in the de-facto error table of pools


class StratumConnectionError(StratumError):
    """The pool could not be reached, or the session's handshake failed."""


JobListener = Callable[[StratumJob, StratumSession], Awaitable[None] | None]
# Told what the client refused of the pool: kind ("redirect", "difficulty") and what.
RefusalListener = Callable[[str, str], None]


class StratumClient:
    """One connection to one pool.

    Parameters
    ----------
    endpoint:
        The pool and credentials.
    on_job:
        Called with every new job (and the session) as it arrives; also when
        the difficulty or the extranonce change, with the current job.
    version_mask:
        The version bits we ask to roll (BIP 310); ``None`` not to ask.
    max_line_bytes:
        Longest line accepted from the pool; longer ones are skipped.
    response_timeout_s:
        How long a request waits for its answer.
    allow_redirect:
        Follow ``client.reconnect`` to another host too (the operator's choice;
        by default only the port may change).
    on_refusal:
        Told of each pool message refused as unsafe: ``("redirect", "HOST:PORT")``,
        ``("difficulty", VALUE)``.
    """

    def __init__(
        self,
        endpoint: PoolEndpoint,
        *,
        on_job: JobListener | None = None,
        version_mask: int | None = DEFAULT_VERSION_MASK,
        agent: str = "spillway/0.1",
        max_line_bytes: int = 64 * 1024,
        response_timeout_s: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
        allow_redirect: bool = False,
        on_refusal: RefusalListener | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.session = StratumSession()
        self.reconnect_to: tuple[str, int, float] | None = None
        self._on_job = on_job
        self._version_mask = version_mask
        self._agent = agent
        self._max_line_bytes = max_line_bytes
        self._response_timeout_s = response_timeout_s
        self._ssl_context = ssl_context
        self._allow_redirect = allow_redirect
        self._on_refusal = on_refusal
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._read_task: asyncio.Task[None] | None = None
        self.closed = asyncio.Event()

    async def connect(self, timeout_s: float = 10.0) -> StratumSession:
        """Open the connection and complete the handshake.

        Raises
        ------
        StratumConnectionError
            If the pool cannot be reached, refuses to subscribe or authorize.
        """
        tls: ssl.SSLContext | None = None
        if self.endpoint.tls:
            tls = self._ssl_context or ssl.create_default_context()
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(
                    self.endpoint.host, self.endpoint.port, ssl=tls, limit=self._max_line_bytes
                ),
                timeout_s,
            )
        except (OSError, TimeoutError) as exc:
            self.closed.set()  # over before it began: watchers need not wait
            raise StratumConnectionError(f"{self.endpoint.url}: cannot connect: {exc}") from exc
        self._read_task = asyncio.create_task(
            self._read_loop(), name=f"stratum {self.endpoint.url}"
        )
        try:
            await self._handshake()
        except BaseException:
            await self.close()
            raise
        return self.session

    async def _handshake(self) -> None:
        if self._version_mask is not None:
            try:
                result = await self.request(
                    "mining.configure",
                    [
                        ["version-rolling"],
                        {
                            "version-rolling.mask": f"{self._version_mask:08x}",
                            "version-rolling.min-bit-count": 2,
                        },
                    ],
                )
                if isinstance(result, dict) and result.get("version-rolling") is True:
                    self.session.version_mask = int(result.get("version-rolling.mask", "0"), 16)
            except (StratumError, ValueError) as exc:
                logger.info("%s: no version rolling (%s)", self.endpoint.url, exc)
        result = await self.request("mining.subscribe", [self._agent])
        if not (isinstance(result, list) and len(result) >= 3):
            raise StratumConnectionError(f"{self.endpoint.url}: bad subscribe result {result!r}")
        _subscriptions, extranonce1, extranonce2_size = result[:3]
        self._set_extranonce(extranonce1, extranonce2_size)
        authorized = await self.request(
            "mining.authorize", [self.endpoint.user, self.endpoint.password]
        )
        if authorized is not True:
            raise StratumConnectionError(f"{self.endpoint.url}: authorization refused")
        self.session.authorized = True
        with contextlib.suppress(StratumError):
            await self.request("mining.extranonce.subscribe", [])

    def _set_extranonce(self, extranonce1: Any, extranonce2_size: Any) -> None:
        if not isinstance(extranonce1, str) or not isinstance(extranonce2_size, int):
            raise StratumJobError("extranonce", f"bad values {extranonce1!r}, {extranonce2_size!r}")
        if not 1 <= extranonce2_size <= 16:
            raise StratumJobError(
                "extranonce2_size", f"must be 1..16 bytes, got {extranonce2_size}"
            )
        try:
            self.session.extranonce1 = bytes.fromhex(extranonce1)
        except ValueError:
            raise StratumJobError("extranonce1", f"is not hexadecimal: {extranonce1!r}") from None
        self.session.extranonce2_size = extranonce2_size

    async def request(self, method: str, params: list[Any]) -> Any:
        """Send a request and wait for its result.

        Raises
        ------
        StratumError
            With the pool's error, on timeout or when the connection drops.
        """
        if self._writer is None or self.closed.is_set():
            raise StratumConnectionError(f"{self.endpoint.url}: not connected")
        request_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        line = json.dumps({"id": request_id, "method": method, "params": params}) + "\n"
        try:
            self._writer.write(line.encode())
            await self._writer.drain()
            return await asyncio.wait_for(future, self._response_timeout_s)
        except TimeoutError:
            raise StratumError(f"{self.endpoint.url}: no answer to {method}") from None
        except OSError as exc:
            raise StratumConnectionError(f"{self.endpoint.url}: {exc}") from exc
        finally:
            self._pending.pop(request_id, None)

    async def submit(
        self,
        worker: str,
        job_id: str,
        extranonce2: bytes,
        ntime: int,
        nonce: int,
        version_bits: int | None = None,
    ) -> PoolAnswer:
        """Submit a share: ``[worker, job_id, extranonce2, ntime, nonce(, version_bits)]``."""
        params: list[Any] = [worker, job_id, extranonce2.hex(), f"{ntime:08x}", f"{nonce:08x}"]
        if version_bits is not None:
            params.append(f"{version_bits:08x}")
        try:
            result = await self.request("mining.submit", params)
        except PoolError as exc:
            stale = exc.code == STALE_ERROR_CODE or "stale" in exc.message.lower()
            verdict = ShareVerdict.STALE if stale else ShareVerdict.REJECTED
            return PoolAnswer(verdict, exc.message)
        if result is True:
            return PoolAnswer(ShareVerdict.ACCEPTED)
        return PoolAnswer(ShareVerdict.REJECTED, "pool answered false")

    async def close(self) -> None:
        """Close the connection; pending requests fail."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self._writer.wait_closed()
        if self._read_task is not None and self._read_task is not asyncio.current_task():
            self._read_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._read_task
        self._fail_pending("connection closed")
        self.closed.set()

    def _fail_pending(self, why: str) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(StratumConnectionError(f"{self.endpoint.url}: {why}"))
        self._pending.clear()

    async def _read_loop(self) -> None:
        assert self._reader is not None
        try:
            while True:
                try:
                    line = await self._reader.readuntil(b"\n")
                except asyncio.LimitOverrunError as exc:
                    # Too long: drop it (and the rest of it up to its newline).
                    logger.warning(
                        "%s: skipped a line over %d bytes", self.endpoint.url, self._max_line_bytes
                    )
                    await self._reader.readexactly(exc.consumed)
                    await self._skip_rest_of_line()
                    continue
                except asyncio.IncompleteReadError:
                    break
                await self._handle_line(line)
        except (OSError, ssl.SSLError) as exc:
            logger.warning("%s: connection lost: %s", self.endpoint.url, exc)
        finally:
            self._fail_pending("connection lost")
            self.closed.set()

    async def _skip_rest_of_line(self) -> None:
        assert self._reader is not None
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as exc:
                await self._reader.readexactly(exc.consumed)

    async def _handle_line(self, line: bytes) -> None:
        message = decode_line(line, self.endpoint.url)
        if message is None:
            return
        method = message.get("method")
        if method is None:
            self._handle_response(message)
            return
        try:
            await self._handle_notification(str(method), message.get("params"))
        except (StratumError, ValueError, TypeError, IndexError) as exc:
            logger.warning("%s: skipped %s: %s", self.endpoint.url, method, exc)

    def _handle_response(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        future = self._pending.get(request_id) if isinstance(request_id, int) else None
        if future is None or future.done():
            logger.info("%s: answer to no pending request: %.80r", self.endpoint.url, message)
            return
        error = message.get("error")
        if error:
            future.set_exception(PoolError.from_json(error))
        else:
            future.set_result(message.get("result"))

    async def _handle_notification(self, method: str, params: Any) -> None:
        if not isinstance(params, list):
            raise StratumJobError(method, "params must be a list")
        if method == "mining.notify":
            self.session.job = StratumJob.from_notify(params)
            await self._announce()
        elif method == "mining.set_difficulty":
            try:
                difficulty = pool_difficulty(params[0] if params else None)
            except StratumJobError:
                # Kept: the last sane difficulty, so the next job is announced with it.
                if self._on_refusal is not None:
                    self._on_refusal("difficulty", f"{params[0] if params else None!r:.40}")
                raise
            self.session.difficulty = difficulty
            await self._announce()
        elif method == "mining.set_extranonce":
            self._set_extranonce(params[0], params[1])
            await self._announce()
        elif method == "mining.set_version_mask":
            mask = int(params[0], 16)
            if not 0 <= mask <= 0xFFFFFFFF:
                raise StratumJobError(method, f"mask must be 32 bits, got {params[0]!r}")
            self.session.version_mask = mask
            # Valid at once (BIP 310): work rolled under the old mask must be replaced.
            await self._announce()
        elif method == "client.reconnect":
            self._reconnect(params)
        elif method == "client.show_message":
            logger.info("%s says: %.200s", self.endpoint.url, params[0] if params else "")
        else:
            raise StratumJobError(method, "unknown method")

    def _reconnect(self, params: list[Any]) -> None:
        """``client.reconnect [host, port, wait_s]``: end the session for the next one.

        Raises
        ------
        StratumJobError
            For a port outside 1..65535 or a wait that is not a number.
        """
        host, port, wait_s = reconnect_target(params, self.endpoint.host, self.endpoint.port)
        if not self._allow_redirect and not same_host(host, self.endpoint.host):
            # The next connection would authorize there: with our pool login.
            logger.warning(
                "%s: refused client.reconnect to another host %.80s:%d"
                " (--pool-allow-redirect follows it)",
                self.endpoint.url,
                host,
                port,
            )
            if self._on_refusal is not None:
                self._on_refusal("redirect", f"{host:.80}:{port}")
            return
        self.reconnect_to = (host, port, wait_s)
        logger.info(
            "%s: pool asks to reconnect to %s:%d in %.0f s", self.endpoint.url, host, port, wait_s
        )
        if self._writer is not None:
            self._writer.close()

    async def _announce(self) -> None:
        if self._on_job is None or self.session.job is None:
            return
        outcome = self._on_job(self.session.job, self.session)
        if outcome is not None:
            await outcome
