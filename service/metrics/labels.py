"""Label values and histogram buckets shared by the metric families."""

from __future__ import annotations

from service.errors import optimiser_error_name

NAMESPACE = "spillway"
SHARE_RESULTS = ("accepted", "duplicate", "rejected")
ENERGY_SOURCES = ("curtailed", "grid")
# A pool's verdicts on forwarded shares (``service.stratum.client.ShareVerdict`` values).
POOL_VERDICTS = ("accepted", "rejected", "stale")
# Why a plan solve failed: the optimiser's errors by class name (matched along the MRO
# by service.errors.optimiser_error_name, so the service need not import the
# optimiser to count), anything else "error".
_PLAN_FAILURE_BY_ERROR = {
    "InfeasiblePlanError": "infeasible",
    "BadGridDataError": "bad_grid_data",
    "SolverUnavailableError": "solver_unavailable",
}
PLAN_FAILURE_REASONS = (*_PLAN_FAILURE_BY_ERROR.values(), "error")
# Why the ledger refused a signed telemetry report: by the field its error names
# (service.coordinator.recorder), anything else "malformed".
_TELEMETRY_REFUSAL_BY_FIELD = {
    "signed_telemetry": "unsigned",
    "telemetry_public_key": "unknown_key",
    "signed_telemetry.signature": "bad_signature",
    "signed_telemetry.sequence": "replay",
    "signed_telemetry.window_end_unix_ms": "clock",
    "signed_telemetry.window_start_unix_ms": "overlap",
    "signed_telemetry.energy_joules": "power",
}
TELEMETRY_REFUSAL_REASONS = (*_TELEMETRY_REFUSAL_BY_FIELD.values(), "malformed")


def plan_failure_reason(exc: BaseException) -> str:
    """The ``reason`` label of a failed plan solve."""
    name = optimiser_error_name(exc)
    return "error" if name is None else _PLAN_FAILURE_BY_ERROR.get(name, "error")


# Latency buckets for unary RPCs on loopback up to slow plan runs.
HANDLING_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
# Plan solves take from a fraction of a second to minutes.
SOLVE_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)
