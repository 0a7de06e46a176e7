"""The ledger's split of a site's energy among curtailed plants, by the plan, at what price."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import pytest
from google.protobuf import duration_pb2

from service.coordinator import attribution
from service.coordinator.recorder import read_contract_prices
from service.coordinator.storage import SCHEMA_VERSION, Store
from service.errors import ConfigError
from service.ledger.model import owed_micro
from service.rpc.convert import plan_from_proto, plan_to_proto, timestamp
from spillway.v1 import planner_pb2

START_S = 1_700_000_000
TWO_AREAS = Path(__file__).resolve().parents[1] / "data" / "grid" / "pypsa" / "two-areas"
HOUR_S = 3600


def attribute(plan: planner_pb2.Plan, *args: Any, **kwargs: Any) -> attribution.Attribution:
    """The split by a plan written as its message (as the coordinator stores plans)."""
    return attribution.attribute(plan_from_proto(plan), *args, **kwargs)


def plan() -> planner_pb2.Plan:
    """Two hourly periods; site north may take 1 kW then 0.5 kW of curtailed energy."""
    return planner_pb2.Plan(
        plan_id="p1",
        start_time=timestamp(START_S),
        period_duration=duration_pb2.Duration(seconds=HOUR_S),
        period_count=2,
        sites=[
            planner_pb2.SitePlan(
                site="north",
                budget_watts=[2000.0, 2000.0],
                curtailed_watts=[1000.0, 500.0],
                bus="N",
                bus_marginal_price_per_megawatt_hour=[-5.0, 20.0],
            )
        ],
        plants=[
            planner_pb2.PlantPlan(plant="wind", carrier="wind", absorbed_watts=[3e6, 0.0]),
            planner_pb2.PlantPlan(plant="river", carrier="hydro", absorbed_watts=[1e6, 1e6]),
        ],
    )


class TestAttribution:
    def test_split_follows_absorbed_shares(self) -> None:
        """Within a plan period, curtailed energy is split by each plant's absorbed power."""
        split = attribute(plan(), "north", START_S, 60, energy_j=40_000)
        # 1 kW for 60 s = 60 kJ claimable; 40 kJ used, 3:1 wind to river.
        assert split.curtailed_j == {"wind": 30_000, "river": 10_000}
        assert split.carrier == {"wind": "wind", "river": "hydro"}
        assert split.plan_id == "p1"

    def test_claim_is_capped_by_the_plan(self) -> None:
        """A site never claims more curtailed energy than the plan gave it; the rest is grid."""
        split = attribute(plan(), "north", START_S, 60, energy_j=100_000)
        assert sum(split.curtailed_j.values()) == 60_000

    def test_negative_price_is_zero_and_weighting_spans_periods(self) -> None:
        """A window across two plan periods weights each plant's price by its energy there."""
        split = attribute(plan(), "north", START_S + HOUR_S - 30, 60, energy_j=10**9)
        # First 30 s: 30 kJ at -5 (recorded 0), wind 22.5 kJ, river 7.5 kJ.
        # Last 30 s: 15 kJ at 20, all river. River: (7.5 * 0 + 15 * 20) / 22.5 = 13.33...
        assert split.curtailed_j == {"wind": 22_500, "river": 22_500}
        assert split.price_micro_per_mwh == {"wind": 0, "river": 13_333_333}

    def test_contract_price_replaces_the_bus_price(self) -> None:
        """A plant's contract price is what it is paid."""
        split = attribute(
            plan(), "north", START_S, 60, 1000, contract_price_micro_per_mwh={"wind": 7}
        )
        assert split.price_micro_per_mwh["wind"] == 7

    @pytest.mark.parametrize(
        ("site", "start_s"), [("south", START_S), ("north", START_S + 2 * HOUR_S)]
    )
    def test_outside_the_plan_is_grid(self, site: str, start_s: int) -> None:
        """A site the plan does not name, or a time past its end, claims nothing."""
        assert attribute(plan(), site, start_s, 60, 1000).curtailed_j == {}

    def test_parts_add_up_exactly(self) -> None:
        """Whole joules by largest remainder: the parts sum to the energy used."""
        split = attribute(plan(), "north", START_S, 60, energy_j=10_001)
        assert sum(split.curtailed_j.values()) == 10_001


