"""Errors of the grid's signals (OpenADR, price feeds, forecasts).

::

    SignalsError
    ├── BadSignalInputError   a price feed / signal input is wrong (file, row, field)
    └── VenError              the OpenADR VEN cannot start (bad settings, certificates)

A forecast that does not fit its scenario raises ``optimiser.BadGridDataError``
(file, row, field), the optimiser's own error for bad grid data.
"""

from __future__ import annotations

__all__ = ["BadSignalInputError", "SignalsError", "VenError"]


class SignalsError(Exception):
    """Base of every error raised by ``service.signals``."""


class BadSignalInputError(SignalsError):
    """An input is wrong; names the file, the row (1-based, header = 1) and the field.

    Parameters
    ----------
    file, row, field:
        Where the problem is (``row``/``field`` may be ``None`` for a whole-file problem).
    problem:
        What is wrong.
    """

    def __init__(self, file: str, row: int | None, field: str | None, problem: str) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.problem = problem
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


class VenError(SignalsError):
    """The VEN cannot be set up as asked (settings, certificate files)."""
