"""The grid's demand-response events in the coordinator's budgets (OpenADR 2.0b VEN).

``spillway serve --openadr-vtn-url URL --openadr-ven-name NAME`` makes the
coordinator a VEN (``service.signals.ven``). Every budget the coordinator
hands out passes through :meth:`GridSignals.apply`: an active ``LOAD_DISPATCH``
setpoint caps the site's budget, a ``SIMPLE`` level scales it
(``signals.precedence``: event > override > plan > zero); the capped budget ends
with the event's interval, so a work stream wakes then and the cap is released.
Events come from the VEN's SQLite store: a restart keeps obeying them, and a VTN
gone quiet never ends one early.

The price rule (``--curtail-above`` and friends, ``signals.price_rule``) is fed
each price interval once, when the interval starts, per site: ``ELECTRICITY_PRICE``
events and prices pushed with ``spillway prices push`` alike. While it has curtailed
a site the budget is zero unless an operator override says otherwise (event >
override > price rule > plan > zero). Pushed prices and the rule's state per site
live in ``signals.price_store`` (SQLite): after a restart the rule carries on.

Budgets set by an event go out with source ``GRID_EVENT``, those the price rule
curtailed with ``PRICE_RULE`` (a worker and ``spillway status`` tell them from an
operator's override).

The VEN starts once the coordinator knows a site (its reports and resource ids
are per site); sites seen later join it: events are judged against them at once,
and the VEN registers again to offer their telemetry reports.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from service.domain import Budget, BudgetSourceKind
from service.signals.domain import SignalKind
from service.signals.precedence import BudgetReason, SiteDecision, decide_site_budget
from service.signals.price_rule import PriceState, step

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from service.signals.domain import GridSignal, PricePoint
    from service.signals.price_rule import PriceRule
    from service.signals.price_store import PriceStore
    from service.signals.ven import OpenAdrVen

__all__ = ["PRICE_KEEP_S", "SIGNALS_CACHE_S", "GridSignals"]

logger = logging.getLogger(__name__)

#: Active signals are read from the event store at most this often (every work
#: stream asks for its budget each refresh; one read serves them all). A new event
#: clears the cache at once (``changed``).
SIGNALS_CACHE_S = 0.25
#: Pushed prices are kept this long after their interval ends (for a look back).
PRICE_KEEP_S = 86400.0


class GridSignals:
    """Grid events applied to budgets.

    Parameters
    ----------
    simple_levels:
        Fraction of the budget for SIMPLE levels 0-3.
    price_rule:
        Curtailment on price (None: prices change nothing).
    """

    def __init__(self, simple_levels: Sequence[float], price_rule: PriceRule | None = None) -> None:
        self.simple_levels = tuple(simple_levels)
        self.price_rule = price_rule
        self.ven: OpenAdrVen | None = None
        self.price_store: PriceStore | None = None
        self._cached: tuple[float, tuple[GridSignal, ...], tuple[PricePoint, ...]] | None = None
        # site -> the rule's state and the start of the last price interval fed to it
        self._price_state: dict[str, tuple[PriceState, float]] = {}

    def attach_prices(self, store: PriceStore) -> None:
        """Read pushed prices from ``store`` and keep the rule's state there (loaded now)."""
        self.price_store = store
        self._price_state.update(store.states())
        self.changed()

    async def push_prices(self, points: Sequence[PricePoint], now_s: float) -> float | None:
        """Store pushed (checked) prices, committed before it returns; the latest end.

        Points already ended are stored too (they change nothing); an interval that
        has begun is fed to the rule at the next budget asked for.
        """
        store = self.price_store
        assert store is not None, "attach_prices first"
        reach_s = await asyncio.to_thread(store.put_prices, points, now_s)
        # intervals ended a day ago are never read again (only those not yet ended are)
        await asyncio.to_thread(store.prune, now_s - PRICE_KEEP_S)
        self.changed()
        return reach_s

    def changed(self) -> None:
        """Forget the cached signals (an event arrived or was cancelled)."""
        self._cached = None

    def _read(self, now_s: float) -> tuple[tuple[GridSignal, ...], tuple[PricePoint, ...]]:
        """Active event signals and price points not yet ended (cached briefly)."""
        if self.ven is None and self.price_store is None:
            return (), ()
        cached = self._cached
        if cached is not None:
            read_s, signals, prices = cached
            ends = [s.end_s for s in signals] + [p.start_s for p in prices if p.start_s > read_s]
            if now_s - read_s < SIGNALS_CACHE_S and (not ends or now_s < min(ends)):
                return signals, prices
        signals = self.ven.signals(now_s) if self.ven is not None else ()
        fresh: tuple[PricePoint, ...] = ()
        if self.price_rule is not None:
            if self.ven is not None:
                fresh += self.ven.price_points(now_s)
            if self.price_store is not None:
                fresh += self.price_store.prices(ending_after_s=now_s)
        self._cached = (now_s, signals, fresh)
        return signals, fresh

    def price_curtailed(
        self, site: str, bus: str, now_s: float
    ) -> tuple[bool, float | None, float | None]:
        """Whether the price rule has curtailed ``site`` now, until when the price in
        force holds, and that price (each interval's price is fed to the rule once, as
        it starts; a new state is stored before it counts)."""
        rule = self.price_rule
        if rule is None:
            return False, None, None
        _, prices = self._read(now_s)
        state, fed_s = self._price_state.get(site, (PriceState(), -float("inf")))
        due = sorted(
            (p for p in prices if p.applies_to(site, bus) and fed_s < p.start_s <= now_s),
            key=lambda p: p.start_s,
        )
        for p in due:
            state = step(rule, state, p.price_per_mwh)
            fed_s = p.start_s
        if due:
            self._price_state[site] = (state, fed_s)
            if self.price_store is not None:
                self.price_store.put_states({site: (state, fed_s)})
        holding = [p for p in prices if p.applies_to(site, bus) and p.start_s <= now_s < p.end_s]
        if not holding:
            return state.curtailed, None, None
        first = min(holding, key=lambda p: p.end_s)
        return state.curtailed, first.end_s, max(holding, key=lambda p: p.start_s).price_per_mwh

    def apply(self, budget: Budget, now_s: float, *, bus: str = "") -> Budget:
        """``budget`` as the grid's active events and the price rule leave it."""
        return self.explain(budget, now_s, bus=bus)[0]

    def explain(
        self, budget: Budget, now_s: float, *, bus: str = ""
    ) -> tuple[Budget, SiteDecision | None]:
        """``budget`` as the grid's events and the price rule leave it, and the decision
        when one of them set it (``None``: ``budget`` stands as given).

        ``budget`` is what the override, plan and schedule give; an event caps or
        scales it; the price rule zeroes a plan or schedule budget, never an override.
        Such a budget's source is ``GRID_EVENT`` (or ``PRICE_RULE``) and it holds
        until the event's (or price's) interval ends at the latest.
        """
        signals, _ = self._read(now_s)
        curtailed, price_until_s, price = self.price_curtailed(budget.site, bus, now_s)
        if not signals and not curtailed:
            return budget, None
        is_override = budget.source == BudgetSourceKind.OVERRIDE
        d = decide_site_budget(
            budget.site,
            now_s,
            plan_w=None if budget.source == BudgetSourceKind.NONE else budget.budget_w,
            override_w=budget.budget_w if is_override else None,
            override_until_s=budget.valid_until_s if is_override else None,
            price_curtailed=curtailed,
            signals=signals,
            simple_levels=self.simple_levels,
        )
        if d.reason == BudgetReason.PRICE_RULE:
            until_s, source = price_until_s, BudgetSourceKind.PRICE_RULE
            d = replace(
                d,
                until_s=price_until_s,
                event_kind=SignalKind.ELECTRICITY_PRICE,
                price_per_mwh=price,
            )
        elif d.reason == BudgetReason.EVENT:
            until_s, source = d.until_s, BudgetSourceKind.GRID_EVENT
        else:
            return budget, None
        if until_s is not None:
            until_s = min(budget.valid_until_s, until_s)
        else:
            until_s = budget.valid_until_s
        capped = Budget(budget.site, d.budget_w, source, budget.energy_source, until_s)
        return capped, d


async def run_ven(
    grid: GridSignals,
    make_ven: Callable[[Sequence[str]], OpenAdrVen],
    known_sites: Callable[[], Awaitable[list[str]]],
    *,
    poll_s: float = 1.0,
) -> None:
    """Wait for a known site, then run the VEN until cancelled (then stop it).

    Every ``poll_s`` the known sites are read again: sites that became known since
    (a worker at a new site) join the VEN, which registers again to offer their
    telemetry reports (``OpenAdrVen.sync_sites``).
    """
    sites: list[str] = []
    while not sites:
        sites = sorted(await known_sites())
        if not sites:
            await asyncio.sleep(poll_s)
    ven = make_ven(sites)
    grid.ven = ven
    grid.changed()
    await ven.start()
    logger.info("OpenADR VEN started for sites %s at %.0f", sites, time.time())
    try:
        while True:  # until cancelled
            await asyncio.sleep(poll_s)
            try:
                await ven.sync_sites(await known_sites())
            except Exception:  # a failed read or re-registration: try again next time
                logger.exception("OpenADR VEN: cannot take new sites")
    finally:
        grid.ven = None
        await ven.stop()
        await asyncio.to_thread(ven.store.close)
