"""Count the SASS instructions per nonce of the CUDA kernel, without a GPU.

Compiles kernels/src/sha256d_scan.cu for a GPU architecture with ``nvcc
-cubin``, disassembles it with ``cuobjdump --dump-sass`` and counts the
instructions of each kernel's grid-stride loop (from the target of the loop's
backward branch to that branch): one trip hashes one nonce. Also reports
registers per thread from ``--dump-resource-usage``.

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
        loop = None
        for line in lines:
            match = INSTRUCTION.search(line)
            if not match:
                continue
            address = int(match.group(1), 16)
            addresses.append(address)
            opcodes.append(match.group(3))
            branch = BRANCH.search(line)
            if branch and branch.group(2) is not None and int(branch.group(2), 16) < address:
                loop = (int(branch.group(2), 16), address)
        if loop is None:
            continue
        body = [
            op for addr, op in zip(addresses, opcodes, strict=True) if loop[0] <= addr <= loop[1]
        ]
        mix = collections.Counter(op.split(".")[0] for op in body)
        kernels[name] = {
            "instructions_per_nonce": len(body),
            "registers": int(registers.get(name, 0)),
            "top_opcodes": dict(mix.most_common(6)),
        }
    print(json.dumps({"bench": "kernels.sass", "arch": args.arch, "kernels": kernels}))
    summary = ", ".join(
        f"{name}: {info['instructions_per_nonce']} instructions/nonce,"
        f" {info['registers']} registers"
        for name, info in sorted(kernels.items())
    )
    print(f"SASS for {args.arch}: {summary}")


if __name__ == "__main__":
    main()
