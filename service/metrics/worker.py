"""A worker's metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

from service.metrics.labels import ENERGY_SOURCES, NAMESPACE, SHARE_RESULTS


class WorkerMetrics:
    """A worker's metrics (one site).

    Parameters
    ----------
    registry:
        Where the families are registered.
    site, backend:
        The worker's site and hashing backend: the only label values it uses.
    """

    def __init__(self, registry: CollectorRegistry, *, site: str, backend: str) -> None:
        self.hashes = Counter(
            "hashes", "Hashes computed.", ("backend",), namespace=NAMESPACE, registry=registry
        ).labels(backend)
        shares = Counter(
            "shares",
            "Shares found and answered, by result.",
            ("result",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.shares = {result: shares.labels(result) for result in (*SHARE_RESULTS, "found")}
        self.power_budget_watts = Gauge(
            "power_budget_watts",
            "Power budget in force.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(site)
        self.power_watts = Gauge(
            "power_watts",
            "Mean hashing power over the last control window.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(site)
        energy = Counter(
            "energy_joules",
            "Energy used for hashing, by source.",
            ("site", "source"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.energy_joules = {source: energy.labels(site, source) for source in ENERGY_SOURCES}
        self.hashrate = Gauge(
            "hashrate_hashes_per_second",
            "Hashrate over the last control window.",
            ("backend",),
            namespace=NAMESPACE,
            registry=registry,
        ).labels(backend)
        self.shares_queued = Gauge(
            "shares_queued",
            "Shares on disk waiting for an answer.",
            namespace=NAMESPACE,
            registry=registry,
        )
        dropped = Counter(
            "shares_dropped",
            "Shares dropped to keep the disk queue bounded: of stale jobs first, then newest.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.shares_dropped = {reason: dropped.labels(reason) for reason in ("stale", "newest")}
        self.coordinator_connected = Gauge(
            "coordinator_connected",
            "1 while the work stream is open.",
            namespace=NAMESPACE,
            registry=registry,
        )
