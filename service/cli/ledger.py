"""``spillway ledger`` and ``spillway settle``: export, verify, prove and settle the energy ledger.

* ``ledger export DATA_DIR --format jsonl|csv`` writes the ledger to standard output;
* ``ledger verify DATA_DIR|EXPORT [--public-key HEX]`` checks the chain and every
  signature, and names the first bad period (exit 1);
* ``ledger proof DATA_DIR --site S --period P`` prints an inclusion proof, which
  ``ledger verify-proof FILE [--public-key HEX]`` checks against its period header;
* ``settle --data-dir DIR --from T0 --to T1`` prints statements per plant and site
  and a signed certificate per site; ``ledger verify-certificate CERT DATA_DIR|EXPORT``
  recomputes one from the ledger.

Times are Unix seconds or ISO 8601 (UTC when no offset is given).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from service.ledger import (
    Ledger,
    LedgerInputError,
    LedgerIntegrityError,
    build_proof,
    check_certificate,
    load_or_create_key,
    public_key_hex,
    read_jsonl,
    settle,
    verify_periods,
    verify_proof,
    write_csv,
    write_jsonl,
)
from service.ledger.store import LEDGER_KEY_FILE, StoredPeriod

__all__ = ["register"]


def _time_s(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise LedgerInputError(field, f"must be Unix seconds or ISO 8601, got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def _open_source(path: Path) -> tuple[str, Any]:
    """A data directory's ledger or a JSON-lines export: (public key, periods)."""
    if path.is_dir():
        ledger = Ledger(path, read_only=True)
        return ledger.public_key, ledger.periods()
    if path.is_file():
        return read_jsonl(path)
    raise LedgerInputError("source", f"{path} is neither a data directory nor an export file")


def register(commands: Any) -> None:
    """Add ``ledger`` and ``settle`` to the ``spillway`` parser."""
    ledger = commands.add_parser("ledger", help="the tamper-evident energy ledger")
    sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    export = sub.add_parser("export", help="write the ledger to standard output")
    export.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.set_defaults(run=run_export)

    verify = sub.add_parser(
        "verify", help="check the chain and signatures; name the first bad period"
    )
    verify.add_argument("source", type=Path, metavar="DATA_DIR|EXPORT")
    verify.add_argument(
        "--public-key", help="the coordinator's key to trust (hex); default: the ledger's"
    )
    verify.set_defaults(run=run_verify)

    proof = sub.add_parser("proof", help="print a Merkle inclusion proof of a site's record")
    proof.add_argument("data_dir", type=Path, metavar="DATA_DIR")
    proof.add_argument("--site", required=True)
    proof.add_argument("--period", type=int, required=True)
    proof.set_defaults(run=run_proof)

    check = sub.add_parser(
        "verify-proof", help="check an inclusion proof against its period header"
    )
    check.add_argument("proof", type=Path, metavar="PROOF")
    check.add_argument("--public-key", help="the coordinator's key to trust (hex)")
    check.set_defaults(run=run_verify_proof)

    certificate = sub.add_parser(
        "verify-certificate", help="recompute a certificate from the ledger"
    )
    certificate.add_argument("certificate", type=Path, metavar="CERTIFICATE")
    certificate.add_argument("source", type=Path, metavar="DATA_DIR|EXPORT")
    certificate.add_argument("--public-key", help="the coordinator's key to trust (hex)")
    certificate.set_defaults(run=run_verify_certificate)

    settle_parser = commands.add_parser(
        "settle", help="statements and certificates for a time span"
    )
    settle_parser.add_argument(
        "--data-dir", type=Path, default=Path(os.environ.get("SPILLWAY_DATA_DIR", "spillway-data"))
    )
    settle_parser.add_argument("--from", dest="from_time", required=True, metavar="T0")
    settle_parser.add_argument("--to", dest="to_time", required=True, metavar="T1")
    settle_parser.set_defaults(run=run_settle)


def run_export(args: argparse.Namespace) -> int:
    with Ledger(args.data_dir, read_only=True) as ledger:
        if args.format == "jsonl":
            write_jsonl(ledger, sys.stdout)
        else:
            write_csv(ledger, sys.stdout)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    public_key, periods = _open_source(args.source)
    report = verify_periods(periods, args.public_key or public_key)
    if report.ok:
        print(f"ok: {report.periods} periods, {report.records} records")
        return 0
    print(
        f"bad: period {report.first_bad_period}: {report.problem}"
        f" ({report.periods} periods before it check out)"
    )
    return 1


def run_proof(args: argparse.Namespace) -> int:
    with Ledger(args.data_dir, read_only=True) as ledger:
        print(json.dumps(build_proof(ledger, args.site, args.period), indent=2, sort_keys=True))
    return 0


def run_verify_proof(args: argparse.Namespace) -> int:
    proof = json.loads(args.proof.read_text("utf-8"))
    try:
        verify_proof(proof, args.public_key)
    except LedgerIntegrityError as exc:
        print(f"bad: {exc}")
        return 1
    record = proof["record"]
    print(f"ok: {record['site']} period {record['period']} is in header {proof['header_hash']}")
    return 0


def run_verify_certificate(args: argparse.Namespace) -> int:
    certificate = json.loads(args.certificate.read_text("utf-8"))
    public_key, periods = _open_source(args.source)
    try:
        check_certificate(certificate, periods, args.public_key or public_key)
    except LedgerIntegrityError as exc:
        print(f"bad: {exc}")
        return 1
    print(f"ok: certificate of {certificate['site']} matches the ledger")
    return 0


def run_settle(args: argparse.Namespace) -> int:
    from_s, to_s = _time_s("from", args.from_time), _time_s("to", args.to_time)
    if to_s <= from_s:
        raise LedgerInputError("to", "must be after --from")
    with Ledger(args.data_dir, read_only=True) as ledger:
        # Only the range's periods are read; settle still checks every record's start.
        periods: list[StoredPeriod] = list(ledger.periods(start_from_s=from_s, start_to_s=to_s))
        key = load_or_create_key(args.data_dir / LEDGER_KEY_FILE, create=False)
        if public_key_hex(key) != ledger.public_key:
            raise LedgerInputError("data_dir", "signing key does not match the ledger's public key")
        settlement = settle(periods, from_s, to_s, key, ledger.public_key)
    print(json.dumps(settlement.to_json(), indent=2, sort_keys=True))
    return 0
