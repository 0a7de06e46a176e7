"""Plain domain types of the service, and the pure rules over them.

No gRPC and no SQL here: ``convert.py`` maps these to and from messages,
``storage.py`` keeps them in SQLite. Times are Unix seconds (``*_s``).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import kernels

__all__ = [
    "BranchPlan",
    "Budget",
    "BudgetSourceKind",
    "Calendar",
    "Job",
    "Override",
    "Plan",
    "PlanModeKind",
    "PlanStatusKind",
    "PlanSummary",
    "PlantPlan",
    "PoolState",
    "ScheduleEntry",
    "ShareOutcome",
    "ShareResultKind",
    "ShareSubmission",
    "SitePlan",
    "SiteSource",
    "TlsFiles",
    "WorkerRecord",
    "check_share",
    "make_job",
    "period_start",
]


class BudgetSourceKind(enum.StrEnum):
    """Which rule set a budget (mirrors ``spillway.v1.BudgetSource``)."""

    NONE = "none"
    PLAN = "plan"
    SCHEDULE = "schedule"
    OVERRIDE = "override"
    #: An OpenADR event capped or scaled what the rules above give.
    GRID_EVENT = "grid_event"
    #: The price rule curtailed the site.
    PRICE_RULE = "price_rule"


class ShareResultKind(enum.StrEnum):
    """The answer to one share (mirrors ``spillway.v1.ShareResult``)."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED_UNKNOWN_JOB = "rejected_unknown_job"
    REJECTED_ABOVE_TARGET = "rejected_above_target"
    REJECTED_BAD_NTIME = "rejected_bad_ntime"

    @property
    def metric_label(self) -> str:
        """``accepted``, ``duplicate`` or ``rejected``."""
        return self.value if not self.value.startswith("rejected") else "rejected"


@dataclass(frozen=True, slots=True)
class TlsFiles:
    """PEM files for TLS; ``client_ca`` set on a server turns on mTLS."""

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None


@dataclass(frozen=True, slots=True)
class PoolState:
    """The Stratum pool mined for now (``url`` empty while none is) and its verdicts so far."""

    url: str
    connected: bool
    difficulty: float
    job_id: str
    shares_accepted: int
    shares_rejected: int
    shares_stale: int


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    """A registered worker."""

    worker_id: str
    site: str
    worker_name: str
    backend: str
    hashrate_hs: float
    max_power_w: float
    last_seen_s: float


@dataclass(frozen=True, slots=True)
class Override:
    """An operator's manual budget for a site until ``expires_s``."""

    site: str
    budget_w: float
    expires_s: float
    reason: str


@dataclass(frozen=True, slots=True)
class ScheduleEntry:
    """One period of an operator-pushed schedule: ``[start_s, end_s)``."""

    site: str
    start_s: float
    end_s: float
    budget_w: float
    source: str  # "curtailed" or "grid"


@dataclass(frozen=True, slots=True)
class Budget:
    """A site's budget now, what set it, and until when it holds."""

    site: str
    budget_w: float
    source: BudgetSourceKind
    energy_source: str  # "curtailed" or "grid"
    valid_until_s: float


@dataclass(frozen=True, slots=True)
class Job:
    """Mining work for one worker: header without nonce, share target, ntime window."""

    job_id: str
    worker_id: str
    header_prefix: bytes
    target: int
    ntime: int
    ntime_roll_s: int
    created_s: float
    # The nonces to search (a pool's work is split between workers by them).
    nonce_start: int = 0
    nonce_count: int = 1 << 32

    @property
    def difficulty(self) -> float:
        """The share difficulty of ``target``."""
        return kernels.target_to_difficulty(self.target)


@dataclass(frozen=True, slots=True)
class ShareSubmission:
    """A share as a worker sends it."""

    share_id: str
    job_id: str
    ntime: int
    nonce: int


