"""Request limits and the field checker of the gRPC edge.

``Checker`` collects every wrong field of a request and raises one
``InvalidRequestError`` naming them all (sent as ``google.rpc.BadRequest``),
before anything is stored.
"""

from __future__ import annotations

import math
import re

from google.protobuf import duration_pb2, timestamp_pb2

from service.errors import FieldViolation, InvalidRequestError

__all__ = [
    "MAX_NAME_CHARS",
    "MAX_POWER_W",
    "MAX_REASON_CHARS",
    "MAX_SCHEDULE_ENTRIES",
    "MAX_SHARES_PER_CALL",
    "Checker",
]

MAX_NAME_CHARS = 64
# Site and worker names go into metric labels and file names: keep them plain.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# No site draws more than a gigawatt; a larger number is a unit mistake.
MAX_POWER_W = 1e9
MAX_SHARES_PER_CALL = 1000
MAX_SCHEDULE_ENTRIES = 10_000
MAX_REASON_CHARS = 500


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
