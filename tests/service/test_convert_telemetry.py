"""Signed telemetry survives the message both ways."""

from __future__ import annotations

from dataclasses import replace

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger.keys import sign_telemetry
from service.rpc.convert import telemetry_to_proto
from service.rpc.ledger_servicer import telemetry_from_proto


def test_telemetry_round_trips_through_the_message() -> None:
    report = sign_telemetry(
        Ed25519PrivateKey.generate(),
        worker="w1",
        site="north",
        sequence=7,
        window_start_ms=1_000,
        window_end_ms=2_000,
        energy_j=1234,
        hashes=5678,
        shares_found=2,
    )
    message = telemetry_to_proto(report)
    assert message.signature == bytes.fromhex(report.signature)
    # The public key is not sent: the ledger fills it in from registration.
    assert telemetry_from_proto(message) == replace(report, public_key="")
