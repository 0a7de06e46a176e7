"""Header, target and difficulty rules against Bitcoin Core's and real blocks' values."""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kernels
from kernels import KernelInputError


class TestCompactTarget:
    # (nBits, value, negative, overflow): Bitcoin Core's arith_uint256_tests.cpp, bignum_SetCompact.
    CORE_VECTORS: ClassVar[list[tuple[int, int, bool, bool]]] = [
        (0x00000000, 0, False, False),
        (0x00123456, 0, False, False),
        (0x01003456, 0, False, False),
        (0x02000056, 0, False, False),
        (0x03000000, 0, False, False),
        (0x04000000, 0, False, False),
        (0x00923456, 0, False, False),
        (0x01803456, 0, False, False),
        (0x02800056, 0, False, False),
        (0x03800000, 0, False, False),
        (0x04800000, 0, False, False),
        (0x01123456, 0x12, False, False),
        (0x01FEDCBA, 0x7E, True, False),
        (0x02123456, 0x1234, False, False),
        (0x03123456, 0x123456, False, False),
        (0x04123456, 0x12345600, False, False),
        (0x04923456, 0x12345600, True, False),
        (0x05009234, 0x92340000, False, False),
        (
            0x20123456,
            0x1234560000000000000000000000000000000000000000000000000000000000,
            False,
            False,
        ),
        (0xFF123456, 0x123456 << (8 * (0xFF - 3)), False, True),
    ]

    @pytest.mark.parametrize(("bits", "value", "negative", "overflow"), CORE_VECTORS)
    def test_decode_matches_bitcoin_core(
        self, bits: int, value: int, negative: bool, overflow: bool
    ) -> None:
        """nBits decode gives Core's value, sign and overflow flags."""
        assert kernels.decode_compact(bits) == (value, negative, overflow)

    @pytest.mark.parametrize(
        ("bits", "canonical"),
        [
            (0x01123456, 0x01120000),
            (0x02123456, 0x02123400),
            (0x03123456, 0x03123456),
            (0x04123456, 0x04123456),
            (0x05009234, 0x05009234),
            (0x1D00FFFF, 0x1D00FFFF),
            (0x207FFFFF, 0x207FFFFF),
        ],
    )
    def test_encode_matches_bitcoin_core(self, bits: int, canonical: int) -> None:
        """Encoding a decoded target gives Core's GetCompact (the canonical nBits)."""
        value, _, _ = kernels.decode_compact(bits)
        assert kernels.target_to_bits(value) == canonical

    @given(st.integers(min_value=1, max_value=kernels.MAX_TARGET))
    def test_encode_then_decode_keeps_the_top_bits(self, target: int) -> None:
        """Compact form keeps a target's top 23 bits and never raises it."""
        bits = kernels.target_to_bits(target)
        decoded = kernels.bits_to_target(bits)
        assert decoded <= target
        assert target - decoded < 1 << max(0, target.bit_length() - 15)
        assert kernels.target_to_bits(decoded) == bits

    @pytest.mark.parametrize(
        ("bits", "problem"),
        [
            (0x04923456, "negative"),
            (0xFF123456, "above 2**256"),
            (0x01003456, "zero"),
            (0x23000001, "above 2**256"),
        ],
    )
    def test_invalid_targets_are_refused(self, bits: int, problem: str) -> None:
        """A negative, overflowing or zero nBits is refused by name."""
        with pytest.raises(KernelInputError, match=re.escape(problem)) as info:
            kernels.bits_to_target(bits)
        assert info.value.field == "bits"

    def test_regtest_target_decodes(self) -> None:
        """Regtest's 207fffff is 0x7fffff << 232, difficulty below 1."""
        assert kernels.bits_to_target(0x207FFFFF) == 0x7FFFFF << 232
        assert kernels.bits_to_difficulty(0x207FFFFF) < 1


