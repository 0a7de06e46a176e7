"""The grid's signals as plain data: what a demand-response event or a price says.

Times are seconds since the Unix epoch (UTC), powers W, prices per MWh. Intervals
are half-open: a signal holds for ``start_s <= t < end_s``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["GridSignal", "PricePoint", "SignalKind"]


class SignalKind(enum.StrEnum):
    """The OpenADR signals Spillway obeys."""

    #: ``LOAD_DISPATCH`` with type ``setpoint``: cap the site at ``value`` W.
    LOAD_DISPATCH = "load_dispatch"
    #: ``SIMPLE``: a level 0-3 (``value``), mapped to a fraction of the site's budget.
    SIMPLE = "simple"
    #: ``ELECTRICITY_PRICE``: ``value`` per MWh, fed to the price rule.
    ELECTRICITY_PRICE = "electricity_price"


@dataclass(frozen=True, slots=True)
class GridSignal:
    """One active interval of one grid event.

    ``site`` is ``None`` when the event targets no resource: it holds for every site.
    ``value`` is W for ``LOAD_DISPATCH`` (already converted from kW), the level for
    ``SIMPLE``, currency per MWh for ``ELECTRICITY_PRICE``.
    """

    event_id: str
    modification_number: int
    kind: SignalKind
    site: str | None
    start_s: float
    end_s: float
    value: float

    def active(self, now_s: float) -> bool:
        """Whether the interval holds at ``now_s``."""
        return self.start_s <= now_s < self.end_s

    def applies_to(self, site: str) -> bool:
        """Whether the signal is for ``site`` (or for every site)."""
        return self.site is None or self.site == site


@dataclass(frozen=True, slots=True)
class PricePoint:
    """A price for ``[start_s, end_s)`` at one site, at every site of one bus, or (both
    ``None``: an OpenADR price event with no resource target) at every site."""

    site: str | None
    bus: str | None
    start_s: float
    end_s: float
    price_per_mwh: float

    def applies_to(self, site: str, site_bus: str) -> bool:
        """Whether the price is for ``site`` (named, or by its bus)."""
        if self.site is not None:
            return self.site == site
        return self.bus is None or self.bus == site_bus
