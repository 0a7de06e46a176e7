"""The coordinator's state in SQLite: workers, jobs, shares, budgets, schedules, plans.

One file, WAL journal, ``synchronous=FULL`` (an answer "accepted" is on disk
before it leaves), schema versioned with ``PRAGMA user_version``. ``Store`` is
plain synchronous stdlib ``sqlite3``; ``AsyncStore`` runs every call on one
dedicated thread so the event loop never waits on the disk, and so that writes
are serialised without locks.

Energy used is not here: it lives in the signed, hash-chained ledger
(``service.ledger``, ``DATA_DIR/ledger.sqlite``). Schema 1 had a plain energy
table; schema 2 drops it (``_MIGRATIONS``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

from service.domain import (
    Job,
    Override,
    ScheduleEntry,
    ShareOutcome,
    ShareResultKind,
    WorkerRecord,
)
from service.errors import ConfigError

__all__ = ["SCHEMA_VERSION", "AsyncStore", "Store"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE scenarios (
    scenario_id TEXT PRIMARY KEY, created_s REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE plans (
    plan_id TEXT PRIMARY KEY, scenario_id TEXT NOT NULL, created_s REAL NOT NULL,
    start_s REAL NOT NULL, end_s REAL NOT NULL, body BLOB NOT NULL);
CREATE TABLE workers (
    worker_id TEXT PRIMARY KEY, site TEXT NOT NULL, worker_name TEXT NOT NULL,
    backend TEXT NOT NULL, hashrate_hs REAL NOT NULL, max_power_w REAL NOT NULL,
    registered_s REAL NOT NULL, last_seen_s REAL NOT NULL, UNIQUE (site, worker_name));
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, worker_id TEXT NOT NULL, header_prefix BLOB NOT NULL,
    target BLOB NOT NULL, ntime INTEGER NOT NULL, ntime_roll_s INTEGER NOT NULL,
    created_s REAL NOT NULL);
CREATE TABLE shares (
    job_id TEXT NOT NULL, ntime INTEGER NOT NULL, nonce INTEGER NOT NULL,
    worker_id TEXT NOT NULL, site TEXT NOT NULL, hash BLOB NOT NULL,
    difficulty REAL NOT NULL, accepted_s REAL NOT NULL,
    PRIMARY KEY (job_id, ntime, nonce));
CREATE TABLE overrides (
    site TEXT PRIMARY KEY, budget_w REAL NOT NULL, expires_s REAL NOT NULL,
    reason TEXT NOT NULL, created_s REAL NOT NULL);
CREATE TABLE schedule (
    site TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL, budget_w REAL NOT NULL,
    source TEXT NOT NULL, schedule_id TEXT NOT NULL, PRIMARY KEY (site, start_s));
"""

# Upgrade scripts by the version they lead to. 2: the unsigned energy table is retired;
# energy lives only in the signed ledger, so there is one store of it.
_MIGRATIONS = {2: "DROP TABLE IF EXISTS ledger;"}


