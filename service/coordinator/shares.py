"""Jobs stored before they are sent, and workers' shares checked and stored.

``JobWriter`` batches the jobs asked for while a commit runs into the next
transaction. ``ShareIntake`` takes a worker's shares within its allowance (a
token bucket, ``ShareAllowance``), checks each against its job, stores the
accepted ones in one transaction and hands pool jobs' shares to the pool.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from service.domain import Job, ShareOutcome, ShareSubmission, WorkerRecord, check_share
from service.errors import ResourceExhaustedError

if TYPE_CHECKING:
    from service.coordinator.pool_bridge import PoolBridge
    from service.coordinator.settings import CoordinatorSettings
    from service.coordinator.storage import AsyncStore
    from service.metrics import CoordinatorMetrics

__all__ = ["JobWriter", "ShareAllowance", "ShareIntake"]


@dataclass(slots=True)
class ShareAllowance:
    """A worker's token bucket of shares: tokens left, when last filled (monotonic)."""

    tokens: float | None = None
    filled_s: float = field(default_factory=time.monotonic)

    def take(self, wanted: int, rate_per_s: float, burst: float) -> int:
        """How many of ``wanted`` shares the worker may hand in now."""
        now_s = time.monotonic()
        tokens = burst if self.tokens is None else self.tokens
        tokens = min(burst, tokens + (now_s - self.filled_s) * rate_per_s)
        taken = min(wanted, int(tokens))
        self.tokens, self.filled_s = tokens - taken, now_s
        return taken


class JobWriter:
    """Stores jobs before they are sent, many per transaction.

    Each job is on disk (``synchronous=FULL``) before ``add`` returns, as with one
    transaction per job; but the jobs asked for while one batch commits go in the
    next batch together, so a fleet connecting at once costs one disk sync per
    batch, not one per worker.
    """

    def __init__(self, store: AsyncStore) -> None:
        self._store = store
        self._pending: list[tuple[Job, asyncio.Future[None]]] = []
        self._writing: asyncio.Task[None] | None = None

    async def add(self, job: Job) -> None:
        """Store ``job``; return once it is committed."""
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, stored))
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write(), name="job-writer")
        await stored

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._store.run(self._store.store.add_jobs, [job for job, _ in batch])
            except Exception as exc:  # each caller gets the store's error
                for _, stored in batch:
                    if not stored.done():
                        stored.set_exception(exc)
                continue
            for _, stored in batch:
                if not stored.done():
                    stored.set_result(None)


class ShareIntake:
    """Checks and stores workers' shares.

    Parameters
    ----------
    settings:
        The per-worker share rate and burst.
    store:
        Where jobs are read and accepted shares stored.
    metrics:
        Where outcomes and rate-limited shares are counted.
    """

    def __init__(
        self, settings: CoordinatorSettings, store: AsyncStore, metrics: CoordinatorMetrics
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics

    async def submit(
        self,
        worker: WorkerRecord,
        allowance: ShareAllowance,
        shares: list[ShareSubmission],
        pool: PoolBridge | None,
    ) -> list[ShareOutcome]:
        """Check and store shares; each gets an outcome (duplicates acknowledged).

        At most the worker's share allowance is taken; the rest get no outcome (they
        stay in the worker's queue) and are counted.

        Raises
        ------
        ResourceExhaustedError
            When the worker has no allowance left at all.
        """
        shares = self._allowed(allowance, shares)
        store = self.store.store
        checked = []
        jobs: dict[str, Job | None] = {}  # a call's shares are mostly of one job: one read each
        for share in shares:
            if share.job_id not in jobs:
                jobs[share.job_id] = await self.store.run(store.job, share.job_id)
            job = jobs[share.job_id]
            if job is not None and job.worker_id != worker.worker_id:
                job = None  # another worker's job: unknown to this one
            checked.append((job, share.ntime, share.nonce, check_share(job, share)))
        outcomes = await self.store.run(store.record_shares, worker, checked, time.time())
        for outcome in outcomes:
            self.metrics.shares.labels(outcome.result.metric_label).inc()
        if pool is not None:
            # Acked once stored; the pool's verdict comes later and is recorded then.
            pool.forward(worker, checked, outcomes)
        return outcomes

    def _allowed(
        self, allowance: ShareAllowance, shares: list[ShareSubmission]
    ) -> list[ShareSubmission]:
        """The shares the allowance takes now; refuse when it takes none."""
        rate_per_s, burst = self.settings.worker_shares_per_s, self.settings.worker_share_burst
        taken = allowance.take(len(shares), rate_per_s, burst)
        if taken < len(shares):
            self.metrics.shares_rate_limited.inc(len(shares) - taken)
            if taken == 0:
                raise ResourceExhaustedError(
                    f"shares: at most {rate_per_s:g} per second"
                    f" per worker (burst {burst:g}); send later"
                )
        return shares[:taken]