@dataclass(frozen=True, slots=True)
class ShareOutcome:
    """The answer to one share, with its hash when it was checked."""

    share_id: str
    result: ShareResultKind
    reason: str = ""
    hash: bytes = b""


def period_start(now_s: float, period_s: float) -> float:
    """The start of the ledger period holding ``now_s`` (periods aligned to the epoch)."""
    return now_s - (now_s % period_s)


def make_job(
    job_id: str, worker_id: str, *, now_s: float, difficulty: float, ntime_roll_s: int
) -> Job:
    """A fresh job whose header is unique to this worker and job (no two workers share work).

    The header is Bitcoin-shaped (version 0x20000000, nBits of difficulty 1)
    with a previous-block hash and merkle root derived from the job id, so the
    nonce space of every job is disjoint from every other's.
    """
    seed = hashlib.sha256(f"{job_id}/{worker_id}".encode()).digest()
    prev_hash = hashlib.sha256(b"prev" + seed).digest()
    merkle_root = hashlib.sha256(b"merkle" + seed).digest()
    ntime = int(now_s) & 0xFFFFFFFF
    prefix = (
        (0x20000000).to_bytes(4, "little")
        + prev_hash
        + merkle_root
        + ntime.to_bytes(4, "little")
        + (0x1D00FFFF).to_bytes(4, "little")
    )
    target = kernels.difficulty_to_target(difficulty)
    return Job(job_id, worker_id, prefix, target, ntime, ntime_roll_s, now_s)


def check_share(job: Job | None, share: ShareSubmission) -> ShareOutcome:
    """Check a share against its job (the duplicate check is the store's).

    Returns ``REJECTED_UNKNOWN_JOB`` without a job, ``REJECTED_BAD_NTIME``
    outside the job's ntime window, ``REJECTED_ABOVE_TARGET`` when the
    header hash misses the share target, else ``ACCEPTED`` with the hash.
    """
    if job is None:
        return ShareOutcome(share.share_id, ShareResultKind.REJECTED_UNKNOWN_JOB, "unknown job")
    if not job.ntime <= share.ntime <= job.ntime + job.ntime_roll_s:
        return ShareOutcome(
            share.share_id,
            ShareResultKind.REJECTED_BAD_NTIME,
            f"ntime must be within [{job.ntime}, {job.ntime + job.ntime_roll_s}]",
        )
    header = job.header_prefix[:68] + share.ntime.to_bytes(4, "little") + job.header_prefix[72:]
    digest = kernels.sha256d(header + share.nonce.to_bytes(4, "little"))
    if int.from_bytes(digest, "little") > job.target:
        return ShareOutcome(
            share.share_id,
            ShareResultKind.REJECTED_ABOVE_TARGET,
            "hash above the share target",
            digest,
        )
    return ShareOutcome(share.share_id, ShareResultKind.ACCEPTED, "", digest)


# The plan: built once from the optimiser's result (``service.coordinator.planning``),
# kept by the coordinator, converted to and from ``spillway.v1.Plan`` only in ``service.rpc``.


