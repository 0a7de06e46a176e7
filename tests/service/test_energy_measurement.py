"""The measured/modelled mark on signed telemetry: signed, recorded, and old records unchanged."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger.errors import LedgerInputError
from service.ledger.keys import sign_telemetry, telemetry_signed
from service.ledger.model import EnergyRecord, Telemetry, canonical_bytes
from service.rpc.convert import telemetry_to_proto
from service.rpc.ledger_servicer import telemetry_from_proto

# A record as the ledger wrote it before the mark existed (made with main's code at
# 35cc5c3, key = bytes(range(32))): its bytes, leaf hash and worker signature must
# stay what they were, or every ledger written until now would stop verifying.
OLD_RECORD_JSON = (
    '{"carrier":{"wind":"wind"},"curtailed_j":{"wind":1000},"energy_j":1234,"grid_j":234,'
    '"hashes":5678,"notes":{},"owed_micro":{"wind":6},"period":3,"period_s":900,'
    '"period_start_s":1800,"plan_id":"p1","price_micro_per_mwh":{"wind":20000000},'
    '"shares":2,"site":"north","telemetry":[{"energy_j":1234,"hashes":5678,'
    '"public_key":"03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",'
    '"sequence":7,"shares_found":2,"signature":"4e4eb866a8180392f7f5332ab6c95421108a7229'
    'b73fb055b00345a457b0e820203718e2c999a14d71d031f4063e29b1f98224f6a456b141bdbc6e7ebbd7120e",'
    '"site":"north","window_end_ms":6000,"window_start_ms":1000,"worker":"w1"}]}'
)
OLD_LEAF_HASH = "f61a6a175a712bf4118ccd24525e2b5b26b013d0a03a46b97d48c34e7c9d2ac2"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


def _report(energy_measurement: str = "", **overrides: int) -> Telemetry:
    fields = {
        "sequence": 7,
        "window_start_ms": 1000,
        "window_end_ms": 6000,
        "energy_j": 1234,
        "hashes": 5678,
        "shares_found": 2,
    }
    fields.update(overrides)
    return sign_telemetry(
        KEY, worker="w1", site="north", energy_measurement=energy_measurement, **fields
    )


def _record(*reports: Telemetry) -> EnergyRecord:
    return EnergyRecord.build(
        telemetry=list(reports),
        period=3,
        period_start_s=1800,
        period_s=900,
        plan_id="p1",
        curtailed_j={"wind": 1000},
        carrier={"wind": "wind"},
        price_micro_per_mwh={"wind": 20_000_000},
    )


class TestOlderRecords:
    def test_a_record_from_before_the_mark_keeps_its_bytes_and_verifies(self) -> None:
        record = EnergyRecord.from_json(json.loads(OLD_RECORD_JSON))
        assert record.telemetry[0].energy_measurement == ""
        assert canonical_bytes(record.to_json()).decode() == OLD_RECORD_JSON
        assert record.leaf_hash().hex() == OLD_LEAF_HASH
        assert telemetry_signed(record.telemetry[0])

    def test_an_unmarked_report_is_signed_as_before(self) -> None:
        """A worker that does not state the mark signs the very bytes an older worker did."""
        assert canonical_bytes(_record(_report()).to_json()).decode() == OLD_RECORD_JSON


class TestMarkedReports:
    @pytest.mark.parametrize("mark", ["measured", "modelled"])
    def test_the_mark_is_signed_and_recorded(self, mark: str) -> None:
        report = _report(mark)
        assert telemetry_signed(report)
        record = _record(report)
        body = json.loads(canonical_bytes(record.to_json()))
        assert body["telemetry"][0]["energy_measurement"] == mark
        again = EnergyRecord.from_json(body)
        assert again == record and telemetry_signed(again.telemetry[0])
        assert record.leaf_hash().hex() != OLD_LEAF_HASH

    def test_changing_or_dropping_the_mark_breaks_the_signature(self) -> None:
        """Nobody can pass modelled energy off as measured, or drop the mark, after signing."""
        measured = _report("measured")
        for changed in ("modelled", ""):
            assert not telemetry_signed(replace(measured, energy_measurement=changed))
        assert not telemetry_signed(replace(_report("modelled"), energy_measurement="measured"))

    def test_an_unknown_mark_is_refused_naming_the_field(self) -> None:
        with pytest.raises(LedgerInputError, match=r"telemetry\.energy_measurement"):
            replace(_report("measured"), energy_measurement="estimated").check()

    @pytest.mark.parametrize("mark", ["", "measured", "modelled"])
    def test_the_mark_survives_the_message(self, mark: str) -> None:
        report = _report(mark)
        assert telemetry_from_proto(telemetry_to_proto(report)) == replace(report, public_key="")
