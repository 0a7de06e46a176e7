"""The coordinator's plans: scenarios checked and kept, solves off the event loop, the current plan.

A scenario is checked once, when it is submitted (the optimiser's reader), and
its data kept for ``run_plan``; only after a restart is a stored scenario read
again. A plan is stored as bytes through a ``PlanCodec`` (``service.rpc``
stores the ``Plan`` message, so this module never sees protobuf).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Protocol

from service.coordinator import planning
from service.coordinator.wakeup import Wakeup
from service.domain import Calendar, Plan, PlanModeKind
from service.errors import NotFoundError
from service.metrics import plan_failure_reason

if TYPE_CHECKING:
    from pathlib import Path

    from optimiser import GridData
    from service.coordinator.storage import AsyncStore
    from service.metrics import CoordinatorMetrics

__all__ = ["CHECKED_SCENARIOS", "PlanCodec", "Plans"]

logger = logging.getLogger(__name__)

# Scenarios checked at submission, kept for ``run_plan`` (read again only after a restart).
CHECKED_SCENARIOS = 4


class PlanCodec(Protocol):
    """How plans and scenarios are stored as bytes (``service.rpc.convert.PROTO_CODEC``)."""

    def plan_to_bytes(self, plan: Plan) -> bytes:
        """A plan as stored."""
        ...

    def plan_from_bytes(self, body: bytes) -> Plan:
        """A stored plan."""
        ...

    def calendar_to_bytes(self, calendar: Calendar) -> bytes:
        """A calendar stored as a scenario without components."""
        ...

    def read_scenario(self, body: bytes) -> tuple[GridData, Calendar]:
        """A stored scenario, checked by the optimiser's reader (CPU: run off the loop)."""
        ...


