"""``spillway ledger list|headers|watch|settle-remote --coordinator HOST:PORT``: gRPC readers.

Read-only clients of the coordinator's ``LedgerService`` (the same figures the
local ``ledger export``, ``proof`` and ``settle`` give from a data directory, for
an operator who has no access to it). Long answers come in pages; these commands
follow ``next_period`` (``Settle``: ``next_from_time``) until the range is complete.
``ledger proof`` without a data directory fetches its proof here and checks it
with ``verify_proof``, the code ``ledger verify-proof`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from datetime import UTC, datetime
from typing import Any

from service.cli.common import add_client_flags, client_channel, env, read_token, tls_files
from service.cli.operator import _call, _guard
from service.errors import ConfigError
from service.ledger import LedgerInputError, LedgerIntegrityError, merge_pages, verify_proof
from service.rpc.convert import timestamp
from spillway.v1 import ledger_pb2, ledger_pb2_grpc

__all__ = ["register", "register_remote_proof", "run_proof_remote"]

_J_PER_KWH = 3.6e6


def time_s(field: str, text: str) -> int:
    """A ``--from``/``--to`` time: Unix seconds or ISO 8601 (UTC when no offset is given)."""
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

    watch = sub.add_parser(
        "watch",
        help="print each period header as the coordinator closes it, until Ctrl-C or SIGTERM"
        " (exit 0; 1 when the coordinator ends the stream, as it does when it stops)",
    )
    add_client_flags(watch)
    watch.add_argument(
        "--after-period",
        type=int,
        default=0,
        metavar="P",
        help="first print the headers already closed after period number P (Unix start"
        " time // period seconds); 0: only periods closed from now on",
    )
    watch.add_argument("--json", action="store_true", help="one header's JSON per line")
    watch.set_defaults(run=_guard(run_watch))

    settle = sub.add_parser(
        "settle-remote",
        help="settle a time span on the coordinator over gRPC; prints what `spillway settle`"
        " prints. A span past the message limit is fetched page by page: the statements"
        " are summed over the whole span and `pages` holds each page's settlement with its"
        " signed certificates (`ledger verify-certificate` checks them all)",
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


def _header_line(h: ledger_pb2.PeriodHeader, as_json: bool) -> str:
    """A header as ``ledger headers`` and ``ledger watch`` print it."""
    if as_json:
        return h.header_json
    noun = "record" if h.record_count == 1 else "records"
    start = _when(h.period_start_time.seconds)
    return f"{h.period}  {start}  {h.period_seconds} s  {h.record_count} {noun}  {h.hash}"


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
        print(_header_line(h, args.json))
    return 0


def run_watch(args: argparse.Namespace) -> int:
    """``spillway ledger watch``: headers as they close; a signal ends it with 0."""
    if args.after_period < 0:
        raise ConfigError(f"after-period: must be 0 or more, got {args.after_period}")
    return asyncio.run(_watch(args))


async def _watch(args: argparse.Namespace) -> int:
    token = read_token(args.auth_token_file)
    tls = tls_files(args.tls_cert, args.tls_key, args.tls_ca)
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with client_channel(args.coordinator, tls) as channel:
        call = ledger_pb2_grpc.LedgerServiceStub(channel).WatchPeriodHeaders(
            ledger_pb2.WatchPeriodHeadersRequest(after_period=args.after_period),
            metadata=metadata,
        )
        print(f"spillway: watching {args.coordinator} (Ctrl-C ends)", file=sys.stderr, flush=True)
        reader = asyncio.ensure_future(_print_stream(call, args.json))
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            call.cancel()
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            return 0
        stopper.cancel()
        reader.result()  # a refused or broken stream: raised for _guard to print
    print("spillway: the coordinator ended the stream (it is stopping)", file=sys.stderr)
    return 1


async def _print_stream(call: Any, as_json: bool) -> None:
    async for reply in call:
        # Flushed per line: a watcher is read through a pipe as headers close.
        print(_header_line(reply.header, as_json), flush=True)


def register_remote_proof(proof: argparse.ArgumentParser) -> None:
    """``ledger proof``'s connection flags; ``--coordinator`` only counts without DATA_DIR."""
    add_client_flags(proof)
    proof.add_argument(
        "--public-key",
        help="with --coordinator: the coordinator's key to trust (hex); default: the proof's",
    )
    # No default here: DATA_DIR or --coordinator (else SPILLWAY_COORDINATOR, 127.0.0.1:50051).
    proof.set_defaults(coordinator=None)
    for action in proof._actions:
        if action.dest == "coordinator":
            action.help = (
                "HOST:PORT of the coordinator's gRPC API, asked when no DATA_DIR is given"
                " (default: SPILLWAY_COORDINATOR, else 127.0.0.1:50051)"
            )


def run_proof_remote(args: argparse.Namespace) -> int:
    """``ledger proof`` without DATA_DIR: fetch, check as ``verify-proof`` does, print."""
    args.coordinator = args.coordinator or env("COORDINATOR", "127.0.0.1:50051")
    return int(_guard(_proof_remote)(args))


def _proof_remote(args: argparse.Namespace) -> int:
    if not 0 <= args.period <= 2**62:
        raise ConfigError(f"period: must be 0-{2**62}, got {args.period}")
    reply = _call(
        args,
        "GetInclusionProof",
        ledger_pb2.GetInclusionProofRequest(site=args.site, period=args.period),
        ledger_pb2_grpc.LedgerServiceStub,
    )
    proof = json.loads(reply.proof_json)
    try:
        verify_proof(proof, args.public_key)
    except LedgerIntegrityError as exc:
        print(f"bad: the coordinator's proof does not check: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(proof, indent=2, sort_keys=True))
    return 0


def run_settle_remote(args: argparse.Namespace) -> int:
    """``spillway ledger settle-remote``: the coordinator's settlement JSON, every page."""

    from_s, to_s = time_s("from", args.from_time), time_s("to", args.to_time)
    if to_s <= from_s:
        raise ConfigError("to: --to must be after --from")
    pages: list[dict[str, Any]] = []
    page_from_s = from_s
    while True:
        reply = _call(
            args,
            "Settle",
            ledger_pb2.SettleRequest(from_time=timestamp(page_from_s), to_time=timestamp(to_s)),
            ledger_pb2_grpc.LedgerServiceStub,
        )
        pages.append(json.loads(reply.settlement_json))
        if not reply.HasField("next_from_time"):
            break
        # A range past the message limit comes in pages, each a whole settlement.
        if reply.next_from_time.seconds <= page_from_s:
            raise ConfigError(
                f"to: the coordinator's next page does not move on from {page_from_s}"
            )
        page_from_s = reply.next_from_time.seconds
    settlement = pages[0] if len(pages) == 1 else merge_pages(pages)
    print(json.dumps(settlement, indent=2, sort_keys=True))
    return 0
