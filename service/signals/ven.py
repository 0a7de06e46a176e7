"""An OpenADR 2.0b VEN: the coordinator hears the grid's demand-response events.

Built on ``openleadr``'s client. It registers with the VTN (retrying with backoff
until it can), polls at the frequency the VTN asks, answers each event ``optIn``
or ``optOut``, keeps every interval of an accepted event as a :class:`GridSignal`
in an :class:`EventStore` (so a restart keeps obeying it), and sends
``TELEMETRY_USAGE`` reports of each site's power in kW at the interval the VTN
requests.

What an event means (``signals_from_event``, pure):

=================  =============  ==================================================
signal_name        signal_type    becomes
=================  =============  ==================================================
LOAD_DISPATCH      setpoint       a cap at ``payload`` kW (stored in W)
SIMPLE             level          level 0-3 (a fraction of the budget, see precedence)
ELECTRICITY_PRICE  price          a price per MWh (``currencyPerKWh`` x 1000)
anything else                     ``optOut``: the farm cannot promise to follow it
=================  =============  ==================================================

An event whose targets name ``resource_id`` s applies to those sites (``optOut``
when none of them is ours); an event with no resource target applies to every site.

Staleness: openleadr swallows connection errors, so the VEN watches the VTN's
answers itself (an ``after_receive_xml`` hook). When none has come for longer than
``stale_s``, :meth:`OpenAdrVen.status` says so; the stored events keep holding until
their intervals end either way: an unreachable VTN never ends an event early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.signals.domain import GridSignal, PricePoint, SignalKind
from service.signals.errors import VenError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence

    from service.signals.store import EventStore

logger = logging.getLogger(__name__)

__all__ = ["OpenAdrVen", "VenSettings", "VenStatus", "signals_from_event"]

OPT_IN = "optIn"
OPT_OUT = "optOut"


@dataclass(frozen=True, slots=True)
class VenSettings:
    """How the VEN reaches its VTN.

    ``cert_path``/``key_path`` sign outgoing messages (and serve as the TLS client
    certificate); ``vtn_fingerprint`` checks the VTN's signature on what it sends;
    ``ca_file`` checks the VTN's TLS certificate.
    """

    vtn_url: str
    ven_name: str
    cert_path: str | None = None
    key_path: str | None = None
    passphrase: str | None = None
    vtn_fingerprint: str | None = None
    ca_file: str | None = None
    ven_id: str | None = None
    stale_s: float = 300.0
    #: The fastest telemetry the VEN offers (the VTN picks within [this, 1 h]).
    report_min_interval_s: float = 1.0
    register_retry_max_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.vtn_url.startswith(("http://", "https://")):
            raise VenError(f"vtn_url: need an http(s) URL, got {self.vtn_url!r}")
        if not self.ven_name:
            raise VenError("ven_name: must not be empty")
        if (self.cert_path is None) != (self.key_path is None):
            raise VenError("cert_path and key_path: give both or neither")
        for name in ("cert_path", "key_path", "ca_file"):
            p = getattr(self, name)
            if p is not None and not Path(p).is_file():
                raise VenError(f"{name}: no such file {p}")
        if not self.stale_s > 0:
            raise VenError(f"stale_s: must be > 0, got {self.stale_s}")


@dataclass(frozen=True, slots=True)
class VenStatus:
    """Where the VEN stands with its VTN."""

    registered: bool
    ven_id: str | None
    last_contact_s: float | None
    stale: bool


def _seconds(value: Any) -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _epoch_s(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _target_sites(event: Mapping[str, Any]) -> list[str] | None:
    """Resource ids the event targets, or ``None`` (no resource target: every site)."""
    ids: list[str] = []
    for t in event.get("targets") or []:
        rid = t.get("resource_id") if isinstance(t, dict) else None
        if isinstance(rid, list):
            ids.extend(str(r) for r in rid)
        elif rid is not None:
            ids.append(str(rid))
    return ids or None


def _price_scale(signal: Mapping[str, Any]) -> float:
    """Factor from the signal's price unit to currency per MWh."""
    m = signal.get("measurement") or {}
    name = m.get("name") if isinstance(m, dict) else getattr(m, "name", None)
    return 1000.0 if name == "currencyPerKWh" else 1.0


