"""A stopped or killed worker's last telemetry window reaches the ledger (issue 13, item 8).

Real ``spillway serve`` and ``spillway worker`` processes over loopback. Each share
the coordinator stores was found by the worker and must be counted, exactly once,
in the worker's signed reports (``shares_found``) in the ledger. Before the fix the
window open at a stop was lost: 88 ledger shares for 89 stored after a SIGTERM,
37 for 55 after four SIGKILLs, because the counters lived only in memory.

Each stop is sent while the worker holds shares it has not reported yet (the
coordinator has stored more of its shares than the ledger counts), so the old
code fails every time rather than by chance.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from spw_helpers import SPILLWAY, TOKEN, free_port, sample, spawn, stop_process, wait_for

from service.rpc.server import DB_FILE
from spillway.v1 import miner_pb2, miner_pb2_grpc

SITE = "east"
NAME = "east-1"
KILLS = 4


class Farm:
    """One coordinator process and (at most) one worker process at a time."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.grpc_port = free_port()
        self.worker_port = free_port()
        self.worker: subprocess.Popen[bytes] | None = None
        self.coordinator = spawn(
            [
                "serve",
                "--grpc-listen",
                f"127.0.0.1:{self.grpc_port}",
                "--metrics-listen",
                "off",
                "--data-dir",
                str(tmp / "coordinator"),
                "--auth-token-file",
                str(tmp / "token"),
                "--share-difficulty",
                "0.00005",
                "--period-seconds",
                "3600",
                "--hash-threads",
                "1",
            ],
            tmp / "coordinator.log",
        )

    def db(self, name: str) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.tmp / 'coordinator' / name}?mode=ro", uri=True)

    def worker_id(self) -> str:
        db = self.db(DB_FILE)
        try:
            row = db.execute(
                "SELECT worker_id FROM workers WHERE site=? AND worker_name=?", (SITE, NAME)
            ).fetchone()
        finally:
            db.close()
        assert row is not None
        return str(row[0])

    def stored_shares(self) -> int:
        db = self.db(DB_FILE)
        try:
            count: int = db.execute(
                "SELECT COUNT(*) FROM shares WHERE worker_id=?", (self.worker_id(),)
            ).fetchone()[0]
        finally:
            db.close()
        return count

    def ledger_shares(self) -> int:
        """``shares_found`` summed over the worker's signed reports: staged and recorded."""
        worker_id = self.worker_id()
        db = self.db("ledger.sqlite")
        try:
            staged = [json.loads(b) for (b,) in db.execute("SELECT body FROM pending")]
            for (body,) in db.execute("SELECT body FROM records"):
                staged.extend(json.loads(body)["telemetry"])
        finally:
            db.close()
        return sum(r["shares_found"] for r in staged if r["worker"] == worker_id)

    def start_worker(self) -> None:
        self.worker = spawn(
            [
                "worker",
                "--coordinator",
                f"127.0.0.1:{self.grpc_port}",
                "--site",
                SITE,
                "--name",
                NAME,
                "--backend",
                "cpu",
                "--threads",
                "1",
                "--metrics-listen",
                f"127.0.0.1:{self.worker_port}",
                "--data-dir",
                str(self.tmp / "worker"),
                "--auth-token-file",
                str(self.tmp / "token"),
                "--telemetry-seconds",
                "2",
            ],
            self.tmp / f"worker-{time.monotonic_ns()}.log",
        )
        wait_for(
            lambda: sample(self.worker_port, "spillway_coordinator_connected") == 1, 30, "worker"
        )

    def stop_worker_holding_unreported(self, sig: int) -> None:
        """Send ``sig`` after a report of this run, while the coordinator has stored shares
        the ledger lacks."""
        reported = self.ledger_shares()
        short = self.stored_shares() - reported  # what earlier runs left out (old code)
        wait_for(lambda: self.ledger_shares() > reported, 60, "a report with shares")
        wait_for(
            lambda: self.stored_shares() - self.ledger_shares() > short, 30, "unreported shares"
        )
        assert self.worker is not None
        self.worker.send_signal(sig)
        self.worker.wait(timeout=20)

    def close(self) -> None:
        for proc in (self.worker, self.coordinator):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def farm(tmp_path: Path) -> Iterator[Farm]:
    (tmp_path / "token").write_text(TOKEN + "\n")
    farm = Farm(tmp_path)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{farm.grpc_port}") as channel:
            # The site must be known before the coordinator takes a budget for it.
            wait_for(lambda: _register_probe(channel), 30, "the coordinator to take a registration")
        done = subprocess.run(
            [
                *SPILLWAY,
                "budget",
                "set",
                "--coordinator",
                f"127.0.0.1:{farm.grpc_port}",
                "--auth-token-file",
                str(tmp_path / "token"),
                "--site",
                SITE,
                "--watts",
                "1",
                "--for",
                "1h",
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        yield farm
    finally:
        farm.close()


def _register_probe(channel: grpc.Channel) -> bool:
    stub = miner_pb2_grpc.WorkerServiceStub(channel)
    try:
        stub.RegisterWorker(
            miner_pb2.RegisterWorkerRequest(site=SITE, worker_name="probe", backend="cpu"),
            metadata=(("authorization", f"Bearer {TOKEN}"),),
            timeout=2,
        )
    except grpc.RpcError:
        return False
    return True


def test_ledger_shares_equal_stored_shares_after_sigterm_and_sigkills(farm: Farm) -> None:
    """After a SIGTERM, and after four SIGKILLs and a restart, nothing is lost or doubled."""
    farm.start_worker()
    farm.stop_worker_holding_unreported(signal.SIGTERM)
    assert farm.worker is not None and farm.worker.returncode == 0
    stored, ledger = farm.stored_shares(), farm.ledger_shares()
    print(f"after SIGTERM: ledger {ledger} shares, stored {stored}")
    assert ledger == stored

    for _ in range(KILLS):
        farm.start_worker()
        farm.stop_worker_holding_unreported(signal.SIGKILL)
    print(f"after {KILLS} SIGKILLs: ledger {farm.ledger_shares()}, stored {farm.stored_shares()}")
    # The next start reports what its disk shows was not reported; a SIGTERM then the rest.
    farm.start_worker()
    wait_for(lambda: sample(farm.worker_port, "spillway_shares_queued") == 0, 30, "queue drained")
    assert farm.worker is not None
    assert stop_process(farm.worker, signal.SIGTERM) == 0
    stored, ledger = farm.stored_shares(), farm.ledger_shares()
    print(f"after {KILLS} SIGKILLs, a restart and a SIGTERM: ledger {ledger}, stored {stored}")
    assert ledger == stored


def test_a_report_taken_but_not_answered_is_not_counted_twice(farm: Farm) -> None:
    """Killed after the coordinator took its report but before it heard so, a worker
    resends it at the next start: refused as a replay, it is dropped, counted once."""
    farm.start_worker()
    farm.stop_worker_holding_unreported(signal.SIGTERM)
    assert farm.ledger_shares() == farm.stored_shares()
    db = farm.db("ledger.sqlite")
    try:
        sequence, body = db.execute(
            "SELECT sequence, body FROM pending WHERE worker=? ORDER BY sequence DESC LIMIT 1",
            (farm.worker_id(),),
        ).fetchone()
    finally:
        db.close()
    assert json.loads(body)["shares_found"] > 0
    # The disk as such a kill leaves it: the report in the outbox, its work out of unreported.
    queue = sqlite3.connect(farm.tmp / "worker" / f"worker-{SITE}-{NAME}.sqlite3")
    with queue:
        queue.execute("INSERT INTO outbox VALUES (?, ?)", (sequence, body))
    queue.close()
    farm.start_worker()
    farm.stop_worker_holding_unreported(signal.SIGTERM)
    stored, ledger = farm.stored_shares(), farm.ledger_shares()
    print(f"after a resent report: ledger {ledger}, stored {stored}")
    assert ledger == stored
    queue = sqlite3.connect(farm.tmp / "worker" / f"worker-{SITE}-{NAME}.sqlite3")
    try:
        assert queue.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    finally:
        queue.close()
