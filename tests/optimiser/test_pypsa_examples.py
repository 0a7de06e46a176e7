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


#: ac-dc-meshed with one more global constraint, solved by PyPSA 1.4.0: (kind, constant,
#: total cost, its mu, the CO2 limit's mu). For the volume limit every line gets a
#: length of 100, 200, ... km and every link 50, 100, ... km (volume unconstrained:
#: 2,518,199.88 MW km, limit 80 % of it); the cost limit is 80 % of the unconstrained
#: expansion's 1,408.23.
TRANSMISSION_LIMITS = (
    (
        "transmission_volume_expansion_limit",
        2014560.0,
        18451537.715108138,
        -1.8804758404468098,
        -2000.6587823238513,
    ),
    (
        "transmission_expansion_cost_limit",
        1127.0,
        19545778.910936512,
        -8153.748950007941,
        -2743.3062019738945,
    ),
)


@pytest.mark.parametrize(("kind", "constant", "total", "mu", "co2_mu"), TRANSMISSION_LIMITS)
def test_transmission_expansion_limits(
    scigrid_folder, tmp_path, check, kind, constant, total, mu, co2_mu
):
    """PyPSA's transmission volume and expansion cost limits over lines and links of
    carriers AC and DC: total cost and both shadow prices equal PyPSA's."""
    import shutil

    import pandas as pd

    folder = tmp_path / "net"
    shutil.copytree(scigrid_folder.parent / "ac-dc-meshed", folder)
    if kind == "transmission_volume_expansion_limit":
        for name, step in (("lines", 100.0), ("links", 50.0)):
            df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
            df["length"] = [str(step * (i + 1)) for i in range(len(df))]
            df.to_csv(folder / f"{name}.csv", index=False)
    with (folder / "global_constraints.csv").open("a") as f:
        f.write(f'tx_limit,{kind},,"AC, DC",<=,{constant}\n')
    data = read_pypsa_folder(folder)
    result = check(data, plan(data))
    assert result.objective == pytest.approx(total, rel=1e-6)
    assert result.global_constraints_mu["tx_limit"] == pytest.approx(mu, rel=1e-5)
    assert result.global_constraints_mu["co2_limit"] == pytest.approx(co2_mu, rel=1e-5)


def test_generator_and_link_ramp_limits(scigrid_folder, tmp_path, check):
    """Ramp limits of (extendable) generators and links, with p_init for the first
    snapshot where given: PyPSA 1.4.0's total cost and CO2 price on ac-dc-meshed with
    Frankfurt Gas 0.1 up / 0.15 down, Manchester Gas 0.05 up from 50 MW, Norwich
    Converter 0.2 both ways and DC link 0.1 down from 0 MW (per unit of p_nom)."""
    import shutil

    import pandas as pd

    folder = tmp_path / "net"
    shutil.copytree(scigrid_folder.parent / "ac-dc-meshed", folder)
    limits = {
        "generators": {
            "Frankfurt Gas": ("0.1", "0.15", ""),
            "Manchester Gas": ("0.05", "", "50"),
        },
        "links": {"Norwich Converter": ("0.2", "0.2", ""), "DC link": ("", "0.1", "0")},
    }
    for name, rows in limits.items():
        df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for k, col in enumerate(("ramp_limit_up", "ramp_limit_down", "p_init")):
            df[col] = [rows.get(n, ("", "", ""))[k] for n in df["name"]]
        df.to_csv(folder / f"{name}.csv", index=False)
    data = read_pypsa_folder(folder)
    result = check(data, plan(data))
    assert result.objective == pytest.approx(18468254.868206054, rel=1e-6)
    assert result.global_constraints_mu["co2_limit"] == pytest.approx(-2116.6900328039287, rel=1e-5)
    gas = result.plan.generators_p["Frankfurt Gas"].diff().dropna()
    cap = float(result.plan.capacities["generators"]["Frankfurt Gas"])
    assert gas.max() <= 0.1 * cap + 1e-6 and gas.min() >= -0.15 * cap - 1e-6
