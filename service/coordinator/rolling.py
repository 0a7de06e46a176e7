"""The rolling horizon in the coordinator: re-plan warm with the clock and the forecasts.

A ``--scenario`` whose snapshots are real times (PyPSA's convention) is served
by one ``optimiser.rolling.RollingPlanner``, kept alive for the coordinator's
life so its HiGHS model stays warm. The loop re-plans the window [current
period, + H) at each period boundary and after each accepted forecast, always
through ``asyncio.to_thread`` and under the plans' solve lock (one solve at a
time, never on the event loop); an optimal plan is adopted (stored, current,
streamed), a failed one is counted and the last plan stays. Periods nobody
forecast get budget zero (``RollingPlan.budgets_mw``).

Forecasts are stored in ``forecasts.sqlite3`` (``ForecastStore``: committed
before ``accept`` returns), so a forecast accepted and then lost to a SIGKILL
before the next re-plan is read back by the restarted coordinator's first one.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import sys
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from service.coordinator import planning
from service.domain import Calendar as PlanCalendar
from service.domain import Plan, PlanModeKind, SitePlan, SiteSource
from service.signals.forecast_store import ForecastStore
from service.units import seconds_to_ns

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import numpy as np
    from numpy.typing import NDArray

    from optimiser import GridData
    from optimiser.forecast import Calendar, Forecast
    from optimiser.rolling import RollingPlan, RollingPlanner
    from service.coordinator.plans import Plans
    from service.metrics import RollingMetrics

__all__ = ["FORECAST_DB_FILE", "ForecastAccepted", "RollingLoop", "RollingView", "open_rolling"]

logger = logging.getLogger(__name__)

FORECAST_DB_FILE = "forecasts.sqlite3"

#: The interpreter's thread switch interval while a rolling loop runs. A re-plan's
#: Python parts (window, pandas frames, the plan's conversion) run in a thread and
#: hold the GIL for the default 5 ms at a time; every hand-off the event loop makes
#: in one status call (gRPC, the store's thread) then waits up to that long, and
#: GetStatus p99 during SciGRID-DE re-plans was 136-144 ms (47.9 ms at 0.5 ms;
#: bench/bench_latency.py, bench/RESULTS.md).
SWITCH_INTERVAL_S = 0.0005


@dataclass(frozen=True, slots=True)
class RollingView:
    """What ``spillway status`` shows of the rolling horizon (Unix seconds).

    ``window_*`` are the current plan's span (``None`` before the first plan).
    """

    window_start_s: float | None
    window_end_s: float | None
    reach_end_s: int
    horizon_s: int
    revision: int


@dataclass(frozen=True, slots=True)
class ForecastAccepted:
    """A stored forecast: its revision, how many points, and the stored forecasts' reach."""

    revision: int
    points: int
    reach_s: int | None


