"""UpdateForecast messages <-> forecasts: units, round trip, refusals naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from optimiser import read_pypsa_folder
from optimiser.forecast import Calendar, Forecast, ForecastSeries, SeriesKind
from service.errors import InvalidRequestError
from service.rpc.forecast_convert import (
    forecast_from_message,
    forecast_to_message,
    update_forecast_response,
)
from spillway.v1 import planner_pb2

SCIGRID = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "scigrid-de-2017"
T0 = 1293840000  # SciGRID-DE's first snapshot, 2011-01-01 00:00 UTC


@pytest.fixture(scope="module")
def scigrid():
    data = read_pypsa_folder(SCIGRID)
    return data, Calendar.of(data)


class TestForecastConvert:
    def test_round_trip_and_units(self, scigrid):
        """A forecast goes to the wire (loads in W) and back unchanged (loads in MW)."""
        data, cal = scigrid
        fc = Forecast(
            (
                ForecastSeries(
                    SeriesKind.GENERATORS_P_MAX_PU,
                    data.generators.names[0],
                    (T0 + 86400, T0 + 90000),
                    (0.5, 0.25),
                ),
                ForecastSeries(SeriesKind.LOADS_P_SET, data.loads.names[3], (T0,), (123.5,)),
                ForecastSeries(
                    SeriesKind.MINING_SITES_VALUE, data.mining_sites.names[0], (T0,), (-4.0,)
                ),
            )
        )
        msg = forecast_to_message(fc)
        assert msg.series[1].kind == planner_pb2.FORECAST_SERIES_KIND_LOAD_DEMAND
        assert msg.series[1].values[0] == pytest.approx(123.5e6)
        wire = planner_pb2.UpdateForecastRequest.FromString(msg.SerializeToString())
        back = forecast_from_message(wire, data, cal)
        assert back.series[0] == fc.series[0] and back.series[2] == fc.series[2]
        assert back.series[1].values[0] == pytest.approx(123.5)

    def test_refusals_name_each_field(self, scigrid):
        """Unknown kind and component, length mismatch, off-grid and fractional times,
        NaN and negative availability and inflow are each named."""
        data, cal = scigrid
        S = planner_pb2.ForecastSeries  # noqa: N806 - a short alias keeps the table readable
        gen, su = data.generators.names[0], data.storage_units.names[0]
        req = planner_pb2.UpdateForecastRequest(
            series=[
                S(kind=0, component=gen, times=[Timestamp(seconds=T0)], values=[1]),
                S(kind=1, component="ghost", times=[Timestamp(seconds=T0)], values=[1]),
                S(kind=1, component=gen, times=[Timestamp(seconds=T0)], values=[]),
                S(
                    kind=1,
                    component=gen,
                    times=[
                        Timestamp(seconds=T0 + 60),
                        Timestamp(seconds=T0, nanos=5),
                        Timestamp(seconds=T0 + 3600),
                    ],
                    values=[0.5, 0.5, float("nan")],
                ),
                S(kind=1, component=gen, times=[Timestamp(seconds=T0)], values=[1.2]),
                S(kind=3, component=su, times=[Timestamp(seconds=T0)], values=[-1]),
            ]
        )
        with pytest.raises(InvalidRequestError) as info:
            forecast_from_message(req, data, cal)
        fields = [v.field for v in info.value.violations]
        assert fields == [
            "series[0].kind",
            "series[1].component",
            "series[2].values",
            "series[3].times[0]",
            "series[3].times[1]",
            "series[3].values[2]",
            "series[4].values[0]",
            "series[5].values[0]",
        ]
        with pytest.raises(InvalidRequestError, match="no forecast series"):
            forecast_from_message(planner_pb2.UpdateForecastRequest(), data, cal)

    def test_response(self):
        """The answer carries revision, points and reach."""
        r = update_forecast_response(7, 48, T0 + 3600)
        assert (r.revision, r.points_accepted, r.reach_time.seconds) == (7, 48, T0 + 3600)
        assert not update_forecast_response(1, 0, None).HasField("reach_time")
