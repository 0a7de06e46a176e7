"""service/worker/ stays small: no file over 500 lines (core.py was 554; issue 13).

The worker's loops are in ``core``; its telemetry (signing, keeping, sending)
in ``telemetry``; its channel and backoff in ``connection``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

WORKER = Path(__file__).resolve().parents[2] / "service" / "worker"
MAX_LINES = 500


@pytest.mark.parametrize("path", sorted(WORKER.glob("*.py")), ids=lambda p: p.name)
def test_no_worker_module_is_over_500_lines(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"service/worker/{path.name}: {lines} lines"