class TestDifficulty:
    def test_difficulty_one_is_1d00ffff(self) -> None:
        """Difficulty 1 is the 1d00ffff target, 0x00000000FFFF0000..."""
        assert kernels.difficulty_to_target(1) == kernels.bits_to_target(0x1D00FFFF)
        assert int("00000000FFFF" + "0" * 52, 16) == kernels.DIFF1_TARGET
        assert kernels.bits_to_difficulty(0x1D00FFFF) == 1.0

    @pytest.mark.parametrize(
        "difficulty", [0.001, "0.5", Decimal("1e-6"), Fraction(1, 3), 2, 1024.5, 2**32]
    )
    def test_share_target_is_diff1_over_difficulty(self, difficulty: Any) -> None:
        """A pool difficulty d gives floor(DIFF1 / d), fractional ones included."""
        target = kernels.difficulty_to_target(difficulty)
        exact = Fraction(kernels.DIFF1_TARGET) / Fraction(difficulty)
        assert target == min(int(exact), kernels.MAX_TARGET)

    def test_tiny_difficulty_caps_at_max_target(self) -> None:
        """A difficulty so low the target would pass 2**256-1 is capped there."""
        assert kernels.difficulty_to_target(1e-30) == kernels.MAX_TARGET

    @pytest.mark.parametrize("difficulty", [0, -1, float("nan"), float("inf"), "abc", True, 1e80])
    def test_bad_difficulty_is_refused(self, difficulty: Any) -> None:
        """Zero, negative, non-finite, non-numeric and too-high difficulties are refused."""
        with pytest.raises(KernelInputError) as info:
            kernels.difficulty_to_target(difficulty)
        assert info.value.field == "difficulty"

    @pytest.mark.parametrize("job", ["esp_miner_job1", "esp_miner_job2"])
    def test_real_share_difficulty(self, stratum_vectors: dict[str, Any], job: str) -> None:
        """Real pool shares score the difficulty the pool credited."""
        vector = stratum_vectors[job]
        digest = kernels.block_hash(bytes.fromhex(vector["header_hex"]))
        assert kernels.display_hash(digest) == vector["hash"]
        assert kernels.hash_difficulty(digest) == pytest.approx(vector["share_diff"], rel=1e-12)
        share_target = kernels.difficulty_to_target(vector["share_diff"] * (1 - 1e-9))
        assert kernels.hash_meets_target(digest, share_target)


class TestMainnetHeaders:
    def test_every_header_hashes_to_its_block_hash(self, mainnet_headers: list[Any]) -> None:
        """Each real header's double SHA-256, byte-reversed, is the published block hash."""
        for row in mainnet_headers:
            assert kernels.display_hash(kernels.block_hash(row.header)) == row.block_hash_display

    def test_every_header_meets_its_own_bits(self, mainnet_headers: list[Any]) -> None:
        """Each real header's hash meets the target its nBits encodes, and not a 256x harder one."""
        for row in mainnet_headers:
            target = kernels.bits_to_target(row.bits)
            digest = kernels.block_hash(row.header)
            assert kernels.hash_meets_target(digest, target)
            assert kernels.parse_header(row.header).bits == row.bits

    def test_parse_and_pack_round_trip(self, mainnet_headers: list[Any]) -> None:
        """Parsing a header into fields and packing it back gives the same bytes."""
        for row in mainnet_headers:
            fields = kernels.parse_header(row.header)
            assert fields.pack() == row.header
            assert fields.nonce == row.nonce

    def test_genesis_fields(self, mainnet_headers: list[Any]) -> None:
        """The genesis block's fields read as every explorer shows them."""
        genesis = kernels.parse_header(mainnet_headers[0].header)
        assert (genesis.version, genesis.time, genesis.bits, genesis.nonce) == (
            1,
            1231006505,
            0x1D00FFFF,
            2083236893,
        )
        assert genesis.merkle_root[::-1].hex() == (
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        )


class TestHeaderInput:
    @pytest.mark.parametrize("length", [0, 75, 77, 79, 81])
    def test_wrong_length_header_is_refused(self, length: int) -> None:
        """A header that is not 76 or 80 bytes is refused, naming its length."""
        with pytest.raises(KernelInputError, match=f"got {length}") as info:
            kernels.header_prefix(bytes(length))
        assert info.value.field == "header"

    @pytest.mark.parametrize("target", [0, -5, 2**256, 2**300])
    def test_out_of_range_target_is_refused(self, target: int) -> None:
        """A target of 0 or at least 2**256 is refused."""
        with pytest.raises(KernelInputError) as info:
            kernels.validate_target(target)
        assert info.value.field == "target"

    def test_with_nonce_writes_little_endian(self) -> None:
        """The nonce goes into bytes 76..79 little-endian."""
        assert kernels.with_nonce(bytes(76), 0x01020304)[76:] == bytes([4, 3, 2, 1])
