"""Messages <-> domain types: every conversion between ``spillway.v1`` and the service's types.

Request fields are checked on the way in with ``service.rpc.checks.Checker``,
which names every wrong field at once, before anything is stored.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING

from google.protobuf import duration_pb2, timestamp_pb2

import kernels
from service.domain import (
    BranchPlan,
    Budget,
    BudgetSourceKind,
    Calendar,
    Job,
    Override,
    Plan,
    PlanModeKind,
    PlanStatusKind,
    PlanSummary,
    PlantPlan,
    PoolState,
    ScheduleEntry,
    ShareResultKind,
    ShareSubmission,
    SitePlan,
    SiteSource,
)
from service.rpc.checks import (
    MAX_NAME_CHARS,
    MAX_SCHEDULE_ENTRIES,
    MAX_SHARES_PER_CALL,
    Checker,
)
from service.units import NS_PER_S, seconds_to_ns
from spillway.v1 import common_pb2, miner_pb2, operator_pb2, planner_pb2

if TYPE_CHECKING:
    from service.ledger.model import Telemetry

__all__ = [
    "ENERGY_MEASUREMENTS",
    "ENERGY_MEASUREMENT_NAMES",
    "budget_to_proto",
    "calendar_to_proto",
    "job_to_proto",
    "mode_from_proto",
    "mode_to_proto",
    "override_to_proto",
    "plan_from_proto",
    "plan_to_proto",
    "pool_state_to_proto",
    "schedule_from_proto",
    "search_from_proto",
    "shares_from_proto",
    "telemetry_to_proto",
    "timestamp",
    "timestamp_ns",
]

# Request limits and the field checker: ``service.rpc.checks``.

_BUDGET_SOURCES = {
    BudgetSourceKind.NONE: common_pb2.BUDGET_SOURCE_NONE,
    BudgetSourceKind.PLAN: common_pb2.BUDGET_SOURCE_PLAN,
    BudgetSourceKind.SCHEDULE: common_pb2.BUDGET_SOURCE_SCHEDULE,
    BudgetSourceKind.OVERRIDE: common_pb2.BUDGET_SOURCE_OVERRIDE,
    BudgetSourceKind.GRID_EVENT: common_pb2.BUDGET_SOURCE_GRID_EVENT,
    BudgetSourceKind.PRICE_RULE: common_pb2.BUDGET_SOURCE_PRICE_RULE,
}
_ENERGY_SOURCES = {
    "curtailed": common_pb2.ENERGY_SOURCE_CURTAILED,
    "grid": common_pb2.ENERGY_SOURCE_GRID,
}
# The ledger's energy_measurement words and the message's numbers ("" is unstated).
ENERGY_MEASUREMENTS = {
    "": miner_pb2.ENERGY_MEASUREMENT_UNSPECIFIED,
    "modelled": miner_pb2.ENERGY_MEASUREMENT_MODELLED,
    "measured": miner_pb2.ENERGY_MEASUREMENT_MEASURED,
}
ENERGY_MEASUREMENT_NAMES = {value: name for name, value in ENERGY_MEASUREMENTS.items()}
SHARE_RESULTS = {
    ShareResultKind.ACCEPTED: miner_pb2.SHARE_RESULT_ACCEPTED,
    ShareResultKind.DUPLICATE: miner_pb2.SHARE_RESULT_DUPLICATE,
    ShareResultKind.REJECTED_UNKNOWN_JOB: miner_pb2.SHARE_RESULT_REJECTED_UNKNOWN_JOB,
    ShareResultKind.REJECTED_ABOVE_TARGET: miner_pb2.SHARE_RESULT_REJECTED_ABOVE_TARGET,
    ShareResultKind.REJECTED_BAD_NTIME: miner_pb2.SHARE_RESULT_REJECTED_BAD_NTIME,
}


def timestamp(seconds: float) -> timestamp_pb2.Timestamp:
    """A ``Timestamp`` from Unix seconds."""
    return timestamp_ns(seconds_to_ns(seconds))


def duration(seconds: float) -> duration_pb2.Duration:
    """A ``Duration`` from seconds (>= 0)."""
    return _duration_ns(seconds_to_ns(seconds))


def pool_state_to_proto(state: PoolState) -> operator_pb2.PoolStatus:
    """``GetStatus``'s pool part."""
    return operator_pb2.PoolStatus(
        url=state.url,
        connected=state.connected,
        difficulty=state.difficulty,
        job_id=state.job_id,
        shares_accepted=state.shares_accepted,
        shares_rejected=state.shares_rejected,
        shares_stale=state.shares_stale,
    )


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
    ``service.rpc.ledger_servicer.telemetry_from_proto``; the public key is not sent)."""
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
        energy_measurement=ENERGY_MEASUREMENTS[telemetry.energy_measurement],
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


def names(values: Sequence[str]) -> str:
    """``a, b, c`` for messages."""
    return ", ".join(values)


# The plan and the calendar (times in whole ns both sides, so a plan goes to and fro exactly).

_MODES = {
    PlanModeKind.UNSPECIFIED: planner_pb2.PLANNING_MODE_UNSPECIFIED,
    PlanModeKind.CO_OPTIMISED: planner_pb2.PLANNING_MODE_CO_OPTIMISED,
    PlanModeKind.CURTAILMENT_ONLY: planner_pb2.PLANNING_MODE_CURTAILMENT_ONLY,
}
_MODE_KINDS = {value: kind for kind, value in _MODES.items()}
_STATUSES = {
    PlanStatusKind.UNKNOWN: planner_pb2.PLAN_STATUS_UNKNOWN,
    PlanStatusKind.OPTIMAL: planner_pb2.PLAN_STATUS_OPTIMAL,
    PlanStatusKind.INFEASIBLE: planner_pb2.PLAN_STATUS_INFEASIBLE,
    PlanStatusKind.TIME_LIMIT: planner_pb2.PLAN_STATUS_TIME_LIMIT,
    PlanStatusKind.ERROR: planner_pb2.PLAN_STATUS_ERROR,
}
_STATUS_KINDS = {value: kind for kind, value in _STATUSES.items()}


def mode_to_proto(mode: PlanModeKind) -> planner_pb2.PlanningMode:
    """The message's planning mode."""
    return _MODES[mode]


