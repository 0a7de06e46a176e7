"""Keeping a pool session up: reconnects with backoff and jitter, failover across
pools in priority order, and ``client.reconnect`` honoured for the next try.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence

from service.stratum.client import StratumClient
from service.stratum.endpoint import PoolEndpoint
from service.stratum.errors import StratumError, StratumJobError

__all__ = ["StratumUpstream"]

logger = logging.getLogger(__name__)


class StratumUpstream:
    """Keeps one pool connection up, trying pools in priority order.

    After a drop it backs off (exponentially, with jitter) and starts again
    from the first pool, so it returns to the primary when it is back. A
    ``client.reconnect`` from the pool is honoured for that pool's next try.

    Parameters
    ----------
    endpoints:
        Pools in priority order.
    client_factory:
        Makes a ``StratumClient`` for an endpoint (so callers set listeners).
    """

    def __init__(
        self,
        endpoints: Sequence[PoolEndpoint],
        client_factory: Callable[[PoolEndpoint], StratumClient],
        *,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
    ) -> None:
        if not endpoints:
            raise StratumJobError("pool", "at least one pool is needed")
        self._endpoints = list(endpoints)
        self._factory = client_factory
        self._backoff_initial_s = backoff_initial_s
        self._backoff_max_s = backoff_max_s
        self.client: StratumClient | None = None
        self.connected = asyncio.Event()
        self.connections = 0
        # Which of ``endpoints`` the current (or last) client is for.
        self.pool_index = 0
        self._redirect: dict[int, tuple[str, int]] = {}

    async def run(self) -> None:
        """Connect, hold the connection, reconnect; until cancelled."""
        backoff_s = self._backoff_initial_s
        while True:
            for index, endpoint in enumerate(self._endpoints):
                host, port = self._redirect.pop(index, (endpoint.host, endpoint.port))
                target = PoolEndpoint(host, port, endpoint.tls, endpoint.user, endpoint.password)
                self.pool_index = index
                client = self._factory(target)
                try:
                    await client.connect()
                except StratumError as exc:
                    logger.warning("%s", exc)  # names the pool already
                    continue
                self.client = client
                self.connections += 1
                self.connected.set()
                backoff_s = self._backoff_initial_s
                try:
                    await client.closed.wait()
                finally:
                    self.connected.clear()
                    self.client = None
                    await client.close()
                if client.reconnect_to is not None:
                    host, port, wait_s = client.reconnect_to
                    self._redirect[index] = (host, port)
                    await asyncio.sleep(wait_s)
                break  # start again from the primary
            else:
                delay_s = random.uniform(0.5, 1.0) * backoff_s
                logger.info("no pool reachable; retrying in %.1f s", delay_s)
                await asyncio.sleep(delay_s)
                backoff_s = min(backoff_s * 2, self._backoff_max_s)
                continue
            await asyncio.sleep(random.uniform(0.0, 0.2) * self._backoff_initial_s)
