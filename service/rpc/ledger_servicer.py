"""``spillway.v1.LedgerService``: the energy ledger for clients (every call only reads).

Records, headers and proofs carry the exact canonical JSON that is hashed and
signed, so what a client fetches here checks with ``spillway ledger
verify-proof`` (or its own SHA-256d and Ed25519) without trusting this server.
Settlement is the same function as ``spillway settle``, signed with the same
key (Ed25519 signatures are deterministic), so both give the same statements and
certificates. A settlement lists each period it covers, so a long range can
pass the message size limit: ``Settle`` then answers the longest run of whole
periods that fits and names where the next page starts (``next_from_time``),
as ``ListRecords`` pages by ``next_period``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from service.errors import NotFoundError, ResourceExhaustedError
from service.ledger.errors import LedgerInputError
from service.ledger.model import Telemetry, canonical_bytes
from service.ledger.store import StoredHeader
from service.rpc import convert
from service.rpc.checks import Checker
from spillway.v1 import ledger_pb2

if TYPE_CHECKING:
    from service.coordinator.core import Coordinator
    from service.ledger.settle import Settlement
    from service.ledger.store import StoredPeriod
    from spillway.v1 import miner_pb2

__all__ = ["LedgerServicer", "header_to_proto", "telemetry_from_proto"]

# Period numbers beyond this are refused (SQLite holds signed 64-bit integers).
MAX_PERIOD = 2**62
# Header streams re-check for news this often even without a wake-up (shutdown, missed wake).
WATCH_POLL_S = 1.0
# Room a Settle reply leaves under the message limit (framing, the status trailer).
SETTLE_HEADROOM_BYTES = 1024


def telemetry_from_proto(signed: miner_pb2.SignedTelemetry) -> Telemetry:
    """The ledger's ``Telemetry`` from the message (public key filled in from registration)."""
    return Telemetry(
        worker=signed.worker_id,
        public_key="",
        site=signed.site,
        sequence=signed.sequence,
        window_start_ms=signed.window_start_unix_ms,
        window_end_ms=signed.window_end_unix_ms,
        energy_j=signed.energy_joules,
        hashes=signed.hashes,
        shares_found=signed.shares_found,
        signature=signed.signature.hex(),
        # An unknown number is kept as such: the ledger's check refuses it by field.
        energy_measurement=convert.ENERGY_MEASUREMENT_NAMES.get(
            signed.energy_measurement, str(signed.energy_measurement)
        ),
    )


def header_to_proto(stored: StoredHeader | StoredPeriod) -> ledger_pb2.PeriodHeader:
    """A stored period's header as the message (with its canonical JSON)."""
    header = stored.header
    return ledger_pb2.PeriodHeader(
        period=int(header["period"]),
        period_start_time=convert.timestamp(float(header["period_start_s"])),
        period_seconds=int(header["period_s"]),
        prev_hash=str(header["prev_hash"]),
        merkle_root=str(header["merkle_root"]),
        record_count=int(header["record_count"]),
        hash=stored.hash,
        signature=stored.signature,
        header_json=canonical_bytes(header).decode(),
    )


def _record_to_proto(
    period: int, position: int, record: dict[str, Any], signature: str, header_hash: str
) -> ledger_pb2.LedgerRecord:
    return ledger_pb2.LedgerRecord(
        period=period,
        position=position,
        site=str(record["site"]),
        plan_id=str(record["plan_id"]),
        energy_joules=int(record["energy_j"]),
        grid_energy_joules=int(record["grid_j"]),
        curtailed_joules_by_plant={k: int(v) for k, v in record["curtailed_j"].items()},
        hashes=int(record["hashes"]),
        shares=int(record["shares"]),
        owed_micro_by_plant={k: int(v) for k, v in record["owed_micro"].items()},
        record_json=canonical_bytes(record).decode(),
        record_signature=signature,
        header_hash=header_hash,
    )


def _range(check: Checker, first: int, last: int) -> tuple[int | None, int | None]:
    """``(first, last)`` with ``0, 0`` meaning every period."""
    if not 0 <= first <= MAX_PERIOD:
        check.add("first_period", f"must be 0-{MAX_PERIOD}, got {first}")
    if not 0 <= last <= MAX_PERIOD:
        check.add("last_period", f"must be 0-{MAX_PERIOD}, got {last}")
    if last and first > last:
        check.add("last_period", f"{last} is before first_period {first}")
    return (first or None, last or None)


def _account(name: str, statement: dict[str, Any]) -> ledger_pb2.SettlementAccount:
    by_carrier = statement.get("curtailed_j_by_carrier", {})
    return ledger_pb2.SettlementAccount(
        name=name,
        energy_joules=int(statement["energy_j"]),
        owed_micro=int(statement["owed_micro"]),
        curtailed_joules_by_carrier={k: int(v) for k, v in by_carrier.items()},
        periods=[int(p["period"]) for p in statement["periods"]],
    )


def _settle_reply(settlement: Settlement) -> ledger_pb2.SettleResponse:
    body = settlement.to_json()
    return ledger_pb2.SettleResponse(
        settlement_json=canonical_bytes(body).decode(),
        plants=[_account(name, s) for name, s in body["plants"].items()],
        sites=[_account(name, s) for name, s in body["sites"].items()],
        certificates_json={
            site: canonical_bytes(cert).decode() for site, cert in body["certificates"].items()
        },
    )


