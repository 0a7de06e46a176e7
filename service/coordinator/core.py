"""The coordinator's behaviour, free of gRPC: budgets, jobs, shares, telemetry, overrides.

Servicers translate messages and call these methods; all storage goes through
``AsyncStore`` (off the event loop). Work streams wait on ``changed`` so an
override or a new schedule reaches workers at once, not at the next refresh.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from service.coordinator.budgets import BudgetRules
from service.coordinator.grid import GridSignals
from service.coordinator.plans import PlanCodec, Plans
from service.coordinator.recorder import LedgerRecorder
from service.coordinator.wakeup import Wakeup
from service.domain import (
    Budget,
    Job,
    Override,
    Plan,
    ScheduleEntry,
    ShareOutcome,
    ShareSubmission,
    WorkerRecord,
    check_share,
    make_job,
    period_start,
)
from service.errors import AlreadyExistsError, NotFoundError, ResourceExhaustedError
from service.ledger.errors import LedgerInputError
from service.signals.shedding import WorkerCapacity, shed

if TYPE_CHECKING:
    from service.coordinator.pool_bridge import PoolBridge
    from service.coordinator.rolling import RollingLoop
    from service.coordinator.settings import CoordinatorSettings
    from service.coordinator.storage import AsyncStore
    from service.ledger.model import Telemetry
    from service.metrics import CoordinatorMetrics
    from service.signals.precedence import SiteDecision

__all__ = ["BudgetEvent", "Coordinator", "JobEvent", "JobWriter", "StopEvent", "WorkerLive"]

logger = logging.getLogger(__name__)

#: The shedding order's J per hash of a worker that declared no hashrate (last to run).
UNKNOWN_J_PER_HASH = 1e30


@dataclass(frozen=True, slots=True)
class BudgetEvent:
    """Send this budget to the worker."""

    budget: Budget
    period_start_s: float


@dataclass(frozen=True, slots=True)
class JobEvent:
    """Send this job to the worker; None: no work, idle until the next (the pool is gone)."""

    job: Job | None
    clean: bool


@dataclass(frozen=True, slots=True)
class StopEvent:
    """Tell the worker to stop: the coordinator is shutting down."""

    reason: str


@dataclass(slots=True)
class WorkerLive:
    """What the coordinator knows of a worker from its last telemetry."""

    streams: int = 0
    hashrate_hs: float = 0.0
    power_w: float = 0.0
    seen_s: float = field(default_factory=time.time)
    # Token bucket of shares taken: tokens left, when last filled (monotonic).
    share_tokens: float | None = None
    share_tokens_s: float = field(default_factory=time.monotonic)

    def take_shares(self, wanted: int, rate_per_s: float, burst: float) -> int:
        """How many of ``wanted`` shares the worker may hand in now (token bucket)."""
        now_s = time.monotonic()
        tokens = burst if self.share_tokens is None else self.share_tokens
        tokens = min(burst, tokens + (now_s - self.share_tokens_s) * rate_per_s)
        taken = min(wanted, int(tokens))
        self.share_tokens, self.share_tokens_s = tokens - taken, now_s
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


class Coordinator:
    """The coordinator's state and rules.

    Parameters
    ----------
    settings:
        Intervals, limits and difficulty.
    store:
        Persistent state.
    metrics:
        Where to count.
    codec:
        How plans and scenarios are stored (as messages, by ``service.rpc``).
    """

    def __init__(
        self,
        settings: CoordinatorSettings,
        store: AsyncStore,
        metrics: CoordinatorMetrics,
        codec: PlanCodec,
    ) -> None:
        self.settings = settings
        self.store = store
        self.metrics = metrics
        self.budgets = BudgetRules(
            store, hold_s=settings.budget_hold_s, refresh_s=settings.budget_refresh_s
        )
        self.jobs = JobWriter(store)
        self.live: dict[str, WorkerLive] = {}
        # Workers with an open stream (their site's budget is shed across them).
        self._streaming: dict[str, WorkerRecord] = {}
        # Per site: (site budget W, streams version, shares): every stream of a site asks
        # for its share after each change; shed once, not once per stream (O(n^2)).
        self._shed_memo: dict[str, tuple[float, int, dict[str, float]]] = {}
        self._streams_version = 0
        self._background: set[asyncio.Task[None]] = set()
        self.changed = Wakeup()
        self.stopping = asyncio.Event()
        self.plans = Plans(store, metrics, codec, stopping=self.stopping, on_change=self.notify)
        # Set by build_server when pools are configured: jobs then come from the pool.
        self.pool: PoolBridge | None = None
        # Set once a ``--scenario`` at real times is read: its plan rolls with the clock.
        self.rolling: RollingLoop | None = None
        # The grid's demand-response events (their VEN is set when --openadr-vtn-url is).
        self.grid = GridSignals(settings.openadr_simple_levels, settings.price_rule)
        # The one store of energy used: signed telemetry, closed into ledger periods.
        self.ledger = LedgerRecorder(
            settings.data_dir,
            settings.period_s,
            contract_prices=settings.contract_prices,
            clock_skew_s=settings.telemetry_clock_skew_s,
            observer=metrics.ledger,
        )
        metrics.plan_valid.set_function(self.plans.covers_now)

    @property
    def plan(self) -> Plan | None:
        """The current plan, if any."""
        return self.plans.current

    async def start(self) -> None:
        """Load the current plan and create the known sites' metric series."""
        await self.plans.load()
        for site in await self.store.run(self.store.store.known_sites):
            self.metrics.site(site)
        # Periods left open by a stop or a crash are closed now, from their staged reports.
        await self.ledger.open()
        await self.ledger.close_due(self.plan)
        self.ledger.start(lambda: self.plan)

    async def notify(self) -> None:
        """Wake every work stream (a budget rule changed)."""
        self.budgets.forget()
        self.grid.changed()
        self.changed.notify_all()

    async def stop(self, reason: str) -> None:
        """Tell every work stream to send ``StopWork`` and end."""
        self.stopping.set()
        await self.notify()
        logger.info("stopping work streams: %s", reason)

    # budgets

    async def budget(self, site: str, now_s: float | None = None) -> Budget:
        """The budget in force for ``site`` now (grid event > override > price rule >
        plan > schedule > zero; an event caps or scales what the others give)."""
        return (await self.explain_budget(site, now_s))[0]

    async def explain_budget(
        self, site: str, now_s: float | None = None
    ) -> tuple[Budget, SiteDecision | None]:
        """The budget in force for ``site`` and, when a grid event or the price rule set
        it, their decision (the event, its level or setpoint, until when)."""
        now_s = time.time() if now_s is None else now_s
        site_plan = self.plan.site(site) if self.plan is not None else None
        budget, decision = self.grid.explain(
            await self.budgets.budget(site, now_s, self.plan),
            now_s,
            bus=site_plan.bus if site_plan is not None else "",
        )
        self.metrics.power_budget_watts.labels(site).set(budget.budget_w)
        return budget, decision

    async def sites(self) -> set[str]:
        """The sites the coordinator knows: the current plan's and registered workers'."""
        workers = await self.store.run(self.store.store.workers)
        plan_sites = {s.site for s in self.plan.sites} if self.plan is not None else set()
        return plan_sites | {w.site for w in workers}

    async def check_sites(self, field: str, sites: set[str]) -> None:
        """Refuse rules for sites nobody knows (a typo would stay as a phantom site).

        Raises
        ------
        NotFoundError
            Naming ``field``, the unknown sites and the known ones.
        """
        known = await self.sites()
        unknown = sorted(sites - known)
        if unknown:
            names = ", ".join(repr(s[:64]) for s in unknown[:5])
            listed = ", ".join(sorted(known)[:20]) or "none (no plan, no registered worker)"
            raise NotFoundError(f"{field}: no site {names}; known sites: {listed}")

    async def set_override(
        self, site: str, budget_w: float, length_s: float, reason: str
    ) -> Override:
        """Set a manual budget for ``length_s`` seconds; it outranks the plan until then."""
        await self.check_sites("site", {site})
        now_s = time.time()
        override = Override(site, budget_w, now_s + length_s, reason)
        await self.store.run(self.store.store.set_override, override, now_s)
        self.metrics.site(site)
        logger.info("override %s: %.1f W for %.0f s (%s)", site, budget_w, length_s, reason)
        await self.notify()
        return override

    async def clear_override(self, site: str) -> bool:
        """Drop a site's override; whether it had one."""
        cleared = await self.store.run(self.store.store.clear_override, site)
        await self.notify()
        return cleared

    async def push_schedule(self, entries: list[ScheduleEntry]) -> str:
        """Replace the schedule of the sites named; the new schedule's id."""
        await self.check_sites("entries.site", {e.site for e in entries})
        schedule_id = await self.store.run(self.store.store.replace_schedule, entries, time.time())
        for site in {e.site for e in entries}:
            self.metrics.site(site)
        await self.notify()
        return schedule_id

    # planning

    # workers

    async def register(
        self,
        site: str,
        worker_name: str,
        backend: str,
        hashrate_hs: float,
        max_power_w: float,
        telemetry_public_key: bytes = b"",
    ) -> WorkerRecord:
        """Register or refresh a worker (and its telemetry key, when it sends one)."""
        if telemetry_public_key:
            self.ledger.check_key(telemetry_public_key)  # refused before anything is stored
            await self._check_name_free(site, worker_name, telemetry_public_key)
        worker = await self.store.run(
            self.store.store.register_worker,
            site,
            worker_name,
            backend,
            hashrate_hs,
            max_power_w,
            time.time(),
        )
        if telemetry_public_key:
            await self.ledger.register_key(worker.worker_id, site, telemetry_public_key)
        self.metrics.site(site)
        self.live.setdefault(worker.worker_id, WorkerLive())
        logger.info("worker %s (%s) registered at %s", worker_name, worker.worker_id, site)
        return worker

    async def _check_name_free(self, site: str, worker_name: str, public_key: bytes) -> None:
        """Refuse a second live worker under one name with another telemetry key.

        Two replicas sharing a name would mix their telemetry (refused as
        overlapping) and neither's energy would be recorded; the second is told.
        """
        for known in await self.store.run(self.store.store.workers):
            if (known.site, known.worker_name) != (site, worker_name):
                continue
            live = self.live.get(known.worker_id)
            key_hex = await self.ledger.key_of(known.worker_id)
            if live is not None and live.streams > 0 and key_hex not in (None, public_key.hex()):
                raise AlreadyExistsError(
                    f"worker_name: {worker_name!r} at {site!r} is live with another telemetry"
                    " key; give each worker its own name"
                )

    async def worker(self, worker_id: str) -> WorkerRecord:
        """A registered worker.

        Raises
        ------
        NotFoundError
            For an unknown id.
        """
        worker = await self.store.run(self.store.store.worker, worker_id) if worker_id else None
        if worker is None:
            raise NotFoundError(f"worker_id: no worker {worker_id[:64]!r}; register first")
        return worker

    async def new_job(self, worker: WorkerRecord) -> Job | None:
        """A fresh job for ``worker``, stored before it is sent; None while the pool has none."""
        if self.pool is not None:
            # The share floor follows the faster of the declared and the reported hashrate,
            # so a worker that declared little cannot be flooded by a pool's tiny difficulty.
            live = self.live.get(worker.worker_id)
            live_hs = live.hashrate_hs if live is not None else 0.0
            return await self.pool.new_job(worker, max(worker.hashrate_hs, live_hs))
        job = make_job(
            uuid.uuid4().hex[:16],
            worker.worker_id,
            now_s=time.time(),
            difficulty=self.settings.share_difficulty,
            ntime_roll_s=self.settings.ntime_roll_s,
        )
        await self.jobs.add(job)
        return job

    async def worker_budget(self, worker: WorkerRecord, now_s: float | None = None) -> Budget:
        """``worker``'s part of its site's budget: the site's streaming workers are
        filled most efficient first (declared J per hash), each up to its max power
        (``signals.shedding``); a worker alone at its site gets the site's budget."""
        budget = await self.budget(worker.site, now_s)
        memo = self._shed_memo.get(worker.site)
        if memo is not None and memo[:2] == (budget.budget_w, self._streams_version):
            return replace(budget, budget_w=memo[2].get(worker.worker_id, 0.0))
        peers = [w for w in self._streaming.values() if w.site == worker.site]
        if len(peers) <= 1:
            return budget
        shares = shed(
            budget.budget_w,
            [
                WorkerCapacity(
                    w.worker_id,
                    w.max_power_w,
                    # no declared hashrate: efficiency unknown, it sheds first
                    w.max_power_w / w.hashrate_hs if w.hashrate_hs > 0 else UNKNOWN_J_PER_HASH,
                )
                for w in peers
            ],
        )
        self._shed_memo[worker.site] = (budget.budget_w, self._streams_version, shares)
        return replace(budget, budget_w=shares.get(worker.worker_id, 0.0))

    async def work(self, worker: WorkerRecord) -> AsyncIterator[BudgetEvent | JobEvent | StopEvent]:
        """The events of one worker's stream: a job, budgets when they change, jobs, stop."""
        live = self.live.setdefault(worker.worker_id, WorkerLive())
        live.streams += 1
        self._count_connected()
        self._streaming[worker.worker_id] = worker
        self._streams_version += 1
        await self.notify()  # the site's other workers' shares change
        try:
            last_job_s = time.monotonic()
            pool_seen = self.pool.generation if self.pool is not None else 0
            job = await self.new_job(worker)
            if job is not None or self.pool is not None:
                yield JobEvent(job, clean=True)  # None: drop what a past stream gave
            sent: tuple[float, str, float | None] | None = None
            sent_s = 0.0
            sent_until_s = float("inf")
            while not self.stopping.is_set():
                now_s = time.time()
                budget = await self.worker_budget(worker, now_s)
                # Resend well before the worker's hold runs out, and at once on a change:
                # of the figure, or of its own end (a new plan period with the same
                # figure must reach the worker before the old one lapses). The end counts
                # only where it comes before the hold horizon, which moves with time.
                stale = time.monotonic() - sent_s > self.settings.budget_hold_s / 3
                horizon_s = now_s + self.settings.budget_hold_s - 1e-3
                own_end_s = budget.valid_until_s if budget.valid_until_s < horizon_s else None
                current = (budget.budget_w, str(budget.source), own_end_s)
                if sent != current or stale:
                    yield BudgetEvent(budget, period_start(now_s, self.settings.period_s))
                    sent, sent_s = current, time.monotonic()
                    sent_until_s = budget.valid_until_s
                # New pool work (a clean job must reach every worker at once), or time's up.
                news = self.pool.news(pool_seen) if self.pool is not None else None
                due = time.monotonic() - last_job_s >= self.settings.job_interval_s
                if news is not None or due:
                    pool_seen, clean = news or (pool_seen, False)
                    job = await self.new_job(worker)
                    if job is not None or news is not None:
                        yield JobEvent(job, clean=clean)  # None on news: the pool work is gone
                    last_job_s = time.monotonic()
                # Wake at the sent budget's end too, so the next one follows without a gap.
                wait_s = min(self.settings.budget_refresh_s, max(0.01, sent_until_s - time.time()))
                await self.changed.wait(wait_s)
            yield StopEvent("coordinator shutting down")
        finally:
            live.streams -= 1
            self._count_connected()
            if live.streams <= 0:
                self._streaming.pop(worker.worker_id, None)
                self._streams_version += 1
                # the others' shares grow: wake them (a task: this may run at close)
                task = asyncio.get_running_loop().create_task(self.notify())
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    def _count_connected(self) -> None:
        self.metrics.workers_connected.set(sum(1 for w in self.live.values() if w.streams > 0))

    async def submit_shares(
        self, worker: WorkerRecord, shares: list[ShareSubmission]
    ) -> list[ShareOutcome]:
        """Check and store shares; each gets an outcome (duplicates acknowledged).

        At most the worker's share allowance is taken; the rest get no outcome (they
        stay in the worker's queue) and are counted.

        Raises
        ------
        ResourceExhaustedError
            When the worker has no allowance left at all.
        """
        store = self.store.store
        live = self.live.setdefault(worker.worker_id, WorkerLive())
        taken = live.take_shares(
            len(shares), self.settings.worker_shares_per_s, self.settings.worker_share_burst
        )
        if taken < len(shares):
            self.metrics.shares_rate_limited.inc(len(shares) - taken)
            if taken == 0:
                raise ResourceExhaustedError(
                    f"shares: at most {self.settings.worker_shares_per_s:g} per second"
                    f" per worker (burst {self.settings.worker_share_burst:g}); send later"
                )
            shares = shares[:taken]
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
        if self.pool is not None:
            # Acked once stored; the pool's verdict comes later and is recorded then.
            self.pool.forward(worker, checked, outcomes)
        return outcomes

    async def _accept(self, worker: WorkerRecord, signed: Telemetry) -> None:
        """Stage a report in the ledger and count it (or count its refusal)."""
        try:
            await self.ledger.accept(
                worker.worker_id, worker.site, signed, max_power_w=worker.max_power_w
            )
        except LedgerInputError as exc:
            self.metrics.ledger.refused(exc.field)
            raise
        # spillway_energy_joules_total is counted by the ledger as periods close.
        self.metrics.hashes.labels(worker.backend).inc(signed.hashes)

    async def report(
        self, worker: WorkerRecord, signed: Telemetry, *, power_w: float, hashrate_hs: float
    ) -> None:
        """Stage a signed telemetry report for the ledger; count it in the metrics.

        Raises
        ------
        LedgerInputError
            Naming the field of a report the ledger refuses (bad signature, replay).
        """
        now_s = time.time()
        # Shielded: a report the ledger takes is counted even if the caller hangs up
        # meanwhile (the hash metric and the ledger hold the same reports).
        await asyncio.shield(self._accept(worker, signed))
        await self.store.run(self.store.store.touch_worker, worker.worker_id, now_s)
        live = self.live.setdefault(worker.worker_id, WorkerLive())
        live.hashrate_hs, live.power_w, live.seen_s = hashrate_hs, power_w, now_s
        site_workers = [
            w for w in await self.store.run(self.store.store.workers) if w.site == worker.site
        ]
        self.metrics.power_watts.labels(worker.site).set(
            sum(self.live[w.worker_id].power_w for w in site_workers if w.worker_id in self.live)
        )
        self.metrics.hashrate.labels(worker.site).set(
            sum(
                self.live[w.worker_id].hashrate_hs for w in site_workers if w.worker_id in self.live
            )
        )
