"""A site's budget now: the rule (override > plan > schedule > zero), and its inputs kept warm.

Every work stream asks for its site's budget at least once per
``budget_refresh_s``, and all of a site's streams at once when a rule changes.
The override and schedule rows are read from the store once per site and kept
until the coordinator changes them (``forget``), until the schedule period in
force ends or the next one begins, or for ``budget_refresh_s`` at most (a guard
against rows written by another hand); the plan is in memory already. So a
fleet of thousands of streams costs the store a query per site, not per stream.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.domain import Budget, BudgetSourceKind, Override, ScheduleEntry, WorkerRecord
from service.signals.shedding import WorkerCapacity, shed

if TYPE_CHECKING:
    from service.coordinator.storage import AsyncStore
    from service.domain import Plan

__all__ = [
    "UNKNOWN_J_PER_HASH",
    "BudgetRules",
    "SiteRules",
    "SiteShares",
    "resolve_budget",
    "worker_capacity",
]


def resolve_budget(
    site: str,
    now_s: float,
    *,
    override: Override | None,
    plan_budget: Budget | None,
    schedule: ScheduleEntry | None,
    hold_s: float,
) -> Budget:
    """The budget that holds for ``site`` at ``now_s``.

    An unexpired override outranks the plan; the plan outranks a pushed
    schedule; when nothing valid covers now, the safe budget is zero. A
    budget is valid for at most ``hold_s`` past now (the worker falls to
    zero if it hears nothing new by then) and never past its own end.
    """
    horizon_s = now_s + hold_s
    if override is not None and override.expires_s > now_s:
        return Budget(
            site,
            override.budget_w,
            BudgetSourceKind.OVERRIDE,
            "grid",
            min(horizon_s, override.expires_s),
        )
    if plan_budget is not None:
        return Budget(
            site,
            plan_budget.budget_w,
            BudgetSourceKind.PLAN,
            plan_budget.energy_source,
            min(horizon_s, plan_budget.valid_until_s),
        )
    if schedule is not None and schedule.start_s <= now_s < schedule.end_s:
        return Budget(
            site,
            schedule.budget_w,
            BudgetSourceKind.SCHEDULE,
            schedule.source,
            min(horizon_s, schedule.end_s),
        )
    return Budget(site, 0.0, BudgetSourceKind.NONE, "grid", horizon_s)


@dataclass(frozen=True, slots=True)
class SiteRules:
    """A site's override and schedule rows as read at ``read_s``, and until when they hold."""

    override: Override | None
    schedule: ScheduleEntry | None
    valid_until_s: float
    read_monotonic_s: float


class BudgetRules:
    """Each site's budget rule inputs, read once per site and shared by all its streams.

    Parameters
    ----------
    store:
        Where overrides and schedules are kept.
    hold_s:
        How long past now a budget holds (``budget_hold_s``).
    refresh_s:
        The longest a site's rows are kept without reading them again.
    """

    def __init__(self, store: AsyncStore, *, hold_s: float, refresh_s: float) -> None:
        self._store = store
        self._hold_s = hold_s
        self._refresh_s = refresh_s
        self._rules: dict[str, SiteRules] = {}
        # A read in flight per (site, generation): streams that miss together share it, and
        # one begun before a change is never handed to a stream woken by that change.
        self._reading: dict[tuple[str, int], asyncio.Task[SiteRules]] = {}
        self._generation = 0

    def forget(self) -> None:
        """Drop every site's rows (an override or a schedule was just written)."""
        self._generation += 1
        self._rules.clear()

    async def _read(self, site: str, now_s: float, generation: int) -> SiteRules:
        store = self._store
        override, schedule, next_start_s = await store.run(store.store.budget_rules, site, now_s)
        until_s = min(
            schedule.end_s if schedule is not None else float("inf"),
            next_start_s if next_start_s is not None else float("inf"),
        )
        rules = SiteRules(override, schedule, until_s, time.monotonic())
        if generation == self._generation:
            self._rules[site] = rules
        return rules

    async def rules(self, site: str, now_s: float) -> SiteRules:
        """The site's rows in force at ``now_s`` (read only when none are kept that hold)."""
        kept = self._rules.get(site)
        if (
            kept is not None
            and now_s < kept.valid_until_s
            and time.monotonic() - kept.read_monotonic_s < self._refresh_s
        ):
            return kept
        key = (site, self._generation)
        task = self._reading.get(key)
        if task is None:
            task = asyncio.ensure_future(self._read(site, now_s, self._generation))
            self._reading[key] = task
            task.add_done_callback(lambda _t: self._reading.pop(key, None))
        rules = await asyncio.shield(task)
        if now_s >= rules.valid_until_s:  # a shared read made just before a schedule boundary
            rules = await self._read(site, now_s, self._generation)
        return rules

    async def budget(self, site: str, now_s: float, plan: Plan | None) -> Budget:
        """The budget in force for ``site`` at ``now_s``."""
        rules = await self.rules(site, now_s)
        return resolve_budget(
            site,
            now_s,
            override=rules.override,
            plan_budget=plan.budget(site, now_s) if plan is not None else None,
            schedule=rules.schedule,
            hold_s=self._hold_s,
        )


