"""One dedicated thread per SQLite database, awaited from the event loop.

The coordinator's stores (``coordinator.storage``, the ledger's
``coordinator.recorder``) are plain synchronous ``sqlite3``. Each runs every call
on its own ``DbThread``: the connection is opened on that thread and only ever
used there, calls run one at a time in the order they were made (so writes are
serialised without locks), and a call's commit happens before its ``await``
returns (an answer "stored" is on disk before it leaves). The event loop never
waits on the disk.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["DbThread"]

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
