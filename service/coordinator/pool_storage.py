"""The coordinator's Stratum upstream tables (schema 2): pool units and pool verdicts.

A job handed out from a pool's work is stored with its pool, the pool's job id and
extranonces (``pool_units``); the pool's verdict on each forwarded share goes in
``pool_shares``. A stored share of a pool job without a verdict row is waiting to
be forwarded. ``PoolTables`` is mixed into ``storage.Store`` and runs on its
connection and thread.
"""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from dataclasses import dataclass

from service.domain import Job

__all__ = ["PoolShare", "PoolTables"]


@dataclass(frozen=True, slots=True)
class PoolShare:
    """A stored share of a job cut from a pool's work, to forward to that pool."""

    job_id: str
    ntime: int
    nonce: int
    worker_id: str
    pool: str


class PoolTables:
    """Queries on the pool tables, for ``storage.Store`` (which provides the connection)."""

    _db: sqlite3.Connection

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # storage.Store's

    def add_job(self, job: Job) -> None:
        raise NotImplementedError  # storage.Store's

    def add_pool_job(
        self, job: Job, pool: str, pool_job_id: str, extranonce1: bytes, extranonce2: bytes
    ) -> None:
        """Store a job cut from a pool's work, and where it came from, in one transaction."""
        with self._transaction():
            self.add_job(job)
            self._db.execute(
                "INSERT INTO pool_units VALUES (?,?,?,?,?)",
                (job.job_id, pool, pool_job_id, extranonce1, extranonce2),
            )

    def pool_unit(self, job_id: str) -> str | None:
        """The pool a job was cut from (None for the coordinator's own jobs)."""
        row = self._db.execute("SELECT pool FROM pool_units WHERE job_id=?", (job_id,)).fetchone()
        return str(row[0]) if row else None

    def pool_pending(self) -> list[PoolShare]:
        """Stored shares of pool jobs that have no verdict yet (oldest first)."""
        rows = self._db.execute(
            "SELECT s.job_id, s.ntime, s.nonce, s.worker_id, u.pool FROM shares s"
            " JOIN pool_units u USING (job_id)"
            " LEFT JOIN pool_shares p USING (job_id, ntime, nonce)"
            " WHERE p.job_id IS NULL ORDER BY s.accepted_s"
        ).fetchall()
        return [PoolShare(*row) for row in rows]

    def record_pool_verdict(
        self, share: PoolShare, verdict: str, reason: str, now_s: float
    ) -> None:
        """Record the pool's answer to a forwarded share (the first answer stands)."""
        self._db.execute(
            "INSERT INTO pool_shares VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
            (
                share.job_id,
                share.ntime,
                share.nonce,
                share.pool,
                share.worker_id,
                verdict,
                reason,
                now_s,
            ),
        )

    def pool_verdicts(self, worker_id: str | None = None) -> dict[str, int]:
        """Shares answered by the pools, by verdict (for one worker, or all)."""
        query = "SELECT verdict, COUNT(*) FROM pool_shares"
        params: tuple[str, ...] = ()
        if worker_id is not None:
            query += " WHERE worker_id=?"
            params = (worker_id,)
        rows = self._db.execute(query + " GROUP BY verdict", params).fetchall()
        return {verdict: count for verdict, count in rows}

    def pool_answers(self, worker_id: str) -> list[tuple[str, str, str]]:
        """A worker's pool verdicts in order: (pool, verdict, reason)."""
        rows = self._db.execute(
            "SELECT pool, verdict, reason FROM pool_shares WHERE worker_id=? ORDER BY answered_s",
            (worker_id,),
        ).fetchall()
        return [(pool, verdict, reason) for pool, verdict, reason in rows]
