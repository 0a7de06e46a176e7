"""The coordinator's state in SQLite: workers, jobs, shares, budgets, schedules, plans.

One file, WAL journal, ``synchronous=FULL`` (an answer "accepted" is on disk
before it leaves), schema versioned with ``PRAGMA user_version``. ``Store`` is
plain synchronous stdlib ``sqlite3``; ``AsyncStore`` runs every call on one
dedicated thread (``service.sqlite.DbThread``) so the event loop never waits on
the disk, and so that writes are serialised without locks. The pool tables'
queries are in ``pool_storage``.

Energy used is not here: it lives in the signed, hash-chained ledger
(``service.ledger``, ``DATA_DIR/ledger.sqlite``). Schema 1 had a plain energy
table; schema 2 drops it (``_MIGRATIONS``).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

from service.coordinator.pool_storage import PoolShare, PoolTables
from service.domain import (
    Job,
    Override,
    ScheduleEntry,
    ShareOutcome,
    ShareResultKind,
    WorkerRecord,
)
from service.errors import ConfigError
from service.sqlite import DbThread

__all__ = ["SCHEMA_VERSION", "AsyncStore", "PoolShare", "StatusRows", "Store"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3

# Version 1; later versions are migrations on top of it (``_MIGRATIONS``).
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
CREATE TABLE ledger (
    site TEXT NOT NULL, period_start_s REAL NOT NULL, source TEXT NOT NULL,
    energy_j REAL NOT NULL, hashes INTEGER NOT NULL,
    PRIMARY KEY (site, period_start_s, source));
"""

# Each entry takes the schema from the version before it to its key. A new file gets
# ``_SCHEMA`` and then every migration, so both paths end in the same tables.
_MIGRATIONS: dict[int, str] = {
    # 2: Stratum upstream. A job handed out from a pool's work (its pool, the pool's job
    # id and extranonces), and the pool's verdict on each share of such a job. A stored
    # share of a pool job without a verdict row is waiting to be forwarded.
    2: """
CREATE TABLE pool_units (
    job_id TEXT PRIMARY KEY, pool TEXT NOT NULL, pool_job_id TEXT NOT NULL,
    extranonce1 BLOB NOT NULL, extranonce2 BLOB NOT NULL);
CREATE TABLE pool_shares (
    job_id TEXT NOT NULL, ntime INTEGER NOT NULL, nonce INTEGER NOT NULL,
    pool TEXT NOT NULL, worker_id TEXT NOT NULL, verdict TEXT NOT NULL,
    reason TEXT NOT NULL, answered_s REAL NOT NULL,
    PRIMARY KEY (job_id, ntime, nonce));
CREATE INDEX pool_shares_by_worker ON pool_shares (worker_id, verdict);
""",
    # 3: the unsigned energy table is retired; energy lives only in the signed ledger
    # (service/ledger), so there is one store of it.
    3: "DROP TABLE IF EXISTS ledger;",
}


@dataclass(frozen=True, slots=True)
class StatusRows:
    """The rows a status call shows (``Store.status_rows``)."""

    workers: list[WorkerRecord]
    known_sites: list[str]
    shares_by_site: dict[str, int]
    overrides_by_site: dict[str, Override]


class Store(PoolTables):
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
        if version > SCHEMA_VERSION:
            raise ConfigError(
                f"data_dir: {path} has schema version {version}; this coordinator knows"
                f" up to {SCHEMA_VERSION}"
            )
        if version == 0:
            # executescript commits first, so the schema and its version go in one script.
            steps = "".join(_MIGRATIONS[v] for v in range(2, SCHEMA_VERSION + 1))
            self._db.executescript(
                f"BEGIN IMMEDIATE; {_SCHEMA} {steps} PRAGMA user_version={SCHEMA_VERSION}; COMMIT;"
            )
        else:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                # One transaction per step: a crash leaves the file at a whole version.
                self._db.executescript(
                    f"BEGIN IMMEDIATE; {_MIGRATIONS[step]} PRAGMA user_version={step}; COMMIT;"
                )
                logger.info("%s: schema migrated to version %d", path, step)

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
        """Store a job so that shares for it validate after a restart (in the caller's
        transaction, if one is open)."""
        self._insert_jobs([job])

    def add_jobs(self, jobs: Sequence[Job]) -> None:
        """Store jobs in one transaction (one sync to disk for all of them)."""
        with self._transaction():
            self._insert_jobs(jobs)

    def _insert_jobs(self, jobs: Sequence[Job]) -> None:
        self._db.executemany(
            "INSERT INTO jobs VALUES (?,?,?,?,?,?,?)",
            [
                (
                    job.job_id,
                    job.worker_id,
                    job.header_prefix,
                    job.target.to_bytes(32, "big"),
                    job.ntime,
                    job.ntime_roll_s,
                    job.created_s,
                )
                for job in jobs
            ],
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

    def budget_rules(
        self, site: str, now_s: float
    ) -> tuple[Override | None, ScheduleEntry | None, float | None]:
        """A site's override and schedule period at ``now_s``, and when its next period starts."""
        (next_start_s,) = self._db.execute(
            "SELECT MIN(start_s) FROM schedule WHERE site=? AND start_s>?", (site, now_s)
        ).fetchone()
        return self.override(site, now_s), self.scheduled(site, now_s), next_start_s

    def status_rows(self, now_s: float) -> StatusRows:
        """What a status call reads, in one call: workers, known sites, accepted shares
        and unexpired overrides by site."""
        shares = dict(self._db.execute("SELECT site, COUNT(*) FROM shares GROUP BY site"))
        rows = self._db.execute(
            "SELECT site, budget_w, expires_s, reason FROM overrides WHERE expires_s>?", (now_s,)
        ).fetchall()
        return StatusRows(
            self.workers(),
            self.known_sites(),
            {str(site): int(count) for site, count in shares.items()},
            {row[0]: Override(*row) for row in rows},
        )

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
        self._thread = DbThread("spillway-store")
        try:
            self.store = self._thread.call(Store, path)
        except BaseException:
            self._thread.close()
            raise

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` (a ``Store`` method) on the store's thread."""
        return await self._thread.run(fn, *args, **kwargs)

    def close(self) -> None:
        """Flush and close the database, then stop the thread."""
        self._thread.close(self.store.close)