def three_bus_plan() -> planner_pb2.Plan:
    """Buses A (wind, site north), B (solar, site east), C (load); one hourly period.

    The plan has north take 3 kW and east 1 kW of curtailed power, and the wind and
    solar plants give up 3 kW and 1 kW of curtailment for it. North's bus clears at
    10 per MWh; east's at -2 (curtailed solar behind a congested line).
    """
    return planner_pb2.Plan(
        plan_id="three-bus",
        start_time=timestamp(START_S),
        period_duration=duration_pb2.Duration(seconds=HOUR_S),
        period_count=1,
        sites=[
            planner_pb2.SitePlan(
                site="north",
                budget_watts=[4000.0],
                curtailed_watts=[3000.0],
                bus="A",
                bus_marginal_price_per_megawatt_hour=[10.0],
            ),
            planner_pb2.SitePlan(
                site="east",
                budget_watts=[1000.0],
                curtailed_watts=[1000.0],
                bus="B",
                bus_marginal_price_per_megawatt_hour=[-2.0],
            ),
        ],
        plants=[
            planner_pb2.PlantPlan(plant="wind", carrier="wind", bus="A", absorbed_watts=[3000.0]),
            planner_pb2.PlantPlan(plant="sun", carrier="solar", bus="B", absorbed_watts=[1000.0]),
        ],
    )


class TestThreeBus:
    """A 15-minute ledger period of the three-bus plan, solved by hand; solar has a contract."""

    PERIOD_S = 900
    CONTRACT: ClassVar[dict[str, int]] = {"sun": 50_000_000}  # 50 per MWh

    def test_north_claims_its_share_and_pays_its_bus_price(self) -> None:
        """North: 3 kW x 900 s = 2.7 MJ curtailed of 3.6 MJ used, 3:1 wind to solar."""
        split = attribute(
            three_bus_plan(), "north", START_S, self.PERIOD_S, energy_j=3_600_000,
            contract_price_micro_per_mwh=self.CONTRACT,
        )  # fmt: skip
        assert split.curtailed_j == {"wind": 2_025_000, "sun": 675_000}
        assert split.carrier == {"wind": "wind", "sun": "solar"}
        assert split.price_micro_per_mwh == {"wind": 10_000_000, "sun": 50_000_000}
        owed = {
            p: owed_micro(j, split.price_micro_per_mwh[p]) for p, j in split.curtailed_j.items()
        }
        # 2.025 MJ = 0.0005625 MWh at 10/MWh is 0.005625; 0.675 MJ at 50/MWh is 0.009375.
        assert owed == {"wind": 5_625, "sun": 9_375}

    def test_east_under_its_claim_is_all_curtailed_and_never_paid_negative(self) -> None:
        """East used 0.45 MJ of its 0.9 MJ claim: all curtailed; its bus price -2 pays 0."""
        split = attribute(
            three_bus_plan(), "east", START_S, self.PERIOD_S, energy_j=450_000,
            contract_price_micro_per_mwh=self.CONTRACT,
        )  # fmt: skip
        assert split.curtailed_j == {"wind": 337_500, "sun": 112_500}
        assert split.price_micro_per_mwh == {"wind": 0, "sun": 50_000_000}
        assert owed_micro(112_500, 50_000_000) == 1_563  # 1562.5, half up

    def test_no_plant_gives_more_than_it_absorbed(self) -> None:
        """Across both sites each plant is credited at most its absorbed power x time."""
        plan = three_bus_plan()
        given: dict[str, int] = {}
        for site in ("north", "east"):
            split = attribute(plan, site, START_S, self.PERIOD_S, energy_j=10**9)
            for plant, joules in split.curtailed_j.items():
                given[plant] = given.get(plant, 0) + joules
        assert given == {"wind": 3000 * self.PERIOD_S, "sun": 1000 * self.PERIOD_S}


def traced_three_bus_plan() -> planner_pb2.Plan:
    """The three-bus plan as the planner now writes it: each site names its own sources.

    The network carries north's 3 kW from the wind at its bus and east's 1 kW from
    the solar at its bus; the system-wide rule would have split both 3:1.
    """
    plan = three_bus_plan()
    north, east = plan.sites
    north.sources.add(plant="wind", watts=[3000.0])
    east.sources.add(plant="sun", watts=[1000.0])
    return plan


