"""The ledger's signed head: where the chain ends, and the workers' key set.

The head (``meta`` row ``head``) holds the period count, the last header hash
and the hash of the workers' key set (worker, site, public key). The store
re-signs it in the same transaction as each period appended and each key
recorded, and checks the stored head against the file before either: a period
removed from the end, or a key replaced, with ``sqlite3`` is refused loudly
(``LedgerIntegrityError``) instead of being signed over.
"""

from __future__ import annotations

import json
import sqlite3

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger.errors import LedgerIntegrityError
from service.ledger.keys import sign_hex
from service.ledger.model import GENESIS_PREV_HASH, LedgerHead, canonical_bytes, keys_hash

__all__ = [
    "check_head",
    "current_head",
    "head_mismatch",
    "read_head",
    "read_meta",
    "worker_keys",
    "write_head",
]


def read_meta(db: sqlite3.Connection, key: str) -> str | None:
    """A ``meta`` row's value (None when absent)."""
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def worker_keys(db: sqlite3.Connection) -> list[tuple[str, str, str]]:
    """Every worker's telemetry key as ``(worker, site, public_key)``, by worker."""
    rows = db.execute("SELECT worker, site, public_key FROM worker_keys ORDER BY worker").fetchall()
    return [(str(w), str(site), str(key)) for w, site, key in rows]


def head_mismatch(head: LedgerHead, found: LedgerHead) -> str:
    """What differs between a signed head and the chain and keys found, or ''."""
    if (head.periods, head.last_hash) != (found.periods, found.last_hash):
        return (
            f"the signed head names {head.periods} periods ending at period"
            f" {head.last_period} ({head.last_hash[:16]}...), the ledger has"
            f" {found.periods} ending at period {found.last_period}"
            f" ({found.last_hash[:16]}...): periods removed from its end, or added"
        )
    if head.keys_hash != found.keys_hash:
        return (
            "worker_keys differ from the key set the signed head commits to"
            " (a worker's key replaced or removed outside the coordinator)"
        )
    return ""


def current_head(db: sqlite3.Connection) -> LedgerHead:
    """The head of the file as it is: period count, last header, key set."""
    count, last_period, last_hash = db.execute(
        "SELECT COUNT(*), MAX(period), (SELECT hash FROM periods ORDER BY period DESC LIMIT 1)"
        " FROM periods"
    ).fetchone()
    return LedgerHead(
        periods=int(count),
        last_period=-1 if last_period is None else int(last_period),
        last_hash=GENESIS_PREV_HASH if last_hash is None else str(last_hash),
        keys_hash=keys_hash(worker_keys(db)),
    )


def write_head(db: sqlite3.Connection, key: Ed25519PrivateKey, head: LedgerHead) -> None:
    """Sign and store ``head`` (inside the caller's transaction)."""
    signed = head.to_json(sign_hex(key, head.signed_bytes()))
    db.execute(
        "INSERT OR REPLACE INTO meta VALUES ('head', ?)", (canonical_bytes(signed).decode(),)
    )


def read_head(db: sqlite3.Connection) -> tuple[LedgerHead, str] | None:
    """The signed head and its signature (None for a version-2 file)."""
    text = read_meta(db, "head")
    if text is None:
        return None
    return LedgerHead.from_json(json.loads(text))


def check_head(db: sqlite3.Connection) -> None:
    """Raise ``LedgerIntegrityError`` unless the stored head is the file's own.

    Checked before the head is signed again, so a period removed from the end
    or a worker key replaced outside the coordinator is never signed over.
    """
    stored = read_head(db)
    if stored is None:
        raise LedgerIntegrityError(
            None, "the signed head is missing (removed from the file): refusing to write"
        )
    head, _ = stored
    problem = head_mismatch(head, current_head(db))
    if problem:
        raise LedgerIntegrityError(None, f"{problem}: refusing to write")
