#!/usr/bin/env bash
# bench/device_check.sh - the whole GPU check in one run, for a lent GPU machine.
#
#   OUT=/some/folder bash bench/device_check.sh      (the device tool sets OUT)
#
# Builds the C extension (the CPU build, which also prepares every GPU job), runs
# the kernel tests (tests/kernels; the GPU ones run where CuPy sees a GPU), counts
# the SASS, then bench/bench_gpu.py: GPU against CPU build on every real mainnet
# header and on random easy targets at both ends of the nonce space, GH/s by CUDA
# events, and NVML power (idle, J/GH at full speed, half-power budget held 60 s),
# then one ncu profile of the scan kernel where ncu can read the counters.
# Everything lands in $OUT (at most 7 files: the device tool returns 8); the last
# lines printed are the summary. Without a GPU the GPU steps are skipped, saying
# so, and the script still exits 0. It stops itself well inside 10 minutes.
#
# Read-only on the card: no clocks, power limits, persistence or compute mode.
# Needs: python3 with numpy, pytest, hypothesis, cupy, nvidia-ml-py; nvcc and
# cuobjdump for the SASS count; ncu for counters. Not Pyomo, HiGHS or cryptography.

set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2
OUT=${OUT:-$(mktemp -d)}
PY=${PYTHON:-python3}
BUDGET_S=${DEVICE_CHECK_BUDGET_S:-540}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
LOG="$OUT/steps.log"
: >"$SUMMARY"
: >"$LOG"
START_S=$(date +%s)
FAILED=0

note() { printf '%s\n' "$*" | tee -a "$SUMMARY"; }

# run_step NAME LIMIT_S COMMAND...: runs with a time limit (capped by what is left of
# the budget), output appended to steps.log, one line in the summary.
run_step() {
    local name=$1 limit=$2 left rc began
    shift 2
    left=$((BUDGET_S - ($(date +%s) - START_S)))
    if ((left < 20)); then
        note "$(printf '%-8s SKIPPED  (time budget spent)' "$name")"
        return 0
    fi
    ((limit > left)) && limit=$left
    printf '\n===== %s (limit %ss): %s\n' "$name" "$limit" "$*" >>"$LOG"
    began=$(date +%s)
    timeout --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
    rc=$?
    if ((rc == 0)); then
        note "$(printf '%-8s ok       %4ss' "$name" $(($(date +%s) - began)))"
    else
        FAILED=1
        note "$(printf '%-8s FAILED   %4ss  rc=%s (see steps.log)' "$name" $(($(date +%s) - began)) "$rc")"
    fi
    return "$rc"
}

skip() { note "$(printf '%-8s skipped  (%s)' "$1" "$2")"; }

# ---- the machine, as found (read only)
{
    date -u
    uname -a
    "$PY" --version
    "$PY" -m pip list 2>/dev/null | grep -i -E '^(cupy|numpy|pytest|hypothesis|nvidia-ml-py|nvidia-cuda-nvrtc|grpcio|prometheus)' || true
    command -v nvcc >/dev/null && nvcc --version | tail -n 2
    command -v ncu >/dev/null && ncu --version | tail -n 1
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=index,name,pci.bus_id,driver_version,power.draw,power.limit,clocks.sm,clocks.max.sm,persistence_mode,compute_mode,temperature.gpu --format=csv
} >"$OUT/env.txt" 2>&1

GPUS=$("$PY" -c 'import cupy; print(cupy.cuda.runtime.getDeviceCount())' 2>/dev/null || echo 0)
[[ $GPUS =~ ^[0-9]+$ ]] || GPUS=0
note "spillway device check, $(date -u '+%Y-%m-%d %H:%M UTC'); GPUs CuPy sees: $GPUS"

# ---- build the CPU extension in place (the GPU path needs its job precompute).
# setup.py first; where that machine's setuptools is too old for pyproject.toml
# (the SPDX license string needs setuptools >= 77), the same flags by hand.
# shellcheck disable=SC2329  # invoked through `bash -c` (exported), under timeout
build_by_hand() {
    local include suffix
    include=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])') || return 1
    suffix=$("$PY" -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))') || return 1
    "${CC:-cc}" -O3 -std=c11 -fno-strict-aliasing -Wall -Wextra -fPIC -shared \
        -I"$include" kernels/src/cpu_scan.c -o "kernels/_cpu$suffix"
}
export PY
export -f build_by_hand
if "$PY" -c 'import setuptools, sys; sys.exit(int(setuptools.__version__.split(".")[0]) < 77)' 2>/dev/null; then
    run_step build 150 "$PY" setup.py build_ext --inplace
else
    note "setuptools there is older than 77 (or missing): compiling the extension by hand"
    run_step build 150 bash -c build_by_hand
