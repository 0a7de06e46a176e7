"""GPU benchmark: correctness against the CPU build, then GH/s by CUDA events, in one run.

Meant for one call on a GPU machine (it needs CuPy and the package built
there, e.g. ``python3 setup.py build_ext --inplace``):

    python3 bench/bench_gpu.py [--repeats 5] [--launch-nonces 4294967295]

1. Checks: every real mainnet header (tests/data) over a 2**16 window around
   its nonce, and random headers with easy targets at both ends of the nonce
   space; the GPU must find exactly what the CPU build finds.
2. Timing: a warm-up scan, then ``--repeats`` scans of ``--launch-nonces``
   (default the whole nonce space: 0.5 s or more at 7 GH/s) timed by CUDA
   events around each launch; the median is reported, per GPU and for all
   GPUs together. The CPU build's hashrate is measured in the same run as the
   baseline of the ratio.
3. The ceiling: instructions per nonce from ``bench/sass_count.py`` (if nvcc
   and cuobjdump are there) and the issue's 75 instructions per SM per clock.

Prints one JSON line, then a table.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

import kernels
from kernels.cuda import CudaBackend, cuda_device_count

ROOT = Path(__file__).resolve().parent.parent
HEADERS_CSV = ROOT / "tests" / "data" / "bitcoin" / "mainnet_headers.csv"
INSTRUCTIONS_PER_SM_CLOCK = 75  # what the best public SHA-256 kernels sustain on Hopper


def check_against_cpu(gpu: CudaBackend, cpu: kernels.CpuBackend) -> dict[str, int]:
    """Real headers and random easy targets: GPU and CPU build must agree exactly."""
    mismatches, checked = 0, 0
    with HEADERS_CSV.open(newline="") as handle:
        for row in csv.DictReader(handle):
            header = bytes.fromhex(row["header_hex"])
            nonce = int.from_bytes(header[76:], "little")
            target = kernels.bits_to_target(int(row["nbits"], 16))
            start = min(max(0, nonce - (1 << 15)), kernels.MAX_NONCE + 1 - (1 << 16))
            got = [hit.nonce for hit in gpu.scan(header, target, start, 1 << 16).found]
            mismatches += nonce not in got
            checked += 1
    rng = random.Random(7)
    for shift in (247, 250, 252, 255):
        for start in (0, kernels.MAX_NONCE + 1 - 100_000, rng.randrange(2**31)):
            prefix = rng.randbytes(76)
            gpu_found = gpu.scan(prefix, 1 << shift, start, 100_000).found
            cpu_found = cpu.scan(prefix, 1 << shift, start, 100_000).found
            mismatches += gpu_found != cpu_found
            checked += 1
    return {"checked": checked, "mismatches": mismatches}


def timed_rate(gpu: CudaBackend, nonces: int, repeats: int) -> float:
    """Median hashes per second of ``repeats`` scans by CUDA events (after a warm-up)."""
    header = bytes(76)
    target = kernels.DIFF1_TARGET >> 32  # early-reject scan, as for any real share
    gpu.scan(header, target, 0, min(nonces, 1 << 28))
    rates = []
    for _ in range(repeats):
        gpu.scan(header, target, 0, nonces)
        rates.append(nonces / gpu.last_kernel_s)
    return statistics.median(rates)


def sass_instructions() -> int | None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sass_count.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        return None
    record = json.loads(run.stdout.splitlines()[0])
    count: int = record["kernels"]["sha256d_scan_early"]["instructions_per_nonce"]
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--launch-nonces", type=int, default=kernels.MAX_NONCE)
    args = parser.parse_args()
    count = cuda_device_count()
    if count == 0:
        raise SystemExit("no GPU: CuPy sees none")

    import cupy

    cpu = kernels.CpuBackend()
    cpu_hs = kernels.measure_hashrate(cpu, seconds=3).hashes_per_second
    per_gpu = []
    for ordinal in range(count):
        with CudaBackend([ordinal]) as gpu:
            checks = check_against_cpu(gpu, cpu)
            rate = timed_rate(gpu, args.launch_nonces, args.repeats)
            props = cupy.cuda.runtime.getDeviceProperties(ordinal)
            per_gpu.append(
                {
                    "device": ordinal,
                    "name": props["name"].decode(),
                    "sms": props["multiProcessorCount"],
                    "clock_mhz": props["clockRate"] / 1e3,
                    "hashes_per_second": round(rate),
                    "registers": gpu._gpus[0].early.num_regs,
                    **checks,
                }
            )
    with CudaBackend() as all_gpus:
        all_hs = timed_rate(all_gpus, args.launch_nonces, args.repeats)
    instructions = sass_instructions()
    first = per_gpu[0]
    ceiling_hs = (
        first["sms"] * first["clock_mhz"] * 1e6 * INSTRUCTIONS_PER_SM_CLOCK / instructions
        if instructions
        else None
    )
    record = {
        "bench": "kernels.gpu",
        "driver": cupy.cuda.runtime.driverGetVersion(),
        "gpus": per_gpu,
        "all_gpus_hashes_per_second": round(all_hs),
        "cpu_hashes_per_second": round(cpu_hs),
        "ratio_gpu_vs_cpu": round(first["hashes_per_second"] / cpu_hs, 1),
        "instructions_per_nonce": instructions,
        "ceiling_hashes_per_second": round(ceiling_hs) if ceiling_hs else None,
    }
    print(json.dumps(record))
    print(f"{'gpu':>4} {'name':<24} {'GH/s':>7} {'regs':>5} {'checked':>8} {'bad':>4}")
    for gpu_row in per_gpu:
        print(
            f"{gpu_row['device']:>4} {gpu_row['name'][:24]:<24}"
            f" {gpu_row['hashes_per_second'] / 1e9:>7.2f} {gpu_row['registers']:>5}"
            f" {gpu_row['checked']:>8} {gpu_row['mismatches']:>4}"
        )
    ceiling = (
        f", ceiling {ceiling_hs / 1e9:.2f} GH/s at {instructions} instr/nonce" if ceiling_hs else ""
    )
    print(f" all {count} GPUs: {all_hs / 1e9:.2f} GH/s; CPU build {cpu_hs / 1e6:.1f} MH/s{ceiling}")
    cpu.close()


if __name__ == "__main__":
    main()
