"""``service.sqlite.DbThread``: one thread per database, calls in order, errors and close."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from pathlib import Path

import pytest

from service.sqlite import DbThread, open_versioned


def open_db(path: Path) -> sqlite3.Connection:
    # check_same_thread left on: any use off the opening thread raises.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE IF NOT EXISTS t (seq INTEGER PRIMARY KEY, thread TEXT NOT NULL)")
    return db


def insert(db: sqlite3.Connection, seq: int) -> str:
    name = threading.current_thread().name
    db.execute("INSERT INTO t VALUES (?, ?)", (seq, name))
    return name


def rows_elsewhere(path: Path) -> list[tuple[int, str]]:
    """The table as another connection (another reader of the file) sees it."""
    with contextlib.closing(sqlite3.connect(path)) as other:
        rows = other.execute("SELECT seq, thread FROM t ORDER BY rowid").fetchall()
    return [(int(seq), str(name)) for seq, name in rows]


async def test_calls_run_in_order_on_one_thread_and_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    thread = DbThread("test-db")
    db = thread.call(open_db, path)
    try:
        names = await asyncio.gather(*(thread.run(insert, db, seq) for seq in range(200)))
        assert len(set(names)) == 1
        assert names[0].startswith("test-db")
        assert names[0] != threading.current_thread().name
        # In call order (rowid follows insertion), and on disk once awaited.
        assert [seq for seq, _ in rows_elsewhere(path)] == list(range(200))
        await thread.run(insert, db, 200)
        assert rows_elsewhere(path)[-1][0] == 200
    finally:
        thread.close(db.close)


async def test_exceptions_propagate_and_the_thread_carries_on(tmp_path: Path) -> None:
    path = tmp_path / "b.sqlite"
    thread = DbThread("test-db")
    db = thread.call(open_db, path)
    try:
        await thread.run(insert, db, 1)
        with pytest.raises(sqlite3.IntegrityError):
            await thread.run(insert, db, 1)
        with pytest.raises(sqlite3.IntegrityError):
            thread.call(insert, db, 1)
        with pytest.raises(ZeroDivisionError):
            await thread.run(lambda: 1 / 0)
        await thread.run(insert, db, 2)
        assert [seq for seq, _ in rows_elsewhere(path)] == [1, 2]
    finally:
        thread.close(db.close)


async def test_connection_is_usable_only_on_its_thread(tmp_path: Path) -> None:
    thread = DbThread("test-db")
    db = thread.call(open_db, tmp_path / "c.sqlite")
    try:
        with pytest.raises(sqlite3.ProgrammingError):
            insert(db, 1)  # on the event loop's thread: refused by sqlite3
        await thread.run(insert, db, 1)
    finally:
        thread.close(db.close)


async def test_aclose_runs_last_after_queued_calls_then_refuses(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite"
    thread = DbThread("test-db")
    db = thread.call(open_db, path)
    pending = [asyncio.ensure_future(thread.run(insert, db, seq)) for seq in range(50)]
    await asyncio.sleep(0)  # each call handed to the thread
    await thread.aclose(db.close)
    assert [await p for p in pending]  # every queued call ran, before the close
    assert [seq for seq, _ in rows_elsewhere(path)] == list(range(50))
    assert thread.closed
    with pytest.raises(sqlite3.ProgrammingError):
        db.execute("SELECT 1")  # closed
    with pytest.raises(RuntimeError, match="closed"):
        await thread.run(insert, db, 99)
    with pytest.raises(RuntimeError, match="closed"):
        thread.call(insert, db, 99)
    await thread.aclose(db.close)  # a second close does nothing
    thread.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("test-db")]


def test_close_stops_the_thread_even_when_last_raises(tmp_path: Path) -> None:
    thread = DbThread("test-db-raise")
    db = thread.call(open_db, tmp_path / "e.sqlite")

    def failing_close() -> None:
        db.close()
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        thread.close(failing_close)
    assert thread.closed
    assert not [t for t in threading.enumerate() if t.name.startswith("test-db-raise")]


SCHEMA = "CREATE TABLE IF NOT EXISTS points (t INTEGER PRIMARY KEY, v REAL NOT NULL);"


def test_open_versioned_creates_keeps_and_refuses_another_version(tmp_path: Path) -> None:
    path = tmp_path / "signals.sqlite3"
    db = open_versioned(path, SCHEMA, 2, foreign_keys=True)
    db.execute("INSERT INTO points VALUES (1, 0.5)")  # autocommit: on disk at once
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert rows_of(path) == [(1, 0.5)]
    db.close()
    again = open_versioned(path, SCHEMA, 2)  # the schema again: nothing lost
    assert again.execute("SELECT t, v FROM points").fetchall() == [(1, 0.5)]
    again.close()
    with pytest.raises(RuntimeError, match=rf"{path.name}: schema version 2, expected 3"):
        open_versioned(path, SCHEMA, 3)


def rows_of(path: Path) -> list[tuple[int, float]]:
    with contextlib.closing(sqlite3.connect(path)) as other:
        return other.execute("SELECT t, v FROM points").fetchall()
