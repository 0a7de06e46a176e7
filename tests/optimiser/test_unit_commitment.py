"""Committable generators: PyPSA's unit-commitment MILP, solved by HiGHS."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from optimiser import SolveOptions, check_plan, plan, read_pypsa_folder

GRID = Path(__file__).resolve().parents[1] / "data" / "grid"

#: PyPSA 1.4.0's total cost of tests/data/grid/pypsa/unit-commitment (built and
#: solved by bench/pypsa_reference.py; HiGHS 1.16, mip_rel_gap 1e-4 as PyPSA's default).
PYPSA_UC_OBJECTIVE = 620419.8323280441


def one_bus(tmp_path, load: str, unit: str):
    """One bus: a committable unit (100 MW, mc 10, p_min_pu 0.5) and a flexible dear
    one (mc 50); ``load`` is the loads-p_set rows, ``unit`` extra columns name=value."""
    cols = dict(kv.split("=") for kv in unit.split(",")) if unit else {}
    head = ",".join(["name", "bus", "p_nom", "marginal_cost", "p_min_pu", "committable", *cols])
    row = ",".join(["unit", "B", "100", "10", "0.5", "True", *cols.values()])
    pad = "," * len(cols)
    snaps = [r.split(",")[0] for r in load.strip().splitlines()]
    folder = tmp_path / "uc"
    folder.mkdir(parents=True)
    files = {
        "snapshots.csv": "name\n" + "\n".join(snaps) + "\n",
        "buses.csv": "name\nB\n",
        "generators.csv": f"{head}\n{row}\ndear,B,500,50,0,False{pad}\n",
        "loads.csv": "name,bus\nload,B\n",
        "loads-p_set.csv": "snapshot,load\n" + load.strip() + "\n",
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    return read_pypsa_folder(folder)


class TestUnitCommitment:
    @pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
    def test_plans_to_pypsa_objective(self, mode):
        """The three-bus UC network plans to PyPSA's total cost; the checker (status,
        committed output, minimum up and down times) finds nothing; the gap is reported."""
        data = read_pypsa_folder(GRID / "pypsa" / "unit-commitment")
        result = plan(data, mode=mode)
        assert not check_plan(data, result)
        assert result.objective == pytest.approx(PYPSA_UC_OBJECTIVE, rel=1e-6)
        gap = result.summary()["mip_gap"]
        assert gap is not None and 0.0 <= gap <= 1e-4
        coal = result.plan.generators_status["coal"].to_numpy()
        assert coal[:4].tolist() == [1, 1, 1, 1]  # started 2 snapshots before, min_up 6

    @pytest.mark.parametrize(
        ("start_up_cost", "on", "objective"),
        [
            (1000, [0, 1], 30 * 50 + 80 * 10 + 1000),
            (4000, [0, 0], 30 * 50 + 80 * 50),
        ],
    )
    def test_start_up_cost_decides_the_start(self, tmp_path, start_up_cost, on, objective):
        """Off before (up_time_before=0), the unit cannot run at 30 MW (p_min 50 MW);
        it starts for 80 MW only when its start-up cost is worth it."""
        data = one_bus(tmp_path, "t0,30\nt1,80", f"up_time_before=0,start_up_cost={start_up_cost}")
        result = plan(data)
        assert not check_plan(data, result)
        assert result.plan.generators_status["unit"].tolist() == on
        assert result.objective == pytest.approx(objective)

    def test_min_down_time_keeps_a_stopped_unit_off(self, tmp_path):
        """A unit that must stop at 30 MW of load stays off min_down_time=2 snapshots,
        so the dear unit serves t2 too: 900 + 1500 + 3500 (stopping at t0 instead
        costs 4500 + 1500 + 700)."""
        data = one_bus(tmp_path, "t0,90\nt1,30\nt2,70", "min_down_time=2")
        result = plan(data)
        assert not check_plan(data, result)
        assert result.plan.generators_status["unit"].tolist() == [1, 0, 0]
        assert result.objective == pytest.approx(900 + 1500 + 3500)
        free = one_bus(tmp_path / "free", "t0,90\nt1,30\nt2,70", "")
        assert plan(free).objective == pytest.approx(900 + 1500 + 700)

    def test_checker_finds_a_broken_minimum_up_time(self, tmp_path):
        """Status edited to stop a unit one snapshot after its start, against
        min_up_time=3: the checker says so."""
        data = one_bus(tmp_path, "t0,80\nt1,80\nt2,80", "up_time_before=0,min_up_time=3")
        result = plan(data)
        status = result.plan.generators_status.copy()
        status.iloc[:, 0] = [1.0, 0.0, 0.0]
        gp = result.plan.generators_p.copy()
        gp.loc[:, "unit"] = [80.0, 0.0, 0.0]
        broken = replace(
            result, plan=replace(result.plan, generators_status=status, generators_p=gp)
        )
        assert any(v.check == "plan: min_up_time" for v in check_plan(data, broken))

    def test_time_limit_and_gap(self, tmp_path):
        """Under a time limit the MILP still reports a gap (0 here: it solves at once)."""
        data = one_bus(tmp_path, "t0,30\nt1,80", "up_time_before=0,start_up_cost=10")
        result = plan(data, solve_options=SolveOptions(time_limit_s=30.0))
        assert result.summary()["mip_gap"] == pytest.approx(0.0, abs=1e-9)
