"""Plain-``hashlib`` reference search: the oracle the compiled builds are tested against.

Slow (about 1.5 MH/s per core) and obviously right; never used to mine.
"""

from __future__ import annotations

import hashlib

from kernels.header import header_prefix, validate_target

__all__ = ["reference_scan"]


def reference_scan(header: bytes, target: int, nonce_start: int, count: int) -> list[int]:
    """Every nonce in ``[nonce_start, nonce_start + count)`` whose header hash meets ``target``.

    Uses the midstate the way a careful Python miner would: the first 64 bytes
    are hashed once and the hash object copied for each nonce.
    """
    prefix = header_prefix(header)
    validate_target(target)
    first_block = hashlib.sha256(prefix[:64])
    tail = prefix[64:]
    found = []
    for nonce in range(nonce_start, nonce_start + count):
        inner = first_block.copy()
        inner.update(tail + nonce.to_bytes(4, "little"))
        digest = hashlib.sha256(inner.digest()).digest()
        if int.from_bytes(digest, "little") <= target:
            found.append(nonce)
    return found
