"""Reading PyPSA CSV folders: layouts, defaults, per-unit conventions."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser import read_pypsa_folder, read_scenario, value_per_mwh_from_hashprice
from optimiser.pypsa_io import STANDARD_LINE_TYPES


class TestSciGrid:
    def test_component_counts(self, scigrid):
        """SciGRID-DE has 585 buses, 852 lines + 96 transformers, 1423 generators, 24 h."""
        assert len(scigrid.buses) == 585
        assert scigrid.branches.kind.count("line") == 852
        assert scigrid.branches.kind.count("transformer") == 96
        assert len(scigrid.generators) == 1423
        assert len(scigrid.loads) == 489
        assert len(scigrid.storage_units) == 38
        assert scigrid.n_snapshots == 24
        assert scigrid.mining_sites.names == ("brunsbuettel", "emden", "jardelund", "gruenkraut")

    def test_line_reactance_from_type(self, scigrid):
        """Line 1 (2-bundle 220 kV, 43.379 km) has x = 0.301 * 43.379 ohm, b = 220² / x."""
        i = scigrid.branches.keys.index("line:1")
        x_ohm = STANDARD_LINE_TYPES["Al/St 240/40 2-bundle 220.0"] * 43.379
        assert x_ohm == pytest.approx(13.057079, rel=1e-6)  # PyPSA's own lines.x
        assert scigrid.branches.b_mw_per_rad[i] == pytest.approx(220.0**2 / x_ohm)

    def test_num_parallel_divides_reactance(self, scigrid):
        """Line 2 (4-bundle 380 kV, 72.686 km, 2 circuits): x = 0.246 * 72.686 / 2."""
        i = scigrid.branches.keys.index("line:2")
        assert scigrid.branches.b_mw_per_rad[i] == pytest.approx(380.0**2 / (0.246 * 72.686 / 2))

    def test_bus_coordinates_kept_for_the_map(self, scigrid):
        """Buses keep SciGRID's x, y (longitude, latitude: bus 1, Hannover/West, at
        9.5226 E 52.3604 N), every bus has them; a folder without them has none."""
        assert scigrid.buses.x is not None and scigrid.buses.y is not None
        i = scigrid.buses.names.index("1")
        assert (scigrid.buses.x[i], scigrid.buses.y[i]) == pytest.approx((9.52257597, 52.36040906))
        assert np.isfinite(scigrid.buses.x).all() and np.isfinite(scigrid.buses.y).all()
        assert scigrid.buses.x.min() > 5.0 and scigrid.buses.x.max() < 16.0  # Germany

    def test_transformer_reactance_per_unit_of_s_nom(self, scigrid):
        """Transformer 2: x = 0.1 per unit of 2000 MVA, so b = 2000 / 0.1 MW/rad."""
        i = scigrid.branches.keys.index("transformer:2")
        assert scigrid.branches.b_mw_per_rad[i] == pytest.approx(20000.0)

    def test_one_slack_per_island(self, scigrid):
        """The network is one island with one angle reference."""
        assert int(scigrid.buses.slack.sum()) == 1

    def test_older_weightings_column(self, scigrid):
        """The older `weightings` column sets all three weightings."""
        s = scigrid.snapshots
        for w in (s.weight_objective, s.weight_generators, s.weight_stores):
            assert w.tolist() == [1.0] * 24

    def test_storage_defaults(self, scigrid):
        """Absent storage columns take PyPSA's defaults."""
        su = scigrid.storage_units
        assert su.p_min_pu.tolist() == [-1.0] * 38
        assert not su.cyclic_state_of_charge.any()
        assert su.state_of_charge_initial_mwh.tolist() == [0.0] * 38
        assert su.inflow_mw.shape == (24, 38) and not su.inflow_mw.any()

    def test_carrier_co2(self, scigrid):
        """Generators take CO2 intensity from carriers.csv."""
        g = scigrid.generators
        assert g.co2_t_per_mwh[g.names.index("1 Gas")] == pytest.approx(0.202)

    def test_renewables_marked(self, scigrid):
        """Wind, solar and run of river are variable renewable; gas and coal are not."""
        g = scigrid.generators
        renewable = dict(zip(g.carrier, g.renewable, strict=True))
        assert renewable["Wind Onshore"] and renewable["Solar"] and renewable["Run of River"]
        assert not renewable["Gas"] and not renewable["Hard Coal"]

    def test_hashprice_value(self, scigrid):
        """Emden's value comes from its hashprice and efficiency."""
        ms = scigrid.mining_sites
        assert ms.value_per_mwh[0, 1] == pytest.approx(value_per_mwh_from_hashprice(0.045, 21.5))
        assert value_per_mwh_from_hashprice(0.045, 21.5) == pytest.approx(87.2093, rel=1e-5)

    def test_arrays_are_read_only(self, scigrid):
        """Data arrays cannot be changed in place."""
        with pytest.raises(ValueError, match="read-only"):
            scigrid.generators.p_max_pu[0, 0] = 5.0

    def test_head_cuts_time_series(self, scigrid):
        """head(n) keeps the first n snapshots of every series."""
        d = scigrid.head(3)
        assert d.n_snapshots == 3
        assert d.generators.p_max_pu.shape == (3, 1423)
        assert d.loads.p_set_mw.shape == (3, 489)
        assert d.mining_sites.value_per_mwh.shape == (3, 4)