fi || {
    note "the C extension did not build: nothing else can run"
    exit 1
}

# ---- the kernels package imports without the planner's or the ledger's dependencies
run_step import 30 "$PY" -c '
import sys
import kernels, kernels.cuda, kernels.power
heavy = sorted({"pyomo", "highspy", "cryptography", "grpc"} & set(sys.modules))
assert not heavy, f"kernels pulled in {heavy}"
print("kernels imports alone; cpu paths:", kernels.cpu_paths())
'

# ---- tests: the kernel tests (the CLI test needs the service, so it stays for CI)
INI=$(mktemp --suffix=.ini)
trap 'rm -f "$INI"' EXIT
cat >"$INI" <<'EOF'
[pytest]
addopts = --import-mode=importlib -ra -p no:cacheprovider
markers =
    gpu: needs CuPy and an NVIDIA GPU (skipped where none is)
    nvcc: needs the CUDA compiler nvcc (skipped where none is)
EOF
run_step tests 150 "$PY" -m pytest -c "$INI" --rootdir . -q tests/kernels \
    --ignore=tests/kernels/test_cli.py

# ---- SASS for sm_90 (nvcc and cuobjdump of this machine)
if command -v nvcc >/dev/null && command -v cuobjdump >/dev/null; then
    run_step sass 60 "$PY" bench/sass_count.py --arch sm_90 --sass-out "$OUT/sass_sm90.txt"
else
    skip sass "nvcc or cuobjdump not on PATH"
fi

# ---- on the GPU: agreement, speed and power in one process
if ((GPUS > 0)); then
    run_step bench 270 "$PY" bench/bench_gpu.py --out "$OUT"
    if command -v ncu >/dev/null; then
        # One launch of 2**28 nonces; the clocks are left as they are (--clock-control none).
        run_step ncu 100 ncu --clock-control none --kernel-name regex:sha256d_scan_early \
            --launch-count 1 --section SpeedOfLight --section Occupancy --section LaunchStats \
            --section ComputeWorkloadAnalysis --section InstructionStats \
            --metrics smsp__thread_inst_executed.sum,sm__inst_executed_pipe_alu.avg.pct_of_peak_sustained_active,sm__inst_executed_pipe_fma.avg.pct_of_peak_sustained_active \
            --csv --page details --log-file "$OUT/ncu.csv" \
            "$PY" bench/bench_gpu.py --profile-once
    else
        skip ncu "ncu not on PATH"
    fi
else
    skip bench "no GPU: CuPy sees none"
    skip ncu "no GPU"
fi

# ---- the figures, last, so that the device tool's output tail carries them
if [[ -s "$OUT/gpu_bench.json" ]]; then
    "$PY" - "$OUT/gpu_bench.json" <<'EOF' | tee -a "$SUMMARY"
import json, sys
r = json.load(open(sys.argv[1]))
print(f"cupy {r['cupy']}, driver {r['driver']}, runtime {r['runtime']}, nvrtc {r['nvrtc']}")
for c in r.get("checks", []):
    print(f"agreement: {c['checked']} cases ({c['real_headers']} real headers), {len(c['failures'])} failures")
if "all_gpus" in r:
    hs, ceiling = r["all_gpus"]["hashes_per_second"], r.get("ceiling_hashes_per_second")
    print(f"speed: {hs / 1e9:.3f} GH/s by events ({r['all_gpus']['launch_s']:.2f} s launches, median of {r['all_gpus']['repeats']}),"
          f" {r['registers']} registers" + (f", {hs / ceiling:.2f} of the {ceiling / 1e9:.2f} GH/s ceiling" if ceiling else ""))
p = r.get("power", {})
if "held_w" in p:
    print(f"power: idle {p['idle_w']:.1f} W, full {p['full_w']:.1f} W, {p['j_per_gh']:.2f} J/GH;"
          f" budget {p['budget_w']:.1f} W held at {p['held_w']:.1f} W ({100 * p['held_error']:+.2f} %) over {p['held_over_s']:.0f} s")
elif p:
    print(f"power: {p.get('unavailable')}")
EOF
fi
if [[ -s "$OUT/ncu.csv" ]]; then
    grep -E '"(Achieved Occupancy|Theoretical Occupancy|Registers Per Thread|Executed Ipc Active|Compute \(SM\) Throughput|SM Frequency|Duration)"|thread_inst_executed|pipe_alu|pipe_fma' "$OUT/ncu.csv" |
        awk -F'","' '{gsub(/"/, "", $NF); print "ncu: " $(NF-2) " = " $NF " " $(NF-1)}' | tee -a "$SUMMARY"
fi
note "total $(($(date +%s) - START_S)) s; results in $OUT"
if ((FAILED)); then
    note "FAILED: see the lines above and steps.log"
    exit 1
fi
exit 0