class Plans:
    """Scenarios, solves and the current plan of one coordinator.

    Parameters
    ----------
    store:
        Where scenarios and plans are kept.
    metrics:
        Where solves are counted.
    codec:
        How plans and scenarios are stored.
    stopping:
        Set when the coordinator stops (ends ``watch``).
    on_change:
        Called once a new plan is current (wakes the work streams).
    """

    def __init__(
        self,
        store: AsyncStore,
        metrics: CoordinatorMetrics,
        codec: PlanCodec,
        *,
        stopping: asyncio.Event,
        on_change: Callable[[], Awaitable[None]],
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.codec = codec
        self.current: Plan | None = None
        self.changed = Wakeup()
        self._stopping = stopping
        self._on_change = on_change
        self._checked: OrderedDict[str, tuple[GridData, Calendar]] = OrderedDict()
        # One solve at a time: HiGHS uses every core it is given.
        self._solving = asyncio.Lock()

    def in_force(self) -> Plan | None:
        """The plan in force, if any (what the ledger attributes energy by)."""
        return self.current

    @property
    def solving(self) -> asyncio.Lock:
        """Held for every solve (the rolling loop's re-plans take it too)."""
        return self._solving

    async def load(self) -> None:
        """Make the latest stored plan current."""
        latest = await self.store.run(self.store.store.latest_plan)
        if latest is not None:
            self.current = self.codec.plan_from_bytes(latest[2])

    def covers_now(self) -> float:
        """1.0 while the current plan covers this moment (read at scrape time)."""
        if self.current is None:
            return 0.0
        start_s, end_s = self.current.span_s
        return 1.0 if start_s <= time.time() < end_s else 0.0

    @contextlib.contextmanager
    def _counting_failures(self) -> Iterator[None]:
        """Count a failed solve by reason (the error itself goes on to the caller)."""
        try:
            yield
        except Exception as exc:
            self.metrics.plan_solve_failures.labels(plan_failure_reason(exc)).inc()
            raise

    async def submit_scenario(self, body: bytes, name: str) -> str:
        """Check a stored-form scenario with the optimiser's reader, store it; its id.

        Raises
        ------
        optimiser.BadGridDataError
            Naming the file, row and field the optimiser refuses.
        """
        checked = await asyncio.to_thread(self.codec.read_scenario, body)
        scenario_id = uuid.uuid4().hex
        await self.store.run(self.store.store.add_scenario, scenario_id, body, time.time())
        self._checked[scenario_id] = checked
        while len(self._checked) > CHECKED_SCENARIOS:
            self._checked.popitem(last=False)
        logger.info("scenario %s stored (%s)", scenario_id, name)
        return scenario_id

    async def _stored_scenario(self, scenario_id: str) -> tuple[GridData, Calendar] | bytes:
        """A submitted scenario: as checked at submission, else (after a restart) as stored.

        Raises
        ------
        NotFoundError
            For an unknown scenario id.
        """
        checked = self._checked.get(scenario_id)
        if checked is not None:
            return checked
        body = await self.store.run(self.store.store.scenario, scenario_id)
        if body is None:
            raise NotFoundError(f"scenario_id: no scenario {scenario_id[:64]!r}")
        return body

    async def run_plan(
        self,
        scenario_id: str,
        mode: PlanModeKind,
        *,
        allow_suboptimal: bool,
        time_limit_s: float | None,
    ) -> Plan:
        """Plan a stored scenario off the event loop; store the plan and make it current.

        Raises
        ------
        NotFoundError
            For an unknown scenario id.
        """
        stored = await self._stored_scenario(scenario_id)
        async with self._solving:
            with self._counting_failures():
                if isinstance(stored, bytes):
                    stored = await asyncio.to_thread(self.codec.read_scenario, stored)
                data, calendar = stored
                plan = await asyncio.to_thread(
                    planning.plan_grid,
                    data,
                    scenario_id,
                    calendar,
                    mode,
                    allow_suboptimal=allow_suboptimal,
                    time_limit_s=time_limit_s,
                    create_s=time.time(),
                )
        await self.adopt(plan, scenario_id)
        return plan

    async def adopt(self, plan: Plan, scenario_id: str, *, warm: bool = False) -> None:
        """Store a plan, count it, make it current and wake streams and watchers.

        ``warm``: the plan is a warm re-plan (the solve histogram's ``warm`` label).
        """
        start_s, end_s = plan.span_s
        await self.store.run(
            self.store.store.add_plan,
            plan.plan_id,
            scenario_id,
            time.time(),
            start_s,
            end_s,
            self.codec.plan_to_bytes(plan),
        )
        self.metrics.plan_solve_seconds.labels("true" if warm else "false").observe(
            plan.summary.solve_s
        )
        self.metrics.plan_solved_timestamp_seconds.set(time.time())
        self.metrics.plan_curtailment_absorbed_joules.inc(plan.summary.curtailment_absorbed_j)
        for site in plan.sites:
            self.metrics.site(site.site)
        self.current = plan
        logger.info("plan %s stored and current (%.2f s solve)", plan.plan_id, plan.summary.solve_s)
        self.changed.notify_all()
        await self._on_change()

    async def plan_scenario_file(self, path: Path, mode: PlanModeKind) -> Plan:
        """Plan a scenario file (``--scenario``) from the current period; make it current."""
        async with self._solving:
            with self._counting_failures():
                calendar, plan = await asyncio.to_thread(
                    planning.plan_file, path, mode=mode, now_s=time.time()
                )
        # The calendar under its own id (a file can be planned again); the plans row
        # points at that row, not at the plan's ``file:<name>``, which is stored nowhere.
        scenario_id = plan.scenario_id + ":" + plan.plan_id[:8]
        await self.store.run(
            self.store.store.add_scenario,
            scenario_id,
            self.codec.calendar_to_bytes(calendar),
            time.time(),
        )
        await self.adopt(plan, scenario_id)
        return plan

    async def get(self, plan_id: str) -> Plan:
        """A stored plan, or the current one for an empty id.

        Raises
        ------
        NotFoundError
            For an unknown id, or no plan at all.
        """
        if not plan_id:
            if self.current is None:
                raise NotFoundError("plan_id: no plan stored yet")
            return self.current
        body = await self.store.run(self.store.store.plan, plan_id)
        if body is None:
            raise NotFoundError(f"plan_id: no plan {plan_id[:64]!r}")
        return self.codec.plan_from_bytes(body)

    async def watch(self) -> AsyncIterator[Plan]:
        """The current plan (if any), then each new one, until the coordinator stops."""
        sent: str | None = None
        while not self._stopping.is_set():
            if self.current is not None and self.current.plan_id != sent:
                sent = self.current.plan_id
                yield self.current
            await self.changed.wait(1.0)
