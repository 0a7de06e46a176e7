"""Forecasts on disk: SQLite (WAL, ``synchronous=FULL``), one row per point.

``put`` commits before it returns, so an accepted forecast survives a SIGKILL the
moment the caller answers. A later forecast replaces an earlier one for the same
kind, component and timestamp (the primary key); ``table`` reads everything back
merged.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from optimiser.forecast import ForecastTable, SeriesKind
from service.sqlite import open_versioned

if TYPE_CHECKING:
    from optimiser.forecast import Forecast

__all__ = ["ForecastStore"]

SCHEMA_VERSION = 1


_SCHEMA = """
    CREATE TABLE IF NOT EXISTS forecast_points (
        kind TEXT NOT NULL,
        component TEXT NOT NULL,
        time_s INTEGER NOT NULL,
        value REAL NOT NULL,
        revision INTEGER NOT NULL,
        PRIMARY KEY (kind, component, time_s)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS forecast_revisions (
        revision INTEGER PRIMARY KEY AUTOINCREMENT,
        received_s REAL NOT NULL,
        n_points INTEGER NOT NULL
    );
    """


class ForecastStore:
    """Forecast points in ``path`` (created with its schema); thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_versioned(self.path, _SCHEMA, SCHEMA_VERSION)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    def put(self, forecast: Forecast, received_s: float) -> int:
        """Store a (checked) forecast in one transaction; returns its revision number."""
        rows = [
            (s.kind.value, s.component, int(t), float(v))
            for s in forecast.series
            for t, v in zip(s.times_s, s.values, strict=True)
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cur = self._db.execute(
                    "INSERT INTO forecast_revisions (received_s, n_points) VALUES (?, ?)",
                    (received_s, len(rows)),
                )
                rev = int(cur.lastrowid or 0)
                self._db.executemany(
                    "INSERT OR REPLACE INTO forecast_points VALUES (?, ?, ?, ?, ?)",
                    [(*r, rev) for r in rows],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return rev

    def table(self, *, from_s: int | None = None) -> ForecastTable:
        """Every stored point (from ``from_s`` on), merged: ``kind -> component -> t -> v``."""
        q = "SELECT kind, component, time_s, value FROM forecast_points"
        args: tuple[int, ...] = ()
        if from_s is not None:
            q += " WHERE time_s >= ?"
            args = (from_s,)
        with self._lock:
            rows = self._db.execute(q, args).fetchall()
        out: ForecastTable = {}
        for kind, comp, t, v in rows:
            out.setdefault(SeriesKind(kind), {}).setdefault(comp, {})[int(t)] = float(v)
        return out

    def reach_s(self) -> int | None:
        """The last timestamp any stored forecast reaches (``None``: none stored)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(time_s) FROM forecast_points").fetchone()
        return None if row[0] is None else int(row[0])

    def revision(self) -> int:
        """The latest revision stored (0: none)."""
        with self._lock:
            row = self._db.execute("SELECT MAX(revision) FROM forecast_revisions").fetchone()
        return int(row[0] or 0)

    def prune(self, before_s: int) -> int:
        """Forget points before ``before_s`` (periods already past); returns how many."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM forecast_points WHERE time_s < ?", (before_s,)
            ).rowcount
