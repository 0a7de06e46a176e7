"""Tracing each site's energy to plants: proportional sharing of the plan's flow change."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from optimiser import read_demo, read_pypsa_folder
from optimiser.attribution import GRID_SOURCE, mining_sources_mw, trace_sinks_mw
from optimiser.checker import ptdf

if TYPE_CHECKING:
    from optimiser import GridData, PlanResult

# tests/data/grid/pypsa/two-areas: two areas joined by one 50 MW line (v_nom 1 kV,
# x 1 ohm: b = 1 MW/rad).
#
#   A (wind 300 MW @ 0, site_a 100 MW @ 30) ── AB: 50 MW ── B (load 20 MW, gas 500 MW @ 50,
#                                                              site_b 100 MW @ 60)
#
# Base: wind 20 over AB, 280 MW curtailed. Co-optimised: site_a takes 100 of wind at
# A; site_b (worth 60 > gas 50) mines 100: AB carries 30 more (50, congested), gas
# the other 70. Curtailment-only: gas is pinned, so site_b gets only the 30 MW the
# line can still carry.
TWO_AREAS = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "two-areas"


@pytest.fixture
def two_areas() -> GridData:
    return read_pypsa_folder(TWO_AREAS)


def sources(r: PlanResult, t: int = 0) -> dict[tuple[str, str], float]:
    """``(site, source) -> MW`` in snapshot ``t``, without zeros."""
    row = r.mining_sources_mw().iloc[t]
    return {(str(k[0]), str(k[1])): round(float(v), 6) for k, v in row.items() if v > 1e-9}


@pytest.mark.solver
class TestTwoAreas:
    def test_co_optimised_site_behind_the_line_gets_what_it_carries(self, two_areas, planned):
        """site_a runs on wind at its bus; site_b gets the 30 MW AB still carries, gas the rest."""
        r = planned(two_areas)
        assert r.mine_mw.iloc[0].to_dict() == pytest.approx({"site_a": 100.0, "site_b": 100.0})
        assert sources(r) == pytest.approx(
            {("site_a", "wind"): 100.0, ("site_b", "wind"): 30.0, ("site_b", GRID_SOURCE): 70.0}
        )
        assert r.mining_mwh_by_source == pytest.approx({"curtailed": 130.0, "other": 70.0})

    def test_curtailment_only_site_behind_the_line(self, two_areas, planned):
        """With gas pinned site_b mines only what the line carries, all of it wind."""
        r = planned(two_areas, mode="curtailment-only")
        assert r.mine_mw.iloc[0].to_dict() == pytest.approx({"site_a": 100.0, "site_b": 30.0})
        assert sources(r) == pytest.approx({("site_a", "wind"): 100.0, ("site_b", "wind"): 30.0})

    def test_congested_line_blocks_the_wind(self, planned, tmp_path):
        """Base flow at the limit: site_b can reach no wind and is credited none."""
        shutil.copytree(TWO_AREAS, tmp_path, dirs_exist_ok=True)
        (tmp_path / "loads-p_set.csv").write_text("snapshot,load\nt0,80\n")
        r = planned(read_pypsa_folder(tmp_path))
        assert sources(r) == pytest.approx(
            {("site_a", "wind"): 100.0, ("site_b", GRID_SOURCE): 100.0}
        )
        assert r.curtailment_sources_mw().get(("site_b", "wind")) is None

    def test_untraceable_flow_falls_back_to_the_system_mix(self, two_areas, planned, caplog):
        """A flow change with a closed circulation above noise (100 MW round two extra
        buses, fed by nothing) cannot be traced: every site then takes the system's mix
        (wind 130 : gas 70) instead of the plan failing."""
        r = planned(two_areas)
        topo = r.topology
        assert topo is not None
        x, y = topo.n_buses, topo.n_buses + 1
        looped = dataclasses.replace(
            topo,
            n_buses=topo.n_buses + 2,
            branch_bus0=np.r_[topo.branch_bus0, x, y],
            branch_bus1=np.r_[topo.branch_bus1, y, x],
        )
        plan_p0 = r.plan.branches_p0.assign(**{"line:x1": 100.0, "line:x2": 100.0})
        base_p0 = r.base.branches_p0.assign(**{"line:x1": 0.0, "line:x2": 0.0})
        cyclic = dataclasses.replace(
            r,
            topology=looped,
            plan=dataclasses.replace(r.plan, branches_p0=plan_p0),
            base=dataclasses.replace(r.base, branches_p0=base_p0),
        )
        with caplog.at_level("WARNING", logger="optimiser.attribution"):
            row = mining_sources_mw(cyclic.trace_inputs()).iloc[0]
        assert "system-wide mix" in caplog.text
        got = {(str(k[0]), str(k[1])): float(v) for k, v in row.items() if v > 1e-9}
        assert got == pytest.approx(
            {
                ("site_a", "wind"): 65.0,
                ("site_a", GRID_SOURCE): 35.0,
                ("site_b", "wind"): 65.0,
                ("site_b", GRID_SOURCE): 35.0,
            }
        )


class TestTraceSinks:
    """The pure tracing function on hand-made flow changes."""

    def test_chain_mixes_in_proportion(self):
        """Bus 0 (wind 60) -> bus 1 (+ solar 40) -> bus 2 (site 100): the site gets both."""
        out = trace_sinks_mw(
            3,
            np.array([0, 1]),
            np.array([1, 2]),
            np.array([[60.0, 100.0]]),
            np.array([0, 1]),
            np.array([[60.0, 40.0]]),
            np.array([2]),
            np.array([[100.0]]),
        )
        assert out[0, 0].tolist() == pytest.approx([60.0, 40.0])

    def test_sites_at_one_bus_split_pro_rata(self):
        """Two sites at one bus share its supply in proportion to their mining."""
        out = trace_sinks_mw(
            2,
            np.array([0]),
            np.array([1]),
            np.array([[-40.0]]),  # flows 1 -> 0 (p0 leaves bus0: negative)
            np.array([1, 0]),
            np.array([[40.0, 20.0]]),
            np.array([0, 0]),
            np.array([[45.0, 15.0]]),
        )
        np.testing.assert_allclose(out[0], [[30.0, 15.0], [10.0, 5.0]])

    def test_local_supply_first_and_no_flow(self):
        """With no flow change a site gets only its own bus's sources."""
        out = trace_sinks_mw(
            2,
            np.array([0]),
            np.array([1]),
            np.array([[1e-12]]),  # solver noise, below the threshold
            np.array([0, 1]),
            np.array([[50.0, 70.0]]),
            np.array([0, 1]),
            np.array([[50.0, 70.0]]),
        )
        np.testing.assert_allclose(out[0], [[50.0, 0.0], [0.0, 70.0]])

    def test_cycle_above_noise_is_refused(self):
        """A closed circulation (0 -> 1 -> 2 -> 0, nothing fed in or drawn) is no DC flow
        of any injections: it cannot be traced, and the trace says so."""
        with pytest.raises(ValueError, match="cycle"):
            trace_sinks_mw(
                5,
                np.array([0, 1, 2, 3]),
                np.array([1, 2, 0, 4]),
                np.array([[50.0, 50.0, 50.0, 10.0]]),
                np.array([3]),
                np.array([[10.0]]),
                np.array([4]),
                np.array([[10.0]]),
            )

    def test_no_mining(self):
        """A period without changes traces nothing."""
        out = trace_sinks_mw(
            2,
            np.array([0]),
            np.array([1]),
            np.zeros((2, 1)),
            np.array([0]),
            np.zeros((2, 1)),
            np.array([1]),
            np.zeros((2, 1)),
        )
        assert not out.any()


