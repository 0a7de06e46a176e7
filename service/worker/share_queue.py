"""A worker's found shares, on disk (SQLite) until the coordinator answers them.

A lost connection, a worker restart or a coordinator restart loses no share:
a share leaves the queue only when an answer for it arrives. The coordinator
de-duplicates, so resending after a lost answer is safe.

The queue is bounded (``max_shares``): a pool's tiny difficulty once filled one
worker's queue with 228,714 shares (issue 13, item 2). Past the bound, shares of
jobs no longer current go first (the coordinator would refuse them as stale
anyway), then the newest (the oldest have waited longest and are sent first).

Beside the shares the same file keeps the worker's telemetry not yet answered
(issue 13, item 8: a worker stopped or killed lost its last window, so the
ledger counted fewer shares than the coordinator stored): the work done since the
last signed report (``unreported``, one row, with the start of its window) and
the signed reports not yet answered (``outbox``). Each change is one transaction
with what it covers, so a kill leaves either both or neither: shares go in with
their count, a report goes into the outbox as its work leaves ``unreported``.
A restarted worker resends its outbox (a report the coordinator took already is
refused as a replay: counted once) and reports ``unreported``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_MAX_SHARES", "Dropped", "QueuedShare", "ShareQueue", "WorkDone"]

# About 1.5 MB on disk; at the coordinator's 10 shares/s cap, 1,000 s of shares.
DEFAULT_MAX_SHARES = 10_000


@dataclass(frozen=True, slots=True)
class QueuedShare:
    """A share waiting for its answer."""

    share_id: str
    job_id: str
    ntime: int
    nonce: int
    found_s: float


@dataclass(frozen=True, slots=True)
class Dropped:
    """Shares dropped by ``ShareQueue.add`` to keep within the bound."""

    stale: int = 0  # of jobs no longer current
    newest: int = 0  # the newest shares, once no stale one was left


@dataclass(frozen=True, slots=True)
class WorkDone:
    """Work no report has covered yet, or a change of it (then its parts may be negative)."""

    energy_j: float = 0.0
    hashes: int = 0
    shares: int = 0
    modelled: bool = False  # whether any of the joules is the power model's


_TELEMETRY_SCHEMA = """
CREATE TABLE IF NOT EXISTS unreported (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    energy_j REAL NOT NULL,
    hashes INTEGER NOT NULL,
    shares INTEGER NOT NULL,
    modelled INTEGER NOT NULL,
    window_start_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (sequence INTEGER PRIMARY KEY, report TEXT NOT NULL);
"""


class ShareQueue:
    """The on-disk queue (WAL, ``synchronous=FULL``); safe from several threads.

    Parameters
    ----------
    path:
        The SQLite file; created when missing.
    max_shares:
        Shares kept at most; ``add`` drops the excess.
    """

    def __init__(self, path: Path, max_shares: int = DEFAULT_MAX_SHARES) -> None:
        if max_shares < 1:
            raise ValueError(f"max_shares: must be at least 1, got {max_shares}")
        self.max_shares = max_shares
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS shares (share_id TEXT PRIMARY KEY, job_id TEXT NOT NULL,"
            " ntime INTEGER NOT NULL, nonce INTEGER NOT NULL, found_s REAL NOT NULL)"
        )
        self._db.executescript(_TELEMETRY_SCHEMA)
        # A new file's first window starts now (an older file's, when it gains the table).
        self._db.execute(
            "INSERT OR IGNORE INTO unreported VALUES (0, 0, 0, 0, 0, ?)",
            (time.time_ns() // 1_000_000,),
        )

    def add(
        self,
        shares: list[QueuedShare],
        current_jobs: Collection[str] = (),
        work: WorkDone = WorkDone(),
    ) -> Dropped:
        """Queue shares and add ``work`` (their count) to the unreported work, in one
        transaction; past ``max_shares``, drop and say how many.

        Shares of jobs not in ``current_jobs`` are dropped first (oldest first), then
        the newest.
        """
        with self._lock:
            self._db.execute("BEGIN")
            self._add_work(work)
            self._db.executemany(
                "INSERT OR IGNORE INTO shares VALUES (?,?,?,?,?)",
                [(s.share_id, s.job_id, s.ntime, s.nonce, s.found_s) for s in shares],
            )
            excess = self._db.execute("SELECT COUNT(*) FROM shares").fetchone()[0] - self.max_shares
            stale = newest = 0
            if excess > 0:
                jobs = list(current_jobs)
                marks = ",".join("?" * len(jobs))
                stale = self._db.execute(
                    "DELETE FROM shares WHERE share_id IN (SELECT share_id FROM shares"
                    f" WHERE job_id NOT IN ({marks}) ORDER BY found_s LIMIT ?)",
                    (*jobs, excess),
                ).rowcount
                excess -= stale
            if excess > 0:
                newest = self._db.execute(
                    "DELETE FROM shares WHERE share_id IN (SELECT share_id FROM shares"
                    " ORDER BY found_s DESC, rowid DESC LIMIT ?)",
                    (excess,),
                ).rowcount
            self._db.execute("COMMIT")
        return Dropped(stale, newest)

    def pending(self, limit: int = 500) -> list[QueuedShare]:
        """The oldest shares waiting."""
        with self._lock:
            rows = self._db.execute(
                "SELECT share_id, job_id, ntime, nonce, found_s FROM shares"
                " ORDER BY found_s LIMIT ?",
                (limit,),
            ).fetchall()
        return [QueuedShare(*row) for row in rows]

    def remove(self, share_ids: list[str]) -> None:
        """Drop answered shares."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM shares WHERE share_id=?", [(i,) for i in share_ids])
            self._db.execute("COMMIT")

    # telemetry not yet answered

    def _add_work(self, work: WorkDone) -> None:
        self._db.execute(
            "UPDATE unreported SET energy_j = energy_j + ?, hashes = hashes + ?,"
            " shares = shares + ?, modelled = modelled OR ? WHERE id = 0",
            (work.energy_j, work.hashes, work.shares, work.modelled),
        )

    def save(self, work: WorkDone) -> None:
        """Add work done (energy, hashes) to the unreported work."""
        with self._lock:
            self._db.execute("BEGIN")
            self._add_work(work)
            self._db.execute("COMMIT")

    def stage(
        self, sequence: int, report: str, change: WorkDone, window_start_ms: int, modelled: bool
    ) -> None:
        """Put a signed report (JSON) in the outbox as its work leaves ``unreported``.

        ``change`` is what is not yet saved less what the report covers; the next
        window starts at ``window_start_ms`` and ``modelled`` is the rest's mark.
        """
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT OR REPLACE INTO outbox VALUES (?, ?)", (sequence, report))
            self._add_work(change)
            self._db.execute(
                "UPDATE unreported SET window_start_ms = ?, modelled = ? WHERE id = 0",
                (window_start_ms, modelled),
            )
            self._db.execute("COMMIT")

    def answered(self, sequence: int) -> None:
        """Drop a report from the outbox: taken or refused, it is never sent again."""
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE sequence = ?", (sequence,))

    def unreported(self) -> tuple[WorkDone, int]:
        """The work no report has covered yet and the start (Unix ms) of its window."""
        with self._lock:
            energy_j, hashes, shares, modelled, start_ms = self._db.execute(
                "SELECT energy_j, hashes, shares, modelled, window_start_ms FROM unreported"
            ).fetchone()
        return WorkDone(max(0.0, energy_j), max(0, hashes), max(0, shares), bool(modelled)), int(
            start_ms
        )

    def outbox(self) -> list[str]:
        """Signed reports (JSON) not yet answered, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT report FROM outbox ORDER BY sequence").fetchall()
        return [str(report) for (report,) in rows]

    def __len__(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT COUNT(*) FROM shares").fetchone()[0]
        return count

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
