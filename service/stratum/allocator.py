"""Work for many workers from one pool connection, and their shares back.

The coordinator holds one upstream Stratum session and hands each worker
distinct work: every ``WorkUnit`` has an (extranonce2, version, nonce range)
that no other unit of the same job has, so no two workers ever hash the same
header. Shares come back as (job, extranonce2, ntime, nonce, version);
``WorkAllocator.check_share`` rebuilds and hashes the header, and says whether
it meets the pool's share target before anything is sent upstream.

Version rolling (BIP 310 / BIP 320): where the pool grants a mask, unit ``i``
of an extranonce2 (and nonce range) gets the job's version with the mask's bits
XORed with ``i`` spread over them, so the first unit carries the job's own
version and no bit outside the mask ever changes. One extranonce2 then serves
``2**popcount(mask)`` units (65,536 for BIP 320's 16 bits) before the next is
taken: pools with a small extranonce2 run out far later. Units cycle through
versions first, then nonce ranges, then extranonce2.

ntime: a unit's ntime is the job's plus the seconds since the job arrived,
capped at 7,200 s ahead (Bitcoin refuses blocks more than two hours in the
future) and never behind the job's own. Workers may roll it forward by
``ntime_roll_s`` when they run out of nonces, never past that same cap.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import kernels
from service.stratum.errors import StratumJobError
from service.stratum.work import StratumJob

__all__ = ["MAX_NTIME_AHEAD_S", "ShareCheck", "WorkAllocator", "WorkUnit", "spread_bits"]

MAX_NTIME_AHEAD_S = 7200


def spread_bits(index: int, mask: int) -> int:
    """The bits of ``index``, lowest first, placed on the set bits of ``mask`` (lowest first).

    ``spread_bits(0b101, 0x1FFFE000) == 0x0000A000``; never sets a bit outside ``mask``.
    """
    spread = 0
    while index and mask:
        low = mask & -mask  # the mask's lowest remaining bit
        if index & 1:
            spread |= low
        mask ^= low
        index >>= 1
    return spread


@dataclass(frozen=True, slots=True)
class WorkUnit:
    """One worker's piece of a job: a header prefix and the nonces to try in it."""

    job_id: str
    extranonce2: bytes
    header_prefix: bytes  # the 76 bytes before the nonce
    ntime: int
    version: int
    nonce_start: int
    nonce_count: int
    share_target: int
    worker: str
    # How far a worker may roll ntime past the unit's: the allocator's roll, cut so
    # that ntime stays within MAX_NTIME_AHEAD_S of the job's own.
    ntime_roll_s: int = 0
    # The version bits the pool lets us roll (BIP 310); 0 when it granted none.
    version_mask: int = 0

    @property
    def version_bits(self) -> int | None:
        """``mining.submit``'s 6th param (BIP 310: ``version & mask``); None without rolling."""
        return self.version & self.version_mask if self.version_mask else None


@dataclass(frozen=True, slots=True)
class ShareCheck:
    """A returned share, rebuilt: its header and hash, and whether the pool will take it."""

    unit: WorkUnit
    nonce: int
    header: bytes
    hash: bytes
    meets_share_target: bool
    meets_block_target: bool