def _zero_uncovered(site: SitePlan, covered: NDArray[np.bool_]) -> SitePlan:
    """A site's plan with the periods nobody forecast set to zero (the safe budget)."""

    def cut(values: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(v if bool(c) else 0.0 for v, c in zip(values, covered, strict=True))

    return replace(
        site,
        budget_w=cut(site.budget_w),
        curtailed_w=cut(site.curtailed_w),
        sources=tuple(SiteSource(s.plant, cut(s.power_w)) for s in site.sources),
    )


def plan_of_window(
    rolled: RollingPlan, scenario_id: str, name: str, mode: PlanModeKind, create_s: float
) -> Plan:
    """The domain plan of one re-plan: its calendar is the window's."""
    w = rolled.window
    period_s = w.times_s[1] - w.times_s[0] if len(w.times_s) > 1 else 3600
    calendar = PlanCalendar(
        name=name,
        start_ns=seconds_to_ns(w.times_s[0]),
        period_ns=seconds_to_ns(period_s),
        period_count=len(w.times_s),
    )
    plan = planning.plan_from_result(
        uuid.uuid4().hex, scenario_id, calendar, mode, rolled.result, create_s
    )
    return replace(
        plan,
        sites=tuple(_zero_uncovered(s, w.covered) for s in plan.sites),
        summary=replace(plan.summary, solve_s=rolled.replan_s),
    )


class RollingLoop:
    """One scenario at real times, re-planned warm as the clock and forecasts move.

    Parameters
    ----------
    planner:
        The warm planner (its data and calendar are the scenario's).
    scenario_id:
        The stored scenario row the plans point at.
    name:
        The scenario's name (plans' calendar name).
    mode:
        Planning mode.
    plans:
        Where plans are adopted (and whose solve lock serialises solves).
    forecasts:
        The forecast store.
    metrics:
        Re-plan counts, forecast reach.
    clock:
        The scenario's "now" (Unix seconds; default the wall clock). The demo plays an
        accelerated day through it.
    wall_s:
        Wall seconds for a span of the clock's seconds (default: the same).
    adapt:
        Applied to each plan before it is adopted (the demo scales it to CPU watts
        and its own clock); default none.
    """

    def __init__(
        self,
        planner: RollingPlanner,
        scenario_id: str,
        name: str,
        mode: PlanModeKind,
        plans: Plans,
        forecasts: ForecastStore,
        metrics: RollingMetrics,
        *,
        clock: Callable[[], float] = time.time,
        wall_s: Callable[[float], float] = float,
        adapt: Callable[[Plan], Plan] | None = None,
    ) -> None:
        self.clock = clock
        self.wall_s = wall_s
        self.adapt = adapt
        self.planner = planner
        self.scenario_id = scenario_id
        self.name = name
        self.mode = mode
        self.plans = plans
        self.forecasts = forecasts
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._frozen = False
        self._reach_s: int | None = forecasts.reach_s()
        self._revision = forecasts.revision()
        cal = self.calendar
        metrics.plan_horizon_seconds.set(planner.horizon_periods * cal.period_s)
        metrics.forecast_horizon_seconds.set_function(self.forecast_horizon_s)

    @property
    def data(self) -> GridData:
        """The scenario."""
        return self.planner.data

    @property
    def calendar(self) -> Calendar:
        """The scenario's calendar (runs on past its last snapshot)."""
        return self.planner.calendar

    @property
    def horizon_s(self) -> int:
        """The window's length."""
        return self.planner.horizon_periods * self.calendar.period_s

    def reach_end_s(self) -> int:
        """The end of the last period the scenario or any stored forecast covers."""
        cal = self.calendar
        end_s = cal.time_of(cal.n_periods)
        if self._reach_s is not None:
            end_s = max(end_s, self._reach_s + cal.period_s)
        return end_s

    def forecast_horizon_s(self) -> float:
        """How far ahead of now the scenario and forecasts reach (read at scrape time)."""
        return max(0.0, self.reach_end_s() - self.clock())

    def view(self) -> RollingView:
        """The window of the current plan, the forecasts' reach and revision."""
        plan = self.plans.current
        start_s, end_s = plan.span_s if plan is not None else (None, None)
        return RollingView(start_s, end_s, self.reach_end_s(), self.horizon_s, self._revision)

    async def accept(self, forecast: Forecast) -> ForecastAccepted:
        """Store a checked forecast (committed before this returns) and ask for a re-plan."""
        revision = await asyncio.to_thread(self.forecasts.put, forecast, time.time())
        reach = forecast.reach_s
        if reach is not None and (self._reach_s is None or reach > self._reach_s):
            self._reach_s = reach
        self._revision = max(self._revision, revision)
        points = sum(len(s.times_s) for s in forecast.series)
        logger.info("forecast revision %d stored: %d points", revision, points)
        self._wake.set()
        return ForecastAccepted(revision, points, self._reach_s)

    def _freeze_model(self) -> None:
        """Leave the live model out of the cyclic garbage collector's full passes.

        The kept Pyomo model is millions of objects; each full collection walked them
        all holding the GIL (100-200 ms on SciGRID-DE, status calls waiting on the event
        loop). Frozen after each cold build; a rebuilt planner's old model is collected
        first (once per rebuild).
        """
        if self._frozen:
            gc.unfreeze()
            gc.collect()
        gc.freeze()
        self._frozen = True

    def _replan_sync(self, now_s: float) -> tuple[RollingPlan, Plan]:
        """Read the forecasts, re-plan, and make the domain plan (in a worker thread:
        the conversion alone takes 0.1-0.2 s on SciGRID-DE, too long for the event loop)."""
        cal = self.calendar
        # Points more than a period before the window are never read again (persistence
        # looks one period back at most).
        self.forecasts.prune(cal.time_of(cal.period_of(now_s) - 1))
        rolled = self.planner.replan(now_s, self.forecasts.table())
        if not rolled.warm:
            self._freeze_model()
        plan = plan_of_window(rolled, self.scenario_id, self.name, self.mode, time.time())
        return rolled, plan

    async def replan(self, now_s: float | None = None) -> Plan | None:
        """Re-plan the window holding ``now_s`` (default: now); the plan adopted, if any."""
        now_s = self.clock() if now_s is None else now_s
        async with self.plans.solving:
            try:
                rolled, plan = await asyncio.to_thread(self._replan_sync, now_s)
            except Exception:
                self.metrics.replans.labels("failed").inc()
                logger.exception("re-plan at %.0f failed; the last plan stays", now_s)
                return None
        if self.adapt is not None:
            plan = self.adapt(plan)
        await self.plans.adopt(plan, self.scenario_id, warm=rolled.warm)
        self.metrics.replans.labels("adopted").inc()
        return plan

    async def run(self) -> None:
        """Re-plan now, then at each period boundary and after each forecast, until cancelled."""
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        try:
            while True:
                self._wake.clear()  # a forecast stored during the re-plan wakes the next one
                await self.replan()
                cal = self.calendar
                now_s = self.clock()
                next_s = cal.time_of(cal.period_of(now_s) + 1)
                wait_s = max(0.0, self.wall_s(next_s - now_s))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait_s)
        finally:
            await asyncio.to_thread(self.forecasts.close)