class PlanStatusKind(enum.StrEnum):
    """How the solve ended (``optimiser.PlanStatus`` values; mirrors ``spillway.v1.PlanStatus``)."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    TIME_LIMIT = "time_limit"
    ERROR = "error"
    UNKNOWN = "unknown"


class PlanModeKind(enum.StrEnum):
    """The planning mode (``optimiser.PlanMode``'s values; mirrors ``spillway.v1.PlanningMode``)."""

    UNSPECIFIED = ""
    CO_OPTIMISED = "co-optimised"
    CURTAILMENT_ONLY = "curtailment-only"


class _Periods:
    """``period_count`` periods of ``period_ns`` from ``start_ns`` (whole ns), in seconds."""

    __slots__ = ()
    start_ns: int
    period_ns: int
    period_count: int

    @property
    def start_s(self) -> float:
        """The first period's start (Unix seconds)."""
        return self.start_ns / 1e9

    @property
    def period_s(self) -> float:
        """The length of one period (seconds)."""
        return self.period_ns / 1e9


@dataclass(frozen=True, slots=True)
class Calendar(_Periods):
    """A scenario's periods: ``period_count`` of ``period_ns`` from ``start_ns`` (whole ns)."""

    name: str
    start_ns: int
    period_ns: int
    period_count: int


@dataclass(frozen=True, slots=True)
class SiteSource:
    """A plant whose curtailed power reaches a site, per period (W)."""

    plant: str
    power_w: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One mining site's plan: budget and curtailed power per period (W), where it comes from."""

    site: str
    budget_w: tuple[float, ...]
    curtailed_w: tuple[float, ...]
    bus: str = ""
    bus_price_per_mwh: tuple[float, ...] = ()
    sources: tuple[SiteSource, ...] = ()


@dataclass(frozen=True, slots=True)
class PlantPlan:
    """A plant's curtailment (or spill) that all mining absorbs, per period (W)."""

    plant: str
    carrier: str
    bus: str
    absorbed_w: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class BranchPlan:
    """A line's or transformer's flow (W), loading and congestion price per period."""

    branch: str
    flow_w: tuple[float, ...]
    loading_fraction: tuple[float, ...]
    shadow_price_per_mwh: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """A plan's totals (energy in J, money in the scenario's currency)."""

    objective: float = 0.0
    revenue: float = 0.0
    mining_energy_j: float = 0.0
    curtailment_absorbed_j: float = 0.0
    grid_energy_j: float = 0.0
    solve_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Plan(_Periods):
    """A plan of mining load: sites x periods in W, on a calendar of ``period_count`` periods.

    Times are whole nanoseconds (``*_ns``) so that a plan goes to and from its
    message exactly; ``start_s``, ``period_s`` and ``span_s`` give seconds.
    """

    plan_id: str
    scenario_id: str
    mode: PlanModeKind
    status: PlanStatusKind
    termination: str
    create_ns: int
    start_ns: int
    period_ns: int
    period_count: int
    sites: tuple[SitePlan, ...] = ()
    branches: tuple[BranchPlan, ...] = ()
    plants: tuple[PlantPlan, ...] = ()
    summary: PlanSummary = PlanSummary()
    _by_site: dict[str, SitePlan] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up on every budget check: once here, not a scan per check. The first
        # of a repeated name wins, as the scan of the message did.
        by_site: dict[str, SitePlan] = {}
        for site_plan in self.sites:
            by_site.setdefault(site_plan.site, site_plan)
        object.__setattr__(self, "_by_site", by_site)

    @property
    def span_s(self) -> tuple[float, float]:
        """Start and end (Unix seconds) of the periods the plan covers."""
        return self.start_s, self.start_s + self.period_s * self.period_count

    def site(self, name: str) -> SitePlan | None:
        """The plan of site ``name``, if the plan names it."""
        return self._by_site.get(name)

    def budget(self, site: str, now_s: float) -> Budget | None:
        """The plan's budget for ``site`` in the period covering ``now_s``, if any.

        Only an optimal or time-limited plan sets budgets. The energy source is
        ``curtailed`` when at least half the budget is curtailed power.
        """
        if self.status not in (PlanStatusKind.OPTIMAL, PlanStatusKind.TIME_LIMIT):
            return None
        period_s, start_s = self.period_s, self.start_s
        if period_s <= 0 or now_s < start_s:
            return None
        index = int((now_s - start_s) // period_s)
        site_plan = self._by_site.get(site)
        if site_plan is None or index >= len(site_plan.budget_w):
            return None
        budget_w = site_plan.budget_w[index]
        curtailed_w = site_plan.curtailed_w[index] if index < len(site_plan.curtailed_w) else 0.0
        source = "curtailed" if budget_w > 0 and curtailed_w >= budget_w / 2 else "grid"
        end_s = start_s + (index + 1) * period_s
        return Budget(site, budget_w, BudgetSourceKind.PLAN, source, end_s)
