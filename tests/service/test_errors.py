"""The optimiser's errors are matched the same way (along the MRO) everywhere."""

from __future__ import annotations

import grpc
from google.rpc import error_details_pb2, status_pb2

from optimiser.errors import BadGridDataError, InfeasiblePlanError, OptimiserError
from service.errors import optimiser_error_name, status_for
from service.metrics import plan_failure_reason


class _SubBadGridError(BadGridDataError):
    pass


class _SubInfeasibleError(InfeasiblePlanError):
    pass


# Not the optimiser's, whatever its name.
_NamesakeError = type("InfeasiblePlanError", (Exception,), {})


def test_optimiser_error_name_walks_the_mro() -> None:
    assert optimiser_error_name(BadGridDataError("a.csv", 2, "x", "bad")) == "BadGridDataError"
    assert optimiser_error_name(_SubBadGridError("a.csv", 2, "x", "bad")) == "BadGridDataError"
    assert optimiser_error_name(OptimiserError("x")) == "OptimiserError"
    assert optimiser_error_name(ValueError("x")) is None
    assert optimiser_error_name(_NamesakeError("x")) is None
    assert plan_failure_reason(_NamesakeError("x")) == "error"


def test_plan_failure_reason_counts_subclasses() -> None:
    sub = _SubInfeasibleError("no plan", status="infeasible", termination="infeasible")
    assert plan_failure_reason(sub) == "infeasible"
    assert plan_failure_reason(_SubBadGridError("a.csv", 2, "x", "bad")) == "bad_grid_data"
    assert plan_failure_reason(OptimiserError("x")) == "error"
    assert plan_failure_reason(RuntimeError("x")) == "error"


def test_status_for_a_bad_grid_subclass_names_the_field() -> None:
    status = status_for(_SubBadGridError("lines.csv", 3, "x_pu", "negative"))
    assert status is not None
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    rich = status_pb2.Status()
    rich.ParseFromString(dict(status.trailing_metadata)["grpc-status-details-bin"])
    bad = error_details_pb2.BadRequest()
    assert rich.details[0].Unpack(bad)
    assert bad.field_violations[0].field == "scenario (lines.csv.3.x_pu)"
