"""Unit conversions of the service, in one place (the optimiser: MW and MWh; the service: W, J).

The ledger (``service.ledger``) is a package of its own that imports nothing
of the service; it carries its own exact integer ``JOULES_PER_MWH`` for money.
"""

from __future__ import annotations

import math

__all__ = ["J_PER_MWH", "MICRO_PER_UNIT", "NS_PER_S", "S_PER_H", "W_PER_MW", "seconds_to_ns"]

W_PER_MW = 1e6
S_PER_H = 3600.0
J_PER_MWH = W_PER_MW * S_PER_H
NS_PER_S = 1_000_000_000
# Prices are stored in micro-units of the scenario's currency per MWh.
MICRO_PER_UNIT = 1_000_000


def seconds_to_ns(seconds: float) -> int:
    """Whole nanoseconds of ``seconds``, as ``Timestamp`` and ``Duration`` hold them."""
    whole = math.floor(seconds)
    return whole * NS_PER_S + int((seconds - whole) * 1e9)
