"""``HashingService``: direct nonce search for farm clients, off the event loop.

The range is scanned in bounded batches on a worker thread; after each batch
what was found is streamed, so a client that cancels stops the search within
one batch. At most ``max_searches`` run at once; more are RESOURCE_EXHAUSTED.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from service.errors import ResourceExhaustedError
from service.rpc import convert
from spillway.v1 import miner_pb2

if TYPE_CHECKING:
    from kernels import HashBackend
    from service.metrics import CoordinatorMetrics

__all__ = ["MAX_BATCH_NONCES", "HashingServicer"]

logger = logging.getLogger(__name__)

# About 0.1-0.2 s of a two-core CPU per batch: cancel is honoured that fast.
MAX_BATCH_NONCES = 1 << 22


class HashingServicer:
    """``spillway.v1.HashingService``.

    Parameters
    ----------
    backend:
        The device to hash on (shared by all searches; batches are serialised).
    max_searches:
        Searches at once.
    """

    def __init__(
        self, backend: HashBackend, *, max_searches: int, metrics: CoordinatorMetrics
    ) -> None:
        self._backend = backend
        self._slots = max_searches
        self._device = asyncio.Lock()
        self._metrics = metrics.hashes.labels(backend.name)

    async def SearchNonces(  # noqa: N802  (gRPC method name)
        self, request: miner_pb2.SearchNoncesRequest, context: Any
    ) -> AsyncIterator[miner_pb2.SearchNoncesResponse]:
        """Scan the range batch by batch; stream each batch's finds, then ``done``."""
        header, target, nonce_start, count = convert.search_from_proto(request)
        if self._slots <= 0:
            raise ResourceExhaustedError("too many searches at once; retry later")
        self._slots -= 1
        try:
            done = 0
            batch_max = min(self._backend.batch_size, MAX_BATCH_NONCES)
            while done < count:
                batch = min(batch_max, count - done)
                async with self._device:
                    result = await asyncio.to_thread(
                        self._backend.scan, header, target, nonce_start + done, batch
                    )
                done += batch
                self._metrics.inc(batch)
                yield miner_pb2.SearchNoncesResponse(
                    found=[
                        miner_pb2.FoundNonce(
                            nonce=hit.nonce, hash=hit.hash, hash_display_hex=hit.hash_hex
                        )
                        for hit in result.found
                    ],
                    hashes_done=done,
                    done=done >= count,
                )
        finally:
            self._slots += 1
