"""The compiled nonce search against real blocks and the plain-hashlib reference."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kernels
from kernels import CpuBackend, KernelInputError
from kernels.backend import EARLY_LIMB7_LIMIT, prepare_job, split_range
from kernels.reference import reference_scan

PATHS = kernels.cpu_paths()
WINDOW = 1 << 16  # nonces scanned around each real nonce


@pytest.fixture(scope="module", params=PATHS)
def backend(request: pytest.FixtureRequest) -> Iterator[CpuBackend]:
    """A two-thread CPU backend on each path this processor runs."""
    with CpuBackend(threads=2, path=request.param) as device:
        yield device


def limb7(prefix: bytes, nonce: int) -> int:
    digest = kernels.sha256d(prefix + nonce.to_bytes(4, "little"))
    return int.from_bytes(digest[28:], "little")


class TestRealBlocks:
    def test_window_around_each_real_nonce_finds_it(
        self, backend: CpuBackend, mainnet_headers: list[Any]
    ) -> None:
        """Scanning 2**16 nonces around each real block's nonce finds exactly that nonce's hash."""
        for row in mainnet_headers:
            target = kernels.bits_to_target(row.bits)
            start = min(max(0, row.nonce - WINDOW // 2), kernels.MAX_NONCE + 1 - WINDOW)
            result = backend.scan(row.header, target, start, WINDOW)
            hits = {hit.nonce: hit.hash_hex for hit in result.found}
            assert hits.get(row.nonce) == row.block_hash_display, row.height
            assert result.count == WINDOW

    def test_default_search_finds_genesis(self, mainnet_headers: list[Any]) -> None:
        """kernels.search with the automatic backend finds the genesis nonce."""
        genesis = mainnet_headers[0]
        result = kernels.search(
            genesis.header[:76],
            kernels.bits_to_target(genesis.bits),
            genesis.nonce - 1000,
            3000,
            backend="cpu",
        )
        assert [hit.nonce for hit in result.found] == [genesis.nonce]
        assert result.found[0].hash_hex == genesis.block_hash_display

    def test_real_midstate(self, stratum_vectors: dict[str, Any]) -> None:
        """The job's midstate is the real one a pool's ASIC would be sent."""
        vector = stratum_vectors["esp_miner_midstate"]
        job = prepare_job(bytes.fromhex(vector["first64_hex"]) + bytes(12), 1)
        midstate = struct.unpack("<8I", job[:32])
        assert bytes.fromhex(vector["midstate_words_be"]) == b"".join(
            word.to_bytes(4, "big") for word in midstate
        )


header_prefixes = st.binary(min_size=76, max_size=76)
# Easy targets (most significant limb >= 2**16) take the kernel's full 256-bit compare.
easy_targets = st.integers(min_value=EARLY_LIMB7_LIMIT << 224, max_value=kernels.MAX_TARGET)


class TestAgainstReference:
    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        prefix=header_prefixes,
        target=easy_targets,
        count=st.integers(0, 700),
        start=st.integers(0, kernels.MAX_NONCE),
        at_end=st.booleans(),
    )
    def test_finds_exactly_what_hashlib_finds(
        self, backend: CpuBackend, prefix: bytes, target: int, count: int, start: int, at_end: bool
    ) -> None:
        """On random headers and easy targets, exactly the hashlib reference's nonces, ends too."""
        last_start = kernels.MAX_NONCE + 1 - max(count, 1)
        start = last_start if at_end else min(start, last_start)
        result = backend.scan(prefix, target, start, count)
        assert [hit.nonce for hit in result.found] == reference_scan(prefix, target, start, count)
        for hit in result.found:
            assert hit.hash == kernels.sha256d(prefix + hit.nonce.to_bytes(4, "little"))

    @settings(
        max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(
        prefix=header_prefixes,
        top=st.integers(0, (1 << 32) - 1),
        count=st.integers(1, 600),
        start=st.integers(0, kernels.MAX_NONCE),
    )
    def test_early_reject_keeps_exactly_the_passing_top_limbs(
        self, backend: CpuBackend, prefix: bytes, top: int, count: int, start: int
    ) -> None:
        """The early scan's candidates are exactly the nonces whose top 32 hash bits pass."""
        start = min(start, kernels.MAX_NONCE + 1 - count)
        top |= 1 << 27  # about one nonce in 32 or more passes: enough to see
        job = prepare_job(prefix, (top << 224) | ((1 << 224) - 1))
        candidates = backend._cpu.scan(job, start, count, backend.path, False)
        expected = [n for n in range(start, start + count) if limb7(prefix, n) <= top]
        assert sorted(candidates) == expected

    def test_regtest_target_finds_about_half(self) -> None:
        """With regtest's 207fffff about half of all nonces meet the target, and all are found."""
        prefix = hashlib.sha256(b"regtest").digest() * 2 + bytes(12)
        target = kernels.bits_to_target(0x207FFFFF)
        result = kernels.search(prefix, target, 0, 4096, backend="cpu")
        assert [hit.nonce for hit in result.found] == reference_scan(prefix, target, 0, 4096)
        assert 1800 < len(result.found) < 2300

    def test_threads_split_without_gaps_or_overlap(self) -> None:
        """One, two and three threads find the same nonces over the same range."""
        prefix = bytes(range(76))
        target = 1 << 247  # about 1 in 512
        found = []
        for threads in (1, 2, 3):
            with CpuBackend(threads=threads) as device:
                result = device.scan(prefix, target, 1000, 200_000)
            found.append([hit.nonce for hit in result.found])
        assert found[0] == found[1] == found[2]
        assert len(found[0]) > 200

    def test_iter_search_yields_bounded_batches(self) -> None:
        """iter_search covers the range in batches no larger than the backend's."""
        with CpuBackend(threads=1) as device:
            device.batch_size = 10_000
            batches = list(kernels.iter_search(bytes(76), 1 << 250, 5, 25_000, backend=device))
        assert [(b.nonce_start, b.count) for b in batches] == [
            (5, 10_000),
            (10_005, 10_000),
            (20_005, 5_000),
        ]
        nonces = [hit.nonce for b in batches for hit in b.found]
        assert nonces == reference_scan(bytes(76), 1 << 250, 5, 25_000)


class TestBadInput:
    @pytest.mark.parametrize(
        ("kwargs", "field"),
        [
            ({"header": bytes(75)}, "header"),
            ({"header": bytes(81)}, "header"),
            ({"target": 0}, "target"),
            ({"target": 2**256}, "target"),
            ({"nonce_start": -1}, "nonce_start"),
            ({"count": -1}, "count"),
            ({"nonce_start": 2**32}, "nonce_start"),
            ({"nonce_start": 2**32 - 10, "count": 11}, "count"),
        ],
    )
    def test_bad_scan_arguments_are_refused(self, kwargs: dict[str, Any], field: str) -> None:
        """Each bad argument raises KernelInputError naming it, before any hashing."""
        args = {"header": bytes(80), "target": 1 << 255, "nonce_start": 0, "count": 16} | kwargs
        with pytest.raises(KernelInputError) as info:
            kernels.search(
                args["header"], args["target"], args["nonce_start"], args["count"], backend="cpu"
            )
        assert info.value.field == field

    def test_range_ending_at_last_nonce_is_fine(self) -> None:
        """A range that ends exactly at nonce 2**32-1 is accepted."""
        result = kernels.search(bytes(80), 1 << 255, 2**32 - 10, 10, backend="cpu")
        assert result.count == 10

    @pytest.mark.parametrize("threads", [0, -2])
    def test_thread_count_below_one_is_refused(self, threads: int) -> None:
        """A thread count below 1 is refused by name."""
        with pytest.raises(KernelInputError) as info:
            CpuBackend(threads=threads)
        assert info.value.field == "threads"

    def test_unknown_backend_is_refused(self) -> None:
        """An unknown backend name is refused with the choices."""
        with pytest.raises(KernelInputError, match="auto, cpu, cuda"):
            kernels.get_backend("tpu")

    def test_unsupported_path_is_refused(self) -> None:
        """A CPU path this build does not know is refused, listing those it has."""
        with pytest.raises(KernelInputError, match="portable"):
            CpuBackend(threads=1, path="neon9000")


class TestHashrate:
    def test_measurement_counts_what_it_hashed(self) -> None:
        """measure_hashrate reports hashes, seconds and their ratio consistently."""
        rate = kernels.measure_hashrate("cpu", seconds=0.2, threads=1)
        assert rate.backend == "cpu" and rate.threads == 1
        assert rate.hashes > 0 and rate.seconds > 0
        assert rate.hashes_per_second == pytest.approx(rate.hashes / rate.seconds)

    def test_non_positive_duration_is_refused(self) -> None:
        """A measurement of zero seconds is refused."""
        with pytest.raises(KernelInputError):
            kernels.measure_hashrate("cpu", seconds=0)


class TestSplitRange:
    @given(
        start=st.integers(0, kernels.MAX_NONCE),
        count=st.integers(0, 2**32),
        parts=st.integers(1, 64),
    )
    def test_pieces_tile_the_range(self, start: int, count: int, parts: int) -> None:
        """Threads' and GPUs' pieces cover the range once, in order, sizes within one nonce."""
        count = min(count, kernels.MAX_NONCE + 1 - start)
        pieces = split_range(start, count, parts)
        assert len(pieces) == parts
        position = start
        for piece_start, piece_count in pieces:
            assert piece_start == position and piece_count >= 0
            position += piece_count
        assert position == start + count
        sizes = [piece_count for _, piece_count in pieces]
        assert max(sizes) - min(sizes) <= 1
