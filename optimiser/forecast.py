"""Forecasts in a scenario's own terms, and the scenario's calendar.

A forecast is time series by component kind and name, as PyPSA names them:
``generators-p_max_pu`` (availability, per unit of ``p_nom``), ``loads-p_set`` (MW),
``storage_units-inflow`` (MW) and ``mining_sites-value`` (currency per MWh). A
forecast folder holds those CSVs, each indexed by timestamp (first column), one
column per component; any subset of files and columns.

The calendar: a scenario whose ``snapshots.csv`` names real times (PyPSA's own
convention) has periods of one fixed length starting at its first snapshot, and
the calendar runs on past its last one (where forecasts alone can fill it).
Times are whole seconds since the epoch, UTC; a timestamp without an offset is UTC.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimiser.errors import BadGridDataError

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from numpy.typing import NDArray

    from optimiser.data import GridData

__all__ = [
    "Calendar",
    "Forecast",
    "ForecastSeries",
    "ForecastTable",
    "SeriesKind",
    "check_forecast",
    "merge_tables",
    "parse_timestamp_s",
    "point_problem",
    "read_forecast_folder",
    "scenario_array",
]


class SeriesKind(enum.StrEnum):
    """A forecastable time series, named as its PyPSA file (without ``.csv``)."""

    GENERATORS_P_MAX_PU = "generators-p_max_pu"
    LOADS_P_SET = "loads-p_set"
    STORAGE_UNITS_INFLOW = "storage_units-inflow"
    MINING_SITES_VALUE = "mining_sites-value"


#: ``kind -> component -> time_s -> value``: forecasts merged, later over earlier.
ForecastTable = dict[SeriesKind, dict[str, dict[int, float]]]


@dataclass(frozen=True, slots=True)
class ForecastSeries:
    """One component's forecast: ``values[i]`` holds for the period starting ``times_s[i]``."""

    kind: SeriesKind
    component: str
    times_s: tuple[int, ...]
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.times_s) != len(self.values):
            raise BadGridDataError(
                self.kind.value,
                None,
                self.component,
                f"{len(self.times_s)} timestamps but {len(self.values)} values",
            )


@dataclass(frozen=True, slots=True)
class Forecast:
    """A forecast update: any number of series, for any timestamps."""

    series: tuple[ForecastSeries, ...]

    def table(self) -> ForecastTable:
        """The update as a table (within one update, a later duplicate wins)."""
        out: ForecastTable = {}
        for s in self.series:
            col = out.setdefault(s.kind, {}).setdefault(s.component, {})
            col.update(zip(s.times_s, s.values, strict=True))
        return out

    @property
    def reach_s(self) -> int | None:
        """The last timestamp any series reaches (``None``: empty)."""
        ends = [max(s.times_s) for s in self.series if s.times_s]
        return max(ends) if ends else None


def merge_tables(*tables: ForecastTable) -> ForecastTable:
    """Tables merged in order: a later value replaces an earlier one for its time."""
    out: ForecastTable = {}
    for t in tables:
        for kind, cols in t.items():
            dst = out.setdefault(kind, {})
            for comp, vals in cols.items():
                dst.setdefault(comp, {}).update(vals)
    return out


def parse_timestamp_s(text: str) -> int:
    """Whole seconds since the epoch of a timestamp (UTC when it has no offset).

    Raises
    ------
    ValueError
        Not a timestamp, or not a whole second.
    """
    t = pd.Timestamp(str(text).strip())  # ValueError on garbage
    if pd.isna(t):
        raise ValueError(f"{text!r} is not a timestamp")
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    ns = int(t.value)
    if ns % 1_000_000_000:
        raise ValueError(f"{text!r} is not a whole second")
    return ns // 1_000_000_000


@dataclass(frozen=True, slots=True)
class Calendar:
    """Periods of ``period_s`` from ``start_s``; the scenario covers the first ``n_periods``."""

    start_s: int
    period_s: int
    n_periods: int

    @classmethod
    def of(cls, data: GridData) -> Calendar:
        """The calendar of a scenario whose snapshots are real times, evenly spaced.

        A single snapshot's period is its weighting (hours).

        Raises
        ------
        BadGridDataError
            A snapshot name is not a timestamp, or the spacing is not even.
        """
        times = []
        for i, name in enumerate(data.snapshots.names):
            try:
                times.append(parse_timestamp_s(name))
            except ValueError as exc:
                raise BadGridDataError(
                    "snapshots.csv", i + 2, "name", f"not a timestamp: {exc}"
                ) from exc
        if len(times) == 1:
            period_s = round(float(data.snapshots.weight_generators[0]) * 3600.0)
        else:
            period_s = times[1] - times[0]
        if period_s <= 0:
            raise BadGridDataError("snapshots.csv", 3, "name", "snapshots must increase")
        for i in range(1, len(times)):
            if times[i] - times[i - 1] != period_s:
                raise BadGridDataError(
                    "snapshots.csv",
                    i + 2,
                    "name",
                    f"uneven spacing: {times[i] - times[i - 1]} s after the previous "
                    f"snapshot, the first step is {period_s} s",
                )
        return cls(times[0], period_s, len(times))

    def period_of(self, t_s: float) -> int:
        """The index of the period holding ``t_s`` (negative before the start; may be
        past the scenario's last snapshot)."""
        return math.floor((t_s - self.start_s) / self.period_s)

    def time_of(self, period: int) -> int:
        """The start of period ``period``."""
        return self.start_s + period * self.period_s

    def on_grid(self, t_s: int) -> bool:
        """Whether ``t_s`` is a period start."""
        return (t_s - self.start_s) % self.period_s == 0


