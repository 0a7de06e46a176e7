"""Forecast folders, the calendar, and the rolling window driving warm re-plans."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser import BadGridDataError, plan, read_pypsa_folder
from optimiser.forecast import (
    Calendar,
    Forecast,
    ForecastSeries,
    SeriesKind,
    check_forecast,
    merge_tables,
    read_forecast_folder,
)
from optimiser.rolling import RollingPlanner, build_window

SITE_N = "name,bus,p_nom,value\nminer_n,N,200,10\n"
T0 = 1772323200  # 2026-03-01 00:00:00 UTC
STAMPED = {
    "snapshots": "name,weightings\n2026-03-01 00:00:00,1.0\n2026-03-01 01:00:00,1.0\n",
    "generators__p_max_pu": "snapshot,wind\n2026-03-01 00:00:00,1.0\n2026-03-01 01:00:00,0.4\n",
    "loads__p_set": "snapshot,load\n2026-03-01 00:00:00,250\n2026-03-01 01:00:00,250\n",
}


@pytest.fixture
def stamped(three_bus):
    return read_pypsa_folder(three_bus(mining=SITE_N, **STAMPED))


def write(folder, name, text):
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder


class TestCalendar:
    def test_real_times(self, stamped):
        """Snapshots at real times give an hourly calendar that runs past the scenario."""
        cal = Calendar.of(stamped)
        assert (cal.start_s, cal.period_s, cal.n_periods) == (T0, 3600, 2)
        assert cal.period_of(T0 + 3 * 3600 + 5) == 3 and cal.period_of(T0 - 1) == -1
        assert cal.on_grid(T0 + 7200) and not cal.on_grid(T0 + 60)

    def test_names_that_are_not_times(self, three_bus):
        """Snapshots named t0, t1 have no calendar, and the error says where."""
        with pytest.raises(BadGridDataError, match=r"snapshots.csv line 2.*'name'"):
            Calendar.of(read_pypsa_folder(three_bus()))


class TestForecastFolder:
    def test_reads_pypsa_named_csvs(self, stamped, tmp_path):
        """Each PyPSA-named CSV becomes series by component, timestamps in UTC seconds."""
        folder = write(
            tmp_path / "fc",
            "generators-p_max_pu.csv",
            "snapshot,wind\n2026-03-01 02:00:00,0.9\n2026-03-01T03:00:00Z,0.8\n",
        )
        write(folder, "loads-p_set.csv", "snapshot,load\n2026-03-01 02:00:00+01:00,240\n")
        fc = read_forecast_folder(folder, stamped)
        table = fc.table()
        assert table[SeriesKind.GENERATORS_P_MAX_PU]["wind"] == {T0 + 7200: 0.9, T0 + 10800: 0.8}
        assert table[SeriesKind.LOADS_P_SET]["load"] == {T0 + 3600: 240.0}
        assert fc.reach_s == T0 + 10800

    @pytest.mark.parametrize(
        ("name", "text", "row", "field", "match"),
        [
            (
                "generators-p_max_pu.csv",
                "snapshot,wind\n2026-03-01 02:00:00,nan\n",
                2,
                "wind",
                "finite",
            ),
            (
                "generators-p_max_pu.csv",
                "snapshot,wind\n2026-03-01 02:00:00,-0.1\n",
                2,
                "wind",
                "outside",
            ),
            (
                "generators-p_max_pu.csv",
                "snapshot,wind\n2026-03-01 02:00:00,1.5\n",
                2,
                "wind",
                "outside",
            ),
            (
                "generators-p_max_pu.csv",
                "snapshot,ghost\n2026-03-01 02:00:00,1\n",
                1,
                "ghost",
                "unknown",
            ),
            (
                "loads-p_set.csv",
                "snapshot,load\n2026-03-01 02:00:00,1\n2026-03-01 02:30:00,1\n",
                3,
                "snapshot",
                "grid",
            ),
            ("loads-p_set.csv", "snapshot,load\nsoon,1\n", 2, "snapshot", "timestamp"),
            (
                "mining_sites-value.csv",
                "snapshot,miner_n\n2026-03-01 02:00:00,x\n",
                2,
                "miner_n",
                "number",
            ),
        ],
    )
    def test_bad_forecasts_name_file_row_field(
        self, stamped, tmp_path, name, text, row, field, match
    ):
        """NaN, negative or >1 availability, unknown components, off-grid times: refused."""
        folder = write(tmp_path / "fc", name, text)
        with pytest.raises(BadGridDataError, match=match) as info:
            read_forecast_folder(folder, stamped)
        assert (info.value.file, info.value.row, info.value.field) == (name, row, field)

    def test_empty_folder(self, stamped, tmp_path):
        """A folder without any forecast file is refused."""
        (tmp_path / "none").mkdir()
        with pytest.raises(BadGridDataError, match="no forecast file"):
            read_forecast_folder(tmp_path / "none", stamped)

    def test_check_forecast_message(self, stamped):
        """A forecast from the wire is checked the same way, naming series and point."""
        cal = Calendar.of(stamped)
        bad = Forecast((ForecastSeries(SeriesKind.STORAGE_UNITS_INFLOW, "ghost", (T0,), (1.0,)),))
        with pytest.raises(BadGridDataError, match="unknown"):
            check_forecast(bad, stamped, cal)
        off = Forecast((ForecastSeries(SeriesKind.LOADS_P_SET, "load", (T0, T0 + 5), (1, 2)),))
        with pytest.raises(BadGridDataError, match="point 1") as info:
            check_forecast(off, stamped, cal)
        assert info.value.field == "load"


@pytest.mark.solver
class TestRolling:
    def test_window_merges_forecast_over_scenario(self, stamped):
        """Forecasts replace the scenario's values; past its end, persistence fills
        what no forecast names, and periods nobody spoke of are uncovered."""
        cal = Calendar.of(stamped)
        table = {SeriesKind.GENERATORS_P_MAX_PU: {"wind": {T0 + 3600: 0.7, T0 + 7200: 0.5}}}
        w = build_window(stamped, cal, table, T0 + 10, 4)
        assert w.times_s == (T0, T0 + 3600, T0 + 7200, T0 + 10800)
        assert w.covered.tolist() == [True, True, True, False]
        assert w.data.generators.p_max_pu[:, 0].tolist() == [1.0, 0.7, 0.5, 0.5]
        assert w.data.loads.p_set_mw[:, 0].tolist() == [250.0] * 4
        assert w.data.mining_sites.value_per_mwh[:, 0].tolist() == [10, 10, 10, 0]
        assert w.data.snapshots.names[2] == "2026-03-01 02:00:00"

    def test_rolls_past_the_last_snapshot_when_forecasts_arrive(self, stamped, check):
        """With no forecast the window past the scenario plans zero; pushed forecasts
        carry it on, warm, and each warm plan equals a cold plan of the same window."""
        rp = RollingPlanner(stamped, horizon_periods=2, mode="co-optimised")
        first = rp.replan(T0, {})
        assert not first.warm
        assert first.budgets_mw[:, 0].tolist() == pytest.approx([150.0, 0.0], abs=1e-6)
        dark = rp.replan(T0 + 2 * 3600, {})
        assert dark.warm and not dark.window.covered.any()
        assert dark.budgets_mw.tolist() == [[0.0], [0.0]]
        fc = Forecast(
            (
                ForecastSeries(
                    SeriesKind.GENERATORS_P_MAX_PU, "wind", (T0 + 7200, T0 + 10800), (1.0, 0.6)
                ),
            )
        )
        table = merge_tables({}, fc.table())
        lit = rp.replan(T0 + 2 * 3600 + 1, table)
        assert lit.warm and lit.window.covered.all()
        check(rp.planner.data, lit.result)
        # 300 MW of wind, 150 MW exported: 150 mined; at 180 MW, 30 mined
        assert lit.budgets_mw[:, 0].tolist() == pytest.approx([150.0, 30.0], abs=1e-6)
        cold = plan(lit.window.data, mode="co-optimised")
        assert lit.result.objective == pytest.approx(cold.objective, rel=1e-9)
        assert list(lit.result.mine_mw.index) == ["2026-03-01 02:00:00", "2026-03-01 03:00:00"]
        half = rp.replan(T0 + 3 * 3600, table)  # t3 forecast, t4 none
        assert half.window.covered.tolist() == [True, False]
        assert half.budgets_mw[1, 0] == 0.0

    def test_inflow_change_rebuilds(self, three_bus):
        """A changed storage inflow (no warm path for it) plans cold, and correctly."""
        data = read_pypsa_folder(
            three_bus(
                mining=SITE_N,
                storage_units="name,bus,p_nom,max_hours,carrier\nhydro,N,50,4,hydro\n",
                storage_units__inflow="snapshot,hydro\n2026-03-01 00:00:00,10\n"
                "2026-03-01 01:00:00,10\n",
                **STAMPED,
            )
        )
        rp = RollingPlanner(data, horizon_periods=2, mode="co-optimised")
        rp.replan(T0, {})
        again = rp.replan(T0, {SeriesKind.STORAGE_UNITS_INFLOW: {"hydro": {T0: 30.0}}})
        assert not again.warm
        assert again.result.objective == pytest.approx(
            plan(again.window.data, mode="co-optimised").objective, rel=1e-9
        )

    def test_bad_horizon(self, stamped):
        """A horizon below one period is refused."""
        with pytest.raises(ValueError, match="horizon"):
            build_window(stamped, Calendar.of(stamped), {}, T0, 0)
        assert np.isfinite(Calendar.of(stamped).start_s)