class TestTraceScale:
    def test_random_meshed_network_conserves_energy(self):
        """2,000 buses x 24 snapshots, flows from angles: every sink is traced in full, every
        source is used in full, in well under a second of solve time."""
        rng = np.random.default_rng(7)
        n_bus, n_t = 2000, 24
        ring = np.arange(n_bus)
        chords = rng.integers(0, n_bus, size=(1200, 2))
        chords = chords[chords[:, 0] != chords[:, 1]]
        bus0 = np.r_[ring, chords[:, 0]]
        bus1 = np.r_[(ring + 1) % n_bus, chords[:, 1]]
        inc = np.zeros((len(bus0), n_bus))
        inc[np.arange(len(bus0)), bus0] = 1.0
        inc[np.arange(len(bus0)), bus1] = -1.0
        lap = inc.T @ inc  # b = 1 MW/rad on every branch
        src_bus = rng.choice(n_bus, 150, replace=False)
        snk_bus = rng.choice(n_bus, 60, replace=False)  # may share buses with sources
        src_mw = rng.uniform(0.0, 50.0, (n_t, 150))
        snk_mw = rng.uniform(0.0, 1.0, (n_t, 60))
        snk_mw *= (src_mw.sum(axis=1) / snk_mw.sum(axis=1))[:, None]  # balanced
        inj = np.zeros((n_t, n_bus))
        np.add.at(inj.T, src_bus, src_mw.T)
        np.add.at(inj.T, snk_bus, -snk_mw.T)
        theta = np.zeros((n_t, n_bus))
        theta[:, 1:] = np.linalg.solve(lap[1:, 1:], inj[:, 1:].T).T  # bus 0 is the slack
        flow = theta @ inc.T
        t0 = time.perf_counter()
        out = trace_sinks_mw(n_bus, bus0, bus1, flow, src_bus, src_mw, snk_bus, snk_mw)
        assert time.perf_counter() - t0 < 5.0  # about 0.3 s; a loose bound for slow machines
        assert (out >= 0).all()
        np.testing.assert_allclose(out.sum(axis=2), snk_mw, rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(out.sum(axis=1), src_mw, rtol=1e-6, atol=1e-6)


def assert_trace_properties(data: GridData, r: PlanResult) -> None:
    """Per snapshot: non-negative, a site's sources add up to its mining, a plant gives
    at most what it absorbed, and the flow change is PTDF times the injection change."""
    mine = r.mine_mw.to_numpy()
    tol = 1e-6 * max(1.0, float(np.abs(mine).max(initial=0.0)))
    traced = r.mining_sources_mw()
    assert (traced.to_numpy() >= 0).all()
    by_site = traced.T.groupby(level=0).sum().T.reindex(columns=r.mine_mw.columns, fill_value=0)
    assert (by_site.to_numpy() <= mine + tol).all()
    np.testing.assert_allclose(by_site.to_numpy(), mine, atol=1e-3 * max(1.0, mine.max()))
    curtailed = r.curtailment_sources_mw()
    by_plant = curtailed.T.groupby(level=1).sum().T
    absorbed = (r.curtailment_mw(r.base) - r.curtailment_mw(r.plan)).clip(lower=0.0)
    spill_avoided = (r.base.storage_units_spill - r.plan.storage_units_spill).clip(lower=0.0)
    for plant in by_plant.columns:
        if plant in absorbed.columns:
            assert (by_plant[plant] <= absorbed[plant] + tol).all(), plant
        elif str(r.mode) == "co-optimised":  # a reservoir: at most the spill it avoided
            assert (by_plant[plant] <= spill_avoided[plant] + tol).all(), plant
    if str(r.mode) == "curtailment-only":
        cur_site = (
            curtailed.T.groupby(level=0).sum().T.reindex(columns=r.mine_mw.columns, fill_value=0)
        )
        np.testing.assert_allclose(cur_site.to_numpy(), mine, atol=1e-4 * max(1.0, mine.max()))
    # ΔF = PTDF · Δinjection (loads are the same in both plans; phase shifts cancel)
    dg = (r.plan.generators_p - r.base.generators_p).to_numpy()
    ds = (r.plan.storage_units_p - r.base.storage_units_p).to_numpy()
    inj = np.zeros((len(mine), len(data.buses)))
    np.add.at(inj.T, data.generators.bus, dg.T)
    np.add.at(inj.T, data.storage_units.bus, ds.T)
    np.add.at(inj.T, data.mining_sites.bus, -mine.T)
    d_flow = (r.plan.branches_p0 - r.base.branches_p0).to_numpy()
    np.testing.assert_allclose(inj @ ptdf(data).T, d_flow, atol=1e-5 * max(1.0, mine.max()))


@pytest.fixture(scope="module")
def demo_plans() -> tuple[GridData, dict[str, PlanResult]]:
    from optimiser import plan

    data = read_demo()
    return data, {m: plan(data, mode=m) for m in ("co-optimised", "curtailment-only")}


@pytest.mark.solver
@pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
class TestTraceProperties:
    def test_three_bus(self, three_bus, planned, mode):
        """Three sites on the three-bus network, both snapshots."""
        sites = "name,bus,p_nom,value\nminer_n,N,200,60\nminer_m,M,80,60\nminer_s,S,50,60\n"
        folder = three_bus(mining=sites)
        assert_trace_properties(read_pypsa_folder(folder), planned(folder, mode=mode))

    def test_demo(self, demo_plans, mode):
        """The embedded demo."""
        data, plans = demo_plans
        assert_trace_properties(data, plans[mode])

    def test_demo_city_gets_no_curtailed_energy(self, demo_plans, mode):
        """No curtailment reaches city-129, so it is credited none."""
        _, plans = demo_plans
        traced = plans[mode].curtailment_sources_mw()
        assert "city-129" not in set(traced.columns.get_level_values(0))

    def test_scigrid(self, scigrid_short, scigrid_plans, mode):
        """SciGRID-DE (6 snapshots)."""
        assert_trace_properties(scigrid_short, scigrid_plans[mode])


def _by_site_and_label_reference(traced, site_names, source_labels, index):
    """The straightforward per-label loop the vectorised grouping replaced."""
    import pandas as pd

    labels = np.asarray(source_labels, dtype=object)
    columns = {}
    for label in dict.fromkeys(source_labels):
        by_site = traced[:, :, labels == label].sum(axis=2)  # (T, S)
        for s_i, site in enumerate(site_names):
            if by_site[:, s_i].max(initial=0.0) > 0:
                columns[(site, label)] = by_site[:, s_i]
    if not columns:
        return pd.DataFrame(
            index=index, columns=pd.MultiIndex.from_tuples([], names=["site", "source"])
        )
    out = pd.DataFrame(columns, index=index)
    out.columns = pd.MultiIndex.from_tuples(list(columns), names=["site", "source"])
    return out


@pytest.mark.solver
@pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
def test_grouping_by_label_matches_the_per_label_loop(demo_plans, mode, monkeypatch):
    """On a real plan, the sparse one-hot grouping gives the same columns, in the same
    order, with the same values as summing each label's sources in a loop."""
    import pandas as pd

    import optimiser.attribution as attribution

    grouping = attribution._by_site_and_label
    seen = []

    def spy(traced, site_names, source_labels, index):
        out = grouping(traced, site_names, source_labels, index)
        seen.append((out, _by_site_and_label_reference(traced, site_names, source_labels, index)))
        return out

    monkeypatch.setattr(attribution, "_by_site_and_label", spy)
    _, plans = demo_plans
    mining_sources_mw(plans[mode].trace_inputs())
    ((got, want),) = seen
    assert len(got.columns) > 0
    assert list(got.columns) == list(want.columns)
    assert got.columns.names == want.columns.names
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12, atol=0.0)


def test_grouping_by_label_without_sources_or_positive_values():
    """Nothing positive (or no sources at all) gives an empty frame with named levels."""
    import pandas as pd

    from optimiser.attribution import _by_site_and_label

    index = pd.RangeIndex(3)
    for traced, labels in [(np.zeros((3, 2, 4)), ["a", "b", "a", "c"]), (np.zeros((3, 2, 0)), [])]:
        got = _by_site_and_label(traced, ["s1", "s2"], labels, index)
        want = _by_site_and_label_reference(traced, ["s1", "s2"], labels, index)
        assert got.shape == want.shape == (3, 0)
        assert list(got.columns.names) == ["site", "source"]