class TestTracedSources:
    PERIOD_S = 900

    def test_site_is_credited_only_its_own_sources(self) -> None:
        """North gets only wind, east only solar, though both plants absorbed curtailment."""
        plan = traced_three_bus_plan()
        north = attribute(plan, "north", START_S, self.PERIOD_S, energy_j=10**9)
        east = attribute(plan, "east", START_S, self.PERIOD_S, energy_j=10**9)
        assert north.curtailed_j == {"wind": 3000 * self.PERIOD_S}
        assert north.price_micro_per_mwh == {"wind": 10_000_000}
        assert east.curtailed_j == {"sun": 1000 * self.PERIOD_S}
        assert east.carrier == {"sun": "solar"}

    def test_sources_split_a_partial_use(self) -> None:
        """Energy below the claim is split among the site's sources in their proportions."""
        plan = traced_three_bus_plan()
        plan.sites[0].sources.add(plant="sun", watts=[1000.0])
        plan.sites[0].sources[0].watts[0] = 2000.0
        split = attribute(plan, "north", START_S, self.PERIOD_S, energy_j=900_000)
        assert split.curtailed_j == {"wind": 600_000, "sun": 300_000}


@pytest.mark.solver
class TestPlannedTwoAreas:
    """A real plan of two areas joined by a congested line (tests/optimiser/test_attribution)."""

    def plan(self) -> planner_pb2.Plan:
        import optimiser
        from service.coordinator.planning import plan_from_result
        from service.domain import Calendar, PlanModeKind

        result = optimiser.plan(optimiser.read_pypsa_folder(TWO_AREAS), mode="co-optimised")
        calendar = Calendar("", START_S * 10**9, HOUR_S * 10**9, 1)
        return plan_to_proto(
            plan_from_result("two-areas", "s", calendar, PlanModeKind.CO_OPTIMISED, result, START_S)
        )

    def test_site_behind_the_line_gets_what_it_carries(self) -> None:
        """Co-optimised: site_b's 100 MW budget holds 30 MW of wind, the rest is gas."""
        plan = self.plan()
        sites = {s.site: s for s in plan.sites}
        assert list(sites["site_a"].curtailed_watts) == pytest.approx([100e6])
        assert list(sites["site_b"].budget_watts) == pytest.approx([100e6])
        assert list(sites["site_b"].curtailed_watts) == pytest.approx([30e6])
        assert {s.plant: list(s.watts) for s in sites["site_b"].sources} == {
            "wind": pytest.approx([30e6])
        }
        assert plan.summary.curtailment_absorbed_joules == pytest.approx(130 * 3.6e9)
        split = attribute(plan, "site_b", START_S, HOUR_S, energy_j=10**12)
        assert split.curtailed_j == {"wind": 30_000_000 * HOUR_S}


class TestStorageMigration:
    def test_schema_1_drops_the_plain_energy_table(self, tmp_path: Path) -> None:
        """A version-1 coordinator database is upgraded: the unsigned energy table is gone."""
        path = tmp_path / "coordinator.sqlite3"
        with closing(sqlite3.connect(path)) as db:
            db.executescript(
                "CREATE TABLE workers (worker_id TEXT PRIMARY KEY, site TEXT, worker_name TEXT,"
                " backend TEXT, hashrate_hs REAL, max_power_w REAL, registered_s REAL,"
                " last_seen_s REAL);"
                "CREATE TABLE ledger (site TEXT, period_start_s REAL, source TEXT,"
                " energy_j REAL, hashes INTEGER);"
                "PRAGMA user_version=1;"
            )
        store = Store(path)
        try:
            assert store.schema_version() == SCHEMA_VERSION == 3
        finally:
            store.close()
        with closing(sqlite3.connect(path)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "ledger" not in tables and "workers" in tables


class TestContractPrices:
    def test_prices_read_in_micro_units(self, tmp_path: Path) -> None:
        """A CSV of plant prices per MWh becomes micro-units per MWh."""
        path = tmp_path / "prices.csv"
        path.write_text("plant,price_per_mwh\nwind,42.5\nriver,0\n")
        assert read_contract_prices(path) == {"wind": 42_500_000, "river": 0}

    @pytest.mark.parametrize("line", ["wind,-1", "wind,abc", ",3", "wind,nan"])
    def test_bad_line_names_file_and_line(self, tmp_path: Path, line: str) -> None:
        """A bad price or a missing plant is a ConfigError naming the setting and the line."""
        path = tmp_path / "prices.csv"
        path.write_text(f"plant,price_per_mwh\nriver,1\n{line}\n")
        with pytest.raises(ConfigError, match=r"contract_prices: .*prices.csv:3"):
            read_contract_prices(path)