async def open_rolling(
    path: Path,
    *,
    horizon_hours: float,
    mode: PlanModeKind,
    plans: Plans,
    forecast_db: Path,
    metrics: RollingMetrics,
) -> RollingLoop | None:
    """A rolling loop for ``path`` when its snapshots are real, evenly spaced times.

    ``None`` for a scenario without a calendar (names like ``t0``, or a MATPOWER
    case): it is planned once from the current period, as before.

    Raises
    ------
    optimiser.BadGridDataError
        When the scenario itself is refused.
    """
    # Imported here: Pyomo and pandas take seconds to load.
    import optimiser
    from optimiser.forecast import Calendar as ScenarioCalendar
    from optimiser.rolling import RollingPlanner

    data = await asyncio.to_thread(optimiser.read_scenario, path)
    try:
        cal = ScenarioCalendar.of(data)
    except optimiser.BadGridDataError as exc:
        logger.info("scenario %s has no calendar (%s): planned once", path, exc)
        return None
    horizon_periods = max(1, math.ceil(horizon_hours * 3600.0 / cal.period_s))
    planner = RollingPlanner(data, horizon_periods=horizon_periods, mode=str(mode))
    forecasts = await asyncio.to_thread(ForecastStore, forecast_db)
    scenario_id = f"rolling:{path.name}:{uuid.uuid4().hex[:8]}"[:64]
    calendar = PlanCalendar(
        name=path.name,
        start_ns=seconds_to_ns(cal.start_s),
        period_ns=seconds_to_ns(cal.period_s),
        period_count=cal.n_periods,
    )
    await plans.store.run(
        plans.store.store.add_scenario,
        scenario_id,
        plans.codec.calendar_to_bytes(calendar),
        time.time(),
    )
    logger.info(
        "scenario %s rolls: %d periods of %d s from %d, window %d periods",
        path,
        cal.n_periods,
        cal.period_s,
        cal.start_s,
        horizon_periods,
    )
    return RollingLoop(planner, scenario_id, path.name, mode, plans, forecasts, metrics)
