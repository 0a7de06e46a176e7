"""Block headers from Stratum v1 jobs, byte for byte as pools and ASICs build them.

A ``mining.notify`` carries the pieces of a block header; the miner fills in
its part:

* coinbase transaction = ``coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2``
  (extranonce1 from ``mining.subscribe``, extranonce2 the miner's own counter);
* merkle root = SHA-256d(coinbase), then folded with each branch hash:
  ``root = SHA-256d(root ‖ branch[i])`` (all in internal byte order);
* header = version ‖ prevhash ‖ merkle root ‖ ntime ‖ nbits ‖ nonce, with
  version, ntime, nbits sent as big-endian hex and stored little-endian, and
  prevhash sent as eight 32-bit words each byte-swapped (the pool's quirk,
  kept by every pool since 2012) and stored in internal order.

Version rolling (BIP 310 / BIP 320) lets the miner change the bits of the
version the pool's mask allows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kernels import sha256d
from service.stratum.errors import StratumJobError

__all__ = [
    "NOTIFY_FIELDS",
    "StratumJob",
    "build_coinbase",
    "build_header",
    "coinbase_merkle_root",
    "prevhash_from_stratum",
    "roll_version",
]

# The params of mining.notify, in the order pools send them.
NOTIFY_FIELDS = (
    "job_id",
    "prevhash",
    "coinb1",
    "coinb2",
    "merkle_branch",
    "version",
    "nbits",
    "ntime",
    "clean_jobs",
)


def _hex(field: str, value: Any, size: int | None = None) -> bytes:
    if not isinstance(value, str):
        raise StratumJobError(field, f"must be a hex string, got {type(value).__name__}")
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raise StratumJobError(field, f"is not hexadecimal: {value[:80]!r}") from None
    if size is not None and len(raw) != size:
        raise StratumJobError(
            field, f"must be {size} bytes ({2 * size} hex digits), got {len(raw)}"
        )
    return raw


def _u32_be(field: str, value: Any) -> int:
    return int.from_bytes(_hex(field, value, 4), "big")


def prevhash_from_stratum(prevhash_hex: str) -> bytes:
    """The previous block hash in internal order, from Stratum's word-swapped hex."""
    raw = _hex("notify.prevhash", prevhash_hex, 32)
    return b"".join(raw[i : i + 4][::-1] for i in range(0, 32, 4))


def build_coinbase(coinb1: bytes, extranonce1: bytes, extranonce2: bytes, coinb2: bytes) -> bytes:
    """The coinbase transaction: ``coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2``."""
    return coinb1 + extranonce1 + extranonce2 + coinb2


def coinbase_merkle_root(coinbase: bytes, branch: Sequence[bytes]) -> bytes:
    """The merkle root (internal order) of a block whose coinbase and branch are given."""
    root = sha256d(coinbase)
    for sibling in branch:
        root = sha256d(root + sibling)
    return root


def roll_version(version: int, mask: int, rolled_bits: int) -> int:
    """The version with the bits under ``mask`` replaced by ``rolled_bits`` (BIP 310)."""
    if rolled_bits & ~mask:
        raise StratumJobError(
            "version_bits", f"0x{rolled_bits:08x} sets bits outside mask 0x{mask:08x}"
        )
    return (version & ~mask & 0xFFFFFFFF) | rolled_bits


@dataclass(frozen=True, slots=True)
class StratumJob:
    """One ``mining.notify``, decoded: byte fields in the order the header stores them."""

    job_id: str
    prev_block: bytes  # internal order
    coinb1: bytes
    coinb2: bytes
    merkle_branch: tuple[bytes, ...]
    version: int
    nbits: int
    ntime: int
    clean_jobs: bool

    @classmethod
    def from_notify(cls, notify: Any) -> StratumJob:
        """Decode a job from what a pool sends.

        Accepts the whole JSON-RPC message (``{"method": "mining.notify",
        "params": [...]}``), its ``params`` list, or an object with the
        fields by name; a JSON string of any of those works too.

        Raises
        ------
        StratumJobError
            Naming the first malformed field.
        """
        if isinstance(notify, str | bytes):
            try:
                notify = json.loads(notify)
            except json.JSONDecodeError as exc:
                raise StratumJobError("notify", f"is not JSON: {exc.msg}") from exc
        if isinstance(notify, dict) and "params" in notify:
            notify = notify["params"]
        if isinstance(notify, dict) and "notify_params" in notify:
            notify = notify["notify_params"]
        if isinstance(notify, list):
            if len(notify) < len(NOTIFY_FIELDS):
                raise StratumJobError(
                    "notify", f"needs {len(NOTIFY_FIELDS)} params, got {len(notify)}"
                )
            notify = dict(zip(NOTIFY_FIELDS, notify, strict=False))
        if not isinstance(notify, dict):
            raise StratumJobError(
                "notify", "must be a mining.notify message, params list or object"
            )
        missing = [name for name in NOTIFY_FIELDS if name not in notify]
        if missing:
            raise StratumJobError("notify", f"lacks {', '.join(missing)}")
        branch = notify["merkle_branch"]
        if not isinstance(branch, list):
            raise StratumJobError("notify.merkle_branch", "must be a list of hashes")
        job_id = notify["job_id"]
        if not isinstance(job_id, str | int) or isinstance(job_id, bool):
            raise StratumJobError("notify.job_id", "must be a string")
        return cls(
            job_id=str(job_id),
            prev_block=prevhash_from_stratum(notify["prevhash"]),
            coinb1=_hex("notify.coinb1", notify["coinb1"]),
            coinb2=_hex("notify.coinb2", notify["coinb2"]),
            merkle_branch=tuple(
                _hex(f"notify.merkle_branch[{i}]", item, 32) for i, item in enumerate(branch)
            ),
            version=_u32_be("notify.version", notify["version"]),
            nbits=_u32_be("notify.nbits", notify["nbits"]),
            ntime=_u32_be("notify.ntime", notify["ntime"]),
            clean_jobs=bool(notify["clean_jobs"]),
        )

    def header_prefix(
        self,
        extranonce1: bytes,
        extranonce2: bytes,
        *,
        ntime: int | None = None,
        version: int | None = None,
    ) -> bytes:
        """The 76 header bytes before the nonce for this miner's extranonces."""
        root = coinbase_merkle_root(
            build_coinbase(self.coinb1, extranonce1, extranonce2, self.coinb2), self.merkle_branch
        )
        return (
            (self.version if version is None else version).to_bytes(4, "little")
            + self.prev_block
            + root
            + (self.ntime if ntime is None else ntime).to_bytes(4, "little")
            + self.nbits.to_bytes(4, "little")
        )


def build_header(
    job: StratumJob,
    extranonce1: bytes,
    extranonce2: bytes,
    *,
    ntime: int | None = None,
    nonce: int = 0,
    version: int | None = None,
) -> bytes:
    """The 80-byte header a miner hashes for this job, extranonces, ntime, nonce and version."""
    if not 0 <= nonce <= 0xFFFFFFFF:
        raise StratumJobError("nonce", f"must be a 32-bit value, got {nonce}")
    for field, value in (("ntime", ntime), ("version", version)):
        if value is not None and not 0 <= value <= 0xFFFFFFFF:
            raise StratumJobError(field, f"must be a 32-bit value, got {value}")
    prefix = job.header_prefix(extranonce1, extranonce2, ntime=ntime, version=version)
    return prefix + nonce.to_bytes(4, "little")
