"""Settings of the embedded demo (``spillway serve --demo``)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DemoSettings"]


@dataclass(frozen=True, slots=True)
class DemoSettings:
    """The demo's clock and power mapping.

    ``period_s``: wall seconds per planning period (hourly in the demo data);
    ``cpu_w``: the power of one CPU thread hashing flat out, which a site's
    full capacity maps to; ``status_s``: how often the status is refreshed.
    """

    period_s: float = 5.0
    cpu_w: float = 20.0
    status_s: float = 1.0