def mode_from_proto(mode: planner_pb2.PlanningMode) -> PlanModeKind:
    """The domain's planning mode (an unknown number reads as unspecified)."""
    return _MODE_KINDS.get(mode, PlanModeKind.UNSPECIFIED)


def timestamp_ns(ns: int) -> timestamp_pb2.Timestamp:
    """A ``Timestamp`` from whole Unix nanoseconds."""
    return timestamp_pb2.Timestamp(seconds=ns // NS_PER_S, nanos=ns % NS_PER_S)


def _duration_ns(ns: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=ns // NS_PER_S, nanos=ns % NS_PER_S)


def calendar_to_proto(calendar: Calendar) -> planner_pb2.Scenario:
    """A scenario message holding only a calendar (no components)."""
    return planner_pb2.Scenario(
        name=calendar.name,
        start_time=timestamp_ns(calendar.start_ns),
        period_duration=_duration_ns(calendar.period_ns),
        period_count=calendar.period_count,
    )


def plan_to_proto(plan: Plan) -> planner_pb2.Plan:
    """The ``Plan`` message of a domain plan."""
    s = plan.summary
    return planner_pb2.Plan(
        plan_id=plan.plan_id,
        scenario_id=plan.scenario_id,
        mode=_MODES[plan.mode],
        status=_STATUSES[plan.status],
        termination=plan.termination,
        create_time=timestamp_ns(plan.create_ns),
        start_time=timestamp_ns(plan.start_ns),
        period_duration=_duration_ns(plan.period_ns),
        period_count=plan.period_count,
        sites=[
            planner_pb2.SitePlan(
                site=site.site,
                budget_watts=site.budget_w,
                curtailed_watts=site.curtailed_w,
                bus=site.bus,
                bus_marginal_price_per_megawatt_hour=site.bus_price_per_mwh,
                sources=[
                    planner_pb2.SiteSource(plant=src.plant, watts=src.power_w)
                    for src in site.sources
                ],
            )
            for site in plan.sites
        ],
        branches=[
            planner_pb2.BranchPlan(
                branch=b.branch,
                flow_watts=b.flow_w,
                loading_fraction=b.loading_fraction,
                shadow_price_per_megawatt_hour=b.shadow_price_per_mwh,
            )
            for b in plan.branches
        ],
        summary=planner_pb2.PlanSummary(
            objective=s.objective,
            revenue=s.revenue,
            mining_energy_joules=s.mining_energy_j,
            curtailment_absorbed_joules=s.curtailment_absorbed_j,
            grid_energy_joules=s.grid_energy_j,
            solve_seconds=s.solve_s,
        ),
        plants=[
            planner_pb2.PlantPlan(
                plant=p.plant, carrier=p.carrier, bus=p.bus, absorbed_watts=p.absorbed_w
            )
            for p in plan.plants
        ],
    )


def plan_from_proto(message: planner_pb2.Plan) -> Plan:
    """The domain plan of a ``Plan`` message (a stored plan, or one built by a test)."""
    s = message.summary
    return Plan(
        plan_id=message.plan_id,
        scenario_id=message.scenario_id,
        mode=mode_from_proto(message.mode),
        status=_STATUS_KINDS.get(message.status, PlanStatusKind.UNKNOWN),
        termination=message.termination,
        create_ns=message.create_time.seconds * NS_PER_S + message.create_time.nanos,
        start_ns=message.start_time.seconds * NS_PER_S + message.start_time.nanos,
        period_ns=message.period_duration.seconds * NS_PER_S + message.period_duration.nanos,
        period_count=message.period_count,
        sites=tuple(
            SitePlan(
                site=site.site,
                budget_w=tuple(site.budget_watts),
                curtailed_w=tuple(site.curtailed_watts),
                bus=site.bus,
                bus_price_per_mwh=tuple(site.bus_marginal_price_per_megawatt_hour),
                sources=tuple(SiteSource(src.plant, tuple(src.watts)) for src in site.sources),
            )
            for site in message.sites
        ),
        branches=tuple(
            BranchPlan(
                branch=b.branch,
                flow_w=tuple(b.flow_watts),
                loading_fraction=tuple(b.loading_fraction),
                shadow_price_per_mwh=tuple(b.shadow_price_per_megawatt_hour),
            )
            for b in message.branches
        ),
        plants=tuple(
            PlantPlan(p.plant, p.carrier, p.bus, tuple(p.absorbed_watts)) for p in message.plants
        ),
        summary=PlanSummary(
            objective=s.objective,
            revenue=s.revenue,
            mining_energy_j=s.mining_energy_joules,
            curtailment_absorbed_j=s.curtailment_absorbed_joules,
            grid_energy_j=s.grid_energy_joules,
            solve_s=s.solve_seconds,
        ),
    )
