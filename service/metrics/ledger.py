"""The energy ledger's metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge

from service.metrics.labels import _TELEMETRY_REFUSAL_BY_FIELD, NAMESPACE, TELEMETRY_REFUSAL_REASONS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from service.ledger.model import EnergyRecord, PeriodHeader


class LedgerMetrics:
    """The energy ledger's metrics: periods closed, energy recorded, telemetry refused.

    Fed by ``LedgerRecorder`` (as its observer, on the ledger's thread) and by the
    coordinator when it refuses a report.

    Parameters
    ----------
    registry:
        Where the families are registered.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        self.periods_closed = Counter(
            "ledger_periods_closed",
            "Ledger periods appended under a signed header.",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.records = Counter(
            "ledger_records",
            "Ledger records appended (one per site and period).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.last_period_end_timestamp_seconds = Gauge(
            "ledger_last_period_end_timestamp_seconds",
            "Unix time the newest closed ledger period ended (0 before the first).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.close_failures = Counter(
            "ledger_close_failures",
            "Attempts to close due ledger periods that failed (their reports stay staged).",
            namespace=NAMESPACE,
            registry=registry,
        )
        self.telemetry_refused = Counter(
            "ledger_telemetry_refused",
            "Signed telemetry reports the ledger refused, by reason.",
            ("reason",),
            namespace=NAMESPACE,
            registry=registry,
        )
        for reason in TELEMETRY_REFUSAL_REASONS:
            self.telemetry_refused.labels(reason)
        self.curtailed_energy_joules = Counter(
            "ledger_curtailed_energy_joules",
            "Curtailed or spilled energy recorded in closed ledger periods, by site and carrier.",
            ("site", "carrier"),
            namespace=NAMESPACE,
            registry=registry,
        )
        self.grid_energy_joules = Counter(
            "ledger_grid_energy_joules",
            "Other grid energy recorded in closed ledger periods, by site.",
            ("site",),
            namespace=NAMESPACE,
            registry=registry,
        )
        # The ledger is the one source of the energy split: mining energy is counted by
        # source when its period closes, from the records just appended, so the metric and
        # the ledger's sums per site and source are equal (a budget's own source label can
        # disagree with the plan the ledger attributes against, e.g. during an override).
        self.energy_joules = Counter(
            "energy_joules",
            "Energy used by mining, by site and source (curtailed or grid), as the ledger"
            " records it: counted when a ledger period closes.",
            ("site", "source"),
            namespace=NAMESPACE,
            registry=registry,
        )

    def refused(self, field: str) -> None:
        """Count a refused report by the field its error names."""
        self.telemetry_refused.labels(_TELEMETRY_REFUSAL_BY_FIELD.get(field, "malformed")).inc()

    def last_period(self, header: PeriodHeader) -> None:
        """The newest period in the ledger (at start, and as each closes)."""
        self.last_period_end_timestamp_seconds.set(header.period_start_s + header.period_s)

    def period_closed(self, header: PeriodHeader, records: Sequence[EnergyRecord]) -> None:
        """Count a period just appended and the energy its records hold."""
        self.periods_closed.inc()
        self.records.inc(len(records))
        self.last_period(header)
        for record in records:
            self.grid_energy_joules.labels(record.site).inc(record.grid_j)
            for plant, joules in record.curtailed_j.items():
                self.curtailed_energy_joules.labels(record.site, record.carrier[plant]).inc(joules)
            self.energy_joules.labels(record.site, "grid").inc(record.grid_j)
            self.energy_joules.labels(record.site, "curtailed").inc(
                sum(record.curtailed_j.values())
            )

    def close_failed(self) -> None:
        """Count a failed attempt to close due periods."""
        self.close_failures.inc()
