"""The coordinator's side of the ledger: accept signed telemetry, close periods, serve reads.

``LedgerRecorder`` owns the ``Ledger`` of the coordinator's data directory and
runs every call on one dedicated thread (SQLite connections stay on the
thread that opened them, and accepting and closing are serialised without
locks). A report is filed under the ledger period in which the coordinator
receives it; a period is closed (its records appended under a signed header)
once the clock has passed its end, so no later report can belong to it.
Reports are staged on disk before the call is answered, so a coordinator
killed with a period open closes it from the staged reports on restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar

from service.coordinator.attribution import MICRO_PER_UNIT, attribute
from service.coordinator.wakeup import Wakeup
from service.errors import ConfigError
from service.ledger.errors import LedgerInputError
from service.ledger.keys import load_or_create_key, public_key_from_hex, telemetry_signed
from service.ledger.model import EnergyRecord, PeriodHeader, Telemetry
from service.ledger.settle import Settlement, settle_within
from service.ledger.store import (
    LEDGER_KEY_FILE,
    Ledger,
    PendingPeriod,
    StoredHeader,
    StoredPeriod,
)
from service.ledger.verify import build_proof
from service.sqlite import DbThread

if TYPE_CHECKING:
    from service.domain import Plan

__all__ = ["LedgerObserver", "LedgerRecorder", "read_contract_prices"]

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

# How often the closer looks for a period to close, at most (shorter for short periods).
CLOSE_POLL_S = 1.0
ED25519_PUBLIC_KEY_BYTES = 32
# A report may claim its window at the worker's declared max power plus this much time
# at that power: a worker charges a hashing batch (<= 50 ms) to the report after it
# ends, and its token bucket may burst 0.1 s of budget, so an honest window can hold a
# little more than max power x length; a second covers both with room to spare.
POWER_ALLOWANCE_S = 1.0


class LedgerObserver(Protocol):
    """Told what the recorder does (``service.metrics.LedgerMetrics``); called on its thread."""

    def last_period(self, header: PeriodHeader) -> None: ...

    def period_closed(self, header: PeriodHeader, records: Sequence[EnergyRecord]) -> None: ...

    def close_failed(self) -> None: ...


def read_contract_prices(path: Path) -> dict[str, int]:
    """Contract prices from a CSV ``plant,price_per_mwh``, in micro-units per MWh.

    Raises
    ------
    ConfigError
        Naming ``contract_prices`` with the file, line and problem.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ConfigError(f"contract_prices: cannot read {path}: {exc.strerror}") from exc
    prices = {}
    for line, row in enumerate(rows, start=2):
        plant, text = (row.get("plant") or "").strip(), (row.get("price_per_mwh") or "").strip()
        try:
            price = float(text)
        except ValueError:
            price = math.nan
        if not plant or not math.isfinite(price) or price < 0:
            raise ConfigError(
                f"contract_prices: {path}:{line}: needs a plant and a finite price_per_mwh"
                f" >= 0, got {plant!r}, {text!r}"
            )
        prices[plant] = round(price * MICRO_PER_UNIT)
    return prices


