"""Wake every waiting task at once, without a lock.

``asyncio.Condition`` waited on under ``asyncio.wait_for`` must take its lock
again when the wait times out; with thousands of work streams doing that every
second, Python 3.11 was seen to lose the lock ("Lock is not acquired") and the
coordinator then stalled: new streams and budget changes queued for it forever.
An event replaced at each wake needs no lock, and cancelling a wait is free.
"""

from __future__ import annotations

import asyncio
import contextlib

__all__ = ["Wakeup"]


class Wakeup:
    """``notify_all`` wakes the tasks in ``wait`` now (as ``Condition.notify_all`` did)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify_all(self) -> None:
        """Wake every task waiting now; later waits wait for the next call."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout_s: float) -> None:
        """Return when woken, or after ``timeout_s``."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout=timeout_s)