class WorkAllocator:
    """Distinct work units from the current job, for any number of workers.

    Parameters
    ----------
    nonces_per_unit:
        Nonces in one unit (the last unit of an extranonce2 may be shorter).
    nonce_first, nonce_count:
        The part of the nonce space each extranonce2 is searched over.
    extranonce2_start:
        The first extranonce2 of each job, as an integer.
    ntime_roll_s:
        How far past its unit's ntime a share's ntime may be (workers roll ntime when
        they run out of nonces).
    """

    def __init__(
        self,
        *,
        nonces_per_unit: int = 1 << 32,
        nonce_first: int = 0,
        nonce_count: int = 1 << 32,
        extranonce2_start: int = 0,
        ntime_roll_s: int = 0,
        clock_s: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= nonces_per_unit <= 1 << 32:
            raise StratumJobError(
                "nonces_per_unit", f"must be within 1..2**32, got {nonces_per_unit}"
            )
        kernels.backend.validate_range(nonce_first, nonce_count)
        if nonce_count < 1:
            raise StratumJobError("nonce_count", "must be at least 1")
        self._nonces_per_unit = nonces_per_unit
        self._nonce_first = nonce_first
        self._nonce_count = nonce_count
        self._extranonce2_start = extranonce2_start
        self._ntime_roll_s = ntime_roll_s
        self._clock_s = clock_s
        self._lock = threading.Lock()
        self._job: StratumJob | None = None
        self._job_received_s = 0.0
        self._extranonce1 = b""
        self._extranonce2_size = 0
        self._share_target = kernels.DIFF1_TARGET
        self._next_extranonce2 = 0
        self._next_offset = 0
        self._version_mask = 0
        self._next_roll = 0
        # By (job id, extranonce2, version, first nonce): each unit's own header and range.
        self._issued: dict[tuple[str, bytes, int, int], WorkUnit] = {}

    def update(
        self,
        job: StratumJob,
        extranonce1: bytes,
        extranonce2_size: int,
        difficulty: float,
        version_mask: int = 0,
    ) -> bool:
        """Take a new job, extranonce, difficulty or version mask from the pool.

        ``version_mask`` is what the pool granted (BIP 310; 0: no rolling).
        Returns True when workers must drop what they hash now: a new job with
        ``clean_jobs``, new extranonces (every header changes) or a new mask
        (rolled versions of the old one may now set forbidden bits).
        """
        if not 0 <= version_mask <= 0xFFFFFFFF:
            raise StratumJobError("version_mask", f"must be a 32-bit value, got {version_mask}")
        with self._lock:
            new_job = self._job is None or job.job_id != self._job.job_id
            new_session = (extranonce1, extranonce2_size, version_mask) != (
                self._extranonce1,
                self._extranonce2_size,
                self._version_mask,
            )
            self._share_target = kernels.difficulty_to_target(difficulty)
            if new_job or new_session:
                self._job = job
                self._job_received_s = self._clock_s()
                self._extranonce1 = extranonce1
                self._extranonce2_size = extranonce2_size
                self._version_mask = version_mask
                self._next_extranonce2 = self._extranonce2_start
                self._next_offset = 0
                self._next_roll = 0
                if job.clean_jobs or new_session:
                    self._issued.clear()
            return (new_job and job.clean_jobs) or new_session

    def reset(self) -> None:
        """Forget the job and every unit issued (the pool session ended: all of it is stale)."""
        with self._lock:
            self._job = None
            self._extranonce1 = b""
            self._extranonce2_size = 0
            self._version_mask = 0
            self._issued.clear()

    @property
    def share_target(self) -> int:
        return self._share_target

    def next_unit(self, worker: str) -> WorkUnit | None:
        """The next unit of the current job for ``worker``; None before the first job.

        Raises
        ------
        StratumJobError
            If the job's extranonce2 space is used up (the pool must send a new job).
        """
        with self._lock:
            job = self._job
            if job is None:
                return None
            size = self._extranonce2_size
            if self._next_extranonce2 >= 1 << (8 * size):
                raise StratumJobError(
                    "extranonce2", f"all {size}-byte values of job {job.job_id} are used"
                )
            extranonce2 = self._next_extranonce2.to_bytes(size, "big")
            nonce_start = self._nonce_first + self._next_offset
            nonce_count = min(self._nonces_per_unit, self._nonce_count - self._next_offset)
            mask = self._version_mask
            # XOR, not OR: roll 0 is the job's own version, and bits outside mask never move.
            version = job.version ^ spread_bits(self._next_roll, mask)
            # Versions first (no new merkle root per roll on an ASIC; here: extranonce2 lasts).
            self._next_roll += 1
            if self._next_roll >= 1 << mask.bit_count():
                self._next_roll = 0
                self._next_offset += nonce_count
                if self._next_offset >= self._nonce_count:
                    self._next_offset = 0
                    self._next_extranonce2 += 1
            elapsed_s = max(0, int(self._clock_s() - self._job_received_s))
            ntime = job.ntime + min(elapsed_s, MAX_NTIME_AHEAD_S)
            unit = WorkUnit(
                job_id=job.job_id,
                extranonce2=extranonce2,
                header_prefix=job.header_prefix(
                    self._extranonce1, extranonce2, ntime=ntime, version=version
                ),
                ntime=ntime,
                version=version,
                nonce_start=nonce_start,
                nonce_count=nonce_count,
                share_target=self._share_target,
                worker=worker,
                ntime_roll_s=max(0, min(self._ntime_roll_s, job.ntime + MAX_NTIME_AHEAD_S - ntime)),
                version_mask=mask,
            )
            self._issued[(job.job_id, extranonce2, version, nonce_start)] = unit
            return unit

    def check_share(
        self,
        worker: str,
        job_id: str,
        extranonce2: bytes,
        nonce: int,
        *,
        ntime: int | None = None,
        version: int | None = None,
    ) -> ShareCheck:
        """Rebuild and hash a worker's share (at the unit's ntime, or a rolled ``ntime``).

        ``version`` names the unit's rolled version (None: the job's own).

        Raises
        ------
        StratumJobError
            If the unit was never issued to this worker (``extranonce2``), its
            job is gone (``job_id``: stale), ``nonce`` is outside every unit's
            range, or ``ntime`` is outside the roll.
        """
        offset = nonce - self._nonce_first
        if not 0 <= offset < self._nonce_count:
            raise StratumJobError("nonce", f"{nonce} is outside the units' range")
        nonce_start = self._nonce_first + offset - offset % self._nonces_per_unit
        with self._lock:
            job = self._job
            if version is None:  # the job's own: roll 0, the first unit of its range issued
                unit = next(
                    (
                        issued
                        for (j, e2, _, start), issued in self._issued.items()
                        if (j, e2, start) == (job_id, extranonce2, nonce_start)
                    ),
                    None,
                )
            else:
                unit = self._issued.get((job_id, extranonce2, version, nonce_start))
            block_target = kernels.bits_to_target(job.nbits) if job is not None else 0
        if unit is None:
            raise StratumJobError(
                "job_id", f"{job_id}/{extranonce2.hex()} is not current work (stale)"
            )
        if unit.worker != worker:
            raise StratumJobError(
                "extranonce2", f"{extranonce2.hex()} was issued to another worker"
            )
        prefix = unit.header_prefix
        if ntime is not None and ntime != unit.ntime:
            if not unit.ntime <= ntime <= unit.ntime + unit.ntime_roll_s:
                raise StratumJobError(
                    "ntime",
                    f"{ntime} is outside [{unit.ntime}, {unit.ntime + unit.ntime_roll_s}]",
                )
            prefix = prefix[:68] + ntime.to_bytes(4, "little") + prefix[72:]
        header = prefix + nonce.to_bytes(4, "little")
        digest = kernels.block_hash(header)
        return ShareCheck(
            unit=unit,
            nonce=nonce,
            header=header,
            hash=digest,
            meets_share_target=kernels.hash_meets_target(digest, unit.share_target),
            meets_block_target=kernels.hash_meets_target(digest, block_target),
        )
