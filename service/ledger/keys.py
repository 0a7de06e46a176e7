"""Ed25519 keys for the coordinator (signs records and period headers) and workers (sign telemetry).

Keys are PEM files (PKCS#8, unencrypted, mode 0600), made on first use.
Public keys travel as 64 hex digits (the raw 32 bytes).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from service.ledger.errors import LedgerInputError
from service.ledger.model import Telemetry, canonical_bytes

__all__ = [
    "load_or_create_key",
    "public_key_from_hex",
    "public_key_hex",
    "sign_hex",
    "sign_telemetry",
    "telemetry_signed",
    "verify_hex",
]


def load_or_create_key(path: Path, *, create: bool = True) -> Ed25519PrivateKey:
    """The Ed25519 key at ``path``, created (0600) if absent and ``create``.

    Raises
    ------
    LedgerInputError
        If the file is missing (and not to be created) or holds another kind of key.
    """
    if not path.exists() and not create:
        raise LedgerInputError(str(path), "is missing: the coordinator's signing key is needed")
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise LedgerInputError(str(path), "is not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def public_key_hex(key: Ed25519PrivateKey) -> str:
    """The raw public key as hex."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw.hex()


def public_key_from_hex(text: str) -> Ed25519PublicKey:
    """A public key from 64 hex digits.

    Raises
    ------
    LedgerInputError
        Naming ``public_key``.
    """
    try:
        raw = bytes.fromhex(text)
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise LedgerInputError("public_key", f"must be 64 hex digits, got {text[:70]!r}") from None


def sign_hex(key: Ed25519PrivateKey, message: bytes) -> str:
    """The Ed25519 signature of ``message``, as hex."""
    return key.sign(message).hex()


def verify_hex(public_key: str, signature: str, message: bytes) -> bool:
    """Whether ``signature`` (hex) is ``public_key``'s (hex) over ``message``."""
    try:
        public_key_from_hex(public_key).verify(bytes.fromhex(signature), message)
    except (InvalidSignature, ValueError, LedgerInputError):
        return False
    return True


def sign_telemetry(
    key: Ed25519PrivateKey,
    *,
    worker: str,
    site: str,
    sequence: int,
    window_start_ms: int,
    window_end_ms: int,
    energy_j: int,
    hashes: int,
    shares_found: int = 0,
    energy_measurement: str = "",
) -> Telemetry:
    """A worker's telemetry for one time window, signed with the worker's key.

    ``energy_measurement``: ``measured`` or ``modelled`` (signed with the energy);
    "" leaves it unstated, as reports were before the mark.
    """
    unsigned = Telemetry(
        worker=worker,
        public_key=public_key_hex(key),
        site=site,
        sequence=sequence,
        window_start_ms=window_start_ms,
        window_end_ms=window_end_ms,
        energy_j=energy_j,
        hashes=hashes,
        shares_found=shares_found,
        energy_measurement=energy_measurement,
    )
    return replace(unsigned, signature=sign_hex(key, canonical_bytes(unsigned.payload())))


def telemetry_signed(telemetry: Telemetry) -> bool:
    """Whether telemetry carries its worker's good signature over its payload."""
    return verify_hex(
        telemetry.public_key, telemetry.signature, canonical_bytes(telemetry.payload())
    )
