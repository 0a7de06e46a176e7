"""The ledger's append-only store: one SQLite file in the coordinator's data directory.

A period is appended in one transaction (its records, then its header), in
WAL mode with ``synchronous=FULL``: a process killed mid-append leaves either
the whole period or none of it, never a torn record. Nothing updates or
deletes rows; the file's schema version is recorded.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger.errors import LedgerInputError
from service.ledger.keys import load_or_create_key, public_key_hex, sign_hex, telemetry_signed
from service.ledger.model import (
    GENESIS_PREV_HASH,
    EnergyRecord,
    PeriodHeader,
    canonical_bytes,
    merkle_root,
)

__all__ = ["LEDGER_FILE", "LEDGER_KEY_FILE", "SCHEMA_VERSION", "Ledger", "StoredPeriod"]

LEDGER_FILE = "ledger.sqlite"
LEDGER_KEY_FILE = "ledger_ed25519.pem"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS periods (
    period INTEGER PRIMARY KEY,
    header TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    period INTEGER NOT NULL,
    position INTEGER NOT NULL,
    site TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (period, position)
);
CREATE INDEX IF NOT EXISTS records_by_site ON records (site, period);
"""


@dataclass(frozen=True, slots=True)
class StoredPeriod:
    """A period as stored, not yet trusted: header and records as JSON, hashes, signatures."""

    header: dict[str, Any]
    hash: str
    signature: str
    records: tuple[dict[str, Any], ...]
    record_signatures: tuple[str, ...]

    def energy_records(self) -> list[EnergyRecord]:
        """The records as ``EnergyRecord`` (raises ``LedgerInputError`` if malformed)."""
        return [EnergyRecord.from_json(record) for record in self.records]

    def to_json(self) -> dict[str, Any]:
        return {
            "header": self.header,
            "hash": self.hash,
            "signature": self.signature,
            "records": list(self.records),
            "record_signatures": list(self.record_signatures),
        }


class Ledger:
    """The ledger of one coordinator data directory.

    Parameters
    ----------
    data_dir:
        Holds ``ledger.sqlite`` and the coordinator's key ``ledger_ed25519.pem``.
    key:
        The signing key; default: the one in ``data_dir`` (made on first use).
        A ledger opened only to read needs no key.
    """

    def __init__(
        self, data_dir: Path, *, key: Ed25519PrivateKey | None = None, read_only: bool = False
    ) -> None:
        self.data_dir = Path(data_dir)
        path = self.data_dir / LEDGER_FILE
        if read_only:
            if not path.exists():
                raise LedgerInputError("data_dir", f"has no ledger: {path} is missing")
            self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            self._key = None
        else:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._key = key or load_or_create_key(self.data_dir / LEDGER_KEY_FILE)
            with self._db:
                self._db.executescript(_SCHEMA)
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                self._db.execute(
                    "INSERT OR IGNORE INTO meta VALUES ('public_key', ?)",
                    (public_key_hex(self._key),),
                )
        version = self._meta("schema_version")
        if version != str(SCHEMA_VERSION):
            raise LedgerInputError("data_dir", f"ledger schema {version} is not {SCHEMA_VERSION}")

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    @property
    def public_key(self) -> str:
        """The coordinator's public key (hex) recorded in the ledger."""
        key = self._meta("public_key")
        if key is None:
            raise LedgerInputError("data_dir", "ledger has no public key")
        return key

    def last_header(self) -> tuple[PeriodHeader, str] | None:
        """The newest period header and its hash, if any."""
        row = self._db.execute(
            "SELECT header, hash FROM periods ORDER BY period DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return PeriodHeader.from_json(json.loads(row[0])), str(row[1])

    def append_period(
        self, period: int, period_start_s: int, period_s: int, records: Sequence[EnergyRecord]
    ) -> PeriodHeader:
        """Commit one period's records under a signed header linked to the previous one.

        Raises
        ------
        LedgerInputError
            If the period is not after the last one, or a record is for another period.
        """
        if self._key is None:
            raise LedgerInputError("ledger", "is open read-only")
        last = self.last_header()
        if last is not None and period <= last[0].period:
            raise LedgerInputError(
                "period", f"{period} is not after the last period {last[0].period}"
            )
        for position, record in enumerate(records):
            if record.period != period:
                raise LedgerInputError(
                    f"records[{position}].period", f"is {record.period}, not {period}"
                )
            if not telemetry_signed(record.telemetry):
                # The coordinator records only energy a worker measured and signed.
                raise LedgerInputError(f"records[{position}].telemetry", "bad worker signature")
        leaves = [record.leaf_hash() for record in records]
        header = PeriodHeader(
            period=period,
            period_start_s=period_start_s,
            period_s=period_s,
            prev_hash=GENESIS_PREV_HASH if last is None else last[1],
            merkle_root=merkle_root(leaves).hex(),
            record_count=len(records),
        )
        header_hash = header.hash()
        with self._db:
            self._db.executemany(
                "INSERT INTO records VALUES (?, ?, ?, ?, ?)",
                [
                    (
                        period,
                        position,
                        record.site,
                        canonical_bytes(record.to_json()).decode(),
                        sign_hex(self._key, leaf),
                    )
                    for position, (record, leaf) in enumerate(zip(records, leaves, strict=True))
                ],
            )
            self._db.execute(
                "INSERT INTO periods VALUES (?, ?, ?, ?)",
                (
                    period,
                    canonical_bytes(header.to_json()).decode(),
                    header_hash.hex(),
                    sign_hex(self._key, header_hash),
                ),
            )
        return header

    def periods(self, first: int | None = None, last: int | None = None) -> Iterator[StoredPeriod]:
        """Stored periods in order, optionally within ``[first, last]``."""
        low = -(2**62) if first is None else first
        high = 2**62 if last is None else last
        rows = self._db.execute(
            "SELECT period, header, hash, signature FROM periods"
            " WHERE period BETWEEN ? AND ? ORDER BY period",
            (low, high),
        ).fetchall()
        for period, header, header_hash, signature in rows:
            record_rows = self._db.execute(
                "SELECT body, signature FROM records WHERE period = ? ORDER BY position", (period,)
            ).fetchall()
            yield StoredPeriod(
                header=json.loads(header),
                hash=str(header_hash),
                signature=str(signature),
                records=tuple(json.loads(body) for body, _ in record_rows),
                record_signatures=tuple(str(sig) for _, sig in record_rows),
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
