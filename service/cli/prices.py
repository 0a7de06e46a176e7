"""``spillway prices push``: send a price feed CSV to the coordinator's price rule.

Columns ``site`` or ``bus``, ``start`` (ISO 8601, UTC without an offset, or epoch
seconds), ``duration_s``, ``price_per_mwh``; one row per interval. The file is read
by ``service.signals.price_feed`` (every row checked before anything is sent); the
coordinator checks the rest (known sites, ranges) and takes all rows or none. A bad
file or a refused call prints one line naming the file, row and field; exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import grpc

from service.cli.common import add_client_flags, client_channel, read_token, tls_files
from service.errors import ConfigError
from service.signals.errors import BadSignalInputError

__all__ = ["register"]

_FIELD_RE = re.compile(r"prices\[(\d+)\]\.(\w+)")
# The message's field names as the CSV calls them.
_COLUMNS = {"start_time": "start", "duration": "duration_s"}


def register(commands: Any) -> None:
    """Add ``prices push`` to the ``spillway`` parser."""
    prices = commands.add_parser("prices", help="energy prices for the price rule")
    sub = prices.add_subparsers(dest="prices_command", required=True, metavar="COMMAND")
    push = sub.add_parser(
        "push", help="send a price CSV: site or bus, start, duration_s, price_per_mwh"
    )
    add_client_flags(push)
    push.add_argument(
        "file",
        metavar="FILE.csv",
        help="columns site or bus, start (ISO 8601 or epoch seconds), duration_s,"
        " price_per_mwh; one row per interval",
    )
    push.set_defaults(run=run_push)


def locate(details: str, file: str) -> str:
    """The server's field paths (``prices[2].duration``) as file, row (header = 1), field."""

    def where(m: re.Match[str]) -> str:
        field = _COLUMNS.get(m.group(2), m.group(2))
        return f"{file}, row {int(m.group(1)) + 2}, field {field!r}"

    return _FIELD_RE.sub(where, details)


def run_push(args: argparse.Namespace) -> int:
    """``spillway prices push``."""
    from service.rpc.planner_client import push_prices
    from service.signals.price_feed import read_price_feed

    try:
        points = read_price_feed(Path(args.file))
        token = read_token(args.auth_token_file)
        tls = tls_files(args.tls_cert, args.tls_key, args.tls_ca)
    except (BadSignalInputError, ConfigError) as exc:
        print(f"spillway: error: {exc}", file=sys.stderr)
        return 2
    metadata = (("authorization", f"Bearer {token}"),) if token else ()

    async def go() -> Any:
        async with client_channel(args.coordinator, tls) as channel:
            return await push_prices(channel, points, metadata=metadata)

    try:
        reply = asyncio.run(go())
    except grpc.aio.AioRpcError as exc:
        details = (exc.details() or "").replace("\n", " ")
        if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
            details = locate(details, Path(args.file).name)
        print(f"spillway: {exc.code().name}: {details}", file=sys.stderr)
        return 2
    reach = ""
    if reply.HasField("reach_time"):
        reach = f"; prices reach {reply.reach_time.ToDatetime():%Y-%m-%d %H:%M:%S}Z"
    print(f"{reply.points_accepted} prices stored{reach}")
    return 0