def _components(data: GridData, kind: SeriesKind) -> Sequence[str]:
    return {
        SeriesKind.GENERATORS_P_MAX_PU: data.generators.names,
        SeriesKind.LOADS_P_SET: data.loads.names,
        SeriesKind.STORAGE_UNITS_INFLOW: data.storage_units.names,
        SeriesKind.MINING_SITES_VALUE: data.mining_sites.names,
    }[kind]


def point_problem(kind: SeriesKind, v: float) -> str | None:
    """What is wrong with one forecast value of ``kind`` (``None``: nothing)."""
    if not math.isfinite(v):
        return f"{v!r} is not a finite number"
    if kind == SeriesKind.GENERATORS_P_MAX_PU and not 0.0 <= v <= 1.0:
        return f"availability {v!r} is outside [0, 1]"
    if kind == SeriesKind.STORAGE_UNITS_INFLOW and v < 0.0:
        return f"inflow {v!r} is negative"
    return None


def check_forecast(forecast: Forecast, data: GridData, calendar: Calendar) -> None:
    """Check a forecast against its scenario.

    Errors name ``file`` (the series kind, as its CSV file) and ``field`` (the
    component); the message says which point (its index in the series and its time).

    Raises
    ------
    BadGridDataError
        An unknown component, a non-finite value, availability outside [0, 1], a
        negative inflow, or a timestamp off the scenario's period grid.
    """
    known = {k: set(_components(data, k)) for k in SeriesKind}
    for s in forecast.series:
        file = f"{s.kind.value}.csv"
        if s.component not in known[s.kind]:
            raise BadGridDataError(file, None, s.component, f"unknown {s.kind.value.split('-')[0]}")
        for i, (t, v) in enumerate(zip(s.times_s, s.values, strict=True)):
            at = f"point {i} ({pd.Timestamp(t, unit='s', tz='UTC').isoformat()})"
            if not calendar.on_grid(t):
                raise BadGridDataError(
                    file, None, s.component, f"{at}: off the scenario's {calendar.period_s} s grid"
                )
            problem = point_problem(s.kind, v)
            if problem:
                raise BadGridDataError(file, None, s.component, f"{at}: {problem}")


def read_forecast_folder(
    folder: str | Path, data: GridData, calendar: Calendar | None = None
) -> Forecast:
    """Read and check a forecast folder (any of the four PyPSA-named CSVs).

    Errors name the file, the CSV row (header = 1) and the column.

    Raises
    ------
    BadGridDataError
        No forecast file, an unreadable file, a bad timestamp, a bad value, an
        unknown component or a timestamp off the scenario's period grid.
    """
    root = Path(folder)
    cal = calendar or Calendar.of(data)
    series: list[ForecastSeries] = []
    found = False
    for kind in SeriesKind:
        path = root / f"{kind.value}.csv"
        if not path.is_file():
            continue
        found = True
        series.extend(_read_file(path, kind, data, cal))
    if not found:
        names = ", ".join(f"{k.value}.csv" for k in SeriesKind)
        raise BadGridDataError(str(root.name), None, None, f"no forecast file (want {names})")
    return Forecast(tuple(series))


def _read_file(
    path: Path, kind: SeriesKind, data: GridData, cal: Calendar
) -> Iterable[ForecastSeries]:
    file = path.name
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise BadGridDataError(file, None, None, f"cannot read: {exc}") from exc
    if frame.shape[1] < 1:
        raise BadGridDataError(file, 1, None, "no timestamp column")
    known = set(_components(data, kind))
    index_col = frame.columns[0]
    times: list[int] = []
    for r, text in enumerate(frame[index_col], start=2):
        try:
            t = parse_timestamp_s(text)
        except ValueError as exc:
            raise BadGridDataError(file, r, str(index_col), f"not a timestamp: {exc}") from exc
        if not cal.on_grid(t):
            raise BadGridDataError(
                file, r, str(index_col), f"{text!r} is off the scenario's {cal.period_s} s grid"
            )
        times.append(t)
    out = []
    for col in frame.columns[1:]:
        name = str(col).strip()
        if name not in known:
            raise BadGridDataError(file, 1, name, f"unknown {kind.value.split('-')[0]}")
        vals: list[float] = []
        for r, text in enumerate(frame[col], start=2):
            try:
                v = float(text)
            except ValueError:
                raise BadGridDataError(file, r, name, f"not a number: {text!r}") from None
            problem = point_problem(kind, v)
            if problem:
                raise BadGridDataError(file, r, name, problem)
            vals.append(v)
        out.append(ForecastSeries(kind, name, tuple(times), tuple(vals)))
    return out


def scenario_array(data: GridData, kind: SeriesKind) -> NDArray[np.float64]:
    """The scenario's own ``(T, n)`` array for a series kind."""
    return {
        SeriesKind.GENERATORS_P_MAX_PU: data.generators.p_max_pu,
        SeriesKind.LOADS_P_SET: data.loads.p_set_mw,
        SeriesKind.STORAGE_UNITS_INFLOW: data.storage_units.inflow_mw,
        SeriesKind.MINING_SITES_VALUE: data.mining_sites.value_per_mwh,
    }[kind]
