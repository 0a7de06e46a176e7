"""Each site's streaming workers and their parts of the site's budget.

A site's budget is filled most efficient first (declared J per hash, ties by
worker id), each worker up to its max power (``signals.shedding``); a worker
alone at its site gets all of it. ``SiteShares`` keeps each site's workers in
that order as streams come and go (a sorted insert, not a sort per stream) and
the budget left before each of them for the budget last asked (one pass per
site and change, the same sequential subtraction as ``shed``, so each part is
the same float ``shed`` gives). ``add`` and ``remove`` say whether another
stream's part moved, so that a stream coming or going wakes the others only
when one of them has a new figure: a fleet of thousands connecting costs
O(n log n) per stream, not a wake of every stream per stream.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from dataclasses import dataclass, field

from service.domain import WorkerRecord
from service.signals.shedding import WorkerCapacity, shed

__all__ = ["UNKNOWN_J_PER_HASH", "SiteShares", "worker_capacity"]

#: The shedding order's J per hash of a worker that declared no hashrate (last to run).
UNKNOWN_J_PER_HASH = 1e30


def worker_capacity(worker: WorkerRecord) -> WorkerCapacity:
    """A worker as the shedding order sees it: its max power and declared J per hash
    (no declared hashrate: efficiency unknown, it sheds first)."""
    j_per_hash = (
        worker.max_power_w / worker.hashrate_hs if worker.hashrate_hs > 0 else UNKNOWN_J_PER_HASH
    )
    return WorkerCapacity(worker.worker_id, worker.max_power_w, j_per_hash)


def _key(worker: WorkerRecord) -> tuple[float, str]:
    return (worker_capacity(worker).j_per_hash, worker.worker_id)


@dataclass(slots=True)
class _Site:
    """One site's streaming workers in shedding order."""

    keys: list[tuple[float, str]] = field(default_factory=list)
    max_w: list[float] = field(default_factory=list)
    workers: dict[str, WorkerRecord] = field(default_factory=dict)
    # The budget left before each worker (and after the last) for ``left_for_w``.
    left_w: list[float] = field(default_factory=list)
    left_for_w: float | None = None

    def left(self, budget_w: float) -> list[float]:
        if self.left_for_w != budget_w:
            self.left_w = list(itertools.accumulate(self.max_w, operator.sub, initial=budget_w))
            self.left_for_w = budget_w
        return self.left_w

    def part_at(self, rank: int, budget_w: float) -> float:
        left_w = self.left(budget_w)[rank]
        return min(self.max_w[rank], left_w) if left_w > 0 else 0.0

    def rank(self, worker: WorkerRecord) -> int:
        return bisect.bisect_left(self.keys, _key(worker))


class SiteShares:
    """Each site's workers with an open stream, and their parts of the site's budget."""

    def __init__(self) -> None:
        self._sites: dict[str, _Site] = {}
        self._last_budget_w: dict[str, float] = {}

    def part_w(self, worker: WorkerRecord, budget_w: float) -> float:
        """``worker``'s part of its site's ``budget_w``."""
        self._last_budget_w[worker.site] = budget_w
        site = self._sites.get(worker.site)
        if site is None or len(site.keys) <= 1:
            return budget_w
        if not math.isfinite(budget_w) or budget_w < 0:
            shed(budget_w, [])  # raises ValueError naming the budget, as shed does
        known = site.workers.get(worker.worker_id)
        if known is None:
            return 0.0
        return site.part_at(site.rank(known), budget_w)

    def add(self, worker: WorkerRecord) -> bool:
        """Count ``worker``'s stream; whether another stream's part may have changed."""
        site = self._sites.setdefault(worker.site, _Site())
        if worker.worker_id in site.workers:  # a second stream (perhaps a fresh record)
            self._drop(site, site.workers[worker.worker_id])
        budget_w = self._last_budget_w.get(worker.site)
        before = len(site.keys)
        rank = site.rank(worker)
        if before == 0:
            changed = False
        elif budget_w is None:
            changed = True  # nothing computed at this site yet: assume a change
        elif before == 1:
            changed = self._lone_changes(site, budget_w, worker, add=True)
        else:
            changed = self._add_changes(site, budget_w, rank, worker.max_power_w)
        site.keys.insert(rank, _key(worker))
        site.max_w.insert(rank, worker.max_power_w)
        site.workers[worker.worker_id] = worker
        site.left_for_w = None
        return changed

    def remove(self, worker: WorkerRecord) -> bool:
        """Stop counting ``worker``; whether another stream's part may have changed."""
        site = self._sites.get(worker.site)
        known = site.workers.get(worker.worker_id) if site is not None else None
        if site is None or known is None:
            return False
        budget_w = self._last_budget_w.get(worker.site)
        count = len(site.keys)
        rank = site.rank(known)
        if count <= 1:
            changed = False
        elif budget_w is None:
            changed = True
        elif count == 2:
            changed = self._lone_changes(site, budget_w, known, add=False)
        else:
            changed = self._remove_changes(site, budget_w, rank)
        self._drop(site, known)
        if not site.keys:
            del self._sites[worker.site]
        return changed

    @staticmethod
    def _drop(site: _Site, known: WorkerRecord) -> None:
        rank = site.rank(known)
        del site.keys[rank], site.max_w[rank]
        del site.workers[known.worker_id]
        site.left_for_w = None

    @staticmethod
    def _add_changes(site: _Site, budget_w: float, rank: int, max_w: float) -> bool:
        """Whether inserting a worker of ``max_w`` at ``rank`` moves a later one's part:
        only if budget reached the later ones and did not cover them all after it."""
        left_w = site.left(budget_w)
        if rank == len(site.keys) or max_w <= 0:
            return False
        return left_w[rank] > 0 and left_w[-1] - max_w < 0

    @staticmethod
    def _remove_changes(site: _Site, budget_w: float, rank: int) -> bool:
        """Whether removing the worker at ``rank`` moves a later one's part: only if it
        had a part and the budget did not cover every worker."""
        if rank == len(site.keys) - 1:
            return False
        return site.part_at(rank, budget_w) > 0 and site.left(budget_w)[-1] < 0

    def _lone_changes(
        self, site: _Site, budget_w: float, worker: WorkerRecord, *, add: bool
    ) -> bool:
        """Between one and two streams: the other's figure is the whole budget alone,
        its shed part with two (computed directly)."""
        if add:
            (other,) = site.workers.values()
            pair = [other, worker]
        else:
            pair = list(site.workers.values())
            (other,) = [w for w in pair if w.worker_id != worker.worker_id]
        shared = shed(budget_w, [worker_capacity(w) for w in pair])[other.worker_id]
        return shared != budget_w
