"""``spillway ledger`` and ``spillway settle``: export, verify, prove and settle the energy ledger.

* ``ledger export DATA_DIR --format jsonl|csv`` writes the ledger to standard output;
* ``ledger verify DATA_DIR|EXPORT [--public-key HEX]`` checks the chain and every
  signature, and names the first bad period (exit 1); then the signed head (the
  chain's end: periods cut off are caught) and the worker keys beside it. With
  ``--expect-head HASH`` (a head's last header hash) or ``--checkpoint FILE`` (a
  head as ``ledger head`` prints it) it also checks that a head seen before is
  still in the chain, which catches a tail cut even by the key holder;
* ``ledger head DATA_DIR|EXPORT`` prints the signed head, to keep as a checkpoint;
* ``ledger proof DATA_DIR --site S --period P`` prints an inclusion proof, which
  ``ledger verify-proof FILE [--public-key HEX]`` checks against its period header;
  without ``DATA_DIR`` it fetches the proof from ``--coordinator`` over gRPC and checks
  it with the same code before printing it;
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
from pathlib import Path
from typing import Any

from service.cli.ledger_client import register as register_client
from service.cli.ledger_client import register_remote_proof, run_proof_remote, time_s
from service.ledger import (
    Ledger,
    LedgerHead,
    LedgerInputError,
    LedgerIntegrityError,
    build_proof,
    check_certificate,
    load_or_create_key,
    public_key_hex,
    read_export,
    read_jsonl,
    settle,
    verify_ledger,
    verify_proof,
    write_csv,
    write_jsonl,
)
from service.ledger.model import canonical_bytes
from service.ledger.store import LEDGER_KEY_FILE, StoredPeriod
from service.ledger.verify import VerifyReport

__all__ = ["register"]


def _open_source(path: Path) -> tuple[str, Any]:
    """A data directory's ledger or a JSON-lines export: (public key, periods)."""
    if path.is_dir():
        ledger = Ledger(path, read_only=True)
        return ledger.public_key, ledger.periods()
    if path.is_file():
        return read_jsonl(path)
    raise LedgerInputError("source", f"{path} is neither a data directory nor an export file")


def _checkpoint(path: Path) -> tuple[LedgerHead, str]:
    """A signed head saved from ``ledger head`` (or an export's last line)."""
    try:
        text = path.read_text("utf-8")
        return LedgerHead.from_json(json.loads(text.strip().splitlines()[-1] if text else ""))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, IndexError) as exc:
        raise LedgerInputError("checkpoint", f"{path}: not a saved head: {exc}") from None
    except LedgerInputError as exc:
        raise LedgerInputError("checkpoint", f"{path}: {exc}") from None


def _verify(
    path: Path,
    public_key: str | None,
    expect: list[str],
    checkpoints: list[tuple[LedgerHead, str]],
) -> VerifyReport:
    """Verify a data directory (in one read snapshot) or an export, end included."""
    if path.is_dir():
        with Ledger(path, read_only=True) as ledger, ledger.snapshot():
            return verify_ledger(
                ledger.periods(),
                public_key or ledger.public_key,
                lambda: (ledger.head(), ledger.worker_keys()),
                expect_hashes=expect,
                checkpoints=checkpoints,
            )
    if path.is_file():
        export = read_export(path)
        return verify_ledger(
            export.periods(),
            public_key or export.public_key,
            lambda: (export.head, export.keys),
            expect_hashes=expect,
            checkpoints=checkpoints,
        )
    raise LedgerInputError("source", f"{path} is neither a data directory nor an export file")


