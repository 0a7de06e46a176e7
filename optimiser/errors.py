"""Errors raised by the optimiser, as one tree.

```
OptimiserError ─ InfeasiblePlanError, SolverUnavailableError, BadGridDataError
```

Foreign errors (pandas parse errors, Pyomo/HiGHS failures) are translated once, at
the edge where they occur, and re-raised from the original exception.
"""

from __future__ import annotations

__all__ = [
    "BadGridDataError",
    "InfeasiblePlanError",
    "OptimiserError",
    "SolverUnavailableError",
]


class OptimiserError(Exception):
    """Base class of every error the optimiser raises on purpose."""


class InfeasiblePlanError(OptimiserError):
    """The solver ended without an optimal plan.

    Parameters
    ----------
    message:
        Human-readable explanation.
    status:
        The plan status (``infeasible``, ``time_limit``, ``error``, ``unknown``).
    termination:
        The solver's own termination string.
    cause:
        What is known of the cause (for infeasibility), or ``""``.
    """

    def __init__(self, message: str, *, status: str, termination: str, cause: str = "") -> None:
        super().__init__(message + (f"; likely cause: {cause}" if cause else ""))
        self.status = status
        self.termination = termination
        self.cause = cause


class SolverUnavailableError(OptimiserError):
    """HiGHS (highspy) is not installed or cannot be loaded."""


class BadGridDataError(OptimiserError):
    """Input data is invalid; names the file, the row and the field.

    Parameters
    ----------
    file:
        File name (e.g. ``lines.csv``).
    row:
        1-based line number in the file (the header is line 1), or ``None``
        where the problem concerns the whole file.
    field:
        Column or field name, or ``None``.
    message:
        What is wrong.
    name:
        The component name on that row, when known.
    """

    def __init__(
        self,
        file: str,
        row: int | None,
        field: str | None,
        message: str,
        *,
        name: str | None = None,
    ) -> None:
        where = file
        if row is not None:
            where += f" line {row}"
        if name is not None:
            where += f" ({name!r})"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")
        self.file = file
        self.row = row
        self.field = field
        self.name = name
        self.detail = message
