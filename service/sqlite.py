"""One dedicated thread per SQLite database, awaited from the event loop.

The coordinator's stores (``coordinator.storage``, the ledger's
``coordinator.recorder``) are plain synchronous ``sqlite3``. Each runs every call
on its own ``DbThread``: the connection is opened on that thread and only ever
used there, calls run one at a time in the order they were made (so writes are
serialised without locks), and a call's commit happens before its ``await``
returns (an answer "stored" is on disk before it leaves). The event loop never
waits on the disk.

The signals' small stores (events, prices, forecasts) are shared across threads under
a lock of their own; ``open_versioned`` opens each of them the same way.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

__all__ = ["DbThread", "open_versioned"]

P = ParamSpec("P")
T = TypeVar("T")


class DbThread:
    """Runs calls on one dedicated thread, in order.

    Parameters
    ----------
    name:
        The thread's name (seen in stack dumps and ``threading.enumerate``).
    """

    def __init__(self, name: str) -> None:
        # One worker: a single thread that lives until ``close``, calls in FIFO order.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._closed = False

    @property
    def closed(self) -> bool:
        """Whether ``close`` has run; later calls raise ``RuntimeError``."""
        return self._closed

    def call(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the thread and wait for it (blocking).

        For use outside a running event loop (opening a database at start-up).
        Raises what ``fn`` raises.
        """
        self._check_open()
        return self._executor.submit(fn, *args, **kwargs).result()

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn(*args, **kwargs)`` on the thread; its result, or what it raises."""
        self._check_open()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def close(self, last: Callable[[], object] | None = None) -> None:
        """Run ``last`` (closing the connection) on the thread, then stop the thread.

        Blocks until both are done; calls already queued run first. A second
        ``close`` does nothing. What ``last`` raises is raised after the thread
        has stopped.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if last is not None:
                self._executor.submit(last).result()
        finally:
            self._executor.shutdown(wait=True)

    async def aclose(self, last: Callable[[], object] | None = None) -> None:
        """``close`` awaited from the event loop: ``last`` runs after the queued calls."""
        if self._closed:
            return
        try:
            if last is not None:
                await self.run(last)
        finally:
            self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("DbThread: closed")


def open_versioned(
    path: Path, schema: str, version: int, *, foreign_keys: bool = False
) -> sqlite3.Connection:
    """``path`` in autocommit mode (WAL, durable at COMMIT), its ``schema`` created.

    The connection may be used from any thread (the caller serialises its use).

    Raises
    ------
    RuntimeError
        Naming the file, when it holds another schema version than ``version``.
    """
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")  # durable at COMMIT, not at checkpoint
    if foreign_keys:
        db.execute("PRAGMA foreign_keys=ON")
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found not in (0, version):
        db.close()
        raise RuntimeError(f"{path}: schema version {found}, expected {version}")
    db.executescript(schema)
    db.execute(f"PRAGMA user_version={version}")
    return db
