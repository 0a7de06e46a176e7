"""``spillway plan``: flags, JSON contract, output tables, exit codes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from optimiser import SUMMARY_KEYS
from optimiser.attribution import GRID_SOURCE
from service.cli import main

pytestmark = pytest.mark.solver

MATPOWER = Path(__file__).resolve().parents[1] / "data" / "grid" / "matpower"
# The two-area network of test_attribution.py, with its hand-solved sources.
TWO_AREAS = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "two-areas"
SOURCES = "mining_sites-sources.csv"
SITE_N = "name,bus,p_nom,value\nminer_n,N,200,10\n"


class TestPlanCommand:
    def test_json_summary(self, three_bus, capsys):
        """--json prints exactly the contract's keys."""
        args = ["plan", str(three_bus(mining=SITE_N)), "--mode", "co-optimised", "--json"]
        assert main(args) == 0
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
        args = ["plan", str(three_bus(mining=SITE_N)), "--mode", "co-optimised"]
        assert main([*args, "--out", str(out_dir)]) == 0
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

    def test_binary_case_file_exits_2_naming_it(self, tmp_path, capsys):
        """A binary ``.m`` file: exit 2 and one line naming the file (no traceback)."""
        bad = tmp_path / "garbage.m"
        bad.write_bytes(b"\xff\xfe\x00\x81" * 64)
        assert main(["plan", str(bad)]) == 2
        err = capsys.readouterr().err.strip()
        assert "garbage.m" in err and "Traceback" not in err
        assert len(err.splitlines()) == 1

    def test_infeasible_exits_1_with_status_and_cause(self, three_bus, capsys):
        """No feasible plan: exit 1 with the solver's status and the likely cause."""
        folder = three_bus(loads__p_set="snapshot,load\nt0,250\nt1,900\n")
        assert main(["plan", str(folder), "--json"]) == 1
        captured = capsys.readouterr()
        out = json.loads(captured.out)
        assert out["status"] == "infeasible"
        assert "exceeds all available generation" in out["cause"]
        assert "no plan" in captured.err


def _rows(out_dir: Path) -> list[tuple[str, str, str, str, float]]:
    """The rows of the plan directory's sources table."""
    table = pd.read_csv(out_dir / SOURCES, dtype={"snapshot": str}, keep_default_na=False)
    assert tuple(table.columns) == ("snapshot", "site", "source", "carrier", "p_mw")
    return [(a, b, c, d, round(float(e), 6)) for a, b, c, d, e in table.itertuples(index=False)]


