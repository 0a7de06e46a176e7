"""Messages <-> domain types, and the validation of every request field.

Validation collects every wrong field of a request and raises one
``InvalidRequestError`` naming them all (sent as ``google.rpc.BadRequest``),
before anything is stored.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from google.protobuf import duration_pb2, timestamp_pb2

import kernels
from service.domain import (
    Budget,
    BudgetSourceKind,
    Job,
    Override,
    ScheduleEntry,
    ShareResultKind,
    ShareSubmission,
)
from service.errors import FieldViolation, InvalidRequestError
from spillway.v1 import common_pb2, miner_pb2, operator_pb2, planner_pb2

if TYPE_CHECKING:
    from service.ledger.model import Telemetry

__all__ = [
    "MAX_NAME_CHARS",
    "Checker",
    "budget_to_proto",
    "job_to_proto",
    "override_to_proto",
    "plan_budget",
    "schedule_from_proto",
    "search_from_proto",
    "shares_from_proto",
    "telemetry_to_proto",
    "timestamp",
]

MAX_NAME_CHARS = 64
# Site and worker names go into metric labels and file names: keep them plain.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# No site draws more than a gigawatt; a larger number is a unit mistake.
MAX_POWER_W = 1e9
MAX_SHARES_PER_CALL = 1000
MAX_SCHEDULE_ENTRIES = 10_000
MAX_REASON_CHARS = 500

_BUDGET_SOURCES = {
    BudgetSourceKind.NONE: common_pb2.BUDGET_SOURCE_NONE,
    BudgetSourceKind.PLAN: common_pb2.BUDGET_SOURCE_PLAN,
    BudgetSourceKind.SCHEDULE: common_pb2.BUDGET_SOURCE_SCHEDULE,
    BudgetSourceKind.OVERRIDE: common_pb2.BUDGET_SOURCE_OVERRIDE,
}
_ENERGY_SOURCES = {
    "curtailed": common_pb2.ENERGY_SOURCE_CURTAILED,
    "grid": common_pb2.ENERGY_SOURCE_GRID,
}
SHARE_RESULTS = {
    ShareResultKind.ACCEPTED: miner_pb2.SHARE_RESULT_ACCEPTED,
    ShareResultKind.DUPLICATE: miner_pb2.SHARE_RESULT_DUPLICATE,
    ShareResultKind.REJECTED_UNKNOWN_JOB: miner_pb2.SHARE_RESULT_REJECTED_UNKNOWN_JOB,
    ShareResultKind.REJECTED_ABOVE_TARGET: miner_pb2.SHARE_RESULT_REJECTED_ABOVE_TARGET,
    ShareResultKind.REJECTED_BAD_NTIME: miner_pb2.SHARE_RESULT_REJECTED_BAD_NTIME,
}


class Checker:
    """Collects field violations; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.violations: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        """Record one wrong field."""
        self.violations.append(FieldViolation(field, description))

    def name(self, field: str, value: str, *, required: bool = True) -> str:
        """A site or worker name: 1-64 of ``A-Z a-z 0-9 _ . -``, starting alphanumeric."""
        if not value and not required:
            return value
        if not _NAME_RE.match(value):
            self.add(
                field,
                f"must be 1-{MAX_NAME_CHARS} characters of A-Z, a-z, 0-9, '_', '.', '-',"
                f" starting with a letter or digit; got {value[:80]!r}",
            )
        return value

    def text(self, field: str, value: str, *, max_chars: int = MAX_REASON_CHARS) -> str:
        """Free text up to ``max_chars``."""
        if len(value) > max_chars:
            self.add(field, f"must be at most {max_chars} characters, got {len(value)}")
        return value

    def watts(self, field: str, value: float, *, maximum: float = MAX_POWER_W) -> float:
        """A finite power in ``[0, maximum]`` watts."""
        if not math.isfinite(value) or value < 0 or value > maximum:
            self.add(field, f"must be a finite number of watts in [0, {maximum:g}], got {value}")
        return value

    def non_negative(self, field: str, value: float) -> float:
        """A finite number >= 0."""
        if not math.isfinite(value) or value < 0:
            self.add(field, f"must be a finite number >= 0, got {value}")
        return value

    def duration_s(
        self, field: str, value: duration_pb2.Duration, present: bool, *, maximum_s: float
    ) -> float:
        """A set duration above zero and at most ``maximum_s`` seconds."""
        if not present:
            self.add(field, "is required")
            return 0.0
        if (
            not -315_576_000_000 <= value.seconds <= 315_576_000_000
            or abs(value.nanos) > 999_999_999
        ):
            self.add(field, "is not a valid duration")
            return 0.0
        seconds = value.seconds + value.nanos / 1e9
        if not 0 < seconds <= maximum_s:
            self.add(field, f"must be above 0 s and at most {maximum_s:g} s, got {seconds:g} s")
        return seconds

    def timestamp_s(self, field: str, value: timestamp_pb2.Timestamp, present: bool) -> float:
        """A set timestamp between 1970 and 9999."""
        if not present:
            self.add(field, "is required")
            return 0.0
        if not 0 <= value.seconds <= 253_402_300_799 or not 0 <= value.nanos <= 999_999_999:
            self.add(field, "must be a time between 1970 and 9999")
            return 0.0
        return value.seconds + value.nanos / 1e9

    def raise_if_any(self) -> None:
        """Raise ``InvalidRequestError`` naming every field recorded.

        Raises
        ------
        InvalidRequestError
            When at least one field is wrong.
        """
        if self.violations:
            raise InvalidRequestError(self.violations)


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A ``Timestamp`` from Unix seconds."""
    whole = math.floor(seconds)
    return timestamp_pb2.Timestamp(seconds=whole, nanos=int((seconds - whole) * 1e9))


def duration(seconds: float) -> duration_pb2.Duration:
    """A ``Duration`` from seconds (>= 0)."""
    whole = math.floor(seconds)
    return duration_pb2.Duration(seconds=whole, nanos=int((seconds - whole) * 1e9))


def budget_to_proto(
    budget: Budget, *, period_start_s: float, period_s: float
) -> miner_pb2.PowerBudget:
    """A ``PowerBudget`` message."""
    return miner_pb2.PowerBudget(
        site=budget.site,
        budget_watts=budget.budget_w,
        source=_BUDGET_SOURCES[budget.source],
        energy_source=_ENERGY_SOURCES[budget.energy_source],
        period_start_time=timestamp(period_start_s),
        period_duration=duration(period_s),
        valid_until_time=timestamp(budget.valid_until_s),
    )


def budget_source_to_proto(source: BudgetSourceKind) -> common_pb2.BudgetSource:
    """The enum value of a budget source."""
    return _BUDGET_SOURCES[source]


def energy_source_to_proto(source: str) -> common_pb2.EnergySource:
    """The enum value of ``curtailed`` or ``grid``."""
    return _ENERGY_SOURCES[source]


def override_to_proto(override: Override) -> operator_pb2.BudgetOverride:
    """A ``BudgetOverride`` message."""
    return operator_pb2.BudgetOverride(
        site=override.site,
        budget_watts=override.budget_w,
        expire_time=timestamp(override.expires_s),
        reason=override.reason,
    )


def job_to_proto(job: Job, *, clean: bool) -> miner_pb2.MiningJob:
    """A ``MiningJob`` message."""
    return miner_pb2.MiningJob(
        job_id=job.job_id,
        header_prefix=job.header_prefix,
        share_target=job.target.to_bytes(32, "big"),
        share_difficulty=job.difficulty,
        ntime_roll=duration(job.ntime_roll_s),
        clean=clean,
        nonce_start=job.nonce_start,
        nonce_count=job.nonce_count,
    )


def telemetry_to_proto(telemetry: Telemetry) -> miner_pb2.SignedTelemetry:
    """A signed ``Telemetry`` as the message (the inverse of
    ``service.ledger_servicer.telemetry_from_proto``; the public key is not sent)."""
    return miner_pb2.SignedTelemetry(
        worker_id=telemetry.worker,
        site=telemetry.site,
        sequence=telemetry.sequence,
        window_start_unix_ms=telemetry.window_start_ms,
        window_end_unix_ms=telemetry.window_end_ms,
        energy_joules=telemetry.energy_j,
        hashes=telemetry.hashes,
        shares_found=telemetry.shares_found,
        signature=bytes.fromhex(telemetry.signature),
    )


def shares_from_proto(request: miner_pb2.SubmitSharesRequest) -> list[ShareSubmission]:
    """The shares of a request, checked.

    Raises
    ------
    InvalidRequestError
        For a missing worker id, too many shares, or a share without a job id.
    """
    check = Checker()
    if not request.worker_id:
        check.add("worker_id", "is required")
    if len(request.shares) > MAX_SHARES_PER_CALL:
        check.add("shares", f"at most {MAX_SHARES_PER_CALL} per call, got {len(request.shares)}")
    shares = []
    for i, share in enumerate(request.shares[:MAX_SHARES_PER_CALL]):
        if not share.job_id or len(share.job_id) > MAX_NAME_CHARS:
            check.add(f"shares[{i}].job_id", f"must be 1-{MAX_NAME_CHARS} characters")
        check.text(f"shares[{i}].share_id", share.share_id, max_chars=MAX_NAME_CHARS)
        shares.append(ShareSubmission(share.share_id, share.job_id, share.ntime, share.nonce))
    check.raise_if_any()
    return shares


def schedule_from_proto(
    request: operator_pb2.PushScheduleRequest, *, max_period_s: float
) -> list[ScheduleEntry]:
    """The schedule entries of a request, checked (no overlaps within a site).

    Raises
    ------
    InvalidRequestError
        Naming each wrong entry field.
    """
    check = Checker()
    check.text("reason", request.reason)
    if not request.entries:
        check.add("entries", "must hold at least one period")
    if len(request.entries) > MAX_SCHEDULE_ENTRIES:
        check.add("entries", f"at most {MAX_SCHEDULE_ENTRIES}, got {len(request.entries)}")
    entries = []
    for i, entry in enumerate(request.entries[:MAX_SCHEDULE_ENTRIES]):
        site = check.name(f"entries[{i}].site", entry.site)
        start_s = check.timestamp_s(
            f"entries[{i}].start_time", entry.start_time, entry.HasField("start_time")
        )
        length_s = check.duration_s(
            f"entries[{i}].duration",
            entry.duration,
            entry.HasField("duration"),
            maximum_s=max_period_s,
        )
        budget_w = check.watts(f"entries[{i}].budget_watts", entry.budget_watts)
        source = {
            common_pb2.ENERGY_SOURCE_UNSPECIFIED: "grid",
            common_pb2.ENERGY_SOURCE_GRID: "grid",
            common_pb2.ENERGY_SOURCE_CURTAILED: "curtailed",
        }.get(entry.energy_source)
        if source is None:
            check.add(f"entries[{i}].energy_source", f"unknown value {entry.energy_source}")
            source = "grid"
        entries.append(ScheduleEntry(site, start_s, start_s + length_s, budget_w, source))
    check.raise_if_any()
    by_site: dict[str, list[tuple[int, ScheduleEntry]]] = {}
    for i, checked in enumerate(entries):
        by_site.setdefault(checked.site, []).append((i, checked))
    for items in by_site.values():
        items.sort(key=lambda item: item[1].start_s)
        for (_, before), (i, after) in itertools.pairwise(items):
            if after.start_s < before.end_s:
                check.add(f"entries[{i}].start_time", "overlaps an earlier period of its site")
    check.raise_if_any()
    return entries


def search_from_proto(request: miner_pb2.SearchNoncesRequest) -> tuple[bytes, int, int, int]:
    """Header, target, nonce start and count of a direct search, checked.

    Raises
    ------
    InvalidRequestError
        Naming ``header``, ``bits``, ``target``, ``nonce_start`` or ``nonce_count``.
    """
    check = Checker()
    if len(request.header) not in (kernels.PREFIX_BYTES, kernels.HEADER_BYTES):
        check.add("header", f"must be 76 or 80 bytes, got {len(request.header)}")
    goal = request.WhichOneof("goal")
    target = 0
    if goal is None:
        check.add("goal", "set bits or target")
    elif goal == "bits":
        try:
            target = kernels.bits_to_target(request.bits)
            kernels.validate_target(target)
        except kernels.KernelInputError as exc:
            check.add("bits", exc.problem)
    else:
        if len(request.target) != 32:
            check.add("target", f"must be 32 bytes big-endian, got {len(request.target)}")
        else:
            target = int.from_bytes(request.target, "big")
            if target == 0:
                check.add("target", "must be above zero")
    if request.nonce_count == 0:
        check.add("nonce_count", "must be at least 1")
    elif request.nonce_start + request.nonce_count > kernels.MAX_NONCE + 1:
        check.add(
            "nonce_count",
            f"range {request.nonce_start} + {request.nonce_count} runs past nonce"
            f" {kernels.MAX_NONCE}",
        )
    check.raise_if_any()
    return request.header, target, request.nonce_start, request.nonce_count


def plan_budget(plan: planner_pb2.Plan, site: str, now_s: float) -> Budget | None:
    """A stored plan's budget for ``site`` in the period covering ``now_s``, if any."""
    if plan.status not in (planner_pb2.PLAN_STATUS_OPTIMAL, planner_pb2.PLAN_STATUS_TIME_LIMIT):
        return None
    period_s = plan.period_duration.seconds + plan.period_duration.nanos / 1e9
    start_s = plan.start_time.seconds + plan.start_time.nanos / 1e9
    if period_s <= 0 or now_s < start_s:
        return None
    index = int((now_s - start_s) // period_s)
    for site_plan in plan.sites:
        if site_plan.site == site and index < len(site_plan.budget_watts):
            budget_w = site_plan.budget_watts[index]
            curtailed_w = (
                site_plan.curtailed_watts[index] if index < len(site_plan.curtailed_watts) else 0.0
            )
            source = "curtailed" if budget_w > 0 and curtailed_w >= budget_w / 2 else "grid"
            end_s = start_s + (index + 1) * period_s
            return Budget(site, budget_w, BudgetSourceKind.PLAN, source, end_s)
    return None


def names(values: Sequence[str]) -> str:
    """``a, b, c`` for messages."""
    return ", ".join(values)
