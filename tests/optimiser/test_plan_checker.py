"""The independent checker: PTDF values, and it catches broken plans."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from optimiser import check_plan, plan, read_pypsa_folder
from optimiser.checker import ptdf

SITE_N = "name,bus,p_nom,value\nminer_n,N,200,10\n"


class TestPtdf:
    def test_three_bus_factors(self, three_bus):
        """From N to the slack, 2/3 goes over NS and 1/3 over NM then MS."""
        data = read_pypsa_folder(three_bus(buses="name,v_nom,control\nN,1,PQ\nM,1,PQ\nS,1,Slack\n"))
        f = ptdf(data)
        keys = data.branches.keys
        n = data.buses.names.index("N")
        assert f[keys.index("line:NS"), n] == pytest.approx(2 / 3)
        assert f[keys.index("line:NM"), n] == pytest.approx(1 / 3)
        assert f[keys.index("line:MS"), n] == pytest.approx(1 / 3)


@pytest.mark.solver
class TestCatchesBrokenPlans:
    @pytest.fixture
    def solved(self, three_bus):
        data = read_pypsa_folder(three_bus(mining=SITE_N))
        return data, plan(data, mode="curtailment-only")

    def test_valid_plan_passes(self, solved):
        """The solver's plan has no violations."""
        data, r = solved
        assert check_plan(data, r) == []

    def test_flow_not_matching_injections(self, solved):
        """A flow changed by hand no longer equals PTDF times injections."""
        data, r = solved
        flows = r.plan.branches_p0.copy()
        flows.loc["t0", "line:NM"] += 5.0
        bad = dataclasses.replace(r, plan=dataclasses.replace(r.plan, branches_p0=flows))
        assert any("PTDF" in v.check for v in check_plan(data, bad))

    def test_overloaded_line(self, solved):
        """More mining withdrawn elsewhere shows up as imbalance and overload."""
        data, r = solved
        gen = r.plan.generators_p.copy()
        gen.loc["t0", "wind"] += 60.0
        bad = dataclasses.replace(r, plan=dataclasses.replace(r.plan, generators_p=gen))
        checks = {v.check for v in check_plan(data, bad)}
        assert "plan: island energy balance" in checks
        assert "plan: generator p above upper bound" in checks

    def test_conventional_change_breaks_curtailment_only(self, solved):
        """Gas output differing from the base plan breaks the curtailment-only promise."""
        data, r = solved
        gen = r.plan.generators_p.copy()
        mine = r.plan.mining_sites_p.copy()
        gen.loc["t1", "gas"] += 20.0
        mine.loc["t1", "miner_n"] += 20.0
        bad = dataclasses.replace(
            r, plan=dataclasses.replace(r.plan, generators_p=gen, mining_sites_p=mine)
        )
        checks = {v.check for v in check_plan(data, bad)}
        assert "curtailment-only: conventional output changed" in checks
        assert "curtailment-only: mining not fed by curtailed energy" in checks

    def test_ramp_violation(self, three_bus):
        """A ramp beyond the site's limit is reported."""
        site = "name,bus,p_nom,value,ramp_limit_down\nminer_n,N,200,10,0.25\n"
        data = read_pypsa_folder(three_bus(mining=site))
        r = plan(data)
        mine = r.plan.mining_sites_p.copy()
        mine.loc["t0", "miner_n"] = 150.0
        bad = dataclasses.replace(r, plan=dataclasses.replace(r.plan, mining_sites_p=mine))
        assert any(v.check == "plan: mining ramp down" for v in check_plan(data, bad))
        assert np.isfinite(r.objective)