def register(commands: Any) -> None:
    """Add ``ledger`` and ``settle`` to the ``spillway`` parser."""
    ledger = commands.add_parser("ledger", help="the tamper-evident energy ledger")
    sub = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")

    export = sub.add_parser("export", help="write the ledger to standard output")
    export.add_argument(
        "data_dir", type=Path, metavar="DATA_DIR", help="the coordinator's data directory"
    )
    export.add_argument(
        "--format",
        choices=["jsonl", "csv"],
        default="jsonl",
        help="jsonl: every period with its records and signatures, then the signed head"
        " (what verify reads); csv: one row per record",
    )
    export.set_defaults(run=run_export)

    verify = sub.add_parser(
        "verify", help="check the chain and signatures; name the first bad period"
    )
    verify.add_argument(
        "source",
        type=Path,
        metavar="DATA_DIR|EXPORT",
        help="a data directory or a JSON-lines export",
    )
    verify.add_argument(
        "--public-key", help="the coordinator's key to trust (hex); default: the ledger's"
    )
    verify.add_argument(
        "--expect-head",
        action="append",
        default=[],
        metavar="HASH",
        help="the last header hash of a head seen before: it must still be in the chain",
    )
    verify.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a signed head saved before (`ledger head`): it must still be in the chain",
    )
    verify.set_defaults(run=run_verify)

    head = sub.add_parser("head", help="print the signed head (keep it as a checkpoint)")
    head.add_argument(
        "source",
        type=Path,
        metavar="DATA_DIR|EXPORT",
        help="a data directory or a JSON-lines export",
    )
    head.set_defaults(run=run_head)

    proof = sub.add_parser(
        "proof",
        help="print a Merkle inclusion proof of a site's record, from a data directory or"
        " (without DATA_DIR) from the coordinator over gRPC",
    )
    proof.add_argument(
        "data_dir",
        type=Path,
        nargs="?",
        metavar="DATA_DIR",
        help="the coordinator's data directory; without it the proof is fetched from"
        " --coordinator (GetInclusionProof) and checked before it is printed",
    )
    proof.add_argument("--site", required=True, help="the site whose record is proven")
    proof.add_argument(
        "--period",
        type=int,
        required=True,
        metavar="P",
        help="the period number, not a time: the period's start in Unix seconds divided by"
        " the ledger's period length in seconds (900 s periods: 1767225600 // 900 ="
        " 1963584); the PERIOD column of `ledger list`, `period` in an export",
    )
    register_remote_proof(proof)
    proof.set_defaults(run=run_proof)

    check = sub.add_parser(
        "verify-proof", help="check an inclusion proof against its period header"
    )
    check.add_argument("proof", type=Path, metavar="PROOF", help="what `ledger proof` printed")
    check.add_argument(
        "--public-key", help="the coordinator's key to trust (hex); default: the proof's"
    )
    check.set_defaults(run=run_verify_proof)

    certificate = sub.add_parser(
        "verify-certificate",
        help="recompute certificates from the ledger: one site's, or every one in what"
        " `spillway settle` printed",
    )
    certificate.add_argument(
        "certificate",
        type=Path,
        metavar="CERTIFICATE",
        help="a site's certificate (JSON), or the whole output of `spillway settle`"
        " or `ledger settle-remote` (its every certificate is checked, each page's, or only"
        " --site's)",
    )
    certificate.add_argument(
        "source", type=Path, metavar="DATA_DIR|EXPORT", help="the ledger to recompute from"
    )
    certificate.add_argument(
        "--site", help="with a settlement: check only this site's certificate (default: all)"
    )
    certificate.add_argument(
        "--public-key", help="the coordinator's key to trust (hex); default: the ledger's"
    )
    certificate.set_defaults(run=run_verify_certificate)

    register_client(sub)

    settle_parser = commands.add_parser(
        "settle", help="statements and certificates for a time span"
    )
    settle_parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("SPILLWAY_DATA_DIR", "spillway-data")),
        help="the coordinator's data directory (SPILLWAY_DATA_DIR)",
    )
    settle_parser.add_argument(
        "--from",
        dest="from_time",
        required=True,
        metavar="T0",
        help="start of the span: Unix seconds (1767225600) or ISO 8601"
        " (2026-01-01T00:00, UTC when no offset is given)",
    )
    settle_parser.add_argument(
        "--to",
        dest="to_time",
        required=True,
        metavar="T1",
        help="end of the span, after T0, in the same forms as --from",
    )
    settle_parser.set_defaults(run=run_settle)


def run_export(args: argparse.Namespace) -> int:
    with Ledger(args.data_dir, read_only=True) as ledger:
        if args.format == "jsonl":
            write_jsonl(ledger, sys.stdout)
        else:
            write_csv(ledger, sys.stdout)
    return 0


def run_verify(args: argparse.Namespace) -> int:
    checkpoints = [_checkpoint(path) for path in args.checkpoint]
    report = _verify(args.source, args.public_key, args.expect_head, checkpoints)
    if report.ok:
        print(
            f"ok: {report.periods} periods, {report.records} records;"
            f" head {report.last_hash} (period {report.last_period})"
        )
        return 0
    if report.first_bad_period is None:
        print(f"bad: {report.problem} ({report.periods} periods check out)")
    else:
        print(
            f"bad: period {report.first_bad_period}: {report.problem}"
            f" ({report.periods} periods before it check out)"
        )
    return 1