def signals_from_event(
    event: Mapping[str, Any], sites: Collection[str]
) -> tuple[tuple[GridSignal, ...], str, str]:
    """An openleadr event (its parsed dict) as grid signals, our answer, and why.

    Returns
    -------
    (signals, opt, why)
        One signal per interval and target site (``site=None``: every site);
        ``optIn`` with no signals dropped, or ``optOut`` (and no signals) with the
        reason.
    """
    desc = event.get("event_descriptor", {})
    event_id = str(desc.get("event_id", ""))
    mod = int(desc.get("modification_number", 0))
    targets = _target_sites(event)
    if targets is not None:
        ours = [s for s in targets if s in sites]
        if not ours:
            return (), OPT_OUT, f"targets {targets} name none of our sites"
        site_list: list[str | None] = list(dict.fromkeys(ours))
    else:
        site_list = [None]
    raw = event.get("event_signals") or []
    if isinstance(raw, dict):
        raw = raw.get("event_signals", [])
    period = event.get("active_period") or {}
    out: list[GridSignal] = []
    for sig in raw:
        name, stype = sig.get("signal_name"), sig.get("signal_type")
        if name == "LOAD_DISPATCH" and stype == "setpoint":
            kind, scale = SignalKind.LOAD_DISPATCH, 1000.0  # kW -> W
        elif name == "SIMPLE" and stype == "level":
            kind, scale = SignalKind.SIMPLE, 1.0
        elif name == "ELECTRICITY_PRICE" and stype == "price":
            kind, scale = SignalKind.ELECTRICITY_PRICE, _price_scale(sig)
        else:
            return (), OPT_OUT, f"signal {name}/{stype} is not one Spillway follows"
        start_s = _epoch_s(period["dtstart"]) if "dtstart" in period else math.nan
        for iv in sig.get("intervals") or []:
            if "dtstart" in iv:
                start_s = _epoch_s(iv["dtstart"])
            duration_s = _seconds(iv.get("duration", 0))
            # OpenADR: a duration of 0 is open-ended (until cancelled)
            end_s = start_s + duration_s if duration_s > 0 else math.inf
            value = float(iv.get("signal_payload", math.nan))
            if not (math.isfinite(start_s) and math.isfinite(value)):
                return (), OPT_OUT, f"interval {iv.get('uid')} has no start or no payload"
            if kind == SignalKind.SIMPLE and value not in (0, 1, 2, 3):
                return (), OPT_OUT, f"SIMPLE level {value} is not 0-3"
            for site in site_list:
                out.append(GridSignal(event_id, mod, kind, site, start_s, end_s, value * scale))
            start_s = end_s
    if not out:
        return (), OPT_OUT, "no intervals"
    return tuple(out), OPT_IN, "ok"


