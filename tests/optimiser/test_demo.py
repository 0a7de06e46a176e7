"""The embedded demo scenario: it loads, curtails, congests, and both modes plan."""

from __future__ import annotations

import importlib.util
import json
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from optimiser import SUMMARY_KEYS, GridData, PlanResult, demo_scenario_path, plan, read_demo
from optimiser.demo import DEMO_SITES
from service.cli import main

if TYPE_CHECKING:
    from collections.abc import Callable

pytestmark = pytest.mark.solver

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build_demo.py"

FILES = (
    "README.md",
    "buses.csv",
    "carriers.csv",
    "generators-p_max_pu.csv",
    "generators.csv",
    "lines.csv",
    "loads-p_set.csv",
    "loads.csv",
    "mining_sites.csv",
    "snapshots.csv",
    "storage_units-inflow.csv",
    "storage_units.csv",
    "transformers.csv",
)


@pytest.fixture(scope="module")
def demo() -> GridData:
    """The demo scenario, all 24 snapshots."""
    return read_demo()


@pytest.fixture(scope="module")
def demo_plans(demo: GridData) -> dict[str, PlanResult]:
    """Both modes planned on the demo (checked in the tests)."""
    return {mode: plan(demo, mode=mode) for mode in ("co-optimised", "curtailment-only")}


class TestDemoData:
    def test_package_data_has_every_table(self) -> None:
        """The installed package carries the scenario's tables (importlib.resources)."""
        folder = files("optimiser.demo").joinpath("scenario")
        for name in FILES:
            assert folder.joinpath(name).is_file(), name

    def test_loads_and_validates(self, demo: GridData) -> None:
        """The demo reads: 200 buses, 245 branches, 24 hours, the four sites."""
        assert len(demo.buses) == 200
        assert len(demo.branches) == 245
        assert demo.n_snapshots == 24
        assert demo.mining_sites.names == DEMO_SITES
        assert {"wind", "solar", "ror"} <= set(demo.generators.carrier)
        assert demo.storage_units.carrier == ("hydro",)
        assert demo_scenario_path().is_dir()

    def test_snapshots_option(self) -> None:
        """``read_demo(n_snapshots=N)`` keeps the first N hours."""
        assert read_demo(n_snapshots=3).n_snapshots == 3


class TestDemoBasePlan:
    def test_curtails_renewables_and_spills_water(self, demo_plans: dict[str, PlanResult]) -> None:
        """Without mining, wind/solar/river are curtailed and the reservoir spills at times."""
        r = demo_plans["curtailment-only"]
        curtailed = (r.generators_available_mw - r.base.generators_p).clip(lower=0)
        curtailed = curtailed.loc[:, r.renewable]
        per_t = curtailed.sum(axis=1).to_numpy()
        assert (per_t > 1.0).sum() >= 6
        assert (per_t < 1.0).any(), "availability exceeds the grid only at times"
        spill = r.base.storage_units_spill.sum(axis=1).to_numpy()
        assert (spill > 1.0).any()

    def test_some_branch_congests(self, demo_plans: dict[str, PlanResult]) -> None:
        """At least one branch is at its limit with a non-zero shadow price."""
        r = demo_plans["co-optimised"]
        mu = r.branches_mu_upper.abs().to_numpy() + r.branches_mu_lower.abs().to_numpy()
        assert (mu > 1e-3).any()
        assert r.summary()["max_line_loading"] == pytest.approx(1.0, abs=1e-6)

    def test_a_transmission_line_congests(self, demo_plans: dict[str, PlanResult]) -> None:
        """Not only step-up transformers: a line (184, Clinton) binds at midday."""
        for mode in ("co-optimised", "curtailment-only"):
            loading = demo_plans[mode].branches_loading["line:184"]
            assert loading.max() == pytest.approx(1.0, abs=1e-6)
        # priced in the co-optimised plan; in the curtailment-only plan the pinned
        # dispatch may hold it at its limit with a zero shadow price (a degenerate
        # vertex: which one depends on the optimal base plan HiGHS returned)
        r = demo_plans["co-optimised"]
        mu = r.branches_mu_upper.abs() + r.branches_mu_lower.abs()
        lines = [c for c, kind in zip(mu.columns, r.branch_kind, strict=True) if kind == "line"]
        assert (mu[lines].to_numpy() > 1e-3).any()


class TestDemoModes:
    @pytest.mark.parametrize("mode", ["co-optimised", "curtailment-only"])
    def test_checker_passes(
        self,
        demo: GridData,
        demo_plans: dict[str, PlanResult],
        check: Callable[[GridData, PlanResult], PlanResult],
        mode: str,
    ) -> None:
        """The independent checker finds nothing wrong in either mode."""
        check(demo, demo_plans[mode])

    def test_curtailment_only_sites(self, demo_plans: dict[str, PlanResult]) -> None:
        """Sites behind congestion absorb curtailed energy; the city site gets nothing."""
        s = demo_plans["curtailment-only"].summary()
        by_site = s["mining_mwh_by_site"]
        for site in ("river-104", "lake-147", "wind-105"):
            assert by_site[site] > 50.0, site
        assert by_site["city-129"] < 1.0
        assert s["curtailment_mwh_after"] < s["curtailment_mwh_before"] - 1000.0

    def test_co_optimised_mines_more(self, demo_plans: dict[str, PlanResult]) -> None:
        """Co-optimised mining may burn fuel too, so it mines at least as much."""
        co = demo_plans["co-optimised"].summary()["mining_mwh"]
        only = demo_plans["curtailment-only"].summary()["mining_mwh"]
        assert co >= only - 1e-6
        assert np.isfinite(co)


class TestDemoRegenerates:
    def test_build_script_reproduces_committed_files(self, tmp_path: Path) -> None:
        """``tools/build_demo.py`` rebuilds the committed CSVs byte for byte."""
        spec = importlib.util.spec_from_file_location("build_demo", BUILD_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build(tmp_path)
        built = sorted(p.name for p in tmp_path.iterdir())
        assert built == [n for n in FILES if n.endswith(".csv")]
        for name in built:
            assert (tmp_path / name).read_bytes() == (demo_scenario_path() / name).read_bytes(), (
                name
            )


class TestDemoCli:
    def test_plan_demo_json(self, capsys: pytest.CaptureFixture[str]) -> None:
        """``spillway plan --demo --mode curtailment-only --json`` prints the summary."""
        args = ["plan", "--demo", "--snapshots", "4", "--mode", "curtailment-only", "--json"]
        assert main(args) == 0
        summary = json.loads(capsys.readouterr().out)
        assert tuple(summary) == SUMMARY_KEYS
        assert summary["status"] == "optimal"
        assert summary["mode"] == "curtailment-only"

    @pytest.mark.parametrize("extra", [[], ["some/folder", "--demo"]])
    def test_plan_needs_scenario_or_demo(
        self, capsys: pytest.CaptureFixture[str], extra: list[str]
    ) -> None:
        """Neither SCENARIO nor --demo, or both, is a usage error."""
        with pytest.raises(SystemExit) as exc:
            main(["plan", *extra])
        assert exc.value.code == 2
        assert "SCENARIO or --demo" in capsys.readouterr().err
