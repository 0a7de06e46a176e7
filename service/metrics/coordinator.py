"""The coordinator's metrics, and the rolling horizon's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from service.metrics.grpc_server import GrpcServerMetrics
from service.metrics.labels import (
    ENERGY_SOURCES,
    NAMESPACE,
    PLAN_FAILURE_REASONS,
    SHARE_RESULTS,
    SOLVE_BUCKETS_S,
)
from service.metrics.ledger import LedgerMetrics
from service.metrics.signals import SignalMetrics

if TYPE_CHECKING:
    from service.domain import Budget
    from service.signals.precedence import SiteDecision


class CoordinatorMetrics:
    """The coordinator's own metrics.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.grpc = GrpcServerMetrics(registry)
        self.ledger = LedgerMetrics(registry)
        self.signals = SignalMetrics(registry)
        self.shares = Counter(
            "shares",
            "Shares answered, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for result in SHARE_RESULTS:
            self.shares.labels(result)
        self.shares_rate_limited = Counter(
            "shares_rate_limited",
            "Shares not taken: past a worker's shares-per-second cap (left in its queue).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.hashes = Counter(
            "hashes",
            "Hashes reported by workers and done by the hashing service.",
            ("backend",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.power_budget_watts = Gauge(
            "power_budget_watts",
            "Current power budget per site.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.power_watts = Gauge(
            "power_watts",
            "Mean power per site over the last telemetry interval.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.hashrate = Gauge(
            "hashrate_hashes_per_second",
            "Hashrate per site from the last telemetry.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.energy_joules = self.ledger.energy_joules
        self.workers_connected = Gauge(
            "workers_connected",
            "Workers with an open work stream.",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solve_seconds = Histogram(
            "plan_solve_seconds",
            "Time to solve a plan; warm: a rolling re-plan on the live model.",
            ("warm",),
            namespace=NAMESPACE,
            buckets=SOLVE_BUCKETS_S,
            registry=registry,
        )
        for warm in ("false", "true"):
            self.plan_solve_seconds.labels(warm)
        self.plan_valid = Gauge(
            "plan_valid",
            "1 while a stored plan covers the current time, else 0 (budgets then fall to zero).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solved_timestamp_seconds = Gauge(
            "plan_solved_timestamp_seconds",
            "Unix time the plan in force was solved (0 before the first plan).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_solve_failures = Counter(
            "plan_solve_failures",
            "Plan solves that failed, by reason.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for reason in PLAN_FAILURE_REASONS:
            self.plan_solve_failures.labels(reason)
        self.plan_curtailment_absorbed_joules = Counter(
            "plan_curtailment_absorbed_joules",
            "Curtailed energy the stored plans schedule for mining.",
            namespace=NAMESPACE,
            registry=registry,
        )

    def budget(self, budget: Budget, decision: SiteDecision | None) -> None:
        """A site's budget now, the rule that set it and the grid signal holding it."""
        self.power_budget_watts.labels(budget.site).set(budget.budget_w)
        self.signals.observe(budget, decision)

    def site(self, site: str) -> None:
        """Create a site's series at zero (first sight of a site)."""
        self.power_budget_watts.labels(site)
        self.power_watts.labels(site)
        self.hashrate.labels(site)
        for source in ENERGY_SOURCES:
            self.energy_joules.labels(site, source)
        self.ledger.grid_energy_joules.labels(site)
        self.signals.site(site)


#: Outcomes of a rolling re-plan: adopted, or failed (no optimal plan; the last one stays).
REPLAN_RESULTS = ("adopted", "failed")


class RollingMetrics:
    """The rolling horizon's metrics (a coordinator serving a scenario at real times).

    ``forecast_horizon_seconds`` against ``plan_horizon_seconds`` is what the
    ``SpillwayForecastShort`` alert compares: periods past the reach plan to zero.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.forecast_horizon_seconds = Gauge(
            "forecast_horizon_seconds",
            "How far ahead of now the scenario and the stored forecasts reach (0: not at all).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.plan_horizon_seconds = Gauge(
            "plan_horizon_seconds",
            "The rolling window's length (--horizon-hours).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.replans = Counter(
            "plan_replans",
            "Rolling re-plans, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for result in REPLAN_RESULTS:
            self.replans.labels(result)
