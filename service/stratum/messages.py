"""What a Stratum session says, line by line: decoding the pool's lines and checking
their values (difficulty, ``client.reconnect``), the session state, share verdicts
and the pool's errors.

A pool is an untrusted peer: a line that is not JSON or not an object is logged
and skipped (``decode_line`` gives None); a bad value raises ``StratumJobError``
naming the method, and the client skips that message.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from service.stratum.errors import StratumError, StratumJobError
from service.stratum.work import StratumJob

__all__ = [
    "MAX_POOL_DIFFICULTY",
    "MAX_RECONNECT_WAIT_S",
    "MIN_POOL_DIFFICULTY",
    "PoolAnswer",
    "PoolError",
    "ShareVerdict",
    "StratumSession",
    "decode_line",
    "pool_difficulty",
    "reconnect_target",
]

logger = logging.getLogger(__name__)

# The longest wait a client.reconnect may ask for before the next connection.
MAX_RECONNECT_WAIT_S = 300.0
# The share difficulties a pool may set. Below 2**-32 the share target passes 2**256
# (every hash is a share: 1e-300 floods the farm); above 2**64 (about 10**5 times
# Bitcoin's network difficulty of 2025) a share would be many blocks, and 1e308's
# target is zero. Outside, the last sane difficulty stays (pools resend it).
MIN_POOL_DIFFICULTY = 2.0**-32
MAX_POOL_DIFFICULTY = 2.0**64


class ShareVerdict(StrEnum):
    """What the pool said of a share."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class PoolAnswer:
    """The pool's answer to one ``mining.submit``."""

    verdict: ShareVerdict
    reason: str = ""


@dataclass(slots=True)
class StratumSession:
    """What the pool told us in this connection."""

    extranonce1: bytes = b""
    extranonce2_size: int = 0
    difficulty: float = 1.0
    version_mask: int = 0  # 0: no version rolling
    job: StratumJob | None = None
    authorized: bool = False


class PoolError(StratumError):
    """An error the pool answered a request with (``[code, message, data]``)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"pool error {code}: {message}")
        self.code = code
        self.message = message

    @classmethod
    def from_json(cls, error: Any) -> PoolError:
        if isinstance(error, list) and error:
            code = error[0] if isinstance(error[0], int) else None
            return cls(code, str(error[1]) if len(error) > 1 else "")
        if isinstance(error, dict):
            code = error.get("code")
            return cls(code if isinstance(code, int) else None, str(error.get("message", "")))
        return cls(None, str(error))


def decode_line(line: bytes, url: str) -> dict[str, Any] | None:
    """A line from the pool at ``url`` as a JSON object; None for a blank line, and
    (logged) for one that is not JSON or not an object."""
    text = line.strip()
    if not text:
        return None
    try:
        message = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError):
        logger.warning("%s: skipped a line that is not JSON: %.80r", url, text)
        return None
    if not isinstance(message, dict):
        logger.warning("%s: skipped a message that is not an object", url)
        return None
    return message


def pool_difficulty(value: Any) -> float:
    """A pool's ``mining.set_difficulty`` value as a difficulty, if it is a sane one.

    Raises
    ------
    StratumJobError
        Naming ``mining.set_difficulty`` for a value that is no number, not finite,
        or outside ``[MIN_POOL_DIFFICULTY, MAX_POOL_DIFFICULTY]``.
    """
    field = "mining.set_difficulty"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise StratumJobError(field, f"must be a number, got {value!r:.40}")
    try:
        difficulty = float(value)
    except (ValueError, OverflowError):
        raise StratumJobError(field, f"must be a number, got {value!r:.40}") from None
    if not MIN_POOL_DIFFICULTY <= difficulty <= MAX_POOL_DIFFICULTY:  # NaN fails this too
        raise StratumJobError(
            field,
            f"must be within {MIN_POOL_DIFFICULTY:g}..{MAX_POOL_DIFFICULTY:g}, got {value!r:.40}",
        )
    return difficulty


def reconnect_target(params: list[Any], host: str, port: int) -> tuple[str, int, float]:
    """``client.reconnect [host, port, wait_s]`` as (host, port, wait clamped to
    0..``MAX_RECONNECT_WAIT_S``); a missing host or port is ``host``'s or ``port``'s.

    Raises
    ------
    StratumJobError
        For a port outside 1..65535 or a wait that is not a number.
    """
    host = str(params[0]) if params and params[0] else host
    port = int(params[1]) if len(params) > 1 and params[1] else port
    if not 1 <= port <= 0xFFFF:
        raise StratumJobError("client.reconnect", f"port must be 1..65535, got {params[1]!r}")
    wait_s = float(params[2]) if len(params) > 2 and params[2] is not None else 0.0
    if not math.isfinite(wait_s):
        raise StratumJobError("client.reconnect", f"wait must be seconds, got {params[2]!r}")
    return host, port, min(max(wait_s, 0.0), MAX_RECONNECT_WAIT_S)
