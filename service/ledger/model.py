"""Ledger records, their canonical bytes, and the Merkle tree that commits to them.

Every value is an integer or a string so that the bytes that are hashed and
signed are the same on every machine: energy in joules, money in micro-units
of the currency (1e-6), prices in micro-units per MWh.

Canonical bytes: JSON with sorted keys, no spaces, ASCII only. A record's
leaf hash is SHA-256d of those bytes; a period's records are committed under a
Merkle root built as Bitcoin builds its transaction tree (pairs hashed with
SHA-256d, an odd last node paired with itself). Because that construction
lets a list with its last leaf repeated give the same root (CVE-2012-2459),
the period header also carries the record count.

A hash chain cannot see its own end: dropping the newest periods leaves a
chain that checks out. The ledger's ``LedgerHead`` is that end, signed: the
number of periods, the last header's hash, and the hash of the workers'
telemetry key set (``keys_hash``), so neither a cut-off tail nor a replaced
worker key goes unnoticed. Whoever saw a head can later check that the chain
still holds it (``last_hash`` at position ``periods``), even against the key
holder, who could sign a new head over a shorter chain but not one that holds
the old head's header.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from kernels import sha256d
from service.ledger.errors import LedgerInputError

__all__ = [
    "ENERGY_MEASUREMENTS",
    "GENESIS_PREV_HASH",
    "JOULES_PER_MWH",
    "EnergyRecord",
    "LedgerHead",
    "PeriodHeader",
    "Telemetry",
    "canonical_bytes",
    "keys_hash",
    "leaf_hash",
    "merkle_branch",
    "merkle_root",
    "owed_micro",
    "root_from_branch",
]

JOULES_PER_MWH = 3_600_000_000
# How a report's energy was found; "" is not stated (reports from before the mark,
# which were modelled), kept out of the signed and hashed bytes so they still verify.
ENERGY_MEASUREMENTS = ("", "modelled", "measured")
GENESIS_PREV_HASH = "00" * 32
HEADER_VERSION = 1
HEAD_VERSION = 1
MAX_INT = 2**63 - 1


def canonical_bytes(value: Any) -> bytes:
    """The one byte string a JSON value is hashed and signed as."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def owed_micro(energy_j: int, price_micro_per_mwh: int) -> int:
    """Money owed for energy at a price, rounded half up to a micro-unit."""
    return (energy_j * price_micro_per_mwh + JOULES_PER_MWH // 2) // JOULES_PER_MWH


def _check_count(field_name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise LedgerInputError(field_name, f"must be a non-negative integer, got {value!r}")
    return value


@dataclass(frozen=True, slots=True)
class Telemetry:
    """What a worker measured over one time window, signed with the worker's own Ed25519 key.

    ``sequence`` rises strictly per worker, so the coordinator refuses a replayed
    report; the window is the worker's clock (Unix milliseconds). The coordinator
    files a report under the period in which it received it. ``energy_measurement``
    says how ``energy_j`` was found: ``measured`` (read from the device) or
    ``modelled`` (hashes times the power model); "" where the worker did not say
    (reports from before the mark). It is signed with the rest.
    """

    worker: str
    public_key: str  # hex, 32 bytes
    site: str
    sequence: int
    window_start_ms: int
    window_end_ms: int
    energy_j: int
    hashes: int
    shares_found: int
    signature: str = ""  # hex, over canonical_bytes(payload())
    # "measured" or "modelled" (ENERGY_MEASUREMENTS); "" not stated, as before the mark.
    energy_measurement: str = ""

    def payload(self) -> dict[str, Any]:
        """The signed part: everything but the signature (and an unstated measurement)."""
        payload: dict[str, Any] = {
            "worker": self.worker,
            "public_key": self.public_key,
            "site": self.site,
            "sequence": self.sequence,
            "window_start_ms": self.window_start_ms,
            "window_end_ms": self.window_end_ms,
            "energy_j": self.energy_j,
            "hashes": self.hashes,
            "shares_found": self.shares_found,
        }
        if self.energy_measurement:
            payload["energy_measurement"] = self.energy_measurement
        return payload

    def to_json(self) -> dict[str, Any]:
        """Plain JSON value, as stored and in records: an unstated measurement is left
        out, so a record of reports from before the mark keeps its bytes and leaf hash."""
        value = asdict(self)
        if not self.energy_measurement:
            del value["energy_measurement"]
        return value

    def check(self) -> None:
        """Raise ``LedgerInputError`` naming the first malformed field."""
        if not self.worker:
            raise LedgerInputError("telemetry.worker", "must not be empty")
        if not self.site:
            raise LedgerInputError("telemetry.site", "must not be empty")
        for name in (
            "sequence",
            "window_start_ms",
            "window_end_ms",
            "energy_j",
            "hashes",
            "shares_found",
        ):
            # SQLite and most JSON readers hold signed 64-bit integers at most.
            if _check_count(f"telemetry.{name}", getattr(self, name)) > MAX_INT:
                raise LedgerInputError(f"telemetry.{name}", f"must be at most {MAX_INT}")
        if self.window_end_ms < self.window_start_ms:
            raise LedgerInputError("telemetry.window_end_ms", "is before window_start_ms")
        if self.energy_measurement not in ENERGY_MEASUREMENTS:
            raise LedgerInputError(
                "telemetry.energy_measurement",
                f"must be 'measured' or 'modelled', got {self.energy_measurement!r}",
            )

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Telemetry:
        """Rebuild from ``to_json``'s or ``asdict``'s value (raises ``LedgerInputError``)."""
        try:
            return cls(**value)
        except TypeError as exc:
            raise LedgerInputError("telemetry", f"malformed: {exc}") from exc


@dataclass(frozen=True, slots=True)
class EnergyRecord:
    """One site's energy in one period: what it used, from where, and what is owed.

    ``telemetry`` holds every signed report the site's workers sent in the period;
    ``energy_j`` and ``hashes`` are their sums, so anyone can check that the
    coordinator recorded no energy that a worker did not sign for.
    ``curtailed_j`` maps each curtailed or spilled plant the plan drew on to the
    joules taken from it; ``grid_j`` is the rest, from other grid energy.
    ``price_micro_per_mwh`` and ``owed_micro`` are per plant (the bus's marginal
    price or a contract price).
    """

    site: str
    period: int
    period_start_s: int
    period_s: int
    plan_id: str
    energy_j: int
    curtailed_j: Mapping[str, int]
    carrier: Mapping[str, str]
    grid_j: int
    hashes: int
    shares: int
    price_micro_per_mwh: Mapping[str, int]
    owed_micro: Mapping[str, int]
    telemetry: tuple[Telemetry, ...]
    notes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.site:
            raise LedgerInputError("site", "must not be empty")
        for name in ("period", "period_start_s", "energy_j", "grid_j", "hashes", "shares"):
            _check_count(name, getattr(self, name))
        if _check_count("period_s", self.period_s) == 0:
            raise LedgerInputError("period_s", "must be above zero")
        for plant, joules in self.curtailed_j.items():
            _check_count(f"curtailed_j[{plant}]", joules)
            if plant not in self.carrier:
                raise LedgerInputError(f"carrier[{plant}]", "missing for a curtailed plant")
        if sum(self.curtailed_j.values()) + self.grid_j != self.energy_j:
            raise LedgerInputError(
                "grid_j",
                f"curtailed {sum(self.curtailed_j.values())} J + grid {self.grid_j} J"
                f" != energy {self.energy_j} J",
            )
        for plant, price in self.price_micro_per_mwh.items():
            _check_count(f"price_micro_per_mwh[{plant}]", price)
        if not self.telemetry:
            raise LedgerInputError("telemetry", "a record needs at least one signed report")
        for index, report in enumerate(self.telemetry):
            if report.site != self.site:
                raise LedgerInputError(f"telemetry[{index}].site", f"is not {self.site!r}")
        signed_j = sum(report.energy_j for report in self.telemetry)
        if signed_j != self.energy_j:
            raise LedgerInputError(
                "energy_j", f"{self.energy_j} J differs from the workers' signed {signed_j} J"
            )
        signed_hashes = sum(report.hashes for report in self.telemetry)
        if signed_hashes != self.hashes:
            raise LedgerInputError(
                "hashes", f"{self.hashes} differs from the workers' signed {signed_hashes}"
            )

    @classmethod
    def build(
        cls,
        *,
        telemetry: Sequence[Telemetry],
        period: int,
        period_start_s: int,
        period_s: int,
        plan_id: str,
        curtailed_j: Mapping[str, int],
        carrier: Mapping[str, str],
        price_micro_per_mwh: Mapping[str, int],
        shares: int | None = None,
        notes: Mapping[str, str] | None = None,
    ) -> EnergyRecord:
        """A record from a site's signed telemetry and the plan's split of its energy.

        ``energy_j`` and ``hashes`` are the reports' sums; ``shares`` defaults to
        the shares the workers signed for. ``grid_j`` is what the curtailed plants
        did not supply; each plant is owed its joules at its price.

        Raises
        ------
        LedgerInputError
            If there is no report, the plan attributes more curtailed energy
            than the workers used, or a plant has no price.
        """
        if not telemetry:
            raise LedgerInputError("telemetry", "a record needs at least one signed report")
        energy_j = sum(report.energy_j for report in telemetry)
        supplied_j = sum(curtailed_j.values())
        if supplied_j > energy_j:
            raise LedgerInputError(
                "curtailed_j", f"{supplied_j} J is more than the {energy_j} J measured"
            )
        missing = sorted(set(curtailed_j) - set(price_micro_per_mwh))
        if missing:
            raise LedgerInputError(f"price_micro_per_mwh[{missing[0]}]", "missing")
        return cls(
            site=telemetry[0].site,
            period=period,
            period_start_s=period_start_s,
            period_s=period_s,
            plan_id=plan_id,
            energy_j=energy_j,
            curtailed_j=dict(curtailed_j),
            carrier={plant: carrier[plant] for plant in curtailed_j if plant in carrier},
            grid_j=energy_j - supplied_j,
            hashes=sum(report.hashes for report in telemetry),
            shares=sum(r.shares_found for r in telemetry) if shares is None else shares,
            price_micro_per_mwh={plant: price_micro_per_mwh[plant] for plant in curtailed_j},
            owed_micro={
                plant: owed_micro(joules, price_micro_per_mwh[plant])
                for plant, joules in curtailed_j.items()
            },
            telemetry=tuple(telemetry),
            notes=dict(notes or {}),
        )

    def to_json(self) -> dict[str, Any]:
        """Plain JSON value (what is hashed, exported and proven)."""
        value = asdict(self)
        value["curtailed_j"] = dict(self.curtailed_j)
        value["carrier"] = dict(self.carrier)
        value["price_micro_per_mwh"] = dict(self.price_micro_per_mwh)
        value["owed_micro"] = dict(self.owed_micro)
        value["notes"] = dict(self.notes)
        value["telemetry"] = [report.to_json() for report in self.telemetry]
        return value

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> EnergyRecord:
        """Rebuild from ``to_json``'s value.

        Raises
        ------
        LedgerInputError
            Naming a missing or malformed field.
        """
        try:
            reports = value["telemetry"]
            if not isinstance(reports, list):
                raise LedgerInputError("telemetry", "must be a list of signed reports")
            telemetry = tuple(Telemetry.from_json(report) for report in reports)
            fields = {k: v for k, v in value.items() if k != "telemetry"}
            return cls(telemetry=telemetry, **fields)
        except (KeyError, TypeError) as exc:
            raise LedgerInputError("record", f"malformed: {exc}") from exc

    def leaf_hash(self) -> bytes:
        """SHA-256d of the canonical bytes: this record's Merkle leaf."""
        return leaf_hash(self.to_json())


@dataclass(frozen=True, slots=True)
class PeriodHeader:
    """The header of one period: it commits to the records and to the previous header."""

    period: int
    period_start_s: int
    period_s: int
    prev_hash: str  # hex of the previous header's hash (GENESIS_PREV_HASH first)
    merkle_root: str  # hex, internal byte order
    record_count: int
    version: int = HEADER_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PeriodHeader:
        try:
            return cls(**value)
        except TypeError as exc:
            raise LedgerInputError("header", f"malformed: {exc}") from exc

    def hash(self) -> bytes:
        """SHA-256d of the canonical header bytes: what the next header links to."""
        return sha256d(canonical_bytes(self.to_json()))


def keys_hash(keys: Iterable[tuple[str, str, str]]) -> str:
    """Hex SHA-256d of a set of worker keys ``(worker, site, public_key)``, in any order."""
    return sha256d(canonical_bytes(sorted([list(key) for key in keys]))).hex()


@dataclass(frozen=True, slots=True)
class LedgerHead:
    """The signed end of the chain: how many periods, the last one, and the key set."""

    periods: int
    last_period: int  # -1 before the first period
    last_hash: str  # the last header's hash (GENESIS_PREV_HASH before the first)
    keys_hash: str  # keys_hash() of the workers' telemetry keys
    version: int = HEAD_VERSION

    def signed_bytes(self) -> bytes:
        """What the coordinator signs (typed, so it is no other signed message's bytes)."""
        return canonical_bytes({"type": "ledger-head", **asdict(self)})

    def to_json(self, signature: str) -> dict[str, Any]:
        """The head as exported and checkpointed: ``{"type": "head", ..., "signature"}``."""
        return {"type": "head", **asdict(self), "signature": signature}

    @classmethod
    def from_json(cls, value: Any) -> tuple[LedgerHead, str]:
        """A head and its signature from ``to_json``'s value.

        Raises
        ------
        LedgerInputError
            Naming ``head`` when a field is missing or of the wrong kind.
        """
        if not isinstance(value, dict) or value.get("type") != "head":
            raise LedgerInputError("head", 'is not a ledger head ({"type": "head", ...})')
        try:
            head = cls(**{k: v for k, v in value.items() if k not in ("type", "signature")})
        except TypeError as exc:
            raise LedgerInputError("head", f"malformed: {exc}") from exc
        for name in ("periods", "last_period", "version"):
            number = getattr(head, name)
            if isinstance(number, bool) or not isinstance(number, int):
                raise LedgerInputError(f"head.{name}", f"must be an integer, got {number!r}")
        for name in ("last_hash", "keys_hash"):
            if not isinstance(getattr(head, name), str):
                raise LedgerInputError(f"head.{name}", "must be a hex string")
        signature = value.get("signature")
        if not isinstance(signature, str):
            raise LedgerInputError("head.signature", "must be a hex string")
        return head, signature


def leaf_hash(record_json: Mapping[str, Any]) -> bytes:
    """A record's Merkle leaf from its JSON value, as stored or exported."""
    return sha256d(canonical_bytes(record_json))


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """Bitcoin's Merkle root of the leaves (32 zero bytes for none)."""
    if not leaves:
        return bytes(32)
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def merkle_branch(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """The sibling hashes from leaf ``index`` up to the root."""
    if not 0 <= index < len(leaves):
        raise LedgerInputError("index", f"must be within 0..{len(leaves) - 1}, got {index}")
    branch = []
    level = list(leaves)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        branch.append(level[index ^ 1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
        index //= 2
    return branch


def root_from_branch(leaf: bytes, index: int, branch: Sequence[bytes]) -> bytes:
    """Fold a leaf up its branch; equals the root when the proof is good."""
    node = leaf
    for sibling in branch:
        node = sha256d(sibling + node) if index & 1 else sha256d(node + sibling)
        index //= 2
    return node
