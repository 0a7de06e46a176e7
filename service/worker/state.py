"""What a worker knows now, shared by its tasks (the loops in ``core``, the reports in
``telemetry``)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

__all__ = ["CurrentJob", "WorkerState"]


@dataclass
class CurrentJob:
    """The job being hashed: its header prefix, target and the nonce range left."""

    job_id: str
    prefix: bytes
    target: int
    ntime: int
    roll_s: int
    nonce_start: int = 0
    nonce_end: int = 1 << 32  # one past the last nonce to search
    next_nonce: int = 0
    ntime_offset: int = 0


@dataclass
class WorkerState:
    """What the worker knows now; shared by its tasks."""

    budget_w: float = 0.0
    budget_until_s: float = 0.0  # monotonic
    energy_source: str = "grid"
    job: CurrentJob | None = None
    worker_id: str | None = None
    connected: bool = False
    energy_j: float = 0.0
    hashes: int = 0
    unreported_energy_j: float = 0.0
    unreported_hashes: int = 0
    unreported_shares: int = 0
    # Whether any unreported joule is the model's (the report is then marked modelled).
    unreported_modelled: bool = False
    # Of the unreported work, what is not yet in the queue's file (shares always are).
    unsaved_energy_j: float = 0.0
    unsaved_hashes: int = 0
    unsaved_modelled: bool = False
    # The last signed report's sequence: each report's is above it (the coordinator
    # refuses a replay); seeded from the clock so a restarted worker carries on above.
    sequence: int = 0
    # The max power declared at the last registration (0: none yet): the worker never
    # draws more, so its signed energy stays within what the coordinator accepts.
    declared_max_w: float = 0.0
    found: asyncio.Event = field(default_factory=asyncio.Event)

    def budget_now(self) -> float:
        """The budget in force: zero once it is past its hold."""
        return self.budget_w if time.monotonic() < self.budget_until_s else 0.0
