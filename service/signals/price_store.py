"""Pushed prices and the price rule's state on disk: SQLite (WAL, ``synchronous=FULL``).

``spillway prices push`` (``PlannerService.PushPrices``) stores its points here
before it answers, so a SIGKILL right after the answer loses none. A later price
replaces an earlier one for the same site (or bus) and start (the primary key).

The price rule's state per site (curtailed or not, the current runs of high and
low prices, and the start of the last interval fed to it) is kept here too,
written whenever a new interval is fed: after a restart the rule carries on where
it stood instead of starting uncurtailed (a site curtailed on high prices stays
curtailed until prices have been low for ``--resume-after`` intervals).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

from service.signals.domain import PricePoint
from service.signals.price_rule import PriceState
from service.sqlite import open_versioned

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["PRICES_DB_FILE", "PriceStore"]

#: The file in the coordinator's data directory.
PRICES_DB_FILE = "prices.sqlite3"

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pushed_prices (
    site TEXT NOT NULL,   -- '' when the price is for a bus
    bus TEXT NOT NULL,    -- '' when the price is for a site
    start_s REAL NOT NULL,
    end_s REAL NOT NULL,
    price_per_mwh REAL NOT NULL,
    received_s REAL NOT NULL,
    PRIMARY KEY (site, bus, start_s)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS pushed_prices_end ON pushed_prices (end_s);
CREATE TABLE IF NOT EXISTS price_rule_state (
    site TEXT PRIMARY KEY,
    curtailed INTEGER NOT NULL,
    above_run INTEGER NOT NULL,
    below_run INTEGER NOT NULL,
    fed_start_s REAL NOT NULL   -- the start of the last interval fed to the rule
) WITHOUT ROWID;
"""


class PriceStore:
    """Pushed prices and the rule's per-site state in ``path``; thread-safe."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db = open_versioned(self.path, _SCHEMA, SCHEMA_VERSION)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._db.close()

    # -- pushed prices ------------------------------------------------------------
    def put_prices(self, points: Sequence[PricePoint], received_s: float) -> float | None:
        """Store (checked) points in one transaction; returns the latest end stored."""
        rows = [
            (p.site or "", p.bus or "", p.start_s, p.end_s, p.price_per_mwh, received_s)
            for p in points
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO pushed_prices VALUES (?, ?, ?, ?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            row = self._db.execute("SELECT MAX(end_s) FROM pushed_prices").fetchone()
        return None if row[0] is None else float(row[0])

    def prices(self, *, ending_after_s: float) -> tuple[PricePoint, ...]:
        """Pushed points whose interval ends after ``ending_after_s``, by start."""
        with self._lock:
            rows = self._db.execute(
                "SELECT site, bus, start_s, end_s, price_per_mwh FROM pushed_prices"
                " WHERE end_s > ? ORDER BY start_s, site, bus",
                (ending_after_s,),
            ).fetchall()
        return tuple(
            PricePoint(r[0] or None, r[1] or None, float(r[2]), float(r[3]), float(r[4]))
            for r in rows
        )

    def prune(self, before_s: float) -> int:
        """Forget prices whose interval ended before ``before_s``; returns how many."""
        with self._lock:
            return self._db.execute(
                "DELETE FROM pushed_prices WHERE end_s < ?", (before_s,)
            ).rowcount

    # -- the rule's state -------------------------------------------------------------
    def states(self) -> dict[str, tuple[PriceState, float]]:
        """Every site's stored state and the start of the last interval fed."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM price_rule_state").fetchall()
        return {
            str(r[0]): (PriceState(bool(r[1]), int(r[2]), int(r[3])), float(r[4])) for r in rows
        }

    def put_states(self, states: Mapping[str, tuple[PriceState, float]]) -> None:
        """Store sites' states (committed before it returns)."""
        rows = [
            (site, int(s.curtailed), s.above_run, s.below_run, fed_s)
            for site, (s, fed_s) in states.items()
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT OR REPLACE INTO price_rule_state VALUES (?, ?, ?, ?, ?)", rows
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
