"""Generate the Python code for ``proto/spillway/v1/*.proto`` (``make proto``).

Writes ``*_pb2.py``, ``*_pb2.pyi`` and ``*_pb2_grpc.py`` beside the sources by
default, or under ``--out DIR`` (the staleness test regenerates into a temporary
folder and compares). Uses the pinned ``grpcio-tools`` protoc, so the output
depends only on the sources and that pin.

Usage::

    python proto/generate.py [--out DIR]
"""

from __future__ import annotations

import argparse
import sys
from importlib import resources
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent


def sources() -> list[str]:
    """The .proto files, relative to ``proto/``, sorted."""
    return sorted(str(p.relative_to(PROTO_ROOT)) for p in PROTO_ROOT.glob("spillway/v1/*.proto"))


def generate(out_dir: Path) -> None:
    """Run protoc for every source into ``out_dir`` (created if missing).

    Raises
    ------
    RuntimeError
        If protoc fails.
    """
    from grpc_tools import protoc

    out_dir.mkdir(parents=True, exist_ok=True)
    well_known = str(resources.files("grpc_tools") / "_proto")
    args = [
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{well_known}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *sources(),
    ]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status}")


def main() -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROTO_ROOT, help="output root")
    args = parser.parse_args()
    generate(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