class LedgerServicer:
    """``spillway.v1.LedgerService``."""

    def __init__(self, coordinator: Coordinator) -> None:
        self._c = coordinator

    async def ListRecords(  # noqa: N802  (gRPC method names)
        self, request: ledger_pb2.ListRecordsRequest, context: Any
    ) -> ledger_pb2.ListRecordsResponse:
        """Records of a site (or all) in a period range."""
        check = Checker()
        site = check.name("site", request.site) if request.site else None
        first, last = _range(check, request.first_period, request.last_period)
        check.raise_if_any()
        ledger = self._c.ledger
        response = ledger_pb2.ListRecordsResponse(public_key=await ledger.public_key())
        budget_bytes, size_bytes = self._c.settings.max_message_bytes // 2, 0
        for row in await ledger.records(site, first, last):
            record = _record_to_proto(*row)
            # A page ends at a whole period, once it holds half the message limit.
            new_period = bool(response.records) and record.period != response.records[-1].period
            if new_period and size_bytes > budget_bytes:
                response.next_period = record.period
                break
            response.records.append(record)
            size_bytes += record.ByteSize()
        return response

    async def ListPeriodHeaders(  # noqa: N802
        self, request: ledger_pb2.ListPeriodHeadersRequest, context: Any
    ) -> ledger_pb2.ListPeriodHeadersResponse:
        """Signed period headers in a range."""
        check = Checker()
        first, last = _range(check, request.first_period, request.last_period)
        check.raise_if_any()
        ledger = self._c.ledger
        response = ledger_pb2.ListPeriodHeadersResponse(public_key=await ledger.public_key())
        budget_bytes, size_bytes = self._c.settings.max_message_bytes // 2, 0
        for stored in await ledger.headers(first, last):
            header = header_to_proto(stored)
            if size_bytes > budget_bytes:
                response.next_period = header.period
                break
            response.headers.append(header)
            size_bytes += header.ByteSize()
        return response

    async def GetInclusionProof(  # noqa: N802
        self, request: ledger_pb2.GetInclusionProofRequest, context: Any
    ) -> ledger_pb2.GetInclusionProofResponse:
        """A Merkle inclusion proof of one site's record in one period."""
        check = Checker()
        site = check.name("site", request.site)
        if not 0 <= request.period <= MAX_PERIOD:
            check.add("period", f"must be 0-{MAX_PERIOD}, got {request.period}")
        check.raise_if_any()
        ledger = self._c.ledger
        try:
            proof = await ledger.proof(site, request.period)
        except LedgerInputError as exc:
            raise NotFoundError(str(exc)) from None
        # The proof carries the period's signed header: no second read of the period.
        stored = StoredHeader(
            header=proof["header"],
            hash=str(proof["header_hash"]),
            signature=str(proof["header_signature"]),
        )
        return ledger_pb2.GetInclusionProofResponse(
            proof_json=json.dumps(proof, indent=2, sort_keys=True),
            header=header_to_proto(stored),
            branch=proof["branch"],
            index=proof["index"],
        )

    async def WatchPeriodHeaders(  # noqa: N802
        self, request: ledger_pb2.WatchPeriodHeadersRequest, context: Any
    ) -> AsyncIterator[ledger_pb2.WatchPeriodHeadersResponse]:
        """Headers after ``after_period`` (or from now on), then each new one, until shutdown."""
        check = Checker()
        if not 0 <= request.after_period <= MAX_PERIOD:
            check.add("after_period", f"must be 0-{MAX_PERIOD}, got {request.after_period}")
        check.raise_if_any()
        ledger = self._c.ledger
        if request.after_period:
            after: int = request.after_period
        else:
            last = await ledger.last_period()
            after = -1 if last is None else last
        while not self._c.stopping.is_set():
            for stored in await ledger.headers(after + 1, None):
                yield ledger_pb2.WatchPeriodHeadersResponse(header=header_to_proto(stored))
                after = int(stored.header["period"])
            await ledger.appended.wait(WATCH_POLL_S)

    async def Settle(  # noqa: N802
        self, request: ledger_pb2.SettleRequest, context: Any
    ) -> ledger_pb2.SettleResponse:
        """Statements per plant and site and a certificate per site for a time range."""
        check = Checker()
        from_s = check.timestamp_s("from_time", request.from_time, request.HasField("from_time"))
        to_s = check.timestamp_s("to_time", request.to_time, request.HasField("to_time"))
        check.raise_if_any()
        if to_s <= from_s:
            check.add("to_time", "must be after from_time")
            check.raise_if_any()
        limit_bytes = self._c.settings.max_message_bytes - SETTLE_HEADROOM_BYTES

        # Each candidate's reply is built once to measure it; the last that fits (the
        # settlement returned) is kept and sent.
        fitted: list[tuple[Settlement, ledger_pb2.SettleResponse]] = []

        def fits(settlement: Settlement) -> bool:
            reply = _settle_reply(settlement)
            if reply.ByteSize() > limit_bytes:
                return False
            fitted[:] = [(settlement, reply)]
            return True

        settlement = await self._c.ledger.settle(int(from_s), int(to_s), fits)
        if settlement is None:
            raise ResourceExhaustedError(
                "to_time: the settlement of the range's first period alone passes the"
                f" {self._c.settings.max_message_bytes}-byte message limit; use"
                " `spillway settle` on the coordinator's data directory"
            )
        if fitted and fitted[0][0] is settlement:
            response = fitted[0][1]
        else:
            response = _settle_reply(settlement)
        if settlement.to_s < int(to_s):
            response.next_from_time.CopyFrom(convert.timestamp(settlement.to_s))
        return response