class LedgerRecorder:
    """Writes and reads the coordinator's ledger.

    Parameters
    ----------
    data_dir:
        The coordinator's data directory (``ledger.sqlite``, ``ledger_ed25519.pem``).
    period_s:
        Ledger period length; whole seconds, at least one.
    contract_price_micro_per_mwh:
        Per plant, a contract price that replaces the bus's marginal price.
    contract_prices:
        A CSV file ``plant,price_per_mwh`` (scenario currency) read at ``open``;
        its prices join ``contract_price_micro_per_mwh``.
    clock_skew_s:
        How far a report's window may end ahead of ``clock`` (the worker's clock
        may run a little fast); a window ending later is refused.
    clock:
        Wall-clock Unix seconds (tests may pass their own).
    observer:
        Told of the newest period at open and of each period closed (metrics).
    """

    def __init__(
        self,
        data_dir: Path,
        period_s: float,
        *,
        contract_price_micro_per_mwh: Mapping[str, int] | None = None,
        contract_prices: Path | None = None,
        clock_skew_s: float = 5.0,
        clock: Callable[[], float] = time.time,
        observer: LedgerObserver | None = None,
    ) -> None:
        self.contract_prices = contract_prices
        self.data_dir = Path(data_dir)
        self.period_s = max(1, round(period_s))
        self.contract_price_micro_per_mwh = dict(contract_price_micro_per_mwh or {})
        self.clock = clock
        self.clock_skew_s = clock_skew_s
        self.observer = observer
        self.appended = Wakeup()
        self._db = DbThread("spillway-ledger")
        self._ledger: Ledger | None = None
        # Energy per site (closed and open periods), summed once then kept up to date
        # on the ledger's thread, so a status call does not rescan the ledger.
        self._energy_j_by_site: dict[str, int] = {}
        self._closer: asyncio.Task[None] | None = None
        # The newest closed period (None before the first), kept on the ledger's thread
        # so accepting a report need not read the last header.
        self._last_period: int | None = None

    async def _run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._db.run(fn, *args, **kwargs)

    @property
    def ledger(self) -> Ledger:
        if self._ledger is None:
            raise RuntimeError("LedgerRecorder.open() first")
        return self._ledger

    def _open(self) -> None:
        if self.contract_prices is not None:
            self.contract_price_micro_per_mwh |= read_contract_prices(self.contract_prices)
        key = load_or_create_key(self.data_dir / LEDGER_KEY_FILE)
        self._key = key
        self._ledger = Ledger(self.data_dir, key=key)
        last = self._ledger.last_header()
        self._last_period = None if last is None else last[0].period
        if last is not None and self.observer is not None:
            self.observer.last_period(last[0])

    async def open(self) -> None:
        """Open (or create) the ledger on its thread."""
        await self._run(self._open)

    def start(self, plan: Callable[[], Plan | None]) -> None:
        """Close due periods in the background, attributing by ``plan()`` (the current plan)."""
        self._closer = asyncio.create_task(self._close_loop(plan), name="ledger-closer")

    async def _close_loop(self, plan: Callable[[], Plan | None]) -> None:
        poll_s = min(CLOSE_POLL_S, self.period_s / 10)
        while True:
            try:
                await self.close_due(plan())
            except Exception:  # logged and counted; the staged reports stay for the next try
                logger.exception("closing ledger periods failed")
                if self.observer is not None:
                    self.observer.close_failed()
            await asyncio.sleep(poll_s)

    async def close(self) -> None:
        """Stop the closer and close the ledger (open periods stay staged on disk)."""
        if self._closer is not None:
            self._closer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._closer
        await self._db.aclose(self._ledger.close if self._ledger is not None else None)

    # writing

    @staticmethod
    def check_key(public_key: bytes) -> None:
        """Raise ``LedgerInputError`` naming ``telemetry_public_key`` unless it is a raw key."""
        if len(public_key) != ED25519_PUBLIC_KEY_BYTES:
            raise LedgerInputError(
                "telemetry_public_key",
                f"must be a raw Ed25519 public key of 32 bytes, got {len(public_key)}",
            )
        try:
            public_key_from_hex(public_key.hex())
        except LedgerInputError:
            raise LedgerInputError("telemetry_public_key", "is not an Ed25519 key") from None

    async def key_of(self, worker: str) -> str | None:
        """The worker's registered telemetry key (hex), if any."""
        known = await self._run(self.ledger.worker_key, worker)
        return None if known is None else known[1]

    async def register_key(self, worker: str, site: str, public_key: bytes) -> None:
        """Record a worker's telemetry key (raw Ed25519, 32 bytes).

        Raises
        ------
        LedgerInputError
            Naming ``telemetry_public_key`` when it is not a 32-byte Ed25519 key.
        """
        self.check_key(public_key)
        await self._run(self.ledger.set_worker_key, worker, site, public_key.hex())
        logger.info("worker %s telemetry key %s...", worker, public_key.hex()[:16])

    def _accept(self, worker: str, site: str, report: Telemetry, max_power_w: float) -> int:
        ledger = self.ledger
        known = ledger.worker_key(worker)
        if known is None:
            raise LedgerInputError(
                "telemetry_public_key",
                "none registered for this worker: register with telemetry_public_key first",
            )
        _, public_key, last_sequence = known
        if report.worker != worker:
            raise LedgerInputError("signed_telemetry.worker_id", f"is not {worker!r}")
        if report.site != site:
            raise LedgerInputError("signed_telemetry.site", f"is not the worker's site {site!r}")
        report.check()
        signed = replace(report, public_key=public_key)
        if not telemetry_signed(signed):
            raise LedgerInputError(
                "signed_telemetry.signature", "does not verify with the worker's registered key"
            )
        if report.sequence <= last_sequence:  # named before the window a replay also repeats
            raise LedgerInputError(
                "signed_telemetry.sequence",
                f"{report.sequence} is not above the last accepted {last_sequence}"
                " (a replayed or reordered report)",
            )
        self._check_window(ledger, report, max_power_w)
        period = int(self.clock() // self.period_s)
        if self._last_period is not None and period <= self._last_period:
            period = self._last_period + 1  # the clock stepped back: never write into the past
        ledger.stage(PendingPeriod(period, period * self.period_s, self.period_s), signed)
        if site in self._energy_j_by_site:
            self._energy_j_by_site[site] += signed.energy_j
        return period

    def _check_window(self, ledger: Ledger, report: Telemetry, max_power_w: float) -> None:
        """Refuse a window ending in the future, overlapping the last, or above max power."""
        ahead_ms = report.window_end_ms - self.clock() * 1000
        if ahead_ms > self.clock_skew_s * 1000:
            raise LedgerInputError(
                "signed_telemetry.window_end_unix_ms",
                f"ends {ahead_ms / 1000:.1f} s ahead of the coordinator's clock (at most"
                f" {self.clock_skew_s:g} s allowed): check the worker's clock",
            )
        last_end_ms = ledger.last_window_end_ms(report.worker)
        if last_end_ms is not None and report.window_start_ms < last_end_ms:
            raise LedgerInputError(
                "signed_telemetry.window_start_unix_ms",
                f"{report.window_start_ms} is before {last_end_ms}, the end of the worker's"
                " last accepted window: windows must not overlap (energy counted twice)",
            )
        window_s = (report.window_end_ms - report.window_start_ms) / 1000
        if max_power_w > 0 and report.energy_j > max_power_w * (window_s + POWER_ALLOWANCE_S):
            raise LedgerInputError(
                "signed_telemetry.energy_joules",
                f"{report.energy_j} J in {window_s:.3f} s is more than the worker's declared"
                f" max_power_watts {max_power_w:g} W can use",
            )

    async def accept(
        self, worker: str, site: str, report: Telemetry, *, max_power_w: float = 0.0
    ) -> int:
        """Check a signed report and stage it for the current period; the period number.

        ``report.public_key`` is ignored: the key registered for ``worker`` is the one
        that must verify. ``max_power_w`` is what the worker declared at registration
        (0: unknown, not checked).

        Raises
        ------
        LedgerInputError
            Naming the field: no key registered, another worker or site, a bad
            signature, a sequence not above the last accepted (a replay), a window
            ending ahead of the clock by more than ``clock_skew_s``
            (``signed_telemetry.window_end_unix_ms``), starting before the last
            accepted one ended (``signed_telemetry.window_start_unix_ms``), or more
            energy than ``max_power_w`` over the window allows
            (``signed_telemetry.energy_joules``).
        """
        return await self._run(self._accept, worker, site, report, max_power_w)

    def _close_due(self, plan: Plan | None) -> list[PeriodHeader]:
        ledger = self.ledger
        current = int(self.clock() // self.period_s)
        headers = []
        for pending in ledger.pending_periods():
            if pending.period >= current:
                break
            by_site: dict[str, list[Telemetry]] = defaultdict(list)
            for report in ledger.pending_reports(pending.period):
                by_site[report.site].append(report)
            records = []
            for site, reports in sorted(by_site.items()):
                energy_j = sum(report.energy_j for report in reports)
                split = attribute(
                    plan,
                    site,
                    pending.period_start_s,
                    pending.period_s,
                    energy_j,
                    contract_price_micro_per_mwh=self.contract_price_micro_per_mwh,
                )
                records.append(
                    EnergyRecord.build(
                        telemetry=reports,
                        period=pending.period,
                        period_start_s=pending.period_start_s,
                        period_s=pending.period_s,
                        plan_id=split.plan_id,
                        curtailed_j=split.curtailed_j,
                        carrier=split.carrier,
                        price_micro_per_mwh=split.price_micro_per_mwh,
                    )
                )
            header = ledger.append_period(
                pending.period, pending.period_start_s, pending.period_s, records
            )
            self._last_period = header.period
            logger.info("ledger period %d closed: %d records", header.period, len(records))
            if self.observer is not None:
                self.observer.period_closed(header, records)
            headers.append(header)
        return headers

    async def close_due(self, plan: Plan | None) -> list[PeriodHeader]:
        """Append every staged period that has ended; wake header watchers."""
        headers = await self._run(self._close_due, plan)
        if headers:
            self.appended.notify_all()
        return headers

    # reading

    def _site_energy_j(self, site: str) -> int:
        if site not in self._energy_j_by_site:
            self._energy_j_by_site[site] = self.ledger.site_energy_j(site)
        return self._energy_j_by_site[site]

    async def site_energy_j(self, site: str) -> int:
        """Energy a site's workers signed for, closed and open periods together."""
        return await self._run(self._site_energy_j, site)

    async def sites_energy_j(self, sites: Sequence[str]) -> dict[str, int]:
        """``site_energy_j`` of each of ``sites``, in one call on the ledger's thread."""
        return await self._run(lambda: {site: self._site_energy_j(site) for site in sites})

    async def public_key(self) -> str:
        return await self._run(lambda: self.ledger.public_key)

    async def periods(self, first: int | None, last: int | None) -> list[StoredPeriod]:
        return await self._run(lambda: list(self.ledger.periods(first, last)))

    async def headers(self, first: int | None, last: int | None) -> list[StoredHeader]:
        """Period headers only (no records) within ``[first, last]``."""
        return await self._run(self.ledger.headers, first, last)

    async def last_period(self) -> int | None:
        last = await self._run(self.ledger.last_header)
        return None if last is None else last[0].period

    async def records(
        self, site: str | None, first: int | None, last: int | None
    ) -> list[tuple[int, int, dict[str, Any], str, str]]:
        return await self._run(self.ledger.records, site, first, last)

    async def proof(self, site: str, period: int) -> dict[str, Any]:
        """An inclusion proof, as ``spillway ledger proof`` prints it."""
        return await self._run(build_proof, self.ledger, site, period)

    async def settle(
        self, from_s: int, to_s: int, fits: Callable[[Settlement], bool] = lambda _: True
    ) -> Settlement | None:
        """Statements and signed certificates for periods starting in ``[from_s, to_s)``.

        Or, when that settlement does not ``fit``, for the longest run of whole periods
        from ``from_s`` that does (its ``to_s`` is where the rest starts); None when
        not even one period fits. ``fits`` runs on the ledger's thread.
        """

        def run() -> Settlement | None:
            ledger = self.ledger
            # Only the range's periods are read; settle_within still checks every record.
            with ledger.snapshot():  # the head named is the one these periods end
                head = ledger.head()
                periods = list(ledger.periods(start_from_s=from_s, start_to_s=to_s))
            return settle_within(
                periods,
                from_s,
                to_s,
                self._key,
                ledger.public_key,
                fits,
                None if head is None else head[0],
            )

        return await self._run(run)
