"""Shedding order: which workers of a site run when its budget is short.

When a site's budget is below what its workers draw at full power, the least
efficient workers (most joules per hash) shed first and the most efficient
restart first: the budget fills the workers in order of efficiency, each up to its
maximum power, so every watt the site may use buys the most hashes. (An equal
share would run every worker at a fraction of its power and hash less per joule
where the inefficient machines get the same share.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["WorkerCapacity", "shed"]


@dataclass(frozen=True, slots=True)
class WorkerCapacity:
    """One worker of a site: its full power and its energy per hash."""

    worker_id: str
    max_power_w: float
    j_per_hash: float


def shed(budget_w: float, workers: Sequence[WorkerCapacity]) -> dict[str, float]:
    """Per-worker budgets (W) for a site budget: most efficient first, each up to its max.

    Ties in efficiency are broken by worker id so that the answer is the same on
    every call. The last worker that runs may get a part of its power (it duty-cycles).

    Raises
    ------
    ValueError
        A negative or non-finite budget, power or energy per hash, or a duplicate id.
    """
    if not math.isfinite(budget_w) or budget_w < 0:
        raise ValueError(f"budget_w must be a finite number >= 0, got {budget_w}")
    seen: set[str] = set()
    for w in workers:
        if w.worker_id in seen:
            raise ValueError(f"worker {w.worker_id!r} listed twice")
        seen.add(w.worker_id)
        for name, v in (("max_power_w", w.max_power_w), ("j_per_hash", w.j_per_hash)):
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"worker {w.worker_id!r}: {name} must be finite and >= 0, got {v}")
    left_w = budget_w
    out: dict[str, float] = {}
    for w in sorted(workers, key=lambda w: (w.j_per_hash, w.worker_id)):
        give = min(w.max_power_w, left_w)
        out[w.worker_id] = give
        left_w -= give
    return out
