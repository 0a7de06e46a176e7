"""The demo's rolling horizon: hourly forecasts pushed over gRPC, the plan re-made warm.

The demo day (24 hourly snapshots at real times, 2016-07-01) plays on an
accelerated clock: scenario period ``p`` starts ``p * period_s`` wall seconds
after the demo started (:class:`DemoClock`). The coordinator's own rolling loop
(:class:`service.coordinator.rolling.RollingLoop`) plans the window
[current period, + 24 h) on that clock, re-planning warm at each period boundary
and after each forecast.

Each demo hour a forecaster pushes a fresh forecast for the next 24 h through the
real ``UpdateForecast`` call (a gRPC client on loopback): the embedded day's wind
and solar availability (the day repeated past its end) times a forecast error whose
spread shrinks as the hour approaches (sd = 2 % + 10 % x lead / 24 h, seeded,
clipped to [0, 1]), and the day's loads. Every adopted plan passes through
:meth:`DemoRoll.adapt`, which keeps its MW figures for the screen and hands the
coordinator the plan on the demo clock, budgets scaled to CPU watts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import grpc
import numpy as np

from service.domain import Plan, SiteSource
from service.units import S_PER_H, W_PER_MW

if TYPE_CHECKING:
    from optimiser import GridData
    from optimiser.forecast import Calendar, Forecast
    from service.demo.settings import DemoSettings

__all__ = ["FORECAST_SEED", "DemoClock", "DemoRoll", "day_forecast", "push_forecasts"]

logger = logging.getLogger(__name__)

FORECAST_SEED = 14
HORIZON_PERIODS = 24


@dataclass(frozen=True, slots=True)
class DemoClock:
    """Scenario time on the demo's accelerated clock."""

    scenario_start_s: float  # scenario time of period 0
    scenario_period_s: float  # the scenario's period (3600 s)
    wall_start_s: float  # when period 0 began on the wall clock
    period_s: float  # wall seconds per period

    def now_s(self) -> float:
        """The scenario's now."""
        elapsed = (time.time() - self.wall_start_s) / self.period_s
        return self.scenario_start_s + elapsed * self.scenario_period_s

    def wall_span_s(self, scenario_s: float) -> float:
        """Wall seconds for a span of scenario seconds."""
        return scenario_s / self.scenario_period_s * self.period_s

    def wall_of(self, scenario_s: float) -> float:
        """The wall time of a scenario time."""
        return self.wall_start_s + self.wall_span_s(scenario_s - self.scenario_start_s)

    def period_now(self) -> float:
        """Scenario periods since the start (fractional)."""
        return (time.time() - self.wall_start_s) / self.period_s


@dataclass
class DemoRoll:
    """The rolling plan as the demo shows it (MW, scenario periods)."""

    clock: DemoClock
    demo: DemoSettings
    capacity_mw: dict[str, float]
    # The current plan: its first period (scenario index), budgets and curtailment in MW.
    first_period: int | None = None
    budget_mw: dict[str, list[float]] = field(default_factory=dict)
    curtailed_mw: dict[str, list[float]] = field(default_factory=dict)
    replans: int = 0
    replan_s: float = 0.0
    replanned_wall_s: float = 0.0
    forecasts: int = 0

    def adapt(self, plan: Plan) -> Plan:
        """Keep the plan's MW for the screen; the plan on the demo clock, in CPU watts."""
        self.first_period = round(
            (plan.start_ns / 1e9 - self.clock.scenario_start_s) / self.clock.scenario_period_s
        )
        self.budget_mw = {s.site: [w / W_PER_MW for w in s.budget_w] for s in plan.sites}
        self.curtailed_mw = {s.site: [w / W_PER_MW for w in s.curtailed_w] for s in plan.sites}
        self.replans += 1
        self.replan_s = plan.summary.solve_s
        self.replanned_wall_s = time.time()
        start_s = self.clock.wall_of(plan.start_ns / 1e9)
        return scale_plan(plan, self.capacity_mw, start_s, self.demo)

    def absorbed_mwh(self, wall_s: float) -> float:
        """Curtailment the current plan absorbs over the last ``wall_s`` wall seconds (MWh,
        at the current period's rate: part periods in proportion)."""
        hours = wall_s / self.clock.period_s * self.clock.scenario_period_s / S_PER_H
        return sum(self.mw_now(self.curtailed_mw, site) for site in self.curtailed_mw) * hours

    def mw_now(self, series: dict[str, list[float]], site: str) -> float:
        """A site's figure in the current plan at the current period (0 outside it)."""
        values = series.get(site, [])
        if self.first_period is None:
            return 0.0
        k = int(self.clock.period_now()) - self.first_period
        return values[k] if 0 <= k < len(values) else 0.0


