"""Names shared by the plan's result and its attribution: the planning modes and
the source label of everything that is not curtailed energy.

A module of its own so that :mod:`optimiser.result` and :mod:`optimiser.attribution`
both depend on it and not on each other.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["GRID_SOURCE", "PlanMode"]


class PlanMode(StrEnum):
    """Planning mode."""

    CO_OPTIMISED = "co-optimised"
    CURTAILMENT_ONLY = "curtailment-only"


#: Source label of every change that is not curtailed energy: conventional units
#: going up, storage discharging more (beyond avoided spill), a renewable beyond
#: the curtailment it absorbed.
GRID_SOURCE = "grid"
