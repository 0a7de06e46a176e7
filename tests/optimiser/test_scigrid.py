"""Invariants on SciGRID-DE (real network, 585 buses): every plan is checked."""

from __future__ import annotations

import numpy as np
import pytest

from optimiser import SUMMARY_KEYS, ModelOptions, plan

pytestmark = pytest.mark.solver

#: SciGRID-DE LOPF objective (no mining, 24 snapshots) computed once with PyPSA 1.4.0:
#: ``pypsa.Network("tests/data/grid/pypsa/scigrid-de-2017").optimize(solver_name="highs")``
#: (HiGHS 1.15.1) on the original folder (without Spillway's mining_sites.csv).
PYPSA_OBJECTIVE = 6684817.323606501
#: Mean of PyPSA's buses_t.marginal_price over buses at the first snapshot, same run.
PYPSA_MEAN_PRICE_T0 = 16.570249


class TestAgainstPyPSA:
    def test_lopf_objective_matches_pypsa(self, scigrid, check):
        """With no mining the plan is PyPSA's LOPF: same objective on all 24 hours."""
        data = scigrid.without_mining()
        r = check(data, plan(data, model_options=ModelOptions(zero_below_mw=0.0)))
        assert r.objective == pytest.approx(PYPSA_OBJECTIVE, rel=1e-9)
        assert r.objective_base == pytest.approx(PYPSA_OBJECTIVE, rel=1e-9)
        mean_t0 = float(r.buses_marginal_price.iloc[0].mean())
        assert mean_t0 == pytest.approx(PYPSA_MEAN_PRICE_T0, rel=1e-5)
        assert r.max_line_loading == pytest.approx(1.0, abs=1e-6)

    def test_default_noise_cut_stays_close(self, scigrid_short):
        """Zeroing availabilities below 1 kW (the default) barely moves the objective."""
        data = scigrid_short.without_mining()
        exact = plan(data, model_options=ModelOptions(zero_below_mw=0.0)).objective
        assert plan(data).objective == pytest.approx(exact, rel=1e-6)


class TestInvariants:
    @pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
    def test_mining_reduces_curtailment(self, scigrid_plans, mode):
        """Mining never increases curtailment and absorbs some of it."""
        s = scigrid_plans[mode].summary()
        assert s["curtailment_mwh_after"] <= s["curtailment_mwh_before"] + 1e-6
        assert s["mining_mwh"] > 0
        assert s["curtailment_mwh_before"] - s["curtailment_mwh_after"] > 0

    @pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
    def test_lines_within_limits(self, scigrid_plans, mode):
        """No line or transformer is loaded above 100 % in any snapshot."""
        assert scigrid_plans[mode].max_line_loading <= 1.0 + 1e-6

    def test_curtailment_only_uses_only_curtailed_energy(self, scigrid_plans):
        """Curtailment-only mining energy is all curtailed, and its CO2 is nil."""
        r = scigrid_plans["curtailment-only"]
        src = r.mining_mwh_by_source
        assert src["other"] == pytest.approx(0.0, abs=1e-3)
        assert src["curtailed"] == pytest.approx(r.mining_mwh, rel=1e-6)
        assert r.mining_co2_t == pytest.approx(0.0, abs=1e-3)

    def test_curtailment_only_keeps_conventional_dispatch(self, scigrid_short, scigrid_plans):
        """Per snapshot, conventional output with mining equals the base plan's."""
        r = scigrid_plans["curtailment-only"]
        conv = ~scigrid_short.generators.renewable
        a = r.plan.generators_p.to_numpy()[:, conv]
        b = r.base.generators_p.to_numpy()[:, conv]
        assert np.abs(a - b).max() < 1e-6

    def test_southern_site_gets_no_curtailed_energy(self, scigrid_plans):
        """Grünkraut, south of the congestion, mines (almost) nothing in curtailment-only."""
        r = scigrid_plans["curtailment-only"]
        assert r.mining_mwh_by_site["gruenkraut"] < 0.01 * r.mining_mwh

    def test_objectives_are_ordered(self, scigrid_plans):
        """Co-optimised <= curtailment-only <= base (more freedom, lower cost)."""
        co, cur = scigrid_plans["co-optimised"], scigrid_plans["curtailment-only"]
        assert co.objective <= cur.objective + 1e-6
        assert cur.objective <= cur.objective_base + 1e-6
        assert co.objective_base == pytest.approx(cur.objective_base, rel=1e-9)

    def test_sites_within_bounds(self, scigrid_short, scigrid_plans):
        """Each site stays within 0..p_nom."""
        for r in scigrid_plans.values():
            m = r.mine_mw.to_numpy()
            assert (m >= -1e-6).all()
            assert (m <= scigrid_short.mining_sites.p_nom_mw + 1e-6).all()

    def test_summary_keys(self, scigrid_plans):
        """The summary has exactly the keys of the CLI contract."""
        s = scigrid_plans["co-optimised"].summary()
        assert tuple(s) == SUMMARY_KEYS
        assert set(s["timings"]) == {"read_s", "build_s", "solve_s", "total_s"}
        assert set(s["mining_mwh_by_site"]) == {"brunsbuettel", "emden", "jardelund", "gruenkraut"}

    def test_write_tables(self, scigrid_plans, tmp_path):
        """write() produces PyPSA-named tables indexed by snapshot."""
        import pandas as pd

        r = scigrid_plans["co-optimised"]
        r.write(tmp_path)
        for name in (
            "generators-p",
            "lines-p0",
            "transformers-p0",
            "storage_units-p",
            "storage_units-spill",
            "buses-marginal_price",
            "mining_sites-p",
        ):
            df = pd.read_csv(tmp_path / f"{name}.csv", index_col=0)
            assert len(df) == 6
        assert (tmp_path / "summary.json").is_file()
        lines = pd.read_csv(tmp_path / "lines-p0.csv", index_col=0)
        assert lines.shape[1] == 852


class TestLineLimitsAsBounds:
    def test_same_objective_and_shadow_prices(self, scigrid_short, scigrid_plans, check):
        """Flow bounds instead of limit constraints: same plan value and line prices."""
        r = check(
            scigrid_short,
            plan(scigrid_short, model_options=ModelOptions(line_limits_as_bounds=True)),
        )
        ref = scigrid_plans["co-optimised"]
        assert r.objective == pytest.approx(ref.objective, rel=1e-9)
        mu, mu_ref = r.branches_mu_upper.to_numpy(), ref.branches_mu_upper.to_numpy()
        assert mu.sum() == pytest.approx(mu_ref.sum(), rel=1e-6)
