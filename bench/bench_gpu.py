"""GPU benchmark: agreement with the CPU build, GH/s by CUDA events, and NVML power, in one run.

Meant for one call on a GPU machine (CuPy, the package's C extension built there,
``python3 setup.py build_ext --inplace``; bench/device_check.sh does it all):

    python3 bench/bench_gpu.py [--parts checks,speed,power] [--out DIR] [--repeats 5]
    python3 bench/bench_gpu.py --profile-once   # one launch, for ncu

1. checks: every real mainnet header (tests/data) over a 2**16 window around its
   nonce, and random headers with easy targets at both ends of the nonce space:
   GPU and CPU build must report exactly the same nonces (none missed, none invented).
2. speed: one warm-up launch, then ``--repeats`` single launches of 2**32 - 2**21
   nonces each (over 0.5 s at 8 GH/s), timed by CUDA events around the launch; the
   median per GPU, and all GPUs at once (each its own stream and nonce range). The
   CPU build is measured in the same run as the baseline of the ratio. The ceiling:
   hot-path SASS instructions per nonce (bench/sass_count.py, if nvcc and cuobjdump
   are there) at 75 instructions per SM per clock.
3. power (NVML, kernels.power): idle power, power and J/GH at full speed, then a
   budget of half the full power held for 60 s by duty-cycling launches, the
   joules-per-hash corrected from the measured energy each second; passes when the
   NVML-measured mean is within 5 % of the budget. Clocks, power limits,
   persistence and compute mode are never touched.

Prints one JSON line, then a table; with ``--out`` also writes ``gpu_bench.json``
and the power trace ``power_trace.csv`` there. Exits 1 if a check fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import kernels
from kernels.backend import prepare_job, use_full_compare
from kernels.cuda import CudaBackend, cuda_device_count
from kernels.power import EnergyMeter, JoulesPerHashCorrection, NvmlPower

ROOT = Path(__file__).resolve().parent.parent
HEADERS_CSV = ROOT / "tests" / "data" / "bitcoin" / "mainnet_headers.csv"
INSTRUCTIONS_PER_SM_CLOCK = 75  # what the best public SHA-256 kernels sustain on Hopper
# One timed launch: the whole nonce space less 2**21, so that the kernel's 32-bit
# grid-stride index (stride = SMs x 8 x 256, under 2**21 up to 1024 SMs) never wraps.
TIMED_LAUNCH_NONCES = (1 << 32) - (1 << 21)
# A real prefix (the genesis block's), never zeros; target of difficulty 2**32:
# limb 7 = 0, so the early-reject scan runs, as for every real share.
BENCH_PREFIX = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000"
    "000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa"
    "4b1e5e4a29ab5f49ffff001d"
)
BENCH_TARGET = kernels.DIFF1_TARGET >> 32
POWER_TOLERANCE = 0.05
BUDGET_FRACTION = 0.5


def check_against_cpu(gpu: CudaBackend, cpu: kernels.CpuBackend) -> dict[str, Any]:
    """Real headers and random easy targets: the GPU and CPU builds report the same nonces."""
    failures: list[str] = []
    checked = 0
    with HEADERS_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        header = bytes.fromhex(row["header_hex"])
        nonce = int.from_bytes(header[76:], "little")
        target = kernels.bits_to_target(int(row["nbits"], 16))
        start = min(max(0, nonce - (1 << 15)), kernels.MAX_NONCE + 1 - (1 << 16))
        got = [hit.nonce for hit in gpu.scan(header, target, start, 1 << 16).found]
        want = [hit.nonce for hit in cpu.scan(header, target, start, 1 << 16).found]
        if got != want or nonce not in got:
            failures.append(f"height {row['height']}: gpu {got}, cpu {want}, real {nonce}")
        checked += 1
    rng = random.Random(7)
    count = 200_000
    # 2**236 and 2**239 run the early scan (limb 7 under 2**16) with a few candidates;
    # from 2**240 on, the full 256-bit compare.
    for shift in (236, 239, 240, 245, 250, 255):
        for start in (0, kernels.MAX_NONCE + 1 - count, rng.randrange(2**31)):
            prefix = rng.randbytes(76)
            got = [hit.nonce for hit in gpu.scan(prefix, 1 << shift, start, count).found]
            want = [hit.nonce for hit in cpu.scan(prefix, 1 << shift, start, count).found]
            if got != want:
                failures.append(f"random 2**{shift} from {start}: gpu {len(got)}, cpu {len(want)}")
            checked += 1
    return {"checked": checked, "real_headers": len(rows), "failures": failures}


def timed_launches(gpus: CudaBackend, repeats: int) -> dict[str, Any]:
    """Median hashes/s of single launches timed by CUDA events, warm-up excluded."""
    import numpy as np

    job = np.frombuffer(prepare_job(BENCH_PREFIX, BENCH_TARGET), dtype=np.uint32)
    full = use_full_compare(BENCH_TARGET)
    devices = gpus._gpus
    per_launch = TIMED_LAUNCH_NONCES // len(devices)
    for gpu in devices:
        assert gpu.grid[0] * 256 < (1 << 21), "grid stride would wrap the 32-bit index"
    for gpu in devices:  # warm-up: module load and first launch stay out of the figures
        gpu.launch(job, full, 0, 1 << 26)
    for gpu in devices:
        gpu.collect()
    rates, seconds = [], []
    for _ in range(repeats):
        for index, gpu in enumerate(devices):
            gpu.launch(job, full, index * per_launch, per_launch)
        for gpu in devices:
            gpu.collect()
        slowest_s = max(gpu.kernel_s for gpu in devices)
        seconds.append(slowest_s)
        rates.append(per_launch * len(devices) / slowest_s)
    return {
        "hashes_per_second": statistics.median(rates),
        "launch_nonces": per_launch,
        "launch_s": statistics.median(seconds),
        "spread": (max(rates) - min(rates)) / statistics.median(rates),
        "repeats": repeats,
    }


def scan_rate(gpus: CudaBackend) -> float:
    """The rate a worker sees: CudaBackend.scan over the whole nonce space, by wall clock."""
    result = gpus.scan(BENCH_PREFIX, BENCH_TARGET, 0, kernels.MAX_NONCE + 1)
    return result.count / result.seconds


def sass_record() -> dict[str, Any] | None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sass_count.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        return None
    record: dict[str, Any] = json.loads(run.stdout.splitlines()[0])["kernels"]
    return record


def power_check(gpus: CudaBackend, full_rate_hs: float, trace_path: Path | None) -> dict[str, Any]:
    """Idle and full power, J/GH, and a half-power budget held by duty-cycling, all by NVML."""
    import numpy as np

    power = NvmlPower(gpus.pci_bus_ids)
    trace: list[tuple[float, str, float, float, int]] = []
    hashes_done = 0

    def read() -> Any:
        readings = power.read()
        for r in readings:
            trace.append((r.time_s, phase, r.power_w, r.energy_j or float("nan"), hashes_done))
        return readings

    job = np.frombuffer(prepare_job(BENCH_PREFIX, BENCH_TARGET), dtype=np.uint32)
    full = use_full_compare(BENCH_TARGET)
    devices = gpus._gpus
    nonce = 0

    def run_nonces(count: int) -> int:
        """Hash ``count`` nonces spread over every GPU (blocking); returns the count."""
        nonlocal nonce
        if nonce + count > kernels.MAX_NONCE + 1 - (1 << 21):
            nonce = 0
        share = max(1, count // len(devices))
        for index, gpu in enumerate(devices):
            gpu.launch(job, full, nonce + index * share, share)
        for gpu in devices:
            gpu.collect()
        nonce += share * len(devices)
        return share * len(devices)

    try:
        phase = "idle"
        time.sleep(1.0)
        meter = EnergyMeter(read)
        for _ in range(50):
            time.sleep(0.1)
            meter.sample()
        idle = meter.take()

        phase = "full"
        launch = 1 << 29  # ~75 ms at 7 GH/s: short enough to sample the counter between
        ramp_end = time.monotonic() + 2.0
        while time.monotonic() < ramp_end:  # clocks and power settle first
            hashes_done += run_nonces(launch)
            meter.sample()
        meter.take()
        start_hashes = hashes_done
        end_s = time.monotonic() + 8.0
        while time.monotonic() < end_s:
            hashes_done += run_nonces(launch)
            meter.sample()
        full_window = meter.take()
        full_hs = (hashes_done - start_hashes) / full_window.seconds
        full_w = full_window.mean_power_w

        phase = "budget"
        budget_w = BUDGET_FRACTION * full_w
        correction = JoulesPerHashCorrection(model_j_per_hash=full_w / full_hs)
        estimate = correction.model_j_per_hash
        tick_s, update_s = 0.1, 1.0
        windows: list[dict[str, float]] = []
        measure_from = time.monotonic() + 10.0  # let the correction settle first
        measure_to = measure_from + 60.0
        window_hashes = 0
        next_update = time.monotonic() + update_s
        measured_energy_j, measured_s, measured_hashes = 0.0, 0.0, 0
        while time.monotonic() < measure_to:
            tick_end = time.monotonic() + tick_s
            nonces = int(budget_w * tick_s / estimate)
            if nonces > 0:
                done = run_nonces(min(nonces, int(full_hs * tick_s)))
                hashes_done += done
                window_hashes += done
            meter.sample()
            time.sleep(max(0.0, tick_end - time.monotonic()))
            if time.monotonic() >= next_update:
                window = meter.take()
                estimate = correction.update(estimate, window, window_hashes)
                in_measure = time.monotonic() >= measure_from + window.seconds
                if in_measure:
                    measured_energy_j += window.energy_j
                    measured_s += window.seconds
                    measured_hashes += window_hashes
                windows.append(
                    {
                        "power_w": window.mean_power_w,
                        "j_per_hash": estimate,
                        "measured": float(in_measure),
                    }
                )
                window_hashes = 0
                next_update += update_s
        held_w = measured_energy_j / measured_s if measured_s > 0 else 0.0
    finally:
        power.close()
    if trace_path is not None:
        with trace_path.open("w", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["time_s", "phase", "power_w", "energy_j", "hashes"])
            out.writerows(trace)
    return {
        "source": full_window.source,
        "idle_w": idle.mean_power_w,
        "full_w": full_w,
        "full_hashes_per_second": full_hs,
        "j_per_gh": full_w / (full_hs / 1e9),
        "j_per_gh_above_idle": (full_w - idle.mean_power_w) / (full_hs / 1e9),
        "budget_w": budget_w,
        "held_w": held_w,
        "held_over_s": measured_s,
        "held_error": held_w / budget_w - 1 if budget_w > 0 else None,
        "held_within_5pct": abs(held_w / budget_w - 1) <= POWER_TOLERANCE if budget_w else False,
        "hashes_per_second_at_budget": measured_hashes / measured_s if measured_s else 0.0,
        "j_per_hash_settled": estimate,
        "windows": windows,
        "speed_from_events_hs": full_rate_hs,
    }


def device_info(cupy: Any, ordinal: int) -> dict[str, Any]:
    props = cupy.cuda.runtime.getDeviceProperties(ordinal)
    name = props["name"]
    return {
        "device": ordinal,
        "name": name.decode() if isinstance(name, bytes) else str(name),
        "sms": props["multiProcessorCount"],
        "clock_mhz": props["clockRate"] / 1e3,
        "cc": f"{props['major']}.{props['minor']}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="checks,speed,power")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--profile-once", action="store_true", help="one 2**28 launch, for ncu")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    count = cuda_device_count()
    if count == 0:
        print(json.dumps({"bench": "kernels.gpu", "skipped": "no GPU: CuPy sees none"}))
        print("no GPU: CuPy sees none; nothing measured")
        return

    import cupy

    if args.profile_once:
        with CudaBackend([0]) as gpu:
            gpu.scan(BENCH_PREFIX, BENCH_TARGET, 0, 1 << 28)
        return

    ok = True
    record: dict[str, Any] = {
        "bench": "kernels.gpu",
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "driver": cupy.cuda.runtime.driverGetVersion(),
        "runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "nvrtc": ".".join(map(str, cupy.cuda.nvrtc.getVersion())),
        "cupy": cupy.__version__,
        "gpus": [device_info(cupy, i) for i in range(count)],
    }
    cpu = kernels.CpuBackend()
    with CudaBackend() as all_gpus:
        record["registers"] = all_gpus._gpus[0].early.num_regs
        if "checks" in parts:
            per_gpu = []
            for ordinal in range(count):
                with CudaBackend([ordinal]) as gpu:
                    per_gpu.append(check_against_cpu(gpu, cpu))
            record["checks"] = per_gpu
            ok &= all(not c["failures"] for c in per_gpu)
        if "speed" in parts:
            record["cpu_hashes_per_second"] = kernels.measure_hashrate(
                cpu, seconds=3
            ).hashes_per_second
            speed = []
            for ordinal in range(count):
                with CudaBackend([ordinal]) as gpu:
                    speed.append(timed_launches(gpu, args.repeats))
            record["speed"] = speed
            record["all_gpus"] = timed_launches(all_gpus, args.repeats)
            record["scan_wall_hashes_per_second"] = scan_rate(all_gpus)
            sass = sass_record()
            record["sass"] = sass
            first = record["gpus"][0]
            hot = sass["sha256d_scan_early"]["hot_path"] if sass else None
            record["ceiling_hashes_per_second"] = (
                first["sms"] * first["clock_mhz"] * 1e6 * INSTRUCTIONS_PER_SM_CLOCK / hot
                if hot
                else None
            )
            record["ratio_gpu_vs_cpu"] = (
                speed[0]["hashes_per_second"] / record["cpu_hashes_per_second"]
            )
        if "power" in parts:
            full_hs = record["all_gpus"]["hashes_per_second"] if "all_gpus" in record else 0.0
            trace = args.out / "power_trace.csv" if args.out else None
            try:
                record["power"] = power_check(all_gpus, full_hs, trace)
                ok &= bool(record["power"]["held_within_5pct"])
            except kernels.PowerUnavailableError as exc:
                record["power"] = {"unavailable": str(exc)}
                ok = False
    cpu.close()
    record["ok"] = ok
    line = json.dumps(record)
    print(line)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "gpu_bench.json").write_text(line + "\n")
    print_table(record)
    if not ok:
        sys.exit(1)


def print_table(record: dict[str, Any]) -> None:
    heads = ("gpu", "name", "GH/s", "launch s", "spread", "checked", "bad")
    print("{:>4} {:<22} {:>7} {:>9} {:>7} {:>8} {:>4}".format(*heads))
    for i, info in enumerate(record["gpus"]):
        speed = record.get("speed", [{}] * len(record["gpus"]))[i]
        checks = record.get("checks", [{}] * len(record["gpus"]))[i]
        print(
            f"{i:>4} {info['name'][:22]:<22}"
            f" {speed.get('hashes_per_second', 0) / 1e9:>7.3f} {speed.get('launch_s', 0):>9.3f}"
            f" {speed.get('spread', 0):>7.3f} {checks.get('checked', 0):>8}"
            f" {len(checks.get('failures', [])):>4}"
        )
    if "all_gpus" in record:
        ceiling = record.get("ceiling_hashes_per_second")
        hs = record["all_gpus"]["hashes_per_second"]
        print(
            f" all: {hs / 1e9:.3f} GH/s (events), {record['scan_wall_hashes_per_second'] / 1e9:.3f}"
            f" GH/s (scan, wall); {record['registers']} registers; CPU build"
            f" {record['cpu_hashes_per_second'] / 1e6:.1f} MH/s"
            + (f"; {hs / ceiling:.2f} of the {ceiling / 1e9:.2f} GH/s ceiling" if ceiling else "")
        )
    power = record.get("power")
    if power and "unavailable" not in power:
        print(
            f" power ({power['source']}): idle {power['idle_w']:.1f} W,"
            f" full {power['full_w']:.1f} W,"
            f" {power['j_per_gh']:.2f} J/GH ({power['j_per_gh_above_idle']:.2f} above idle);"
            f" budget {power['budget_w']:.1f} W held at {power['held_w']:.1f} W over"
            f" {power['held_over_s']:.0f} s ({100 * power['held_error']:+.1f} %)"
        )
    elif power:
        print(f" power: {power['unavailable']}")
    print(" ok" if record["ok"] else " FAILED")


if __name__ == "__main__":
    main()