class Store:
    """Synchronous access to the coordinator's SQLite file.

    Parameters
    ----------
    path:
        The database file; created (with its schema) when missing.

    Raises
    ------
    ConfigError
        If the file cannot be opened or has a newer schema than this code.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA busy_timeout=5000")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(f"data_dir: cannot open {path}: {exc}") from exc
        if version == 0:
            # executescript commits first, so the schema and its version go in one script.
            self._db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        elif version < SCHEMA_VERSION:
            steps = " ".join(_MIGRATIONS[v] for v in range(version + 1, SCHEMA_VERSION + 1))
            self._db.executescript(
                f"BEGIN IMMEDIATE; {steps} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
            logger.info("%s: schema %d upgraded to %d", path, version, SCHEMA_VERSION)
        elif version > SCHEMA_VERSION:
            raise ConfigError(
                f"data_dir: {path} has schema version {version}; this coordinator knows"
                f" up to {SCHEMA_VERSION}"
            )

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, or ``ROLLBACK`` when the block raises."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Checkpoint the WAL and close."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            self._db.close()

    def schema_version(self) -> int:
        """``PRAGMA user_version``."""
        version: int = self._db.execute("PRAGMA user_version").fetchone()[0]
        return version

    # workers

    def register_worker(
        self,
        site: str,
        worker_name: str,
        backend: str,
        hashrate_hs: float,
        max_power_w: float,
        now_s: float,
    ) -> WorkerRecord:
        """Insert or refresh a worker; the id is stable per site and name."""
        with self._transaction():
            row = self._db.execute(
                "SELECT worker_id FROM workers WHERE site=? AND worker_name=?", (site, worker_name)
            ).fetchone()
            worker_id = row[0] if row else uuid.uuid4().hex
            self._db.execute(
                "INSERT INTO workers VALUES (?,?,?,?,?,?,?,?) ON CONFLICT (worker_id) DO UPDATE"
                " SET backend=excluded.backend, hashrate_hs=excluded.hashrate_hs,"
                " max_power_w=excluded.max_power_w, last_seen_s=excluded.last_seen_s",
                (worker_id, site, worker_name, backend, hashrate_hs, max_power_w, now_s, now_s),
            )
        return WorkerRecord(worker_id, site, worker_name, backend, hashrate_hs, max_power_w, now_s)

    def worker(self, worker_id: str) -> WorkerRecord | None:
        """A worker by id."""
        row = self._db.execute(
            "SELECT worker_id, site, worker_name, backend, hashrate_hs, max_power_w, last_seen_s"
            " FROM workers WHERE worker_id=?",
            (worker_id,),
        ).fetchone()
        return WorkerRecord(*row) if row else None

    def workers(self) -> list[WorkerRecord]:
        """Every worker, by site and name."""
        rows = self._db.execute(
            "SELECT worker_id, site, worker_name, backend, hashrate_hs, max_power_w, last_seen_s"
            " FROM workers ORDER BY site, worker_name"
        ).fetchall()
        return [WorkerRecord(*row) for row in rows]

    def touch_worker(self, worker_id: str, now_s: float) -> None:
        """Record that a worker was heard from."""
        self._db.execute("UPDATE workers SET last_seen_s=? WHERE worker_id=?", (now_s, worker_id))

    # jobs and shares

    def add_job(self, job: Job) -> None:
        """Store a job so that shares for it validate after a restart."""
        self._db.execute(
            "INSERT INTO jobs VALUES (?,?,?,?,?,?,?)",
            (
                job.job_id,
                job.worker_id,
                job.header_prefix,
                job.target.to_bytes(32, "big"),
                job.ntime,
                job.ntime_roll_s,
                job.created_s,
            ),
        )

    def job(self, job_id: str) -> Job | None:
        """A job by id."""
        row = self._db.execute(
            "SELECT job_id, worker_id, header_prefix, target, ntime, ntime_roll_s, created_s"
            " FROM jobs WHERE job_id=?",
            (job_id,),
        ).fetchone()
        if row is None:
            return None
        return Job(row[0], row[1], row[2], int.from_bytes(row[3], "big"), row[4], row[5], row[6])

    def record_shares(
        self,
        worker: WorkerRecord,
        checked: Iterable[tuple[Job | None, int, int, ShareOutcome]],
        now_s: float,
    ) -> list[ShareOutcome]:
        """Store accepted shares in one transaction; a share seen before becomes DUPLICATE.

        ``checked`` holds ``(job, ntime, nonce, outcome)`` per share, in order.
        """
        answers: list[ShareOutcome] = []
        with self._transaction():
            for job, ntime, nonce, outcome in checked:
                if outcome.result is not ShareResultKind.ACCEPTED or job is None:
                    answers.append(outcome)
                    continue
                cursor = self._db.execute(
                    "INSERT INTO shares VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (
                        job.job_id,
                        ntime,
                        nonce,
                        worker.worker_id,
                        worker.site,
                        outcome.hash,
                        job.difficulty,
                        now_s,
                    ),
                )
                if cursor.rowcount == 0:
                    outcome = ShareOutcome(
                        outcome.share_id,
                        ShareResultKind.DUPLICATE,
                        "already accepted",
                        outcome.hash,
                    )
                answers.append(outcome)
            self._db.execute(
                "UPDATE workers SET last_seen_s=? WHERE worker_id=?", (now_s, worker.worker_id)
            )
        return answers

    def share_count(self, site: str | None = None) -> int:
        """Accepted shares stored (for one site, or all)."""
        if site is None:
            row = self._db.execute("SELECT COUNT(*) FROM shares").fetchone()
        else:
            row = self._db.execute("SELECT COUNT(*) FROM shares WHERE site=?", (site,)).fetchone()
        count: int = row[0]
        return count

    # budgets

    def set_override(self, override: Override, now_s: float) -> None:
        """Set (replace) a site's override."""
        self._db.execute(
            "INSERT OR REPLACE INTO overrides VALUES (?,?,?,?,?)",
            (override.site, override.budget_w, override.expires_s, override.reason, now_s),
        )

    def clear_override(self, site: str) -> bool:
        """Drop a site's override; whether there was one."""
        return self._db.execute("DELETE FROM overrides WHERE site=?", (site,)).rowcount > 0

    def override(self, site: str, now_s: float) -> Override | None:
        """A site's override if it has not expired."""
        row = self._db.execute(
            "SELECT site, budget_w, expires_s, reason FROM overrides WHERE site=? AND expires_s>?",
            (site, now_s),
        ).fetchone()
        return Override(*row) if row else None

    def replace_schedule(self, entries: list[ScheduleEntry], now_s: float) -> str:
        """Replace the schedule of every site in ``entries`` with ``entries``; the schedule id."""
        schedule_id = uuid.uuid4().hex
        with self._transaction():
            for site in sorted({e.site for e in entries}):
                self._db.execute("DELETE FROM schedule WHERE site=?", (site,))
            self._db.executemany(
                "INSERT INTO schedule VALUES (?,?,?,?,?,?)",
                [(e.site, e.start_s, e.end_s, e.budget_w, e.source, schedule_id) for e in entries],
            )
        return schedule_id

    def scheduled(self, site: str, now_s: float) -> ScheduleEntry | None:
        """The pushed schedule's period covering ``now_s`` for a site."""
        row = self._db.execute(
            "SELECT site, start_s, end_s, budget_w, source FROM schedule"
            " WHERE site=? AND start_s<=? AND end_s>? ORDER BY start_s DESC LIMIT 1",
            (site, now_s, now_s),
        ).fetchone()
        return ScheduleEntry(*row) if row else None

    def known_sites(self) -> list[str]:
        """Sites with a worker, an override or a schedule."""
        rows = self._db.execute(
            "SELECT site FROM workers UNION SELECT site FROM overrides"
            " UNION SELECT site FROM schedule ORDER BY site"
        ).fetchall()
        return [row[0] for row in rows]

    # scenarios and plans

    def add_scenario(self, scenario_id: str, body: bytes, now_s: float) -> None:
        """Store a serialised scenario message."""
        self._db.execute("INSERT INTO scenarios VALUES (?,?,?)", (scenario_id, now_s, body))

    def scenario(self, scenario_id: str) -> bytes | None:
        """A stored scenario message, serialised."""
        row = self._db.execute(
            "SELECT body FROM scenarios WHERE scenario_id=?", (scenario_id,)
        ).fetchone()
        return bytes(row[0]) if row else None

    def add_plan(
        self,
        plan_id: str,
        scenario_id: str,
        created_s: float,
        start_s: float,
        end_s: float,
        body: bytes,
    ) -> None:
        """Store a serialised plan message."""
        self._db.execute(
            "INSERT INTO plans VALUES (?,?,?,?,?,?)",
            (plan_id, scenario_id, created_s, start_s, end_s, body),
        )

    def plan(self, plan_id: str) -> bytes | None:
        """A stored plan message, serialised."""
        row = self._db.execute("SELECT body FROM plans WHERE plan_id=?", (plan_id,)).fetchone()
        return bytes(row[0]) if row else None

    def latest_plan(self) -> tuple[str, float, bytes] | None:
        """The newest stored plan: id, creation time, serialised message."""
        row = self._db.execute(
            "SELECT plan_id, created_s, body FROM plans ORDER BY created_s DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1], row[2]) if row else None


P = ParamSpec("P")
T = TypeVar("T")


class AsyncStore:
    """``Store`` off the event loop: each call runs on one dedicated thread.

    Parameters
    ----------
    path:
        The database file.
    """

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="spillway-store")
        self.store = self._executor.submit(Store, path).result()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` (a ``Store`` method) on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        """Flush and close the database, then stop the thread."""
        self._executor.submit(self.store.close).result()
        self._executor.shutdown(wait=True)


def now_s() -> float:
    """Wall-clock Unix seconds."""
    return time.time()
