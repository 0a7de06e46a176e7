"""``spillway hash``: search a header's nonce range, and measure the hashrate.

Other tools call these; the flags and JSON keys are a contract:

* ``hash search --json`` prints ``{"backend", "found": [{"nonce", "hash"}], "hashes", "seconds"}``
  with ``hash`` in display order (byte-reversed, as explorers show it);
* ``hash bench --json`` prints ``{"backend", "threads", "hashes", "seconds", "hashes_per_second"}``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import kernels
from kernels.errors import KernelInputError

__all__ = ["register"]


def _hex_bytes(field: str, text: str) -> bytes:
    try:
        return bytes.fromhex(text.removeprefix("0x"))
    except ValueError as exc:
        raise KernelInputError(field, f"is not hexadecimal: {text!r}") from exc


def _hex_int(field: str, text: str) -> int:
    try:
        return int(text.removeprefix("0x"), 16)
    except ValueError as exc:
        raise KernelInputError(field, f"is not hexadecimal: {text!r}") from exc


def register(commands: Any) -> None:
    """Add ``hash search`` and ``hash bench`` to the ``spillway`` parser."""
    hash_parser = commands.add_parser("hash", help="proof-of-work: search nonces, measure hashrate")
    sub = hash_parser.add_subparsers(dest="hash_command", required=True, metavar="COMMAND")

    search = sub.add_parser("search", help="find every nonce in a range whose hash meets a target")
    search.add_argument("--header", required=True, help="76- or 80-byte header, hex")
    goal = search.add_mutually_exclusive_group(required=True)
    goal.add_argument("--bits", help="target as compact nBits, hex (e.g. 1d00ffff)")
    goal.add_argument("--target", help="target as a 256-bit number, hex (big-endian digits)")
    search.add_argument("--start", type=int, required=True, help="first nonce")
    search.add_argument("--count", type=int, required=True, help="nonces to scan")
    search.add_argument(
        "--backend",
        choices=kernels.BACKENDS,
        default="auto",
        help="where to hash; auto: CUDA when a GPU is usable, else the C kernel",
    )
    search.add_argument(
        "--threads", type=int, default=None, help="CPU threads (default: all cores)"
    )
    search.add_argument("--json", action="store_true", help="print one JSON object")
    search.set_defaults(run=run_search)

    bench = sub.add_parser("bench", help="measure the hashrate")
    bench.add_argument(
        "--backend",
        choices=kernels.BACKENDS,
        default="auto",
        help="where to hash; auto: CUDA when a GPU is usable, else the C kernel",
    )
    bench.add_argument("--seconds", type=float, default=5.0, help="how long to hash")
    bench.add_argument("--threads", type=int, default=None, help="CPU threads (default: all cores)")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.set_defaults(run=run_bench)


def run_search(args: argparse.Namespace) -> int:
    """``spillway hash search``."""
    header = _hex_bytes("header", args.header)
    if args.bits is not None:
        target = kernels.bits_to_target(_hex_int("bits", args.bits))
    else:
        target = _hex_int("target", args.target)
    result = kernels.search(
        header, target, args.start, args.count, backend=args.backend, threads=args.threads
    )
    if args.json:
        print(
            json.dumps(
                {
                    "backend": result.backend,
                    "found": [{"nonce": hit.nonce, "hash": hit.hash_hex} for hit in result.found],
                    "hashes": result.hashes,
                    "seconds": round(result.seconds, 6),
                }
            )
        )
    else:
        for hit in result.found:
            print(f"{hit.nonce} {hit.hash_hex}")
        rate_mhs = result.hashes / result.seconds / 1e6 if result.seconds > 0 else 0.0
        print(
            f"# {len(result.found)} found in {result.hashes} nonces,"
            f" {result.seconds:.3f} s, {rate_mhs:.1f} MH/s on {result.backend}"
        )
    return 0


def run_bench(args: argparse.Namespace) -> int:
    """``spillway hash bench``."""
    rate = kernels.measure_hashrate(args.backend, seconds=args.seconds, threads=args.threads)
    if args.json:
        print(
            json.dumps(
                {
                    "backend": rate.backend,
                    "threads": rate.threads,
                    "hashes": rate.hashes,
                    "seconds": round(rate.seconds, 6),
                    "hashes_per_second": round(rate.hashes_per_second, 1),
                }
            )
        )
    else:
        print(
            f"{rate.hashes_per_second / 1e6:.2f} MH/s on {rate.backend}"
            f" ({rate.threads} thread{'' if rate.threads == 1 else 's'}, {rate.hashes} hashes"
            f" in {rate.seconds:.2f} s)"
        )
    return 0