#: The shedding order's J per hash of a worker that declared no hashrate (last to run).
UNKNOWN_J_PER_HASH = 1e30


def worker_capacity(worker: WorkerRecord) -> WorkerCapacity:
    """A worker as the shedding order sees it: its max power and declared J per hash
    (no declared hashrate: efficiency unknown, it sheds first)."""
    j_per_hash = (
        worker.max_power_w / worker.hashrate_hs if worker.hashrate_hs > 0 else UNKNOWN_J_PER_HASH
    )
    return WorkerCapacity(worker.worker_id, worker.max_power_w, j_per_hash)


class SiteShares:
    """Each site's workers with an open stream, and their parts of the site's budget.

    A site's budget is filled most efficient first, each worker up to its max power
    (``signals.shedding``); a worker alone at its site gets all of it. The parts are
    computed once per site, budget and set of streams, not once per stream: a change
    at a site of thousands of streams costs one shed, not one per stream. ``add`` and
    ``remove`` say whether another stream's part may have moved, so that a stream
    coming or going wakes the others only when one of them has a new figure.
    """

    def __init__(self) -> None:
        self._by_site: dict[str, dict[str, WorkerRecord]] = {}
        # Per site: the budget the parts were last computed for, and the parts.
        self._parts: dict[str, tuple[float, dict[str, float]]] = {}
        self._last_budget_w: dict[str, float] = {}
        self._max_w: dict[str, float] = {}  # per site: the streaming workers' max power summed

    def part_w(self, worker: WorkerRecord, budget_w: float) -> float:
        """``worker``'s part of its site's ``budget_w``."""
        self._last_budget_w[worker.site] = budget_w
        peers = self._by_site.get(worker.site, {})
        if len(peers) <= 1:
            return budget_w
        return self._site_parts(worker.site, budget_w).get(worker.worker_id, 0.0)

    def add(self, worker: WorkerRecord) -> bool:
        """Count ``worker``'s stream; whether another stream's part may have changed."""
        return self._change(worker, add=True)

    def remove(self, worker: WorkerRecord) -> bool:
        """Stop counting ``worker``; whether another stream's part may have changed."""
        return self._change(worker, add=False)

    def _site_parts(self, site: str, budget_w: float) -> dict[str, float]:
        kept = self._parts.get(site)
        if kept is None or kept[0] != budget_w:
            peers = self._by_site.get(site, {}).values()
            kept = (budget_w, shed(budget_w, [worker_capacity(w) for w in peers]))
            self._parts[site] = kept
        return kept[1]

    def _figures(self, site: str, budget_w: float) -> dict[str, float]:
        """Every streaming worker's figure at ``site`` (as ``part_w`` gives it)."""
        peers = self._by_site.get(site, {})
        if len(peers) <= 1:
            return dict.fromkeys(peers, budget_w)
        parts = self._site_parts(site, budget_w)
        return {worker_id: parts.get(worker_id, 0.0) for worker_id in peers}

    def _change(self, worker: WorkerRecord, *, add: bool) -> bool:
        site = worker.site
        budget_w = self._last_budget_w.get(site)
        peers = self._by_site.setdefault(site, {})
        others = len(peers) - (worker.worker_id in peers)
        # A zero budget is zero for everyone, and one that covers every worker's max
        # power gives each its max: a stream coming or going moves no other figure.
        total_w = self._max_w.get(site, 0.0) + (
            0.0 if worker.worker_id in peers else worker.max_power_w
        )
        covered = budget_w is not None and (budget_w == 0 or budget_w >= total_w)
        before = self._figures(site, budget_w) if budget_w is not None and not covered else {}
        if add:
            if worker.worker_id not in peers:
                self._max_w[site] = self._max_w.get(site, 0.0) + worker.max_power_w
            peers[worker.worker_id] = worker
        elif peers.pop(worker.worker_id, None) is not None:
            self._max_w[site] -= worker.max_power_w
        if not peers:
            del self._by_site[site]
            self._max_w.pop(site, None)
        self._parts.pop(site, None)
        if others == 0 or covered:
            return False
        if budget_w is None:
            return True  # nothing computed at this site yet: assume a change
        after = self._figures(site, budget_w)
        return any(
            after.get(worker_id) != part
            for worker_id, part in before.items()
            if worker_id != worker.worker_id
        )
