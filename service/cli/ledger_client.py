"""``spillway ledger list|headers|settle-remote --coordinator HOST:PORT``: the ledger over gRPC.

Read-only clients of the coordinator's ``LedgerService`` (the same figures the
local ``ledger export`` and ``settle`` give from a data directory, for an
operator who has no access to it). Long answers come in pages; these commands
follow ``next_period`` until the range is complete.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from service.cli.common import add_client_flags
from service.cli.operator import _call, _guard
from service.errors import ConfigError
from service.rpc.convert import timestamp
from spillway.v1 import ledger_pb2, ledger_pb2_grpc

__all__ = ["register"]

_J_PER_KWH = 3.6e6


def register(sub: Any) -> None:
    """Add the gRPC readers to the ``ledger`` sub-command parser ``sub``."""
    listed = sub.add_parser(
        "list", help="list the coordinator's ledger records over gRPC (LedgerService)"
    )
    add_client_flags(listed)
    _add_range(listed)
    listed.add_argument("--site", default="", help="only this site's records (default: all)")
    listed.add_argument("--json", action="store_true", help="one JSON object per record")
    listed.set_defaults(run=_guard(run_list))

    headers = sub.add_parser(
        "headers", help="list the coordinator's signed period headers over gRPC"
    )
    add_client_flags(headers)
    _add_range(headers)
    headers.add_argument("--json", action="store_true", help="one header's JSON per line")
    headers.set_defaults(run=_guard(run_headers))

    settle = sub.add_parser(
        "settle-remote",
        help="settle a time span on the coordinator over gRPC; prints what `spillway settle`"
        " prints (a span past the message limit: the first page, and on stderr where the"
        " next starts)",
    )
    add_client_flags(settle)
    settle.add_argument(
        "--from",
        dest="from_time",
        required=True,
        metavar="T0",
        help="start: Unix seconds or ISO 8601 (UTC without an offset)",
    )
    settle.add_argument(
        "--to",
        dest="to_time",
        required=True,
        metavar="T1",
        help="end (after T0): Unix seconds or ISO 8601 (UTC without an offset)",
    )
    settle.set_defaults(run=_guard(run_settle_remote))


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--first-period",
        type=int,
        default=0,
        metavar="P",
        help="first period number (Unix start time // period seconds); 0: from the first",
    )
    parser.add_argument(
        "--last-period",
        type=int,
        default=0,
        metavar="P",
        help="last period number, inclusive; 0: to the last",
    )


def _pages(args: argparse.Namespace, method: str, make: Any, field: str) -> list[Any]:
    """Every item of a paged list call, following ``next_period``."""
    items: list[Any] = []
    first = args.first_period
    while True:
        reply = _call(args, method, make(first), ledger_pb2_grpc.LedgerServiceStub)
        items += getattr(reply, field)
        if not reply.next_period:
            return items
        first = reply.next_period


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def run_list(args: argparse.Namespace) -> int:
    """``spillway ledger list``: a table (or JSON lines) of records."""
    records = _pages(
        args,
        "ListRecords",
        lambda first: ledger_pb2.ListRecordsRequest(
            site=args.site, first_period=first, last_period=args.last_period
        ),
        "records",
    )
    if args.json:
        for record in records:
            print(record.record_json)
        return 0
    rows = [("PERIOD", "SITE", "ENERGY kWh", "CURTAILED kWh", "GRID kWh", "HASHES", "SHARES")]
    for r in records:
        curtailed_j = sum(r.curtailed_joules_by_plant.values())
        rows.append(
            (
                str(r.period),
                r.site,
                f"{r.energy_joules / _J_PER_KWH:.3f}",
                f"{curtailed_j / _J_PER_KWH:.3f}",
                f"{r.grid_energy_joules / _J_PER_KWH:.3f}",
                str(r.hashes),
                str(r.shares),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    noun = "record" if len(records) == 1 else "records"
    print(f"{len(records)} {noun}")
    return 0


def run_headers(args: argparse.Namespace) -> int:
    """``spillway ledger headers``: period, start, records and hash of each header."""
    headers = _pages(
        args,
        "ListPeriodHeaders",
        lambda first: ledger_pb2.ListPeriodHeadersRequest(
            first_period=first, last_period=args.last_period
        ),
        "headers",
    )
    for h in headers:
        if args.json:
            print(h.header_json)
        else:
            noun = "record" if h.record_count == 1 else "records"
            start = _when(h.period_start_time.seconds)
            print(f"{h.period}  {start}  {h.period_seconds} s  {h.record_count} {noun}  {h.hash}")
    return 0


def run_settle_remote(args: argparse.Namespace) -> int:
    """``spillway ledger settle-remote``: the coordinator's settlement JSON."""
    from service.cli.ledger import _time_s  # here: service.cli.ledger imports this module

    from_s, to_s = _time_s("from", args.from_time), _time_s("to", args.to_time)
    if to_s <= from_s:
        raise ConfigError("to: --to must be after --from")
    reply = _call(
        args,
        "Settle",
        ledger_pb2.SettleRequest(from_time=timestamp(from_s), to_time=timestamp(to_s)),
        ledger_pb2_grpc.LedgerServiceStub,
    )
    print(json.dumps(json.loads(reply.settlement_json), indent=2, sort_keys=True))
    if reply.HasField("next_from_time"):
        # A range past the message limit comes in pages, each a whole settlement.
        print(
            f"spillway: this settles --from {from_s} to {reply.next_from_time.seconds} only"
            " (the range passes the message limit): run again with"
            f" --from {reply.next_from_time.seconds} for the rest",
            file=sys.stderr,
        )
    return 0
