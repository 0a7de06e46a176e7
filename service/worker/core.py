"""The worker: follow the coordinator's budget and jobs, hash within the budget, return shares.

Four tasks share one state: the connection (register, then the work stream;
reconnect with exponential backoff and jitter), the hashing loop (duty-cycled
batches on a thread), the share sender (from the on-disk queue) and telemetry
(``service.worker.telemetry``).
A budget is held only until its ``valid_until_time``; after that, or on
``StopWork``, the budget is zero. ``NoWork`` (the coordinator's pool has no
job to hand out) drops the current job: the worker idles, connected and
budgeted, until the next job arrives. Telemetry is signed with the worker's
own Ed25519 key, so the coordinator's ledger cannot invent energy use; its last
window is reported on a stop, and what a kill left unreported at the next start.
The share queue's file is written by one thread, in the order changes are made.

Energy is measured where it can be (NVML on the CUDA backend: ``service.worker.power``),
each telemetry window's joules then also correcting the duty cycle's joules per hash;
otherwise it is the power model's. Each report is signed marked ``measured`` or
``modelled`` (modelled if any of its joules were).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

import kernels
from kernels import Found
from service import __version__
from service.ledger.keys import load_or_create_key, public_key_hex
from service.metrics import WorkerMetrics
from service.rpc.convert import telemetry_to_proto
from service.worker.connection import HEALTH_PROBE_S, backoff_delay_s, open_channel
from service.worker.duty import DutyCycle
from service.worker.power import MeasuredEnergy, open_nvml
from service.worker.settings import WorkerSettings
from service.worker.share_queue import QueuedShare, ShareQueue
from service.worker.state import CurrentJob, WorkerState
from service.worker.telemetry import TelemetryReporter
from spillway.v1 import common_pb2, miner_pb2, miner_pb2_grpc

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from kernels import HashBackend

__all__ = ["Worker", "WorkerSettings", "WorkerState", "backoff_delay_s"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# A short measurement at start gives the duty cycle its first hashrate estimate.
HASHRATE_PROBE_S = 0.3
# The max power a worker declares (and never exceeds) is its estimated full power with
# this headroom: the probe is short and may run while the CPU is shared, so the steady
# hashrate can come out higher; the ledger refuses energy above the declared power.
DECLARED_POWER_HEADROOM = 1.25
MIN_HASHRATE_HS = 1 << 16
_SOURCES = {v: k.removeprefix("BUDGET_SOURCE_").lower() for k, v in common_pb2.BudgetSource.items()}


class Worker:
    """One worker process's behaviour.

    Parameters
    ----------
    settings:
        Coordinator address, site, power model, intervals.
    backend:
        The hashing device.
    registry:
        Where the worker's metrics go.
    """

    def __init__(
        self, settings: WorkerSettings, backend: HashBackend, registry: CollectorRegistry
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.state = WorkerState()
        self.metrics = WorkerMetrics(registry, site=settings.site, backend=backend.name)
        name = f"worker-{settings.site}-{settings.worker_name}.sqlite3"
        self.queue = ShareQueue(settings.data_dir / name, settings.max_queued_shares)
        self.metrics.shares_queued.set(len(self.queue))
        self.duty = DutyCycle(settings.joules_per_hash, hashrate_hs=1e6)
        # Signs this worker's telemetry for the coordinator's ledger; kept beside its queue.
        self.key = load_or_create_key(
            settings.data_dir / f"worker-{settings.site}-{settings.worker_name}_ed25519.pem"
        )
        self.metadata: tuple[tuple[str, str], ...] = (
            (("authorization", f"Bearer {settings.auth_token}"),) if settings.auth_token else ()
        )
        self.stop = asyncio.Event()
        # Measured energy (NVML), opened by ``run``; None while the energy is modelled.
        self.energy: MeasuredEnergy | None = None
        # The queue's one writer: changes reach the file in the order they were made.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="spillway-worker-queue")
        self.telemetry = TelemetryReporter(self)  # resumes what the file left unreported

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` (a queue change) on the writer thread, after every earlier change.

        Shielded: once handed over a change is made even if the caller is cancelled,
        since its caller has made it in memory already.
        """
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._writer, functools.partial(fn, *args, **kwargs))
        return await asyncio.shield(future)

    async def run(self) -> None:
        """Measure the device briefly, then run until ``stop`` is set.

        Raises
        ------
        PowerUnavailableError
            With ``power_source="nvml"`` where NVML cannot measure this backend.
        """
        rate = await asyncio.to_thread(
            kernels.measure_hashrate, self.backend, seconds=HASHRATE_PROBE_S
        )
        self.duty.hashrate_hs = max(rate.hashes_per_second, float(MIN_HASHRATE_HS))
        power = await asyncio.to_thread(
            open_nvml,
            self.settings.power_source,
            self.backend.name,
            getattr(self.backend, "pci_bus_ids", None),
        )
        if power is not None:
            self.energy = MeasuredEnergy.from_nvml(power, self.settings.joules_per_hash)
            self.energy.start(self.state.hashes)
        self.state.unreported_modelled |= self.energy is None
        channel = open_channel(self.settings)
        stub = miner_pb2_grpc.WorkerServiceStub(channel)
        self._health = health_pb2_grpc.HealthStub(channel)
        tasks = [
            asyncio.create_task(self._follow(stub), name="follow"),
            asyncio.create_task(self._hash(), name="hash"),
            asyncio.create_task(self._send_shares(stub), name="shares"),
            asyncio.create_task(self.telemetry.run(stub), name="telemetry"),
        ]
        try:
            await self.stop.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._flush_shares(stub)
            with contextlib.suppress(Exception):  # on disk when the coordinator is away
                await self.telemetry.final(stub)
            await channel.close()
            await asyncio.to_thread(self._writer.shutdown)
            self.queue.close()
            if self.energy is not None:
                self.energy.close()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, or until ``stop``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), timeout=seconds)

    # connection

    async def _follow(self, stub: Any) -> None:
        attempt = 0
        while not self.stop.is_set():
            refused = False
            try:
                declared_max_w = self.duty.full_power_w * DECLARED_POWER_HEADROOM
                reply = await stub.RegisterWorker(
                    miner_pb2.RegisterWorkerRequest(
                        site=self.settings.site,
                        worker_name=self.settings.worker_name,
                        backend=self.backend.name,
                        hashrate_hashes_per_second=self.duty.hashrate_hs,
                        max_power_watts=declared_max_w,
                        software_version=__version__,
                        telemetry_public_key=bytes.fromhex(public_key_hex(self.key)),
                    ),
                    metadata=self.metadata,
                    timeout=10,
                )
                self.state.worker_id = reply.worker_id
                self.state.declared_max_w = declared_max_w
                stream = stub.StreamWork(
                    miner_pb2.StreamWorkRequest(worker_id=reply.worker_id), metadata=self.metadata
                )
                self._set_connected(True)
                attempt = 0
                logger.info("connected to %s as %s", self.settings.coordinator, reply.worker_id)
                async for message in stream:
                    if self._apply(message):
                        break
            except grpc.aio.AioRpcError as exc:
                logger.info("coordinator: %s %s", exc.code().name, exc.details())
                refused = exc.code() in (
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    grpc.StatusCode.ALREADY_EXISTS,
                )
                if refused:
                    logger.error("the coordinator refuses this worker: %s", exc.details())
            finally:
                self._set_connected(False)
            delay_s = backoff_delay_s(
                attempt, self.settings.backoff_base_s, self.settings.backoff_max_s
            )
            attempt = min(attempt + 1, 16)
            if refused:  # a serving coordinator that refuses us: the plain backoff
                await self.sleep(delay_s)
            elif await self._wait_until_serving(delay_s):
                attempt = 0  # the coordinator is back: reconnect now, from the base delay

    async def _wait_until_serving(self, delay_s: float) -> bool:
        """Back off up to ``delay_s``; True when the coordinator's health answered SERVING.

        A coordinator back within a second of a restart must not wait out a backoff
        grown while it was down (issue 13, item 9: 15 s and 30 s were seen). The
        first probe comes after the base delay, so a refusing coordinator is not
        called in a tight loop.
        """
        deadline = time.monotonic() + delay_s
        await self.sleep(min(delay_s, self.settings.backoff_base_s))
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                reply = await self._health.Check(
                    health_pb2.HealthCheckRequest(), timeout=HEALTH_PROBE_S * 2
                )
            except grpc.aio.AioRpcError:
                pass
            else:
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return True
            await self.sleep(min(HEALTH_PROBE_S, max(0.0, deadline - time.monotonic())))
        return False

    def _set_connected(self, connected: bool) -> None:
        self.state.connected = connected
        self.metrics.coordinator_connected.set(1 if connected else 0)

    def _apply(self, message: miner_pb2.StreamWorkResponse) -> bool:
        """Take one directive; True when the stream should end (StopWork)."""
        kind = message.WhichOneof("directive")
        state = self.state
        if kind == "power_budget":
            budget = message.power_budget
            hold_s = budget.valid_until_time.seconds + budget.valid_until_time.nanos / 1e9
            state.budget_w = budget.budget_watts
            state.budget_until_s = time.monotonic() + max(0.0, hold_s - time.time())
            state.energy_source = (
                "curtailed"
                if budget.energy_source == common_pb2.ENERGY_SOURCE_CURTAILED
                else "grid"
            )
            self.metrics.power_budget_watts.set(budget.budget_watts)
            logger.info("budget %.1f W (%s)", budget.budget_watts, _SOURCES.get(budget.source, "?"))
        elif kind == "job":
            job = message.job
            # A new job replaces the old one at once (clean or not): the hashing loop
            # takes state.job per batch, so stale work stops within one batch (<= 50 ms).
            nonce_end = job.nonce_start + (job.nonce_count or 1 << 32)
            state.job = CurrentJob(
                job.job_id,
                job.header_prefix,
                int.from_bytes(job.share_target, "big"),
                int.from_bytes(job.header_prefix[68:72], "little"),
                job.ntime_roll.seconds,
                nonce_start=job.nonce_start,
                nonce_end=min(nonce_end, 1 << 32),
                next_nonce=job.nonce_start,
            )
        elif kind == "no_work":
            # Stale work earns nothing: idle (stream and budget kept) until the next job.
            logger.info("no work: %s", message.no_work.reason)
            state.job = None
        elif kind == "stop":
            logger.info("coordinator says stop: %s", message.stop.reason)
            state.budget_w, state.budget_until_s = 0.0, 0.0
            self.metrics.power_budget_watts.set(0)
            return True
        return False

    # hashing

    async def _hash(self) -> None:
        state, duty = self.state, self.duty
        while not self.stop.is_set():
            job = state.job
            now_s = time.monotonic()
            budget_w = state.budget_now()
            if state.declared_max_w > 0:
                budget_w = min(budget_w, state.declared_max_w)
            duty.set_budget(budget_w, now_s)
            if job is None or duty.budget_w <= 0:
                self.metrics.power_watts.set(0)
                await asyncio.sleep(0.05)
                continue
            nonces = min(duty.batch_nonces(), self.backend.batch_size)
            wait_s = duty.wait_s(nonces, now_s)
            if wait_s > 0:
                await asyncio.sleep(min(wait_s, 0.05))
                continue
            if job.next_nonce >= job.nonce_end:
                if job.ntime_offset >= job.roll_s:
                    await asyncio.sleep(0.05)  # job exhausted: wait for the next
                    continue
                job.ntime_offset += 1
                job.next_nonce = job.nonce_start
            nonces = min(nonces, job.nonce_end - job.next_nonce)
            ntime = job.ntime + job.ntime_offset
            header = job.prefix[:68] + ntime.to_bytes(4, "little") + job.prefix[72:]
            start_nonce = job.next_nonce
            job.next_nonce += nonces
            begun = time.monotonic()
            energy_j = duty.begin(nonces, begun)
            result = await asyncio.to_thread(
                self.backend.scan, header, job.target, start_nonce, nonces
            )
            duty.record(nonces, time.monotonic() - begun)
            state.hashes += nonces
            state.unreported_hashes += nonces
            state.unsaved_hashes += nonces
            self.metrics.hashes.inc(nonces)
            if self.energy is None:
                # Modelled; measured energy is added per telemetry window instead.
                self.telemetry.add_energy(energy_j, modelled=True)
            if result.found:
                await self._queue_found(job, ntime, result.found)

    async def _queue_found(self, job: CurrentJob, ntime: int, found: Sequence[Found]) -> None:
        """Queue found shares with their count (and the work so far) for the ledger."""
        found_s = time.time()
        shares = [QueuedShare(uuid.uuid4().hex, job.job_id, ntime, h.nonce, found_s) for h in found]
        work = self.telemetry.take_unsaved(shares=len(shares))
        dropped = await self.write(self.queue.add, shares, {job.job_id}, work)
        self.metrics.shares_dropped["stale"].inc(dropped.stale)
        self.metrics.shares_dropped["newest"].inc(dropped.newest)
        self.metrics.shares["found"].inc(len(found))
        self.metrics.shares_queued.set(len(self.queue))
        self.state.found.set()

    # energy and telemetry (service.worker.telemetry)

    async def _measure(self) -> None:
        await self.telemetry.measure()

    def _sign(self, window_start_ms: int, window_end_ms: int) -> miner_pb2.SignedTelemetry:
        """Sign the unreported work over the window (the report is not staged)."""
        return telemetry_to_proto(self.telemetry.sign(window_start_ms, window_end_ms))

    # shares

    async def _send_shares(self, stub: Any) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.state.found.wait(), self.settings.share_flush_s)
            self.state.found.clear()
            try:
                await self._flush_shares(stub)
            except grpc.aio.AioRpcError as exc:
                logger.info("shares kept on disk: %s", exc.code().name)
                if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
                    await self.sleep(1.0)  # past the coordinator's share cap: hand in later

    async def _flush_shares(self, stub: Any) -> None:
        worker_id = self.state.worker_id
        if worker_id is None:
            return
        pending = await self.write(self.queue.pending)
        if not pending:
            return
        reply = await stub.SubmitShares(
            miner_pb2.SubmitSharesRequest(
                worker_id=worker_id,
                shares=[
                    miner_pb2.Share(
                        share_id=s.share_id, job_id=s.job_id, ntime=s.ntime, nonce=s.nonce
                    )
                    for s in pending
                ],
            ),
            metadata=self.metadata,
            timeout=10,
        )
        answered = []
        for ack in reply.acks:
            answered.append(ack.share_id)
            label = {
                miner_pb2.SHARE_RESULT_ACCEPTED: "accepted",
                miner_pb2.SHARE_RESULT_DUPLICATE: "duplicate",
            }.get(ack.result, "rejected")
            self.metrics.shares[label].inc()
        await self.write(self.queue.remove, answered)
        self.metrics.shares_queued.set(len(self.queue))