def scale_plan(
    plan: Plan, capacity_mw: dict[str, float], start_s: float, demo: DemoSettings
) -> Plan:
    """A plan's budgets scaled to CPU watts (site capacity -> ``demo.cpu_w``), on the demo
    clock from ``start_s`` (one period every ``demo.period_s``)."""
    sites = []
    for site in plan.sites:
        scale = demo.cpu_w / (capacity_mw.get(site.site, 0.0) * W_PER_MW or 1.0)
        sites.append(
            dataclasses.replace(
                site,
                budget_w=tuple(w * scale for w in site.budget_w),
                curtailed_w=tuple(w * scale for w in site.curtailed_w),
                # Scaled too, so that they still add up to curtailed_w.
                sources=tuple(
                    SiteSource(src.plant, tuple(w * scale for w in src.power_w))
                    for src in site.sources
                ),
            )
        )
    return dataclasses.replace(
        plan, start_ns=int(start_s * 1e9), period_ns=int(demo.period_s * 1e9), sites=tuple(sites)
    )


def day_forecast(
    data: GridData, cal: Calendar, first_period: int, rng: np.random.Generator
) -> Forecast:
    """The next 24 h from ``first_period``: the day's availability with a forecast error
    that shrinks as the hour approaches, and the day's loads (the day repeated)."""
    from optimiser.forecast import Forecast, ForecastSeries, SeriesKind

    g, ld = data.generators, data.loads
    times = tuple(cal.time_of(first_period + k) for k in range(HORIZON_PERIODS))
    rows = [(first_period + k) % cal.n_periods for k in range(HORIZON_PERIODS)]
    sd = 0.02 + 0.10 * np.arange(HORIZON_PERIODS, dtype=float) / 24.0
    series = []
    for gi in np.flatnonzero(g.renewable).tolist():
        base = g.p_max_pu[rows, gi]
        values = np.clip(base * (1.0 + rng.normal(0.0, sd)), 0.0, 1.0)
        series.append(
            ForecastSeries(
                SeriesKind.GENERATORS_P_MAX_PU, g.names[gi], times, tuple(values.tolist())
            )
        )
    for j, name in enumerate(ld.names):
        loads = tuple(float(v) for v in ld.p_set_mw[rows, j])
        series.append(ForecastSeries(SeriesKind.LOADS_P_SET, name, times, loads))
    return Forecast(tuple(series))


async def push_forecasts(
    address: str, data: GridData, cal: Calendar, roll: DemoRoll, *, seed: int = FORECAST_SEED
) -> None:
    """Each demo hour, push the next 24 h's forecast with ``UpdateForecast`` (until cancelled)."""
    from service.rpc.planner_client import update_forecast

    rng = np.random.default_rng(seed)
    async with grpc.aio.insecure_channel(address) as channel:
        while True:
            period = int(roll.clock.period_now())
            forecast = day_forecast(data, cal, period, rng)
            try:
                await update_forecast(channel, forecast)
                roll.forecasts += 1
            except grpc.aio.AioRpcError as exc:  # said, not fatal: the plan keeps rolling
                logger.warning("demo forecast refused: %s", exc.details())
            next_wall_s = roll.clock.wall_start_s + (period + 1) * roll.clock.period_s
            await asyncio.sleep(max(0.0, next_wall_s - time.time()))
