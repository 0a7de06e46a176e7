"""A site's budget now: the rule (override > plan > schedule > zero) and its inputs.

The override and schedule rows come from the store; the plan is in memory, a
domain ``Plan`` looked up by site (never decoded per check).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from service.domain import Budget, BudgetSourceKind, Override, ScheduleEntry

if TYPE_CHECKING:
    from service.coordinator.storage import AsyncStore
    from service.domain import Plan

__all__ = ["BudgetRules", "resolve_budget"]


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


class BudgetRules:
    """Each site's budget from its override and schedule rows and the plan.

    Parameters
    ----------
    store:
        Where overrides and schedules are kept.
    hold_s:
        How long past now a budget holds (``budget_hold_s``).
    refresh_s:
        How often streams ask (unused here).
    """

    def __init__(self, store: AsyncStore, *, hold_s: float, refresh_s: float) -> None:
        self._store = store
        self._hold_s = hold_s

    def forget(self) -> None:
        """An override or a schedule was just written (nothing is kept here)."""

    async def budget(self, site: str, now_s: float, plan: Plan | None) -> Budget:
        """The budget in force for ``site`` at ``now_s``."""
        store = self._store
        override = await store.run(store.store.override, site, now_s)
        schedule = await store.run(store.store.scheduled, site, now_s)
        return resolve_budget(
            site,
            now_s,
            override=override,
            plan_budget=plan.budget(site, now_s) if plan is not None else None,
            schedule=schedule,
            hold_s=self._hold_s,
        )