class OpenAdrVen:
    """The coordinator as a VEN of one VTN.

    Parameters
    ----------
    settings:
        VTN URL, VEN name, certificates, staleness.
    store:
        Where events are kept (its signals are what the VEN obeys).
    sites:
        The farm's sites (event resource ids and report resources).
    site_power_w:
        ``site -> W`` now, for the telemetry reports (called on the event loop:
        keep it quick).
    clock:
        Seconds since the epoch (injected for tests of staleness).
    on_change:
        Awaited after an event is stored or cancelled (the coordinator re-sends
        budgets at once).
    known_sites:
        Awaited before each event is judged: sites the coordinator has come to know
        since (a worker registering a new site) are added at once, so an event that
        targets one is obeyed. New sites also get telemetry reports: the VEN then
        registers again with the VTN (same VEN id), which offers every site's report
        and sends the events again (``sync_sites``).
    """

    def __init__(
        self,
        settings: VenSettings,
        store: EventStore,
        sites: Sequence[str],
        site_power_w: Callable[[str], float],
        *,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[], Awaitable[None]] | None = None,
        known_sites: Callable[[], Awaitable[Collection[str]]] | None = None,
    ) -> None:
        if not sites:
            raise VenError("sites: the VEN needs at least one site to report on")
        self.settings = settings
        self.store = store
        self.sites = tuple(sites)
        self._power = site_power_w
        self._clock = clock
        self._on_change = on_change
        self._known_sites = known_sites
        # The sites the current client offers reports for (a registration ago).
        self._reported: tuple[str, ...] = ()
        self._ven_id = settings.ven_id  # kept across re-registrations
        self._client: Any = None  # registered
        self._attempt: Any = None  # the latest client, registered or still trying
        self._task: asyncio.Task[None] | None = None
        self._last_contact_s: float | None = None
        self.registered = asyncio.Event()
        self.answers: dict[str, str] = {}  # event id -> last opt answer (for status)

    # -- openleadr callbacks ----------------------------------------------------
    async def _on_event(self, event: dict[str, Any]) -> str:
        desc = event.get("event_descriptor", {})
        event_id = str(desc.get("event_id", ""))
        mod = int(desc.get("modification_number", 0))
        status = str(desc.get("event_status", ""))
        if status == "cancelled":
            self.store.cancel_event(event_id)
            logger.info("event %s cancelled by the VTN", event_id)
            self.answers[event_id] = OPT_IN
            if self._on_change is not None:
                await self._on_change()
            return OPT_IN
        if self._known_sites is not None:
            self.add_sites(await self._known_sites())
        signals, opt, why = signals_from_event(event, self.sites)
        self.store.put_event(event_id, mod, status, opt, signals, self._clock())
        self.answers[event_id] = opt
        logger.info("event %s (modification %d): %s (%s)", event_id, mod, opt, why)
        if self._on_change is not None:
            await self._on_change()
        return opt

    def _on_xml(self, _xml: str) -> None:
        self._last_contact_s = self._clock()

    def _report_callback(self, site: str) -> Callable[[], float]:
        def power_kw() -> float:
            return self._power(site) / 1000.0

        return power_kw

    # -- life cycle ---------------------------------------------------------------
    def _new_client(self) -> Any:
        # openleadr ships no type information; imported here so that the rest of the
        # service imports without it
        from openleadr import OpenADRClient, objects  # type: ignore[import-untyped]

        s = self.settings
        client = OpenADRClient(
            ven_name=s.ven_name,
            vtn_url=s.vtn_url,
            cert=s.cert_path,
            key=s.key_path,
            passphrase=s.passphrase,
            vtn_fingerprint=s.vtn_fingerprint,
            ca_file=s.ca_file,
            ven_id=self._ven_id,
            show_fingerprint=False,
            disable_signature=s.cert_path is None,
        )
        client.add_handler("on_event", self._on_event)
        client.add_handler("on_update_event", self._on_event)
        client.add_hook("after_receive_xml", self._on_xml)
        rate = objects.SamplingRate(
            min_period=timedelta(seconds=s.report_min_interval_s),
            max_period=timedelta(hours=1),
            on_change=False,
        )
        self._reported = self.sites
        for site in self.sites:
            client.add_report(
                self._report_callback(site),
                resource_id=site,
                measurement="power",
                unit="W",
                scale="k",  # realPower in kW
                report_specifier_id=f"spillway-{s.ven_name}-telemetry",
                r_id=f"{site}-power",
                report_duration=timedelta(hours=1),
                sampling_rate=rate,
            )
        return client

    async def _supervise(self) -> None:
        delay_s = 1.0
        while True:
            # kept from its creation, so that a stop() during registration closes it
            client = self._attempt = self._new_client()
            await client.run()
            if client.registration_id:
                self._client = client
                self._ven_id = client.ven_id
                self.registered.set()
                logger.info("registered with %s as %s", self.settings.vtn_url, client.ven_id)
                return
            logger.warning(
                "cannot register with %s; retrying in %.0fs", self.settings.vtn_url, delay_s
            )
            await asyncio.sleep(delay_s * random.uniform(0.8, 1.2))  # jitter: no thundering herd
            delay_s = min(delay_s * 2, self.settings.register_retry_max_s)

    async def start(self) -> None:
        """Start registering and polling in the running event loop (returns at once)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise())

    def add_sites(self, sites: Collection[str]) -> list[str]:
        """Take sites the coordinator has come to know; returns the new ones.

        Events are judged against them from now on; their reports follow at the next
        :meth:`sync_sites`.
        """
        new = sorted(set(sites) - set(self.sites))
        if new:
            self.sites = (*self.sites, *new)
            logger.info("VEN sites added: %s", new)
        return new

    async def sync_sites(self, sites: Collection[str] = ()) -> bool:
        """Add ``sites``; where the client offers reports for fewer sites than the VEN
        knows, register again (a fresh client: every site's report offered, events
        sent again and judged against every site). Returns whether it re-registered."""
        self.add_sites(sites)
        if self._task is None or self._reported == self.sites:
            return False
        if not self._task.done():
            return False  # still registering: the next call catches up
        logger.info("registering again with %s for sites %s", self.settings.vtn_url, self.sites)
        await self.stop()
        self.registered.clear()
        await self.start()
        return True

    async def stop(self) -> None:
        """Stop polling and reporting; close the HTTP session."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        client, self._client, self._attempt = self._attempt, None, None
        if client is not None:
            if client.scheduler.running:
                client.scheduler.shutdown(wait=False)
            if client.report_queue_task:
                client.report_queue_task.cancel()
            if client.client_session is not None:
                await client.client_session.close()

    # -- what the coordinator reads ------------------------------------------------
    def status(self) -> VenStatus:
        """Registration, last answer from the VTN, and whether that is stale."""
        last = self._last_contact_s
        stale = last is None or self._clock() - last > self.settings.stale_s
        ven_id = self._client.ven_id if self._client is not None else None
        return VenStatus(self._client is not None, ven_id, last, stale)

    def signals(self, now_s: float | None = None) -> tuple[GridSignal, ...]:
        """Signals of accepted events that hold at ``now_s`` (default: now).

        These come from the store, not from the VTN: an event holds until its
        interval ends even when the VTN has gone quiet (stale).
        """
        t = self._clock() if now_s is None else now_s
        return tuple(s for s in self.store.signals(ending_after_s=t) if s.active(t))

    def price_points(self, now_s: float | None = None) -> tuple[PricePoint, ...]:
        """``ELECTRICITY_PRICE`` intervals not yet ended, as price points for the rule."""
        t = self._clock() if now_s is None else now_s
        return tuple(
            PricePoint(s.site, None, s.start_s, s.end_s, s.value)
            for s in self.store.signals(ending_after_s=t)
            if s.kind == SignalKind.ELECTRICITY_PRICE
        )
