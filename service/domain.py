"""Plain domain types of the service, and the pure rules over them.

No gRPC and no SQL here: ``convert.py`` maps these to and from messages,
``storage.py`` keeps them in SQLite. Times are Unix seconds (``*_s``).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

import kernels

__all__ = [
    "Budget",
    "BudgetSourceKind",
    "Job",
    "Override",
    "ScheduleEntry",
    "ShareOutcome",
    "ShareResultKind",
    "ShareSubmission",
    "WorkerRecord",
    "check_share",
    "make_job",
    "period_start",
    "resolve_budget",
]


class BudgetSourceKind(enum.StrEnum):
    """Which rule set a budget (mirrors ``spillway.v1.BudgetSource``)."""

    NONE = "none"
    PLAN = "plan"
    SCHEDULE = "schedule"
    OVERRIDE = "override"


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


def resolve_budget(
    site: str,
    now_s: float,
    *,
    override: Override | None,
    plan_budget: Budget | None,
    schedule: ScheduleEntry | None,
    hold_s: float,
) -> Budget:
    """The budget that holds for ``site`` at ``now_s``.

    An unexpired override outranks the plan; the plan outranks a pushed
    schedule; when nothing valid covers now, the safe budget is zero. A
    budget is valid for at most ``hold_s`` past now (the worker falls to
    zero if it hears nothing new by then) and never past its own end.
    """
    horizon_s = now_s + hold_s
    if override is not None and override.expires_s > now_s:
        return Budget(
            site,
            override.budget_w,
            BudgetSourceKind.OVERRIDE,
            "grid",
            min(horizon_s, override.expires_s),
        )
    if plan_budget is not None:
        return Budget(
            site,
            plan_budget.budget_w,
            BudgetSourceKind.PLAN,
            plan_budget.energy_source,
            min(horizon_s, plan_budget.valid_until_s),
        )
    if schedule is not None and schedule.start_s <= now_s < schedule.end_s:
        return Budget(
            site,
            schedule.budget_w,
            BudgetSourceKind.SCHEDULE,
            schedule.source,
            min(horizon_s, schedule.end_s),
        )
    return Budget(site, 0.0, BudgetSourceKind.NONE, "grid", horizon_s)


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
