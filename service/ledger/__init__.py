"""The tamper-evident ledger of curtailed energy used: records, chain, proofs, settlement.

Each period's records (per site: energy the worker measured and signed, the
plan's share of it from curtailed or spilled plants, hashes, shares, money
owed per plant) are committed under a Merkle root in a period header that
carries the previous header's hash and the coordinator's Ed25519 signature.

The package is pure: it imports nothing of the service outside ``service.ledger``.
The coordinator writes it through ``service.coordinator.recorder.LedgerRecorder``
(signed reports staged, periods closed) and splits energy among plants with
``service.coordinator.attribution``.
"""

from __future__ import annotations

from service.ledger.errors import LedgerError, LedgerInputError, LedgerIntegrityError
from service.ledger.export import LedgerExport, read_export, read_jsonl, write_csv, write_jsonl
from service.ledger.keys import (
    load_or_create_key,
    public_key_hex,
    sign_hex,
    sign_telemetry,
    verify_hex,
)
from service.ledger.model import (
    JOULES_PER_MWH,
    EnergyRecord,
    LedgerHead,
    PeriodHeader,
    Telemetry,
    canonical_bytes,
    keys_hash,
    merkle_branch,
    merkle_root,
    owed_micro,
    root_from_branch,
)
from service.ledger.settle import Settlement, check_certificate, merge_pages, settle
from service.ledger.store import Ledger, StoredPeriod
from service.ledger.verify import (
    VerifyReport,
    build_proof,
    verify_ledger,
    verify_periods,
    verify_proof,
)

__all__ = [
    "JOULES_PER_MWH",
    "EnergyRecord",
    "Ledger",
    "LedgerError",
    "LedgerExport",
    "LedgerHead",
    "LedgerInputError",
    "LedgerIntegrityError",
    "PeriodHeader",
    "Settlement",
    "StoredPeriod",
    "Telemetry",
    "VerifyReport",
    "build_proof",
    "canonical_bytes",
    "check_certificate",
    "keys_hash",
    "load_or_create_key",
    "merge_pages",
    "merkle_branch",
    "merkle_root",
    "owed_micro",
    "public_key_hex",
    "read_export",
    "read_jsonl",
    "root_from_branch",
    "settle",
    "sign_hex",
    "sign_telemetry",
    "verify_hex",
    "verify_ledger",
    "verify_periods",
    "verify_proof",
    "write_csv",
    "write_jsonl",
]
