"""Errors of the Stratum v1 code.

::

    StratumError
    └── StratumJobError     a job or share field a pool or operator gave is malformed
"""

from __future__ import annotations

__all__ = ["StratumError", "StratumJobError"]


class StratumError(Exception):
    """Base of the Stratum errors."""


class StratumJobError(StratumError, ValueError):
    """A malformed field of a job or share; ``field`` names it (``notify.prevhash``...)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem
