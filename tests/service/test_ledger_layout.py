"""service/ledger/ stays small and pure: no file over 500 lines, nothing else of service/.

The ledger is read by the CLI, the coordinator and auditors' tools alike, so it
depends on no other part of the service (``service/ledger/__init__.py`` says so);
and, as every package of service/, no file of it grows past 500 lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LEDGER = Path(__file__).resolve().parents[2] / "service" / "ledger"
MAX_LINES = 500
MODULES = sorted(LEDGER.glob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            names.add(node.module or "")
    return names


def test_the_package_is_found() -> None:
    assert {"store.py", "head.py", "schema.py"} <= {path.name for path in MODULES}


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_no_file_over_500_lines(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"service/ledger/{path.name} has {lines} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda path: path.name)
def test_imports_nothing_else_of_the_service(path: Path) -> None:
    outside = {
        name
        for name in imported(path)
        if name.split(".")[0] == "service" and not name.startswith("service.ledger")
    }
    assert not outside, f"service/ledger/{path.name} imports {sorted(outside)}"