class TestLayouts:
    def test_current_snapshot_weightings(self, three_bus):
        """Current PyPSA's objective/stores/generators columns are read separately."""
        d = read_pypsa_folder(
            three_bus(snapshots="snapshot,objective,stores,generators\nt0,2,3,4\nt1,2,3,4\n")
        )
        assert d.snapshots.weight_objective.tolist() == [2.0, 2.0]
        assert d.snapshots.weight_stores.tolist() == [3.0, 3.0]
        assert d.snapshots.weight_generators.tolist() == [4.0, 4.0]

    @pytest.mark.solver
    def test_snapshot_weighting_scales_objective(self, three_bus, planned):
        """An objective weighting of 2 doubles the objective, prices stay per MWh."""
        r = planned(
            three_bus(snapshots="snapshot,objective,stores,generators\nt0,2,2,2\nt1,2,2,2\n")
        )
        assert r.objective == pytest.approx(2 * 11500.0)
        assert r.buses_marginal_price.loc["t0", "S"] == pytest.approx(50.0)

    def test_no_coordinates_without_x_y(self, three_bus):
        """Buses without x, y columns have no coordinates (the report lays them out)."""
        d = read_pypsa_folder(three_bus())
        assert d.buses.x is None and d.buses.y is None

    def test_missing_optional_files(self, three_bus):
        """No storage, transformers or mining files: empty components."""
        d = read_pypsa_folder(three_bus())
        assert len(d.storage_units) == 0
        assert d.branches.kind.count("transformer") == 0
        assert len(d.mining_sites) == 0
        assert d.mining_sites.value_per_mwh.shape == (2, 0)

    def test_static_p_max_pu_without_series(self, three_bus):
        """Without a series, generators-p_max_pu comes from the static column (default 1)."""
        d = read_pypsa_folder(three_bus(generators__p_max_pu="snapshot\nt0\nt1\n"))
        assert d.generators.p_max_pu.tolist() == [[1.0, 1.0], [1.0, 1.0]]

    def test_slack_marked_in_buses(self, three_bus):
        """control=Slack chooses the angle reference."""
        d = read_pypsa_folder(three_bus(buses="name,v_nom,control\nN,1,PQ\nM,1,Slack\nS,1,PV\n"))
        assert d.buses.slack.tolist() == [False, True, False]

    def test_transformer_with_tap_and_phase_shift(self, three_bus):
        """Tap ratio scales the reactance; phase shift is read in degrees."""
        d = read_pypsa_folder(
            three_bus(
                transformers="name,bus0,bus1,x,s_nom,tap_ratio,phase_shift\nT,M,S,0.1,200,2,30\n"
            )
        )
        i = d.branches.keys.index("transformer:T")
        assert d.branches.b_mw_per_rad[i] == pytest.approx(200 / (0.1 * 2))
        assert d.branches.shift_rad[i] == pytest.approx(np.pi / 6)

    @pytest.mark.solver
    def test_phase_shifter_plan_checks(self, three_bus, planned):
        """A phase-shifting transformer's flows satisfy the independent PTDF check."""
        folder = three_bus(transformers="name,bus0,bus1,x,s_nom,phase_shift\nT,M,S,0.001,500,0.5\n")
        r = planned(folder)
        assert r.transformers_p0.shape == (2, 1)

    def test_read_scenario_cuts_snapshots(self, three_bus):
        """read_scenario(path, n_snapshots=1) keeps one snapshot."""
        assert read_scenario(three_bus(), n_snapshots=1).n_snapshots == 1


def test_each_csv_is_parsed_once_per_read(monkeypatch):
    """The refusal check and the readers share one parse of each file."""
    from collections import Counter
    from pathlib import Path

    import optimiser.pypsa_io as pypsa_io

    folder = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "two-areas"
    parsed: Counter[str] = Counter()
    read = pypsa_io.read_csv_table

    def counting(path):
        parsed[Path(path).name] += 1
        return read(path)

    monkeypatch.setattr(pypsa_io, "read_csv_table", counting)
    data = read_pypsa_folder(folder)
    assert len(data.generators) > 0
    assert parsed["generators.csv"] == 1
    assert max(parsed.values()) == 1
