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
    "Network map: peak branch loading, curtailment and mining sites",
    "Curtailed power by carrier, before and after mining",
    "Mining load per site against its capacity",
    "Mining energy per site by source, traced through the network",
    "Branch loading over time, the ",
    "Branches mining loads: loading without and with mining",
    "Marginal price at the mining sites&#x27; buses",
    "Totals: energy absorbed, revenue and CO2 of the mining energy",
)
CHARTS = (
    "network",
    "curtailment",
    "mining",
    "sources",
    "branch_loading",
    "branch_change",
    "prices",
    "totals",
)

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


def _loading(plan_dir: Path, suffix: str = "") -> dict[tuple[str, str], pd.Series]:
    """``(kind, name) -> loading over time`` of every line and transformer."""
    out = {}
    for kind in ("line", "transformer"):
        frame = _read(plan_dir, f"{kind}s-loading{suffix}.csv").fillna(0.0)
        out.update({(kind, str(c)): frame[c] for c in frame.columns})
    return out


def _most_loaded(plan_dir: Path) -> tuple[str, str]:
    loading = _loading(plan_dir)
    return max(loading, key=lambda k: float(loading[k].max()))


def _label(plan_dir: Path, kind: str, name: str) -> str:
    """How the report names a branch: kind, name and its end buses."""
    branches = pd.read_csv(plan_dir / "network-branches.csv", dtype=str, keep_default_na=False)
    row = branches[(branches["kind"] == kind) & (branches["name"] == name)].iloc[0]
    return f"{kind} {name} ({row['bus0']}\u2013{row['bus1']})"


def _section(text: str, key: str) -> str:
    return text.split(f'<section id="{key}">', 1)[1].split("</section>", 1)[0]


def _layer(text: str, gid: str) -> str:
    """The SVG of one drawn layer (up to the next element with an id of its own)."""
    return text.split(f'<g id="{gid}">', 1)[1].split('<g id="', 1)[0]


def _marks(text: str, gid: str) -> int:
    """Markers or segments drawn in one layer: matplotlib writes each as a ``<use>`` of
    a shape in ``<defs>``, or (for few of them) as a ``<path>`` of its own."""
    layer = re.sub(r"<defs>.*?</defs>", "", _layer(text, gid), flags=re.S)
    return layer.count("<use ") + layer.count("<path ")


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
            "loading |p0|/s_max (%)",
            "peak loading |p0|/s_max (%)",
            "marginal price (currency/MWh)",
            "mining energy (MWh)",
            "energy (MWh)",
            "CO2 (t)",
        ):
            assert unit in text

    def test_legend_entries(self, report):
        """Legends name the curtailed carriers, each site's load and capacity, the site
        buses' prices and the most loaded branch, named with its end buses."""
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
        kind, name = _most_loaded(plan_dir)
        assert _label(plan_dir, kind, name) in text

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

    def test_table_sorted_and_folded(self, report):
        """Per site the table lists its largest plants first (at most SOURCES_PER_SITE,
        each equal to details.json), the rest summed in one row, grid on its own:
        together they add up to the site's traced energy."""
        from service.report.render import SOURCES_PER_SITE

        plan_dir, text, _ = report
        details = json.loads((plan_dir / "details.json").read_text())
        by_site = details["mining_mwh_by_site_and_source"]
        assert by_site
        shown = _shown_sources(text)
        folded = {
            site: (int(n), float(v))
            for site, n, v in re.findall(
                r'data-site="([^"]+)" data-folded="(\d+)" data-value="([^"]+)"', text
            )
        }
        for site, by_source in by_site.items():
            plants = sorted(
                ((mwh, src) for src, mwh in by_source.items() if src != GRID_SOURCE),
                key=lambda m: -m[0],
            )
            listed = [(src, mwh) for (s, src), mwh in shown.items() if s == site]
            listed_plants = [mwh for src, mwh in listed if src != GRID_SOURCE]
            assert listed_plants == sorted(listed_plants, reverse=True)
            assert len(listed_plants) == min(SOURCES_PER_SITE, len(plants))
            for src, mwh in listed:
                assert mwh == pytest.approx(by_source[src], rel=1e-9, abs=1e-9), (site, src)
            rest = plants[SOURCES_PER_SITE:]
            if rest:
                n, mwh = folded[site]
                assert n == len(rest)
                assert mwh == pytest.approx(sum(m for m, _ in rest), rel=1e-9, abs=1e-9)
            else:
                assert site not in folded
            total = sum(m for _, m in listed) + folded.get(site, (0, 0.0))[1]
            assert total == pytest.approx(sum(by_source.values()), rel=1e-9, abs=1e-9)

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
        assert main(["plan", str(TWO_AREAS), "--mode", "co-optimised", "--out", str(plan_dir)]) == 0
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
        assert "No breakdown by source" in section
        assert "mining_mwh_by_site_and_source" in section
        assert "<svg" not in section and "<table" not in section
        assert text.count("<svg") == len(CHARTS) - 1
        assert sorted(p.stem for p in png.iterdir()) == sorted(set(CHARTS) - {"sources"})

    def test_bad_sources_in_details(self, report, tmp_path, capsys):
        """details.json's traced sources holding a non-number: exit 2, the message names
        the file and the entry."""
        plan_dir, _, _ = report
        bad = tmp_path / "bad_plan"
        bad.mkdir()
        for path in plan_dir.iterdir():
            (bad / path.name).write_bytes(path.read_bytes())
        details = json.loads((bad / "details.json").read_text())
        site = next(iter(details["mining_mwh_by_site_and_source"]))
        details["mining_mwh_by_site_and_source"][site] = {"wind": "lots"}
        (bad / "details.json").write_text(json.dumps(details))
        assert main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err
        assert f"{bad / 'details.json'}: mining_mwh_by_site_and_source.{site}.wind" in err
        assert "expected a number, got 'lots'" in err


class TestNetworkMap:
    """The map: every bus and branch drawn, where they are, with what matters marked."""

    def test_every_bus_and_branch_drawn(self, report):
        """One bus marker per bus and one segment per branch of the plan's network."""
        plan_dir, text, _ = report
        section = _section(text, "network")
        buses = pd.read_csv(plan_dir / "network-buses.csv")
        branches = pd.read_csv(plan_dir / "network-branches.csv")
        assert _marks(section, "map-buses") == len(buses)
        assert _marks(section, "map-branches") == len(branches)
        assert _marks(section, "change-branches") == len(branches)

    def test_congested_branches_and_sites_marked(self, report):
        """One mark per branch at its rating at some snapshot (lines and transformers),
        one square per mining site, named."""
        plan_dir, text, _ = report
        section = _section(text, "network")
        congested = [k for k, v in _loading(plan_dir).items() if float(v.max()) >= 0.999]
        assert _marks(section, "map-congested") == len(congested)
        sites = _read(plan_dir, "mining_sites.csv")
        assert _marks(section, "map-sites") == len(sites)
        for site in sites.index:
            assert f">{site}<" in section

    def test_curtailed_buses_drawn(self, report):
        """One ring (and one disc) per bus whose plants are curtailed without mining."""
        plan_dir, text, _ = report
        section = _section(text, "network")
        weight_h = _read(plan_dir, "snapshots.csv")["generators"].to_numpy()
        before = _read(plan_dir, "generators-curtailment_base.csv").mul(weight_h, axis=0).sum()
        bus = pd.read_csv(plan_dir / "generators.csv", dtype=str).set_index("name")["bus"]
        curtailed = before.groupby(bus.reindex(before.index)).sum()
        n = int((curtailed > 0).sum())
        assert n > 0
        assert _marks(section, "map-curtailed-before") == n
        assert _marks(section, "map-curtailed-after") == n

    def test_coordinates_where_the_network_has_them(self, report, request):
        """SciGRID-DE's buses are drawn at their x, y; the others by a graph layout."""
        _, text, _ = report
        section = _section(text, "network")
        scigrid = request.node.callspec.params["report"] == "scigrid"
        assert ("buses at their coordinates" in section) == scigrid
        assert ("buses by a graph layout" in section) != scigrid

    def test_scigrid_map_is_germany_shaped(self, tmp_path):
        """At their coordinates, bus 1 (Hannover) is drawn west of and south of the
        northernmost bus, as on a map (y grows up)."""
        from service.report.layout import bus_positions

        buses = pd.read_csv(SCIGRID / "buses.csv", dtype={"name": str})
        pos = bus_positions(list(buses["name"]), [], buses["x"].to_numpy(), buses["y"].to_numpy())
        assert pos.source == "coordinates" and pos.geographic
        north = int(np.argmax(pos.xy[:, 1]))
        assert buses["name"][north] != "1"
        assert pos.xy[:, 1].max() > 54.0 and pos.xy[:, 1].min() < 48.0


