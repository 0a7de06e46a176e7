"""Settlement: statements per plant and per site, and signed certificates of curtailed energy used.

Totals are sums of the ledger's records (integers: joules, micro-units), so a
statement equals the records it lists, exactly. A certificate states the MWh
of curtailed renewable energy a site used, by carrier, over the periods it
names with their header hashes, and names the ledger head it was made
against (``head``: period count and last header hash); it is signed by the
coordinator and ``check_certificate`` recomputes it from a ledger or an export,
from the periods up to that head (so it still checks once the ledger has grown),
and refuses a ledger that no longer holds that head.

A settlement lists every period it covers, so it grows with the range;
``settle_within`` settles the longest run of whole periods from the start of
the range whose settlement a caller's test accepts (gRPC: one message), so a
long range is settled page by page, each page a complete settlement of its own
sub-range, the same as ``settle`` gives for that sub-range. ``merge_pages`` adds
such pages' statements back up to what ``settle`` gives for the whole range (the
certificates stay per page: each is signed over its own sub-range).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.ledger.errors import LedgerIntegrityError
from service.ledger.keys import sign_hex, verify_hex
from service.ledger.model import (
    GENESIS_PREV_HASH,
    JOULES_PER_MWH,
    EnergyRecord,
    LedgerHead,
    canonical_bytes,
)
from service.ledger.store import StoredPeriod

__all__ = ["Settlement", "check_certificate", "merge_pages", "settle", "settle_within"]


@dataclass
class _Account:
    energy_j: int = 0
    owed_micro: int = 0
    curtailed_j_by_carrier: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    grid_j: int = 0
    hashes: int = 0
    shares: int = 0
    periods: dict[int, str] = field(default_factory=dict)  # period -> header hash


@dataclass(frozen=True, slots=True)
class Settlement:
    """Statements per plant and per site, and a certificate per site."""

    from_s: int
    to_s: int
    plants: dict[str, dict[str, Any]]
    sites: dict[str, dict[str, Any]]
    certificates: dict[str, dict[str, Any]]

    def to_json(self) -> dict[str, Any]:
        return {
            "from_s": self.from_s,
            "to_s": self.to_s,
            "plants": self.plants,
            "sites": self.sites,
            "certificates": self.certificates,
        }


def _mwh(joules: int) -> float:
    return joules / JOULES_PER_MWH


def _head_json(head: LedgerHead) -> dict[str, Any]:
    """The part of a head a certificate names: where the chain ended."""
    return {"periods": head.periods, "last_period": head.last_period, "last_hash": head.last_hash}


def _certificate_body(
    site: str, account: _Account, from_s: int, to_s: int, head: LedgerHead | None
) -> dict[str, Any]:
    named = {} if head is None else {"head": _head_json(head)}
    return {
        **named,
        "site": site,
        "from_s": from_s,
        "to_s": to_s,
        "curtailed_j_by_carrier": dict(sorted(account.curtailed_j_by_carrier.items())),
        "curtailed_mwh_by_carrier": {
            carrier: _mwh(joules)
            for carrier, joules in sorted(account.curtailed_j_by_carrier.items())
        },
        "periods": [{"period": p, "header_hash": h} for p, h in sorted(account.periods.items())],
    }


# One record in a settlement's range: its period's start, its header's hash, the record.
_Entry = tuple[int, str, EnergyRecord]


def _entries(periods: Iterable[StoredPeriod], from_s: int, to_s: int) -> list[_Entry]:
    """The records of periods that start in ``[from_s, to_s)``, in ledger order."""
    entries = []
    for stored in periods:
        for record_json in stored.records:
            # Checked before parsing too: a long ledger is mostly outside the range (a
            # malformed record is left to from_json, which names what is wrong).
            start_s = record_json.get("period_start_s")
            if isinstance(start_s, int) and not from_s <= start_s < to_s:
                continue
            record = EnergyRecord.from_json(record_json)
            if not from_s <= record.period_start_s < to_s:
                continue
            entries.append((record.period_start_s, stored.hash, record))
    return entries


def _accounts(entries: Iterable[_Entry]) -> tuple[dict[str, _Account], dict[str, _Account]]:
    plants: dict[str, _Account] = defaultdict(_Account)
    sites: dict[str, _Account] = defaultdict(_Account)
    for _, header_hash, record in entries:
        site = sites[record.site]
        site.energy_j += record.energy_j
        site.grid_j += record.grid_j
        site.hashes += record.hashes
        site.shares += record.shares
        site.owed_micro += sum(record.owed_micro.values())
        site.periods[record.period] = header_hash
        for plant, joules in record.curtailed_j.items():
            carrier = record.carrier[plant]
            site.curtailed_j_by_carrier[carrier] += joules
            account = plants[plant]
            account.energy_j += joules
            account.owed_micro += record.owed_micro.get(plant, 0)
            account.curtailed_j_by_carrier[carrier] += joules
            account.periods[record.period] = header_hash
    return plants, sites


def settle(
    periods: Iterable[StoredPeriod],
    from_s: int,
    to_s: int,
    key: Ed25519PrivateKey,
    public_key: str,
    head: LedgerHead | None = None,
) -> Settlement:
    """Settle the periods that start in ``[from_s, to_s)``; certificates name ``head``."""
    return _settle(_entries(periods, from_s, to_s), from_s, to_s, key, public_key, head)


def settle_within(
    periods: Iterable[StoredPeriod],
    from_s: int,
    to_s: int,
    key: Ed25519PrivateKey,
    public_key: str,
    fits: Callable[[Settlement], bool],
    head: LedgerHead | None = None,
) -> Settlement | None:
    """Settle ``[from_s, to_s)``, or its longest start ``[from_s, t)`` that ``fits``.

    ``t`` is the start of a period in the range, so the settlement covers whole
    periods and its ``to_s`` says where the next page starts; it is what
    ``settle`` gives for ``[from_s, t)``. None when not even the first period fits.
    """
    entries = _entries(periods, from_s, to_s)
    whole = _settle(entries, from_s, to_s, key, public_key, head)
    if fits(whole):
        return whole
    starts = sorted({start_s for start_s, _, _ in entries})
    best: Settlement | None = None
    # Settlements grow with each period added: find the last cut that fits by bisection.
    low, high = 1, len(starts) - 1  # cut before starts[k]: the first k period starts
    while low <= high:
        middle = (low + high) // 2
        cut_s = starts[middle]
        page = _settle([e for e in entries if e[0] < cut_s], from_s, cut_s, key, public_key, head)
        if fits(page):
            best, low = page, middle + 1
        else:
            high = middle - 1
    return best


def _settle(
    entries: list[_Entry],
    from_s: int,
    to_s: int,
    key: Ed25519PrivateKey,
    public_key: str,
    head: LedgerHead | None,
) -> Settlement:
    plants, sites = _accounts(entries)
    plant_statements = {
        plant: {
            "energy_j": account.energy_j,
            "energy_mwh": _mwh(account.energy_j),
            "owed_micro": account.owed_micro,
            "periods": [
                {"period": p, "header_hash": h} for p, h in sorted(account.periods.items())
            ],
        }
        for plant, account in sorted(plants.items())
    }
    site_statements = {
        site: {
            "energy_j": account.energy_j,
            "energy_mwh": _mwh(account.energy_j),
            "curtailed_j_by_carrier": dict(sorted(account.curtailed_j_by_carrier.items())),
            "grid_j": account.grid_j,
            "owed_micro": account.owed_micro,
            "hashes": account.hashes,
            "shares": account.shares,
            "periods": [
                {"period": p, "header_hash": h} for p, h in sorted(account.periods.items())
            ],
        }
        for site, account in sorted(sites.items())
    }
    certificates = {}
    for site, account in sorted(sites.items()):
        body = _certificate_body(site, account, from_s, to_s, head)
        certificates[site] = {
            **body,
            "public_key": public_key,
            "signature": sign_hex(key, canonical_bytes(body)),
        }
    return Settlement(from_s, to_s, plant_statements, site_statements, certificates)


def check_certificate(
    certificate: dict[str, Any], periods: Iterable[StoredPeriod], public_key: str
) -> None:
    """Recompute a site's certificate from a ledger's periods and check its signature.

    Raises
    ------
    LedgerIntegrityError
        If the signature fails or the ledger does not give the same figures.
    """
    body = {
        key: value for key, value in certificate.items() if key not in ("public_key", "signature")
    }
    if not verify_hex(public_key, str(certificate.get("signature", "")), canonical_bytes(body)):
        raise LedgerIntegrityError(None, "bad coordinator signature on the certificate")
    head = None
    if "head" in body:  # certificates made before heads name none, and are checked as before
        named = body["head"]
        head = LedgerHead(
            int(named["periods"]), int(named["last_period"]), str(named["last_hash"]), ""
        )
        periods = _up_to(periods, head)
    _, sites = _accounts(_entries(periods, int(body["from_s"]), int(body["to_s"])))
    account = sites.get(str(body["site"]), _Account())
    expected = _certificate_body(
        str(body["site"]), account, int(body["from_s"]), int(body["to_s"]), head
    )
    if canonical_bytes(expected) != canonical_bytes(body):
        raise LedgerIntegrityError(None, "the ledger gives other figures than the certificate")


def _up_to(periods: Iterable[StoredPeriod], head: LedgerHead) -> list[StoredPeriod]:
    """The periods of the chain up to ``head`` (its ``last_hash`` at place ``periods``).

    Raises
    ------
    LedgerIntegrityError
        If the ledger does not hold that head: it was cut short or rewritten since.
    """
    kept: list[StoredPeriod] = []
    for stored in periods:
        if len(kept) == head.periods:
            break
        kept.append(stored)
    last_hash = kept[-1].hash if kept else GENESIS_PREV_HASH
    if len(kept) != head.periods or last_hash != head.last_hash:
        raise LedgerIntegrityError(
            None,
            f"the ledger does not hold the head the certificate was made against ({head.periods}"
            f" periods ending at period {head.last_period}): cut short or rewritten since",
        )
    return kept


# Statement fields that are sums over records; the rest are recomputed or listed.
_SUMMED = ("energy_j", "grid_j", "owed_micro", "hashes", "shares")


def _merge_statement(total: dict[str, Any], page: dict[str, Any]) -> None:
    for name in _SUMMED:
        if name in page:
            total[name] = total.get(name, 0) + int(page[name])
    if "curtailed_j_by_carrier" in page:
        by_carrier = total.setdefault("curtailed_j_by_carrier", {})
        for carrier, joules in page["curtailed_j_by_carrier"].items():
            by_carrier[carrier] = by_carrier.get(carrier, 0) + int(joules)
        total["curtailed_j_by_carrier"] = dict(sorted(by_carrier.items()))
    total["energy_mwh"] = _mwh(total["energy_j"])
    total["periods"] = total.get("periods", []) + list(page["periods"])


def merge_pages(pages: list[dict[str, Any]]) -> dict[str, Any]:
    """One settlement's JSON from consecutive pages' (``Settlement.to_json()`` each).

    The statements are summed (integers, so they equal what ``settle`` gives for
    the whole range); ``pages`` keeps each page whole, certificates included.

    Raises
    ------
    LedgerIntegrityError
        If the pages do not follow one another (a page's ``from_s`` is not the
        previous page's ``to_s``).
    """
    for before, after in itertools.pairwise(pages):
        if int(after["from_s"]) != int(before["to_s"]):
            raise LedgerIntegrityError(
                None, f"settlement pages do not follow: {before['to_s']} then {after['from_s']}"
            )
    merged: dict[str, Any] = {"plants": {}, "sites": {}}
    for page in pages:
        for kind in ("plants", "sites"):
            for name, statement in page[kind].items():
                _merge_statement(merged[kind].setdefault(name, {}), statement)
    for kind in ("plants", "sites"):
        merged[kind] = dict(sorted(merged[kind].items()))
    return {
        "from_s": pages[0]["from_s"],
        "to_s": pages[-1]["to_s"],
        **merged,
        "pages": pages,
    }
