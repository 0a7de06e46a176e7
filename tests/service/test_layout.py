"""The service's house keeps its shape (issue 12).

- No file of ``service/`` grows past 500 lines.
- Protobuf stays at the edge: the coordinator, the ledger, the report and the demo
  never import ``spillway.v1`` (only ``rpc/`` and the gRPC client code do).
- The ledger is read by the CLI, the coordinator and auditors' tools alike, so it
  imports nothing else of the service.
- Neither the optimiser nor the service has an import circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "service"
MAX_LINES = 500
MODULES = sorted(SERVICE.rglob("*.py"))


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions (relative ones resolved)."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def test_the_packages_are_found() -> None:
    found = {_name(path) for path in MODULES}
    assert {"service/ledger/store.py", "service/worker/core.py", "service/rpc/convert.py"} <= found


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_file_over_500_lines(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{_name(path)} has {lines} lines"


PROTOBUF_FREE = ("coordinator", "ledger", "report", "demo")


@pytest.mark.parametrize(
    "path",
    [path for path in MODULES if path.relative_to(SERVICE).parts[0] in PROTOBUF_FREE],
    ids=_name,
)
def test_protobuf_only_at_the_edge(path: Path) -> None:
    wire = {name for name in imported(path) if name.startswith("spillway")}
    assert not wire, f"{_name(path)} imports {sorted(wire)}"


@pytest.mark.parametrize("path", sorted((SERVICE / "ledger").glob("*.py")), ids=_name)
def test_the_ledger_imports_nothing_else_of_the_service(path: Path) -> None:
    outside = {
        name
        for name in imported(path)
        if name.split(".")[0] == "service" and not name.startswith("service.ledger")
    }
    assert not outside, f"{_name(path)} imports {sorted(outside)}"


@pytest.mark.parametrize("package", ["optimiser", "service"])
def test_no_import_circle(package: str) -> None:
    """Not even one made only of ``TYPE_CHECKING`` or in-function imports: each is a
    dependency running back up."""
    modules = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): path
        for path in (ROOT / package).rglob("*.py")
        if "_pb2" not in path.name
    }
    graph = {
        name: {dep for dep in imported(path) if dep in modules and dep != name}
        for name, path in modules.items()
        if not name.endswith("__init__") and path.name != "__init__.py"
    }
    # A package's __init__ only hands names on (lazily); circles through it are not imports.
    graph = {name: deps & set(graph) for name, deps in graph.items()}
    done: set[str] = set()

    def visit(name: str, trail: list[str]) -> None:
        if name in trail:
            pytest.fail("import circle: " + " -> ".join([*trail[trail.index(name) :], name]))
        if name in done:
            return
        for dep in sorted(graph[name]):
            visit(dep, [*trail, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
