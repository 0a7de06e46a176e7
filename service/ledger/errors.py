"""Errors of the energy ledger.

::

    LedgerError
    ├── LedgerInputError      a record, export or argument is malformed (``field`` names it)
    └── LedgerIntegrityError  the chain, a Merkle root or a signature does not check out
"""

from __future__ import annotations

__all__ = ["LedgerError", "LedgerInputError", "LedgerIntegrityError"]


class LedgerError(Exception):
    """Base of the ledger's errors."""


class LedgerInputError(LedgerError, ValueError):
    """A malformed field; ``field`` names it."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class LedgerIntegrityError(LedgerError):
    """The ledger does not verify; ``period`` is the first bad one (None if unknown)."""

    def __init__(self, period: int | None, problem: str) -> None:
        where = f"period {period}" if period is not None else "ledger"
        super().__init__(f"{where}: {problem}")
        self.period = period
        self.problem = problem
