"""``spillway stratum``: Stratum v1 tools for operators debugging a pool.

``stratum header --notify JSON --extranonce1 HEX --extranonce2 HEX [--ntime HEX] [--nonce HEX]``
prints the 80-byte header in hex; with ``--nonce``, also its hash (display
order) and the share difficulty it reaches.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import kernels
from service.stratum import StratumJob, StratumJobError, build_header

__all__ = ["register"]


def _hex_bytes(field: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise StratumJobError(field, f"is not hexadecimal: {text!r}") from None


def _hex_u32(field: str, text: str) -> int:
    raw = _hex_bytes(field, text)
    if len(raw) != 4:
        raise StratumJobError(field, f"must be 4 bytes (8 hex digits), got {len(raw)}")
    return int.from_bytes(raw, "big")


def register(commands: Any) -> None:
    """Add ``stratum header`` to the ``spillway`` parser."""
    stratum = commands.add_parser("stratum", help="Stratum v1 tools")
    sub = stratum.add_subparsers(dest="stratum_command", required=True, metavar="COMMAND")
    header = sub.add_parser("header", help="build the 80-byte header of a mining.notify job")
    header.add_argument(
        "--notify",
        required=True,
        help="the mining.notify message, its params list, or @FILE holding either (JSON)",
    )
    header.add_argument("--extranonce1", required=True, help="from mining.subscribe, hex")
    header.add_argument("--extranonce2", required=True, help="the miner's extranonce2, hex")
    header.add_argument("--ntime", help="ntime as submitted, hex (default: the job's)")
    header.add_argument("--nonce", help="nonce as submitted, hex: also print the hash")
    header.add_argument("--version", help="rolled version as submitted, hex (default: the job's)")
    header.set_defaults(run=run_header)


def run_header(args: argparse.Namespace) -> int:
    """``spillway stratum header``."""
    notify_text = args.notify
    if notify_text.startswith("@"):
        notify_text = Path(notify_text[1:]).read_text("utf-8")
    job = StratumJob.from_notify(notify_text)
    nonce = _hex_u32("nonce", args.nonce) if args.nonce is not None else 0
    header = build_header(
        job,
        _hex_bytes("extranonce1", args.extranonce1),
        _hex_bytes("extranonce2", args.extranonce2),
        ntime=_hex_u32("ntime", args.ntime) if args.ntime is not None else None,
        version=_hex_u32("version", args.version) if args.version is not None else None,
        nonce=nonce,
    )
    print(header.hex())
    if args.nonce is not None:
        digest = kernels.block_hash(header)
        print(f"hash {kernels.display_hash(digest)}")
        print(f"difficulty {kernels.hash_difficulty(digest):.6g}")
    return 0
