"""Nothing HiGHS prints reaches stdout, whichever highspy release is installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optimiser.highs_output import _sort_captured
from service.testing import read_terminal

pytestmark = pytest.mark.solver

ROOT = Path(__file__).resolve().parents[2]
THREE_BUS = ROOT / "deploy" / "scenario" / "three-bus"
PLAN_JSON = [sys.executable, "-m", "service.cli", "plan", str(THREE_BUS), "--json"]


class TestPlanJsonOnStdout:
    def test_in_a_pipe(self):
        """`spillway plan NET --json | jq`: stdout is exactly one JSON document."""
        proc = subprocess.run(PLAN_JSON, capture_output=True, timeout=120, check=True)
        assert b"HiGHS" not in proc.stdout
        assert json.loads(proc.stdout)["status"] == "optimal"

    def test_on_a_terminal(self):
        """stdout a (pseudo-)terminal: still exactly one JSON document, no banner."""
        primary, secondary = os.openpty()
        try:
            proc = subprocess.Popen(
                PLAN_JSON, stdout=secondary, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
            )
            os.close(secondary)
            out = read_terminal(primary)
            assert proc.wait(timeout=120) == 0
            assert proc.stderr is not None
            proc.stderr.close()
        finally:
            os.close(primary)
        text = out.decode().replace("\r\n", "\n")
        assert "HiGHS" not in text
        assert json.loads(text)["status"] == "optimal"

    def test_first_instance_prints_nothing(self):
        """A process's first HiGHS instance (where 1.16 prints its banner) writes nothing
        to descriptor 1; what the process prints itself still arrives, in order."""
        code = (
            "import highspy, sys\n"
            "from optimiser.highs_output import new_highs\n"
            "print('before', flush=True)\n"
            "h = new_highs(highspy)\n"
            "assert h.getOptions().output_flag is False\n"
            "print('after')\n"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=60, check=True
        )
        assert proc.stdout == b"before\nafter\n"


class TestSortCaptured:
    def test_banner_dropped_other_output_kept(self):
        """Banner lines go to the log; another writer's bytes caught in the window are
        written back to stdout unchanged."""
        read_fd, write_fd = os.pipe()
        try:
            captured = (
                b"Running HiGHS 1.16.0 (git hash: f3f113d): Copyright (c) 2026 under MIT\n"
                b"Includes third-party software components, see THIRD_PARTY_NOTICES.md\n"
                b"frame 12 of the live screen\n"
                b"partial line without newline"
            )
            _sort_captured(captured, write_fd)
        finally:
            os.close(write_fd)
        with os.fdopen(read_fd, "rb") as reader:
            assert reader.read() == b"frame 12 of the live screen\npartial line without newline"
