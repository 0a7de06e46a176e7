"""``spillway plan``: flags, JSON contract, output tables, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optimiser import SUMMARY_KEYS
from service.cli import main

pytestmark = pytest.mark.solver

MATPOWER = Path(__file__).resolve().parents[1] / "data" / "grid" / "matpower"
SITE_N = "name,bus,p_nom,value\nminer_n,N,200,10\n"


class TestPlanCommand:
    def test_json_summary(self, three_bus, capsys):
        """--json prints exactly the contract's keys."""
        assert main(["plan", str(three_bus(mining=SITE_N)), "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert tuple(out) == SUMMARY_KEYS
        assert out["status"] == "optimal"
        assert out["mode"] == "co-optimised"
        assert out["objective"] == pytest.approx(10000.0)
        assert out["mining_mwh_by_site"] == pytest.approx({"miner_n": 150.0})
        assert out["curtailment_mwh_before"] == pytest.approx(150.0)
        assert out["curtailment_mwh_after"] == pytest.approx(0.0, abs=1e-6)
        assert out["max_line_loading"] == pytest.approx(1.0)
        assert set(out["timings"]) == {"read_s", "build_s", "solve_s", "total_s"}
        assert out["timings"]["read_s"] > 0

    def test_mode_and_snapshots(self, three_bus, capsys):
        """--mode and --snapshots reach the planner."""
        folder = str(three_bus(mining=SITE_N))
        args = ["plan", folder, "--mode", "curtailment-only", "--snapshots", "1", "--json"]
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["mode"] == "curtailment-only"
        assert out["mining_mwh"] == pytest.approx(150.0)

    def test_out_writes_pypsa_tables(self, three_bus, tmp_path, capsys):
        """--out writes PyPSA-named tables and summary.json (same as --json)."""
        out_dir = tmp_path / "out"
        assert main(["plan", str(three_bus(mining=SITE_N)), "--out", str(out_dir)]) == 0
        assert "optimal (co-optimised)" in capsys.readouterr().out
        for name in (
            "generators-p.csv",
            "lines-p0.csv",
            "transformers-p0.csv",
            "storage_units-p.csv",
            "storage_units-spill.csv",
            "buses-marginal_price.csv",
            "mining_sites-p.csv",
            "summary.json",
        ):
            assert (out_dir / name).is_file(), name
        summary = json.loads((out_dir / "summary.json").read_text())
        assert tuple(summary) == SUMMARY_KEYS
        assert "miner_n" in (out_dir / "mining_sites-p.csv").read_text()

    def test_out_refuses_a_scenario_folder(self, three_bus, capsys):
        """--out pointing at a scenario folder: exit 2, its tables untouched."""
        folder = three_bus(mining=SITE_N)
        before = (folder / "generators.csv").read_text()
        assert main(["plan", str(folder), "--out", str(folder)]) == 2
        assert f"{folder}: holds a scenario" in capsys.readouterr().err
        assert (folder / "generators.csv").read_text() == before
        assert not (folder / "summary.json").exists()

    def test_matpower_case(self, capsys):
        """A MATPOWER case plans from the command line."""
        assert main(["plan", str(MATPOWER / "case118.m"), "--snapshots", "2", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["status"] == "optimal"


class TestExitCodes:
    def test_bad_input_exits_2_and_solves_nothing(self, three_bus, tmp_path, capsys):
        """Invalid input: exit 2, the error names file, line and field, no output written."""
        folder = three_bus(lines="name,bus0,bus1,x,s_nom\nNS,N,S,-1,100\n")
        out_dir = tmp_path / "out"
        assert main(["plan", str(folder), "--out", str(out_dir), "--json"]) == 2
        captured = capsys.readouterr()
        assert "lines.csv line 2 ('NS'), field 'x'" in captured.err
        assert captured.out == ""
        assert not out_dir.exists()

    def test_infeasible_exits_1_with_status_and_cause(self, three_bus, capsys):
        """No feasible plan: exit 1 with the solver's status and the likely cause."""
        folder = three_bus(loads__p_set="snapshot,load\nt0,250\nt1,900\n")
        assert main(["plan", str(folder), "--json"]) == 1
        captured = capsys.readouterr()
        out = json.loads(captured.out)
        assert out["status"] == "infeasible"
        assert "exceeds all available generation" in out["cause"]
        assert "no plan" in captured.err
