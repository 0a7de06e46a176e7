"""Mining sites sized by the plan (``p_nom_extendable`` in ``mining_sites.csv``)."""

from __future__ import annotations

import pytest

from optimiser import plan, read_pypsa_folder


def _site(capital_cost: float, p_nom_max: str = "") -> str:
    return (
        "name,bus,p_nom,value,p_nom_extendable,p_nom_max,capital_cost\n"
        f"miner_n,N,0,10,True,{p_nom_max},{capital_cost}\n"
    )


@pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
def test_site_is_built_to_the_curtailment_it_pays_for(three_bus, check, mode):
    """At N, 150 MW of wind is curtailed at t0 and none at t1 (see conftest). Mining
    worth 10/MWh at zero marginal cost: a site costing 5 per MW (less than one hour's
    value) is built to 150 MW; at 15 per MW (more than one hour's value) not at all."""
    data = read_pypsa_folder(three_bus(mining=_site(5.0)))
    r = check(data, plan(data, mode=mode))
    assert r.mining_p_nom_opt_by_site == pytest.approx({"miner_n": 150.0}, abs=1e-6)
    assert r.summary()["mining_p_nom_opt_by_site"] == r.mining_p_nom_opt_by_site
    # objective: base cost less the mining value of 150 MWh plus the site's capital cost
    assert r.objective == pytest.approx(r.objective_base - 150 * 10 + 150 * 5, rel=1e-9)
    data = read_pypsa_folder(three_bus(mining=_site(15.0)))
    r = check(data, plan(data, mode=mode))
    assert r.mining_p_nom_opt_by_site["miner_n"] == pytest.approx(0.0, abs=1e-6)


def test_p_nom_max_caps_the_site(three_bus, check):
    data = read_pypsa_folder(three_bus(mining=_site(1.0, p_nom_max="40")))
    r = check(data, plan(data))
    assert r.mining_p_nom_opt_by_site["miner_n"] == pytest.approx(40.0)


def test_ramp_limits_refused_for_an_extendable_site(three_bus):
    from optimiser import BadGridDataError

    text = _site(5.0).replace("capital_cost\n", "capital_cost,ramp_limit_up\n")
    text = text.replace(",5.0\n", ",5.0,0.5\n")
    with pytest.raises(BadGridDataError, match=r"mining_sites\.csv line 2.*ramp_limit_up"):
        read_pypsa_folder(three_bus(mining=text))
