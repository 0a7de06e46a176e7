"""Errors of ``spillway report``, as a tree::

ReportError ─ PlanDirError
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["PlanDirError", "ReportError"]


class ReportError(Exception):
    """Base of every error raised while drawing a report."""


class PlanDirError(ReportError):
    """The plan directory is missing, or lacks a table the report needs.

    Parameters
    ----------
    path:
        The directory (or file in it) at fault.
    reason:
        What is wrong, for a person.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
