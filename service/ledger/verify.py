"""Checking a ledger: the chain of period headers, Merkle roots, and every signature.

``verify_periods`` walks the periods in order and stops at the first that
does not check out, naming it: a header whose hash or signature is wrong, that
does not link to the previous header, whose record count or Merkle root does
not match its records, or a record whose coordinator or worker signature
fails or whose values contradict themselves.

``verify_ledger`` also checks the chain's end: the signed head must be there,
be the coordinator's, and name the chain's period count and last header hash
(so periods removed from the end are caught) and the worker key set found
beside it. Heads seen earlier (``expect_hashes``: their last header hash; or
whole signed ``checkpoints``) must still be in the chain at their place, which
catches a tail cut even by the key holder, who can sign a new head but cannot
make a shorter chain hold the old one.

Inclusion proofs let a third party check one record against a period header
without the rest of the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from service.ledger.errors import LedgerError, LedgerInputError, LedgerIntegrityError
from service.ledger.keys import telemetry_signed, verify_hex
from service.ledger.model import (
    GENESIS_PREV_HASH,
    EnergyRecord,
    LedgerHead,
    PeriodHeader,
    keys_hash,
    leaf_hash,
    merkle_branch,
    merkle_root,
    root_from_branch,
)
from service.ledger.store import Ledger, StoredPeriod, head_mismatch

__all__ = [
    "LedgerEnd",
    "VerifyReport",
    "build_proof",
    "verify_ledger",
    "verify_periods",
    "verify_proof",
]


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """How far a ledger checks out."""

    periods: int
    records: int
    first_bad_period: int | None = None
    problem: str = ""
    # The chain's end as found: the last period and its header hash.
    last_period: int = -1
    last_hash: str = GENESIS_PREV_HASH

    @property
    def ok(self) -> bool:
        return self.first_bad_period is None and not self.problem


def _check_period(
    stored: StoredPeriod,
    prev_hash: str,
    prev_period: int | None,
    public_key: str,
    sequences: dict[str, int],
) -> str:
    """The first problem of one period, or '' if it checks out."""
    header = PeriodHeader.from_json(stored.header)
    header_hash = header.hash()
    if header_hash.hex() != stored.hash:
        return "header does not hash to its stored hash (header edited)"
    if header.prev_hash != prev_hash:
        return "header does not link to the previous period (a period dropped, edited or reordered)"
    if prev_period is not None and header.period <= prev_period:
        return f"period number {header.period} is not after {prev_period}"
    if not verify_hex(public_key, stored.signature, header_hash):
        return "bad coordinator signature on the header"
    if header.record_count != len(stored.records):
        return f"header commits to {header.record_count} records, {len(stored.records)} present"
    leaves = [leaf_hash(record) for record in stored.records]
    if merkle_root(leaves).hex() != header.merkle_root:
        return "records do not match the header's Merkle root (edited, dropped or reordered)"
    for position, (record_json, signature, leaf) in enumerate(
        zip(stored.records, stored.record_signatures, leaves, strict=True)
    ):
        if not verify_hex(public_key, signature, leaf):
            return f"record {position}: bad coordinator signature"
        try:
            record = EnergyRecord.from_json(record_json)
        except LedgerInputError as exc:
            return f"record {position}: {exc}"
        if record.period != header.period:
            return f"record {position}: is for period {record.period}"
        for index, report in enumerate(record.telemetry):
            if not telemetry_signed(report):
                return f"record {position}: bad worker signature on telemetry {index}"
            # A signed report counted twice would invent energy: sequences only rise.
            last = sequences.get(report.worker, -1)
            if report.sequence <= last:
                return (
                    f"record {position}: telemetry {index} of worker {report.worker} repeats"
                    f" or reorders sequence {report.sequence} (last {last})"
                )
            sequences[report.worker] = report.sequence
    return ""


def verify_periods(
    periods: Iterable[StoredPeriod], public_key: str, *, positions: dict[str, int] | None = None
) -> VerifyReport:
    """Check every period in order against ``public_key``; stop at the first bad one.

    ``positions``, when given, is filled with each good header's hash and its place
    in the chain (1 for the first period).
    """
    prev_hash, prev_period = GENESIS_PREV_HASH, None
    count = records = 0
    sequences: dict[str, int] = {}
    for stored in periods:
        period = stored.header.get("period") if isinstance(stored.header, dict) else None
        try:
            problem = _check_period(stored, prev_hash, prev_period, public_key, sequences)
        except (LedgerError, ValueError, TypeError, KeyError) as exc:
            problem = f"malformed: {exc}"
        if problem:
            return VerifyReport(
                count,
                records,
                period if isinstance(period, int) else -1,
                problem,
                -1 if prev_period is None else prev_period,
                prev_hash,
            )
        prev_hash, prev_period = stored.hash, period if isinstance(period, int) else None
        count += 1
        records += len(stored.records)
        if positions is not None:
            positions[stored.hash] = count
    return VerifyReport(
        count, records, None, "", -1 if prev_period is None else prev_period, prev_hash
    )


# The end of a ledger source, known once its periods are read: the signed head
# (None: there is none) and the worker keys (worker, site, public_key) beside the
# periods (None: the source has none to check).
LedgerEnd = tuple[tuple[LedgerHead, str] | None, Sequence[tuple[str, str, str]] | None]


def verify_ledger(
    periods: Iterable[StoredPeriod],
    public_key: str,
    end: Callable[[], LedgerEnd],
    *,
    expect_hashes: Sequence[str] = (),
    checkpoints: Sequence[tuple[LedgerHead, str]] = (),
) -> VerifyReport:
    """``verify_periods``, then the chain's end: the signed head, the keys, heads seen before.

    ``end`` is called once the periods are read (an export's head comes after
    them). ``expect_hashes`` are last header hashes of heads seen before;
    ``checkpoints`` signed heads saved before. The problem of a bad end has no
    period (``first_bad_period`` None).
    """
    positions: dict[str, int] = {GENESIS_PREV_HASH: 0}
    report = verify_periods(periods, public_key, positions=positions)
    if not report.ok:
        return report
    head, keys = end()

    def bad(problem: str) -> VerifyReport:
        return replace(report, problem=problem)

    if head is None:
        return bad(
            "no signed head: the end of the ledger cannot be checked (periods cut off"
            " with it, or written before heads: the coordinator signs one when it opens it)"
        )
    found, signature = head
    if not verify_hex(public_key, signature, found.signed_bytes()):
        return bad("bad coordinator signature on the head")
    chain = LedgerHead(
        periods=report.periods,
        last_period=report.last_period,
        last_hash=report.last_hash,
        keys_hash=found.keys_hash if keys is None else keys_hash(keys),
    )
    if problem := head_mismatch(found, chain):
        return bad(problem)
    for expected in expect_hashes:
        if expected.lower() not in positions:
            return bad(
                f"the expected head {expected[:64]} is not in the chain"
                " (cut off or rewritten since it was seen)"
            )
    for checkpoint, checkpoint_signature in checkpoints:
        if not verify_hex(public_key, checkpoint_signature, checkpoint.signed_bytes()):
            return bad("the checkpoint's head is not signed by this coordinator")
        if positions.get(checkpoint.last_hash) != checkpoint.periods:
            return bad(
                f"the checkpoint's head ({checkpoint.periods} periods ending at period"
                f" {checkpoint.last_period}, {checkpoint.last_hash[:16]}...) is not in the"
                " chain: cut off or rewritten since it was saved"
            )
    return report


def build_proof(ledger: Ledger, site: str, period: int) -> dict[str, Any]:
    """An inclusion proof of ``site``'s record in ``period``: record, branch, signed header.

    Raises
    ------
    LedgerInputError
        If the ledger has no such period or no record of that site in it.
    """
    stored = next(iter(ledger.periods(period, period)), None)
    if stored is None:
        raise LedgerInputError("period", f"{period} is not in the ledger")
    positions = [i for i, record in enumerate(stored.records) if record.get("site") == site]
    if not positions:
        raise LedgerInputError("site", f"{site!r} has no record in period {period}")
    index = positions[0]
    leaves = [leaf_hash(record) for record in stored.records]
    return {
        "record": stored.records[index],
        "record_signature": stored.record_signatures[index],
        "index": index,
        "branch": [node.hex() for node in merkle_branch(leaves, index)],
        "header": stored.header,
        "header_hash": stored.hash,
        "header_signature": stored.signature,
        "public_key": ledger.public_key,
    }


def verify_proof(proof: dict[str, Any], public_key: str | None = None) -> None:
    """Check an inclusion proof; ``public_key`` pins the coordinator's key (else the proof's own).

    Raises
    ------
    LedgerIntegrityError
        Saying what does not check out.
    """
    try:
        key = public_key or str(proof["public_key"])
        header = PeriodHeader.from_json(proof["header"])
        leaf = leaf_hash(proof["record"])
        branch = [bytes.fromhex(node) for node in proof["branch"]]
        index = int(proof["index"])
        header_hash = header.hash()
    except (KeyError, TypeError, ValueError, LedgerInputError) as exc:
        raise LedgerIntegrityError(None, f"malformed proof: {exc}") from exc
    period = header.period
    if header_hash.hex() != proof.get("header_hash"):
        raise LedgerIntegrityError(period, "header does not hash to the proof's header hash")
    if not verify_hex(key, str(proof.get("header_signature", "")), header_hash):
        raise LedgerIntegrityError(period, "bad coordinator signature on the header")
    if root_from_branch(leaf, index, branch).hex() != header.merkle_root:
        raise LedgerIntegrityError(period, "record is not under the header's Merkle root")
    if not verify_hex(key, str(proof.get("record_signature", "")), leaf):
        raise LedgerIntegrityError(period, "bad coordinator signature on the record")
