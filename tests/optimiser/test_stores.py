"""Stores (PyPSA's ``Store``): energy balance, bounds, costs and what is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from optimiser import BadGridDataError, check_plan, plan, read_pypsa_folder

# One bus, a load of 100 MW over three 2-hour snapshots, a cheap source only in the
# first snapshot and an expensive one always: the store carries the cheap energy on.
ONE_BUS = {
    "snapshots.csv": "name,objective,stores,generators\nt0,2,2,2\nt1,2,2,2\nt2,2,2,2\n",
    "buses.csv": "name\nB\n",
    "generators.csv": (
        "name,bus,carrier,p_nom,marginal_cost\ncheap,B,wind,400,0\ndear,B,gas,200,100\n"
    ),
    "generators-p_max_pu.csv": "snapshot,cheap\nt0,1\nt1,0\nt2,0\n",
    "loads.csv": "name,bus,p_set\nload,B,100\n",
}


def folder_with(tmp_path, stores: str, **more: str):
    d = tmp_path / "net"
    d.mkdir()
    for name, text in {**ONE_BUS, "stores.csv": stores, **more}.items():
        (d / name).write_text(text)
    return d


class TestStoreBalance:
    def test_store_shifts_cheap_energy_within_its_size(self, tmp_path):
        """A 250 MWh store fills in t0 and gives 100 MW in t1 and 25 MW in t2, the
        rest from the dear source: cost = 2 h * 75 MW * 100."""
        data = read_pypsa_folder(folder_with(tmp_path, "name,bus,e_nom\nS,B,250\n"))
        result = plan(data)
        assert not check_plan(data, result)
        e = result.plan.stores_e["S"].tolist()
        assert e == pytest.approx([250.0, 50.0, 0.0], abs=1e-6)
        assert result.plan.stores_p["S"].tolist() == pytest.approx([-125.0, 100.0, 25.0])
        assert result.objective == pytest.approx(2 * 75 * 100)

    def test_standing_loss_and_initial_level(self, tmp_path):
        """e_initial starts the level with no loss applied; standing loss then takes
        its share per hour (PyPSA's balance)."""
        text = "name,bus,e_nom,e_initial,standing_loss\nS,B,400,100,0.1\n"
        data = read_pypsa_folder(folder_with(tmp_path, text))
        result = plan(data)
        assert not check_plan(data, result)
        e = result.plan.stores_e["S"].to_numpy()
        p = result.plan.stores_p["S"].to_numpy()
        assert e[0] == pytest.approx(100.0 - 2 * p[0])
        assert e[1] == pytest.approx(0.81 * e[0] - 2 * p[1])

    def test_cyclic_store_ends_where_it_starts(self, tmp_path):
        """e_cyclic: the level before t0 is the level at the end."""
        text = "name,bus,e_nom,e_cyclic,e_initial\nS,B,250,True,200\n"
        data = read_pypsa_folder(folder_with(tmp_path, text))
        result = plan(data)
        assert not check_plan(data, result)
        e = result.plan.stores_e["S"].to_numpy()
        p = result.plan.stores_p["S"].to_numpy()
        assert e[0] == pytest.approx(e[-1] - 2 * p[0])

    def test_time_varying_floor_and_storage_cost(self, tmp_path):
        """stores-e_min_pu holds the level up; marginal_cost_storage is paid per MWh per h."""
        text = "name,bus,e_nom,marginal_cost_storage\nS,B,250,1.5\n"
        floor = "snapshot,S\nt0,0\nt1,0\nt2,0.5\n"
        data = read_pypsa_folder(folder_with(tmp_path, text, **{"stores-e_min_pu.csv": floor}))
        result = plan(data)
        assert not check_plan(data, result)
        e = result.plan.stores_e["S"].to_numpy()
        assert e[2] >= 125.0 - 1e-6
        dear_mwh = 2 * result.plan.generators_p["dear"].sum()
        assert result.objective == pytest.approx(100 * dear_mwh + 1.5 * 2 * e.sum())

    def test_extendable_store_is_sized_by_its_capital_cost(self, tmp_path):
        """An extendable store is built while a MWh of it costs less than it saves: at
        10 per MWh it is built to carry all 200 MWh, saving 100 per MWh."""
        text = "name,bus,e_nom_extendable,capital_cost,e_nom_max\nS,B,True,10,1000\n"
        data = read_pypsa_folder(folder_with(tmp_path, text))
        result = plan(data)
        assert not check_plan(data, result)
        assert float(result.plan.capacities["stores"]["S"]) == pytest.approx(400.0)
        assert result.objective == pytest.approx(10 * 400.0)

    def test_fixed_om_cost_adds_to_the_capital_cost(self, tmp_path):
        """fom_cost is part of PyPSA's periodized cost: 4 + 6 per MWh sizes as 10 does."""
        text = "name,bus,e_nom_extendable,capital_cost,fom_cost,e_nom_max\nS,B,True,4,6,1000\n"
        data = read_pypsa_folder(folder_with(tmp_path, text))
        result = plan(data)
        assert float(result.plan.capacities["stores"]["S"]) == pytest.approx(400.0)
        assert result.objective == pytest.approx(10 * 400.0)

    def test_checker_finds_a_broken_balance(self, tmp_path):
        """The checker recomputes the store balance: a level off by 10 MWh is caught."""
        data = read_pypsa_folder(folder_with(tmp_path, "name,bus,e_nom\nS,B,250\n"))
        result = plan(data)
        e = result.plan.stores_e.copy()
        e.iloc[1, 0] += 10.0
        broken = replace(result, plan=replace(result.plan, stores_e=e))
        found = check_plan(data, broken)
        assert any(v.check == "plan: store energy balance" for v in found)

    def test_curtailment_only_keeps_the_store_exchange(self, tmp_path):
        """In curtailment-only mode stores do what the base plan had them do; mining
        takes only the cheap source's curtailed energy."""
        mining = "name,bus,p_nom,value\nfarm,B,50,60\n"
        data = read_pypsa_folder(
            folder_with(tmp_path, "name,bus,e_nom\nS,B,250\n", **{"mining_sites.csv": mining})
        )
        result = plan(data, mode="curtailment-only")
        assert not check_plan(data, result)
        assert result.plan.stores_p.to_numpy() == pytest.approx(result.base.stores_p.to_numpy())
        assert result.mine_mw["farm"].tolist() == pytest.approx([50.0, 0.0, 0.0], abs=1e-6)


class TestStoreInput:
    @pytest.mark.parametrize("field", ["p_set", "e_set"])
    def test_fixed_operation_is_refused(self, tmp_path, field):
        """A store's fixed p_set/e_set is refused by name, never planned as free."""
        text = f"name,bus,e_nom,{field}\nS,B,250,10\n"
        with pytest.raises(BadGridDataError, match=f"stores.csv line 2.*'{field}'"):
            read_pypsa_folder(folder_with(tmp_path, text))

    def test_floor_above_ceiling_is_refused(self, tmp_path):
        """e_min_pu above e_max_pu names the store and both values."""
        text = "name,bus,e_nom,e_min_pu,e_max_pu\nS,B,250,0.6,0.5\n"
        with pytest.raises(BadGridDataError, match=r"e_min_pu 0\.6 exceeds e_max_pu 0\.5"):
            read_pypsa_folder(folder_with(tmp_path, text))

    def test_time_varying_standing_loss_is_refused(self, tmp_path):
        """stores-standing_loss.csv is PyPSA input that Spillway does not model: refused."""
        series = {"stores-standing_loss.csv": "snapshot,S\nt0,0\nt1,0\nt2,0\n"}
        with pytest.raises(BadGridDataError, match=r"stores-standing_loss\.csv"):
            read_pypsa_folder(folder_with(tmp_path, "name,bus,e_nom\nS,B,250\n", **series))
