"""Ledger exports: JSON lines (complete, verifiable by anyone) and CSV (one row per record).

JSON lines: a first line ``{"type": "ledger", ...}`` with the coordinator's
public key, then per period one ``{"type": "period", ...}`` line with its
header, hash, signature, records and their signatures, then the workers'
telemetry keys (``{"type": "keys", "keys": [[worker, site, public_key], ...]}``)
and last the signed head (``{"type": "head", ...}``), all read in one snapshot.
``read_export`` reads it back for ``verify_ledger``; an export written before
heads has neither line, reads, and does not verify. ``read_jsonl`` gives the
key and periods alone.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from service.ledger.errors import LedgerInputError
from service.ledger.model import LedgerHead, canonical_bytes
from service.ledger.store import SCHEMA_VERSION, Ledger, StoredPeriod

__all__ = ["CSV_COLUMNS", "LedgerExport", "read_export", "read_jsonl", "write_csv", "write_jsonl"]

CSV_COLUMNS = (
    "period", "period_start_s", "period_s", "site", "plan_id", "energy_j", "grid_j",
    "curtailed_j", "carrier", "hashes", "shares", "price_micro_per_mwh", "owed_micro",
    "workers", "header_hash", "record_signature",
)  # fmt: skip


def write_jsonl(ledger: Ledger, out: IO[str]) -> int:
    """Write the whole ledger as JSON lines, ending with its head; returns the periods written.

    A ledger without a head (schema 2, read as it is) is written without one.
    """
    with ledger.snapshot():
        out.write(
            json.dumps(
                {"type": "ledger", "version": SCHEMA_VERSION, "public_key": ledger.public_key}
            )
            + "\n"
        )
        count = 0
        for stored in ledger.periods():
            out.write(canonical_bytes({"type": "period", **stored.to_json()}).decode() + "\n")
            count += 1
        head = ledger.head()
        if head is not None:
            keys = [list(key) for key in ledger.worker_keys()]
            out.write(canonical_bytes({"type": "keys", "keys": keys}).decode() + "\n")
            out.write(canonical_bytes(head[0].to_json(head[1])).decode() + "\n")
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


class LedgerExport:
    """A JSON-lines export being read: its key, its periods (read once), then keys and head.

    ``keys`` and ``head`` are known once ``periods()`` has been read to its end
    (None: the export has none).
    """

    def __init__(self, path: Path, public_key: str) -> None:
        self.path = path
        self.public_key = public_key
        self.keys: list[tuple[str, str, str]] | None = None
        self.head: tuple[LedgerHead, str] | None = None

    def periods(self) -> Iterator[StoredPeriod]:
        """The period lines in order; the keys and head lines after them are kept.

        The file is opened when iteration starts and closed when it ends or the
        iterator is dropped (an iterator never started holds no file)."""
        path = self.path
        with path.open(encoding="utf-8") as handle:
            handle.readline()  # the ledger line, read by `read_export`
            for number, line in enumerate(handle, start=2):
                where = f"{path}:{number}"
                try:
                    value = json.loads(line)
                    kind = value.get("type", "period")
                    if self.head is not None:
                        raise LedgerInputError(where, "a line after the head")
                    if kind == "head":
                        self.head = LedgerHead.from_json(value)
                    elif kind == "keys":
                        self.keys = [(str(w), str(s), str(k)) for w, s, k in value["keys"]]
                    elif self.keys is not None:
                        raise LedgerInputError(where, "a period line after the keys")
                    else:
                        yield StoredPeriod(
                            header=value["header"],
                            hash=value["hash"],
                            signature=value["signature"],
                            records=tuple(value["records"]),
                            record_signatures=tuple(value["record_signatures"]),
                        )
                except LedgerInputError as exc:
                    if exc.field == where:
                        raise
                    raise LedgerInputError(where, str(exc)) from exc
                except (
                    json.JSONDecodeError,
                    AttributeError,
                    KeyError,
                    TypeError,
                    ValueError,
                ) as exc:
                    raise LedgerInputError(where, f"malformed line: {exc}") from exc


def read_export(path: Path) -> LedgerExport:
    """Open a JSON-lines export.

    Raises
    ------
    LedgerInputError
        If the file does not start with the ledger line.
    """
    with path.open(encoding="utf-8") as handle:
        first = handle.readline()
    try:
        meta: dict[str, Any] = json.loads(first)
    except json.JSONDecodeError:
        raise LedgerInputError(str(path), "is not a ledger export (line 1 is not JSON)") from None
    if not isinstance(meta, dict) or meta.get("type") != "ledger" or "public_key" not in meta:
        raise LedgerInputError(str(path), "is not a ledger export (no ledger line first)")
    return LedgerExport(path, str(meta["public_key"]))


def read_jsonl(path: Path) -> tuple[str, Iterator[StoredPeriod]]:
    """The public key and the periods of a JSON-lines export (keys and head skipped).

    Raises
    ------
    LedgerInputError
        If the file does not start with the ledger line.
    """
    export = read_export(path)
    return export.public_key, export.periods()
