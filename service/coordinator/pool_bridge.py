"""The coordinator as a pool's miner: work for its workers from the pool, their shares back.

``PoolBridge`` holds the upstream session (``StratumUpstream``: pools in
priority order, failover, ``client.reconnect``) and a ``WorkAllocator``.

Work: the coordinator asks for each worker's next job (``new_job``). It is a
unit of the pool's current job (its own extranonce2 and nonce range) stored as
an ordinary job, so a worker's shares validate like any others, plus where it
came from (``pool_units``). Its share target is the harder of the pool's and
the worker's floor (``ShareFloor``: a few shares a second at the worker's
declared or observed hashrate), so a tiny pool difficulty cannot flood the
coordinator; shares at the floor meet the pool's target too. ``generation``
moves on every new job, difficulty, version mask or session (and when a
worker's shares show its work far too easy for it), and the work streams then
push fresh units to every worker at once; a clean job (or a new session)
marks the news ``clean``, and the worker drops what it hashes within one batch.
Where the pool grants version rolling (BIP 310), each unit carries its own
rolled version in its header (``WorkAllocator``), and its shares go up with
that version's bits.

No pool job (at start, or once a session ends until the next one's first job):
workers get budgets but no job, and a session's end withdraws the work they
hash (``new_job`` gives None on clean news: the stream tells the worker to
idle). Synthetic work, or the ended session's units, would spend the energy for
nothing a pool pays for.

Shares: the coordinator checks and stores a worker's shares and acks them
(stored before acked, so none is lost); ``forward`` then queues the stored
shares of pool jobs. One forwarder task rebuilds each (``ShareCheck``),
submits it with the unit's pool job id, extranonce2, the share's ntime and
nonce, and records the pool's verdict (accepted, rejected with its reason,
stale) per worker in ``pool_shares`` and in ``spillway_pool_shares_total``.
Shares of a session that has ended cannot be submitted to another (their
extranonce1 is gone): they are recorded stale without a round trip. Shares
stored but unanswered when the coordinator stopped are taken up at start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import kernels
from service.coordinator.storage import PoolShare
from service.domain import Job, PoolState, ShareResultKind
from service.errors import ConfigError
from service.metrics import PoolMetrics
from service.stratum.allocator import WorkAllocator, WorkUnit
from service.stratum.client import (
    DEFAULT_VERSION_MASK,
    PoolAnswer,
    PoolEndpoint,
    ShareVerdict,
    StratumClient,
    StratumConnectionError,
    StratumSession,
)
from service.stratum.errors import StratumError, StratumJobError
from service.stratum.upstream import StratumUpstream
from service.stratum.vardiff import ShareFloor

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from service.coordinator.storage import AsyncStore
    from service.domain import ShareOutcome as LocalOutcome
    from service.domain import WorkerRecord
    from service.stratum.work import StratumJob

__all__ = ["POOL_NTIME_ROLL_S", "PoolBridge", "PoolSettings"]

logger = logging.getLogger(__name__)

# How far past a unit's ntime workers may roll it once they run out of nonces. Pools
# refuse ntime far beyond the job's (ckpool: 7,000 s); one block interval keeps headers
# near real time, and a GPU at 3 GH/s needs only a second of ntime per 1.4 s.
POOL_NTIME_ROLL_S = 600


@dataclass(frozen=True, slots=True)
class PoolSettings:
    """The pools to mine for (priority order) and how their work is cut for workers."""

    endpoints: tuple[PoolEndpoint, ...]
    # Each extranonce2 is searched over [nonce_first, nonce_first + nonce_count), in
    # units of nonces_per_unit; extranonce2 values start at extranonce2_start.
    nonces_per_unit: int = 1 << 32
    nonce_first: int = 0
    nonce_count: int = 1 << 32
    extranonce2_start: int = 0
    ntime_roll_s: int = POOL_NTIME_ROLL_S
    # Version bits asked for (BIP 310); None not to ask. Units roll the bits the pool
    # grants of these (never any other), one version per unit.
    version_mask: int | None = DEFAULT_VERSION_MASK
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    # CA bundle that signs stratum+ssl pools' certificates; None: the system's CAs.
    tls_ca: Path | None = None
    # Follow client.reconnect to another host (the pool login goes with it); by
    # default only to another port of the configured host.
    allow_redirect: bool = False
    # Each worker's units are cut at a share difficulty it finds this many shares a
    # second at, at most, when the pool's difficulty is easier (a vardiff floor).
    max_worker_shares_per_s: float = 2.0
    # The clock of units' ntime (tests freeze it so a unit's ntime is the job's own).
    clock_s: Callable[[], float] = time.time


@dataclass(frozen=True, slots=True)
class _Unit:
    """Where a job handed to a worker came from: the pool, its session and the unit."""

    pool: str
    session: StratumSession
    work: WorkUnit  # the pool's job id, extranonce2 and (rolled) version of the unit
    difficulty: float  # of the job's share target: the pool's, or the worker's floor


class PoolBridge:
    """Work from the upstream pool for the coordinator's workers, and their shares back.

    Parameters
    ----------
    settings:
        Pools and how work is cut.
    store:
        Where units and verdicts are kept.
    registry:
        Where ``PoolMetrics`` go.
    on_change:
        Awaited when there is new work (the coordinator wakes its work streams).

    Raises
    ------
    ConfigError
        Naming ``pool_tls_ca`` when that CA bundle cannot be read.
    """

    def __init__(
        self,
        settings: PoolSettings,
        store: AsyncStore,
        registry: CollectorRegistry,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self._tls: ssl.SSLContext | None = None
        if settings.tls_ca is not None:
            try:
                self._tls = ssl.create_default_context(cafile=settings.tls_ca)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"pool_tls_ca: cannot read {settings.tls_ca}: {exc}") from exc
        self.settings = settings
        self._store = store
        self._on_change = on_change
        self._pools = [endpoint.url for endpoint in settings.endpoints]
        self.metrics = PoolMetrics(registry, self._pools)
        self.share_floor = ShareFloor(settings.max_worker_shares_per_s)
        self.allocator = WorkAllocator(
            nonces_per_unit=settings.nonces_per_unit,
            nonce_first=settings.nonce_first,
            nonce_count=settings.nonce_count,
            extranonce2_start=settings.extranonce2_start,
            ntime_roll_s=settings.ntime_roll_s,
            clock_s=settings.clock_s,
        )
        self.upstream = StratumUpstream(
            settings.endpoints,
            self._client,
            backoff_initial_s=settings.backoff_initial_s,
            backoff_max_s=settings.backoff_max_s,
        )
        # Moves on every new job, difficulty or session; clean news at _clean_generation.
        self.generation = 0
        self._clean_generation = 0
        self._session: StratumSession | None = None
        self._pool = ""
        self._job_id: str | None = None
        self._difficulty = 0.0
        self._units: dict[str, _Unit] = {}
        self._queue: asyncio.Queue[PoolShare] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()

    # life cycle

    async def start(self) -> None:
        """Queue the shares left unanswered by the last run; connect; start forwarding."""
        for share in await self._store.run(self._store.store.pool_pending):
            self._queue.put_nowait(share)
        self._spawn(self.upstream.run(), "pool upstream")
        self._spawn(self._forward_loop(), "pool forwarder")

    async def stop(self) -> None:
        """Stop forwarding and close the upstream session (unanswered shares wait on disk)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _spawn(self, work: Awaitable[None], name: str) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(work)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # work

    async def status(self) -> PoolState:
        """The pool mined for now and the verdicts so far (``GetStatus``)."""
        counts = await self._store.run(self._store.store.pool_verdicts)
        return PoolState(
            url=self._pool if self._session is not None else "",
            connected=self._session is not None,
            difficulty=self._difficulty,
            job_id=self._job_id or "",
            shares_accepted=counts.get(ShareVerdict.ACCEPTED.value, 0),
            shares_rejected=counts.get(ShareVerdict.REJECTED.value, 0),
            shares_stale=counts.get(ShareVerdict.STALE.value, 0),
        )

    def pool_job_of(self, job_id: str) -> str | None:
        """The pool's job id behind one of our jobs, while it is current work."""
        unit = self._units.get(job_id)
        return unit.work.job_id if unit is not None else None

    def news(self, seen: int) -> tuple[int, bool] | None:
        """``(generation, clean)`` if there is new work since generation ``seen``, else None."""
        if self.generation == seen:
            return None
        return self.generation, self._clean_generation > seen

    async def new_job(self, worker: WorkerRecord, hashrate_hs: float | None = None) -> Job | None:
        """A unit of the pool's current job for ``worker``, stored; None without a pool job.

        Its share target is the pool's, or harder: the worker's floor at
        ``hashrate_hs`` (default: the hashrate it registered) or at what its
        shares show, whichever is more.
        """
        session = self._session
        try:
            unit = self.allocator.next_unit(worker.worker_id)
        except StratumJobError as exc:
            logger.warning("pool %s: %s; waiting for the next job", self._pool, exc)
            return None
        if unit is None or session is None:
            return None
        target = unit.share_target
        floor = self.share_floor.difficulty(
            worker.worker_id, worker.hashrate_hs if hashrate_hs is None else hashrate_hs
        )
        if floor > 0:
            floor_target = kernels.difficulty_to_target(floor)
            if floor_target < target:
                target = floor_target
                self.metrics.units_floored.labels(self._pool).inc()
        job = Job(
            job_id=uuid.uuid4().hex[:16],
            worker_id=worker.worker_id,
            header_prefix=unit.header_prefix,
            target=target,
            ntime=unit.ntime,
            ntime_roll_s=unit.ntime_roll_s,
            created_s=time.time(),
            nonce_start=unit.nonce_start,
            nonce_count=unit.nonce_count,
        )
        difficulty = kernels.DIFF1_TARGET / target
        self._units[job.job_id] = _Unit(self._pool, session, unit, difficulty)
        await self._store.run(
            self._store.store.add_pool_job,
            job,
            self._pool,
            unit.job_id,
            session.extranonce1,
            unit.extranonce2,
        )
        return job

    def _client(self, endpoint: PoolEndpoint) -> StratumClient:
        """A client for the upstream's next try, labelled with its configured pool."""
        pool = self._pools[self.upstream.pool_index]
        client = StratumClient(
            endpoint,
            on_job=functools.partial(self._on_job, pool),
            version_mask=self.settings.version_mask,
            ssl_context=self._tls,
            allow_redirect=self.settings.allow_redirect,
            on_refusal=functools.partial(self._refused, pool),
        )
        self._spawn(self._watch(pool, client), f"pool watch {pool}")
        return client

    def _refused(self, pool: str, kind: str, what: str) -> None:
        """Count what a pool's client refused (the client has logged it)."""
        if kind == "redirect":
            self.metrics.redirects_refused.labels(pool).inc()
        elif kind == "difficulty":
            self.metrics.difficulties_refused.labels(pool).inc()

    async def _on_job(self, pool: str, job: StratumJob, session: StratumSession) -> None:
        """A job, difficulty or extranonce from the pool: new units for every worker."""
        if session is not self._session:
            if self._session is not None:  # its watcher has not run yet
                self.metrics.connected.labels(self._pool).set(0)
                self.metrics.difficulty.labels(self._pool).set(0)
            self._drop_session()
            self._session, self._pool = session, pool
            self.metrics.connected.labels(pool).set(1)
            logger.info("mining for %s (extranonce1 %s)", pool, session.extranonce1.hex())
        # Only bits both granted and asked for: a pool may answer with more than asked.
        version_mask = session.version_mask & (self.settings.version_mask or 0)
        clean = self.allocator.update(
            job, session.extranonce1, session.extranonce2_size, session.difficulty, version_mask
        )
        if clean:
            self._units.clear()  # the allocator dropped them too: their shares are stale
        new_job = job.job_id != self._job_id
        new_difficulty = session.difficulty != self._difficulty
        if new_job:
            self.metrics.jobs.labels(pool).inc()
        self.metrics.difficulty.labels(pool).set(session.difficulty)
        self._job_id, self._difficulty = job.job_id, session.difficulty
        if clean or new_job or new_difficulty:
            self.generation += 1
            if clean:
                self._clean_generation = self.generation
            logger.info(
                "pool %s: job %s, difficulty %g%s",
                pool,
                job.job_id,
                session.difficulty,
                " (clean)" if clean else "",
            )
            await self._on_change()

    async def _watch(self, pool: str, client: StratumClient) -> None:
        """When a client's connection ends, its session's units are stale."""
        await client.closed.wait()
        if self._session is client.session:
            self._drop_session()
            self.metrics.connected.labels(pool).set(0)
            self.metrics.difficulty.labels(pool).set(0)
            logger.warning("pool %s: session ended; workers idle until the next job", pool)
            # Clean news without a job: the work streams withdraw the units being hashed.
            self.generation += 1
            self._clean_generation = self.generation
            await self._on_change()

    def _drop_session(self) -> None:
        self.allocator.reset()
        self._units.clear()
        self._session, self._job_id, self._difficulty = None, None, 0.0

    # shares

    def forward(
        self,
        worker: WorkerRecord,
        checked: Sequence[tuple[Job | None, int, int, LocalOutcome]],
        outcomes: Sequence[LocalOutcome],
    ) -> None:
        """Queue a worker's newly stored shares for the pool.

        ``checked`` holds ``(job, ntime, nonce, outcome)`` per share as checked,
        ``outcomes`` the answers after storing (a share stored before is a duplicate).
        """
        recut = False
        for (job, ntime, nonce, _), outcome in zip(checked, outcomes, strict=True):
            if job is None or outcome.result is not ShareResultKind.ACCEPTED:
                continue  # refused here, or stored before: nothing new for the pool
            unit = self._units.get(job.job_id)
            pool = unit.pool if unit is not None else ""
            if unit is not None:
                recut |= self.share_floor.observe(worker.worker_id, unit.difficulty)
            self._queue.put_nowait(PoolShare(job.job_id, ntime, nonce, worker.worker_id, pool))
        if recut:
            # The worker finds far more shares than its floor allows (it declared too
            # little): new units for the workers now, at the floor its shares show.
            logger.warning(
                "worker %s finds shares at %.3g H/s: its share difficulty goes up to %.3g",
                worker.worker_id,
                self.share_floor.observed_hashrate_hs(worker.worker_id),
                self.share_floor.difficulty(worker.worker_id, worker.hashrate_hs),
            )
            self.generation += 1
            self._spawn(self._on_change(), "pool re-cut")

    async def _forward_loop(self) -> None:
        while True:
            share = await self._queue.get()
            try:
                await self._forward(share)
            except StratumError as exc:  # never lose the forwarder to one share
                logger.warning("share %s/%d not forwarded: %s", share.job_id, share.nonce, exc)

    async def _forward(self, share: PoolShare) -> None:
        """Submit one stored share to its pool and record the verdict."""
        unit = self._units.get(share.job_id)
        if unit is None:
            # Its session ended (or the coordinator restarted), or it is no pool job.
            pool: str | None = share.pool
            if not pool:
                pool = await self._store.run(self._store.store.pool_unit, share.job_id)
            if pool:
                share = PoolShare(share.job_id, share.ntime, share.nonce, share.worker_id, pool)
                await self._record(share, PoolAnswer(ShareVerdict.STALE, "session ended"))
            return
        share = PoolShare(share.job_id, share.ntime, share.nonce, share.worker_id, unit.pool)
        work = unit.work
        try:
            check = self.allocator.check_share(
                share.worker_id,
                work.job_id,
                work.extranonce2,
                share.nonce,
                ntime=share.ntime,
                version=work.version,
            )
        except StratumJobError as exc:
            verdict = ShareVerdict.STALE if exc.field == "job_id" else ShareVerdict.REJECTED
            await self._record(share, PoolAnswer(verdict, str(exc)))
            return
        if not check.meets_share_target:
            outcome = PoolAnswer(ShareVerdict.REJECTED, "above the pool's share target")
            await self._record(share, outcome)
            return
        if check.meets_block_target:
            logger.warning(
                "share of %s meets the block target: block %s",
                share.worker_id,
                check.hash[::-1].hex(),
            )
        client = self.upstream.client
        if client is None or client.session is not unit.session:
            await self._record(share, PoolAnswer(ShareVerdict.STALE, "session ended"))
            return
        try:
            outcome = await client.submit(
                client.endpoint.user,
                work.job_id,
                work.extranonce2,
                share.ntime,
                share.nonce,
                work.version_bits,
            )
        except StratumConnectionError:
            # The answer is lost with the session; a new session cannot take the share.
            outcome = PoolAnswer(ShareVerdict.STALE, "connection lost before the answer")
        except StratumError as exc:
            outcome = PoolAnswer(ShareVerdict.REJECTED, str(exc))
        await self._record(share, outcome)

    async def _record(self, share: PoolShare, outcome: PoolAnswer) -> None:
        """Store and count the pool's verdict on ``share`` (whose ``pool`` is set)."""
        pool = share.pool
        await self._store.run(
            self._store.store.record_pool_verdict,
            share,
            outcome.verdict.value,
            outcome.reason,
            time.time(),
        )
        self.metrics.shares.labels(pool, outcome.verdict.value).inc()
        logger.info(
            "pool %s: share %08x of %s %s%s",
            pool,
            share.nonce,
            share.worker_id,
            outcome.verdict.value,
            f" ({outcome.reason})" if outcome.reason else "",
        )
