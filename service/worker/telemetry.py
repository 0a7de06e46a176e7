"""The worker's signed telemetry: energy, hashes and shares found, window by window.

Each window's work is signed with the worker's Ed25519 key (the coordinator's
ledger cannot invent energy use) under a sequence that only rises; windows
follow one another without overlap. The coordinator's ledger refuses a replayed
sequence and an overlapping window, so a report is never counted twice.

Nothing is lost when the worker stops (issue 13, item 8: the ledger counted
88 shares for 89 stored after a SIGTERM, 37 for 55 after four SIGKILLs). The
work not yet reported and the reports not yet answered are kept in the share
queue's file (``ShareQueue``), each change in one transaction with what it
covers; a SIGTERM reports the last window before the worker exits, and after a
SIGKILL the next start resends the unanswered reports (one already taken is
refused as a replay and dropped) and reports the unreported work. Energy and
hashes not yet written (at most one telemetry interval's, written with each
share, report and tick) are what a SIGKILL can lose; shares are never lost.

Memory and disk move together: each change is made in memory when it is handed
to the worker's one writer thread, which applies them to disk in order, and is
not cancelled once handed over (``Worker.write``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

import grpc

from kernels import PowerUnavailableError
from service.ledger.keys import sign_telemetry
from service.ledger.model import Telemetry
from service.rpc.convert import telemetry_to_proto
from service.worker.power import MEASURED, MODELLED
from service.worker.share_queue import WorkDone
from spillway.v1 import miner_pb2

if TYPE_CHECKING:
    from collections.abc import Callable

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from service.metrics import WorkerMetrics
    from service.worker.duty import DutyCycle
    from service.worker.power import MeasuredEnergy
    from service.worker.settings import WorkerSettings
    from service.worker.share_queue import ShareQueue
    from service.worker.state import WorkerState

P = ParamSpec("P")
T = TypeVar("T")


class ReportingWorker(Protocol):
    """What the reporter needs of its worker (``service.worker.core.Worker``)."""

    settings: WorkerSettings
    state: WorkerState
    queue: ShareQueue
    metrics: WorkerMetrics
    duty: DutyCycle
    key: Ed25519PrivateKey
    metadata: tuple[tuple[str, str], ...]
    stop: asyncio.Event
    energy: MeasuredEnergy | None

    async def write(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a queue change on the worker's one writer thread, in order."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep, or return early when the worker stops."""
        ...


__all__ = ["FINAL_REPORT_TIMEOUT_S", "REPORT_TIMEOUT_S", "TelemetryReporter"]

logger = logging.getLogger(__name__)

