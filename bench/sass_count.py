"""Count the SASS instructions per nonce of the CUDA kernel, without a GPU.

Compiles kernels/src/sha256d_scan.cu for a GPU architecture with ``nvcc
-cubin``, disassembles it with ``cuobjdump --dump-sass`` and counts the
instructions of each kernel's grid-stride loop (from the target of the loop's
backward branch to that branch): one trip hashes one nonce. ``hot_path`` leaves
out the forward-branched block that appends a candidate (taken about once per
2**32 nonces at difficulty 1), so it is what a nonce costs; ``instructions_per_nonce``
keeps the whole loop, as earlier records did. Also reports registers per thread
from ``--dump-resource-usage`` and the mix: funnel-shift rotates (``SHF.R.W``),
plain shifts, ``LOP3`` and the three forms of integer add.

``cuobjdump`` comes with the CUDA toolkit; where only ``nvcc`` is installed,
the copy inside the PyPI ``triton`` wheel (``triton/backends/nvidia/bin``)
works: pass its folder with ``--cuobjdump-dir``.

    python bench/sass_count.py [--arch sm_90] [--cuobjdump-dir DIR]
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "kernels" / "src"
INSTRUCTION = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(@!?U?P\w+\s+)?([A-Z][A-Z0-9_.]*)")
BRANCH = re.compile(r"/\*([0-9a-f]{4,})\*/\s+(?:@!?P\w+\s+)?BRA\s+(?:`\(\.L_x_\d+\)|0x([0-9a-f]+))")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="sm_90")
    parser.add_argument("--cuobjdump-dir", default=None)
    parser.add_argument("--sass-out", default=None, help="also write the disassembly here")
    args = parser.parse_args()

    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise SystemExit("nvcc not found: install the CUDA toolkit")
    cuobjdump = (
        shutil.which("cuobjdump", path=args.cuobjdump_dir)
        if args.cuobjdump_dir
        else shutil.which("cuobjdump")
    )
    if cuobjdump is None:
        raise SystemExit(
            "cuobjdump not found: pass --cuobjdump-dir (e.g. triton/backends/nvidia/bin)"
        )

    with tempfile.TemporaryDirectory() as tmp:
        cubin = Path(tmp) / "sha256d_scan.cubin"
        subprocess.run(
            [
                nvcc,
                "-cubin",
                f"-arch={args.arch}",
                "-O3",
                f"-I{SRC}",
                "-o",
                str(cubin),
                str(SRC / "sha256d_scan.cu"),
            ],
            check=True,
        )
        sass = subprocess.run(
            [cuobjdump, "--dump-sass", str(cubin)], check=True, capture_output=True, text=True
        ).stdout
        if args.sass_out:
            Path(args.sass_out).write_text(sass)
        usage = subprocess.run(
            [cuobjdump, "--dump-resource-usage", str(cubin)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    registers = dict(re.findall(r"Function (\w+):\s+REG:(\d+)", usage))
    kernels = {}
    for block in re.split(r"\n\s*Function : ", sass)[1:]:
        name = block.split()[0]
        lines = block.splitlines()
        addresses = []
        opcodes = []
        branches = []  # (address, target) of every direct branch
        for line in lines:
            match = INSTRUCTION.search(line)
            if not match:
                continue
            address = int(match.group(1), 16)
            addresses.append(address)
            opcodes.append(match.group(3))
            branch = BRANCH.search(line)
            if branch and branch.group(2) is not None:
                branches.append((address, int(branch.group(2), 16)))
        backward = [(target, address) for address, target in branches if target < address]
        if not backward:
            continue
        loop = backward[-1]
        body = [
            (addr, op)
            for addr, op in zip(addresses, opcodes, strict=True)
            if loop[0] <= addr <= loop[1]
        ]
        # The cold block: skipped by the loop's last forward branch that stays inside it.
        forward = [
            (address, target)
            for address, target in branches
            if loop[0] <= address < target <= loop[1]
        ]
        cold = forward[-1] if forward else None
        hot = [op for addr, op in body if cold is None or not cold[0] < addr < cold[1]]
        mix = collections.Counter(op.split(".")[0] for _, op in body)
        kernels[name] = {
            "instructions_per_nonce": len(body),
            "hot_path": len(hot),
            "registers": int(registers.get(name, 0)),
            "funnel_shift_rotates": sum(op.startswith("SHF.R.W") for op in hot),
            "plain_shifts": sum(
                op.startswith("SHF") and not op.startswith("SHF.R.W") for op in hot
            ),
            "lop3": sum(op.startswith("LOP3") for op in hot),
            "adds": sum(op in ("IADD3", "IMAD.IADD", "VIADD") for op in hot),
            "top_opcodes": dict(mix.most_common(6)),
        }
    print(json.dumps({"bench": "kernels.sass", "arch": args.arch, "kernels": kernels}))
    summary = ", ".join(
        f"{name}: {info['hot_path']} instructions/nonce (loop {info['instructions_per_nonce']}),"
        f" {info['registers']} registers"
        for name, info in sorted(kernels.items())
    )
    print(f"SASS for {args.arch}: {summary}")


if __name__ == "__main__":
    main()
