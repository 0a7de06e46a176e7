"""Bitcoin block-header, target and difficulty rules, exactly as Bitcoin Core has them.

A header is 80 bytes: version (4, little-endian), previous block hash (32,
internal order), merkle root (32, internal order), time (4), ``nBits`` (4) and
nonce (4, little-endian). Its proof-of-work hash is SHA-256(SHA-256(header)),
read as a 256-bit **little-endian** integer and compared with the target;
explorers show that hash byte-reversed.

Targets travel in ``nBits`` "compact" form: a base-256 exponent byte and a
23-bit mantissa with a sign bit (Bitcoin Core's ``arith_uint256::SetCompact``
and ``GetCompact``). Difficulty is ``DIFF1_TARGET / target`` with
``DIFF1_TARGET = 0x00000000FFFF0000...`` (the target of ``nBits`` 1d00ffff),
which is also how pools turn a share difficulty into a share target.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kernels.errors import KernelInputError

__all__ = [
    "DIFF1_TARGET",
    "HEADER_BYTES",
    "MAX_NONCE",
    "MAX_TARGET",
    "PREFIX_BYTES",
    "BlockHeader",
    "bits_to_difficulty",
    "bits_to_target",
    "block_hash",
    "decode_compact",
    "difficulty_to_target",
    "display_hash",
    "hash_difficulty",
    "hash_meets_target",
    "hash_to_int",
    "header_prefix",
    "parse_header",
    "sha256d",
    "target_to_bits",
    "target_to_difficulty",
    "validate_target",
    "with_nonce",
]

HEADER_BYTES = 80
PREFIX_BYTES = 76  # everything but the nonce
MAX_NONCE = 2**32 - 1
MAX_TARGET = 2**256 - 1
DIFF1_TARGET = 0xFFFF << 208  # nBits 1d00ffff: difficulty 1 (and pool difficulty 1)

_HEADER = struct.Struct("<I32s32sIII")


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """The six fields of an 80-byte header, as stored (hashes in internal order)."""

    version: int
    prev_block: bytes
    merkle_root: bytes
    time: int
    bits: int
    nonce: int

    def pack(self) -> bytes:
        """Serialise back to the 80 bytes that are hashed."""
        return _HEADER.pack(
            self.version, self.prev_block, self.merkle_root, self.time, self.bits, self.nonce
        )


def parse_header(header: bytes) -> BlockHeader:
    """Split an 80-byte header into its fields.

    Raises
    ------
    KernelInputError
        If ``header`` is not exactly 80 bytes.
    """
    if len(header) != HEADER_BYTES:
        raise KernelInputError("header", f"must be {HEADER_BYTES} bytes, got {len(header)}")
    return BlockHeader(*_HEADER.unpack(header))


def header_prefix(header: bytes) -> bytes:
    """The 76 bytes before the nonce, from a 76- or 80-byte header.

    Raises
    ------
    KernelInputError
        If ``header`` is neither 76 nor 80 bytes long.
    """
    if not isinstance(header, bytes | bytearray | memoryview):
        raise KernelInputError("header", f"must be bytes, got {type(header).__name__}")
    if len(header) not in (PREFIX_BYTES, HEADER_BYTES):
        raise KernelInputError(
            "header", f"must be {PREFIX_BYTES} or {HEADER_BYTES} bytes, got {len(header)}"
        )
    return bytes(header[:PREFIX_BYTES])


def with_nonce(header: bytes, nonce: int) -> bytes:
    """The 80-byte header with ``nonce`` written little-endian in bytes 76..79."""
    if not 0 <= nonce <= MAX_NONCE:
        raise KernelInputError("nonce", f"must be within 0..{MAX_NONCE}, got {nonce}")
    return header_prefix(header) + nonce.to_bytes(4, "little")


def sha256d(data: bytes) -> bytes:
    """SHA-256(SHA-256(data)), in internal byte order."""
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def block_hash(header: bytes) -> bytes:
    """The proof-of-work hash of an 80-byte header, in internal byte order."""
    if len(header) != HEADER_BYTES:
        raise KernelInputError("header", f"must be {HEADER_BYTES} bytes, got {len(header)}")
    return sha256d(header)


def display_hash(hash_internal: bytes) -> str:
    """Hex of a hash byte-reversed, as block explorers and RPCs show it."""
    return hash_internal[::-1].hex()


def hash_to_int(hash_internal: bytes) -> int:
    """The hash as the 256-bit little-endian integer compared with the target."""
    return int.from_bytes(hash_internal, "little")


def validate_target(target: int) -> int:
    """Return ``target`` if it is a usable proof-of-work target (1 .. 2**256-1).

    Raises
    ------
    KernelInputError
        If ``target`` is not an integer, is 0 (nothing could meet it) or needs
        more than 256 bits.
    """
    if isinstance(target, bool) or not isinstance(target, int):
        raise KernelInputError("target", f"must be an integer, got {type(target).__name__}")
    if target <= 0:
        raise KernelInputError("target", f"must be at least 1, got {target}")
    if target > MAX_TARGET:
        raise KernelInputError("target", f"must be below 2**256, got 0x{target:x}")
    return target


def hash_meets_target(hash_internal: bytes, target: int) -> bool:
    """Whether a hash meets a target: as a little-endian integer, ``<= target``."""
    return hash_to_int(hash_internal) <= target


def decode_compact(bits: int) -> tuple[int, bool, bool]:
    """Decode ``nBits`` like ``arith_uint256::SetCompact``.

    Returns
    -------
    (value, negative, overflow)
        ``value`` is the magnitude; ``negative`` is the sign bit on a non-zero
        mantissa; ``overflow`` means the value does not fit in 256 bits.
    """
    if isinstance(bits, bool) or not isinstance(bits, int) or not 0 <= bits <= 0xFFFFFFFF:
        raise KernelInputError("bits", f"must be a 32-bit unsigned integer, got {bits!r}")
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        # Core shifts the mantissa itself here, so the sign and overflow
        # tests below see what is left of it (0x00923456 is not negative).
        word >>= 8 * (3 - size)
        value = word
    else:
        value = word << (8 * (size - 3))
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (
        size > 34 or (word > 0xFF and size > 33) or (word > 0xFFFF and size > 32)
    )
    return value, negative, overflow


def bits_to_target(bits: int) -> int:
    """The target an ``nBits`` value encodes, refusing what consensus refuses.

    Raises
    ------
    KernelInputError
        If the encoding is negative, overflows 256 bits or is zero.
    """
    value, negative, overflow = decode_compact(bits)
    if negative:
        raise KernelInputError("bits", f"0x{bits:08x} encodes a negative target")
    if overflow:
        raise KernelInputError("bits", f"0x{bits:08x} encodes a target above 2**256")
    if value == 0:
        raise KernelInputError("bits", f"0x{bits:08x} encodes a zero target")
    return value


def target_to_bits(target: int) -> int:
    """Encode a target as ``nBits`` like ``arith_uint256::GetCompact`` (23-bit mantissa)."""
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target <= MAX_TARGET:
        raise KernelInputError("target", f"must be within 0..2**256-1, got {target!r}")
    size = (target.bit_length() + 7) // 8
    compact = target << (8 * (3 - size)) if size <= 3 else target >> (8 * (size - 3))
    if compact & 0x00800000:  # the mantissa's top bit is the sign: move a byte up
        compact >>= 8
        size += 1
    return compact | (size << 24)


def target_to_difficulty(target: int) -> float:
    """Difficulty of a target: ``DIFF1_TARGET / target``."""
    validate_target(target)
    return float(Fraction(DIFF1_TARGET, target))


def bits_to_difficulty(bits: int) -> float:
    """Difficulty of an ``nBits`` value (1.0 for 1d00ffff)."""
    return target_to_difficulty(bits_to_target(bits))


def difficulty_to_target(difficulty: float | int | str | Decimal | Fraction) -> int:
    """The share target of a pool difficulty: ``floor(DIFF1_TARGET / difficulty)``.

    Any positive difficulty works, fractional ones below 1 included; a target
    that would pass 2**256-1 is capped there. Exact rational arithmetic, so
    ``difficulty_to_target(1) == DIFF1_TARGET``.

    Raises
    ------
    KernelInputError
        If the difficulty is not a finite number above zero, or so high that
        the target rounds to zero.
    """
    if isinstance(difficulty, bool):
        raise KernelInputError("difficulty", f"must be a number, got {difficulty!r}")
    try:
        exact = Fraction(difficulty)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError) as exc:
        # NaN and infinities land here too: Fraction refuses them.
        raise KernelInputError(
            "difficulty", f"must be a finite number, got {difficulty!r}"
        ) from exc
    if exact <= 0:
        raise KernelInputError("difficulty", f"must be above zero, got {difficulty!r}")
    target = min(math.floor(Fraction(DIFF1_TARGET) / exact), MAX_TARGET)
    if target == 0:
        raise KernelInputError("difficulty", f"{difficulty!r} is too high: the target is zero")
    return target


def hash_difficulty(hash_internal: bytes) -> float:
    """The difficulty a hash achieves (how pools score a share): ``DIFF1_TARGET / hash``."""
    value = hash_to_int(hash_internal)
    return math.inf if value == 0 else float(Fraction(DIFF1_TARGET, value))
