"""``UpdateForecast`` messages <-> the forecast domain type (``optimiser.forecast``).

Pure conversion and checking at the gRPC edge (beside ``rpc/convert``, which holds the
other converters). On the wire loads and inflows are W, as every power in the
contract; in the domain they are MW, as in the scenario's PyPSA tables.
Every refusal names its field: ``series[2].values[5]``, ``series[0].component``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.protobuf import timestamp_pb2

from optimiser.forecast import Forecast, ForecastSeries, SeriesKind, point_problem
from service.errors import FieldViolation, InvalidRequestError
from spillway.v1 import planner_pb2

if TYPE_CHECKING:
    from optimiser.data import GridData
    from optimiser.forecast import Calendar

__all__ = [
    "KIND_FROM_WIRE",
    "KIND_TO_WIRE",
    "forecast_from_message",
    "forecast_to_message",
    "update_forecast_response",
]

KIND_FROM_WIRE: dict[int, SeriesKind] = {
    planner_pb2.FORECAST_SERIES_KIND_GENERATOR_AVAILABILITY: SeriesKind.GENERATORS_P_MAX_PU,
    planner_pb2.FORECAST_SERIES_KIND_LOAD_DEMAND: SeriesKind.LOADS_P_SET,
    planner_pb2.FORECAST_SERIES_KIND_STORAGE_INFLOW: SeriesKind.STORAGE_UNITS_INFLOW,
    planner_pb2.FORECAST_SERIES_KIND_MINING_VALUE: SeriesKind.MINING_SITES_VALUE,
}
KIND_TO_WIRE: dict[SeriesKind, int] = {v: k for k, v in KIND_FROM_WIRE.items()}

#: wire value x factor = domain value (W -> MW for powers)
_TO_DOMAIN: dict[SeriesKind, float] = {
    SeriesKind.GENERATORS_P_MAX_PU: 1.0,
    SeriesKind.LOADS_P_SET: 1e-6,
    SeriesKind.STORAGE_UNITS_INFLOW: 1e-6,
    SeriesKind.MINING_SITES_VALUE: 1.0,
}

#: a request may name this many violations before the rest are summarised
MAX_VIOLATIONS = 20


def _components(data: GridData, kind: SeriesKind) -> frozenset[str]:
    return frozenset(
        {
            SeriesKind.GENERATORS_P_MAX_PU: data.generators.names,
            SeriesKind.LOADS_P_SET: data.loads.names,
            SeriesKind.STORAGE_UNITS_INFLOW: data.storage_units.names,
            SeriesKind.MINING_SITES_VALUE: data.mining_sites.names,
        }[kind]
    )


def forecast_from_message(
    request: planner_pb2.UpdateForecastRequest, data: GridData, calendar: Calendar
) -> Forecast:
    """The request's forecast, checked against the scenario it is for.

    Raises
    ------
    InvalidRequestError
        No series; an unspecified kind; an unknown component; times and values of
        different lengths; a time not a whole second or off the period grid; a value
        not finite, an availability outside [0, 1], a negative inflow.
    """
    bad: list[FieldViolation] = []
    out: list[ForecastSeries] = []
    if not request.series:
        raise InvalidRequestError.one("series", "no forecast series")
    for i, s in enumerate(request.series):
        at = f"series[{i}]"
        kind = KIND_FROM_WIRE.get(s.kind)
        if kind is None:
            bad.append(FieldViolation(f"{at}.kind", "unspecified or unknown series kind"))
            continue
        if s.component not in _components(data, kind):
            bad.append(
                FieldViolation(
                    f"{at}.component", f"unknown {kind.value.split('-')[0]} {s.component!r}"
                )
            )
            continue
        if len(s.times) != len(s.values):
            bad.append(
                FieldViolation(f"{at}.values", f"{len(s.values)} values for {len(s.times)} times")
            )
            continue
        times: list[int] = []
        for j, t in enumerate(s.times):
            if t.nanos != 0:
                bad.append(FieldViolation(f"{at}.times[{j}]", "not a whole second"))
            elif not calendar.on_grid(t.seconds):
                bad.append(
                    FieldViolation(
                        f"{at}.times[{j}]",
                        f"off the scenario's period grid ({calendar.period_s} s from "
                        f"{calendar.start_s})",
                    )
                )
            times.append(t.seconds)
        scale = _TO_DOMAIN[kind]
        values = [v * scale for v in s.values]
        for j, v in enumerate(values):
            problem = point_problem(kind, v)
            if problem:
                bad.append(FieldViolation(f"{at}.values[{j}]", problem))
        out.append(ForecastSeries(kind, s.component, tuple(times), tuple(values)))
        if len(bad) >= MAX_VIOLATIONS:
            break
    if bad:
        raise InvalidRequestError(bad[:MAX_VIOLATIONS])
    return Forecast(tuple(out))


def forecast_to_message(
    forecast: Forecast, scenario_id: str = ""
) -> planner_pb2.UpdateForecastRequest:
    """A request carrying ``forecast`` (e.g. read from a folder by the CLI)."""
    return planner_pb2.UpdateForecastRequest(
        scenario_id=scenario_id,
        series=[
            planner_pb2.ForecastSeries(
                kind=KIND_TO_WIRE[s.kind],  # type: ignore[arg-type]  # an enum int
                component=s.component,
                times=[timestamp_pb2.Timestamp(seconds=t) for t in s.times_s],
                values=[v / _TO_DOMAIN[s.kind] for v in s.values],
            )
            for s in forecast.series
        ],
    )


def update_forecast_response(
    revision: int, points_accepted: int, reach_s: int | None
) -> planner_pb2.UpdateForecastResponse:
    """The answer to an accepted forecast."""
    r = planner_pb2.UpdateForecastResponse(revision=revision, points_accepted=points_accepted)
    if reach_s is not None:
        r.reach_time.seconds = reach_s
    return r
