"""The upstream pool's metrics."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

from service.metrics.labels import NAMESPACE, POOL_VERDICTS


class PoolMetrics:
    """The upstream's metrics, by configured pool URL (a small fixed set).

    Parameters
    ----------
    registry:
        Where the families are registered.
    pools:
        The configured pool URLs; their series start at zero.
    """

    def __init__(self, registry: CollectorRegistry, pools: Iterable[str]) -> None:
        self.shares = Counter(
            "pool_shares",
            "Shares forwarded to a pool, by the pool's verdict (accepted, rejected, stale).",
            ("pool", "result"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.connected = Gauge(
            "pool_connected",
            "1 while the coordinator mines for this pool, else 0.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.difficulty = Gauge(
            "pool_difficulty",
            "Share difficulty the pool asks for (0 while not connected).",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.jobs = Counter(
            "pool_jobs",
            "Jobs (mining.notify) received from the pool.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.redirects_refused = Counter(
            "pool_redirects_refused",
            "client.reconnect to another host refused (--pool-allow-redirect follows them).",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.difficulties_refused = Counter(
            "pool_difficulties_refused",
            "mining.set_difficulty refused as absurd (zero, negative, NaN, infinite, out of"
            " range); the last sane difficulty stays.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.units_floored = Counter(
            "pool_units_floored",
            "Units handed to a worker at its share-rate floor, harder than the pool asks.",
            ("pool",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for pool in pools:
            for verdict in POOL_VERDICTS:
                self.shares.labels(pool, verdict)
            self.connected.labels(pool).set(0)
            self.difficulty.labels(pool).set(0)
            self.jobs.labels(pool)
            self.redirects_refused.labels(pool)
            self.difficulties_refused.labels(pool)
            self.units_floored.labels(pool)
