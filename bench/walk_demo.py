"""Which of the project's files one run of ``spillway serve --demo`` passes through.

Traces the calls (not the imports) of a short demo run, from the command line to the
ledger's closed periods, and counts the files of ``service/``, ``optimiser/`` and
``kernels/`` whose functions ran, the moves between files, and the calls that climb
back up the import floors (a file calling into one that, by its imports, stands above
it: a callback or a hidden dependency). It runs on any commit of the project with a
``spillway`` command line, so the same script measures the house before and after a
restructuring::

    .venv/bin/python bench/walk_demo.py --seconds 14

It prints one JSON line and a one-line summary. It is a measure of structure, not of
speed: the trace slows the run down many times.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import re
import signal
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "optimiser", "kernels")
_WIRE_IMPORT = re.compile(r"^\s*(from|import) spillway\.v1", re.MULTILINE)


def _module_files() -> dict[str, Path]:
    """Every module of the packages by dotted name (generated ``*_pb2*`` left out)."""
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "_pb2" in path.name:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The project modules a file imports (at any depth of the file)."""
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the module; ``from pkg import name``, the package.
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                for alias in node.names
            ]
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def floors(modules: dict[str, Path]) -> dict[str, int]:
    """Each module's floor: 1 + the highest floor it imports (import circles cut)."""
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    floor: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in floor:
            return floor[name]
        if name in visiting:
            return 0
        visiting.add(name)
        floor[name] = 1 + max((visit(dep) for dep in graph[name]), default=0)
        visiting.discard(name)
        return floor[name]

    for name in graph:
        visit(name)
    return floor


def trace_demo(seconds: float, period_s: float) -> dict[tuple[str, str], str]:
    """The (caller file, callee file) pairs of the project's calls during the demo.

    Each pair maps to the first callee function seen on it. A package's ``__getattr__``
    (a lazy ``__init__``) is the import system's call, not the caller's, and is left out.
    """
    root = str(ROOT) + os.sep
    edges: dict[tuple[str, str], str] = {}
    visited: set[str] = set()

    def profile(frame, event, _arg):  # type: ignore[no-untyped-def]
        if event != "call":
            return
        callee = frame.f_code.co_filename
        if not callee.startswith(root) or frame.f_code.co_name in ("<module>", "__getattr__"):
            return
        visited.add(callee)
        caller = frame.f_back
        while caller is not None and not caller.f_code.co_filename.startswith(root):
            caller = caller.f_back
        if caller is not None and caller.f_code.co_filename != callee:
            edges.setdefault((caller.f_code.co_filename, callee), frame.f_code.co_qualname)

    try:
        from service.cli.main import main
    except ImportError:  # the flat layout before the restructuring
        from service.cli import main  # type: ignore[no-redef,attr-defined]
    threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
    threading.setprofile(profile)
    sys.setprofile(profile)
    try:
        main(["serve", "--demo", "--demo-period-seconds", str(period_s)])
    finally:
        sys.setprofile(None)
        threading.setprofile(None)  # type: ignore[arg-type]
    for callee in visited:
        edges.setdefault((callee, callee), "")
    return edges


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=14.0, help="demo run time (default 14)")
    parser.add_argument("--period-seconds", type=float, default=2.0, help="demo period (default 2)")
    args = parser.parse_args()
    modules = _module_files()
    by_path = {str(path): name for name, path in modules.items()}
    floor = floors(modules)
    edges = trace_demo(args.seconds, args.period_seconds)
    files = {callee for _, callee in edges if callee in by_path}
    moves = {(a, b) for a, b in edges if a != b and a in by_path and b in by_path}
    climbs = sorted(
        (by_path[a], by_path[b], edges[a, b])
        for a, b in moves
        if floor[by_path[b]] > floor[by_path[a]]
    )
    per_package = {
        package: sum(1 for path in files if by_path[path].split(".")[0] == package)
        for package in PACKAGES
    }
    # Files on the route that handle wire messages: the plan should be protobuf only at the edge.
    wire = sorted(by_path[path] for path in files if _WIRE_IMPORT.search(Path(path).read_text()))
    result = {
        "bench": "walk_demo",
        "files_visited_importing_protobuf": len(wire),
        "protobuf_files": wire,
        "files_visited": len(files),
        "files_visited_by_package": per_package,
        "file_to_file_calls": len(moves),
        "climbs_back_up": len(climbs),
        "climbs": [f"{a} -> {b}.{function}" for a, b, function in climbs],
        "floors": max(floor.values()),
        "seconds": args.seconds,
    }
    print(json.dumps(result), flush=True)
    print(
        f"walk_demo: {len(files)} files visited ({per_package['service']} of service/),"
        f" {len(wire)} of them import protobuf, {len(moves)} file-to-file call pairs,"
        f" {len(climbs)} climbs back up, {result['floors']} import floors",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
