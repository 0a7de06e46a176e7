"""The ledger file's tables and its schema versions, and the upgrade of older files.

Schema versions: 1 had no ``worker_keys`` and ``pending`` and one report per
record; 2 adds both tables and a list of reports per record; 3 adds the signed
head. A version-1 file without periods is upgraded in place; one with periods
is refused (its records are not in the version-2 form). A version-2 file is
read as it is (it has no head, so it does not verify) and upgraded when opened
for writing: the head signed then vouches for what the file held at that
moment (trust on first use; a checkpoint seen earlier still catches a tail
removed before it). ``worker_keys.last_window_end_ms`` (the
end of the worker's last accepted report window, so overlapping windows are
refused) came later within version 2: it is bookkeeping beside the ledger, not
part of it, and a file without it gains it when opened for writing.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

from service.ledger.head import current_head, read_meta
from service.ledger.model import LedgerHead

__all__ = ["READABLE_SCHEMA_VERSIONS", "SCHEMA", "SCHEMA_VERSION", "create_or_upgrade"]

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 3
# Read as they are (without a head, so they do not verify); upgraded when written.
READABLE_SCHEMA_VERSIONS = ("2", "3")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS periods (
    period INTEGER PRIMARY KEY,
    header TEXT NOT NULL,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    period INTEGER NOT NULL,
    position INTEGER NOT NULL,
    site TEXT NOT NULL,
    body TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (period, position)
);
CREATE INDEX IF NOT EXISTS records_by_site ON records (site, period);
CREATE TABLE IF NOT EXISTS worker_keys (
    worker TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    public_key TEXT NOT NULL,
    last_sequence INTEGER NOT NULL,
    last_window_end_ms INTEGER NOT NULL DEFAULT -1
);
CREATE TABLE IF NOT EXISTS pending (
    period INTEGER NOT NULL,
    period_start_s INTEGER NOT NULL,
    period_s INTEGER NOT NULL,
    site TEXT NOT NULL,
    worker TEXT NOT NULL,
    sequence INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (worker, sequence)
);
"""


def create_or_upgrade(
    db: sqlite3.Connection, public_key: str, sign_head: Callable[[LedgerHead], None]
) -> None:
    """Make the tables, record version and key, upgrade an older file (one transaction).

    ``sign_head`` signs and stores a head (the file's as found); it is called for
    a new file and for one upgraded to version 3.
    """
    with db:
        db.executescript(SCHEMA)
        fresh = read_meta(db, "schema_version") is None
        db.execute(
            "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        _migrate(db, fresh=fresh, sign_head=sign_head)
        db.execute("INSERT OR IGNORE INTO meta VALUES ('public_key', ?)", (public_key,))


def _migrate(
    db: sqlite3.Connection, *, fresh: bool, sign_head: Callable[[LedgerHead], None]
) -> None:
    """Upgrade an empty version-1 or a version-2 ledger; add late columns; sign a head."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(worker_keys)")}
    if "last_window_end_ms" not in columns:
        db.execute(
            "ALTER TABLE worker_keys ADD COLUMN last_window_end_ms INTEGER NOT NULL DEFAULT -1"
        )
    version = read_meta(db, "schema_version")
    if version == "1" and db.execute("SELECT COUNT(*) FROM periods").fetchone()[0]:
        return  # refused by the caller, naming the version: its records are in the old form
    if version in ("1", "2"):
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
        head = current_head(db)
        logger.warning(
            "ledger upgraded to schema %d: signing its head (%d periods, last %s) as found",
            SCHEMA_VERSION,
            head.periods,
            head.last_hash[:16],
        )
        sign_head(head)
    elif fresh:
        # A new file: nothing to vouch for yet. (A version-3 file that lost its head
        # gets none: check_head refuses it.)
        sign_head(current_head(db))
