"""A site's budget rule inputs are read once per site and still follow every change at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.coordinator.budgets import BudgetRules
from service.coordinator.storage import AsyncStore
from service.domain import BudgetSourceKind, Override, ScheduleEntry


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    """A real coordinator database."""
    opened = await asyncio.to_thread(AsyncStore, tmp_path / "coordinator.sqlite3")
    try:
        yield opened
    finally:
        await asyncio.to_thread(opened.close)


class TestBudgetRules:
    async def test_a_written_override_is_seen_after_forget(self, store: AsyncStore) -> None:
        """The coordinator forgets the kept rows when it writes one; the next ask sees it."""
        rules = BudgetRules(store, hold_s=30.0, refresh_s=3600.0)
        now_s = time.time()
        assert (await rules.budget("a", now_s, None)).source == BudgetSourceKind.NONE
        await store.run(store.store.set_override, Override("a", 7.0, now_s + 60, "t"), now_s)
        # Kept rows hold until forgotten (refresh_s is an hour here)...
        assert (await rules.budget("a", now_s, None)).source == BudgetSourceKind.NONE
        rules.forget()
        budget = await rules.budget("a", now_s, None)
        assert (budget.source, budget.budget_w) == (BudgetSourceKind.OVERRIDE, 7.0)

    async def test_schedule_periods_begin_and_end_on_time(self, store: AsyncStore) -> None:
        """A kept read never hides the next schedule period, nor outlives the current one."""
        rules = BudgetRules(store, hold_s=30.0, refresh_s=3600.0)
        t0 = 1_000_000.0
        entries = [ScheduleEntry("a", t0 + 10, t0 + 20, 5.0, "grid")]
        await store.run(store.store.replace_schedule, entries, t0)
        assert (await rules.budget("a", t0, None)).source == BudgetSourceKind.NONE
        during = await rules.budget("a", t0 + 10, None)
        assert (during.source, during.budget_w) == (BudgetSourceKind.SCHEDULE, 5.0)
        assert (await rules.budget("a", t0 + 20, None)).source == BudgetSourceKind.NONE

    async def test_streams_of_a_site_share_one_read(self, store: AsyncStore) -> None:
        """A thousand asks at once for one site cost the store one query, not a thousand."""
        rules = BudgetRules(store, hold_s=30.0, refresh_s=3600.0)
        calls = 0
        read = store.store.budget_rules

        def counted(site: str, now_s: float) -> object:
            nonlocal calls
            calls += 1
            return read(site, now_s)

        store.store.budget_rules = counted  # type: ignore[method-assign]
        now_s = time.time()
        budgets = await asyncio.gather(*(rules.budget("a", now_s, None) for _ in range(1000)))
        assert {b.source for b in budgets} == {BudgetSourceKind.NONE}
        assert calls == 1
