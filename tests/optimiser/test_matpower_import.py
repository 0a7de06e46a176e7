"""MATPOWER import: cases, piecewise-linear costs, synthetic renewables, load scenarios."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from optimiser import BadGridDataError, plan, read_matpower, read_scenario

MATPOWER = Path(__file__).resolve().parents[1] / "data" / "grid" / "matpower"


class TestCase118:
    def test_sizes(self):
        """case118: 118 buses, 186 branches, unrated (no congestion)."""
        d = read_matpower(MATPOWER / "case118.m")
        assert len(d.buses) == 118
        assert len(d.branches) == 186
        assert np.isinf(d.branches.s_max_mw).all()
        assert int(d.buses.slack.sum()) == 1
        assert d.buses.names[int(np.flatnonzero(d.buses.slack)[0])] == "69"

    def test_quadratic_costs_become_convex_pieces(self):
        """Each quadratic-cost generator becomes pieces with rising marginal cost."""
        d = read_matpower(MATPOWER / "case118.m", cost_segments=4)
        g = d.generators
        pieces = [i for i, n in enumerate(g.names) if n.startswith("gen1#")]
        assert len(pieces) >= 4
        mc = g.marginal_cost[pieces]
        assert np.all(np.diff(mc) >= 0)

    @pytest.mark.solver
    def test_plan_is_valid(self, check):
        """A plan on case118 (2 hours) is optimal and passes the checker."""
        d = read_matpower(MATPOWER / "case118.m", n_snapshots=2)
        r = check(d, plan(d))
        assert r.status == "optimal"
        # case118 has no line ratings: unrated, not 0 % loaded
        assert r.max_line_loading is None
        assert r.summary()["max_line_loading"] is None
        assert r.branches_loading.isna().all().all()

    def test_read_scenario_dispatches_on_suffix(self):
        """read_scenario reads a .m file as MATPOWER."""
        assert len(read_scenario(MATPOWER / "case118.m", n_snapshots=3).snapshots) == 3


class TestOtherCases:
    @pytest.mark.solver
    def test_case300_negative_reactance(self, check):
        """case300 has a series capacitor (x < 0); it imports and plans."""
        d = read_matpower(MATPOWER / "case300.m")
        assert (d.branches.b_mw_per_rad < 0).any()
        check(d, plan(d))

    @pytest.mark.solver
    def test_activsg200_synthetic_wind(self, check):
        """ACTIVSg200 wind gets a deterministic profile in 0..1 and no minimum output."""
        d = read_matpower(MATPOWER / "case_ACTIVSg200.m", n_snapshots=4)
        g = d.generators
        wind = [i for i, c in enumerate(g.carrier) if c == "wind"]
        assert len(wind) == 6
        assert g.renewable[wind].all()
        assert np.all((g.p_max_pu[:, wind] > 0) & (g.p_max_pu[:, wind] <= 1))
        assert np.all(g.p_min_pu[:, wind] == 0)
        assert len(np.unique(g.p_max_pu[:, wind].round(9), axis=0)) == 4  # varies by hour
        check(d, plan(d))

    def test_activsg2000_solar_dark_at_night(self):
        """ACTIVSg2000 solar availability is 0 for hours 0-5 (sun 06-18 h)."""
        d = read_matpower(MATPOWER / "case_ACTIVSg2000.m", n_snapshots=6)
        g = d.generators
        solar = [i for i, c in enumerate(g.carrier) if c == "solar"]
        assert solar  # in-service solar units with Pmax > 0
        assert np.all(g.p_max_pu[:, solar] == 0.0)

    def test_activsg2000_hourly_area_loads(self):
        """Loads follow the change table: area totals per hour are as listed."""
        d = read_matpower(
            MATPOWER / "case_ACTIVSg2000.m",
            n_snapshots=2,
            scenarios=MATPOWER / "scenarios_ACTIVSg2000_first48h.m",
        )
        # hour 1, areas 1..8: 946.9 806.8 940.1 3318.7 10047.2 5441.9 8258.4 1467.9
        assert d.loads.p_set_mw[0].sum() == pytest.approx(31227.9, rel=1e-6)
        assert len(d.buses) == 2000


class TestErrors:
    def test_zero_reactance_names_line_and_field(self, tmp_path):
        """A zero branch reactance is rejected naming file, line and field."""
        text = (MATPOWER / "case118.m").read_text().splitlines()
        start = next(i for i, ln in enumerate(text) if ln.startswith("mpc.branch"))
        cols = text[start + 1].split()
        cols[3] = "0"
        text[start + 1] = "\t" + "\t".join(cols)
        bad = tmp_path / "bad.m"
        bad.write_text("\n".join(text))
        with pytest.raises(BadGridDataError) as info:
            read_matpower(bad)
        assert (info.value.file, info.value.row, info.value.field) == (
            "bad.m",
            start + 2,
            "mpc.branch.x",
        )

    def test_missing_block(self, tmp_path):
        """A case without mpc.branch is rejected."""
        bad = tmp_path / "empty.m"
        bad.write_text(
            "function mpc = empty\nmpc.baseMVA = 100;\n"
            "mpc.bus = [\n1 3 0 0 0 0 1 1 0 100;\n];\nmpc.gen = [\n];\n"
        )
        with pytest.raises(BadGridDataError, match=r"mpc\.branch"):
            read_matpower(bad)

    def test_unknown_bus(self, tmp_path):
        """A generator on a bus that does not exist names its line."""
        text = (MATPOWER / "case118.m").read_text().splitlines()
        start = next(i for i, ln in enumerate(text) if ln.startswith("mpc.gen ="))
        cols = text[start + 1].split()
        cols[0] = "9999"
        text[start + 1] = "\t" + "\t".join(cols)
        bad = tmp_path / "bad.m"
        bad.write_text("\n".join(text))
        pattern = r"bad\.m line \d+, field 'mpc\.gen\.bus': unknown bus 9999"
        with pytest.raises(BadGridDataError, match=pattern):
            read_matpower(bad)

    def test_binary_file_names_the_file(self, tmp_path):
        """A binary ``.m`` file (issue 13, item 10) is bad data naming the file, not a
        UnicodeDecodeError."""
        bad = tmp_path / "garbage.m"
        bad.write_bytes(b"function mpc = x\n\xff\xfe\x00\x81binary" * 10)
        with pytest.raises(BadGridDataError, match=r"^garbage\.m: not a MATPOWER text file"):
            read_scenario(bad)
