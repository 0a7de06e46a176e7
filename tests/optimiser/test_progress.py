"""Solver progress: HiGHS log read into events, drawn on a terminal, quiet otherwise."""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optimiser import Planner, SolveOptions, SolveProgress, read_pypsa_folder
from service.cli import main
from service.cli.progress import ProgressDisplay
from service.testing import read_terminal

pytestmark = pytest.mark.solver

SCIGRID = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "scigrid-de-2017"
SITE_N = "name,bus,p_nom,value\nminer_n,N,200,10\n"


@pytest.fixture(scope="module")
def solved() -> tuple[list[SolveProgress], Planner]:
    """SciGRID-DE (2 snapshots) planned once with a progress callback."""
    events: list[SolveProgress] = []
    data = read_pypsa_folder(SCIGRID).head(2)
    planner = Planner(
        data, mode="curtailment-only", solve_options=SolveOptions(progress=events.append)
    )
    result = planner.plan()
    assert result.status == "optimal"
    return events, planner


class TestHighsLogEvents:
    def test_iterations_from_the_log(self, solved):
        """The cold base solve reports interior point iterations 0, 1, 2, ... with a finite
        objective, and its final count matches HiGHS's own."""
        events, _ = solved
        ipm = [e for e in events if e.label == "base" and e.method == "ipm"]
        assert len(ipm) >= 5
        assert [e.iteration for e in ipm[:3]] == [0, 1, 2]
        assert all(math.isfinite(e.objective) for e in ipm)
        assert all(a.elapsed_s <= b.elapsed_s for a, b in itertools.pairwise(ipm))

    def test_each_run_ends_with_its_status(self, solved):
        """Both runs (base, mining) end with a `done` event carrying HiGHS's status."""
        events, _ = solved
        done = [e for e in events if e.method == "done"]
        assert [e.label for e in done] == ["base", "mining"]
        assert all(e.status == "Optimal" for e in done)

    def test_log_not_left_on(self, solved, capfd):
        """The log is read, never printed, and is off again after the run: a re-plan
        without a progress callback prints nothing."""
        _, planner = solved
        planner.base_highs.options = SolveOptions()
        planner.highs.options = SolveOptions()
        planner.plan()
        out, err = capfd.readouterr()
        assert out == "" and err == ""


class TestDisplay:
    def test_draws_stages_and_iterations(self, solved):
        """On a terminal the display shows each stage with its time and the iterations."""
        events, _ = solved
        stream = io.StringIO()
        display = ProgressDisplay(stream, enabled=True)
        with display.stage("solve"):
            for event in events:
                display.solver(event)
        text = stream.getvalue()
        assert "solve base: ipm iteration 0" in text
        assert "solve mining: Optimal after" in text
        assert "✓ solve" in text and text.endswith(" s\n")
        assert all(
            len(line) <= display.width for line in text.replace("\r\x1b[K", "\n").split("\n")
        )

    def test_quiet_when_not_a_terminal(self):
        """A stream that is not a terminal gets nothing."""
        stream = io.StringIO()
        display = ProgressDisplay(stream)
        assert not display.enabled
        with display.stage("solve"):
            display.solver(SolveProgress("base", "ipm", 3, 1.0, 0.1))
        assert stream.getvalue() == ""

    def test_plan_json_stays_pure(self, tmp_path, capsys):
        """`spillway plan --json` with stderr not a terminal: stdout is JSON, stderr empty."""
        assert main(["plan", str(_two_bus(tmp_path)), "--json"]) == 0
        captured = capsys.readouterr()
        assert captured.err == ""
        assert json.loads(captured.out)["status"] == "optimal"

    def test_plan_on_a_terminal_shows_stages(self, tmp_path):
        """`spillway plan --json` with stderr a (pseudo-)terminal: the stages and the
        solver's status are drawn there, stdout is still pure JSON."""
        primary, secondary = os.openpty()
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "service.cli", "plan", str(_two_bus(tmp_path)), "--json"],
                stdout=subprocess.PIPE,
                stderr=secondary,
                timeout=60,
                check=True,
            )
            os.close(secondary)
            drawn = read_terminal(primary).decode()
        finally:
            os.close(primary)
        for stage in ("✓ read scenario", "✓ build model", "✓ solve"):
            assert stage in drawn
        assert "solve mining: Optimal after" in drawn
        assert json.loads(proc.stdout)["status"] == "optimal"


def _two_bus(tmp_path: Path) -> Path:
    """A one-snapshot two-bus case with a site behind a congested line."""
    folder = tmp_path / "two_bus"
    folder.mkdir()
    for name, text in {
        "snapshots.csv": "name,weightings\nt0,1.0\n",
        "buses.csv": "name,v_nom\nN,1\nS,1\n",
        "lines.csv": "name,bus0,bus1,x,s_nom\nNS,N,S,1,100\n",
        "generators.csv": "name,bus,carrier,p_nom,marginal_cost\n"
        "wind,N,wind,300,0\ngas,S,gas,500,50\n",
        "loads.csv": "name,bus\nload,S\n",
        "loads-p_set.csv": "snapshot,load\nt0,250\n",
        "mining_sites.csv": SITE_N,
    }.items():
        (folder / name).write_text(text)
    return folder
