"""Errors of the service, and the one table that maps every error to a gRPC status.

::

    ServiceError
    ├── InvalidRequestError      a request field is wrong        INVALID_ARGUMENT
    ├── NotFoundError            an unknown id or name           NOT_FOUND
    ├── AlreadyExistsError       a name another live party holds ALREADY_EXISTS
    ├── UnauthenticatedError     no bearer token                 UNAUTHENTICATED
    ├── PermissionDeniedError    a wrong bearer token            PERMISSION_DENIED
    ├── ResourceExhaustedError   past a size or rate limit       RESOURCE_EXHAUSTED
    ├── ShuttingDownError        the server is stopping          UNAVAILABLE
    └── ConfigError              bad settings at start-up        (never on the wire)

Foreign errors are mapped here too (``KernelInputError: INVALID_ARGUMENT``,
``LedgerInputError: INVALID_ARGUMENT`` (a refused telemetry report names its field),
``DeviceUnavailableError: UNAVAILABLE``, ``InfeasiblePlanError: FAILED_PRECONDITION``,
``BadGridDataError: INVALID_ARGUMENT``, ``SolverUnavailableError: UNAVAILABLE``).
Anything not in the table is ``INTERNAL`` with a generic message; the details go
to the log only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import grpc
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from kernels.errors import DeviceUnavailableError, KernelBuildError, KernelInputError
from optimiser.errors import (
    BadGridDataError,
    InfeasiblePlanError,
    OptimiserError,
    SolverUnavailableError,
)
from service.ledger.errors import LedgerInputError

__all__ = [
    "ERROR_TABLE",
    "AlreadyExistsError",
    "ConfigError",
    "FieldViolation",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "ServiceError",
    "ShuttingDownError",
    "UnauthenticatedError",
    "optimiser_error_name",
    "status_for",
]


@dataclass(frozen=True, slots=True)
class FieldViolation:
    """One wrong field: its path in the request (``entries[2].budget_watts``) and why."""

    field: str
    description: str


class ServiceError(Exception):
    """Base of every error the service raises."""


class InvalidRequestError(ServiceError):
    """One or more request fields are wrong; ``violations`` names each.

    Parameters
    ----------
    violations:
        At least one ``FieldViolation``.
    """

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        self.violations = tuple(violations)
        super().__init__(
            "; ".join(f"{v.field}: {v.description}" for v in self.violations) or "bad request"
        )

    @classmethod
    def one(cls, field: str, description: str) -> InvalidRequestError:
        """An error for a single field."""
        return cls([FieldViolation(field, description)])


class NotFoundError(ServiceError):
    """An id or name the coordinator does not know."""


class AlreadyExistsError(ServiceError):
    """A name held by another live party (a worker name registered with another key)."""


class UnauthenticatedError(ServiceError):
    """A call that changes state came without ``authorization: Bearer <token>``."""


class PermissionDeniedError(ServiceError):
    """The bearer token is not the configured one."""


class ResourceExhaustedError(ServiceError):
    """A size, concurrency or rate limit was reached."""


class ShuttingDownError(ServiceError):
    """The coordinator is shutting down."""


class ConfigError(ServiceError):
    """A setting is unusable (address in use, unreadable certificate...); names the setting."""


# The one error table: exception class -> gRPC status code. Looked up along the MRO.
ERROR_TABLE: dict[type[BaseException], grpc.StatusCode] = {
    InvalidRequestError: grpc.StatusCode.INVALID_ARGUMENT,
    NotFoundError: grpc.StatusCode.NOT_FOUND,
    AlreadyExistsError: grpc.StatusCode.ALREADY_EXISTS,
    UnauthenticatedError: grpc.StatusCode.UNAUTHENTICATED,
    PermissionDeniedError: grpc.StatusCode.PERMISSION_DENIED,
    ResourceExhaustedError: grpc.StatusCode.RESOURCE_EXHAUSTED,
    ShuttingDownError: grpc.StatusCode.UNAVAILABLE,
    KernelInputError: grpc.StatusCode.INVALID_ARGUMENT,
    LedgerInputError: grpc.StatusCode.INVALID_ARGUMENT,
    DeviceUnavailableError: grpc.StatusCode.UNAVAILABLE,
    KernelBuildError: grpc.StatusCode.FAILED_PRECONDITION,
}
# The optimiser's own classes: `optimiser.errors` imports nothing (no pandas, no Pyomo).
OPTIMISER_ERRORS: tuple[type[OptimiserError], ...] = (
    InfeasiblePlanError,
    BadGridDataError,
    SolverUnavailableError,
    OptimiserError,
)
ERROR_TABLE.update(
    {
        InfeasiblePlanError: grpc.StatusCode.FAILED_PRECONDITION,
        BadGridDataError: grpc.StatusCode.INVALID_ARGUMENT,
        SolverUnavailableError: grpc.StatusCode.UNAVAILABLE,
        OptimiserError: grpc.StatusCode.FAILED_PRECONDITION,
    }
)


def optimiser_error_name(exc: BaseException) -> str | None:
    """The class name of the optimiser error ``exc`` is or subclasses, else ``None``.

    Walks the MRO, so a subclass of ``BadGridDataError`` answers ``"BadGridDataError"``
    (the plan-failure metric's ``reason`` label keeps to this small fixed set).
    """
    for klass in type(exc).__mro__:
        if klass in OPTIMISER_ERRORS:
            return klass.__name__
    return None


def _code_for(exc: BaseException) -> grpc.StatusCode | None:
    for klass in type(exc).__mro__:
        if klass in ERROR_TABLE:
            return ERROR_TABLE[klass]
    return None


_GENERIC_INTERNAL = "internal error; see the coordinator's log"


def status_for(exc: BaseException) -> grpc.Status | None:
    """The rich status (code, message, ``google.rpc`` details) for ``exc``.

    Returns ``None`` for an exception not in the table (the caller logs it and
    answers ``INTERNAL`` with a generic message).
    """
    code = _code_for(exc)
    if code is None:
        return None
    status = status_pb2.Status(code=code.value[0], message=str(exc))
    violations: tuple[FieldViolation, ...] = ()
    if isinstance(exc, InvalidRequestError):
        violations = exc.violations
    elif isinstance(exc, KernelInputError | LedgerInputError):
        violations = (FieldViolation(exc.field, exc.problem),)
    elif isinstance(exc, BadGridDataError):  # names file, row and field
        parts = (exc.file, exc.row, exc.field)
        where = ".".join(str(p) for p in parts if p is not None)
        violations = (FieldViolation(f"scenario ({where})", str(exc)),)
    if violations:
        detail = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in violations
            ]
        )
        status.details.add().Pack(detail)
    result: grpc.Status = rpc_status.to_status(status)
    return result


def internal_status() -> grpc.Status:
    """The generic ``INTERNAL`` status: no details leave the process."""
    result: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=code_pb2.INTERNAL, message=_GENERIC_INTERNAL)
    )
    return result
