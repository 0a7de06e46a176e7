"""Grid events on disk: a small SQLite file (WAL), so a restart keeps obeying them.

One row per event (id, modification number, status, our opt answer) and one row
per interval signal. An event's rows are replaced as a whole, in one transaction,
whenever the VTN sends a new modification; a cancelled event's signals are dropped.
``synchronous=FULL``: an event is on disk before the VEN answers it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from service.signals.domain import GridSignal, SignalKind
from service.sqlite import open_versioned

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EventStore"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id TEXT PRIMARY KEY,
    modification_number INTEGER NOT NULL,
    status TEXT NOT NULL,
    opt TEXT NOT NULL,
    received_s REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS event_signals (
    event_id TEXT NOT NULL REFERENCES events(event_id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    kind TEXT NOT NULL,
    site TEXT,
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (event_id, idx)
);
CREATE INDEX IF NOT EXISTS event_signals_end ON event_signals (end_s);
"""


class EventStore:
    """Events and their interval signals in ``path`` (created with its schema).

    Safe to call from several threads (one connection, one lock): openleadr calls
    back on the event loop, the coordinator may read from a worker thread.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_versioned(self.path, _SCHEMA, SCHEMA_VERSION, foreign_keys=True)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def put_event(
        self,
        event_id: str,
        modification_number: int,
        status: str,
        opt: str,
        signals: Sequence[GridSignal],
        received_s: float,
    ) -> None:
        """Store (or replace) an event and all its interval signals, atomically."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute("DELETE FROM event_signals WHERE event_id = ?", (event_id,))
                self._db.execute(
                    "INSERT OR REPLACE INTO events VALUES (?, ?, ?, ?, ?)",
                    (event_id, modification_number, status, opt, received_s),
                )
                self._db.executemany(
                    "INSERT INTO event_signals VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (event_id, i, s.kind.value, s.site, s.start_s, s.end_s, s.value)
                        for i, s in enumerate(signals)
                    ],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def cancel_event(self, event_id: str) -> None:
        """Drop a cancelled event's signals (the event row stays, status ``cancelled``)."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM event_signals WHERE event_id = ?", (event_id,))
            self._db.execute("UPDATE events SET status='cancelled' WHERE event_id = ?", (event_id,))
            self._db.execute("COMMIT")

    def event_opt(self, event_id: str) -> tuple[int, str] | None:
        """``(modification_number, opt)`` of a stored event, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT modification_number, opt FROM events WHERE event_id = ?", (event_id,)
            ).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def signals(self, *, ending_after_s: float | None = None) -> tuple[GridSignal, ...]:
        """Stored signals of opted-in events, by start time (those ending after a time)."""
        q = (
            "SELECT s.event_id, e.modification_number, s.kind, s.site, s.start_s, s.end_s, s.value"
            " FROM event_signals s JOIN events e USING (event_id) WHERE e.opt = 'optIn'"
        )
        args: tuple[float, ...] = ()
        if ending_after_s is not None:
            q += " AND s.end_s > ?"
            args = (ending_after_s,)
        with self._lock:
            rows = self._db.execute(q + " ORDER BY s.start_s, s.event_id, s.idx", args).fetchall()
        return tuple(
            GridSignal(
                r[0], int(r[1]), SignalKind(r[2]), r[3], float(r[4]), float(r[5]), float(r[6])
            )
            for r in rows
        )

    def prune(self, before_s: float) -> int:
        """Forget events whose every signal ended before ``before_s``; returns how many."""
        with self._lock:
            cur = self._db.execute(
                "DELETE FROM events WHERE event_id NOT IN "
                "(SELECT event_id FROM event_signals WHERE end_s >= ?)",
                (before_s,),
            )
            return cur.rowcount
