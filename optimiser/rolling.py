"""The rolling horizon: plan the window [current period, + H) and roll it with the clock.

A scenario stamped with real times (see :class:`~optimiser.forecast.Calendar`)
gives the window its network and, where the window overlaps the scenario's own
snapshots, its time series. Forecasts replace those values per component and
timestamp, and carry the window past the scenario's last snapshot.

Per window period and component, the value is, first found:

1. the latest forecast for that timestamp;
2. the scenario's own value (a period inside the scenario);
3. the last value known before it (persistence, the naive forecast: a generator
   with no series keeps its static availability, a load its last level).

A period with neither scenario values nor any forecast at all is **uncovered**:
nobody has said what the grid will do then, so its mining budget is zero (the
window's ``covered`` mask; :meth:`RollingPlanner.replan` zeroes those periods) and
its mining value is 0 in the LP, which leaves the other periods' plan to decide
without counting on it (the persisted values keep the LP feasible).

Re-plans are warm (:meth:`optimiser.Planner.update`: one live Pyomo model and two
live HiGHS instances) as long as the window's shape stays: the same number of
periods with the same weightings, and the same storage inflow (``Planner.update``
has no inflow argument; a changed inflow rebuilds the planner, cold). When the
window has moved ``k`` periods since the last plan, both kept bases are shifted
``k`` periods (:mod:`optimiser.basis_shift`): without it each hourly re-plan
started from the previous hour's dispatch in every slot and took a third of a
cold plan on SciGRID-DE.

The state of charge at the window's start is carried from the last plan: a storage
unit starts the window at the level the previous plan had it reach by then (the end
of the period before the new first one; the previous window's own start when the
window did not move, its end when the window jumped past it). The first plan
starts from the scenario's ``state_of_charge_initial``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from optimiser.data import Snapshots
from optimiser.forecast import Calendar, ForecastTable, SeriesKind, scenario_array
from optimiser.planner import Planner
from optimiser.result import PlanMode

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from optimiser.data import GridData
    from optimiser.model import ModelOptions
    from optimiser.result import PlanResult
    from optimiser.solve import SolveOptions

logger = logging.getLogger(__name__)

__all__ = ["RollingPlan", "RollingPlanner", "Window", "build_window"]


@dataclass(frozen=True)
class Window:
    """A planning window: its first period (calendar index), period starts, the mask of
    periods anyone said anything about, and the scenario cut to it."""

    first_period: int
    times_s: tuple[int, ...]
    covered: NDArray[np.bool_]
    data: GridData


def _series(
    data: GridData,
    cal: Calendar,
    table: ForecastTable,
    kind: SeriesKind,
    periods: NDArray[np.int64],
) -> NDArray[np.float64]:
    base = np.asarray(scenario_array(data, kind), dtype=float)
    names = {
        SeriesKind.GENERATORS_P_MAX_PU: data.generators.names,
        SeriesKind.LOADS_P_SET: data.loads.names,
        SeriesKind.STORAGE_UNITS_INFLOW: data.storage_units.names,
        SeriesKind.MINING_SITES_VALUE: data.mining_sites.names,
    }[kind]
    n_t, n = len(periods), base.shape[1]
    out = np.full((n_t, n), np.nan)
    inside = (periods >= 0) & (periods < cal.n_periods)
    out[inside] = base[periods[inside]]
    first_t = cal.time_of(int(periods[0]))
    # the value just before the window: the scenario's row there (its last row past its
    # end, its first before its start) unless a forecast is as late or later
    before = int(periods[0]) - 1
    scen_row = int(np.clip(before, 0, cal.n_periods - 1))
    scen_t = cal.time_of(scen_row) if before >= 0 else None
    carry = np.array(base[scen_row], dtype=float) if n else np.zeros(0)
    fc = table.get(kind, {})
    col = {c: j for j, c in enumerate(names)}
    pos = {cal.time_of(int(p)): k for k, p in enumerate(periods)}
    for comp, vals in fc.items():
        j = col.get(comp)
        if j is None:
            continue  # checked on arrival; a component since removed is ignored
        earlier = [t for t in vals if t < first_t]
        if earlier and (scen_t is None or max(earlier) >= scen_t):
            carry[j] = vals[max(earlier)]
        for t, v in vals.items():
            k = pos.get(t)
            if k is not None:
                out[k, j] = v
    # persistence for whatever is still unknown
    for k in range(n_t):
        row = out[k]
        missing = np.isnan(row)
        row[missing] = carry[missing]
        carry = row
    return out


def build_window(
    data: GridData,
    calendar: Calendar,
    table: ForecastTable,
    now_s: float,
    horizon_periods: int,
) -> Window:
    """The window [period holding ``now_s``, + ``horizon_periods``) with forecasts merged.

    Raises
    ------
    ValueError
        ``horizon_periods`` < 1.
    """
    if horizon_periods < 1:
        raise ValueError(f"horizon_periods must be >= 1, got {horizon_periods}")
    first = calendar.period_of(now_s)
    periods = np.arange(first, first + horizon_periods, dtype=np.int64)
    times = tuple(calendar.time_of(int(p)) for p in periods)
    forecast_times: set[int] = set()
    for cols in table.values():
        for vals in cols.values():
            forecast_times.update(vals)
    inside = (periods >= 0) & (periods < calendar.n_periods)
    covered = inside | np.array([t in forecast_times for t in times])
    arrays = {k: _series(data, calendar, table, k, periods) for k in SeriesKind}
    value = arrays[SeriesKind.MINING_SITES_VALUE]
    value[~covered] = 0.0
    # weightings: the scenario's own where inside, else its first (an even calendar)
    s = data.snapshots
    rows = np.clip(periods, 0, calendar.n_periods - 1)
    stamp = [f"{np.datetime64(t, 's')}".replace("T", " ") for t in times]
    snaps = Snapshots(
        names=tuple(stamp),
        weight_objective=np.array(s.weight_objective[rows]),
        weight_generators=np.array(s.weight_generators[rows]),
        weight_stores=np.array(s.weight_stores[rows]),
    )
    g, ld, su, ms = data.generators, data.loads, data.storage_units, data.mining_sites

    def cut(arr: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.array(arr[rows])  # static-in-time 2-D arrays follow the same rows

    w = replace(
        data,
        snapshots=snaps,
        generators=replace(
            g, p_max_pu=arrays[SeriesKind.GENERATORS_P_MAX_PU], p_min_pu=cut(g.p_min_pu)
        ),
        loads=replace(ld, p_set_mw=arrays[SeriesKind.LOADS_P_SET]),
        storage_units=replace(su, inflow_mw=arrays[SeriesKind.STORAGE_UNITS_INFLOW]),
        mining_sites=replace(ms, value_per_mwh=value),
    )
    return Window(int(first), times, covered, w)


@dataclass(frozen=True)
class RollingPlan:
    """One re-plan: the window, the plan, whether it was warm, and how long it took.

    ``budgets_mw`` is the plan's mining ``(T, sites)`` with uncovered periods zeroed:
    what the coordinator streams.
    """

    window: Window
    result: PlanResult
    warm: bool
    replan_s: float
    budgets_mw: NDArray[np.float64]


class RollingPlanner:
    """A planner kept warm across windows of one scenario.

    Parameters
    ----------
    data:
        The scenario (snapshots at real, evenly spaced times).
    horizon_periods:
        H: how many periods each window plans.
    mode, model_options, solve_options:
        As for :class:`optimiser.Planner`.
    shift_bases:
        Shift the kept bases by the periods the window moved (``False``: keep them as
        they are; the benchmark's baseline).

    Raises
    ------
    BadGridDataError
        The snapshots are not real, evenly spaced times.
    """

    def __init__(
        self,
        data: GridData,
        *,
        horizon_periods: int,
        mode: PlanMode | str = PlanMode.CURTAILMENT_ONLY,
        model_options: ModelOptions | None = None,
        solve_options: SolveOptions | None = None,
        shift_bases: bool = True,
    ) -> None:
        self.data = data
        self.shift_bases = shift_bases
        self.calendar = Calendar.of(data)
        self.horizon_periods = horizon_periods
        self.mode = PlanMode(mode)
        self.model_options = model_options
        self.solve_options = solve_options
        self.planner: Planner | None = None
        self._last: Window | None = None  # the last planned window
        self._last_soc_mwh: NDArray[np.float64] | None = None  # its plan's (T, units) SoC

    def soc_initial_mwh(self, first_period: int) -> NDArray[np.float64]:
        """Each storage unit's state of charge before ``first_period``: the last plan's
        level at that time (see the module's docstring), else the scenario's."""
        last, soc = self._last, self._last_soc_mwh
        su = self.data.storage_units
        if last is None or soc is None or not len(su):
            return np.array(su.state_of_charge_initial_mwh, dtype=float)
        k = first_period - last.first_period
        if k <= 0:
            return np.array(last.data.storage_units.state_of_charge_initial_mwh, dtype=float)
        # solver noise may leave a level a hair below 0
        level: NDArray[np.float64] = np.maximum(np.array(soc[min(k, len(soc)) - 1], dtype=float), 0)
        return level

    def _fits(self, w: Window) -> bool:
        p = self.planner
        if p is None:
            return False
        d, s = p.data, p.data.snapshots
        return (
            len(s) == len(w.data.snapshots)
            and np.array_equal(s.weight_objective, w.data.snapshots.weight_objective)
            and np.array_equal(s.weight_generators, w.data.snapshots.weight_generators)
            and np.array_equal(s.weight_stores, w.data.snapshots.weight_stores)
            and np.array_equal(d.storage_units.inflow_mw, w.data.storage_units.inflow_mw)
            and np.array_equal(d.generators.p_min_pu, w.data.generators.p_min_pu)
            and (
                not d.global_constraints  # a CO2 row holds E_init as a constant
                or np.array_equal(
                    d.storage_units.state_of_charge_initial_mwh,
                    w.data.storage_units.state_of_charge_initial_mwh,
                )
            )
        )

    def replan(self, now_s: float, table: ForecastTable) -> RollingPlan:
        """Plan the window holding ``now_s`` with the forecasts in ``table``.

        Raises
        ------
        InfeasiblePlanError
            No optimal plan for this window (the last plan stays the caller's to keep).
        """
        t0 = time.perf_counter()
        w = build_window(self.data, self.calendar, table, now_s, self.horizon_periods)
        su = w.data.storage_units
        soc0 = self.soc_initial_mwh(w.first_period)
        w = replace(
            w, data=replace(w.data, storage_units=replace(su, state_of_charge_initial_mwh=soc0))
        )
        warm = self._fits(w)
        if warm:
            p = self.planner
            assert p is not None
            last = self._last
            shift = w.first_period - last.first_period if last is not None else 0
            p.update(
                generators_p_max_pu=w.data.generators.p_max_pu,
                loads_p_set_mw=w.data.loads.p_set_mw,
                mining_value_per_mwh=w.data.mining_sites.value_per_mwh,
                storage_soc_initial_mwh=soc0,
                # a shift of a whole window or more leaves nothing of the old basis to keep
                shift_periods=shift if self.shift_bases and 0 < shift < len(w.times_s) else 0,
            )
            # same weightings (checked): only the snapshot labels move with the window
            p.data = replace(p.data, snapshots=w.data.snapshots)
        else:
            p = self.planner = Planner(
                w.data,
                mode=self.mode,
                model_options=self.model_options,
                solve_options=self.solve_options,
            )
        result = p.plan()
        self._last = w
        self._last_soc_mwh = np.array(
            result.plan.storage_units_state_of_charge.to_numpy(dtype=float)
        )
        mine = np.array(result.mine_mw.to_numpy(dtype=float))
        mine[~w.covered] = 0.0
        replan_s = time.perf_counter() - t0
        logger.info(
            "%s re-plan of %s + %d periods in %.2fs",
            "warm" if warm else "cold",
            w.data.snapshots.names[0],
            len(w.times_s),
            replan_s,
        )
        return RollingPlan(w, result, warm, replan_s, mine)
