"""Distinct work for every worker from one pool job, and shares back up to the pool."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from service.stratum import NOTIFY_FIELDS, StratumJob, StratumJobError
from service.stratum.allocator import MAX_NTIME_AHEAD_S, WorkAllocator, spread_bits
from service.stratum.client import PoolEndpoint, ShareVerdict, StratumClient
from service.stratum.work import build_header


@pytest.fixture
def block(stratum_vectors: dict[str, Any]) -> dict[str, Any]:
    vector: dict[str, Any] = stratum_vectors["block_277647"]
    return vector


def params_of(block: dict[str, Any], **change: Any) -> list[Any]:
    named = block["notify_params"] | change
    return [named[key] for key in NOTIFY_FIELDS]


EXTRANONCE1 = bytes.fromhex("0400003d")


class Clock:
    def __init__(self) -> None:
        self.now_s = 1_000_000.0

    def __call__(self) -> float:
        return self.now_s


class TestAllocation:
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
    @given(
        workers=st.integers(1, 6),
        units=st.integers(1, 60),
        per_unit=st.sampled_from([1 << 30, 1 << 31, 1 << 32]),
    )
    def test_no_two_units_overlap(
        self, block: dict[str, Any], workers: int, units: int, per_unit: int
    ) -> None:
        """Across workers, units never overlap: (header prefix, nonce range) pairs are disjoint."""
        allocator = WorkAllocator(nonces_per_unit=per_unit, clock_s=Clock())
        job = StratumJob.from_notify(block["notify_params"])
        allocator.update(job, EXTRANONCE1, 4, 1.0)
        seen: dict[bytes, list[tuple[int, int]]] = {}
        for i in range(units):
            unit = allocator.next_unit(f"w{i % workers}")
            assert unit is not None
            for start, count in seen.get(unit.header_prefix, []):
                assert (
                    unit.nonce_start >= start + count
                    or unit.nonce_start + unit.nonce_count <= start
                )
            seen.setdefault(unit.header_prefix, []).append((unit.nonce_start, unit.nonce_count))

    def test_clean_job_makes_old_work_stale(self, block: dict[str, Any]) -> None:
        """After a clean job, earlier units' shares are stale and workers are told to drop work."""
        allocator = WorkAllocator(clock_s=Clock())
        assert allocator.update(StratumJob.from_notify(block["notify_params"]), EXTRANONCE1, 4, 1.0)
        old = allocator.next_unit("w1")
        assert old is not None
        assert not allocator.update(
            StratumJob.from_notify(params_of(block, job_id="b", clean_jobs=False)),
            EXTRANONCE1,
            4,
            1.0,
        )
        allocator.check_share("w1", old.job_id, old.extranonce2, 0)  # still valid: not clean
        assert allocator.update(
            StratumJob.from_notify(params_of(block, job_id="c", clean_jobs=True)),
            EXTRANONCE1,
            4,
            1.0,
        )
        with pytest.raises(StratumJobError, match="stale"):
            allocator.check_share("w1", old.job_id, old.extranonce2, 0)

    def test_ntime_follows_the_clock_within_two_hours(self, block: dict[str, Any]) -> None:
        """A unit's ntime is the job's plus the time since it came, at most two hours ahead."""
        clock = Clock()
        allocator = WorkAllocator(clock_s=clock)
        job = StratumJob.from_notify(block["notify_params"])
        allocator.update(job, EXTRANONCE1, 4, 1.0)
        clock.now_s += 90
        unit = allocator.next_unit("w")
        assert unit is not None and unit.ntime == job.ntime + 90
        clock.now_s += 10 * MAX_NTIME_AHEAD_S
        unit = allocator.next_unit("w")
        assert unit is not None and unit.ntime == job.ntime + MAX_NTIME_AHEAD_S

    def test_rolled_ntime_stays_within_two_hours(self, block: dict[str, Any]) -> None:
        """A share may roll ntime by the unit's roll, which never reaches past two hours."""
        clock = Clock()
        allocator = WorkAllocator(ntime_roll_s=600, clock_s=clock)
        job = StratumJob.from_notify(block["notify_params"])
        allocator.update(job, EXTRANONCE1, 4, 1.0)
        fresh = allocator.next_unit("w")
        assert fresh is not None and fresh.ntime_roll_s == 600
        allocator.check_share("w", fresh.job_id, fresh.extranonce2, 0, ntime=fresh.ntime + 600)
        with pytest.raises(StratumJobError, match="ntime"):
            allocator.check_share("w", fresh.job_id, fresh.extranonce2, 0, ntime=fresh.ntime + 601)
        clock.now_s += MAX_NTIME_AHEAD_S - 200
        late = allocator.next_unit("w")
        assert late is not None and late.ntime_roll_s == 200
        assert late.ntime + late.ntime_roll_s == job.ntime + MAX_NTIME_AHEAD_S
        with pytest.raises(StratumJobError, match="ntime"):
            allocator.check_share("w", late.job_id, late.extranonce2, 0, ntime=late.ntime + 201)
        rolled = allocator.check_share("w", late.job_id, late.extranonce2, 0, ntime=late.ntime + 1)
        assert rolled.header[68:72] == (late.ntime + 1).to_bytes(4, "little")

    def test_share_of_another_worker_is_refused(self, block: dict[str, Any]) -> None:
        """A worker cannot return a share of a unit issued to someone else."""
        allocator = WorkAllocator(clock_s=Clock())
        allocator.update(StratumJob.from_notify(block["notify_params"]), EXTRANONCE1, 4, 1.0)
        unit = allocator.next_unit("alice")
        assert unit is not None
        with pytest.raises(StratumJobError, match="another worker"):
            allocator.check_share("bob", unit.job_id, unit.extranonce2, 5)


