"""PyPSA's own example networks plan to PyPSA's objective.

Golden figures recorded once with PyPSA 1.4.0 (``pypsa.Network(folder).optimize(
solver_name="highs")``, HiGHS 1.16) on these folders, in a throwaway environment
outside the repository: total system cost ``n.objective + n.objective_constant``,
the optimal capacities ``p_nom_opt`` / ``s_nom_opt`` and the CO2 limit's
``global_constraints.mu``. PyPSA is not a dependency of Spillway or its tests.

PyPSA's third example, ``model-energy``, is fetched from data.pypsa.org when asked
for (it ships with no PyPSA release), which this project cannot reach; in its place
``store-energy`` is an island of the same kind built with PyPSA 1.4.0 itself by
``bench/pypsa_reference.py`` (wind, solar, battery and hydrogen stores with their
charger and discharger links, a fixed store, a storage unit with standing loss, a CO2
limit), exported to PyPSA's CSV layout and solved there for the figures below.
"""

from __future__ import annotations

import pytest

from optimiser import plan, read_pypsa_folder

#: network -> (total cost, CO2 limit mu, some unique optimal capacities (MW))
GOLDEN = {
    "ac-dc-meshed": (
        18441021.47772922,
        -2178.291799217901,
        {
            ("generators", "Manchester Wind"): 4090.8097783497533,
            ("generators", "Frankfurt Gas"): 982.0344827209533,
            ("links", "Norwich Converter"): 1353.3311006814326,
            ("links", "Bremen Converter"): 1570.6601723726135,
            ("branches", "line:1"): 1497.2754709623562,
        },
    ),
    "storage-hvdc": (
        15881838.605836188,
        -394.46587090019534,
        {
            ("generators", "Wind 5"): 4284.342391269493,
            ("links", "TL 0"): 1259.23901714708,
            ("storage_units", "Storage 4"): 1986.1326188223802,
            ("branches", "line:4"): 1826.1976981763414,
        },
    ),
    "store-energy": (
        637711.5409365223,
        -43.34106925948072,
        {
            ("generators", "wind"): 75.51737290522183,
            ("generators", "solar"): 284.595984782094,
            ("links", "battery charger"): 101.33309997808898,
            ("links", "fuel cell"): 8.43439929064832,
            ("stores", "battery storage"): 1810.5919222175817,
            ("stores", "hydrogen storage"): 733.7927382864046,
        },
    ),
}


@pytest.fixture(params=sorted(GOLDEN))
def example(request, scigrid_folder):
    folder = scigrid_folder.parent / request.param
    return request.param, read_pypsa_folder(folder)


@pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
def test_plans_to_pypsa_objective(example, check, mode):
    """Objective, capacities and CO2 price equal PyPSA's; the checker finds nothing."""
    name, data = example
    total, co2_mu, capacities = GOLDEN[name]
    result = check(data, plan(data, mode=mode))
    assert result.objective_base == pytest.approx(total, rel=1e-6)
    # no mining sites: the mining plan is the base plan
    assert result.objective == pytest.approx(total, rel=1e-6)
    assert result.global_constraints_mu["co2_limit"] == pytest.approx(co2_mu, rel=1e-5)
    for (family, component), mw in capacities.items():
        got = float(result.plan.capacities[family][component])
        assert got == pytest.approx(mw, rel=1e-5, abs=1e-3), (family, component)


def test_plan_directory_has_links_and_capacities(example, tmp_path):
    """The plan writes PyPSA's link tables and each family's optimal capacities."""
    _name, data = example
    result = plan(data)
    written = {p.name for p in result.write(tmp_path / "out")}
    assert {"links-p0.csv", "links-p1.csv", "generators-p_nom_opt.csv"} <= written
    if len(data.branches):
        assert "lines-s_nom_opt.csv" in written
    if len(data.all_stores):
        assert {"stores-p.csv", "stores-e.csv", "stores-e_nom_opt.csv"} <= written
    assert result.summary()["mining_p_nom_opt_by_site"] == {}