class TestSourcesTable:
    """--out writes each site's traced sources (long form) and their totals."""

    def test_two_areas_co_optimised(self, tmp_path):
        """site_a runs on 100 MW of wind at its bus; site_b on the 30 MW of wind the line
        still carries and 70 MW of grid (gas): exactly those rows and totals."""
        out_dir = tmp_path / "out"
        assert main(["plan", str(TWO_AREAS), "--mode", "co-optimised", "--out", str(out_dir)]) == 0
        assert _rows(out_dir) == [
            ("t0", "site_a", "wind", "wind", 100.0),
            ("t0", "site_b", "wind", "wind", 30.0),
            ("t0", "site_b", GRID_SOURCE, GRID_SOURCE, 70.0),
        ]
        details = json.loads((out_dir / "details.json").read_text())
        by_site_source = details["mining_mwh_by_site_and_source"]
        assert list(by_site_source) == ["site_a", "site_b"]
        assert by_site_source["site_a"] == pytest.approx({"wind": 100.0})
        assert by_site_source["site_b"] == pytest.approx({"wind": 30.0, GRID_SOURCE: 70.0})
        summary = json.loads((out_dir / "summary.json").read_text())
        assert tuple(summary) == SUMMARY_KEYS  # the contract keeps its keys

    def test_two_areas_curtailment_only(self, tmp_path):
        """With gas pinned site_b mines only the 30 MW of wind the line carries."""
        out_dir = tmp_path / "out"
        args = ["plan", str(TWO_AREAS), "--mode", "curtailment-only", "--out", str(out_dir)]
        assert main(args) == 0
        assert _rows(out_dir) == [
            ("t0", "site_a", "wind", "wind", 100.0),
            ("t0", "site_b", "wind", "wind", 30.0),
        ]

    @pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
    def test_totals_sum_to_mining_by_site(self, three_bus, tmp_path, mode):
        """Weighted by the snapshots' hours, the table adds up to details.json's totals,
        and each site's sources to summary.json's mining_mwh_by_site."""
        sites = "name,bus,p_nom,value\nminer_n,N,200,10\nminer_s,S,50,60\n"
        folder = three_bus(mining=sites, snapshots="name,weightings\nt0,3.0\nt1,0.5\n")
        out_dir = tmp_path / "out"
        assert main(["plan", str(folder), "--mode", mode, "--out", str(out_dir)]) == 0
        table = pd.read_csv(out_dir / SOURCES, dtype={"snapshot": str})
        weight_h = pd.read_csv(out_dir / "snapshots.csv", index_col="snapshot")["generators"]
        assert weight_h.to_dict() == {"t0": 3.0, "t1": 0.5}
        mwh = (
            (table["p_mw"] * table["snapshot"].map(weight_h))
            .groupby([table["site"], table["source"]])
            .sum()
        )
        details = json.loads((out_dir / "details.json").read_text())
        by_site_source = details["mining_mwh_by_site_and_source"]
        assert {(k, s) for k, v in by_site_source.items() for s in v} == set(mwh.index)
        for (site, source), value in mwh.items():
            assert by_site_source[site][source] == pytest.approx(value, rel=1e-12)
        summary = json.loads((out_dir / "summary.json").read_text())
        assert set(by_site_source) == set(summary["mining_mwh_by_site"])
        for site, mining_mwh in summary["mining_mwh_by_site"].items():
            assert sum(by_site_source[site].values()) == pytest.approx(mining_mwh, rel=1e-6)
        assert summary["mining_mwh"] > 0

    def test_storage_source_carries_its_carrier(self, tmp_path):
        """A reservoir whose spill a site avoided is a source with the storage unit's
        carrier (the demo's ``reservoir 147``, hydro), listed in storage_units.csv."""
        out_dir = tmp_path / "out"
        assert main(["plan", "--demo", "--mode", "curtailment-only", "--out", str(out_dir)]) == 0
        rows = _rows(out_dir)
        assert {c for _, _, s, c, _ in rows if s == "reservoir 147"} == {"hydro"}
        storage = pd.read_csv(out_dir / "storage_units.csv", index_col="name")
        assert storage.at["reservoir 147", "carrier"] == "hydro"

    def test_untraceable_plan_writes_no_sources(self, planned, tmp_path):
        """A plan without topology writes no sources table and no per-site totals."""
        r = dataclasses.replace(planned(TWO_AREAS), topology=None)
        written = {p.name for p in r.write(tmp_path / "out")}
        assert SOURCES not in written and "details.json" in written
        details = json.loads((tmp_path / "out" / "details.json").read_text())
        assert "mining_mwh_by_site_and_source" not in details
        assert details["mining_mwh_by_source"]["curtailed"] > 0


class TestMiningSitesFile:
    def test_adds_sites_to_a_matpower_case(self, tmp_path, capsys):
        """--mining-sites plans sites on a MATPOWER case (which has no mining table),
        an extendable one sized by the plan; case118's unrated lines are reported as
        unrated (null), never as 0 % loaded."""
        sites = tmp_path / "sites.csv"
        sites.write_text(
            "name,bus,p_nom,value,p_nom_extendable,capital_cost,p_nom_max\n"
            "fixed,10,30,500,False,0,\nsized,26,0,500,True,1,80\n"
        )
        case = str(MATPOWER / "case118.m")
        mode = ["--mode", "co-optimised"]  # the sites' value buys their energy from the grid
        assert main(["plan", case, "--mining-sites", str(sites), *mode, "--json"]) == 0
        out = json.loads(capsys.readouterr().out)
        assert out["mining_mwh_by_site"] == pytest.approx({"fixed": 30.0, "sized": 80.0})
        assert out["mining_p_nom_opt_by_site"] == pytest.approx({"sized": 80.0})
        assert out["max_line_loading"] is None
        out_dir = str(tmp_path / "o")
        assert main(["plan", case, "--mining-sites", str(sites), *mode, "--out", out_dir]) == 0
        assert "no rated lines" in capsys.readouterr().out
        loading = pd.read_csv(tmp_path / "o" / "lines-loading.csv", index_col=0)
        assert loading.isna().all().all()  # blank: unrated
        static = pd.read_csv(tmp_path / "o" / "mining_sites.csv", index_col=0)
        assert static.at["sized", "p_nom"] == pytest.approx(80.0)  # the planned size

    def test_bad_file_names_itself(self, tmp_path, capsys):
        """A site at an unknown bus: exit 2, one line naming the given file, row and field."""
        sites = tmp_path / "my_sites.csv"
        sites.write_text("name,bus,p_nom,value\nfarm,no-such-bus,30,50\n")
        case = str(MATPOWER / "case118.m")
        assert main(["plan", case, "--mining-sites", str(sites)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0
        assert "my_sites.csv line 2 ('farm'), field 'bus'" in err
