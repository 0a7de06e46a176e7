"""``spillway report``: a self-contained HTML report and PNGs from a plan directory."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

from optimiser import plan, read_demo, read_pypsa_folder
from optimiser.attribution import GRID_SOURCE
from service.cli import main

pytestmark = pytest.mark.solver

GRID = Path(__file__).resolve().parents[2] / "data" / "grid"
SCIGRID = GRID / "pypsa" / "scigrid-de-2017"
TWO_AREAS = GRID / "pypsa" / "two-areas"
SOURCES = "mining_sites-sources.csv"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TITLES = (
    "Curtailed power by carrier, before and after mining",
    "Mining load per site against its capacity",
    "Mining energy per site by source, traced through the network",
    "Line loading over time, the ",
    "Marginal price at the mining sites&#x27; buses",
    "Totals: energy absorbed, revenue and CO2 of the mining energy",
)
CHARTS = ("curtailment", "mining", "sources", "line_loading", "prices", "totals")

# The hand-solvable three-bus network of tests/optimiser, with a wind and a solar
# plant at N behind the congested line NS and two sites (one at N, one at S).
THREE_BUS = {
    "snapshots.csv": "name,weightings\nt0,1.0\nt1,1.0\nt2,1.0\n",
    "buses.csv": "name,v_nom\nN,1\nM,1\nS,1\n",
    "lines.csv": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,M,1,1000\nMS,M,S,1,1000\n",
    "generators.csv": "name,bus,carrier,p_nom,marginal_cost\n"
    "wind,N,wind,300,0\nsun,N,solar,100,0\ngas,S,gas,500,50\n",
    "generators-p_max_pu.csv": "snapshot,wind,sun\nt0,1.0,0.0\nt1,0.4,0.5\nt2,0.8,1.0\n",
    "loads.csv": "name,bus\nload,S\n",
    "loads-p_set.csv": "snapshot,load\nt0,250\nt1,250\nt2,250\n",
    "carriers.csv": "name,co2_emissions\ngas,0.2\nwind,0\nsolar,0\n",
    "mining_sites.csv": "name,bus,p_nom,value\nminer_n,N,100,10\nminer_s,S,50,60\n",
}


def _plan_dir(root: Path, name: str) -> Path:
    """Plan the scenario and write its plan directory, as `spillway plan --out` does."""
    if name == "three_bus":
        folder = root / "scenario"
        folder.mkdir()
        for file, text in THREE_BUS.items():
            (folder / file).write_text(text)
        data = read_pypsa_folder(folder)
    elif name == "demo":  # the embedded demo day that `make run` plays
        data = read_demo()
    else:  # SciGRID-DE, the first 3 snapshots keep it quick
        data = read_pypsa_folder(SCIGRID).head(3)
    out = root / "plan"
    plan(data, mode="curtailment-only").write(out)
    return out


@pytest.fixture(scope="module", params=["three_bus", "demo", "scigrid"])
def report(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(plan dir, HTML text, PNG dir) after `spillway report PLAN_DIR --out --png`."""
    root = tmp_path_factory.mktemp(request.param)
    plan_dir = _plan_dir(root, request.param)
    out, png = root / "report.html", root / "png"
    assert main(["report", str(plan_dir), "--out", str(out), "--png", str(png)]) == 0
    return plan_dir, out.read_text(encoding="utf-8"), png


