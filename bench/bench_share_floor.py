"""Shares a second one CPU thread finds under a hostile pool's tiny difficulty, before and after.

Before issue 13 the client took ``mining.set_difficulty [1e-300]`` as is: the
share target became 2**256 - 1 and every nonce was a share. Now that value is
refused (the last sane difficulty stays) and even the least difficulty a pool
may set (2**-32, where every hash is still a share) is floored per worker at
``max_worker_shares_per_s`` of its hashrate. This hashes real unit headers with
the CPU kernel at each target the coordinator would hand out (the same
arithmetic as ``PoolBridge.new_job``: ``pool_difficulty`` then ``ShareFloor``)
and counts the shares found; the baseline is the old target, in the same run.

Usage::

    .venv/bin/python bench/bench_share_floor.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import time

import kernels
from service.stratum.client import MIN_POOL_DIFFICULTY, pool_difficulty
from service.stratum.errors import StratumJobError
from service.stratum.vardiff import ShareFloor

HEADER = bytes(range(76)) + bytes(4)  # any header: shares are uniform in the hash space


def shares_per_s(backend: kernels.CpuBackend, target: int, seconds: float) -> tuple[float, float]:
    """(shares/s, hashes/s) hashing ``HEADER`` at ``target`` for about ``seconds``."""
    found = hashed = 0
    batch = 1 << 14 if target > kernels.DIFF1_TARGET << 16 else 1 << 22
    start_s = time.perf_counter()
    nonce = 0
    while time.perf_counter() - start_s < seconds:
        result = backend.scan(HEADER, target, nonce, batch)
        found += len(result.found)
        hashed += batch
        nonce = nonce + batch if nonce + 2 * batch <= 1 << 32 else 0
    elapsed_s = time.perf_counter() - start_s
    return found / elapsed_s, hashed / elapsed_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    backend = kernels.CpuBackend(threads=1)
    try:
        hashrate_hs = kernels.measure_hashrate(backend, seconds=0.5).hashes_per_second
        floor = ShareFloor(2.0)
        old_target = kernels.difficulty_to_target(1e-300)  # what the client used to take
        before, before_hs = shares_per_s(backend, old_target, args.seconds)
        try:
            pool_difficulty(1e-300)
            refused = False
        except StratumJobError:
            refused = True
        kept = 1.0  # the last sane difficulty (the pool's first)
        after_refused, _ = shares_per_s(
            backend,
            min(
                kernels.difficulty_to_target(kept),
                kernels.difficulty_to_target(floor.difficulty("w", hashrate_hs)),
            ),
            args.seconds,
        )
        floored_target = min(
            kernels.difficulty_to_target(MIN_POOL_DIFFICULTY),
            kernels.difficulty_to_target(floor.difficulty("w", hashrate_hs)),
        )
        after_floor, after_hs = shares_per_s(backend, floored_target, args.seconds)
    finally:
        backend.close()
    figures = {
        "bench": "share_floor",
        "hashrate_hs": round(hashrate_hs),
        "before_1e-300_shares_per_s": round(before, 1),
        "before_hashes_per_s": round(before_hs),
        "refused_1e-300": refused,
        "after_1e-300_shares_per_s": round(after_refused, 3),
        "after_min_difficulty_floor_shares_per_s": round(after_floor, 2),
        "after_hashes_per_s": round(after_hs),
        "cap_shares_per_s": floor.max_shares_per_s,
        "ratio_before_over_after": round(before / max(after_floor, 1e-9), 1),
    }
    print(json.dumps(figures))
    print(
        f"1e-300: {before:,.0f} shares/s before, {after_refused:.3f}/s after (refused);"
        f" at difficulty 2**-32: {after_floor:.2f}/s (floor {floor.max_shares_per_s:g}/s)"
    )


if __name__ == "__main__":
    main()