class TestLayout:
    def test_layout_keeps_islands_apart_and_is_repeatable(self):
        """Without coordinates: two islands laid out side by side, no two buses at one
        point, the same positions every time."""
        from service.report.layout import bus_positions

        names = [f"b{i}" for i in range(8)]
        edges = [("b0", "b1"), ("b1", "b2"), ("b2", "b0"), ("b3", "b4"), ("b4", "b5")]
        edges += [("b5", "b6"), ("b6", "b3")]  # b7 alone
        first = bus_positions(names, edges, None, None)
        again = bus_positions(names, edges, None, None)
        assert first.source == "layout" and "no x, y" in first.why_layout
        np.testing.assert_array_equal(first.xy, again.xy)
        distinct = {tuple(np.round(p, 9)) for p in first.xy}
        assert len(distinct) == len(names)
        big, small = first.xy[3:7, 0], first.xy[0:3, 0]  # the 4-bus island comes first
        assert big.max() < small.min()

    def test_partial_coordinates_fall_back_to_a_layout(self):
        """A bus without x, y: the whole network is laid out, and the reason given."""
        from service.report.layout import bus_positions

        x = np.array([1.0, 2.0, np.nan])
        pos = bus_positions(["a", "b", "c"], [("a", "b"), ("b", "c")], x, np.ones(3))
        assert pos.source == "layout" and pos.why_layout == "1 of 3 buses have no x, y"

    def test_edge_to_an_unknown_bus_is_refused(self):
        """A branch naming a bus the network lacks: ValueError naming both ends."""
        from service.report.layout import bus_positions

        with pytest.raises(ValueError, match="branch a-z names a bus"):
            bus_positions(["a", "b"], [("a", "z")], None, None)


class TestCongestion:
    def test_demo_transformers_in_the_heatmap(self, tmp_path_factory):
        """The demo's four step-up transformers at their rating (1.0 loading in
        transformers-loading.csv) are in the heatmap, named with their end buses."""
        root = tmp_path_factory.mktemp("demo_congestion")
        plan_dir = _plan_dir(root, "demo")
        out = root / "r.html"
        assert main(["report", str(plan_dir), "--out", str(out)]) == 0
        section = _section(out.read_text(encoding="utf-8"), "branch_loading")
        loading = _read(plan_dir, "transformers-loading.csv").max()
        at_rating = [str(k) for k, v in loading.items() if v >= 0.999]
        assert len(at_rating) == 4
        for name in at_rating:
            assert _label(plan_dir, "transformer", name) in section

    def test_heatmap_ranks_lines_and_transformers_together(self, report):
        """The heatmap shows the branches of highest peak loading, of either kind."""
        plan_dir, text, _ = report
        section = _section(text, "branch_loading")
        loading = _loading(plan_dir)
        ranked = sorted(loading, key=lambda k: -float(loading[k].max()))
        from service.report.congestion import HEATMAP_BRANCHES

        top = ranked[: min(HEATMAP_BRANCHES, len(ranked))]
        peak = float(loading[top[-1]].max())
        for kind, name in top:
            if float(loading[(kind, name)].max()) > peak:  # ties at the cut may go either way
                assert _label(plan_dir, kind, name) in section

    def test_change_view_shows_the_branches_mining_moves(self, report):
        """The before/after view lists the branches whose loading mining changes most
        (largest |with - without| at any snapshot), or says none moved."""
        from service.report.congestion import CHANGE_BRANCHES, MOVED_PU

        plan_dir, text, _ = report
        section = _section(text, "branch_change")
        after, before = _loading(plan_dir), _loading(plan_dir, "_base")
        change = {k: float((after[k] - before[k]).abs().max()) for k in after}
        moved = sorted((k for k in change if change[k] >= MOVED_PU), key=lambda k: -change[k])
        if not moved:
            assert "Mining changes no branch" in section
            return
        shown = moved[: min(CHANGE_BRANCHES, len(moved))]
        cut = change[shown[-1]]
        for kind, name in shown:
            if change[(kind, name)] > cut:
                assert _label(plan_dir, kind, name) in section


# The three-bus scenario with what operators leave out: no CO2 factors, one unrated
# line; and a variant with no mining sites at all.
LACKING = {
    **THREE_BUS,
    "lines.csv": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\nNM,N,M,1,inf\nMS,M,S,1,1000\n",
    "carriers.csv": "name\ngas\nwind\nsolar\n",
    "mining_sites.csv": "name,bus,p_nom,value\nminer_n,N,100,10\nminer_s,S,300,60\n",
}