BIP320_MASK = 0x1FFFE000


class TestVersionRolling:
    def test_spread_bits_fills_the_mask_from_its_lowest_bit(self) -> None:
        """Index bits land on the mask's set bits, lowest first, and nowhere else."""
        assert spread_bits(0, BIP320_MASK) == 0
        assert spread_bits(0b101, BIP320_MASK) == 0x0000A000
        assert spread_bits(0xFFFF, BIP320_MASK) == BIP320_MASK
        assert spread_bits(0b11, 0x00006000) == 0x00006000
        assert spread_bits(0b100, 0x00006000) == 0  # beyond the mask's two bits: nothing

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
    @given(
        mask=st.sampled_from([BIP320_MASK, 0x00006000, 0x18000000, 0x0000A000]),
        units=st.integers(1, 40),
        per_unit=st.sampled_from([1 << 31, 1 << 32]),
        job_version=st.sampled_from([0x00000002, 0x20000000, 0x3FFFFFFF]),
    )
    def test_units_get_distinct_versions_within_the_mask(
        self, block: dict[str, Any], mask: int, units: int, per_unit: int, job_version: int
    ) -> None:
        """With a mask granted, units differ in version first; no bit outside the mask moves."""
        allocator = WorkAllocator(nonces_per_unit=per_unit, clock_s=Clock())
        job = StratumJob.from_notify(params_of(block, version=f"{job_version:08x}"))
        allocator.update(job, EXTRANONCE1, 4, 1.0, mask)
        issued = [allocator.next_unit("w") for _ in range(units)]
        rolls = 1 << mask.bit_count()
        seen: set[tuple[bytes, int]] = set()
        for i, unit in enumerate(issued):
            assert unit is not None
            assert unit.version & ~mask == job_version & ~mask
            assert unit.header_prefix[:4] == unit.version.to_bytes(4, "little")
            assert unit.version_bits == unit.version & mask
            assert unit.extranonce2 == (i // (rolls * (1 << 32) // per_unit)).to_bytes(4, "big")
            assert (unit.header_prefix, unit.nonce_start) not in seen
            seen.add((unit.header_prefix, unit.nonce_start))
        assert issued[0] is not None and issued[0].version == job_version  # roll 0: the job's
        versions = [unit.version for unit in issued[:rolls] if unit is not None]
        assert len(set(versions)) == len(versions)

    def test_share_check_rebuilds_the_rolled_version(self, block: dict[str, Any]) -> None:
        """A share of a rolled unit is rebuilt with that unit's version, as the pool will."""
        allocator = WorkAllocator(clock_s=Clock())
        job = StratumJob.from_notify(block["notify_params"])
        allocator.update(job, EXTRANONCE1, 4, 1.0, BIP320_MASK)
        first, rolled = allocator.next_unit("w"), allocator.next_unit("w")
        assert first is not None and rolled is not None
        assert rolled.version == job.version ^ 0x2000 and rolled.version_bits == 0x2000
        assert rolled.extranonce2 == first.extranonce2
        check = allocator.check_share(
            "w", rolled.job_id, rolled.extranonce2, 7, version=rolled.version
        )
        # The pool's rebuild (BIP 310): (job_version & ~mask) | (version_bits & mask).
        pool_version = (job.version & ~BIP320_MASK) | (rolled.version_bits & BIP320_MASK)
        assert check.header == build_header(
            job, EXTRANONCE1, rolled.extranonce2, nonce=7, ntime=rolled.ntime, version=pool_version
        )
        with pytest.raises(StratumJobError, match="stale"):  # a version never issued
            allocator.check_share("w", rolled.job_id, rolled.extranonce2, 7, version=0x7FFFFFFF)

    def test_without_a_mask_units_carry_the_job_version(self, block: dict[str, Any]) -> None:
        """No mask granted: every unit has the job's version and no version bits to submit."""
        allocator = WorkAllocator(clock_s=Clock())
        job = StratumJob.from_notify(block["notify_params"])
        allocator.update(job, EXTRANONCE1, 4, 1.0)
        units = [allocator.next_unit("w") for _ in range(3)]
        assert [u.version if u else None for u in units] == [job.version] * 3
        assert [u.version_bits if u else 0 for u in units] == [None] * 3
        assert len({u.extranonce2 if u else b"" for u in units}) == 3

    def test_a_new_mask_makes_old_work_stale(self, block: dict[str, Any]) -> None:
        """A mask change (mining.set_version_mask) is clean: old rolls may set forbidden bits."""
        allocator = WorkAllocator(clock_s=Clock())
        job = StratumJob.from_notify(block["notify_params"])
        assert allocator.update(job, EXTRANONCE1, 4, 1.0, BIP320_MASK)
        allocator.next_unit("w")
        old = allocator.next_unit("w")
        assert old is not None
        assert allocator.update(job, EXTRANONCE1, 4, 1.0, 0x00006000)
        with pytest.raises(StratumJobError, match="stale"):
            allocator.check_share("w", old.job_id, old.extranonce2, 0, version=old.version)
        new = allocator.next_unit("w")
        assert new is not None and new.version_mask == 0x00006000


class TestRealBlockThroughAPool:
    async def test_worker_share_rebuilds_the_real_block(
        self, stratum_pool: Any, block: dict[str, Any]
    ) -> None:
        """Pool job, unit around the real nonce, CPU kernel, share: the pool gets the real block."""
        await stratum_pool.notify(params_of(block))
        client = StratumClient(PoolEndpoint("127.0.0.1", stratum_pool.port, False, "farm.w1"))
        session = await client.connect()
        window = 1 << 18
        allocator = WorkAllocator(
            nonces_per_unit=window,
            nonce_first=block["nonce"] - window // 2,
            nonce_count=window,
            extranonce2_start=int(block["extranonce2"], 16),
            clock_s=lambda: 0.0,
        )
        assert session.job is not None
        allocator.update(
            session.job, session.extranonce1, session.extranonce2_size, session.difficulty
        )
        unit = allocator.next_unit("farm.w1")
        assert unit is not None
        result = kernels.search(
            unit.header_prefix, unit.share_target, unit.nonce_start, unit.nonce_count, backend="cpu"
        )
        assert block["nonce"] in [hit.nonce for hit in result.found]
        check = allocator.check_share("farm.w1", unit.job_id, unit.extranonce2, block["nonce"])
        assert check.meets_share_target and check.meets_block_target
        outcome = await client.submit(
            "farm.w1", unit.job_id, unit.extranonce2, unit.ntime, block["nonce"]
        )
        assert outcome.verdict is ShareVerdict.ACCEPTED
        assert stratum_pool.submissions[-1].hash_hex == block["expected_block_hash"]
        await client.close()
