"""A worker's found shares, on disk (SQLite) until the coordinator answers them.

A lost connection, a worker restart or a coordinator restart loses no share:
a share leaves the queue only when an answer for it arrives. The coordinator
de-duplicates, so resending after a lost answer is safe.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

__all__ = ["QueuedShare", "ShareQueue"]


@dataclass(frozen=True, slots=True)
class QueuedShare:
    """A share waiting for its answer."""

    share_id: str
    job_id: str
    ntime: int
    nonce: int
    found_s: float


class ShareQueue:
    """The on-disk queue (WAL, ``synchronous=FULL``); safe from several threads.

    Parameters
    ----------
    path:
        The SQLite file; created when missing.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS shares (share_id TEXT PRIMARY KEY, job_id TEXT NOT NULL,"
            " ntime INTEGER NOT NULL, nonce INTEGER NOT NULL, found_s REAL NOT NULL)"
        )

    def add(self, shares: list[QueuedShare]) -> None:
        """Queue shares (one transaction)."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR IGNORE INTO shares VALUES (?,?,?,?,?)",
                [(s.share_id, s.job_id, s.ntime, s.nonce, s.found_s) for s in shares],
            )
            self._db.execute("COMMIT")

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

    def __len__(self) -> int:
        with self._lock:
            count: int = self._db.execute("SELECT COUNT(*) FROM shares").fetchone()[0]
        return count

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()