def _report_of(root: Path, tables: dict[str, str], mode: str) -> tuple[Path, str]:
    folder = root / "scenario"
    folder.mkdir()
    for file, text in tables.items():
        (folder / file).write_text(text)
    plan_dir, out = root / "plan", root / "r.html"
    plan(read_pypsa_folder(folder), mode=mode).write(plan_dir)
    assert main(["report", str(plan_dir), "--out", str(out)]) == 0
    return plan_dir, out.read_text(encoding="utf-8")


class TestNotes:
    def test_missing_inputs_are_noted(self, tmp_path):
        """No CO2 factors while other generation was bought: the note says so and the
        totals show n/a, not 0; the unrated line is named."""
        plan_dir, text = _report_of(tmp_path, LACKING, "co-optimised")
        details = json.loads((plan_dir / "details.json").read_text())
        assert details["mining_mwh_by_source"]["other"] > 0
        notes = _section(text, "notes")
        assert "no CO2 factors" in notes and "unknown, not zero" in notes
        assert 'data-key="mining_co2_t" data-value="nan">n/a<' in text
        assert "1 of 3 branches have no rating" in notes and "line NM (N\u2013M)" in notes

    def test_no_mining_sites_noted(self, tmp_path):
        """A scenario without mining sites: the report says nothing was mined and why."""
        tables = {**THREE_BUS, "mining_sites.csv": "name,bus,p_nom,value\n"}
        _, text = _report_of(tmp_path, tables, "co-optimised")
        assert "This plan has no mining sites" in _section(text, "notes")

    def test_quiet_demo_site_and_scigrid_prices_explained(self, report, request):
        """The demo's city-129 mined nothing (noted, with why); SciGRID-DE's
        curtailment-only bus prices above every generator's cost are explained."""
        plan_dir, text, _ = report
        case = request.node.callspec.params["report"]
        if case == "demo":
            assert "Site city-129 (bus 129) mined nothing" in _section(text, "notes")
        prices = _read(plan_dir, "buses-marginal_price.csv").to_numpy().max()
        dearest = _read(plan_dir, "generators.csv")["marginal_cost"].max()
        value = _read(plan_dir, "mining_sites-value.csv").to_numpy().max()
        explained = "re-routing renewable output around congested branches" in text
        assert explained == (prices > max(dearest, value) + 1e-6)
        if case == "scigrid":
            assert explained


class TestTimeTicks:
    def test_hourly_ticks_are_short(self):
        """A day of hourly snapshots: ticks every 3 h as HH:MM, the day at the first,
        the year on the axis; names that are not times are thinned, kept as they are."""
        from service.report.base import time_tick_labels

        day = tuple(f"2011-01-01 {h:02d}:00:00" for h in range(24))
        ticks, labels, axis = time_tick_labels(day)
        assert ticks == list(range(0, 24, 3))
        assert labels[0] == "00:00\n01 Jan" and labels[1:3] == ["03:00", "06:00"]
        assert axis == "time (2011)"
        ticks, labels, axis = time_tick_labels(tuple(f"t{i}" for i in range(20)))
        assert labels == [f"t{i}" for i in ticks] and len(ticks) <= 8 and axis == "snapshot"


class TestMiningSizes:
    def test_sized_sites_are_shown_with_their_planned_size(self, tmp_path):
        """A site sized by the plan is named with its size in the report's header, and
        the plan directory gives it that size (the map draws sites by it); a MATPOWER
        case without ratings says so instead of a 0 % loading."""
        sites = tmp_path / "sites.csv"
        sites.write_text(
            "name,bus,p_nom,value,p_nom_extendable,capital_cost,p_nom_max\n"
            "sized,26,0,500,True,1,80\n"
        )
        plan_dir, out = tmp_path / "plan", tmp_path / "report.html"
        case = str(GRID / "matpower" / "case118.m")
        mode = ["--mode", "co-optimised"]  # the site buys its energy: plan's default mines none
        args = ["--mining-sites", str(sites), *mode, "--out", str(plan_dir)]
        assert main(["plan", case, *args]) == 0
        assert main(["report", str(plan_dir), "--out", str(out)]) == 0
        head = out.read_text(encoding="utf-8").split("<h2>Totals</h2>", 1)[0]
        assert "sized by the plan: sized 80.0 MW" in head
        assert "no rated lines" in head
