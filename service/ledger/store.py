"""The ledger's append-only store: one SQLite file in the coordinator's data directory.

A period is appended in one transaction (its records, then its header), in
WAL mode with ``synchronous=FULL``: a process killed mid-append leaves either
the whole period or none of it, never a torn record. Nothing updates or
deletes ledger rows; the file's schema version is recorded.

Beside the ledger proper the file keeps what the coordinator needs to write
it: the workers' telemetry keys with the last sequence accepted from each
(replays are refused across restarts), and ``pending``, the signed telemetry
of periods not yet closed. A period's pending rows are deleted in the same
transaction that appends it, so every accepted report ends up in exactly one
record, even across a SIGKILL.

The ledger's end is a signed ``LedgerHead`` (``service.ledger.head``), re-signed
in the same transaction as each period appended and each key recorded, after
the stored one is checked against the file. The tables, schema versions and the
upgrade of older files are in ``service.ledger.schema``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger import head as signed_head
from service.ledger.errors import LedgerInputError
from service.ledger.head import head_mismatch
from service.ledger.keys import load_or_create_key, public_key_hex, sign_hex, telemetry_signed
from service.ledger.model import (
    GENESIS_PREV_HASH,
    EnergyRecord,
    LedgerHead,
    PeriodHeader,
    Telemetry,
    canonical_bytes,
    merkle_root,
)
from service.ledger.schema import READABLE_SCHEMA_VERSIONS, SCHEMA_VERSION, create_or_upgrade

__all__ = [
    "LEDGER_FILE",
    "LEDGER_KEY_FILE",
    "SCHEMA_VERSION",
    "Ledger",
    "PendingPeriod",
    "StoredHeader",
    "StoredPeriod",
    "head_mismatch",
]

LEDGER_FILE = "ledger.sqlite"
LEDGER_KEY_FILE = "ledger_ed25519.pem"


@dataclass(frozen=True, slots=True)
class PendingPeriod:
    """A period with accepted telemetry that is not yet in the ledger."""

    period: int
    period_start_s: int
    period_s: int


@dataclass(frozen=True, slots=True)
class StoredHeader:
    """A period header as stored, without its records: JSON, hash, signature."""

    header: dict[str, Any]
    hash: str
    signature: str


@dataclass(frozen=True, slots=True)
class StoredPeriod:
    """A period as stored, not yet trusted: header and records as JSON, hashes, signatures."""

    header: dict[str, Any]
    hash: str
    signature: str
    records: tuple[dict[str, Any], ...]
    record_signatures: tuple[str, ...]

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
            create_or_upgrade(self._db, public_key_hex(self._key), self._write_head)
        try:
            version = self._meta("schema_version")
            readable = READABLE_SCHEMA_VERSIONS if read_only else (str(SCHEMA_VERSION),)
            if version not in readable:
                raise LedgerInputError(
                    "data_dir", f"ledger schema {version} is not {SCHEMA_VERSION}"
                )
            if not read_only:
                self._check_head()  # a tail cut while the coordinator was down: not signed over
        except BaseException:
            self._db.close()
            raise

    # the head (service.ledger.head), checked and signed in the caller's transaction

    def _current_head(self) -> LedgerHead:
        return signed_head.current_head(self._db)

    def _write_head(self, head: LedgerHead) -> None:
        assert self._key is not None
        signed_head.write_head(self._db, self._key, head)

    def _check_head(self) -> None:
        signed_head.check_head(self._db)

    def head(self) -> tuple[LedgerHead, str] | None:
        """The signed head and its signature (None for a version-2 file)."""
        return signed_head.read_head(self._db)

    def worker_keys(self) -> list[tuple[str, str, str]]:
        """Every worker's telemetry key as ``(worker, site, public_key)``, by worker."""
        return signed_head.worker_keys(self._db)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read within one transaction: periods, head and keys of the same moment."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    def _meta(self, key: str) -> str | None:
        return signed_head.read_meta(self._db, key)

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
            for index, report in enumerate(record.telemetry):
                if not telemetry_signed(report):
                    # The coordinator records only energy a worker measured and signed.
                    raise LedgerInputError(
                        f"records[{position}].telemetry[{index}]", "bad worker signature"
                    )
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
            self._check_head()
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
            # The staged reports now live in the records: gone in the same transaction.
            self._db.execute("DELETE FROM pending WHERE period = ?", (period,))
            self._db.execute(
                "INSERT INTO periods VALUES (?, ?, ?, ?)",
                (
                    period,
                    canonical_bytes(header.to_json()).decode(),
                    header_hash.hex(),
                    sign_hex(self._key, header_hash),
                ),
            )
            self._write_head(self._current_head())
        return header

    def _header_rows(
        self,
        first: int | None,
        last: int | None,
        start_from_s: int | None,
        start_to_s: int | None,
    ) -> list[tuple[int, str, str, str]]:
        """``(period, header, hash, signature)`` rows in order, filtered in SQL."""
        query = "SELECT period, header, hash, signature FROM periods WHERE period BETWEEN ? AND ?"
        params: tuple[Any, ...] = (
            -(2**62) if first is None else first,
            2**62 if last is None else last,
        )
        if start_from_s is not None:
            query += " AND json_extract(header, '$.period_start_s') >= ?"
            params += (start_from_s,)
        if start_to_s is not None:
            query += " AND json_extract(header, '$.period_start_s') < ?"
            params += (start_to_s,)
        rows: list[tuple[int, str, str, str]] = self._db.execute(
            query + " ORDER BY period", params
        ).fetchall()
        return rows

    def periods(
        self,
        first: int | None = None,
        last: int | None = None,
        *,
        start_from_s: int | None = None,
        start_to_s: int | None = None,
    ) -> Iterator[StoredPeriod]:
        """Stored periods in order, optionally within ``[first, last]``.

        ``start_from_s``/``start_to_s`` keep only periods whose header starts in
        ``[start_from_s, start_to_s)`` (either bound optional), so a settlement of
        a range reads only that range's records.
        """
        for period, header, header_hash, signature in self._header_rows(
            first, last, start_from_s, start_to_s
        ):
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

    def headers(self, first: int | None = None, last: int | None = None) -> list[StoredHeader]:
        """Stored period headers in order, optionally within ``[first, last]``; no records."""
        return [
            StoredHeader(header=json.loads(header), hash=str(header_hash), signature=str(sig))
            for _, header, header_hash, sig in self._header_rows(first, last, None, None)
        ]

    def records(
        self, site: str | None = None, first: int | None = None, last: int | None = None
    ) -> list[tuple[int, int, dict[str, Any], str, str]]:
        """Stored records as ``(period, position, record, signature, header hash)``."""
        low = -(2**62) if first is None else first
        high = 2**62 if last is None else last
        query = (
            "SELECT r.period, r.position, r.body, r.signature, p.hash FROM records r"
            " JOIN periods p ON p.period = r.period WHERE r.period BETWEEN ? AND ?"
        )
        params: tuple[Any, ...] = (low, high)
        if site is not None:
            query += " AND r.site = ?"
            params += (site,)
        rows = self._db.execute(query + " ORDER BY r.period, r.position", params).fetchall()
        return [(int(p), int(i), json.loads(b), str(s), str(h)) for p, i, b, s, h in rows]

    def site_energy_j(self, site: str) -> int:
        """Energy a site's workers signed for: ledger records plus pending reports."""
        total = 0
        for table in ("records", "pending"):
            row = self._db.execute(
                f"SELECT COALESCE(SUM(json_extract(body, '$.energy_j')), 0) FROM {table}"
                " WHERE site = ?",
                (site,),
            ).fetchone()
            total += int(row[0])
        return total

    # telemetry staging

    def set_worker_key(self, worker: str, site: str, public_key: str) -> None:
        """Record (or replace) a worker's telemetry key; its sequence carries on."""
        if self._key is None:
            raise LedgerInputError("ledger", "is open read-only")
        with self._db:
            self._check_head()
            self._db.execute(
                "INSERT INTO worker_keys (worker, site, public_key, last_sequence)"
                " VALUES (?, ?, ?, -1) ON CONFLICT (worker) DO UPDATE"
                " SET site = excluded.site, public_key = excluded.public_key",
                (worker, site, public_key),
            )
            self._write_head(self._current_head())

    def worker_key(self, worker: str) -> tuple[str, str, int] | None:
        """A worker's site, public key and last accepted sequence."""
        row = self._db.execute(
            "SELECT site, public_key, last_sequence FROM worker_keys WHERE worker = ?", (worker,)
        ).fetchone()
        return None if row is None else (str(row[0]), str(row[1]), int(row[2]))

    def last_window_end_ms(self, worker: str) -> int | None:
        """The end of the worker's last accepted report window (None before the first)."""
        row = self._db.execute(
            "SELECT last_window_end_ms FROM worker_keys WHERE worker = ?", (worker,)
        ).fetchone()
        return None if row is None or int(row[0]) < 0 else int(row[0])

    def stage(self, period: PendingPeriod, telemetry: Telemetry) -> None:
        """Keep an accepted report for its period; its sequence and window end become the last.

        A report of no energy, hashes or shares only moves the sequence on.

        The caller (``LedgerRecorder``, on the ledger's one thread) has checked that
        the worker is registered and the sequence is above its last.
        """
        with self._db:
            self._db.execute(
                "UPDATE worker_keys SET last_sequence = ?, last_window_end_ms = ? WHERE worker = ?",
                (telemetry.sequence, telemetry.window_end_ms, telemetry.worker),
            )
            if not (telemetry.energy_j or telemetry.hashes or telemetry.shares_found):
                # An idle worker's report adds nothing to a record: only its sequence is
                # kept (verification allows gaps), so idle sites do not fill the ledger.
                return
            self._db.execute(
                "INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    period.period,
                    period.period_start_s,
                    period.period_s,
                    telemetry.site,
                    telemetry.worker,
                    telemetry.sequence,
                    canonical_bytes(asdict(telemetry)).decode(),
                ),
            )

    def pending_periods(self) -> list[PendingPeriod]:
        """Periods with staged reports, oldest first."""
        rows = self._db.execute(
            "SELECT DISTINCT period, period_start_s, period_s FROM pending ORDER BY period"
        ).fetchall()
        return [PendingPeriod(int(p), int(start), int(length)) for p, start, length in rows]

    def pending_reports(self, period: int) -> list[Telemetry]:
        """A period's staged reports in the order they were accepted."""
        rows = self._db.execute(
            "SELECT body FROM pending WHERE period = ? ORDER BY rowid", (period,)
        ).fetchall()
        return [Telemetry.from_json(json.loads(body)) for (body,) in rows]

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
