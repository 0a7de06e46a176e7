"""A floor under each worker's share difficulty (a few shares a second), like a pool's vardiff.

A pool's difficulty is the pool's to choose, and a small one (a test pool, or a
hostile one) makes nearly every nonce a share: a 26 MH/s CPU thread then finds
thousands a second, and each is stored, acknowledged and forwarded. The
coordinator hands each worker its pool units at the harder of the pool's
difficulty and the worker's floor, the difficulty at which the worker finds
``max_shares_per_s`` on average::

    floor = hashrate_hs / (max_shares_per_s * 2**32)

(a share of difficulty 1 takes 2**32 hashes on average: the difficulty-1 target
is 2**-32 of the hash space). Shares at the floor still meet the pool's target,
so none is lost to the pool; the pool just sees fewer, harder ones.

The hashrate is the larger of what the worker declared and what its shares
show: each accepted share of difficulty ``d`` stands for ``d * 2**32`` hashes,
summed with an exponential decay over ``window_s`` (an O(1) estimate per worker
that equals the true hashrate at a steady share rate). A worker that declares
too little, or hashes faster than it said, is caught by its own shares;
``observe`` says when its floor has moved far enough above the difficulty of
the work it holds that the work must be re-cut.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from service.stratum.errors import StratumJobError

__all__ = ["HASHES_PER_DIFFICULTY", "ShareFloor", "difficulty_for_rate"]

# Expected hashes per share of difficulty 1 (DIFF1_TARGET is 0xffff * 2**208 ~ 2**224).
HASHES_PER_DIFFICULTY = 2**32
# The floor's top: a hashrate claim beyond any hardware must not make a zero target.
MAX_FLOOR_DIFFICULTY = 2.0**64
# Work is re-cut when the floor passes the held work's difficulty by this factor, at
# most once per RECUT_INTERVAL_S per worker (each re-cut hands every worker new units).
RECUT_FACTOR = 2.0
RECUT_INTERVAL_S = 1.0


def difficulty_for_rate(hashrate_hs: float, shares_per_s: float) -> float:
    """The share difficulty at which ``hashrate_hs`` finds ``shares_per_s`` on average."""
    return min(hashrate_hs / (shares_per_s * HASHES_PER_DIFFICULTY), MAX_FLOOR_DIFFICULTY)


class ShareFloor:
    """Per-worker minimum share difficulty from declared and observed hashrate.

    Parameters
    ----------
    max_shares_per_s:
        Shares a second a worker should find at most, on average.
    window_s:
        Time constant of the observed hashrate (seconds).
    clock_s:
        Monotonic seconds (tests may pass their own).

    Raises
    ------
    StratumJobError
        Naming ``max_worker_shares_per_s`` or ``window_s`` when not finite and positive.
    """

    def __init__(
        self,
        max_shares_per_s: float,
        *,
        window_s: float = 10.0,
        clock_s: Callable[[], float] = time.monotonic,
    ) -> None:
        if not (math.isfinite(max_shares_per_s) and max_shares_per_s > 0):
            raise StratumJobError(
                "max_worker_shares_per_s", f"must be above zero, got {max_shares_per_s!r}"
            )
        if not (math.isfinite(window_s) and window_s > 0):
            raise StratumJobError("window_s", f"must be above zero, got {window_s!r}")
        self.max_shares_per_s = max_shares_per_s
        self._window_s = window_s
        self._clock_s = clock_s
        # Per worker: decayed hashes its shares stand for, and when they were last decayed.
        self._work: dict[str, tuple[float, float]] = {}
        self._recut_s: dict[str, float] = {}

    def _decayed(self, worker: str, now_s: float) -> float:
        work, at_s = self._work.get(worker, (0.0, now_s))
        return work * math.exp(-max(0.0, now_s - at_s) / self._window_s)

    def observed_hashrate_hs(self, worker: str) -> float:
        """The hashrate the worker's recent shares stand for."""
        return self._decayed(worker, self._clock_s()) / self._window_s

    def difficulty(self, worker: str, declared_hashrate_hs: float) -> float:
        """The worker's floor: its share difficulty must be at least this (0: none)."""
        declared = declared_hashrate_hs if math.isfinite(declared_hashrate_hs) else 0.0
        hashrate_hs = max(declared, self.observed_hashrate_hs(worker), 0.0)
        return difficulty_for_rate(hashrate_hs, self.max_shares_per_s)

    def observe(self, worker: str, difficulty: float) -> bool:
        """Count one share the worker found at ``difficulty``.

        Returns True when the floor is now ``RECUT_FACTOR`` above ``difficulty`` (the
        worker holds work far too easy for it) and it was not re-cut in the last
        ``RECUT_INTERVAL_S``: the caller then hands the worker new units.
        """
        now_s = self._clock_s()
        work = self._decayed(worker, now_s) + difficulty * HASHES_PER_DIFFICULTY
        self._work[worker] = (work, now_s)
        floor = difficulty_for_rate(work / self._window_s, self.max_shares_per_s)
        if floor <= RECUT_FACTOR * difficulty:
            return False
        if now_s - self._recut_s.get(worker, -math.inf) < RECUT_INTERVAL_S:
            return False
        self._recut_s[worker] = now_s
        return True
