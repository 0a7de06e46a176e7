"""``spillway serve --demo`` keeps its state in ``--data-dir`` and refuses flags it would
ignore (issue 13, item 12). The real command, as a subprocess.

Before the fix the demo put its state in a temporary folder whatever ``--data-dir``
said (so its ledger could not be verified afterwards), and silently overrode
``--scenario``, ``--mode`` and ``--period-seconds``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SPILLWAY = [sys.executable, "-m", "service.cli"]
DEMO = [*SPILLWAY, "serve", "--demo", "--grpc-listen", "127.0.0.1:0", "--metrics-listen", "off"]
STARTUP_S = 60.0
# The old code starts the demo instead of refusing: give it time to show it did not refuse.
REFUSE_S = 20.0


def _closed_periods(data_dir: Path) -> int:
    path = data_dir / "ledger.sqlite"
    if not path.exists():
        return 0
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        count: int = db.execute("SELECT COUNT(*) FROM records").fetchone()[0]
    except sqlite3.OperationalError:  # not made yet
        return 0
    finally:
        db.close()
    return count


@pytest.mark.solver
def test_demo_keeps_its_state_in_data_dir_and_the_ledger_verifies(tmp_path: Path) -> None:
    """The start says where the state is; after SIGTERM it is there and verifies."""
    data_dir = tmp_path / "demo-state"
    proc = subprocess.Popen(
        [*DEMO, "--demo-period-seconds", "1", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + STARTUP_S
        while _closed_periods(data_dir) < 2:
            assert proc.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "no ledger record in DIR:\n" + "".join(lines)
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        reader.join(timeout=2)
        if proc.stdout is not None:
            proc.stdout.close()
    said = [line for line in lines if line.startswith("spillway demo: state")]
    assert len(said) == 1 and str(data_dir) in said[0] and "kept" in said[0], said
    for name in ("coordinator.sqlite3", "ledger.sqlite", "ledger_ed25519.pem"):
        assert (data_dir / name).is_file(), name
    verified = subprocess.run(
        [*SPILLWAY, "ledger", "verify", str(data_dir)], capture_output=True, text=True, timeout=60
    )
    assert verified.returncode == 0, verified.stderr
    assert verified.stdout.startswith("ok:"), verified.stdout


def test_demo_without_data_dir_says_its_temporary_folder_is_removed() -> None:
    """Without --data-dir the start still says where the state is, and that it goes."""
    env = {k: v for k, v in os.environ.items() if k != "SPILLWAY_DATA_DIR"}
    proc = subprocess.Popen(
        [*DEMO, "--demo-period-seconds", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("spillway demo: state"):
                assert "removed when the demo stops" in line, line
                folder = line.split(" in ", 1)[1].split(",", 1)[0]
                break
        else:
            raise AssertionError("the demo did not say where its state is")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert not Path(folder).exists()


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--scenario", "tests/data"], "--scenario"),
        (["--mode", "co-optimised"], "--mode"),
        (["--mode", "curtailment-only"], "--mode"),
        (["--plan-mode", "curtailment-only"], "--plan-mode"),
        (["--period-seconds", "60"], "--period-seconds"),
    ],
)
def test_demo_refuses_flags_it_would_ignore(flags: list[str], named: str) -> None:
    """Exit 2 with one line naming the flag, before anything starts."""
    try:
        done = subprocess.run(
            [*DEMO, *flags], capture_output=True, text=True, timeout=REFUSE_S, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"--demo {' '.join(flags)} was not refused: the demo ran")
    assert done.returncode == 2, done.stdout + done.stderr
    errors = done.stderr.strip().splitlines()
    assert len(errors) == 1 or (named == "--plan-mode" and len(errors) == 2), errors
    assert errors[-1].startswith(f"spillway: error: {named}:"), errors
    assert "--demo" in errors[-1]
    assert "spillway demo" not in done.stdout


def test_demo_refuses_a_scenario_from_the_environment() -> None:
    """SPILLWAY_SCENARIO would be ignored the same way: it is named."""
    env = {**os.environ, "SPILLWAY_SCENARIO": "tests/data"}
    try:
        done = subprocess.run(
            DEMO, capture_output=True, text=True, timeout=REFUSE_S, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail("SPILLWAY_SCENARIO with --demo was not refused: the demo ran")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("spillway: error: SPILLWAY_SCENARIO:"), done.stderr