def _read(plan_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(plan_dir / name, index_col=0)


class TestHtml:
    def test_self_contained(self, report):
        """Nothing to fetch: no http(s) or protocol-relative reference, no script or link."""
        _, text, _ = report
        assert text.startswith("<!DOCTYPE html>")
        assert not re.search(r"https?://", text)
        assert not re.search(r"""(?:src|href)\s*=\s*["']?//""", text)
        assert not re.search(r"<(?:script|link|iframe|img)\b", text)
        assert "@import" not in text
        assert "<style>" in text
        assert text.count("<svg") == len(CHARTS)

    def test_titles_and_units(self, report):
        """Every chart's title and axis units are in the file, as text."""
        _, text, _ = report
        for title in TITLES:
            assert title in text
        for unit in (
            "curtailed power (MW)",
            "power (MW)",
            "loading |p0|/s_nom (%)",
            "marginal price (currency/MWh)",
            "mining energy (MWh)",
            "energy (MWh)",
            "CO2 (t)",
        ):
            assert unit in text

    def test_legend_entries(self, report):
        """Legends name the curtailed carriers, each site's load and capacity, the site
        buses' prices and the most loaded line."""
        plan_dir, text, _ = report
        details = json.loads((plan_dir / "details.json").read_text())
        curtailed = [
            c
            for c, v in details["curtailment_mwh_before_by_carrier"].items()
            if v > 0 and c != "spill"
        ]
        assert curtailed
        for carrier in curtailed:
            assert f">{carrier}<" in text
        sites = _read(plan_dir, "mining_sites.csv")
        for site, bus in sites["bus"].items():
            assert f"{site} load (bus {bus})" in text
            assert f"{site} capacity" in text
            assert f"bus {bus} (" in text
        loading = _read(plan_dir, "lines-loading.csv")
        assert f"line {loading.max().idxmax()}" in text

    def test_totals_equal_plan_figures(self, report):
        """The totals table shows summary.json's and details.json's figures, and the
        revenue of the mined energy at the sites' values."""
        plan_dir, text, _ = report
        shown = {k: float(v) for k, v in re.findall(r'data-key="(\w+)" data-value="([^"]+)"', text)}
        summary = json.loads((plan_dir / "summary.json").read_text())
        details = json.loads((plan_dir / "details.json").read_text())
        expected = {
            "mining_mwh": summary["mining_mwh"],
            "curtailment_mwh_before": summary["curtailment_mwh_before"],
            "curtailment_mwh_after": summary["curtailment_mwh_after"],
            "mining_mwh_curtailed": details["mining_mwh_by_source"]["curtailed"],
            "mining_mwh_other": details["mining_mwh_by_source"]["other"],
            "mining_co2_t": details["mining_co2_t"],
        }
        for key, value in expected.items():
            assert shown[key] == pytest.approx(value, rel=1e-12, abs=1e-9), key
        weight_h = _read(plan_dir, "snapshots.csv")["generators"].to_numpy()
        p = _read(plan_dir, "mining_sites-p.csv")
        value = _read(plan_dir, "mining_sites-value.csv")[p.columns]
        revenue = float((p.to_numpy() * value.to_numpy() * weight_h[:, None]).sum())
        assert shown["revenue"] == pytest.approx(revenue, rel=1e-9)
        assert summary["mining_mwh"] > 0


class TestPng:
    @pytest.mark.parametrize("chart", CHARTS)
    def test_png_decodes_and_is_not_blank(self, report, chart):
        """One PNG per chart: right signature, a sensible size, many colours."""
        _, _, png_dir = report
        raw = (png_dir / f"{chart}.png").read_bytes()
        assert raw[:8] == PNG_SIGNATURE
        width, height = struct.unpack(">II", raw[16:24])  # IHDR
        assert width >= 600 and height >= 250
        pixels = imread(png_dir / f"{chart}.png")
        assert pixels.shape[:2] == (height, width)
        rgb = (pixels[..., :3] * 255).astype(np.int64)
        colours = np.unique(rgb[..., 0] << 16 | rgb[..., 1] << 8 | rgb[..., 2])
        assert len(colours) > 20


class TestPlanDirTables:
    def test_curtailment_tables_match_details(self, report):
        """The plan directory's curtailment tables add up to details.json per carrier."""
        plan_dir, _, _ = report
        details = json.loads((plan_dir / "details.json").read_text())
        gens = _read(plan_dir, "generators.csv")
        weight_h = _read(plan_dir, "snapshots.csv")["generators"].to_numpy()
        for table, key in (
            ("generators-curtailment_base.csv", "curtailment_mwh_before_by_carrier"),
            ("generators-curtailment.csv", "curtailment_mwh_after_by_carrier"),
        ):
            energy = _read(plan_dir, table).mul(weight_h, axis=0).sum()
            by_carrier = energy.groupby(gens["carrier"].reindex(energy.index)).sum()
            for carrier, mwh in details[key].items():
                if carrier != "spill":
                    assert by_carrier[carrier] == pytest.approx(mwh, rel=1e-9, abs=1e-6)


class TestBadInput:
    def test_missing_plan_dir(self, tmp_path, capsys):
        """A PLAN_DIR that does not exist: exit 2, the message names it."""
        missing = tmp_path / "nowhere"
        assert main(["report", str(missing), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert str(missing) in err and "no such plan directory" in err
        assert not (tmp_path / "r.html").exists()

    def test_directory_without_plan_tables(self, tmp_path, capsys):
        """A directory that is not a plan: exit 2, names the path and what is missing."""
        (tmp_path / "notes.txt").write_text("not a plan\n")
        assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert f"{tmp_path}: not a plan directory" in err
        assert "summary.json" in err and "generators.csv" in err

    def test_plan_dir_missing_one_table(self, report, tmp_path, capsys):
        """A plan directory lacking one table (e.g. written before it existed): exit 2,
        the message names the directory and that file only."""
        plan_dir, _, _ = report
        old = tmp_path / "old_plan"
        old.mkdir()
        for path in plan_dir.iterdir():
            if path.name != "mining_sites.csv":
                (old / path.name).write_bytes(path.read_bytes())
        assert main(["report", str(old), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert f"{old}: not a plan directory, missing mining_sites.csv (" in err


def _shown_sources(text: str) -> dict[tuple[str, str], float]:
    """``(site, source) -> MWh`` of the report's sources table."""
    found = re.findall(r'data-site="([^"]+)" data-source="([^"]+)" data-value="([^"]+)"', text)
    return {(site, source): float(v) for site, source, v in found}


class TestSources:
    """The chart and table of each site's mining energy by traced source."""

    def test_table_equals_details(self, report):
        """The sources table shows details.json's per-site, per-source MWh, every pair."""
        plan_dir, text, _ = report
        details = json.loads((plan_dir / "details.json").read_text())
        expected = {
            (site, source): mwh
            for site, by_source in details["mining_mwh_by_site_and_source"].items()
            for source, mwh in by_source.items()
        }
        assert expected
        shown = _shown_sources(text)
        assert shown.keys() == expected.keys()
        for key, mwh in expected.items():
            assert shown[key] == pytest.approx(mwh, rel=1e-9, abs=1e-9), key

    def test_caption_says_how_it_was_traced(self, report):
        """The caption names the method: proportional sharing of the plan's flow change."""
        _, text, _ = report
        section = text.split('<section id="sources">', 1)[1].split("</section>", 1)[0]
        assert "proportional sharing of the plan&#x27;s flow change" in section
        assert "through the network" in section
        assert section.count("<svg") == 1 and '<table class="sources">' in section

    def test_two_areas_chart_and_table(self, tmp_path):
        """`spillway plan --out` then `spillway report` on the two-area network: the table
        shows site_a 100 MWh wind, site_b 30 wind + 70 grid; the legend wind and grid."""
        plan_dir, out, png = tmp_path / "plan", tmp_path / "report.html", tmp_path / "png"
        assert main(["plan", str(TWO_AREAS), "--out", str(plan_dir)]) == 0
        assert main(["report", str(plan_dir), "--out", str(out), "--png", str(png)]) == 0
        text = out.read_text(encoding="utf-8")
        assert _shown_sources(text) == pytest.approx(
            {("site_a", "wind"): 100.0, ("site_b", "wind"): 30.0, ("site_b", GRID_SOURCE): 70.0}
        )
        section = text.split('<section id="sources">', 1)[1].split("</section>", 1)[0]
        assert "Legend: wind; grid." in section
        assert (png / "sources.png").read_bytes()[:8] == PNG_SIGNATURE

    def test_old_plan_dir_without_sources_renders(self, report, tmp_path):
        """A plan directory written before the sources table existed still renders: every
        other chart is drawn, and the sources section says the breakdown is absent."""
        plan_dir, _, _ = report
        old = tmp_path / "old_plan"
        old.mkdir()
        for path in plan_dir.iterdir():
            if path.name not in (SOURCES, "storage_units.csv"):
                (old / path.name).write_bytes(path.read_bytes())
        details = json.loads((old / "details.json").read_text())
        del details["mining_mwh_by_site_and_source"]
        (old / "details.json").write_text(json.dumps(details))
        out, png = tmp_path / "r.html", tmp_path / "png"
        assert main(["report", str(old), "--out", str(out), "--png", str(png)]) == 0
        text = out.read_text(encoding="utf-8")
        section = text.split('<section id="sources">', 1)[1].split("</section>", 1)[0]
        assert "No breakdown by source" in section and SOURCES in section
        assert "<svg" not in section and "<table" not in section
        assert text.count("<svg") == len(CHARTS) - 1
        assert sorted(p.stem for p in png.iterdir()) == sorted(set(CHARTS) - {"sources"})

    def test_bad_sources_table(self, report, tmp_path, capsys):
        """A sources table lacking a column: exit 2, the message names the file."""
        plan_dir, _, _ = report
        bad = tmp_path / "bad_plan"
        bad.mkdir()
        for path in plan_dir.iterdir():
            (bad / path.name).write_bytes(path.read_bytes())
        (bad / SOURCES).write_text("snapshot,site,source,p_mw\n")
        assert main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert f"{bad / SOURCES}: no column carrier" in err
