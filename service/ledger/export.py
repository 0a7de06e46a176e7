"""Ledger exports: JSON lines (complete, verifiable by anyone) and CSV (one row per record).

JSON lines: a first line ``{"type": "ledger", ...}`` with the coordinator's
public key, then per period one ``{"type": "period", ...}`` line with its
header, hash, signature, records and their signatures. ``read_jsonl`` reads
it back for ``verify_periods``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from service.ledger.errors import LedgerInputError
from service.ledger.model import canonical_bytes
from service.ledger.store import SCHEMA_VERSION, Ledger, StoredPeriod

__all__ = ["CSV_COLUMNS", "read_jsonl", "write_csv", "write_jsonl"]

CSV_COLUMNS = (
    "period", "period_start_s", "period_s", "site", "plan_id", "energy_j", "grid_j",
    "curtailed_j", "carrier", "hashes", "shares", "price_micro_per_mwh", "owed_micro",
    "workers", "header_hash", "record_signature",
)  # fmt: skip


def write_jsonl(ledger: Ledger, out: IO[str]) -> int:
    """Write the whole ledger as JSON lines; returns the number of periods."""
    out.write(
        json.dumps({"type": "ledger", "version": SCHEMA_VERSION, "public_key": ledger.public_key})
        + "\n"
    )
    count = 0
    for stored in ledger.periods():
        out.write(canonical_bytes({"type": "period", **stored.to_json()}).decode() + "\n")
        count += 1
    return count


def write_csv(ledger: Ledger, out: IO[str]) -> int:
    """Write one CSV row per record (maps as compact JSON); returns the number of rows."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = 0
    for stored in ledger.periods():
        for record, signature in zip(stored.records, stored.record_signatures, strict=True):
            writer.writerow(
                [
                    record["period"], record["period_start_s"], record["period_s"], record["site"],
                    record["plan_id"], record["energy_j"], record["grid_j"],
                    canonical_bytes(record["curtailed_j"]).decode(),
                    canonical_bytes(record["carrier"]).decode(), record["hashes"], record["shares"],
                    canonical_bytes(record["price_micro_per_mwh"]).decode(),
                    canonical_bytes(record["owed_micro"]).decode(),
                    " ".join(sorted({report["worker"] for report in record["telemetry"]})),
                    stored.hash, signature,
                ]
            )  # fmt: skip
            rows += 1
    return rows


def read_jsonl(path: Path) -> tuple[str, Iterator[StoredPeriod]]:
    """The public key and the periods of a JSON-lines export.

    Raises
    ------
    LedgerInputError
        If the file does not start with the ledger line.
    """
    handle = path.open(encoding="utf-8")
    first = handle.readline()
    try:
        meta: dict[str, Any] = json.loads(first)
    except json.JSONDecodeError:
        handle.close()
        raise LedgerInputError(str(path), "is not a ledger export (line 1 is not JSON)") from None
    if meta.get("type") != "ledger" or "public_key" not in meta:
        handle.close()
        raise LedgerInputError(str(path), "is not a ledger export (no ledger line first)")

    def periods() -> Iterator[StoredPeriod]:
        with handle:
            for number, line in enumerate(handle, start=2):
                try:
                    value = json.loads(line)
                    yield StoredPeriod(
                        header=value["header"],
                        hash=value["hash"],
                        signature=value["signature"],
                        records=tuple(value["records"]),
                        record_signatures=tuple(value["record_signatures"]),
                    )
                except (json.JSONDecodeError, KeyError, TypeError) as exc:
                    raise LedgerInputError(
                        f"{path}:{number}", f"malformed period line: {exc}"
                    ) from exc

    return str(meta["public_key"]), periods()