REPORT_TIMEOUT_S = 10.0
# The last window's report on a stop: short, so a stop with the coordinator away is
# not held up (the report then waits on disk for the next start).
FINAL_REPORT_TIMEOUT_S = 3.0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class TelemetryReporter:
    """Signs, keeps and sends one worker's telemetry.

    Parameters
    ----------
    worker:
        The worker whose state, key, queue and metrics are reported.
    """

    def __init__(self, worker: ReportingWorker) -> None:
        self.worker = worker
        state = worker.state
        work, self.window_start_ms = worker.queue.unreported()
        state.unreported_energy_j = work.energy_j
        state.unreported_hashes = work.hashes
        state.unreported_shares = work.shares
        state.unreported_modelled = work.modelled
        # Signed, not yet answered, oldest first (the same as the file's outbox).
        self.outbox = [Telemetry.from_json(json.loads(r)) for r in worker.queue.outbox()]
        # Above what waits, even if the clock stepped back across the restart.
        state.sequence = max([r.sequence for r in self.outbox], default=state.sequence)
        self._tick_s = time.monotonic()
        self._tick_energy_j, self._tick_hashes = state.energy_j, state.hashes

    # work done

    def add_energy(self, energy_j: float, *, modelled: bool) -> None:
        """Count joules used (in the state, the unsaved part and the metric)."""
        state = self.worker.state
        state.energy_j += energy_j
        state.unreported_energy_j += energy_j
        state.unsaved_energy_j += energy_j
        state.unreported_modelled |= modelled
        state.unsaved_modelled |= modelled
        self.worker.metrics.energy_joules[state.energy_source].inc(energy_j)

    def take_unsaved(self, shares: int = 0) -> WorkDone:
        """The work not yet on disk, with ``shares`` more found; it is on its way there."""
        state = self.worker.state
        state.unreported_shares += shares
        work = WorkDone(
            state.unsaved_energy_j, state.unsaved_hashes, shares, state.unsaved_modelled
        )
        state.unsaved_energy_j, state.unsaved_hashes, state.unsaved_modelled = 0.0, 0, False
        return work

    async def checkpoint(self) -> None:
        """Write the unsaved energy and hashes, so a kill loses no more than since now."""
        work = self.take_unsaved()
        if work.energy_j or work.hashes:
            await self.worker.write(self.worker.queue.save, work)

    async def measure(self) -> None:
        """Add the joules measured since the last window; correct the duty cycle by them.

        Where NVML fails (the GPU was lost, the driver unloaded) the worker says so
        once and models its energy from then on, this window's included.
        """
        worker = self.worker
        energy = worker.energy
        if energy is None:
            return
        hashes_total = worker.state.hashes
        try:
            window, hashes = await asyncio.to_thread(energy.take, hashes_total)
        except PowerUnavailableError as exc:
            logger.warning("measured power lost, energy is modelled from now on: %s", exc)
            worker.energy = None
            energy.close()
            self.add_energy(
                (hashes_total - energy.hashes_at) * worker.duty.joules_per_hash, modelled=True
            )
            return
        self.add_energy(window.energy_j, modelled=False)
        j_per_hash = energy.correct(worker.duty, window, hashes)
        logger.debug(
            "measured %.1f J over %.2f s (%s): %.3g J/H",
            window.energy_j,
            window.seconds,
            window.source,
            j_per_hash,
        )

    # reports

    def sign(self, window_start_ms: int, window_end_ms: int) -> Telemetry:
        """Sign the unreported energy (whole joules), hashes and shares for the ledger."""
        worker, state = self.worker, self.worker.state
        state.sequence = max(state.sequence + 1, time.time_ns() // 1000)
        return sign_telemetry(
            worker.key,
            worker=state.worker_id or "",
            site=worker.settings.site,
            sequence=state.sequence,
            window_start_ms=window_start_ms,
            window_end_ms=window_end_ms,
            energy_j=int(state.unreported_energy_j),
            hashes=state.unreported_hashes,
            shares_found=state.unreported_shares,
            energy_measurement=MODELLED if state.unreported_modelled else MEASURED,
        )

    async def stage(self, report: Telemetry) -> None:
        """Move a signed report's work from ``unreported`` to the outbox, here and on disk.

        Only what was signed leaves: the fraction of a joule carries over.
        """
        worker, state = self.worker, self.worker.state
        unsaved = self.take_unsaved()
        state.unreported_energy_j -= report.energy_j
        state.unreported_hashes -= report.hashes
        state.unreported_shares -= report.shares_found
        state.unreported_modelled = worker.energy is None
        self.outbox.append(report)
        self.window_start_ms = report.window_end_ms
        change = WorkDone(
            unsaved.energy_j - report.energy_j,
            unsaved.hashes - report.hashes,
            -report.shares_found,
        )
        await worker.write(
            worker.queue.stage,
            report.sequence,
            json.dumps(report.to_json(), sort_keys=True),
            change,
            report.window_end_ms,
            state.unreported_modelled,
        )

    async def send(self, stub: Any, timeout_s: float = REPORT_TIMEOUT_S) -> bool:
        """Send the outbox, oldest first; True once it is empty.

        A report refused as invalid would be refused again (a replay or overlap means
        it was taken before and its answer lost): it is dropped. Any other failure
        keeps it, and the rest after it, for the next try.
        """
        worker = self.worker
        while self.outbox:
            report = self.outbox[0]
            try:
                await stub.ReportTelemetry(
                    self._request(report), metadata=worker.metadata, timeout=timeout_s
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    logger.info("telemetry kept for later: %s", exc.code().name)
                    return False
                logger.error("telemetry refused, dropped: %s", exc.details())
            self.outbox.pop(0)
            await worker.write(worker.queue.answered, report.sequence)
        return True

    def _request(self, report: Telemetry) -> miner_pb2.ReportTelemetryRequest:
        state = self.worker.state
        interval_s = max(0.0, (report.window_end_ms - report.window_start_ms) / 1000)
        whole = int(interval_s)
        return miner_pb2.ReportTelemetryRequest(
            worker_id=state.worker_id or report.worker,
            interval={"seconds": whole, "nanos": int((interval_s - whole) * 1e9)},
            power_watts=report.energy_j / interval_s if interval_s > 0 else 0.0,
            energy_joules=report.energy_j,
            hashes=report.hashes,
            hashrate_hashes_per_second=report.hashes / interval_s if interval_s > 0 else 0.0,
            budget_watts=state.budget_now(),
            signed_telemetry=telemetry_to_proto(report),
        )

    async def report(self, stub: Any, timeout_s: float = REPORT_TIMEOUT_S) -> None:
        """Send what waits, then sign and send the window ending now.

        While older reports wait (the coordinator did not answer), the work goes on
        counting into the next window rather than into more reports.
        """
        if not await self.send(stub, timeout_s):
            await self.checkpoint()
            return
        await self.stage(self.sign(self.window_start_ms, _now_ms()))
        await self.send(stub, timeout_s)

    def _update_metrics(self) -> None:
        worker, state = self.worker, self.worker.state
        now_s = time.monotonic()
        interval_s = now_s - self._tick_s
        if interval_s <= 0:
            return
        worker.metrics.power_watts.set((state.energy_j - self._tick_energy_j) / interval_s)
        worker.metrics.hashrate.set((state.hashes - self._tick_hashes) / interval_s)
        self._tick_s, self._tick_energy_j, self._tick_hashes = now_s, state.energy_j, state.hashes

    async def run(self, stub: Any) -> None:
        """Every ``telemetry_s``: measure, and report while connected (else save)."""
        worker = self.worker
        while not worker.stop.is_set():
            await worker.sleep(worker.settings.telemetry_s)
            if worker.stop.is_set():
                break  # the last window is ``final``'s
            await self.measure()
            self._update_metrics()
            if worker.state.worker_id is None or not worker.state.connected:
                await self.checkpoint()
                continue
            await self.report(stub)

    async def final(self, stub: Any) -> None:
        """On a stop (hashing over): report the last window; what is not taken stays on disk."""
        await self.measure()
        if self.worker.state.worker_id is None:
            await self.checkpoint()
            return
        await self.report(stub, FINAL_REPORT_TIMEOUT_S)
