"""Benchmark: the compiled CPU fallback against a plain-hashlib midstate loop, same run.

Prints one JSON line, then a one-line summary. The baseline runs in the same
process just before, so the ratio holds on a shared, noisy machine where the
absolute figures do not.

    python bench/bench_kernels.py [--seconds S]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import struct
import time

import kernels

HEADER = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000"
    "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
    "4b1e5e4a29ab5f49ffff001d"
)


def hashlib_midstate_rate(seconds: float) -> float:
    """Hashes per second of the best plain-Python loop we know: the first 76 bytes
    hashed once, the hash object copied per nonce, then the second hash."""
    prefix_state = hashlib.sha256(HEADER)
    copy_state = prefix_state.copy
    sha256 = hashlib.sha256
    pack_nonce = struct.Struct("<I").pack
    nonce, hashes = 0, 0
    start_s = time.perf_counter()
    deadline = start_s + seconds
    while time.perf_counter() < deadline:
        for _ in range(20_000):
            inner = copy_state()
            inner.update(pack_nonce(nonce))
            sha256(inner.digest()).digest()
            nonce += 1
        hashes += 20_000
    return hashes / (time.perf_counter() - start_s)


def compiled_rate(path: str, threads: int, seconds: float) -> float:
    with kernels.CpuBackend(threads=threads, path=path) as device:
        return kernels.measure_hashrate(device, seconds=seconds).hashes_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    args = parser.parse_args()

    cores = kernels.default_threads()
    baseline_hs = hashlib_midstate_rate(args.seconds)
    per_path_hs = {path: compiled_rate(path, 1, args.seconds) for path in kernels.cpu_paths()}
    auto_path = kernels.fastest_cpu_path()
    all_cores_hs = compiled_rate(auto_path, cores, args.seconds)
    best_single_hs = max(per_path_hs.values())
    record = {
        "bench": "kernels.cpu",
        "machine": f"{platform.machine()} {cores} cores",
        "python": platform.python_version(),
        "baseline_hashlib_midstate_hs_1thread": round(baseline_hs),
        "compiled_hs_1thread": {path: round(rate) for path, rate in per_path_hs.items()},
        "auto_path": auto_path,
        "compiled_hs_all_cores": round(all_cores_hs),
        "threads_all_cores": cores,
        "ratio_1thread_vs_hashlib": round(best_single_hs / baseline_hs, 2),
        "ratio_all_cores_vs_hashlib_1thread": round(all_cores_hs / baseline_hs, 2),
        "cpu_count_os": os.cpu_count(),
    }
    print(json.dumps(record))
    print(
        f"CPU fallback: {best_single_hs / 1e6:.1f} MH/s on one thread ({auto_path}),"
        f" {all_cores_hs / 1e6:.1f} MH/s on {cores} threads;"
        f" hashlib midstate loop {baseline_hs / 1e6:.2f} MH/s:"
        f" ratio {best_single_hs / baseline_hs:.1f}x"
    )


if __name__ == "__main__":
    main()