def run_head(args: argparse.Namespace) -> int:
    """Print the signed head of a data directory or an export (one JSON line)."""
    if args.source.is_dir():
        with Ledger(args.source, read_only=True) as ledger:
            head = ledger.head()
    else:
        export = read_export(args.source)
        for _ in export.periods():
            pass
        head = export.head
    if head is None:
        raise LedgerInputError("source", f"{args.source} has no signed head")
    print(canonical_bytes(head[0].to_json(head[1])).decode())
    return 0


def run_proof(args: argparse.Namespace) -> int:
    """``ledger proof``: from the data directory, or from the coordinator without one."""
    if args.data_dir is None:
        return run_proof_remote(args)
    if args.coordinator is not None:
        raise LedgerInputError("coordinator", "give DATA_DIR or --coordinator, not both")
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


def _certificates(path: Path, site: str | None) -> list[dict[str, Any]]:
    """The certificates in ``path``: one certificate, or those of a `settle` output."""
    try:
        body = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LedgerInputError("certificate", f"{path}: not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise LedgerInputError("certificate", f"{path}: not a certificate or a settlement")
    if isinstance(body.get("pages"), list):  # `settle-remote` of a span in several pages
        pages = [page for page in body["pages"] if isinstance(page, dict)]
        return _settlement_certificates(path, pages, site)
    if isinstance(body.get("certificates"), dict):  # what `spillway settle` prints
        return _settlement_certificates(path, [body], site)
    if "signature" not in body or "site" not in body:
        raise LedgerInputError(
            "certificate",
            f"{path}: neither a certificate (site, signature) nor `spillway settle` output"
            " (certificates)",
        )
    if site is not None and body["site"] != site:
        raise LedgerInputError("site", f"{path} certifies {body['site']!r}, not {site!r}")
    return [body]


def _settlement_certificates(
    path: Path, pages: list[dict[str, Any]], site: str | None
) -> list[dict[str, Any]]:
    """The certificates of one settlement or its pages (each page signs its own), by site."""
    by_site: dict[str, list[Any]] = {}
    for page in pages:
        certificates = page.get("certificates")
        if not isinstance(certificates, dict):
            raise LedgerInputError("certificate", f"{path}: a settlement page has no certificates")
        for name, certificate in certificates.items():
            by_site.setdefault(name, []).append(certificate)
    if site is not None:
        if site not in by_site:
            named = ", ".join(sorted(by_site)) or "none"
            raise LedgerInputError("site", f"{site!r} has no certificate in {path} ({named})")
        return by_site[site]
    if not by_site:
        raise LedgerInputError("certificate", f"{path}: the settlement holds no certificate")
    return [certificate for name in sorted(by_site) for certificate in by_site[name]]


def run_verify_certificate(args: argparse.Namespace) -> int:
    certificates = _certificates(args.certificate, args.site)
    if args.source.is_dir():
        with Ledger(args.source, read_only=True) as ledger:
            return _check_certificates(
                certificates, lambda: (ledger.public_key, ledger.periods()), args.public_key
            )
    return _check_certificates(certificates, lambda: _open_source(args.source), args.public_key)


def _check_certificates(
    certificates: list[dict[str, Any]], source: Any, trusted_key: str | None
) -> int:
    """Check each certificate against a fresh read of the ledger (``source()``)."""
    bad = 0
    for certificate in certificates:
        public_key, periods = source()
        try:
            check_certificate(certificate, periods, trusted_key or public_key)
        except LedgerIntegrityError as exc:
            print(f"bad: certificate of {certificate['site']}: {exc}")
            bad += 1
            continue
        print(f"ok: certificate of {certificate['site']} matches the ledger")
    return 1 if bad else 0


def run_settle(args: argparse.Namespace) -> int:
    from_s, to_s = time_s("from", args.from_time), time_s("to", args.to_time)
    if to_s <= from_s:
        raise LedgerInputError("to", "must be after --from")
    with Ledger(args.data_dir, read_only=True) as ledger:
        with ledger.snapshot():  # the head named is the one these periods end
            head = ledger.head()
            # Only the range's periods are read; settle still checks every record's start.
            periods: list[StoredPeriod] = list(ledger.periods(start_from_s=from_s, start_to_s=to_s))
        key = load_or_create_key(args.data_dir / LEDGER_KEY_FILE, create=False)
        if public_key_hex(key) != ledger.public_key:
            raise LedgerInputError("data_dir", "signing key does not match the ledger's public key")
        settlement = settle(
            periods, from_s, to_s, key, ledger.public_key, None if head is None else head[0]
        )
    print(json.dumps(settlement.to_json(), indent=2, sort_keys=True))
    return 0
