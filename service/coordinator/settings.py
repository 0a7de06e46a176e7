"""Settings of the coordinator (filled from flags and ``SPILLWAY_*`` variables)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from service.signals.precedence import DEFAULT_SIMPLE_LEVELS

if TYPE_CHECKING:
    from service.coordinator.pool_bridge import PoolSettings
    from service.domain import TlsFiles
    from service.signals.price_rule import PriceRule
    from service.signals.ven import VenSettings

__all__ = ["CoordinatorSettings"]


@dataclass(frozen=True, slots=True)
class CoordinatorSettings:
    """Everything ``spillway serve`` can be told.

    ``metrics_listen=None`` serves no metrics endpoint (tests scrape their
    own); ``auth_token=None`` leaves every call open.
    """

    grpc_listen: str = "127.0.0.1:50051"
    # A second, plaintext gRPC port serving only grpc.health.v1 (Kubernetes probes
    # when the main port needs TLS); None for none.
    health_listen: str | None = None
    metrics_listen: str | None = "127.0.0.1:9464"
    data_dir: Path = Path("spillway-data")
    scenario: Path | None = None
    # Mode of the plan made from ``scenario`` at start ("co-optimised" or "curtailment-only").
    plan_mode: str = "curtailment-only"
    # A scenario at real times rolls: each re-plan covers [current period, + this).
    horizon_hours: float = 24.0
    tls: TlsFiles | None = None
    auth_token: str | None = None
    # In-flight calls get this long to finish on SIGTERM.
    grace_s: float = 5.0
    # How often each work stream re-evaluates its site's budget.
    budget_refresh_s: float = 1.0
    # A worker holds a budget this long without news, then falls to zero.
    budget_hold_s: float = 30.0
    # Ledger period (energy per site and period).
    period_s: float = 900.0
    # CSV ``plant,price_per_mwh``: contract prices that replace the bus's marginal
    # price in the ledger for those plants; None pays every plant its bus price.
    contract_prices: Path | None = None
    # A signed report whose window ends more than this far ahead of the coordinator's
    # clock is refused (workers' clocks are NTP-synced; this is their allowed error).
    telemetry_clock_skew_s: float = 5.0
    # Share difficulty of the jobs handed out (CPU-friendly by default).
    share_difficulty: float = 1 / 1024
    # A fresh job per worker this often.
    job_interval_s: float = 60.0
    # How far a worker may roll a job's ntime.
    ntime_roll_s: int = 3600
    # Longest manual override or pause, and longest pushed schedule period.
    max_override_s: float = 7 * 86400.0
    max_period_s: float = 86400.0
    # Direct hashing: backend, and searches at once (more get RESOURCE_EXHAUSTED).
    hash_backend: str = "cpu"
    hash_threads: int | None = None
    max_searches: int = 2
    max_message_bytes: int = 4 * 1024 * 1024
    # Calls per second (and burst) per client host; more get RESOURCE_EXHAUSTED.
    rate_limit_per_s: float = 2000.0
    rate_limit_burst: float = 4000.0
    # Shares taken per worker per second (and burst); past it SubmitShares is
    # RESOURCE_EXHAUSTED and the shares stay in the worker's queue (a pool's tiny
    # difficulty once had one worker send 1,000 a second).
    # 50/s is 20 times fewer than that flood and well above what a sane share
    # difficulty gives one worker (the pool bridge's floor aims at a few a second).
    worker_shares_per_s: float = 50.0
    worker_share_burst: float = 500.0
    # Stratum pools to mine for (``--pool``); None: the coordinator's own synthetic jobs.
    pool: PoolSettings | None = None
    # OpenADR 2.0b: the VTN to hear demand-response events from; None: none.
    openadr: VenSettings | None = None
    # Fraction of the budget for OpenADR SIMPLE levels 0-3.
    openadr_simple_levels: tuple[float, ...] = DEFAULT_SIMPLE_LEVELS
    # Curtail every site on high prices (ELECTRICITY_PRICE events), with hysteresis.
    price_rule: PriceRule | None = None
