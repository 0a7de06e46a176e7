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

from service.domain import Budget, BudgetSourceKind, Override, ScheduleEntry

if TYPE_CHECKING:
    from service.coordinator.storage import AsyncStore
    from service.domain import Plan

__all__ = ["BudgetRules", "SiteRules", "resolve_budget"]


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
